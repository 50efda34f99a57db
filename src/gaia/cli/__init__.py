"""The ``gaia`` command line."""

from __future__ import annotations

import click

from gaia import __version__
from gaia.cli.common import GaiaGroup, run_cli
from gaia.cli.daemon import daemon
from gaia.cli.serve import serve
from gaia.cli.service import service
from gaia.cli.workflow import workflow

__all__ = ["cli", "main", "service_main", "workflow_main"]


@click.group(cls=GaiaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gaia")
def cli() -> None:
    """gaia: run workflows, agents, services and tmux sessions from one place.

    State lives in $GAIA_HOME (default ~/.gaia); settings in $GAIA_HOME/config.toml,
    each overridable as GAIA_<KEY>.
    """


cli.add_command(serve)
cli.add_command(workflow)
cli.add_command(service)
cli.add_command(daemon)


def main() -> None:
    run_cli(cli)


def workflow_main() -> None:
    """``gaia-workflow``: the same as ``gaia workflow``."""
    run_cli(workflow, prog="gaia-workflow")


def service_main() -> None:
    """``gaia-service``: the same as ``gaia service``."""
    run_cli(service, prog="gaia-service")
