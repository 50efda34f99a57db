"""The MCP server's way to the daemon: its REST API, found as `gaia` commands find it.

The daemon owns services, workflow runs and agent queues, so the MCP server asks it
rather than running engines of its own. The daemon's address is in
``$GAIA_HOME/daemon.json`` and its API token in ``$GAIA_HOME/token``; when no daemon
answers, one is started in the background (as `gaia service` commands do), its output
in ``$GAIA_HOME/logs/daemon.log``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import httpx

from gaia.errors import GaiaError, NoServerError, Problem, ProcessError
from gaia.home import GaiaHome, default_home

__all__ = ["DaemonApi", "ToolFailure", "problem_message"]

START_TIMEOUT = 15.0
API_PREFIX = "/api/orchestration"


class ToolFailure(GaiaError):
    """The daemon refused a request; its message is what the MCP client is told."""


@dataclass(frozen=True)
class _Daemon:
    pid: int
    url: str


def _running_daemon(home: GaiaHome) -> _Daemon | None:
    """The daemon named in daemon.json if its process lives and its API answers."""
    try:
        data = json.loads(home.daemon_file.read_text())
        found = _Daemon(pid=int(data["pid"]), url=str(data["url"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(found.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    try:
        response = httpx.get(f"{found.url}{API_PREFIX}/health", timeout=2.0, trust_env=False)
    except httpx.HTTPError:
        return None
    return found if response.status_code == 200 else None


def _start_daemon(home: GaiaHome) -> _Daemon:
    """`gaia serve` detached; its stdout and stderr go to the daemon log, never to ours
    (our stdout is the MCP protocol's channel)."""
    home.ensure()
    log_path = home.logs / "daemon.log"
    with log_path.open("ab") as log:
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "gaia", "serve"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                env={**os.environ, "GAIA_HOME": str(home.root)},
            )
        except OSError as exc:
            raise ProcessError(f"cannot start the gaia daemon: {exc.strerror or exc}") from exc
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        found = _running_daemon(home)
        if found is not None and found.pid == process.pid:
            return found
        if process.poll() is not None:
            raise ProcessError(f"the gaia daemon exited at start; see {log_path}")
        time.sleep(0.1)
    raise ProcessError(f"the gaia daemon did not answer within {START_TIMEOUT:g}s; see {log_path}")


def problem_message(status: int, body: bytes) -> str:
    """gaia's message from an API problem response, with its field details if any."""
    try:
        document = json.loads(body)
        error = document.get("error") or {}
        message = str(error.get("message") or document.get("detail") or "")
        details = error.get("details")
    except (ValueError, TypeError, AttributeError):
        text = body.decode(errors="replace").strip()[:500]
        return f"gaia daemon error {status}: {text}"
    if isinstance(details, list):
        fields = Problem.__dataclass_fields__
        lines = []
        for item in details:
            if isinstance(item, dict) and "message" in item:
                problem = Problem(**{k: v for k, v in item.items() if k in fields})
                # Where in the input: file:line:column, then the field's path if any.
                where = f" at {problem.path}" if problem.path else ""
                lines.append(f"  {problem}{where}")
        if lines:
            message = "\n".join([message or "invalid request", *lines])
    return message or f"gaia daemon error {status}"


class DaemonApi:
    """Calls the REST API of the daemon of a GAIA_HOME (found or started on first use)."""

    def __init__(self, home: GaiaHome | None = None) -> None:
        self.home = home or GaiaHome(default_home())
        self._client: httpx.AsyncClient | None = None
        self._url = ""

    async def _connect(self) -> httpx.AsyncClient:
        import anyio.to_thread

        if self._client is not None:
            return self._client
        found = await anyio.to_thread.run_sync(_running_daemon, self.home)
        if found is None:
            found = await anyio.to_thread.run_sync(_start_daemon, self.home)
        token = await anyio.to_thread.run_sync(self.home.read_or_create_token)
        self._url = found.url
        self._client = httpx.AsyncClient(
            base_url=f"{found.url}{API_PREFIX}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(10.0, read=300.0),
            trust_env=False,
        )
        return self._client

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """JSON (or text) in the answer; a 4xx or 5xx raises ToolFailure with its message.

        A daemon that went away (restarted on another port) is found, or started, again.
        """
        client = await self._connect()
        try:
            response = await client.request(method, path, **kwargs)
        except httpx.ConnectError:
            await self.close()
            client = await self._connect()
            try:
                response = await client.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                raise NoServerError(f"the gaia daemon at {self._url} failed: {exc}") from None
        except httpx.HTTPError as exc:
            raise NoServerError(f"the gaia daemon at {self._url} failed: {exc}") from None
        if response.status_code >= 400:
            raise ToolFailure(problem_message(response.status_code, response.content))
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
