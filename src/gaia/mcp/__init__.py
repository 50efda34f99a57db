"""The Model Context Protocol face: `gaia mcp` serves gaia's tools to MCP clients.

It talks to the daemon over its REST API, as the CLI's service commands do.
"""
