"""The agent registry: built-in agents found on PATH, ``[agents.<name>]`` tables, the API.

Built-in agents (claude, gemini, codex) register themselves when their CLI is on PATH
or configured; ``system`` (the shell) is always there. A config table with another
name is a ``command`` agent unless it says otherwise.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from gaia.agents.adapters import ADAPTERS
from gaia.agents.base import Agent, AgentSpec, CLIAgent, unavailable_reason
from gaia.agents.task import AI_TASK_TYPES, AgentTask, TaskType
from gaia.config import AgentSettings, Settings
from gaia.errors import (
    AgentError,
    AgentRejectedError,
    AgentUnavailableError,
    ConfigError,
    ConflictError,
    NotFoundError,
)

__all__ = ["BUILTIN_AGENTS", "AgentRegistry", "build_agent", "spec_from_settings"]

BUILTIN_AGENTS = ("claude", "gemini", "codex")
SYSTEM_AGENT = "system"
# "auto" means "let gaia choose"; the others are API paths under /agents/.
RESERVED_IDS = frozenset({"auto", "stats", "tasks", "execute", "execute-parallel"})
AGENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

_SHELL_TYPES = frozenset({TaskType.shell, TaskType.test})


def default_capabilities(kind: str) -> frozenset[str]:
    if kind == SYSTEM_AGENT:
        return frozenset(str(t) for t in _SHELL_TYPES)
    return frozenset(str(t) for t in AI_TASK_TYPES)


def spec_from_settings(name: str, config: AgentSettings, *, source: str = "config") -> AgentSpec:
    """An AgentSpec from one ``[agents.<name>]`` table (or an API registration)."""
    if not AGENT_ID.match(name) or name in RESERVED_IDS:
        raise AgentError(
            f"invalid agent name {name!r}: use letters, digits, '-', '_' or '.' "
            f"({', '.join(sorted(RESERVED_IDS))} are reserved)"
        )
    kind = config.kind or (name if name in (*BUILTIN_AGENTS, SYSTEM_AGENT) else "command")
    if isinstance(config.command, str):
        command: tuple[str, ...] = (config.command,)
    elif config.command:
        command = tuple(config.command)
    elif kind == "command":
        raise AgentError(
            f"agent {name!r} needs a command: an argv template such as "
            '["aider", "--message", "{prompt}", "--yes-always"]'
        )
    else:
        command = ("/bin/sh",) if kind == SYSTEM_AGENT else (kind,)
    options = {
        key: value
        for key, value in (
            ("permission_mode", config.permission_mode),
            ("approval_mode", config.approval_mode),
            ("max_turns", config.max_turns),
            ("output_format", config.output_format),
        )
        if value is not None
    }
    capabilities = (
        frozenset(config.capabilities) if config.capabilities else default_capabilities(kind)
    )
    return AgentSpec(
        id=name,
        kind=kind,
        command=command,
        capabilities=capabilities,
        max_concurrency=config.max_concurrency,
        timeout=config.timeout,
        args=tuple(config.args),
        env=dict(config.env),
        model=config.model,
        options=options,
        source=source,
    )


def build_agent(spec: AgentSpec) -> CLIAgent:
    return CLIAgent(spec, ADAPTERS[spec.kind]())


class AgentRegistry:
    """The agents this process can run tasks on, by id, in registration order.

    The daemon's event loop (the queue) and the API's thread pool (register, list) use
    it at once: every access holds the lock, and iteration works on a copy, so that
    one thread's register never breaks another's loop over the agents.
    """

    def __init__(self) -> None:
        self._agents: dict[str, Agent] = {}
        self._lock = threading.Lock()
        # Agents discover() left out, and why: listed so that `gaia agent list` shows
        # every adapter, never registered (a task naming one is refused as before).
        self._left_out: dict[str, tuple[Agent, str]] = {}

    @classmethod
    def discover(cls, settings: Settings) -> AgentRegistry:
        """Built-ins found on PATH, then every enabled ``[agents.<name>]`` table."""
        registry = cls()
        system = spec_from_settings(SYSTEM_AGENT, AgentSettings(), source="builtin")
        registry.register(build_agent(system))
        for name in BUILTIN_AGENTS:
            if name in settings.agents:
                continue
            agent = build_agent(spec_from_settings(name, AgentSettings(), source="builtin"))
            if agent.available():
                registry.register(agent)
            else:
                registry._left_out[name] = (agent, unavailable_reason(agent) or "not available")
        for name, config in settings.agents.items():
            if not config.enabled:
                with registry._lock:
                    disabled = registry._agents.pop(name, None)
                if disabled is not None or name in BUILTIN_AGENTS:
                    disabled = disabled or build_agent(
                        spec_from_settings(name, AgentSettings(), source="builtin")
                    )
                    why = f"disabled: [agents.{name}] enabled = false in config.toml"
                    registry._left_out[name] = (disabled, why)
                continue
            try:
                spec = spec_from_settings(name, config)
            except AgentError as exc:
                where = str(settings.gaia_home.config_file)
                raise ConfigError.invalid_key(f"agents.{name}", where, str(exc)) from None
            registry.register(build_agent(spec), replace=True)
        return registry

    def register(self, agent: Agent, *, replace: bool = False) -> Agent:
        agent_id = agent.spec.id
        with self._lock:
            existing = self._agents.get(agent_id)
            if existing is None or replace:
                self._agents[agent_id] = agent
                return agent
        raise ConflictError(f"agent {agent_id!r} is already registered (kind {existing.spec.kind})")

    def unregister(self, agent_id: str) -> Agent:
        with self._lock:
            agent = self._agents.pop(agent_id, None)
        if agent is None:
            raise NotFoundError.of("agent", agent_id)
        return agent

    def get(self, agent_id: str) -> Agent:
        with self._lock:
            agent = self._agents.get(agent_id)
        if agent is None:
            known = ", ".join(self.names()) or "none"
            raise NotFoundError(
                f"agent {agent_id!r} is not registered (registered: {known})",
                details={"kind": "agent", "id": agent_id},
            )
        return agent

    def require(self, agent_id: str) -> Agent:
        """The agent a task names; an unknown one is bad input (422), not a 404."""
        if agent_id not in self:
            raise AgentRejectedError(
                f"agent {agent_id!r} is not registered "
                f"(registered: {', '.join(self.names()) or 'none'})",
                details={"agent": agent_id},
            )
        return self.get(agent_id)

    @staticmethod
    def check_task(agent: Agent, task: AgentTask) -> None:
        """Refuse a task the agent does not take (422) or cannot run now (409)."""
        spec = agent.spec
        if str(task.task_type) not in spec.capabilities:
            raise AgentRejectedError(
                f"agent {spec.id!r} does not take {task.task_type} tasks "
                f"(it takes: {', '.join(sorted(spec.capabilities))})"
            )
        if not agent.available():
            raise AgentUnavailableError(
                f"agent {spec.id!r} is not available: {spec.command[0]!r} was not found "
                "(install it, or set [agents." + spec.id + "] command in config.toml)"
            )

    def __contains__(self, agent_id: object) -> bool:
        with self._lock:
            return agent_id in self._agents

    def agents(self) -> list[Agent]:
        with self._lock:
            return list(self._agents.values())

    def left_out(self) -> list[tuple[Agent, str]]:
        """Built-in agents that are not registered, with why: CLI not found, disabled."""
        with self._lock:
            return [item for name, item in self._left_out.items() if name not in self._agents]

    def names(self) -> list[str]:
        with self._lock:
            return list(self._agents)

    def least_loaded(self, task_type: str, load: Callable[[str], int]) -> str:
        """The available agent accepting ``task_type`` with the least ``load``; an AI
        agent before the shell for any task type but shell."""
        candidates = self.accepting(task_type, ai_only=task_type not in ("shell",))
        if not candidates:
            candidates = self.accepting(task_type)
        if not candidates:
            raise AgentUnavailableError(
                f"no available agent takes {task_type} tasks "
                f"(registered: {', '.join(self.names()) or 'none'})"
            )
        best = min(candidates, key=lambda agent: load(agent.spec.id))
        return best.spec.id

    def accepting(self, task_type: str, *, ai_only: bool = False) -> list[Agent]:
        """Available agents that accept ``task_type``, in registration order."""
        return [
            agent
            for agent in self.agents()  # available() may look at PATH: not under the lock
            if task_type in agent.spec.capabilities
            and agent.available()
            and not (ai_only and agent.spec.kind == SYSTEM_AGENT)
        ]
