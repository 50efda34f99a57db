"""Taking over the agent queue a stopped gaia process left in the database.

Tasks whose owner died while running them fail as interrupted. Queued tasks of a
stopped daemon are adopted by the next daemon and run; queued tasks of another process
(an in-process workflow run) are cancelled, since their run resubmits them.
"""

from __future__ import annotations

import logging
import os

from gaia.agents.store import AgentStore, StoredOwner
from gaia.agents.task import AgentTask, TaskStatus

__all__ = ["DAEMON_ORIGIN", "PROCESS_ORIGIN", "owner_alive", "recover_queue"]

log = logging.getLogger("gaia.agents")

# Whose queue a task is in. The daemon adopts the queued tasks a stopped daemon left;
# tasks of another process (an in-process workflow run) are resubmitted by their run.
DAEMON_ORIGIN = "daemon"
PROCESS_ORIGIN = "process"


def owner_alive(owner: StoredOwner) -> bool:
    # Tasks this very process recorded (a daemon's earlier bridge) are not running.
    return owner.pid != os.getpid() and owner.alive()


def recover_queue(store: AgentStore, origin: str) -> list[tuple[AgentTask, int]]:
    """Settle what dead owners left (blocking); the queued tasks ``origin`` adopts, in
    queue order, now owned by this process."""
    dead = [tid for tid, owner in store.running_tasks() if not owner_alive(owner)]
    store.abandon(dead, TaskStatus.failed, "interrupted: the gaia process running it stopped")
    adopted: list[tuple[AgentTask, int]] = []
    orphaned: list[str] = []
    for task, seq, owner, task_origin in store.queued_tasks():
        if owner_alive(owner):
            continue
        if task_origin != origin:
            orphaned.append(task.id)  # a workflow run's task: the run will resubmit it
            continue
        adopted.append((task, seq))
    store.claim([task.id for task, _ in adopted])
    store.abandon(orphaned, TaskStatus.cancelled, "interrupted: its owner stopped")
    if adopted or dead:
        log.info("agent queue recovered: %d queued, %d interrupted", len(adopted), len(dead))
    return adopted
