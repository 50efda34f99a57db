"""Run a command in a pane and wait for it: exit status and output, with a timeout.

The command is typed at the pane's shell prompt followed by a short trailer that, once
the command has finished, stores its exit status in a pane option and signals a tmux
``wait-for`` channel unique to this run. gaia blocks on that channel (no polling), then
reads the status and captures the pane, keeping the lines between the typed command
and the next prompt. A signal sent before gaia starts waiting is not lost: tmux
remembers it for the channel.

A run that ends before its command does (timeout, a Ctrl-C in the terminal of the
caller, an API client gone) stops what it started: the pane's shell gets Ctrl-C. Only a
daemon that is stopping leaves the command running: the pane is the user's, and tmux
outlives gaia.
"""

from __future__ import annotations

import shlex
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from gaia.errors import ConflictError, Problem, StoppingError, ValidationError
from gaia.sessions.tmux import FIELD_SEPARATOR, TmuxDriver

__all__ = ["RunOutcome", "run_in_pane"]

STATUS_OPTION = "@gaia_run_status"
SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh", "mksh", "ash", "fish", "tcsh", "csh"})
# Shells whose last exit status is $status rather than $?.
_STATUS_VARIABLE = {"fish": "$status", "tcsh": "$status", "csh": "$status"}
_READY_TIMEOUT = 5.0
# How long a finished run waits for its last output to be drawn (see run_in_pane).
_SETTLE_TIMEOUT = 1.0


@dataclass
class RunOutcome:
    exit_status: int | None
    output: str
    timed_out: bool
    duration: float
    truncated: bool
    cancelled: bool = False


def _trailer(binary: str, socket_path: str, pane: str, token: str, shell: str) -> str:
    status = _STATUS_VARIABLE.get(shell, "$?")
    tmux = f"{shlex.quote(binary)} -S {shlex.quote(socket_path)}"
    return (
        f"; {tmux} set-option -p -t {pane} {STATUS_OPTION} {token}:{status}"
        f" \\; wait-for -S gaia-run-{token}"
    )


def _state(driver: TmuxDriver, pane: str) -> tuple[str, int, int, bool, list[str]]:
    fmt = FIELD_SEPARATOR.join(
        ["#{pane_current_command}", "#{cursor_x}", "#{cursor_y}", "#{history_size}"]
    )
    lines = driver.execute(
        ["display-message", "-p", "-t", pane, fmt], ["capture-pane", "-p", "-t", pane]
    )
    command, x, y, history = lines[0].split(FIELD_SEPARATOR)
    blank = (x, y, history) == ("0", "0", "0")
    return command, int(x), int(y), blank, lines[1:]


def run_in_pane(
    driver: TmuxDriver,
    pane: str,
    command: str,
    timeout: float,
    cancelled: Callable[[], bool] | None = None,
    abandoned: Callable[[], bool] | None = None,
) -> RunOutcome:
    """Type ``command`` into the shell of ``pane`` (a tmux pane id) and wait for it.

    ``cancelled`` and ``abandoned`` are asked every fraction of a second. Once
    ``cancelled`` answers True the command is stopped and the outcome says so; once
    ``abandoned`` does, the wait ends with a StoppingError and the command goes on. A
    KeyboardInterrupt stops the command too, and goes on.
    """
    if "\n" in command:
        message = "a command to run must be one line; join commands with ';' or '&&'"
        raise ValidationError(message, [Problem(message, path="command")])
    started = time.monotonic()
    shell, x, y, blank, screen = _state(driver, pane)
    deadline = started + _READY_TIMEOUT
    while blank and time.monotonic() < deadline:
        # A pane created a moment ago: wait for its shell to draw the prompt.
        time.sleep(0.01)
        shell, x, y, blank, screen = _state(driver, pane)
    shell = shell.lstrip("-")
    if shell not in SHELLS:
        raise ConflictError(
            f"pane {pane} is running {shell!r}, not a shell: gaia can only wait for a command "
            "typed at a shell prompt (send keys instead, or wait until it finishes)"
        )
    prompt = screen[y][:x] if y < len(screen) else ""
    token = uuid.uuid4().hex
    # The leading space keeps the line out of shell history where HISTCONTROL allows it.
    typed = " " + command + _trailer(driver.binary, driver.socket_path(), pane, token, shell)
    driver.execute(
        ["copy-mode", "-q", "-t", pane],
        ["send-keys", "-t", pane, "-l", typed],
        ["send-keys", "-t", pane, "Enter"],
    )
    checks = [check for check in (cancelled, abandoned) if check is not None]
    try:
        finished = driver.wait_for(
            f"gaia-run-{token}",
            max(0.0, timeout - (time.monotonic() - started)),
            (lambda: any(check() for check in checks)) if checks else None,
        )
    except KeyboardInterrupt:
        # The user pressed Ctrl-C in gaia's terminal; they meant the command.
        driver.execute(["send-keys", "-t", pane, "C-c"])
        raise
    was_cancelled = not finished and cancelled is not None and cancelled()
    if not finished and not was_cancelled and abandoned is not None and abandoned():
        raise StoppingError(
            f"gaia is stopping: {command!r} goes on in pane {pane} without it "
            "(`gaia session capture` shows it)"
        )
    capture = ["capture-pane", "-p", "-J", "-S", "-", "-t", pane]
    exit_status: int | None = None
    if finished:
        # The trailer's signal reaches tmux over its socket and may overtake the command's
        # last output, still in the pane's pty: wait (briefly) for the next prompt, which
        # the shell draws after that output.
        settle = time.monotonic() + _SETTLE_TIMEOUT
        while True:
            status_line, *captured = driver.execute(
                ["show-options", "-p", "-v", "-t", pane, STATUS_OPTION], capture
            )
            if _prompt_drawn(captured, f"gaia-run-{token}", prompt) or (time.monotonic() >= settle):
                break
            time.sleep(0.01)
        recorded_token, _, value = status_line.partition(":")
        if recorded_token == token and value.lstrip("-").isdigit():
            exit_status = int(value)
    else:
        # Stop what we started: the shell's foreground job gets Ctrl-C.
        captured = driver.execute(capture, ["send-keys", "-t", pane, "C-c"])
    output, truncated = _between(captured, f"gaia-run-{token}", prompt, command)
    return RunOutcome(
        exit_status=exit_status,
        output=output,
        timed_out=not finished and not was_cancelled,
        duration=time.monotonic() - started,
        truncated=truncated,
        cancelled=was_cancelled,
    )


def _prompt_drawn(captured: list[str], marker: str, prompt: str) -> bool:
    """Whether a prompt follows the line that echoed the command (the run's output is in)."""
    lines = [line.rstrip() for line in captured]
    start = next((i for i in range(len(lines) - 1, -1, -1) if marker in lines[i]), None)
    after = [line for line in lines[(start + 1) if start is not None else 0 :] if line]
    if start is not None and not lines[start].endswith(marker):
        after.insert(0, lines[start])  # output glued to the typed line (see _between)
    expected = prompt.strip()
    return bool(after) and (not expected or after[-1].endswith(expected))


def _between(captured: list[str], marker: str, prompt: str, command: str) -> tuple[str, bool]:
    """The lines after the one that echoed the command, up to the next prompt."""
    lines = [line.rstrip() for line in captured]
    start = next((i for i in range(len(lines) - 1, -1, -1) if marker in lines[i]), None)
    truncated = start is None  # the command line scrolled out of the history
    if start is not None:
        # The echoed line is the prompt followed by what we typed: that gives the prompt
        # whole (even when it wrapped or was drawn after earlier output).
        typed_at = lines[start].find(" " + command[:40])
        if typed_at >= 0:
            prompt = lines[start][:typed_at]
    body = lines[(start + 1) if start is not None else 0 :]
    if start is not None:
        # A typed line that ended exactly at the pane's edge is "wrapped" to tmux, and -J
        # glues the first line of output onto it, right after the marker.
        glued = lines[start][lines[start].rfind(marker) + len(marker) :]
        if glued:
            body.insert(0, glued)
    while body and not body[-1]:
        body.pop()
    prompt = prompt.rstrip()
    last = body[-1].strip() if body else ""
    if last and prompt and prompt.endswith(last):
        body.pop()  # the next prompt alone on its line (what preceded it is old output)
    elif last and prompt:
        # The next prompt after output that had no final newline: find its longest tail.
        # The whole prompt is cut however short (`$ ` is one character once stripped);
        # a part of it only from two characters on, lest output ending in `$` lose it.
        for cut in range(len(prompt)):
            tail = prompt[cut:].lstrip()
            if (cut == 0 or len(tail) >= 2) and body[-1].endswith(tail):
                body[-1] = body[-1][: -len(tail)].rstrip()
                if not body[-1]:
                    body.pop()
                break
    return "\n".join(body), truncated
