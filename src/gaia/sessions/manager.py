"""SessionManager: the sessions component as the CLI and the API use it.

tmux is the truth about what runs; the database is the memory of what gaia made. Every
operation resolves its target against a fresh ``list-panes`` snapshot by durable gaia
id, so a stale record can never send keys to a pane that tmux reused the id of.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from gaia.config import Settings
from gaia.errors import ConflictError, GaiaError, NotFoundError
from gaia.sessions import builder
from gaia.sessions.live import (
    PANE_OPTION,
    SESSION_OPTION,
    WINDOW_OPTION,
    LivePane,
    LiveSession,
    LiveWindow,
    snapshot,
)
from gaia.sessions.run import SHELLS, run_in_pane
from gaia.sessions.spec import SessionSpec
from gaia.sessions.store import DEAD, PaneRecord, SessionRecord, SessionStore, WindowRecord
from gaia.sessions.tmux import (
    FIELD_SEPARATOR,
    Command,
    LibtmuxDriver,
    TmuxDriver,
    escape_format,
    execute_batched,
)
from gaia.sessions.views import (
    CaptureView,
    CleanupView,
    PaneView,
    ReconcileView,
    RunView,
    SessionView,
    WindowView,
)
from gaia.storage.db import Database
from gaia.storage.types import utcnow

__all__ = ["SessionManager"]

log = logging.getLogger("gaia.sessions")


@dataclass
class _Target:
    record: SessionRecord
    session: LiveSession
    window: LiveWindow
    pane: LivePane


class SessionManager:
    def __init__(self, db: Database, settings: Settings, driver: TmuxDriver | None = None) -> None:
        self.db = db
        self.settings = settings
        self.socket = settings.tmux_socket
        self.store = SessionStore(db, self.socket)
        self._driver = driver
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()

    @property
    def driver(self) -> TmuxDriver:
        # Created on first use: workflows and services work on machines without tmux.
        if self._driver is None:
            self._driver = LibtmuxDriver(self.socket)
        return self._driver

    # -- sessions ------------------------------------------------------------------

    def create(
        self, spec: SessionSpec, *, origin: str = "created", layout_file: str | None = None
    ) -> SessionView:
        """Create a session (windows, panes, commands) from a spec whose paths are resolved."""
        record = _record_from_spec(spec, self.socket, origin=origin, layout_file=layout_file)
        self._build(record, spec.options)
        return self._view(record, None)

    def list_views(self) -> list[SessionView]:
        self.reconcile()
        live = {s.gaia_id: s for s in snapshot(self.driver)}
        return [self._view(r, live.get(r.id)) for r in self.store.all()]

    def get(self, ref: str) -> SessionView:
        record = self._find(ref)
        live = self._live(record) if record.alive else None
        return self._view(record, live)

    def destroy(self, ref: str) -> SessionView:
        """Kill the tmux session (every process in it gets SIGHUP) and forget it."""
        record = self._find(ref)
        live = self._live(record) if record.alive else None
        view = self._view(record, live)
        if live is not None:
            self._kill(live)
        self.store.delete(record.id)
        view.status = "destroyed"
        return view

    def restore(self, ref: str) -> SessionView:
        """Recreate a dead session from its record: same ids, windows, layouts and commands."""
        record = self._find(ref)
        if record.alive and self._live_or_none(record) is not None:
            raise ConflictError(f"session {record.name!r} is running; only a dead one is restored")
        if any(s.name == record.name for s in snapshot(self.driver)):
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
            record.windows = [WindowRecord(id=str(uuid.uuid4()), name="")]
        for window in record.windows:
            if not window.panes:
                window.panes = [PaneRecord(id=str(uuid.uuid4()))]
        self._build(record, {})
        return self._view(record, None)

    def restore_all(self) -> list[SessionView]:
        self.reconcile()
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
            id=str(uuid.uuid4()),
            name=name or "",
            start_directory=start_directory,
            environment=environment or {},
        )
        pane = PaneRecord(id=str(uuid.uuid4()), commands=list(commands or []))
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
        )[0]
        window.tmux_id, pane.tmux_id = line.split(FIELD_SEPARATOR)
        self._type({pane.tmux_id: pane.commands})
        self._sync(record.id, commands={pane.id: pane.commands})
        return self._window_view(record.id, window.id)

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
            id=str(uuid.uuid4()),
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
        new.tmux_id = self.driver.execute(split, ["set-option", "-p", PANE_OPTION, new.id])[0]
        self._type({new.tmux_id: new.commands})
        self._sync(target.record.id, commands={new.id: new.commands})
        window_id = target.window.gaia_id or ""
        return next(
            p for p in self._window_view(target.record.id, window_id).panes if p.id == new.id
        )

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
            raise ConflictError("nothing to send: give keys, or enter")
        self.driver.execute(*commands)
        self.store.touch(target.record.id)
        return _pane_view(target.pane, None)

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
    ) -> RunView:
        """Type ``command`` at the pane's prompt and wait for its exit status and output."""
        target = self._target(ref, window, pane)
        with self._running(target.pane.tmux_id):
            outcome = run_in_pane(self.driver, target.pane.tmux_id, command, timeout)
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
        self._sync(record.id)
        record = self.store.get(record.id) or record
        commands = {p.id: p.commands for w in record.windows for p in w.panes}
        windows: list[dict[str, Any]] = []
        root = live.path or record.start_directory
        for window in live.windows:
            paths = {p.current_path for p in window.panes}
            common = paths.pop() if len(paths) == 1 else None
            panes: list[Any] = []
            for pane in window.panes:
                typed = list(commands.get(pane.gaia_id or "", []))
                if not typed and pane.current_command.lstrip("-") not in SHELLS:
                    typed = [pane.current_command]  # what runs there now, as tmuxp does
                item: dict[str, Any] = {"shell_command": typed}
                if common is None and pane.current_path != root:
                    item["start_directory"] = pane.current_path
                if pane.active and len(window.panes) > 1:
                    item["focus"] = True
                panes.append(item if len(item) > 1 else (typed or None))
            entry: dict[str, Any] = {"window_name": window.name, "layout": window.layout}
            if common is not None and common != root:
                entry["start_directory"] = common
            if window.active and len(live.windows) > 1:
                entry["focus"] = True
            entry["panes"] = panes
            windows.append(entry)
        layout: dict[str, Any] = {"session_name": live.name}
        if root:
            layout["start_directory"] = root
        layout["windows"] = windows
        return layout

    # -- reconciliation and cleanup --------------------------------------------------

    def reconcile(self) -> ReconcileView:
        """Match records with tmux: mark the lost dead, adopt the unknown, refresh the rest."""
        recorded = self.store.all()
        known = {r.id: r for r in recorded}
        lives = snapshot(self.driver)
        tagging: list[Command] = []
        adopted: list[SessionRecord] = []
        for live in lives:
            if live.gaia_id is None:
                live.gaia_id = str(uuid.uuid4())
                tagging.append(["set-option", "-t", live.tmux_id, SESSION_OPTION, live.gaia_id])
            for window in live.windows:
                if window.gaia_id is None:
                    window.gaia_id = str(uuid.uuid4())
                    tagging.append(
                        ["set-option", "-w", "-t", window.tmux_id, WINDOW_OPTION, window.gaia_id]
                    )
                for pane in window.panes:
                    if pane.gaia_id is None:
                        pane.gaia_id = str(uuid.uuid4())
                        tagging.append(
                            ["set-option", "-p", "-t", pane.tmux_id, PANE_OPTION, pane.gaia_id]
                        )
            if live.gaia_id not in known:
                adopted.append(_record_from_live(live, self.socket))
        execute_batched(self.driver, [[command] for command in tagging])
        adopted_names = [r.name for r in adopted if self.store.adopt(r)]
        for name in adopted_names:
            log.info("adopted tmux session %s", name)
        for live in lives:
            if live.gaia_id in known:
                self.store.replace_layout(live.gaia_id, live)
        alive_ids = {live.gaia_id for live in lives}
        lost = [r for r in recorded if r.alive and r.id not in alive_ids]
        self.store.mark_dead([r.id for r in lost])
        for record in lost:
            log.info("session %s is gone from tmux: marked dead", record.name)
        return ReconcileView(adopted=adopted_names, died=[r.name for r in lost], alive=len(lives))

    def idle(self, now: float | None = None) -> list[tuple[SessionRecord, LiveSession, float]]:
        """Sessions idle longer than session_idle_timeout; attached ones never are."""
        self.reconcile()
        now = time.time() if now is None else now
        records = {r.id: r for r in self.store.all()}
        found: list[tuple[SessionRecord, LiveSession, float]] = []
        for live in snapshot(self.driver):
            record = records.get(live.gaia_id or "")
            if record is None or live.attached:
                continue
            idle = now - max(live.activity, record.last_used_at.timestamp())
            if idle > self.settings.session_idle_timeout:
                found.append((record, live, idle))
        return found

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

    def _build(self, record: SessionRecord, options: dict[str, str | int | bool]) -> None:
        try:
            builder.build_session(self.driver, record, options)
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
        typed = {p.tmux_id: p.commands for w in record.windows for p in w.panes if p.commands}
        focus = builder.focus_commands(record)
        if focus:
            self.driver.execute(*focus)
        self._type({k: v for k, v in typed.items() if k})

    def _type(self, typed: dict[str, list[str]]) -> None:
        typed = {pane: lines for pane, lines in typed.items() if lines}
        if typed:
            builder.wait_until_ready(self.driver, typed)
            builder.send_commands(self.driver, typed)

    def _sync(self, session_id: str, commands: dict[str, list[str]] | None = None) -> None:
        live = next((s for s in snapshot(self.driver) if s.gaia_id == session_id), None)
        if live is not None:
            self.store.replace_layout(session_id, live)
        for pane_id, typed in (commands or {}).items():
            if typed:
                self.store.set_commands(pane_id, typed)

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
            self.reconcile()
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
        if pane is not None and window is None and not pane.isdigit():
            # A pane id is unique in the session: no window needed.
            for w, p in live.panes():
                if _matches(pane, p.gaia_id, p.tmux_id):
                    return _Target(record, live, w, p)
        found_window = _pick_window(live, window)
        return _Target(record, live, found_window, _pick_pane(live, found_window, pane))

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

    def _window_view(self, session_id: str, window_id: str) -> WindowView:
        record = self.store.get(session_id)
        live = next((s for s in snapshot(self.driver) if s.gaia_id == session_id), None)
        if record is None:
            raise NotFoundError.of("session", session_id)
        view = self._view(record, live)
        found = next((w for w in view.windows if w.id == window_id), None)
        if found is None:
            raise NotFoundError.of("window", window_id)
        return found

    def _view(self, record: SessionRecord, live: LiveSession | None) -> SessionView:
        now = time.time()
        activity = record.last_used_at.timestamp()
        if live is not None:
            activity = max(activity, live.activity)
        elif record.last_activity_at is not None:
            activity = max(activity, record.last_activity_at.timestamp())
        commands = {p.id: p.commands for w in record.windows for p in w.panes}
        if live is not None:
            windows = [
                WindowView(
                    id=w.gaia_id or "",
                    tmux_id=w.tmux_id,
                    index=w.index,
                    name=w.name,
                    layout=w.layout,
                    active=w.active,
                    panes=[_pane_view(p, commands.get(p.gaia_id or "")) for p in w.panes],
                )
                for w in live.windows
            ]
        else:
            windows = [
                WindowView(
                    id=w.id,
                    tmux_id=w.tmux_id,
                    index=w.position,
                    name=w.name,
                    layout=w.layout,
                    active=w.active,
                    panes=[
                        PaneView(
                            id=p.id,
                            tmux_id=p.tmux_id,
                            index=p.position,
                            active=p.active,
                            current_path=p.start_directory,
                            commands=p.commands,
                        )
                        for p in w.panes
                    ],
                )
                for w in record.windows
            ]
        return SessionView(
            id=record.id,
            name=live.name if live else record.name,
            status="alive" if live is not None or record.alive else "dead",
            origin=record.origin,
            tmux_id=live.tmux_id if live else record.tmux_id,
            socket=record.socket,
            start_directory=record.start_directory,
            attached=bool(live and live.attached),
            environment_keys=sorted(record.environment),
            layout_file=record.layout_file,
            created_at=record.created_at,
            last_used_at=record.last_used_at,
            last_activity_at=_from_epoch(activity),
            idle_seconds=round(now - activity, 1) if record.alive else None,
            dead_at=record.dead_at,
            windows=windows,
        )


def _from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=utcnow().tzinfo)


def _matches(ref: str, gaia_id: str | None, tmux_id: str) -> bool:
    if ref == tmux_id or (gaia_id and ref == gaia_id):
        return True
    return bool(gaia_id and len(ref) >= 4 and gaia_id.startswith(ref))


def _pick_window(live: LiveSession, ref: str | None) -> LiveWindow:
    if ref is None:
        return live.active_window
    for window in live.windows:
        if _matches(ref, window.gaia_id, window.tmux_id):
            return window
    if ref.isdigit():
        for window in live.windows:
            if window.index == int(ref):
                return window
    named = [w for w in live.windows if w.name == ref]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise ConflictError(
            f"session {live.name!r} has {len(named)} windows named {ref!r}; use an index or id"
        )
    raise NotFoundError(
        f"window {ref!r} not found in session {live.name!r}",
        details={"kind": "window", "id": ref},
    )


def _pick_pane(live: LiveSession, window: LiveWindow, ref: str | None) -> LivePane:
    if ref is None:
        return window.active_pane
    for pane in window.panes:
        if _matches(ref, pane.gaia_id, pane.tmux_id):
            return pane
    if ref.isdigit():
        for pane in window.panes:
            if pane.index == int(ref):
                return pane
    raise NotFoundError(
        f"pane {ref!r} not found in window {window.name!r} of session {live.name!r}",
        details={"kind": "pane", "id": ref},
    )


def _pane_view(pane: LivePane, commands: list[str] | None) -> PaneView:
    return PaneView(
        id=pane.gaia_id or "",
        tmux_id=pane.tmux_id,
        index=pane.index,
        active=pane.active,
        width=pane.width,
        height=pane.height,
        current_command=pane.current_command,
        current_path=pane.current_path,
        pid=pane.pid,
        commands=commands or [],
    )


def _record_from_spec(
    spec: SessionSpec, socket: str, *, origin: str, layout_file: str | None
) -> SessionRecord:
    windows: list[WindowRecord] = []
    for position, window in enumerate(spec.windows):
        before = [*spec.shell_command_before, *window.shell_command_before]
        panes = [
            PaneRecord(
                id=str(uuid.uuid4()),
                position=index,
                start_directory=pane.start_directory,
                commands=[*before, *pane.shell_command],
                environment=dict(pane.environment),
                active=pane.focus,
            )
            for index, pane in enumerate(window.panes)
        ]
        windows.append(
            WindowRecord(
                id=str(uuid.uuid4()),
                name=window.window_name or "",
                position=position,
                layout=window.layout,
                start_directory=window.start_directory,
                environment=dict(window.environment),
                active=window.focus,
                options=dict(window.options),
                panes=panes,
            )
        )
    return SessionRecord(
        id=str(uuid.uuid4()),
        name=spec.session_name,
        socket=socket,
        origin=origin,
        start_directory=spec.start_directory,
        environment=dict(spec.environment),
        width=spec.width,
        height=spec.height,
        layout_file=layout_file,
        windows=windows,
    )


def _record_from_live(live: LiveSession, socket: str) -> SessionRecord:
    return SessionRecord(
        id=live.gaia_id or str(uuid.uuid4()),
        name=live.name,
        socket=socket,
        origin="adopted",
        tmux_id=live.tmux_id,
        start_directory=live.path or None,
        last_activity_at=_from_epoch(live.activity),
        windows=[
            WindowRecord(
                id=w.gaia_id or str(uuid.uuid4()),
                name=w.name,
                tmux_id=w.tmux_id,
                position=w.index,
                layout=w.layout,
                active=w.active,
                panes=[
                    PaneRecord(
                        id=p.gaia_id or str(uuid.uuid4()),
                        tmux_id=p.tmux_id,
                        position=p.index,
                        start_directory=p.current_path or None,
                        active=p.active,
                    )
                    for p in w.panes
                ],
            )
            for w in live.windows
        ],
    )
