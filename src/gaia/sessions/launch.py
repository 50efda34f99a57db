"""Building a session in tmux and typing its panes' commands: the one tmux command list
that makes every window and pane, and then the keystrokes, each pane's as soon as its
shell is ready (before returning, from a detached child, or from the daemon's typist).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import Literal

from gaia.errors import ConflictError, GaiaError
from gaia.sessions import builder
from gaia.sessions.records import Keystroke, SessionRecord
from gaia.sessions.store import SessionStore
from gaia.sessions.tmux import TmuxDriver
from gaia.sessions.typist import Typist

__all__ = ["Launcher", "Typing"]

# When a new session's commands are typed (see SessionManager.create).
Typing = Literal["wait", "fork", "thread"]


class Launcher:
    def __init__(self, driver: Callable[[], TmuxDriver], store: SessionStore) -> None:
        self._driver = driver  # called on use: the driver is made on first use
        self.store = store
        self._typist: Typist | None = None
        self._typist_lock = threading.Lock()

    @property
    def driver(self) -> TmuxDriver:
        return self._driver()

    def build(
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
                self.type_now(commands)
            finally:
                os._exit(0)  # the child must not run the parent's cleanup or atexit hooks
        if child < 0:  # not asked to detach, or fork failed: type here
            self.type_now(commands)

    def type_now(self, typed: builder.Typed) -> None:
        typed = {pane: lines for pane, lines in typed.items() if lines}
        if typed:
            builder.wait_until_ready(self.driver, typed)
            builder.send_commands(self.driver, typed)


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
