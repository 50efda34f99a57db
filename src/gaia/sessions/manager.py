"""SessionManager: the sessions component as the CLI and the API use it.

tmux is the truth about what runs; the database is the memory of what gaia made. Every
operation resolves its target against a fresh ``list-panes`` snapshot by durable gaia
id, so a stale record can never send keys to a pane that tmux reused the id of.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from gaia.config import Settings
from gaia.errors import ConflictError, GaiaError, NotFoundError, Problem, SessionValidationError
from gaia.sessions import builder
from gaia.sessions.before_script import run_before_script
from gaia.sessions.freeze import freeze_layout
from gaia.sessions.live import (
    PANE_OPTION,
    WINDOW_OPTION,
    LivePane,
    LiveSession,
    LiveWindow,
    snapshot,
)
from gaia.sessions.reconcile import idle_sessions, reconcile
from gaia.sessions.records import (
    DEAD,
    Keystroke,
    PaneRecord,
    SessionRecord,
    WindowRecord,
    record_from_spec,
)
from gaia.sessions.run import run_in_pane
from gaia.sessions.spec import SessionSpec
from gaia.sessions.store import SessionStore
from gaia.sessions.targets import pick
from gaia.sessions.tmux import FIELD_SEPARATOR, CliDriver, Command, TmuxDriver, escape_format
from gaia.sessions.typist import Typist
from gaia.sessions.views import (
    CaptureView,
    CleanupView,
    PaneView,
    ReconcileView,
    RunView,
    SessionView,
    WindowView,
    pane_view,
    session_view,
)
from gaia.storage.db import Database
from gaia.storage.types import utcnow

__all__ = ["SessionManager"]

log = logging.getLogger("gaia.sessions")

# When a new session's commands are typed (see SessionManager.create).
Typing = Literal["wait", "fork", "thread"]


@dataclass
class _Target:
    record: SessionRecord
    window: LiveWindow
    pane: LivePane


class SessionManager:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        driver: TmuxDriver | None = None,
        *,
        stopping: threading.Event | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.socket = settings.tmux_socket
        self.store = SessionStore(db, self.socket)
        self._driver = driver
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()
        self._open_lock = threading.Lock()
        self._typist: Typist | None = None
        self._typist_lock = threading.Lock()
        # Set when the process that owns this manager is stopping: runs stop waiting.
        self.stopping = stopping or threading.Event()

    @property
    def driver(self) -> TmuxDriver:
        # Created on first use: workflows and services work on machines without tmux.
        if self._driver is None:
            self._driver = CliDriver(self.socket)
        return self._driver

    # -- sessions ------------------------------------------------------------------

    def create(
        self,
        spec: SessionSpec,
        *,
        origin: str = "created",
        layout_file: str | None = None,
        typing: Typing = "wait",
    ) -> SessionView:
        """Create a session (windows, panes, commands) from a spec whose paths are resolved.

        Each pane's commands are typed once its shell is ready: before this returns
        (``wait``), or afterwards by a detached child (``fork``, for a short-lived CLI
        process) or a thread (``thread``, in the daemon), so that this returns as soon as
        tmux has the session — as ``tmuxp load -d`` does, but still without typing into a
        shell that is not listening yet.
        """
        if spec.before_script:
            run_before_script(spec.before_script, spec.start_directory)
        record = record_from_spec(spec, self.socket, origin=origin, layout_file=layout_file)
        self._build(record, spec.options, typing=typing, global_options=spec.global_options)
        return session_view(record, None)

    def list_views(self) -> list[SessionView]:
        live = {s.gaia_id: s for s in reconcile(self.driver, self.store).lives}
        return [session_view(r, live.get(r.id)) for r in self.store.all()]

    def get(self, ref: str) -> SessionView:
        """The session, alive or dead; one made with plain tmux on gaia's socket is adopted."""
        try:
            record = self._find(ref)
        except NotFoundError:
            self.reconcile()
            record = self._find(ref)
        live = self._live(record) if record.alive else None
        return session_view(record, live)

    def destroy(self, ref: str) -> SessionView:
        """Kill the tmux session (every process in it gets SIGHUP) and forget it."""
        record = self._find(ref)
        live = self._live(record) if record.alive else None
        view = session_view(record, live)
        if live is not None:
            self._kill(live)
        self.store.delete(record.id)
        view.status = "destroyed"
        return view

    def restore(self, ref: str) -> SessionView:
        """Recreate a dead session from its record: same ids, windows, layouts and commands."""
        record = self._find(ref)
        lives = snapshot(self.driver)
        if any(s.gaia_id == record.id for s in lives):
            raise ConflictError(f"session {record.name!r} is running; only a dead one is restored")
        if any(s.name == record.name for s in lives):
            raise ConflictError(
                f"another session named {record.name!r} is running; kill or rename it first"
            )
        for window in record.windows:
            for pane in window.panes:
                if pane.start_directory and not Path(pane.start_directory).is_dir():
                    pane.start_directory = None  # gone since: fall back to the window's
        record.status = "alive"
        record.dead_at = None
        record.last_used_at = utcnow()
        if not record.windows:
            record.windows = [WindowRecord()]
        for window in record.windows:
            if not window.panes:
                window.panes = [PaneRecord()]
        self._build(record, {})
        return session_view(record, None)

    def restore_all(self) -> list[SessionView]:
        reconcile(self.driver, self.store)
        return [self.restore(r.id) for r in self.store.all(status=DEAD)]

    # -- windows and panes -----------------------------------------------------------

    def create_window(
        self,
        ref: str,
        *,
        name: str | None = None,
        start_directory: str | None = None,
        environment: dict[str, str] | None = None,
        commands: list[str] | None = None,
    ) -> WindowView:
        record, live = self._alive(ref)
        window = WindowRecord(
            name=name or "", start_directory=start_directory, environment=environment or {}
        )
        pane = PaneRecord(commands=list(commands or []))
        window.panes.append(pane)
        line = self.driver.execute(
            [
                "new-window",
                "-t",
                f"{live.tmux_id}:",
                "-P",
                "-F",
                FIELD_SEPARATOR.join(["#{window_id}", "#{pane_id}"]),
                *(["-n", escape_format(name)] if name else []),
                *builder.directory_arguments(start_directory or live.path or None),
                *builder.environment_arguments(environment or {}),
            ],
            ["set-option", "-w", WINDOW_OPTION, window.id],
            ["set-option", "-p", PANE_OPTION, pane.id],
            private=bool(environment),  # values stay off command lines
        )[0]
        window.tmux_id, pane.tmux_id = line.split(FIELD_SEPARATOR)
        self._type({pane.tmux_id: pane.commands})
        view = self._sync(record.id, commands={pane.id: pane.commands})
        return _find_view(view.windows, window.id, "window")

    def open_program_window(
        self, session: str, *, name: str, command: str, start_directory: str
    ) -> tuple[str, int]:
        """Run ``command`` (not a shell) in a new window of ``session``, created if need be.

        Returns the pane's tmux id and the program's pid. A program that should leave its
        window behind sets ``remain-on-exit`` on its own pane first (a later tmux call
        would race a program that exits at once).
        """
        with self._open_lock:
            try:
                _record, live = self._alive(session)
            except (NotFoundError, ConflictError):
                with contextlib.suppress(NotFoundError):
                    self.store.delete(self.store.find(session).id)
                self.create(SessionSpec(session_name=session, start_directory=start_directory))
                _record, live = self._alive(session)
        line = self.driver.execute(
            [
                "new-window",
                "-d",
                "-t",
                f"{live.tmux_id}:",
                "-P",
                "-F",
                FIELD_SEPARATOR.join(["#{window_id}", "#{pane_id}", "#{pane_pid}"]),
                "-n",
                escape_format(name),
                *builder.directory_arguments(start_directory),
                command,
            ],
        )[0]
        _window_id, pane_id, pane_pid = line.split(FIELD_SEPARATOR)
        return pane_id, int(pane_pid)

    def create_pane(
        self,
        ref: str,
        *,
        window: str | None = None,
        pane: str | None = None,
        vertical: bool = False,
        size: str | None = None,
        start_directory: str | None = None,
        environment: dict[str, str] | None = None,
        commands: list[str] | None = None,
    ) -> PaneView:
        """Split a pane: side by side by default, one above the other when ``vertical``."""
        target = self._target(ref, window, pane)
        new = PaneRecord(
            start_directory=start_directory,
            environment=environment or {},
            commands=list(commands or []),
        )
        split: Command = [
            "split-window",
            "-t",
            target.pane.tmux_id,
            "-v" if vertical else "-h",
            *(["-l", size] if size else []),
            "-P",
            "-F",
            "#{pane_id}",
            # By default the new pane starts where the split one is now.
            *builder.directory_arguments(start_directory or target.pane.current_path or None),
            *builder.environment_arguments(environment or {}),
        ]
        new.tmux_id = self.driver.execute(
            split,
            ["set-option", "-p", PANE_OPTION, new.id],
            private=bool(environment),  # values stay off command lines
        )[0]
        self._type({new.tmux_id: new.commands})
        view = self._sync(target.record.id, commands={new.id: new.commands})
        return _find_view([p for w in view.windows for p in w.panes], new.id, "pane")

    def send_keys(
        self,
        ref: str,
        keys: str | list[str],
        *,
        window: str | None = None,
        pane: str | None = None,
        enter: bool = True,
        literal: bool = False,
    ) -> PaneView:
        """Type ``keys`` into a pane, in one tmux call so no other request interleaves."""
        target = self._target(ref, window, pane)
        items = [keys] if isinstance(keys, str) else list(keys)
        pane_id = target.pane.tmux_id
        commands: list[Command] = []
        if items:
            if literal:
                commands.extend(["send-keys", "-t", pane_id, "-l", "--", item] for item in items)
            else:
                # "--": text such as "-x" is keys to type, not an option of send-keys.
                commands.append(["send-keys", "-t", pane_id, "--", *items])
        if enter:
            commands.append(["send-keys", "-t", pane_id, "Enter"])
        if not commands:
            # Bad input, not a state conflict: 422 like every other malformed request.
            raise SessionValidationError(
                "nothing to send: give keys, or enter",
                [Problem("nothing to send: give keys, or enter", source="request", path="keys")],
            )
        self.driver.execute(*commands)
        self.store.touch(target.record.id)
        return pane_view(target.pane, None)

    def capture(
        self,
        ref: str,
        *,
        window: str | None = None,
        pane: str | None = None,
        history: bool = False,
        start: int | None = None,
        end: int | None = None,
        join: bool = False,
        escapes: bool = False,
    ) -> CaptureView:
        """The pane's text: the visible screen, or with ``history`` everything tmux kept.

        ``start``/``end`` are tmux line numbers (0 is the first visible line, negative
        numbers reach into the history).
        """
        target = self._target(ref, window, pane)
        command: list[str] = ["capture-pane", "-p", "-t", target.pane.tmux_id]
        if escapes:
            command.append("-e")
        if join:
            command.append("-J")
        if history or start is not None:
            command += ["-S", "-" if start is None else str(start)]
        if end is not None:
            command += ["-E", str(end)]
        lines = self.driver.execute(command)
        self.store.touch(target.record.id)
        return CaptureView(
            session_id=target.record.id,
            window_id=target.window.gaia_id or "",
            pane_id=target.pane.gaia_id or "",
            lines=lines,
            content="\n".join(lines),
        )

    def run(
        self,
        ref: str,
        command: str,
        *,
        window: str | None = None,
        pane: str | None = None,
        timeout: float = 60.0,
        cancelled: Callable[[], bool] | None = None,
    ) -> RunView:
        """Type ``command`` at the pane's prompt and wait for its exit status and output.

        Once ``cancelled()`` answers True (asked a few times a second), the command gets
        Ctrl-C and the wait ends. Once ``stopping`` is set, the wait ends with a
        StoppingError and the command goes on in its pane.
        """
        target = self._target(ref, window, pane)
        with self._running(target.pane.tmux_id):
            outcome = run_in_pane(
                self.driver,
                target.pane.tmux_id,
                command,
                timeout,
                cancelled,
                abandoned=self.stopping.is_set,
            )
        if outcome.cancelled:
            log.info("run in pane %s cancelled: %s", target.pane.tmux_id, command)
        self.store.touch(target.record.id)
        return RunView(
            session_id=target.record.id,
            window_id=target.window.gaia_id or "",
            pane_id=target.pane.gaia_id or "",
            command=command,
            exit_status=outcome.exit_status,
            timed_out=outcome.timed_out,
            duration_seconds=round(outcome.duration, 4),
            output=outcome.output,
            truncated=outcome.truncated,
        )

    def freeze(self, ref: str) -> dict[str, Any]:
        """The live session as a layout (tmuxp format) that ``gaia session up`` recreates."""
        record, live = self._alive(ref)
        record = self.store.replace_layout(record.id, live) or record
        return freeze_layout(record, live)

    # -- reconciliation and cleanup --------------------------------------------------

    def reconcile(self) -> ReconcileView:
        """Match records with tmux: mark the lost dead, adopt the unknown, refresh the rest."""
        return reconcile(self.driver, self.store).report

    def idle(self) -> list[tuple[SessionRecord, LiveSession, float]]:
        """Sessions idle longer than session_idle_timeout; attached ones never are."""
        lives = reconcile(self.driver, self.store).lives
        limit = self.settings.session_idle_timeout
        return idle_sessions(self.store.all(), lives, time.time(), limit)

    def cleanup(self, *, dry_run: bool = False) -> list[CleanupView]:
        """Destroy idle sessions (or, with ``dry_run``, only say which would go)."""
        result: list[CleanupView] = []
        for record, live, idle in self.idle():
            if not dry_run:
                self._kill(live)
                self.store.delete(record.id)
                log.info("destroyed idle session %s (idle %.0f s)", record.name, idle)
            result.append(
                CleanupView(
                    id=record.id,
                    name=record.name,
                    idle_seconds=round(idle, 1),
                    destroyed=not dry_run,
                )
            )
        return result

    def attach_argv(self, ref: str) -> list[str]:
        _record, live = self._alive(ref)
        return self.driver.attach_argv(live.tmux_id)

    # -- internals -------------------------------------------------------------------

    def _build(
        self,
        record: SessionRecord,
        options: builder.Options,
        *,
        typing: Typing = "wait",
        global_options: builder.Options | None = None,
    ) -> None:
        try:
            builder.build_session(self.driver, record, options, global_options)
        except ConflictError:
            raise  # a session of that name exists: it is not ours to kill
        except GaiaError:
            # e.g. an unknown tmux option: leave no half-built session behind
            with contextlib.suppress(GaiaError):
                self.driver.execute(["kill-session", "-t", f"={record.name}"])
            raise
        try:
            self.store.save(record, replace_dead_named=True)
        except Exception:
            self.driver.execute(["kill-session", "-t", record.tmux_id or f"={record.name}"])
            raise
        typed: dict[str | None, list[str | Keystroke]] = {
            p.tmux_id: list(p.build.keystrokes if p.build else p.commands)
            for w in record.windows
            for p in w.panes
            if p.commands
        }
        focus = builder.focus_commands(record)
        if focus:
            self.driver.execute(*focus)
        commands = {pane: lines for pane, lines in typed.items() if pane}
        if not commands:
            return
        if typing == "thread":
            with self._typist_lock:
                if self._typist is None:
                    self._typist = Typist(self.driver)
            self._typist.add(commands)
            return
        child = _fork_detached() if typing == "fork" else -1
        if child == 0:
            try:
                self._type(commands)
            finally:
                os._exit(0)  # the child must not run the parent's cleanup or atexit hooks
        if child < 0:  # not asked to detach, or fork failed: type here
            self._type(commands)

    def _type(self, typed: builder.Typed) -> None:
        typed = {pane: lines for pane, lines in typed.items() if lines}
        if typed:
            builder.wait_until_ready(self.driver, typed)
            builder.send_commands(self.driver, typed)

    def _sync(self, session_id: str, commands: dict[str, list[str]]) -> SessionView:
        """Record the session's windows and panes as tmux has them now; its fresh view."""
        live = next((s for s in snapshot(self.driver) if s.gaia_id == session_id), None)
        record = self.store.replace_layout(session_id, live, commands) if live else None
        if record is None:
            raise NotFoundError.of("session", session_id)
        return session_view(record, live)

    def _kill(self, live: LiveSession) -> None:
        with contextlib.suppress(NotFoundError):  # it ended on its own meanwhile
            self.driver.execute(["kill-session", "-t", live.tmux_id])

    def _find(self, ref: str) -> SessionRecord:
        try:
            return self.store.find(ref)
        except NotFoundError:
            # A session made with plain tmux on gaia's socket: adopt it, then look again.
            if not any(s.name == ref for s in snapshot(self.driver)):
                raise
            reconcile(self.driver, self.store)
            return self.store.find(ref)

    def _live_or_none(self, record: SessionRecord) -> LiveSession | None:
        if record.tmux_id:
            # Cheap path: the recorded tmux id, trusted only if it carries our gaia id.
            with contextlib.suppress(NotFoundError):
                found = snapshot(self.driver, session=record.tmux_id)
                if found and found[0].gaia_id == record.id:
                    return found[0]
        return next((s for s in snapshot(self.driver) if s.gaia_id == record.id), None)

    def _live(self, record: SessionRecord) -> LiveSession | None:
        live = self._live_or_none(record)
        if live is None and record.alive:
            self.store.mark_dead([record.id])
            record.status = DEAD
            record.dead_at = utcnow()
        return live

    def _alive(self, ref: str) -> tuple[SessionRecord, LiveSession]:
        record = self._find(ref)
        live = self._live(record) if record.alive else None
        if live is None:
            raise ConflictError(
                f"session {record.name!r} is not running (tmux lost it); "
                f"'gaia session restore {record.name}' recreates it"
            )
        return record, live

    def _target(self, ref: str, window: str | None, pane: str | None) -> _Target:
        record, live = self._alive(ref)
        return _Target(record, *pick(live, window, pane))

    @contextmanager
    def _running(self, pane_id: str) -> Iterator[None]:
        with self._busy_lock:
            if pane_id in self._busy:
                raise ConflictError(f"pane {pane_id} is already running a command")
            self._busy.add(pane_id)
        try:
            yield
        finally:
            with self._busy_lock:
                self._busy.discard(pane_id)


_View = TypeVar("_View", WindowView, PaneView)


def _fork_detached() -> int:
    """Fork a child that leaves the caller's session: 0 in the child, its pid in the
    parent, -1 when fork failed. The terminal's Ctrl-C and the caller's exit do not stop
    it; its standard streams go to /dev/null."""
    try:
        pid = os.fork()
    except OSError:
        return -1
    if pid == 0:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
    return pid


def _find_view(views: list[_View], view_id: str, kind: str) -> _View:
    found = next((v for v in views if v.id == view_id), None)
    if found is None:  # closed again before we could look
        raise NotFoundError.of(kind, view_id)
    return found
