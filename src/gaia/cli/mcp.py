"""`gaia mcp`: run the MCP face (gaia.mcp) on stdin and stdout.

The one place the CLI imports the MCP face, as cli/serve.py alone imports gaia.server.
"""

from __future__ import annotations

import click

__all__ = ["mcp"]


@click.command()
def mcp() -> None:
    """Serve gaia to MCP clients (Claude Code, Gemini CLI) over stdio.

    Tools to run and follow workflows, control services, type into and read tmux
    panes, queue agent tasks and read their results, and read the overview. They ask
    the daemon of this GAIA_HOME, started in the background if none runs. Add it to
    Claude Code with `claude mcp add gaia -- gaia mcp`.
    """
    from gaia.mcp.server import serve_stdio  # here: `gaia --help` imports no MCP SDK

    serve_stdio()
