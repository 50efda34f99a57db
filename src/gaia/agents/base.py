"""The Agent protocol, the adapter seam of the CLI agents, and the agent that runs one.

An ``Agent`` takes an ``AgentRun`` (the task, its prompt, where to run, where to log)
and returns an ``AgentOutput``. Every built-in agent is a ``CLIAgent``: an ``Adapter``
turns the prompt into an argv and reads the CLI's structured output back; a
``Launcher`` starts the process, in the background or in a tmux window a person can
watch. Cancelling ``execute`` kills the agent's whole process tree.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gaia.agents.task import AgentOutput, AgentTask

__all__ = [
    "Adapter",
    "Agent",
    "AgentProcess",
    "AgentRun",
    "AgentSpec",
    "CLIAgent",
    "Launcher",
    "json_events",
    "tail",
    "unavailable_reason",
]


@dataclass(frozen=True)
class AgentSpec:
    """How to run one agent: resolved from a built-in default, config.toml or the API."""

    id: str
    kind: str
    command: tuple[str, ...]  # the executable and any fixed leading arguments
    capabilities: frozenset[str]
    max_concurrency: int = 2
    timeout: float | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    model: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)  # adapter-specific settings
    source: str = "builtin"

    def executable(self) -> str | None:
        """The absolute path of the CLI, or None when it cannot be found."""
        if not self.command:
            return None
        program = self.command[0]
        if os.sep in program:
            path = Path(program).expanduser()
            return str(path) if path.is_file() and os.access(path, os.X_OK) else None
        return shutil.which(program)


@dataclass(frozen=True)
class AgentRun:
    """One execution of one task, fully resolved."""

    task: AgentTask
    prompt: str
    cwd: Path
    log_path: Path  # the agent's stdout: its event stream
    stderr_path: Path
    cookie: str
    kill_grace: float
    launcher: Launcher
    env: Mapping[str, str]
    on_start: Callable[[int | None], None] = lambda _pid: None


class AgentProcess(Protocol):
    @property
    def pid(self) -> int | None: ...

    async def wait(self) -> int: ...

    async def kill_tree(self, grace: float) -> int: ...


class Launcher(Protocol):
    """Starts an agent's process with stdout and stderr in files."""

    async def launch(
        self,
        argv: list[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        stdout: Path,
        stderr: Path,
        cookie: str,
        title: str,
    ) -> AgentProcess: ...


class Agent(Protocol):
    """Anything that can take tasks from the bridge.

    ``spec`` holds its id, kind, capabilities (the task types it accepts) and
    max_concurrency; ``execute`` streams the agent's events to ``run.log_path``.
    """

    @property
    def spec(self) -> AgentSpec: ...

    def available(self) -> bool: ...

    async def execute(self, run: AgentRun) -> AgentOutput: ...


class Adapter(Protocol):
    """Turns a prompt into a CLI invocation and the CLI's output into an AgentOutput."""

    def argv(self, spec: AgentSpec, run: AgentRun) -> list[str]: ...

    def env(self, spec: AgentSpec, base: Mapping[str, str]) -> dict[str, str]: ...

    def parse(self, stdout: str, stderr: str, exit_code: int) -> AgentOutput: ...


def unavailable_reason(agent: Agent) -> str | None:
    """Why ``agent`` cannot take tasks now (None when it can): its CLI is missing, say."""
    if isinstance(agent, CLIAgent):
        return agent.unavailable_reason()
    return None if agent.available() else "the agent says it is not available"


def tail(text: str, lines: int = 5) -> str:
    """The last few non-empty lines of ``text``: enough of stderr to say what went wrong."""
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def json_events(text: str) -> Iterator[dict[str, Any]]:
    """Every JSON object on its own line of ``text``; other lines are skipped."""
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict):
            yield event


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


class CLIAgent:
    """An agent CLI run through an adapter."""

    def __init__(self, spec: AgentSpec, adapter: Adapter) -> None:
        self._spec = spec
        self.adapter = adapter

    @property
    def spec(self) -> AgentSpec:
        return self._spec

    def available(self) -> bool:
        return self._spec.executable() is not None

    def unavailable_reason(self) -> str | None:
        """Why the CLI cannot run now, or None when it can."""
        if self._spec.executable() is not None:
            return None
        if not self._spec.command:
            return "no command is configured"
        program = self._spec.command[0]
        if os.sep not in program:
            return f"CLI {program!r} not found on PATH"
        path = Path(program).expanduser()
        if path.is_file():
            return f"CLI {program!r} is not executable"
        return f"CLI {program!r} not found"

    async def execute(self, run: AgentRun) -> AgentOutput:
        argv = self.adapter.argv(self._spec, run)
        env = self.adapter.env(self._spec, {**run.env, **self._spec.env})
        process = await run.launcher.launch(
            argv,
            cwd=run.cwd,
            env=env,
            stdout=run.log_path,
            stderr=run.stderr_path,
            cookie=run.cookie,
            title=f"{self._spec.id}-{run.task.id[:8]}",
        )
        run.on_start(process.pid)
        try:
            code = await process.wait()
        except asyncio.CancelledError:
            # The kill is shielded: a second cancel must not leave it half done.
            await asyncio.shield(process.kill_tree(run.kill_grace))
            raise
        output = self.adapter.parse(_read(run.log_path), _read(run.stderr_path), code)
        output.exit_code = code
        return output
