"""``gaia session``: tmux development sessions on gaia's own tmux server.

Commands run in-process (tmux itself is the shared state) and reconcile gaia's records
with tmux as they start, so sessions lost with a tmux restart show as dead and sessions
made with plain tmux on gaia's socket are adopted. The commands an agent repeats (list,
show, up, send, capture, run, kill) ask the daemon instead when one runs with the same
settings (gaia.cli.remote): that spares them ~0.3 s of imports each.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import click

from gaia.cli.common import GaiaGroup, console, err_console, esc, key_value_pairs, open_settings
from gaia.cli.remote import DaemonUnavailable, find_remote
from gaia.errors import Problem, SessionValidationError
from gaia.sessions.paths import referenced_variables

if TYPE_CHECKING:
    from gaia.sessions.manager import SessionManager
    from gaia.sessions.spec import SessionSpec

__all__ = ["session"]

EXIT_TIMEOUT = 124  # what timeout(1) exits with
EXIT_INTERRUPTED = 130  # what a shell reports for a command ended by SIGINT
STATUS_STYLES = {"alive": "green", "dead": "red"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@contextmanager
def open_sessions(*, reconcile: bool = True) -> Iterator[SessionManager]:
    # Imported here: commands the daemon answers never load SQLAlchemy.
    from gaia.sessions.manager import SessionManager
    from gaia.storage.db import Database
    from gaia.storage.migrate import upgrade

    settings = open_settings()
    settings.gaia_home.ensure()
    db = Database(settings.resolved_database_url)
    try:
        upgrade(db)
        manager = SessionManager(db, settings)
        if reconcile:
            manager.reconcile()
        yield manager
    finally:
        db.dispose()


_LOCAL = object()  # no daemon to ask: do it in this process


def _ask_daemon(method: str, path: str, body: Any = None, *, timeout: float = 60.0) -> Any:
    """The daemon's answer when one runs with this command's settings; else ``_LOCAL``."""
    remote = find_remote()
    if remote is None:
        return _LOCAL
    try:
        return remote.call(method, f"/sessions{path}", body, timeout=timeout)
    except DaemonUnavailable:
        return _LOCAL


def _ref(value: str) -> str:
    return quote(value, safe="")


def _as_objects(data: Any) -> Any:
    """JSON objects as attribute objects: one renderer for the daemon's answer and ours."""
    if isinstance(data, dict):
        return SimpleNamespace(**{key: _as_objects(value) for key, value in data.items()})
    if isinstance(data, list):
        return [_as_objects(item) for item in data]
    return data


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@click.group(cls=GaiaGroup)
def session() -> None:
    """tmux sessions that persist, restore and clean themselves up (socket: tmux_socket)."""


@session.command()
@click.argument("name")
@click.option("--path", "path", type=click.Path(path_type=Path), help="Start directory.")
@click.option("--window", "windows", multiple=True, help="A window to create (repeatable).")
@click.option("--env", "env", multiple=True, metavar="KEY=VALUE", help="Session environment.")
@click.option("--width", type=int, help="Width in columns.")
@click.option("--height", type=int, help="Height in lines.")
@click.option("--command", "commands", multiple=True, help="Type this in the first pane.")
@click.option("--json", "as_json", is_flag=True, help="Print the session as JSON.")
def create(
    name: str,
    path: Path | None,
    windows: tuple[str, ...],
    env: tuple[str, ...],
    width: int | None,
    height: int | None,
    commands: tuple[str, ...],
    as_json: bool,
) -> None:
    """Create session NAME (detached; `gaia session attach NAME` to enter it)."""
    data: dict[str, Any] = {"session_name": name, "environment": key_value_pairs(env, "--env")}
    if path is not None:
        data["start_directory"] = str(path)
    if width is not None:
        data["width"] = width
    if height is not None:
        data["height"] = height
    data["windows"] = [{"window_name": w} for w in windows] or [{}]
    if commands:
        data["windows"][0]["panes"] = [list(commands)]
    spec = _spec(data, "command line")
    with open_sessions(reconcile=False) as sessions:
        view = sessions.create(spec)
    if as_json:
        _print_json(view.model_dump(mode="json"))
        return
    console.print(f"created session {view.name} ({view.id[:8]}, tmux {view.tmux_id})", markup=False)


def _spec(data: dict[str, Any], source: str) -> SessionSpec:
    import pydantic

    from gaia.sessions.loader import resolve_directories
    from gaia.sessions.spec import SessionSpec

    try:
        spec = SessionSpec.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = [
            Problem(
                e["msg"].removeprefix("Value error, "),
                source=source,
                path=".".join(str(p) for p in e["loc"]),
            )
            for e in exc.errors()
        ]
        raise SessionValidationError.from_problems(source, problems) from None
    found: list[Problem] = []
    resolve_directories(
        spec,
        Path.cwd(),
        lambda path, message, hint: found.append(Problem(message, source=source, hint=hint)),
    )
    if found:
        raise SessionValidationError.from_problems(source, found)
    return spec


@session.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_sessions(as_json: bool) -> None:
    """Sessions gaia knows: alive ones, and dead ones that `restore` can bring back."""
    answer = _ask_daemon("GET", "")
    if answer is _LOCAL:
        with open_sessions(reconcile=False) as sessions:
            answer = [v.model_dump(mode="json") for v in sessions.list_views()]
    if as_json:
        _print_json(answer)
        return
    if not answer:
        console.print("no sessions; create one with `gaia session create NAME`")
        return
    from rich.table import Table
    from rich.text import Text

    from gaia._duration import format_duration

    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("name", "id", "status", "windows", "panes", "idle", "origin", "directory"):
        table.add_column(column)
    for v in _as_objects(answer):
        table.add_row(
            esc(v.name),
            esc(v.id[:8]),
            Text(
                v.status + (" (attached)" if v.attached else ""),
                style=STATUS_STYLES.get(v.status, ""),
            ),
            str(len(v.windows)),
            str(sum(len(w.panes) for w in v.windows)),
            format_duration(v.idle_seconds) if v.idle_seconds is not None else "-",
            esc(v.origin),
            esc(v.start_directory or "-"),
        )
    console.print(table)


@session.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(name: str, as_json: bool) -> None:
    """A session's windows and panes: ids, sizes, what runs where."""
    answer = _ask_daemon("GET", f"/{_ref(name)}")
    if answer is _LOCAL:
        with open_sessions() as sessions:
            answer = sessions.get(name).model_dump(mode="json")
    if as_json:
        _print_json(answer)
        return
    view = _as_objects(answer)
    console.print(
        f"[bold]{esc(view.name)}[/] {esc(view.id)}  [{STATUS_STYLES.get(view.status, '')}]"
        f"{esc(view.status)}[/]  tmux {esc(view.tmux_id or '-')}"
    )
    if view.start_directory:
        console.print(f"directory: {view.start_directory}", markup=False)
    if view.environment_keys:
        console.print(f"environment: {', '.join(view.environment_keys)}", markup=False)
    for window in view.windows:
        marker = "*" if window.active else " "
        console.print(
            f"{marker} window {window.index}: {window.name}  ({window.tmux_id or '-'}, "
            f"{window.id[:8]})",
            markup=False,
        )
        for pane in window.panes:
            marker = "*" if pane.active else " "
            size = f"{pane.width}x{pane.height}" if pane.width else ""
            console.print(
                f"    {marker} pane {pane.index}: {pane.current_command or '-'} in "
                f"{pane.current_path or '-'}  {size} ({pane.tmux_id or '-'}, {pane.id[:8]})",
                markup=False,
            )


@session.command()
@click.argument("name")
def kill(name: str) -> None:
    """Destroy session NAME: its processes get SIGHUP and its record is removed."""
    answer = _ask_daemon("DELETE", f"/{_ref(name)}")
    if answer is _LOCAL:
        with open_sessions() as sessions:
            answer = sessions.destroy(name).model_dump(mode="json")
    click.echo(f"killed session {answer['name']}")


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


@session.command()
@click.argument("layout", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--attach", "-a", "attach_after", is_flag=True, help="Attach when built.")
@click.option(
    "--wait", is_flag=True, help="Return only once every pane's commands have been typed."
)
@click.option("--json", "as_json", is_flag=True, help="Print the session as JSON.")
def up(layout: Path, attach_after: bool, wait: bool, as_json: bool) -> None:
    """Build a whole session from a layout file (tmuxp format).

    Returns once tmux has the session; each pane's commands are typed by a detached helper
    as soon as its shell is ready (--wait: before returning).
    """
    if layout.is_file() and not attach_after:
        # Start directories expand $NAME and ~ from this command's environment, not the
        # daemon's: send the variables the layout refers to.
        names = referenced_variables(layout.read_text(encoding="utf-8", errors="replace"))
        environ = {k: os.environ[k] for k in names | {"HOME", "PWD"} if k in os.environ}
        body = {
            "path": str(layout.resolve()),
            "source": str(layout),
            "wait": wait,
            "environ": environ,
            # relative paths still relative after the file's folder are the caller's
            "cwd": str(Path.cwd()),
        }
        answer = _ask_daemon("POST", "/up", body, timeout=600.0)
        if answer is not _LOCAL:
            _report_up(answer, as_json)
            return
    from gaia.sessions.loader import read_layout_file

    loaded = read_layout_file(layout)
    spec = loaded.spec
    with open_sessions() as sessions:
        with err_console.status(f"building {esc(spec.session_name)}…"):
            view = sessions.create(
                spec,
                origin="layout",
                layout_file=str(layout.resolve()),
                typing="wait" if wait else "fork",
            )
        view.warnings = [str(w) for w in loaded.warnings]
        _report_up(view.model_dump(mode="json"), as_json)
        if attach_after:
            _attach(sessions, view.name)


def _print_warnings(warnings: list[str]) -> None:
    """What loading the layout ignored: on stderr, in yellow, control characters escaped."""
    for warning in warnings:
        line = _CONTROL.sub(lambda m: repr(m.group())[1:-1], warning)
        click.secho(f"warning: {line}", fg="yellow", err=True)


def _report_up(view: dict[str, Any], as_json: bool) -> None:
    _print_warnings(view.get("warnings") or [])
    if as_json:
        _print_json(view)
        return
    windows = view["windows"]
    panes = sum(len(w["panes"]) for w in windows)
    # click.echo, not rich: a command the daemon answered should not import rich to say this
    click.echo(
        f"session {view['name']} is up: {len(windows)} windows, {panes} panes "
        f"(`gaia session attach {view['name']}`)"
    )


@session.command()
@click.argument("name")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to this file instead of printing.",
)
@click.option("--force", is_flag=True, help="Overwrite the output file.")
def freeze(name: str, output: Path | None, force: bool) -> None:
    """Write the layout of live session NAME as a file `gaia session up` loads."""
    with open_sessions() as sessions:
        layout = sessions.freeze(name)
    import yaml

    text = yaml.safe_dump(layout, sort_keys=False, allow_unicode=True, width=1000)
    if output is None:
        sys.stdout.write(text)
        return
    if output.exists() and not force:
        raise click.ClickException(f"{output} exists; use --force to overwrite it")
    output.write_text(text, encoding="utf-8")
    console.print(f"wrote {output}", markup=False)


@session.command()
@click.argument("name", required=False)
@click.option("--all", "all_", is_flag=True, help="Every dead session.")
def restore(name: str | None, all_: bool) -> None:
    """Recreate dead session NAME from its record (windows, layouts, directories, commands)."""
    if not name and not all_:
        raise click.UsageError("give a session NAME, or --all")
    # restore --all reconciles by itself
    with open_sessions(reconcile=not all_) as sessions, err_console.status("restoring…"):
        views = sessions.restore_all() if all_ else [sessions.restore(name or "")]
    for view in views:
        console.print(f"restored {view.name} ({len(view.windows)} windows)", markup=False)
    if all_ and not views:
        console.print("no dead sessions to restore")


@session.command()
@click.argument("name")
def attach(name: str) -> None:
    """Attach this terminal to session NAME (detach again with the tmux prefix, then d)."""
    with open_sessions() as sessions:
        _attach(sessions, name)


def _attach(sessions: SessionManager, name: str) -> None:
    argv = sessions.attach_argv(name)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise click.ClickException("attach needs a terminal (stdin and stdout must be a tty)")
    env = dict(os.environ)
    env.pop("TMUX", None)  # gaia's server is not the one we may be inside
    os.execvpe(argv[0], argv, env)  # noqa: S606 - replaces gaia with tmux by design


@session.command()
@click.option("--dry-run", is_flag=True, help="Only list what would be destroyed.")
def cleanup(dry_run: bool) -> None:
    """Destroy sessions idle for longer than session_idle_timeout (attached ones stay)."""
    with open_sessions(reconcile=False) as sessions:  # cleanup reconciles first itself
        gone = sessions.cleanup(dry_run=dry_run)
        limit = sessions.settings.session_idle_timeout
    from gaia._duration import format_duration

    if not gone:
        console.print(f"no session idle for more than {format_duration(limit)}")
    verb = "would destroy" if dry_run else "destroyed"
    for item in gone:
        console.print(
            f"{verb} {item.name} (idle {format_duration(item.idle_seconds)})", markup=False
        )
