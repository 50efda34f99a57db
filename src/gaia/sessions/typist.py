"""Types new panes' commands once their shells are ready, in the background of a daemon.

A session built for an API call answers as soon as tmux has it; its panes' commands are
typed later, when each shell has drawn its prompt. One thread does this for every pane
waiting anywhere on the server, so that one ``list-panes`` poll covers them all: a burst
of sessions does not become a burst of pollers competing for tmux and the GIL.
"""

from __future__ import annotations

import logging
import threading
import time

from gaia.errors import GaiaError
from gaia.sessions import builder
from gaia.sessions.records import Keystroke
from gaia.sessions.tmux import NoServerError, TmuxDriver

__all__ = ["Typist"]

log = logging.getLogger("gaia.sessions")


class Typist:
    def __init__(self, driver: TmuxDriver, *, timeout: float = builder.READY_TIMEOUT) -> None:
        self._driver = driver
        self._timeout = timeout  # a pane still blank by then (an empty prompt) is typed anyway
        self._lock = threading.Lock()
        self._pending: dict[
            str, tuple[list[str | Keystroke], float]
        ] = {}  # pane -> (lines, deadline)
        self._thread: threading.Thread | None = None

    def add(self, typed: builder.Typed) -> None:
        """Type ``lines`` into each pane (a tmux pane id) once its shell is ready."""
        deadline = time.monotonic() + self._timeout
        with self._lock:
            for pane, lines in typed.items():
                if lines:
                    self._pending[pane] = (list(lines), deadline)
            if self._pending and self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="gaia-typist", daemon=True)
                self._thread.start()

    def idle(self) -> bool:
        with self._lock:
            return not self._pending

    def _loop(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._thread = None
                    return
                waiting = dict(self._pending)
            try:
                ready = builder.wait_until_ready(self._driver, waiting, timeout=0)
            except NoServerError:
                # the server ended (with its last session): no pane is left to type into
                with self._lock:
                    for pane in waiting:
                        self._pending.pop(pane, None)
                continue
            except GaiaError as exc:
                log.warning("cannot poll tmux for ready shells: %s", exc)
                ready = set()
            now = time.monotonic()
            due = {
                pane: lines
                for pane, (lines, deadline) in waiting.items()
                if pane in ready or now >= deadline
            }
            if due:
                with self._lock:
                    for pane in due:
                        self._pending.pop(pane, None)
                self._send(due)
            time.sleep(builder.READY_POLL)

    def _send(self, due: dict[str, list[str | Keystroke]]) -> None:
        try:
            builder.send_commands(self._driver, due, wait=False)
            return
        except GaiaError:
            pass  # a pane closed meanwhile fails the whole command list: go pane by pane
        for pane, lines in due.items():
            try:
                builder.send_commands(self._driver, {pane: lines}, wait=False)
            except GaiaError as exc:
                log.warning("cannot type into pane %s: %s", pane, exc)
