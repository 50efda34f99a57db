"""Per-agent statistics: counters kept in memory, seeded from the database at start."""

from __future__ import annotations

from dataclasses import dataclass

from gaia.agents.task import AgentResult, TaskStatus

__all__ = ["AgentStats", "Counters"]


@dataclass
class Counters:
    """Finished-task counters of one agent: summed in the database at start, then kept."""

    total: int = 0
    succeeded: int = 0
    failed: int = 0  # failed and timed out
    cancelled: int = 0
    duration_ms: int = 0
    timed: int = 0  # finished tasks with a duration
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, result: AgentResult) -> None:
        self.total += 1
        if result.status is TaskStatus.succeeded:
            self.succeeded += 1
        elif result.status is TaskStatus.cancelled:
            self.cancelled += 1
        else:
            self.failed += 1
        if result.duration_ms is not None:
            self.duration_ms += result.duration_ms
            self.timed += 1
        self.input_tokens += result.input_tokens or 0
        self.output_tokens += result.output_tokens or 0
        self.cost_usd += result.cost_usd or 0.0


@dataclass(frozen=True)
class AgentStats:
    """GetAgentStats: what an agent has done and is doing."""

    agent_id: str
    total: int
    succeeded: int
    failed: int
    cancelled: int
    success_rate: float | None  # succeeded / (succeeded + failed); None before any
    active: int
    queued: int
    mean_duration_ms: float | None
    input_tokens: int
    output_tokens: int
    cost_usd: float
    peak_concurrency: int

    @classmethod
    def build(
        cls, agent_id: str, counters: Counters, *, active: int, queued: int, peak: int
    ) -> AgentStats:
        decided = counters.succeeded + counters.failed
        return cls(
            agent_id=agent_id,
            total=counters.total,
            succeeded=counters.succeeded,
            failed=counters.failed,
            cancelled=counters.cancelled,
            success_rate=counters.succeeded / decided if decided else None,
            active=active,
            queued=queued,
            mean_duration_ms=counters.duration_ms / counters.timed if counters.timed else None,
            input_tokens=counters.input_tokens,
            output_tokens=counters.output_tokens,
            cost_usd=round(counters.cost_usd, 6),
            peak_concurrency=peak,
        )
