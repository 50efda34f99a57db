"""The Overview: counts across all five components, and the latest events of each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from gaia.live.base import LiveEvent, Watch, changes
from gaia.runtime import Runtime
from gaia.storage.models import (
    agent_tasks_table,
    service_events_table,
    services_table,
    sessions_table,
    workflows_table,
)

__all__ = ["WATCHES", "activity", "summary"]

ACTIVITY_LIMIT = 50


def summary(runtime: Runtime) -> dict[str, Any]:
    """Runs by status, services by state and health, sessions, agent tasks by status."""
    with runtime.db.read() as conn:

        def count(column: Any) -> dict[str, int]:
            rows = conn.execute(select(column, func.count()).group_by(column)).all()
            return {str(key): int(n) for key, n in rows}

        runs = count(workflows_table.c.status)
        service_states = count(services_table.c.state)
        service_health = count(services_table.c.health)
        sessions = count(sessions_table.c.status)
        agent_tasks = count(agent_tasks_table.c.status)
    return {
        "runs": {
            "by_status": runs,
            "running": runs.get("running", 0),
            "failed": runs.get("failed", 0),
        },
        "services": {
            "total": sum(service_states.values()),
            "by_state": service_states,
            "by_health": service_health,
        },
        "sessions": {"alive": sessions.get("alive", 0), "by_status": sessions},
        "agents": {
            "queued": agent_tasks.get("queued", 0),
            "running": agent_tasks.get("running", 0),
            "by_status": agent_tasks,
        },
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def activity(runtime: Runtime, limit: int = ACTIVITY_LIMIT) -> list[dict[str, Any]]:
    """The latest events of every component, newest first.

    Each: ``at``, ``component`` (workflows, services, sessions, agents), ``subject`` (what
    it is about), ``id`` (for its page), ``status`` and ``text``.
    """
    items: list[dict[str, Any]] = []
    with runtime.db.read() as conn:
        w = workflows_table.c
        for row in conn.execute(
            select(w.id, w.name, w.status, w.error, w.updated_at)
            .order_by(w.updated_at.desc())
            .limit(limit)
        ):
            text = f"workflow {row.name} is {row.status}"
            items.append(_item(row.updated_at, "workflows", row.name, row.id, row.status, text))
        e, s = service_events_table.c, services_table.c
        for row in conn.execute(  # type: ignore[assignment]
            select(e.at, e.kind, e.from_state, e.to_state, e.message, s.name)
            .join(services_table, s.id == e.service_id)
            .order_by(e.at.desc(), e.id.desc())
            .limit(limit)
        ):
            change = f"{row.from_state} → {row.to_state}" if row.to_state else row.kind
            text = f"service {row.name}: {change}" + (f" ({row.message})" if row.message else "")
            items.append(_item(row.at, "services", row.name, row.name, row.to_state, text))
        a = agent_tasks_table.c
        for row in conn.execute(
            select(a.id, a.agent_id, a.status, a.instruction, a.updated_at)
            .order_by(a.updated_at.desc())
            .limit(limit)
        ):
            prompt = " ".join(row.instruction.split())[:60]
            text = f"agent task {row.id[:8]} ({row.agent_id}) is {row.status}: {prompt}"
            items.append(_item(row.updated_at, "agents", row.agent_id, row.id, row.status, text))
        ss = sessions_table.c
        for row in conn.execute(  # type: ignore[assignment]
            select(ss.id, ss.name, ss.status, ss.updated_at)
            .order_by(ss.updated_at.desc())
            .limit(limit)
        ):
            text = f"session {row.name} is {row.status}"
            items.append(_item(row.updated_at, "sessions", row.name, row.name, row.status, text))
    items.sort(key=lambda item: item["at"] or "", reverse=True)
    return items[:limit]


def _item(
    at: datetime | None, component: str, subject: str, ident: str, status: str | None, text: str
) -> dict[str, Any]:
    return {
        "at": _iso(at),
        "component": component,
        "subject": subject,
        "id": ident,
        "status": status,
        "text": text,
    }


async def _watch_summary(runtime: Runtime, _argument: str) -> AsyncIterator[LiveEvent]:
    async for value in changes(lambda: summary(runtime), generation=runtime.db.generation):
        yield "summary", value


async def _watch_activity(runtime: Runtime, _argument: str) -> AsyncIterator[LiveEvent]:
    async for value in changes(lambda: activity(runtime), generation=runtime.db.generation):
        yield "activity", value


WATCHES: dict[str, Watch] = {"summary": _watch_summary, "activity": _watch_activity}
