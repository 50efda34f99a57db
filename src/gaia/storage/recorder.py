"""A write-behind recorder: state changes are queued and committed in batches by a thread.

A busy scheduler produces thousands of small updates a second (task started, attempt
finished, heartbeat). Committing each one on the event loop would block it; this
recorder merges every update queued while the previous batch was committing into one
transaction, keeping only the newest value of each column of each row. A batch is
atomic, so the database always holds a consistent state, at most one batch behind.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, update

from gaia.errors import StorageError
from gaia.storage.db import Database

__all__ = ["Recorder"]

log = logging.getLogger("gaia.storage")

_STOP = object()
Row = dict[str, Any]


class _Batch:
    """Pending writes, merged per row: inserts first, then updates, per table."""

    def __init__(self) -> None:
        self.inserts: dict[Table, dict[Any, Row]] = {}
        self.updates: dict[Table, dict[Any, Row]] = {}
        self.calls: list[Callable[[Connection], None]] = []

    def add_insert(self, table: Table, row: Row) -> None:
        key = row["id"]
        self.inserts.setdefault(table, {})[key] = dict(row)

    def add_update(self, table: Table, key: Any, values: Row) -> None:
        pending_insert = self.inserts.get(table, {}).get(key)
        if pending_insert is not None:
            pending_insert.update(values)
            return
        self.updates.setdefault(table, {}).setdefault(key, {}).update(values)

    def __bool__(self) -> bool:
        return bool(self.inserts or self.updates or self.calls)

    def apply(self, conn: Connection) -> None:
        # Parents before children, whatever order the writes came in: a batch may hold a
        # child row whose parent's insert was queued after another child's.
        for table, rows in sorted(self.inserts.items(), key=lambda item: _depth(item[0])):
            for group in _group_by_keys(rows.values()):
                conn.execute(insert(table), group)
        for table, rows in self.updates.items():
            keyed = [{"_key": key, **values} for key, values in rows.items()]
            for group in _group_by_keys(keyed):
                columns: dict[str, Any] = {
                    name: bindparam(name) for name in group[0] if name != "_key"
                }
                stmt = update(table).where(table.c.id == bindparam("_key")).values(columns)
                conn.execute(stmt, group)
        for call in self.calls:
            call(conn)


def _depth(table: Table) -> int:
    """How many foreign-key hops separate ``table`` from a table without parents."""
    parents = {key.column.table for key in table.foreign_keys if key.column.table is not table}
    return 1 + max((_depth(parent) for parent in parents), default=-1)


def _group_by_keys(rows: Any) -> list[list[Row]]:
    groups: dict[frozenset[str], list[Row]] = {}
    for row in rows:
        groups.setdefault(frozenset(row), []).append(row)
    return list(groups.values())


class Recorder:
    """Queue writes from any thread; a daemon thread commits them in merged batches."""

    def __init__(self, db: Database, *, name: str = "gaia-recorder", linger: float = 0.05) -> None:
        self._db = db
        # Waiting a little after the first write of a batch lets a short task's start and
        # end merge into one row write, and keeps the writer off the GIL meanwhile.
        self._linger = linger
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._closed = False
        self._thread.start()

    def insert(self, table: Table, row: Row) -> None:
        self._put(("insert", table, row))

    def update(self, table: Table, key: Any, **values: Any) -> None:
        self._put(("update", table, key, values))

    def call(self, fn: Callable[[Connection], None]) -> None:
        """Run ``fn(conn)`` inside the next batch's transaction, after its other writes."""
        self._put(("call", fn))

    def flush(self, timeout: float | None = 60.0) -> None:
        """Block until everything queued so far is committed; raise if a batch failed."""
        done: Future[None] = Future()
        self._put(("flush", done))
        done.result(timeout=timeout)

    def close(self) -> None:
        if self._closed:
            return
        self.flush()
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout=30)

    def _put(self, item: Any) -> None:
        if self._closed:
            raise StorageError("the recorder is closed")
        if self._error is not None:
            raise StorageError(f"recording to the database failed: {self._error}")
        self._queue.put(item)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            # A flush or a stop is waited on: lingering would only delay the waiter.
            if (
                self._linger
                and item is not _STOP
                and not (isinstance(item, tuple) and item[0] == "flush")
            ):
                time.sleep(self._linger)
            batch = _Batch()
            waiters: list[Future[None]] = []
            stop = False
            while True:
                if item is _STOP:
                    stop = True
                else:
                    self._add(batch, waiters, item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._commit(batch)
            for waiter in waiters:
                if self._error is not None:
                    waiter.set_exception(StorageError(f"database write failed: {self._error}"))
                else:
                    waiter.set_result(None)
            if stop:
                return

    @staticmethod
    def _add(batch: _Batch, waiters: list[Future[None]], item: Any) -> None:
        kind = item[0]
        if kind == "insert":
            batch.add_insert(item[1], item[2])
        elif kind == "update":
            batch.add_update(item[1], item[2], item[3])
        elif kind == "call":
            batch.calls.append(item[1])
        else:
            waiters.append(item[1])

    def _commit(self, batch: _Batch) -> None:
        failure: StorageError | None = None
        for attempt in range(5):
            try:
                with self._db.write() as conn:
                    batch.apply(conn)
                return
            except StorageError as exc:
                log.warning("database batch failed (attempt %d): %s", attempt + 1, exc)
                failure = exc
                time.sleep(0.1 * 2**attempt)
        # Later writes would build on a state that was never stored: refuse them.
        log.error("giving up on a database batch: %s", failure)
        self._error = failure
