"""``gaia session``: tmux development sessions on gaia's own tmux server.

Commands run in-process (tmux itself is the shared state) and reconcile gaia's records
with tmux as they start, so sessions lost with a tmux restart show as dead and sessions
made with plain tmux on gaia's socket are adopted. The commands an agent repeats (list,
show, up, send, capture, run, kill) ask the daemon instead when one runs with the same
settings (gaia.cli.remote): that spares them ~0.3 s of imports each.

This module has the group, what its commands share and the commands on whole sessions;
gaia.cli.session_panes those inside a live session, gaia.cli.session_layout ``up`` and
``freeze``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import click

from gaia.cli.common import GaiaGroup, console, err_console, esc, key_value_pairs, open_settings
from gaia.cli.remote import DaemonUnavailable, find_remote
from gaia.errors import Problem, SessionValidationError

if TYPE_CHECKING:
    from gaia.sessions.manager import SessionManager
    from gaia.sessions.spec import SessionSpec

__all__ = ["session"]

EXIT_TIMEOUT = 124  # what timeout(1) exits with
EXIT_INTERRUPTED = 130  # what a shell reports for a command ended by SIGINT
STATUS_STYLES = {"alive": "green", "dead": "red"}


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


# The commands of the other two modules register themselves on the group when imported.
from gaia.cli import session_layout as _layout  # noqa: E402, F401
from gaia.cli import session_panes as _panes  # noqa: E402, F401
