"""What is done inside a live session: new windows and panes, keys, captures, runs.

A mixin of SessionManager (which finds the session and owns the tmux driver and the
store): every operation resolves its target against a fresh ``list-panes`` snapshot by
durable gaia id, so a stale record can never send keys to a pane that tmux reused the
id of.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from gaia.errors import ConflictError, NotFoundError, Problem, SessionValidationError
from gaia.sessions import builder
from gaia.sessions.live import PANE_OPTION, WINDOW_OPTION, LivePane, LiveSession, LiveWindow
from gaia.sessions.records import PaneRecord, SessionRecord, WindowRecord
from gaia.sessions.run import run_in_pane
from gaia.sessions.store import SessionStore
from gaia.sessions.targets import pick
from gaia.sessions.tmux import FIELD_SEPARATOR, Command, TmuxDriver, escape_format
from gaia.sessions.views import CaptureView, PaneView, RunView, SessionView, WindowView, pane_view

__all__ = ["PaneOperations"]

log = logging.getLogger("gaia.sessions")


@dataclass
class _Target:
    record: SessionRecord
    window: LiveWindow
    pane: LivePane


class PaneOperations:
    """Operations on the windows and panes of a live session (see SessionManager)."""

    store: SessionStore
    stopping: threading.Event
    _busy: set[str]
    _busy_lock: threading.Lock

    # Provided by SessionManager.
    @property
    def driver(self) -> TmuxDriver:
        raise NotImplementedError

    def _alive(self, ref: str) -> tuple[SessionRecord, LiveSession]:
        raise NotImplementedError

    def _type(self, typed: builder.Typed) -> None:
        raise NotImplementedError

    def _sync(self, session_id: str, commands: dict[str, list[str]]) -> SessionView:
        raise NotImplementedError

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


def _find_view(views: list[_View], view_id: str, kind: str) -> _View:
    found = next((v for v in views if v.id == view_id), None)
    if found is None:  # closed again before we could look
        raise NotFoundError.of(kind, view_id)
    return found
