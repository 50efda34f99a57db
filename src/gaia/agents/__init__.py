"""Agents: run Claude Code, Gemini CLI, Codex or any CLI agent on queued tasks."""

from gaia.agents.base import Agent, AgentRun, AgentSpec, CLIAgent
from gaia.agents.bridge import AgentBridge, BridgeConfig, BridgeState
from gaia.agents.registry import AgentRegistry
from gaia.agents.stats import AgentStats
from gaia.agents.task import AgentOutput, AgentResult, AgentTask, Isolation, TaskStatus, TaskType

__all__ = [
    "Agent",
    "AgentBridge",
    "AgentOutput",
    "AgentRegistry",
    "AgentResult",
    "AgentRun",
    "AgentSpec",
    "AgentStats",
    "AgentTask",
    "BridgeConfig",
    "BridgeState",
    "CLIAgent",
    "Isolation",
    "TaskStatus",
    "TaskType",
]
