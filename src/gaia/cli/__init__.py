"""The ``gaia`` command line.

Subcommands are imported when used: `gaia session send` should not pay for importing the
API server or the workflow engine.
"""

from __future__ import annotations

import importlib

import click

from gaia import __version__
from gaia.cli.common import GaiaGroup, run_cli

__all__ = [
    "agent_main",
    "cli",
    "main",
    "scaffold_main",
    "service_main",
    "session_main",
    "workflow_main",
]

# name -> (module:attribute, the one-line help `gaia --help` shows). The help is kept
# here so that listing the commands imports none of them (FastAPI, SQLAlchemy, rich);
# tests/cli/test_lazy_cli.py checks it against each command's own help.
_COMMANDS = {
    "agent": (
        "gaia.cli.agent:agent",
        "Run Claude Code, Gemini CLI, Codex or any CLI agent on queued tasks.",
    ),
    "daemon": (
        "gaia.cli.daemon:daemon",
        "The background daemon (`gaia serve`) that owns services.",
    ),
    "doctor": (
        "gaia.cli.doctor:doctor",
        "Check what gaia needs: tmux, Node.js, agent CLIs, containment, the daemon.",
    ),
    "mcp": (
        "gaia.cli.mcp:mcp",
        "Serve gaia to MCP clients (Claude Code, Gemini CLI) over stdio.",
    ),
    "open": (
        "gaia.cli.browse:open_dashboard",
        "Open the web dashboard, signed in by a single-use code (starts the daemon).",
    ),
    "scaffold": (
        "gaia.cli.scaffold:scaffold",
        "Generate projects from YAML templates (safely, atomically) and validate them.",
    ),
    "serve": (
        "gaia.cli.serve:serve",
        "Start the gaia daemon: REST API under /api/orchestration, docs at /docs.",
    ),
    "service": (
        "gaia.cli.service:service",
        "Supervise dev services: health checks, restarts, logs, metrics, events.",
    ),
    "session": (
        "gaia.cli.session:session",
        "tmux sessions that persist, restore and clean themselves up (socket: tmux_socket).",
    ),
    "workflow": (
        "gaia.cli.workflow:workflow",
        "Run YAML workflows: DAGs of shell and AI-agent tasks.",
    ),
}


def _load(name: str) -> click.Command:
    module, _, attr = _COMMANDS[name][0].partition(":")
    command: click.Command = getattr(importlib.import_module(module), attr)
    return command


class _LazyGroup(GaiaGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _COMMANDS:
            return _load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click lists commands, from the table: no command module is imported."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in _COMMANDS:
                # Shortened exactly as click shortens a command's own help.
                stand_in = click.Command(name, help=_COMMANDS[name][1])
                rows.append((name, stand_in.get_short_help_str(limit)))
                continue
            command = super().get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gaia")
def cli() -> None:
    """gaia: run workflows, agents, services and tmux sessions from one place.

    State lives in $GAIA_HOME (default ~/.gaia); settings in $GAIA_HOME/config.toml,
    each overridable as GAIA_<KEY>.
    """


def main() -> None:
    run_cli(cli)


def workflow_main() -> None:
    """``gaia-workflow``: the same as ``gaia workflow``."""
    run_cli(_load("workflow"), prog="gaia-workflow")


def service_main() -> None:
    """``gaia-service``: the same as ``gaia service``."""
    run_cli(_load("service"), prog="gaia-service")


def session_main() -> None:
    """``gaia-session``: the same as ``gaia session``."""
    run_cli(_load("session"), prog="gaia-session")


def agent_main() -> None:
    """``gaia-agent``: the same as ``gaia agent``."""
    run_cli(_load("agent"), prog="gaia-agent")


def scaffold_main() -> None:
    """``gaia-scaffold``: the same as ``gaia scaffold``."""
    run_cli(_load("scaffold"), prog="gaia-scaffold")
