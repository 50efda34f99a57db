"""Live changes, for the dashboard and any client: named watches merged into one stream.

A page keeps one Server-Sent Events connection (``GET /api/orchestration/events``) and
names what it watches: ``summary``, ``activity``, ``runs``, ``run:ID``,
``log:RUN/TASK``, ``service:NAME``... Each kind is an async generator of
``(event name, JSON-able payload)`` that reads the engines (in threads) and yields only
what changed; the stream merges them. Nothing runs while nobody watches.
"""

from __future__ import annotations

from gaia.live.base import LiveEvent, Watch, WatchError, changes, parse_watch

__all__ = ["LiveEvent", "Watch", "WatchError", "changes", "parse_watch"]
