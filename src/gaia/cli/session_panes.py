"""``gaia session`` commands that work inside a live session: window, split, send,
capture and run (send, capture and run are answered by the daemon when one runs)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import click

from gaia.cli.common import console, err_console, esc
from gaia.cli.session import (
    _LOCAL,
    EXIT_INTERRUPTED,
    EXIT_TIMEOUT,
    _ask_daemon,
    _print_json,
    _ref,
    open_sessions,
    session,
)

__all__: list[str] = []


@session.command()
@click.argument("name")
@click.option("--name", "window_name", help="Window name.")
@click.option("--path", type=click.Path(path_type=Path, file_okay=False), help="Start directory.")
@click.option("--command", "commands", multiple=True, help="Type this in the new window.")
def window(
    name: str, window_name: str | None, path: Path | None, commands: tuple[str, ...]
) -> None:
    """Add a window to session NAME."""
    with open_sessions() as sessions:
        view = sessions.create_window(
            name,
            name=window_name,
            start_directory=str(path.resolve()) if path else None,
            commands=list(commands),
        )
    console.print(f"window {view.index}: {view.name} ({view.tmux_id}, {view.id[:8]})", markup=False)


@session.command(context_settings={"help_option_names": ["--help"]})
@click.argument("name")
@click.option("--window", "-w", "window_ref", help="Window (name, index or id; default active).")
@click.option("--pane", "-p", "pane_ref", help="Pane to split (index or id; default active).")
@click.option(
    "-h", "--horizontal", "direction", flag_value="h", default=True, help="Side by side (default)."
)
@click.option("-v", "--vertical", "direction", flag_value="v", help="One above the other.")
@click.option("--size", "-l", help="Size of the new pane: lines/columns or a percentage (30%).")
@click.option("--path", type=click.Path(path_type=Path, file_okay=False), help="Start directory.")
@click.option("--command", "commands", multiple=True, help="Type this in the new pane.")
def split(
    name: str,
    window_ref: str | None,
    pane_ref: str | None,
    direction: str,
    size: str | None,
    path: Path | None,
    commands: tuple[str, ...],
) -> None:
    """Split a pane of session NAME (-h side by side, -v one above the other)."""
    with open_sessions() as sessions:
        view = sessions.create_pane(
            name,
            window=window_ref,
            pane=pane_ref,
            vertical=direction == "v",
            size=size,
            start_directory=str(path.resolve()) if path else None,
            commands=list(commands),
        )
    console.print(f"pane {view.index} ({view.tmux_id}, {view.id[:8]})", markup=False)


def _pane_options(func: Any) -> Any:
    func = click.option("--pane", "-p", "pane_ref", help="Pane (index or id; default active).")(
        func
    )
    return click.option(
        "--window", "-w", "window_ref", help="Window (name, index or id; default active)."
    )(func)


@session.command()
@click.argument("name")
@click.argument("keys", nargs=-1, required=True)
@_pane_options
@click.option("--no-enter", is_flag=True, help="Do not press Enter after the keys.")
@click.option("--literal", "-l", is_flag=True, help="Send text as-is (no key names like C-c).")
def send(
    name: str,
    keys: tuple[str, ...],
    window_ref: str | None,
    pane_ref: str | None,
    no_enter: bool,
    literal: bool,
) -> None:
    """Type KEYS into a pane: text or tmux key names (C-c, Escape, Up), then Enter."""
    body = {
        "keys": list(keys),
        "window_id": window_ref,
        "pane_id": pane_ref,
        "enter": not no_enter,
        "literal": literal,
    }
    if _ask_daemon("POST", f"/{_ref(name)}/send-keys", body) is not _LOCAL:
        return
    with open_sessions(reconcile=False) as sessions:
        sessions.send_keys(
            name,
            list(keys),
            window=window_ref,
            pane=pane_ref,
            enter=not no_enter,
            literal=literal,
        )


@session.command()
@click.argument("name")
@_pane_options
@click.option("--history", is_flag=True, help="Everything tmux kept, not just the screen.")
@click.option("--start", "-S", type=int, help="First line (negative: into the history).")
@click.option("--end", "-E", type=int, help="Last line.")
@click.option("--join", "-J", is_flag=True, help="Join wrapped lines.")
@click.option("--escapes", "-e", is_flag=True, help="Keep colour escape sequences.")
def capture(
    name: str,
    window_ref: str | None,
    pane_ref: str | None,
    history: bool,
    start: int | None,
    end: int | None,
    join: bool,
    escapes: bool,
) -> None:
    """Print what a pane shows."""
    options: dict[str, Any] = {
        "window_id": window_ref,
        "pane_id": pane_ref,
        "history": history,
        "start": start,
        "end": end,
        "join": join,
        "escapes": escapes,
    }
    query = urlencode(
        {
            k: "true" if v is True else v
            for k, v in options.items()
            if v is not None and v is not False  # not `in (None, False)`: 0 == False
        }
    )
    answer = _ask_daemon("GET", f"/{_ref(name)}/capture?{query}")
    if answer is _LOCAL:
        with open_sessions(reconcile=False) as sessions:
            answer = sessions.capture(
                name,
                window=window_ref,
                pane=pane_ref,
                history=history,
                start=start,
                end=end,
                join=join,
                escapes=escapes,
            ).model_dump(mode="json")
    content = answer["content"]
    sys.stdout.write(content + ("\n" if content else ""))


@session.command()
@click.argument("name")
@click.argument("command")
@_pane_options
@click.option(
    "--timeout",
    # The API's bounds, so that a run answered by the daemon and one done here agree.
    type=click.FloatRange(0, 24 * 3600, min_open=True),
    default=60.0,
    show_default=True,
    help="Seconds.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def run(
    name: str,
    command: str,
    window_ref: str | None,
    pane_ref: str | None,
    timeout: float,
    as_json: bool,
) -> None:
    """Run COMMAND in a pane's shell, wait, print its output and exit with its status.

    On timeout the command gets Ctrl-C and gaia exits with 124; a Ctrl-C here is passed
    on to the command too (exit 130).
    """
    body = {"command": command, "window_id": window_ref, "pane_id": pane_ref, "timeout": timeout}
    try:
        with _spinner(f"running {command}…"):
            # Past the command's own timeout: the shell's start and the last output.
            result = _ask_daemon("POST", f"/{_ref(name)}/run", body, timeout=timeout + 30)
            if result is _LOCAL:
                with open_sessions(reconcile=False) as sessions:
                    view = sessions.run(
                        name, command, window=window_ref, pane=pane_ref, timeout=timeout
                    )
                result = view.model_dump(mode="json")
    except KeyboardInterrupt:
        # In-process, the run sent the pane Ctrl-C; through the daemon, closing the
        # connection on exit makes the daemon send it.
        err_console.print("interrupted (the command got Ctrl-C)", markup=False)
        sys.exit(EXIT_INTERRUPTED)
    if as_json:
        _print_json(result)
    elif result["output"]:
        sys.stdout.write(result["output"] + "\n")
    if result["timed_out"]:
        err_console.print(f"timed out after {timeout:g} s (sent Ctrl-C)", markup=False)
        sys.exit(EXIT_TIMEOUT)
    status = result["exit_status"]
    sys.exit(status if status is not None else 1)


@contextmanager
def _spinner(message: str) -> Iterator[None]:
    """A spinner on a terminal; nothing (and no rich import) for a script or an agent."""
    if not sys.stderr.isatty():
        yield
        return
    with err_console.status(esc(message)):
        yield
