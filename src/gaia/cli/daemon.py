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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import click
import httpx

from gaia.cli.common import EXIT_FAILED, GaiaGroup, console, err_console, open_settings
from gaia.cli.remote import error_from_response
from gaia.config import Settings
from gaia.errors import ConfigError, NoServerError, ProcessError
from gaia.home import GaiaHome, default_home

__all__ = ["DaemonClient", "connect", "daemon"]

START_TIMEOUT = 15.0


@dataclass(frozen=True)
class DaemonInfo:
    pid: int
    url: str
    # What the daemon itself uses (None from a daemon that predates these fields).
    database: str | None = None
    tmux_socket: str | None = None
    # Its `gaia serve` command-line options (--host, --port), None where not given.
    options: dict[str, Any] | None = None


def find_daemon(settings: Settings) -> DaemonInfo | None:
    """The daemon of this GAIA_HOME if it runs and answers; None otherwise."""
    return find_daemon_in(settings.gaia_home)


def find_daemon_in(home: GaiaHome) -> DaemonInfo | None:
    """find_daemon without settings: stop and reload work while config.toml is broken."""
    path = home.daemon_file
    try:
        data = json.loads(path.read_text())
        info = DaemonInfo(
            pid=int(data["pid"]),
            url=str(data["url"]),
            database=_optional_str(data.get("database")),
            tmux_socket=_optional_str(data.get("tmux_socket")),
            options=data["options"] if isinstance(data.get("options"), dict) else None,
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


def start_daemon(settings: Settings, args: Sequence[str] = (), verb: str = "started") -> DaemonInfo:
    """Start `gaia serve ARGS` detached, with its output in $GAIA_HOME/logs/daemon.log."""
    home = settings.gaia_home.ensure()
    log_path = home.logs / "daemon.log"
    with log_path.open("ab") as log:
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "gaia", "serve", *args],
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
                    f"{verb} the gaia daemon in the background (pid {info.pid}, {info.url}); "
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
    """Say whether a daemon runs for this GAIA_HOME, where, and what it uses.

    A config.toml that does not load is reported, not fatal: the daemon runs on the
    settings it read when it started, and daemon.json says what they are.
    """
    home = GaiaHome(default_home())
    try:
        settings: Settings | None = open_settings()
    except ConfigError as exc:
        settings = None
        err_console.print(
            f"warning: {exc} (the running daemon keeps the settings it started with; "
            "`gaia daemon reload` once it is fixed)",
            markup=False,
        )
    info = find_daemon(settings) if settings is not None else find_daemon_in(home)
    if info is None:
        console.print(f"no gaia daemon is running for {home.root}", markup=False)
        sys.exit(EXIT_FAILED)
    if info.database is not None:
        database = info.database
    elif settings is None:
        database = "(unknown: config.toml does not load)"
    else:  # a daemon from before daemon.json named its database
        from sqlalchemy.engine import make_url  # here: other commands skip importing it
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(settings.resolved_database_url)
            database = url.render_as_string(hide_password=True)
        except ArgumentError:
            database = "(database_url is not a valid URL)"
    socket = info.tmux_socket or (settings.tmux_socket if settings else "(unknown)")
    # Paths and URLs are printed whole (no wrapping, no highlighting) so they can be copied.
    lines = [
        f"gaia daemon running: pid {info.pid}, {info.url}",
        f"  dashboard:   {info.url}/  (`gaia open` signs a browser in)",
        f"  API:         {info.url}/api/orchestration  (docs {info.url}/docs)",
        f"  token file:  {home.token_file}  (send 'Authorization: Bearer <token>')",
        f"  database:    {database}",
        f"  home:        {home.root}",
        f"  tmux socket: {socket}",
    ]
    for line in lines:
        console.print(line, soft_wrap=True, highlight=False, markup=False)


@daemon.command()
def url() -> None:
    """Print the running daemon's base URL (for scripts: API=$(gaia daemon url)/api/...).

    Exits 1, printing nothing on stdout, when no daemon runs for this GAIA_HOME.
    """
    home = GaiaHome(default_home())
    info = find_daemon_in(home)
    if info is None:
        err_console.print(f"no gaia daemon is running for {home.root}", markup=False)
        sys.exit(EXIT_FAILED)
    click.echo(info.url)


@daemon.command()
def token() -> None:
    """Print the API token (for scripts: -H "Authorization: Bearer $(gaia daemon token)").

    Read from $GAIA_HOME/token (mode 0600), which the first daemon creates; exits 1 when
    there is none yet. The token is printed only here, never in status or logs.
    """
    home = GaiaHome(default_home())
    try:
        value = home.token_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        value = ""
    except OSError as exc:
        err_console.print(f"cannot read {home.token_file}: {exc.strerror or exc}", markup=False)
        sys.exit(EXIT_FAILED)
    if not value:
        err_console.print(
            f"no API token yet in {home.token_file}: the first daemon (gaia serve, or"
            " make serve) creates it",
            markup=False,
        )
        sys.exit(EXIT_FAILED)
    click.echo(value)


def stop_daemon(info: DaemonInfo, timeout: float) -> bool:
    """SIGTERM the daemon and wait for it to exit; False if it still runs after ``timeout``.

    Its services stop too, still desired, and come back with the next daemon; its
    running workflows are interrupted; queued agent tasks stay queued.
    """
    try:
        os.kill(info.pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    except PermissionError as exc:
        raise ProcessError(f"cannot signal the gaia daemon (pid {info.pid}): {exc}") from None
    deadline = time.monotonic() + timeout
    with err_console.status(f"stopping the gaia daemon (pid {info.pid})…"):
        while time.monotonic() < deadline:
            try:
                os.kill(info.pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.1)
    return False


@daemon.command()
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for it to exit.")
def stop(timeout: float) -> None:
    """Stop the daemon gracefully (its services stop too, and come back with it)."""
    info = find_daemon_in(GaiaHome(default_home()))
    if info is None:
        console.print("no gaia daemon is running")
        return
    if stop_daemon(info, timeout):
        console.print(f"gaia daemon (pid {info.pid}) stopped")
        return
    err_console.print(f"the gaia daemon (pid {info.pid}) is still stopping after {timeout:g}s")
    sys.exit(EXIT_FAILED)


def restart_args(info: DaemonInfo, settings: Settings) -> list[str]:
    """The `gaia serve` options of the daemon that replaces ``info``.

    Its own command-line options again. A port chosen by the system (port 0) is asked
    for again by number, so that the daemon's address does not change; a port set in
    config.toml or on the old command line is used as set, and may be a new one.
    """
    options = info.options or {}
    args: list[str] = []
    if options.get("host") is not None:
        args += ["--host", str(options["host"])]
    port = options.get("port")
    if (settings.port if port is None else port) == 0:
        port = urlsplit(info.url).port
    if port is not None:
        args += ["--port", str(port)]
    return args


@daemon.command()
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for it to exit.")
def restart(timeout: float) -> None:
    """Stop the daemon gracefully and start it again with the same options.

    It reads config.toml and the GAIA_* variables of this shell anew; a config.toml
    with an error leaves the running daemon as it is. Services stop and come back with
    it. Started here if none was running.
    """
    settings = open_settings()
    info = find_daemon(settings)
    if info is None:
        console.print(f"no gaia daemon was running for {settings.gaia_home.root}", markup=False)
        new = start_daemon(settings)
        console.print(f"gaia daemon running: pid {new.pid}, {new.url}", markup=False)
        return
    args = restart_args(info, settings)
    if not stop_daemon(info, timeout):
        err_console.print(f"the gaia daemon (pid {info.pid}) is still stopping after {timeout:g}s")
        sys.exit(EXIT_FAILED)
    console.print(f"gaia daemon (pid {info.pid}) stopped")
    new = start_daemon(settings, args, verb="restarted")
    console.print(f"gaia daemon running: pid {new.pid}, {new.url}", markup=False)


@daemon.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def reload(as_json: bool) -> None:
    """Re-read config.toml and apply what can change without a restart (as SIGHUP does).

    Says which settings changed, which took effect, and which need `gaia daemon
    restart` (host, port, database_url, tmux_socket). A config.toml with an error
    changes nothing: the daemon keeps running with the settings it had.
    """
    # The daemon reads config.toml itself, and says where it is wrong if it is.
    home = GaiaHome(default_home())
    info = find_daemon_in(home)
    if info is None:
        console.print(f"no gaia daemon is running for {home.root}", markup=False)
        sys.exit(EXIT_FAILED)
    client = DaemonClient(info, home.read_or_create_token())
    try:
        report = client.request("POST", "/daemon/reload")
    finally:
        client.close()
    if as_json:
        console.print_json(json.dumps(report))
        return
    for line in describe_report(report):
        console.print(line, markup=False, soft_wrap=True, highlight=False)


def describe_report(report: dict[str, Any]) -> list[str]:
    if not report["changed"]:
        return [f"reloaded {report['config_file']}: no setting changed"]
    lines = [f"reloaded {report['config_file']}"]
    if report["applied"]:
        lines.append(f"  applied:        {', '.join(report['applied'])}")
    if report["restart_needed"]:
        lines.append(f"  needs restart:  {', '.join(report['restart_needed'])}")
        lines.append("  (these keep their old values until `gaia daemon restart`)")
    return lines
