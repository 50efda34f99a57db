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

_COMMANDS = {
    "agent": "gaia.cli.agent:agent",
    "daemon": "gaia.cli.daemon:daemon",
    "doctor": "gaia.cli.doctor:doctor",
    "scaffold": "gaia.cli.scaffold:scaffold",
    "serve": "gaia.cli.serve:serve",
    "service": "gaia.cli.service:service",
    "session": "gaia.cli.session:session",
    "workflow": "gaia.cli.workflow:workflow",
}


def _load(name: str) -> click.Command:
    module, _, attr = _COMMANDS[name].partition(":")
    command: click.Command = getattr(importlib.import_module(module), attr)
    return command


class _LazyGroup(GaiaGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _COMMANDS:
            return _load(cmd_name)
        return super().get_command(ctx, cmd_name)


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
