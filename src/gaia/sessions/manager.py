"""SessionManager: the sessions component as the CLI and the API use it.

tmux is the truth about what runs; the database is the memory of what gaia made. This
module finds sessions and makes, restores, reconciles and cleans them up; building one in
tmux is gaia.sessions.launch, and what is done inside a live one (windows, panes, keys,
captures, runs) gaia.sessions.panes.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gaia.config import Settings
from gaia.errors import ConflictError, NotFoundError
from gaia.sessions import builder
from gaia.sessions.before_script import run_before_script
from gaia.sessions.freeze import freeze_layout
from gaia.sessions.launch import Launcher, Typing
from gaia.sessions.live import (
    LiveSession,
    snapshot,
)
from gaia.sessions.panes import PaneOperations
from gaia.sessions.reconcile import idle_sessions, reconcile
from gaia.sessions.records import (
    DEAD,
    PaneRecord,
    SessionRecord,
    WindowRecord,
    record_from_spec,
)
from gaia.sessions.spec import SessionSpec
from gaia.sessions.store import SessionStore
from gaia.sessions.tmux import FIELD_SEPARATOR, CliDriver, TmuxDriver, escape_format
from gaia.sessions.views import (
    CleanupView,
    ReconcileView,
    SessionView,
    session_view,
)
from gaia.storage.db import Database
from gaia.storage.types import utcnow

__all__ = ["SessionManager"]

log = logging.getLogger("gaia.sessions")


class SessionManager(PaneOperations):
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
        self._launcher = Launcher(lambda: self.driver, self.store)
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
        environ: Mapping[str, str] | None = None,
    ) -> SessionView:
        """Create a session (windows, panes, commands) from a spec whose paths are resolved;
        its ``before_script`` runs first (with ``environ``, the caller's variables, over
        this process's), and the session is not made if it fails.

        Each pane's commands are typed once its shell is ready: before this returns
        (``wait``), or afterwards by a detached child (``fork``, for a short-lived CLI
        process) or a thread (``thread``, in the daemon), so that this returns as soon as
        tmux has the session — as ``tmuxp load -d`` does, but still without typing into a
        shell that is not listening yet.
        """
        if spec.before_script:
            run_before_script(spec.before_script, spec.start_directory, environ)
        record = record_from_spec(spec, self.socket, origin=origin, layout_file=layout_file)
        self._launcher.build(
            record, spec.options, typing=typing, global_options=spec.global_options
        )
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
        self._launcher.build(record, {})
        return session_view(record, None)

    def restore_all(self) -> list[SessionView]:
        reconcile(self.driver, self.store)
        return [self.restore(r.id) for r in self.store.all(status=DEAD)]

    # -- windows and panes -----------------------------------------------------------

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

    def _type(self, typed: builder.Typed) -> None:
        self._launcher.type_now(typed)

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
