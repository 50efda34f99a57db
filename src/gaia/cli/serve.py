"""``gaia serve``: the daemon (REST API, and the components that run inside it)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import click
import uvicorn

from gaia import __version__
from gaia.cli.common import EXIT_FAILED, console, err_console, open_runtime
from gaia.cli.remote import settings_digest
from gaia.config import ENV_PREFIX, Settings
from gaia.errors import GaiaError
from gaia.reload import Reloader, ReloadReport, reload_settings
from gaia.runtime import Runtime, settle_heap
from gaia.server import create_daemon_app

__all__ = ["serve"]


async def _serve(
    server: uvicorn.Server, sock: socket.socket, runtime: Runtime, reload: Reloader
) -> None:
    """Run ``server`` with gaia's own signal handlers, through uvicorn's public API.

    SIGTERM and SIGINT stop gracefully and the daemon exits 0 (uvicorn's handlers
    re-raise the signal once shut down, so the process would die of it). A stop also
    tells the runtime at once, so that requests that only wait end before uvicorn waits
    for open requests to finish. SIGHUP reloads the settings, as `gaia daemon reload`.
    """
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task[None]] = set()

    def stop(signum: int) -> None:
        runtime.begin_stop()
        if server.should_exit and signum == signal.SIGINT:
            server.force_exit = True  # a second Ctrl-C: do not wait for open requests
        server.should_exit = True

    def hangup() -> None:
        task = loop.create_task(_reload_on_signal(reload))
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    def install() -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop, signum)
        loop.add_signal_handler(signal.SIGHUP, hangup)

    install()
    if _early_hangups:  # a SIGHUP while the runtime was being built
        hangup()
    serving = loop.create_task(server.serve(sockets=[sock]))
    # serve() puts uvicorn's handlers in place as its first step; ours go back over them.
    await asyncio.sleep(0)
    install()
    await serving
    for task in list(reloads):
        task.cancel()


async def _reload_on_signal(reload: Reloader) -> None:
    """SIGHUP: reload, and say what happened in the daemon's output (its log)."""
    try:
        report = await reload()
    except GaiaError as exc:
        err_console.print(f"reload failed: {exc}", markup=False, soft_wrap=True)
        return
    except Exception:  # a bug must not pass unseen: the daemon goes on regardless
        logging.getLogger("gaia").exception("reload failed")
        return
    console.print(describe_reload(report), markup=False, soft_wrap=True)


def describe_reload(report: ReloadReport) -> str:
    if not report.changed:
        return f"reloaded {report.config_file}: no setting changed"
    lines = [f"reloaded {report.config_file}:"]
    if report.applied:
        lines.append(f"  applied: {', '.join(report.applied)}")
    if report.restart_needed:
        lines.append(
            f"  need `gaia daemon restart` (old values kept): {', '.join(report.restart_needed)}"
        )
    return "\n".join(lines)


# SIGHUPs that came before the event loop could take them (set by _record_hangup).
_early_hangups: list[int] = []


def _record_hangup(signum: int, _frame: FrameType | None) -> None:
    _early_hangups.append(signum)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on an accepted connection only when
    # its socket says it is TCP, and accepted sockets copy the listener's protocol.
    # Without it Nagle's algorithm holds a response's body behind its headers until the
    # client's delayed ACK, ~40 ms on every keep-alive request after the first.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        hint = " (is another `gaia serve` running? try --port)" if exc.errno == 98 else ""
        err_console.print(
            f"error: cannot listen on {host}:{port}: {exc.strerror}{hint}", markup=False
        )
        sys.exit(EXIT_FAILED)
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@click.command()
@click.option("--host", default=None, help="Address to bind (default from config: 127.0.0.1).")
@click.option(
    "--port",
    default=None,
    type=click.IntRange(0, 65535),
    help="Port (default from config: 8765; 0 picks a free one).",
)
def serve(host: str | None, port: int | None) -> None:
    """Start the gaia daemon: REST API under /api/orchestration, docs at /docs."""
    # A caught signal's handler is not inherited across exec (an ignored one would be):
    # service processes still get SIGHUP's default.
    signal.signal(signal.SIGHUP, _record_hangup)
    options = {"host": host, "port": port}
    runtime = open_runtime(**options)
    settings = runtime.settings
    if settings.host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(
            f"warning: binding {settings.host}: the API is reachable from other machines; "
            "anyone with the token controls gaia",
            markup=False,
        )
    sock = _listen(settings.host, settings.port)
    bound_port = sock.getsockname()[1]
    shown_host = f"[{settings.host}]" if ":" in settings.host else settings.host
    url = f"http://{shown_host}:{bound_port}"
    runtime.token()
    console.print(
        f"gaia {__version__} serving {url}  (API {url}/api/orchestration, docs {url}/docs)",
        markup=False,
    )
    console.print(
        f"token: {runtime.home.token_file}  (send 'Authorization: Bearer <token>')", markup=False
    )
    database = runtime.db.url.render_as_string(hide_password=True)
    console.print(f"home: {runtime.home.root}  database: {database}", markup=False)
    console.print("press Ctrl-C to stop")
    sys.stdout.flush()
    daemon_file = runtime.home.daemon_file
    started_at = time.time()

    def write_daemon_file() -> None:
        _write_daemon_file(
            daemon_file,
            url,
            runtime.home.config_file,
            database=database,
            tmux_socket=settings.tmux_socket,
            options=options,
            started_at=started_at,
        )

    async def reload() -> ReloadReport:
        report = await reload_settings(runtime, options)
        level = _uvicorn_level(runtime.settings.log_level).upper()
        logging.getLogger("uvicorn.error").setLevel(level)
        if report.changed and not report.restart_needed:
            # It now runs with the settings a command here would use: they may ask it.
            await asyncio.to_thread(write_daemon_file)
        return report

    app = create_daemon_app(runtime, reload=reload)
    settle_heap()  # the app's routes and schemas live as long as the daemon
    config = uvicorn.Config(
        app,
        log_level=_uvicorn_level(settings.log_level),
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=30,
    )
    server = uvicorn.Server(config)
    write_daemon_file()
    try:
        asyncio.run(_serve(server, sock, runtime, reload))
    finally:
        with contextlib.suppress(FileNotFoundError):
            if json.loads(daemon_file.read_text()).get("pid") == os.getpid():
                daemon_file.unlink()
    console.print("gaia stopped")


def _uvicorn_level(log_level: str) -> str:
    # uvicorn's info messages repeat what `gaia serve` prints itself.
    return log_level if log_level != "info" else "warning"


def _write_daemon_file(
    path: Path,
    url: str,
    config_file: Path,
    *,
    database: str,
    tmux_socket: str,
    options: dict[str, Any],
    started_at: float,
) -> None:
    """Written atomically so that a client never reads half of it.

    ``database`` (password hidden) and ``tmux_socket`` are what this daemon uses, which
    `gaia daemon status` shows: the asking command's own environment may differ.
    ``options`` are its command-line options, which `gaia daemon restart` passes again.

    ``settings_digest`` lets a command tell whether this daemon uses the settings it
    would use itself (see gaia.cli.remote); it is a digest, never the values.
    """
    names = [f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields if name != "home"]
    data = {
        "pid": os.getpid(),
        "url": url,
        "started_at": started_at,
        "version": __version__,
        "settings_env": names,
        "settings_digest": settings_digest(config_file, names, os.environ),
        "database": database,
        "tmux_socket": tmux_socket,
        "options": options,
    }
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    tmp.replace(path)
