"""The agents board: every adapter with its slots and figures, the queue, the latest tasks.

What the dashboard's Agents page shows, read in one go (blocking: run it in a thread).
``task_counts``, ``registry_identity`` and ``agents_shown`` are the cheap questions a
watch asks before it reads the board again: has anything changed?
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from gaia.agents.bridge import AgentBridge
from gaia.agents.stats import AgentStats
from gaia.agents.task import TaskStatus
from gaia.agents.views import agent_view
from gaia.storage.models import agent_results_table, agent_tasks_table

__all__ = [
    "QUEUE_LIMIT",
    "TASKS_LIMIT",
    "agents_shown",
    "board",
    "excerpt",
    "registry_identity",
    "task_counts",
]

QUEUE_LIMIT = 200
TASKS_LIMIT = 100
EXCERPT = 140
_TASKS = agent_tasks_table
_RESULTS = agent_results_table


def excerpt(text: str, length: int = EXCERPT) -> str:
    """The start of a prompt on one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def agents_shown(bridge: AgentBridge) -> list[tuple[Any, ...]]:
    """What is shown of the registry, as a comparable value (looks at PATH)."""
    registry = bridge.registry
    rows = [agent_view(agent) for agent in registry.agents()]
    rows += [agent_view(agent, left_out=why) for agent, why in registry.left_out()]
    return [tuple(sorted(row.model_dump().items(), key=lambda kv: kv[0])) for row in rows]


def registry_identity(bridge: AgentBridge) -> tuple[int, ...]:
    """Changes when an agent is registered, replaced or removed (no look at PATH)."""
    registry = bridge.registry
    return (id(registry), *(id(agent) for agent in registry.agents()))


def task_counts(bridge: AgentBridge) -> dict[str, int]:
    """How many tasks are queued and running, from the queue's index: the same cost with
    a thousand finished tasks or a million.

    A task queued, started and finished between two looks changes neither count: a
    caller also compares the bridge's in-memory figures (``AgentBridge.stats``), which
    count every task it finishes.
    """
    status = _TASKS.c.status
    active = (TaskStatus.queued.value, TaskStatus.running.value)
    query = select(status, func.count()).where(status.in_(active)).group_by(status)
    with bridge.store.db.read() as conn:
        counts: dict[str, int] = dict(conn.execute(query).tuples().all())
    return counts


def board(
    bridge: AgentBridge,
    stats: list[AgentStats],
    *,
    status: str | None = None,
    limit: int = TASKS_LIMIT,
) -> dict[str, Any]:
    """``agents`` (each with its ``stats``), ``queue`` (best first) with ``queued`` (how
    many in all), and ``tasks`` (newest first, of ``status`` if given) with ``total``.

    ``stats`` are the bridge's in-memory counters, read on its event loop by the caller.
    """
    bridge.store.flush()  # tasks are written behind: read what the figures already count
    by_agent = {item.agent_id: dataclasses.asdict(item) for item in stats}
    agents = []
    for row in agents_shown(bridge):
        view = dict(row)
        view["stats"] = by_agent.pop(view["id"], None)
        agents.append(view)
    with bridge.store.db.read() as conn:
        queued_filter = _TASKS.c.status == TaskStatus.queued.value
        queued = conn.execute(select(func.count()).where(queued_filter)).scalar_one()
        queue = [
            {
                "id": row.id,
                "agent": row.agent_id,
                "priority": row.priority,
                "task_type": row.task_type,
                "prompt": excerpt(row.instruction),
                "created_at": _iso(row.created_at),
            }
            for row in conn.execute(
                select(
                    _TASKS.c.id,
                    _TASKS.c.agent_id,
                    _TASKS.c.priority,
                    _TASKS.c.task_type,
                    _TASKS.c.instruction,
                    _TASKS.c.created_at,
                )
                .where(queued_filter)
                .order_by(_TASKS.c.priority.desc(), _TASKS.c.seq)
                .limit(QUEUE_LIMIT)
            )
        ]
        listing = (
            select(
                _TASKS.c.id,
                _TASKS.c.agent_id,
                _TASKS.c.status,
                _TASKS.c.priority,
                _TASKS.c.task_type,
                _TASKS.c.instruction,
                _TASKS.c.error,
                _TASKS.c.created_at,
                _TASKS.c.started_at,
                _TASKS.c.finished_at,
                _RESULTS.c.duration_ms,
                _RESULTS.c.cost_usd,
                _RESULTS.c.input_tokens,
                _RESULTS.c.output_tokens,
            )
            .select_from(_TASKS.outerjoin(_RESULTS, _RESULTS.c.task_id == _TASKS.c.id))
            .order_by(_TASKS.c.seq.desc())
            .limit(limit)
        )
        counting = select(func.count()).select_from(_TASKS)
        if status:
            listing = listing.where(_TASKS.c.status == status)
            counting = counting.where(_TASKS.c.status == status)
        total = conn.execute(counting).scalar_one()
        tasks = [
            {
                "id": row.id,
                "agent": row.agent_id,
                "status": row.status,
                "priority": row.priority,
                "task_type": row.task_type,
                "prompt": excerpt(row.instruction),
                "error": None if row.error is None else excerpt(row.error, 200),
                "created_at": _iso(row.created_at),
                "started_at": _iso(row.started_at),
                "finished_at": _iso(row.finished_at),
                "duration_ms": row.duration_ms,
                "cost_usd": row.cost_usd,
                "input_tokens": row.input_tokens,
                "output_tokens": row.output_tokens,
            }
            for row in conn.execute(listing)
        ]
    return {
        "agents": agents,
        # Agents with history that are no longer registered: their figures still count.
        "former": list(by_agent.values()),
        "queue": queue,
        "queued": queued,
        "tasks": tasks,
        "total": total,
        "status": status,
    }
