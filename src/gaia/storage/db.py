"""Engine and transactions.

SQLite is opened in WAL mode with a busy timeout so that several gaia processes (the
daemon, a ``gaia workflow run``, a ``gaia workflow list``) can share one file. Writers
start with ``BEGIN IMMEDIATE``: a deferred transaction that later tries to write fails at
once with SQLITE_BUSY when another process wrote in between, instead of waiting.
"""

from __future__ import annotations

import functools
import itertools
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gaia.errors import StorageError

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.engine import URL

__all__ = ["Database", "sqlite_file_of"]

BUSY_TIMEOUT_SECONDS = 30.0


def sqlite_file_of(url: str) -> Path | None:
    """The file of a plain ``sqlite:///path`` URL; None for any other URL (a driver, a
    query string, ``:memory:``), which only SQLAlchemy reads."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    database = url[len(prefix) :]
    if not database or "?" in database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


class Database:
    """One SQLAlchemy engine plus read and write transaction helpers.

    The engine (and SQLAlchemy, ~100 ms to import) is made on first use: a short command
    reading a SQLite file through ``sqlite_read`` never loads it.
    """

    def __init__(self, url: str) -> None:
        self.url_text = url
        self.sqlite_file = sqlite_file_of(url)
        self._writes = itertools.count()  # commits through write() in this process
        self._write_count = 0
        self._probe: sqlite3.Connection | None = None
        self._probe_lock = threading.Lock()
        if self.sqlite_file is None:
            _ = self.engine  # anything else is checked, and reported, now

    @functools.cached_property
    def url(self) -> URL:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            return make_url(self.url_text)
        except ArgumentError as exc:
            raise StorageError(f"invalid database_url {self.url_text!r}: {exc}") from None

    @property
    def is_sqlite(self) -> bool:
        return self.sqlite_file is not None or self.url.get_backend_name() == "sqlite"

    @functools.cached_property
    def engine(self) -> Engine:
        from sqlalchemy import create_engine
        from sqlalchemy.exc import SQLAlchemyError

        parsed = self.url
        kwargs: dict[str, Any] = {}
        is_sqlite = parsed.get_backend_name() == "sqlite"
        if is_sqlite:
            database = parsed.database
            if database and database != ":memory:" and not database.startswith("file:"):
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False}
        try:
            engine = create_engine(parsed, **kwargs)
        except (SQLAlchemyError, ImportError) as exc:
            raise StorageError(f"cannot open database {parsed!r}: {exc}") from None
        if is_sqlite:
            _configure_sqlite(engine)
        return engine

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (deferred: it does not block writers in WAL mode)."""
        with self._translate(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed on success and rolled back on error."""
        with self._translate(), self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn
        self._write_count = next(self._writes) + 1

    def generation(self) -> tuple[int, int] | None:
        """A value that changes whenever anything commits to the database, cheaply (no
        query): what live views check before they query again. None when it cannot be
        known (a server database written by other processes): then always query.

        For a SQLite file, ``PRAGMA data_version`` on a connection of its own that never
        writes changes with every commit of any other connection, of any process.
        """
        if self.sqlite_file is None:
            return None
        with self._probe_lock:
            try:
                if self._probe is None:
                    self._probe = sqlite3.connect(
                        self.sqlite_file, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False
                    )
                version = int(self._probe.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error:
                return None
        return self._write_count, version

    @contextmanager
    def sqlite_read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction straight on the SQLite file, without SQLAlchemy (only for a
        ``sqlite_file``): for the few reads a short command makes."""
        if self.sqlite_file is None:
            raise StorageError(f"{self.url_text!r} is not a SQLite file")
        try:
            self.sqlite_file.expanduser().parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.sqlite_file, timeout=BUSY_TIMEOUT_SECONDS)
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(f"database error ({self.sqlite_file}): {exc}") from None
        try:
            conn.isolation_level = None
            conn.execute("BEGIN DEFERRED")  # one snapshot for every query of the read
            yield conn
        except sqlite3.Error as exc:
            raise StorageError(f"database error ({self.sqlite_file}): {exc}") from exc
        finally:
            conn.close()  # nothing was written: closing ends the transaction

    @contextmanager
    def _translate(self) -> Iterator[None]:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            yield
        except SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            where = self.url.render_as_string(hide_password=True)
            raise StorageError(f"database error ({where}): {reason}") from exc

    def dispose(self) -> None:
        with self._probe_lock:
            if self._probe is not None:
                self._probe.close()
                self._probe = None
        if "engine" in vars(self):  # never made: nothing to dispose of
            self.engine.dispose()


def _configure_sqlite(engine: Engine) -> None:
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own handling is
        # wrong for DDL and cannot do BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        # Switching a new file to WAL needs a moment alone with it, and SQLite does not
        # apply the busy timeout to that switch: retry while other openers hold it.
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        while True:
            try:
                cursor.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")
