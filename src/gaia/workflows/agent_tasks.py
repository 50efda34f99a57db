"""Workflow tasks for AI agents (code, review, refactor) run through the agent bridge.

A task whose agent is ``auto`` or unset goes to the least busy agent that accepts its
type. A ``review`` task receives the diffs its code dependencies committed on their
branches, so the reviewer sees exactly what changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gaia._task_type import AUTO_AGENT, TaskType
from gaia.errors import GaiaError
from gaia.workflows.executors import ShellExecutor, TaskExecutor, TaskOutcome, TaskRun
from gaia.workflows.spec import SHELL_AGENT

# The agents package is imported when an agent task runs: a process that only lists
# workflow runs does not load the bridge.
if TYPE_CHECKING:
    from gaia.agents.bridge import AgentBridge
    from gaia.agents.task import AgentResult

__all__ = ["AgentTaskExecutor", "WorkflowExecutors"]


class AgentTaskExecutor:
    """Hands one workflow task attempt to the bridge and waits for its result."""

    def __init__(self, bridge: AgentBridge) -> None:
        self.bridge = bridge

    async def execute(self, run: TaskRun, on_start: Callable[[int | None], None]) -> TaskOutcome:
        spec = run.task
        context: dict[str, Any] = {"workflow task": spec.id}
        if spec.description:
            context["description"] = spec.description
        if str(spec.type) == TaskType.review:
            context.update(await asyncio.to_thread(_dependency_diffs, run))
        from gaia.agents.task import AgentTask

        task = AgentTask(
            instruction=spec.command,
            agent_id=spec.effective_agent,
            task_type=TaskType(str(spec.type)),
            context=context,
            work_dir=run.working_dir,
            timeout=spec.timeout,
            env=dict(run.env),
            meta={"workflow_id": run.workflow_id, "workflow_task": spec.id},
        )
        try:
            future = self.bridge.submit(task)
        except GaiaError as exc:
            run.log_path.write_text(f"gaia: {exc}\n", encoding="utf-8")
            return TaskOutcome(ok=False, error=str(exc))
        on_start(None)
        try:
            result = await asyncio.shield(future)
        except asyncio.CancelledError:
            await asyncio.shield(self.bridge.cancel(task.id, missing_ok=True))
            raise
        except GaiaError as exc:  # the bridge closed under us
            return TaskOutcome(ok=False, error=str(exc))
        _write_summary(run.log_path, result, self.bridge)
        return TaskOutcome(
            ok=result.success,
            exit_code=result.exit_code,
            error=None if result.success else result.error,
            result=_summary(result),
        )


def _summary(result: AgentResult) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "agent_task_id": result.task_id,
        "agent": result.agent_id,
        "status": str(result.status),
        "session_id": result.session_id,
        "branch": result.branch,
        "commit": result.commit,
        "base_commit": result.base_commit,
        "diff_stat": result.diff_stat,
        "repo": result.meta.get("repo"),
    }
    return {key: value for key, value in summary.items() if value not in (None, {}, "")}


def _write_summary(path: Path, result: AgentResult, bridge: AgentBridge) -> None:
    agent_log = bridge.config.logs_dir / f"{result.task_id}.log"
    lines = [
        f"agent {result.agent_id}, task {result.task_id}: {result.status}",
        f"agent log: {agent_log}",
    ]
    if result.branch:
        stat = result.diff_stat
        lines.append(
            f"branch {result.branch} at {result.commit or 'no changes'}"
            f" ({stat.get('files_changed', 0)} files, +{stat.get('insertions', 0)}"
            f" -{stat.get('deletions', 0)})"
        )
    if result.error:
        lines.append(f"error: {result.error}")
    if result.output:
        lines += ["", result.output.rstrip()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _dependency_diffs(run: TaskRun) -> dict[str, str]:
    """``diff of <task>``: the patch each code dependency committed on its branch."""
    from gaia.agents.worktree import diff

    diffs: dict[str, str] = {}
    for name, result in run.dependency_results.items():
        repo, base, commit = result.get("repo"), result.get("base_commit"), result.get("commit")
        if not (repo and base and commit):
            continue
        try:
            diffs[f"diff of {name} ({result.get('branch')})"] = diff(Path(repo), base, commit)
        except GaiaError as exc:
            diffs[f"diff of {name}"] = f"(unavailable: {exc})"
    return diffs


class WorkflowExecutors(Mapping[str, TaskExecutor]):
    """Executors by agent name: the shell for ``system``, the bridge for every AI agent.

    Iterating gives the agents a workflow may name (``auto`` is accepted but not listed).
    """

    def __init__(
        self,
        bridge: AgentBridge | None = None,
        *,
        bridge_factory: Callable[[], AgentBridge] | None = None,
    ) -> None:
        self.shell = ShellExecutor()
        self._bridge = bridge
        # Builds the bridge when an agent is first asked for: a process that only lists
        # runs never discovers the agent CLIs.
        self._bridge_factory = bridge_factory
        self._agent: AgentTaskExecutor | None = None

    @property
    def bridge(self) -> AgentBridge | None:
        if self._bridge is None and self._bridge_factory is not None:
            self._bridge = self._bridge_factory()
        return self._bridge

    @property
    def agent(self) -> AgentTaskExecutor | None:
        if self._agent is None and self.bridge is not None:
            self._agent = AgentTaskExecutor(self.bridge)
        return self._agent

    def _agent_names(self) -> list[str]:
        if self.bridge is None:
            return []
        return [
            agent.spec.id
            for agent in self.bridge.registry.agents()
            if agent.spec.id != SHELL_AGENT and agent.available()
        ]

    def __getitem__(self, name: str) -> TaskExecutor:
        if name == SHELL_AGENT:
            return self.shell
        if self.agent is not None and (name == AUTO_AGENT or name in self._agent_names()):
            return self.agent
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        try:
            self[str(name)]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter([SHELL_AGENT, *self._agent_names()])

    def __len__(self) -> int:
        return 1 + len(self._agent_names())
