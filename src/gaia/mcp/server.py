"""gaia's tools over the Model Context Protocol: workflows, services, tmux panes, agents.

Each tool is one call (or two) to the daemon's REST API, so an MCP client sees exactly
what `gaia` commands and the dashboard see. Answers are JSON text (a log or a pane's
text as it is); a refusal comes back as a tool error carrying gaia's own message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from gaia import __version__
from gaia.errors import GaiaError
from gaia.mcp.client import DaemonApi

__all__ = ["build_server"]

INSTRUCTIONS = (
    "gaia runs YAML workflows, supervises dev services, keeps tmux sessions and queues "
    "tasks for coding agents, all through one local daemon. Ids may be given as unique "
    "prefixes. Paths are absolute or relative to where `gaia mcp` was started."
)

Id = Annotated[str, Field(min_length=1, description="an id (a unique prefix will do)")]
ServiceName = Annotated[str, Field(min_length=1, description="the service's name or id")]
SessionName = Annotated[str, Field(min_length=1, description="the tmux session's name or id")]
Window = Annotated[str | None, Field(description="window id or index; default the active one")]
Pane = Annotated[str | None, Field(description="pane id (e.g. %3); default the active one")]


def _seg(value: str) -> str:
    """One path segment of a URL, whatever the id holds."""
    return quote(value, safe="")


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False, default=str)


def _absolute(path: str, cwd: Path) -> str:
    return str((cwd / Path(path).expanduser()).resolve())


def build_server(api: DaemonApi | None = None, cwd: Path | None = None) -> MCPServer:
    """The MCP server, its tools calling the daemon through ``api``."""
    daemon = api or DaemonApi()
    where = cwd or Path.cwd()
    server = MCPServer(name="gaia", version=__version__, instructions=INSTRUCTIONS)

    async def ask(method: str, path: str, **kwargs: Any) -> Any:
        try:
            return await daemon.request(method, path, **kwargs)
        except GaiaError as exc:
            raise ToolError(str(exc)) from None

    # -- workflows ---------------------------------------------------------------------

    @server.tool()
    async def workflow_run(
        path: Annotated[
            str | None, Field(description="a workflow YAML file (absolute or relative path)")
        ] = None,
        yaml: Annotated[str | None, Field(description="the workflow's YAML text")] = None,
        base_dir: Annotated[
            str | None,
            Field(description="folder for relative paths in `yaml` (default: the cwd)"),
        ] = None,
        variables: Annotated[
            dict[str, str] | None, Field(description="variable overrides, name -> value")
        ] = None,
        start: Annotated[bool, Field(description="start it at once (else: pending)")] = True,
    ) -> str:
        """Create a workflow run from a YAML file or YAML text, and start it.

        Give exactly one of `path` and `yaml`. Answers the run's id, name, status and
        number of tasks; follow it with workflow_status and workflow_task_log.
        """
        if (path is None) == (yaml is None):
            raise ToolError("give exactly one of `path` (a workflow file) and `yaml` (its text)")
        params: dict[str, Any] = {"start": "true" if start else "false"}
        if variables:
            params["var"] = [f"{name}={value}" for name, value in variables.items()]
        if path is not None:
            if base_dir is not None:
                raise ToolError("base_dir goes with `yaml`: a file's relative paths are its own")
            params["path"] = _absolute(path, where)
            created = await ask("POST", "/workflows", params=params)
        else:
            params["base_dir"] = _absolute(base_dir, where) if base_dir else str(where)
            assert yaml is not None
            created = await ask(
                "POST",
                "/workflows",
                params=params,
                content=yaml.encode(),
                headers={"content-type": "application/yaml"},
            )
        return _json(created)

    @server.tool()
    async def workflow_start(workflow_id: Id) -> str:
        """Start a pending workflow run (one created with start=false)."""
        return _json(await ask("POST", f"/workflows/{_seg(workflow_id)}/start"))

    @server.tool()
    async def workflow_status(workflow_id: Id) -> str:
        """A workflow run's status, error, duration, and the status of each of its tasks."""
        return _json(await ask("GET", f"/workflows/{_seg(workflow_id)}/status"))

    @server.tool()
    async def workflow_list(
        status: Annotated[str | None, Field(description="only runs in this status")] = None,
        limit: Annotated[int, Field(ge=1, le=1000)] = 20,
    ) -> str:
        """The newest workflow runs, with their status and task counts."""
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = status
        return _json(await ask("GET", "/workflows", params=params))

    @server.tool()
    async def workflow_task_log(
        workflow_id: Id,
        task_id: Annotated[str, Field(min_length=1, description="the task's name in the run")],
        tail: Annotated[
            int | None, Field(ge=0, description="only the last N lines (default: all)")
        ] = 200,
        attempt: Annotated[int | None, Field(ge=1, description="default: the latest")] = None,
    ) -> str:
        """A workflow task's output so far (its log), the last `tail` lines by default."""
        params: dict[str, Any] = {}
        if tail is not None:
            params["tail"] = tail
        if attempt is not None:
            params["attempt"] = attempt
        path = f"/workflows/{_seg(workflow_id)}/tasks/{_seg(task_id)}/logs"
        text = await ask("GET", path, params=params)
        return str(text)

    @server.tool()
    async def workflow_stop(workflow_id: Id) -> str:
        """Stop a running workflow run: its running tasks' process trees are stopped."""
        return _json(await ask("POST", f"/workflows/{_seg(workflow_id)}/stop"))

    @server.tool()
    async def workflow_resume(workflow_id: Id) -> str:
        """Resume a stopped or failed run: what succeeded is kept, the rest runs again."""
        return _json(await ask("POST", f"/workflows/{_seg(workflow_id)}/resume"))

    # -- services ----------------------------------------------------------------------

    @server.tool()
    async def service_list() -> str:
        """Every registered service with its state, pid, ports, health and restarts."""
        return _json(await ask("GET", "/services"))

    @server.tool()
    async def service_start(name: ServiceName) -> str:
        """Start a service (and what it depends on); answers its new state."""
        return _json(await ask("POST", f"/services/{_seg(name)}/start"))

    @server.tool()
    async def service_stop(
        name: ServiceName,
        graceful: Annotated[bool, Field(description="false: kill at once")] = True,
    ) -> str:
        """Stop a service's whole process tree; answers its new state."""
        params = {"graceful": "true" if graceful else "false"}
        return _json(await ask("POST", f"/services/{_seg(name)}/stop", params=params))

    @server.tool()
    async def service_restart(name: ServiceName) -> str:
        """Restart a service; answers its new state."""
        return _json(await ask("POST", f"/services/{_seg(name)}/restart"))

    @server.tool()
    async def service_logs(
        name: ServiceName,
        lines: Annotated[int, Field(ge=0, le=100_000, description="how many lines")] = 100,
    ) -> str:
        """The last lines of a service's output (stdout and stderr)."""
        return str(await ask("GET", f"/services/{_seg(name)}/logs", params={"lines": lines}))

    # -- tmux sessions -----------------------------------------------------------------

    @server.tool()
    async def session_list() -> str:
        """gaia's tmux sessions, with their windows and panes."""
        return _json(await ask("GET", "/sessions"))

    @server.tool()
    async def session_send_keys(
        session: SessionName,
        keys: Annotated[str, Field(description="text (or tmux key names) to type")],
        window: Window = None,
        pane: Pane = None,
        enter: Annotated[bool, Field(description="press Enter after the keys")] = True,
        literal: Annotated[bool, Field(description="type keys as text, no key names")] = False,
    ) -> str:
        """Type keys into a tmux pane (the session's active pane by default)."""
        body: dict[str, Any] = {"keys": keys, "enter": enter, "literal": literal}
        if window is not None:
            body["window_id"] = window
        if pane is not None:
            body["pane_id"] = pane
        return _json(await ask("POST", f"/sessions/{_seg(session)}/send-keys", json=body))

    @server.tool()
    async def session_capture(
        session: SessionName,
        window: Window = None,
        pane: Pane = None,
        history: Annotated[bool, Field(description="include the scroll-back")] = False,
    ) -> str:
        """The text a tmux pane shows now (wrapped lines joined)."""
        params: dict[str, Any] = {"join": "true", "history": "true" if history else "false"}
        if window is not None:
            params["window_id"] = window
        if pane is not None:
            params["pane_id"] = pane
        captured = await ask("GET", f"/sessions/{_seg(session)}/capture", params=params)
        return _json(captured)

    # -- agents ------------------------------------------------------------------------

    @server.tool()
    async def agent_task_queue(
        instruction: Annotated[str, Field(min_length=1, description="what the agent is to do")],
        agent: Annotated[str, Field(description="agent id (see agent_list), or auto")] = "auto",
        work_dir: Annotated[
            str | None, Field(description="the repository or folder to work in (default: cwd)")
        ] = None,
        task_type: Annotated[
            Literal["code", "test", "review", "refactor", "shell"] | None,
            Field(description="what kind of work (default: code)"),
        ] = None,
        isolation: Annotated[
            Literal["worktree", "none"] | None,
            Field(description="worktree: in a git worktree of its own; none: in place"),
        ] = None,
        timeout: Annotated[float | None, Field(gt=0, description="seconds")] = None,
    ) -> str:
        """Queue a task for a coding agent; answers at once with the task (and its id).

        Read its progress and result with agent_task_get.
        """
        body: dict[str, Any] = {
            "instruction": instruction,
            "agent": agent,
            "work_dir": _absolute(work_dir, where) if work_dir else str(where),
            "wait": False,
        }
        if task_type is not None:
            body["task_type"] = task_type
        if isolation is not None:
            body["isolation"] = isolation
        if timeout is not None:
            body["timeout"] = timeout
        return _json(await ask("POST", "/agents/execute", json=body))

    @server.tool()
    async def agent_task_get(task_id: Id) -> str:
        """An agent task's status and, once finished, its result (output, files, error)."""
        return _json(await ask("GET", f"/agents/tasks/{_seg(task_id)}"))

    @server.tool()
    async def agent_list() -> str:
        """The agents gaia can run, and whether each one's CLI can run now (if not, why)."""
        return _json(await ask("GET", "/agents"))

    # -- overview ----------------------------------------------------------------------

    @server.tool()
    async def overview() -> str:
        """The dashboard's overview: counts across workflows, services, sessions and
        agents, and the latest events."""
        return _json(await ask("GET", "/overview"))

    return server


def serve_stdio() -> None:
    """Serve the tools on stdin/stdout until the client closes them."""
    build_server().run("stdio")
