"""Finding, starting and stopping the background daemon; an API client for commands.

Service commands talk to the daemon because the daemon owns the service processes. As
pm2 does, a command that finds no daemon starts one in the background and says so.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import click
import httpx

from gaia.cli.common import EXIT_FAILED, GaiaGroup, console, err_console, open_settings
from gaia.cli.remote import error_from_response
from gaia.config import Settings
from gaia.errors import NoServerError, ProcessError

__all__ = ["DaemonClient", "connect", "daemon"]

START_TIMEOUT = 15.0


@dataclass(frozen=True)
class DaemonInfo:
    pid: int
    url: str
    # What the daemon itself uses (None from a daemon that predates these fields).
    database: str | None = None
    tmux_socket: str | None = None


def find_daemon(settings: Settings) -> DaemonInfo | None:
    """The daemon of this GAIA_HOME if it runs and answers; None otherwise."""
    path = settings.gaia_home.daemon_file
    try:
        data = json.loads(path.read_text())
        info = DaemonInfo(
            pid=int(data["pid"]),
            url=str(data["url"]),
            database=_optional_str(data.get("database")),
            tmux_socket=_optional_str(data.get("tmux_socket")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(info.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    try:
        response = httpx.get(f"{info.url}/api/orchestration/health", timeout=2.0)
    except httpx.HTTPError:
        return None
    return info if response.status_code == 200 else None


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def start_daemon(settings: Settings) -> DaemonInfo:
    """Start `gaia serve` detached, with its output in $GAIA_HOME/logs/daemon.log."""
    home = settings.gaia_home.ensure()
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
    with err_console.status("starting the gaia daemon…"):
        while time.monotonic() < deadline:
            info = find_daemon(settings)
            if info is not None and info.pid == process.pid:
                err_console.print(
                    f"started the gaia daemon in the background (pid {info.pid}, {info.url}); "
                    f"its log: {log_path}",
                    markup=False,
                )
                return info
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace").splitlines()[-5:]
                raise ProcessError("the gaia daemon exited at start:\n  " + "\n  ".join(tail))
            time.sleep(0.1)
    raise ProcessError(f"the gaia daemon did not answer within {START_TIMEOUT:g}s; see {log_path}")


class DaemonClient:
    """Calls the daemon's REST API; errors come back as gaia errors."""

    def __init__(self, info: DaemonInfo, token: str) -> None:
        self.info = info
        self._client = httpx.Client(
            base_url=f"{info.url}/api/orchestration",
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(10.0, read=300.0),
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise NoServerError.daemon(self.info.url, str(exc)) from None
        if response.status_code < 400:
            return (
                response.json()
                if response.headers.get("content-type", "").startswith("application/json")
                else response.text
            )
        raise error_from_response(response.status_code, response.content)

    def stream(self, path: str, **params: Any) -> Any:
        return self._client.stream("GET", path, params=params, timeout=None)

    def close(self) -> None:
        self._client.close()


def connect(settings: Settings | None = None) -> DaemonClient:
    settings = settings or open_settings()
    info = find_daemon(settings) or start_daemon(settings)
    token = settings.gaia_home.read_or_create_token()
    return DaemonClient(info, token)


@click.group(cls=GaiaGroup)
def daemon() -> None:
    """The background daemon (`gaia serve`) that owns services."""


@daemon.command()
def status() -> None:
    """Say whether a daemon runs for this GAIA_HOME, where, and what it uses."""
    settings = open_settings()
    home = settings.gaia_home
    info = find_daemon(settings)
    if info is None:
        console.print(f"no gaia daemon is running for {home.root}", markup=False)
        sys.exit(EXIT_FAILED)
    if info.database is None:  # a daemon from before daemon.json named its database
        from sqlalchemy.engine import make_url  # here: other commands skip importing it
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(settings.resolved_database_url)
            database = url.render_as_string(hide_password=True)
        except ArgumentError:
            database = "(database_url is not a valid URL)"
    else:
        database = info.database
    # Paths and URLs are printed whole (no wrapping, no highlighting) so they can be copied.
    lines = [
        f"gaia daemon running: pid {info.pid}, {info.url}",
        f"  API:         {info.url}/api/orchestration  (docs {info.url}/docs)",
        f"  token file:  {home.token_file}  (send 'Authorization: Bearer <token>')",
        f"  database:    {database}",
        f"  home:        {home.root}",
        f"  tmux socket: {info.tmux_socket or settings.tmux_socket}",
    ]
    for line in lines:
        console.print(line, soft_wrap=True, highlight=False, markup=False)


@daemon.command()
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for it to exit.")
def stop(timeout: float) -> None:
    """Stop the daemon gracefully (its services stop too, and come back with it)."""
    settings = open_settings()
    info = find_daemon(settings)
    if info is None:
        console.print("no gaia daemon is running")
        return
    try:
        os.kill(info.pid, signal.SIGTERM)
    except ProcessLookupError:
        console.print(f"gaia daemon (pid {info.pid}) stopped")
        return
    except PermissionError as exc:
        raise ProcessError(f"cannot signal the gaia daemon (pid {info.pid}): {exc}") from None
    deadline = time.monotonic() + timeout
    with err_console.status(f"stopping the gaia daemon (pid {info.pid})…"):
        while time.monotonic() < deadline:
            try:
                os.kill(info.pid, 0)
            except ProcessLookupError:
                console.print(f"gaia daemon (pid {info.pid}) stopped")
                return
            time.sleep(0.1)
    err_console.print(f"the gaia daemon (pid {info.pid}) is still stopping after {timeout:g}s")
    sys.exit(EXIT_FAILED)
