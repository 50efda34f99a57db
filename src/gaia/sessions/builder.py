"""Turn a session record into tmux commands, and run them in as few tmux calls as possible.

A whole session — every window, every pane, their ids, options and layouts — is built by
one tmux command list, so all shells start at once. Commands are then typed into each
pane as soon as its shell has drawn a prompt (readiness, polled for all panes in one call)
rather than after a fixed sleep, which is what makes layouts load fast and reliably.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence

from gaia.sessions.live import PANE_OPTION, SESSION_OPTION, WINDOW_OPTION
from gaia.sessions.records import Keystroke, PaneRecord, SessionRecord, WindowRecord
from gaia.sessions.tmux import FIELD_SEPARATOR, Command, TmuxDriver, escape_format, execute_batched

__all__ = [
    "LAYOUT_NAMES",
    "READY_POLL",
    "READY_TIMEOUT",
    "Typed",
    "build_session",
    "directory_arguments",
    "environment_arguments",
    "focus_commands",
    "is_valid_layout",
    "layout_pane_count",
    "send_commands",
    "wait_until_ready",
]

LAYOUT_NAMES = frozenset(
    {"even-horizontal", "even-vertical", "main-horizontal", "main-vertical", "tiled"}
)
_LAYOUT_STRING = re.compile(r"^[0-9a-f]{4},\d+x\d+,\d+,\d+")
_LAYOUT_CELL = re.compile(r"\d+x\d+,\d+,\d+,\d+")
READY_TIMEOUT = 5.0
READY_POLL = 0.01
# What to type into each pane (a tmux pane id): plain lines, or keystrokes with settings.
Typed = Mapping[str, Sequence[str | Keystroke]]
Options = Mapping[str, str | int | float | bool]


def layout_pane_count(layout: str) -> int | None:
    """How many panes a tmux layout string describes; None for a layout name."""
    if not _LAYOUT_STRING.match(layout):
        return None
    return len(_LAYOUT_CELL.findall(layout))


def is_valid_layout(layout: str) -> bool:
    return layout in LAYOUT_NAMES or bool(_LAYOUT_STRING.match(layout))


def environment_arguments(*scopes: dict[str, str]) -> list[str]:
    """``-e KEY=VALUE`` arguments: run the commands holding them with ``private=True``."""
    merged: dict[str, str] = {}
    for scope in scopes:
        merged.update(scope)
    return [arg for key, value in merged.items() for arg in ("-e", f"{key}={value}")]


def directory_arguments(path: str | None) -> list[str]:
    return ["-c", escape_format(path)] if path else []


def _layout(window: WindowRecord) -> list[Command]:
    layout = window.layout
    if not layout:
        return []
    count = layout_pane_count(layout)
    if count is not None and count != len(window.panes):
        # A layout string recorded for another number of panes would make tmux fail.
        layout = "tiled"
    return [["select-layout", layout]]


def _pane_commands(
    window: WindowRecord, pane: PaneRecord, first: bool, root: str | None
) -> list[Command]:
    # Without -c tmux starts a pane in the tmux client's directory, not the session's.
    commands: list[Command] = []
    if not first:
        commands.append(
            [
                "split-window",
                "-P",
                "-F",
                "#{pane_id}",
                *directory_arguments(pane.start_directory or window.start_directory or root),
                *environment_arguments(window.environment, pane.environment),
                *([pane.build.shell] if pane.build and pane.build.shell else []),
            ]
        )
        # Keep room for the next split; the window's own layout is applied at the end.
        commands.append(["select-layout", "tiled"])
    commands.append(["set-option", "-p", PANE_OPTION, pane.id])
    return commands


def build_session(
    driver: TmuxDriver,
    record: SessionRecord,
    options: Options | None = None,
    global_options: Options | None = None,
) -> None:
    """Create the session in tmux (one call) and fill in the tmux ids of ``record``.

    A directory missing on this machine is passed on as it is: tmux then starts the pane
    in the home directory, as it does for tmuxp.
    """
    first = record.windows[0]
    head: list[Command] = [
        [
            "new-session",
            "-d",
            "-P",
            "-F",
            FIELD_SEPARATOR.join(["#{session_id}", "#{window_id}", "#{pane_id}"]),
            "-s",
            escape_format(record.name),  # tmux expands formats in it: '#{host}' stays text
            *directory_arguments(record.start_directory),
            *(["-x", str(record.width)] if record.width else []),
            *(["-y", str(record.height)] if record.height else []),
            *environment_arguments(record.environment),
            *(["-n", escape_format(first.name)] if first.name else []),
        ],
        # Targets by name cannot be resolved inside the list that creates the session;
        # without -t, commands apply to the session, window and pane made just before.
        ["set-option", SESSION_OPTION, record.id],
    ]
    for key, value in (options or {}).items():
        head.append(["set-option", key, _option_value(value)])
    for key, value in (global_options or {}).items():
        head.append(["set-option", "-g", key, _option_value(value)])
    pane0 = first.panes[0]
    own_directory = pane0.start_directory or first.start_directory
    shell = first.build.shell if first.build else None
    if (
        first.environment
        or pane0.environment
        or shell
        or (own_directory and own_directory != (record.start_directory))
    ):
        # new-session cannot give its first pane its own environment or program: restart it.
        head.append(
            [
                "respawn-pane",
                "-k",
                *directory_arguments(own_directory or record.start_directory),
                *environment_arguments(first.environment, pane0.environment),
                *([shell] if shell else []),
            ]
        )
    if first.build and first.build.index is not None:
        head.append(["move-window", "-t", f":{first.build.index}"])
    commands = list(head)
    for position, window in enumerate(record.windows):
        if position > 0:
            commands.append(
                [
                    "new-window",
                    "-P",
                    "-F",
                    FIELD_SEPARATOR.join(["#{window_id}", "#{pane_id}"]),
                    *(["-n", escape_format(window.name)] if window.name else []),
                    *directory_arguments(
                        window.panes[0].start_directory
                        or window.start_directory
                        or record.start_directory
                    ),
                    *environment_arguments(window.environment, window.panes[0].environment),
                    *(
                        ["-t", f":{window.build.index}"]
                        if window.build and window.build.index is not None
                        else []
                    ),
                    *([window.build.shell] if window.build and window.build.shell else []),
                ]
            )
        commands.append(["set-option", "-w", WINDOW_OPTION, window.id])
        commands.extend(
            ["set-option", "-w", key, _option_value(value)] for key, value in window.options.items()
        )
        for index, pane in enumerate(window.panes):
            commands.extend(
                _pane_commands(window, pane, first=index == 0, root=record.start_directory)
            )
        commands.extend(_layout(window))
        if window.build:
            commands.extend(
                ["set-option", "-w", key, _option_value(value)]
                for key, value in window.build.options_after.items()
            )
    # Environment values are often secrets: keep them off every command line.
    private = bool(record.environment) or any(
        w.environment or any(p.environment for p in w.panes) for w in record.windows
    )
    lines = iter(driver.execute(*commands, private=private))
    session_id, window_id, pane_id = next(lines).split(FIELD_SEPARATOR)
    record.tmux_id = session_id
    for position, window in enumerate(record.windows):
        if position > 0:
            window_id, pane_id = next(lines).split(FIELD_SEPARATOR)
        window.tmux_id = window_id
        for index, pane in enumerate(window.panes):
            pane.tmux_id = pane_id if index == 0 else next(lines)


def focus_commands(record: SessionRecord) -> list[Command]:
    """Select the windows and panes marked active (the last marked one wins)."""
    commands: list[Command] = []
    for window in record.windows:
        for pane in window.panes:
            if pane.active and pane.tmux_id:
                commands.append(["select-pane", "-t", pane.tmux_id])
    focused = [w for w in record.windows if w.active and w.tmux_id]
    if focused and focused[-1].tmux_id:
        commands.append(["select-window", "-t", focused[-1].tmux_id])
    return commands


def _option_value(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def wait_until_ready(
    driver: TmuxDriver, pane_ids: Iterable[str], timeout: float = READY_TIMEOUT
) -> set[str]:
    """Wait until each pane's shell has drawn something (its prompt); return the ready ones.

    One ``list-panes`` call per poll covers every pane of the server. Panes that are still
    blank after ``timeout`` (a shell with an empty prompt) are returned as not ready; the
    caller types into them anyway.
    """
    waiting = set(pane_ids)
    ready: set[str] = set()
    deadline = time.monotonic() + timeout
    fmt = FIELD_SEPARATOR.join(["#{pane_id}", "#{cursor_x}", "#{cursor_y}", "#{history_size}"])
    while waiting:
        for line in driver.execute(["list-panes", "-a", "-F", fmt]):
            pane_id, x, y, history = line.split(FIELD_SEPARATOR)
            if pane_id in waiting and (x, y, history) != ("0", "0", "0"):
                waiting.discard(pane_id)
                ready.add(pane_id)
        if not waiting or time.monotonic() >= deadline:
            break
        time.sleep(READY_POLL)
    return ready


def send_commands(driver: TmuxDriver, typed: Typed, *, wait: bool = True) -> None:
    """Type each pane's commands, each followed by Enter unless it says not to, in as few
    tmux calls as fit.

    A pane whose commands ask for pauses (``sleep_before``/``sleep_after``) is typed into
    by a thread of its own, so that its pauses hold up no other pane; ``wait`` waits for
    those threads.
    """
    groups: list[list[Command]] = []
    paced: list[threading.Thread] = []
    for pane_id, lines in typed.items():
        strokes = [line if isinstance(line, Keystroke) else Keystroke(line) for line in lines]
        if any(k.sleep_before or k.sleep_after for k in strokes):
            thread = threading.Thread(
                target=_type_paced, args=(driver, pane_id, strokes), daemon=True
            )
            thread.start()
            paced.append(thread)
            continue
        groups.append([c for k in strokes for c in _keystroke(pane_id, k)])
    execute_batched(driver, groups)
    if wait:
        for thread in paced:
            thread.join()


def _keystroke(pane_id: str, stroke: Keystroke) -> list[Command]:
    text = (" " if stroke.suppress_history else "") + stroke.text
    commands: list[Command] = [["send-keys", "-t", pane_id, "-l", text]] if text else []
    if stroke.enter:
        commands.append(["send-keys", "-t", pane_id, "Enter"])
    return commands


def _type_paced(driver: TmuxDriver, pane_id: str, strokes: list[Keystroke]) -> None:
    from gaia.errors import GaiaError

    try:
        for stroke in strokes:
            if stroke.sleep_before:
                time.sleep(stroke.sleep_before)
            commands = _keystroke(pane_id, stroke)
            if commands:
                driver.execute(*commands)
            if stroke.sleep_after:
                time.sleep(stroke.sleep_after)
    except GaiaError:
        pass  # the pane closed meanwhile: nothing left to type into
