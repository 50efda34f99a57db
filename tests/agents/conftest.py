"""The bridge's tests: a real SQLite file, real child processes (tests/agents/fake_agent.py)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from gaia.agents import AgentBridge, AgentRegistry, AgentTask, BridgeConfig, Isolation, TaskType
from gaia.agents.base import Agent
from gaia.agents.launch import DirectLauncher
from gaia.agents.registry import build_agent, spec_from_settings
from gaia.agents.store import AgentStore
from gaia.config import AgentSettings
from gaia.storage.db import Database
from gaia.storage.migrate import upgrade
from tests.agents.support import git
from tests.helpers import wait_until

FAKE_AGENT = Path(__file__).with_name("fake_agent.py")


def fake_command(journal: Path, agent: str) -> list[str]:
    """The argv template of a command agent that runs the fake agent."""
    return [
        sys.executable,
        str(FAKE_AGENT),
        "--journal",
        str(journal),
        "--agent",
        agent,
        "--task-id",
        "{task_id}",
        "{prompt}",
    ]


def script(name: str, *steps: str) -> str:
    """A fake agent's prompt: its label, then one ``@`` step per line."""
    return "\n".join([f"@name {name}", *steps])


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    """A git repository with one commit holding ``files`` (default: a README)."""
    path.mkdir(parents=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    for name, text in (files or {"README.md": "hello\n"}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "initial")
    return path


class JournalReader:
    """What the fake agents wrote to their shared journal."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def events(self, event: str | None = None, agent: str | None = None) -> list[dict[str, Any]]:
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            return []
        records = [json.loads(line) for line in lines if line.strip()]
        return [
            r
            for r in records
            if (event is None or r["event"] == event) and (agent is None or r["agent"] == agent)
        ]

    def started(self, agent: str | None = None) -> list[str]:
        """Task labels in the order their agents started."""
        return [r["task"] for r in self.events("start", agent)]

    def ended(self, agent: str | None = None) -> list[str]:
        return [r["task"] for r in self.events("end", agent)]

    def has(self, event: str, task: str) -> bool:
        return any(r["task"] == task for r in self.events(event))

    def first(self, event: str, task: str) -> dict[str, Any]:
        return next(r for r in self.events(event) if r["task"] == task)

    def max_concurrency(self, agent: str | None = None) -> int:
        """The most agents alive at once, from the start and end times in the journal."""
        changes = [
            (r["t"], 0 if r["event"] == "end" else 1)  # an end at the same instant goes first
            for r in self.events(agent=agent)
            if r["event"] in ("start", "end")
        ]
        running = peak = 0
        for _t, kind in sorted(changes):
            running += 1 if kind else -1
            peak = max(peak, running)
        return peak


class Harness:
    """Builds bridges on one SQLite file for a test, and closes them after it."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.journal = JournalReader(tmp_path / "journal.jsonl")
        self.db_url = f"sqlite:///{tmp_path / 'gaia.db'}"
        self.work = tmp_path / "work"
        self.work.mkdir()
        self.logs = tmp_path / "logs"
        self.worktrees = tmp_path / "wt"
        self.flags = tmp_path / "flags"
        self.flags.mkdir()
        self._databases: list[Database] = []
        self.bridges: list[AgentBridge] = []

    def agent(self, name: str = "fake", max_concurrency: int = 2, **settings: Any) -> Agent:
        settings.setdefault("command", fake_command(self.journal.path, name))
        config = AgentSettings(max_concurrency=max_concurrency, **settings)
        return build_agent(spec_from_settings(name, config))

    def database(self) -> Database:
        db = Database(self.db_url)
        upgrade(db)
        self._databases.append(db)
        return db

    async def bridge(
        self,
        *agents: Agent,
        workers: int = 8,
        adopt: bool = True,
        start: bool = True,
        **config: Any,
    ) -> AgentBridge:
        registry = AgentRegistry()
        for agent in agents or (self.agent(),):
            registry.register(agent)
        config.setdefault("kill_grace", 0.5)
        config.setdefault("close_grace", 2.0)
        bridge = AgentBridge(
            AgentStore(self.database()),
            registry,
            BridgeConfig(
                workers=workers, logs_dir=self.logs, worktrees_dir=self.worktrees, **config
            ),
            launcher=DirectLauncher(),
        )
        self.bridges.append(bridge)
        if start:
            await bridge.start(adopt=adopt)
        return bridge

    def task(
        self,
        name: str,
        *steps: str,
        agent: str = "fake",
        task_type: TaskType = TaskType.review,
        **fields: Any,
    ) -> AgentTask:
        """A task for the fake agent, in place in a scratch directory unless told otherwise."""
        fields.setdefault("isolation", Isolation.none)
        fields.setdefault("work_dir", self.work)
        return AgentTask(
            instruction=script(name, *steps),
            agent_id=agent,
            task_type=task_type,
            **fields,
        )

    def flag(self, name: str) -> Path:
        """A file a blocked agent waits for (``@wait``); create it to let the agent go on."""
        return self.flags / name

    def blocker(self, name: str, **fields: Any) -> AgentTask:
        return self.task(name, f"@wait {self.flag(name)} 30", **fields)

    def release(self, name: str) -> None:
        self.flag(name).touch()

    async def wait(
        self, predicate: Callable[[], Any], timeout: float = 10.0, what: str = ""
    ) -> Any:
        """Poll ``predicate`` in a thread, so that the bridge keeps running meanwhile."""
        return await asyncio.to_thread(wait_until, predicate, timeout, 0.02, what)

    async def started(self, name: str, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until the fake agent labelled ``name`` has started; its start event."""
        await self.wait(lambda: self.journal.has("start", name), timeout, f"{name} to start")
        return self.journal.first("start", name)

    async def aclose(self) -> None:
        """Stop every bridge still open (killing what runs), then the databases."""
        for bridge in self.bridges:
            await bridge.close(grace=0)
        for db in self._databases:
            db.dispose()


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = Harness(tmp_path)
    try:
        yield h
    finally:
        await asyncio.wait_for(h.aclose(), timeout=30)
