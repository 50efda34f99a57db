"""``gaia serve``: the daemon (REST API, and the components that run inside it)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import click
import uvicorn

from gaia import __version__
from gaia.api import create_app
from gaia.cli.common import EXIT_FAILED, console, err_console, open_runtime
from gaia.cli.remote import settings_digest
from gaia.config import ENV_PREFIX, Settings
from gaia.runtime import settle_heap

__all__ = ["serve"]


class _Server(uvicorn.Server):
    """uvicorn, minus re-raising SIGTERM after shutdown: a daemon stopped on request exits 0.

    A stop signal also tells the runtime at once, so that requests that only wait end
    before uvicorn waits for open requests to finish.
    """

    def __init__(self, config: uvicorn.Config, on_stop: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_stop = on_stop

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_stop()
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {signum: signal.signal(signum, self.handle_exit) for signum in signals}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


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
    runtime = open_runtime(host=host, port=port)
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
    app = create_app(runtime)
    settle_heap()  # the app's routes and schemas live as long as the daemon
    config = uvicorn.Config(
        app,
        log_level=settings.log_level if settings.log_level != "info" else "warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=30,
    )
    server = _Server(config, on_stop=runtime.begin_stop)
    daemon_file = runtime.home.daemon_file
    _write_daemon_file(
        daemon_file,
        url,
        runtime.home.config_file,
        database=database,
        tmux_socket=settings.tmux_socket,
    )
    try:
        server.run(sockets=[sock])
    finally:
        with contextlib.suppress(FileNotFoundError):
            if json.loads(daemon_file.read_text()).get("pid") == os.getpid():
                daemon_file.unlink()
    console.print("gaia stopped")


def _write_daemon_file(
    path: Path, url: str, config_file: Path, *, database: str, tmux_socket: str
) -> None:
    """Written atomically so that a client never reads half of it.

    ``database`` (password hidden) and ``tmux_socket`` are what this daemon uses, which
    `gaia daemon status` shows: the asking command's own environment may differ.

    ``settings_digest`` lets a command tell whether this daemon uses the settings it
    would use itself (see gaia.cli.remote); it is a digest, never the values.
    """
    names = [f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields if name != "home"]
    data = {
        "pid": os.getpid(),
        "url": url,
        "started_at": time.time(),
        "version": __version__,
        "settings_env": names,
        "settings_digest": settings_digest(config_file, names, os.environ),
        "database": database,
        "tmux_socket": tmux_socket,
    }
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    tmp.replace(path)
