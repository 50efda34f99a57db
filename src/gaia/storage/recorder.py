"""A write-behind recorder: state changes are queued and committed in batches by a thread.

A busy scheduler produces thousands of small updates a second (task started, attempt
finished, heartbeat). Committing each one on the event loop would block it; this
recorder merges every update queued while the previous batch was committing into one
transaction, keeping only the newest value of each column of each row. A batch is
atomic, so the database always holds a consistent state, at most one batch behind.

What must survive a crash (a task's completion, before its dependents start) is awaited
with ``flushed()``: a flush request ends the current linger at once, so waiting costs
one commit, not the linger. When the database refuses a batch five times the recorder
gives up: every waiter, present and future, gets the ``StorageError`` and later writes
are dropped (they would build on a state that was never stored), so that nothing waits
forever on a write that will not happen.
"""

from __future__ import annotations

import asyncio
import contextlib
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
_RETRIES = 5
Row = dict[str, Any]
# Whoever waits for a batch: a thread (concurrent Future) or a coroutine (asyncio Future).
Waiter = Future[None] | asyncio.Future[None]


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

    def __init__(
        self,
        db: Database,
        *,
        name: str = "gaia-recorder",
        linger: float = 0.05,
        retry_delay: float = 0.1,
    ) -> None:
        self._db = db
        # Waiting a little after the first write of a batch lets a short task's start and
        # end merge into one row write, and keeps the writer off the GIL meanwhile.
        self._linger = linger
        self._retry_delay = retry_delay  # doubled after each failed attempt of a batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._error: StorageError | None = None
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._closed = False
        self._thread.start()

    @property
    def failure(self) -> StorageError | None:
        """Why the recorder gave up, once a batch could not be committed."""
        return self._error

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
        self._request(done)
        done.result(timeout=timeout)

    def flushed(self) -> asyncio.Future[None]:
        """A future of the running loop: done once everything queued so far is committed.

        It raises ``StorageError`` if that could not be done. Awaiting it never blocks
        the loop: the recorder thread resolves it through ``call_soon_threadsafe``.
        """
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._request(done)
        return done

    def close(self) -> None:
        """Commit what is queued (as far as the database allows) and stop the thread."""
        if self._closed:
            return
        try:
            self.flush()
        except StorageError as exc:
            log.error("closing the recorder with writes the database refused: %s", exc)
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout=30)

    def _put(self, item: Any) -> None:
        if self._closed:
            raise StorageError("the recorder is closed")
        if self._error is None:
            self._queue.put(item)
        # else: dropped. Whoever needs the write waits on a flush, which raises.

    def _request(self, waiter: Waiter) -> None:
        if self._closed:
            raise StorageError("the recorder is closed")
        if self._error is not None:
            _resolve([waiter], self._failure())
            return
        self._queue.put(("flush", waiter))
        if not self._thread.is_alive():  # never left hanging, whatever killed the thread
            _resolve([waiter], StorageError("the recorder thread is gone"))

    def _failure(self) -> StorageError:
        return StorageError(f"the database refused writes: {self._error}")

    def _loop(self) -> None:
        while True:
            items = [self._queue.get()]
            if self._linger and not _wanted_now(items[0]):
                self._linger_for(items)
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            batch = _Batch()
            waiters: list[Waiter] = []
            stop = False
            for item in items:
                if item is _STOP:
                    stop = True
                else:
                    self._add(batch, waiters, item)
            if batch and self._error is None:
                self._commit(batch)
            _resolve(waiters, self._failure() if self._error is not None else None)
            if stop:
                return

    def _linger_for(self, items: list[Any]) -> None:
        """Collect writes for up to the linger, but stop at once when a flush arrives."""
        deadline = time.monotonic() + self._linger
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = self._queue.get(timeout=left)
            except queue.Empty:
                return
            items.append(item)
            if _wanted_now(item):
                return

    @staticmethod
    def _add(batch: _Batch, waiters: list[Waiter], item: Any) -> None:
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
        failure: BaseException | None = None
        for attempt in range(_RETRIES):
            try:
                with self._db.write() as conn:
                    batch.apply(conn)
                return
            except Exception as exc:  # anything a batch raises must fail it, not the thread
                log.warning("database batch failed (attempt %d): %s", attempt + 1, exc)
                failure = exc
                if attempt + 1 < _RETRIES:
                    time.sleep(self._retry_delay * 2**attempt)
        # Later writes would build on a state that was never stored: refuse them.
        log.error("giving up on a database batch: %s", failure)
        self._error = failure if isinstance(failure, StorageError) else StorageError(str(failure))


def _wanted_now(item: Any) -> bool:
    """A flush or a stop is waited on: lingering would only delay the waiter."""
    return item is _STOP or (isinstance(item, tuple) and item[0] == "flush")


def _resolve(waiters: list[Waiter], error: StorageError | None) -> None:
    """Complete each waiter in its own world: a thread's directly, a loop's by callback."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for waiter in waiters:
        if isinstance(waiter, asyncio.Future):
            by_loop.setdefault(waiter.get_loop(), []).append(waiter)
        elif error is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(None)
    for loop, futures in by_loop.items():
        # One callback per loop per batch, however many coroutines wait on it.
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
            loop.call_soon_threadsafe(_settle, futures, error)


def _settle(futures: list[asyncio.Future[None]], error: StorageError | None) -> None:
    for future in futures:
        if future.done():  # its waiter was cancelled
            continue
        if error is not None:
            future.set_exception(StorageError(str(error)))
        else:
            future.set_result(None)
