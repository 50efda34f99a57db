"""The in-memory side of the queue: one heap per agent, best task first.

An entry is (-priority, sequence number, task id): higher priority first, and among
equal priorities the task queued first. A withdrawn task (cancelled while queued) keeps
its entry until it reaches the top, where it is dropped; the per-agent counts are exact.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

__all__ = ["AgentQueues"]


class AgentQueues:
    def __init__(self) -> None:
        self._heaps: dict[str, list[tuple[int, int, str]]] = {}
        self._counts: dict[str, int] = {}

    def push(self, agent_id: str, priority: int, seq: int, task_id: str) -> None:
        heapq.heappush(self._heaps.setdefault(agent_id, []), (-priority, seq, task_id))
        self._counts[agent_id] = self._counts.get(agent_id, 0) + 1

    def withdraw(self, agent_id: str) -> None:
        """One of ``agent_id``'s tasks left the queue without being popped."""
        self._counts[agent_id] -= 1

    def queued(self, agent_id: str) -> int:
        return self._counts.get(agent_id, 0)

    def pop_best(
        self, can_start: Callable[[str], bool], still_waiting: Callable[[str], bool]
    ) -> tuple[str, str] | None:
        """(agent, task id) of the best waiting task whose agent ``can_start``, or None.

        Looking at every agent's head costs O(agents) and guarantees that no task starts
        while a better one that could start waits (no priority inversion).
        """
        best: tuple[int, int, str] | None = None
        best_agent = ""
        for agent_id, heap in self._heaps.items():
            while heap and not still_waiting(heap[0][2]):
                heapq.heappop(heap)
            if heap and (best is None or heap[0] < best) and can_start(agent_id):
                best, best_agent = heap[0], agent_id
        if best is None:
            return None
        heapq.heappop(self._heaps[best_agent])
        self._counts[best_agent] -= 1
        return best_agent, best[2]
