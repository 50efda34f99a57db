"""Helpers for the sessions tests: read tmux's own view of panes and screens."""

from __future__ import annotations

from collections.abc import Callable

from gaia.sessions.run import SHELLS
from tests.helpers import wait_until

__all__ = [
    "Tmux",
    "capture",
    "current_command",
    "pane_rows",
    "wait_for_command",
    "wait_for_line",
    "wait_for_prompt",
    "wait_for_shell",
]

Tmux = Callable[..., str]
SEP = "\x1f"


def pane_rows(tmux: Tmux, *fields: str, target: str | None = None) -> list[dict[str, str]]:
    """One dict per pane (of the server, or of session ``target``), keyed by format name."""
    scope = ["-s", "-t", target] if target else ["-a"]
    fmt = SEP.join(f"#{{{name}}}" for name in fields)
    out = tmux("list-panes", *scope, "-F", fmt)
    return [dict(zip(fields, line.split(SEP), strict=True)) for line in out.splitlines()]


def capture(tmux: Tmux, pane: str, *, history: bool = False) -> list[str]:
    """The pane's text as tmux shows it (wrapped lines joined), without trailing blanks."""
    args = ["capture-pane", "-p", "-J", "-t", pane]
    if history:
        args += ["-S", "-"]
    lines = [line.rstrip() for line in tmux(*args).splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def wait_for_line(
    tmux: Tmux, pane: str, line: str, *, history: bool = True, timeout: float = 10.0
) -> list[str]:
    """Wait until a line of the pane is exactly ``line``; return the captured lines."""

    def found() -> list[str] | None:
        lines = capture(tmux, pane, history=history)
        return lines if line in lines else None

    lines: list[str] = wait_until(
        found, timeout=timeout, interval=0.02, what=f"{line!r} in pane {pane}"
    )
    return lines


def current_command(tmux: Tmux, pane: str) -> str:
    """The pane's foreground process name, without a login shell's leading '-'."""
    return tmux("display-message", "-p", "-t", pane, "#{pane_current_command}").strip().lstrip("-")


def wait_for_command(tmux: Tmux, pane: str, command: str, timeout: float = 10.0) -> None:
    """Wait until the pane's foreground process is ``command`` (e.g. 'sleep' or 'bash')."""
    wait_until(
        lambda: current_command(tmux, pane) == command,
        timeout=timeout,
        interval=0.02,
        what=f"pane {pane} to run {command!r}",
    )


def wait_for_shell(tmux: Tmux, pane: str, timeout: float = 10.0) -> None:
    """Wait until the pane is back at its shell (nothing runs in the foreground)."""
    wait_until(
        lambda: current_command(tmux, pane) in SHELLS,
        timeout=timeout,
        interval=0.02,
        what=f"pane {pane} to be back at its shell",
    )


def wait_for_prompt(tmux: Tmux, pane: str, timeout: float = 10.0) -> None:
    """Wait until the shell has drawn its prompt after a command ended with a newline.

    Until then the cursor sits at the start of an empty line.
    """
    wait_until(
        lambda: tmux("display-message", "-p", "-t", pane, "#{cursor_x}").strip() != "0",
        timeout=timeout,
        interval=0.01,
        what=f"the prompt in pane {pane}",
    )
