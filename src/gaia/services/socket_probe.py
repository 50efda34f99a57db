"""Plain-HTTP and TCP health probes as event-loop callbacks on a raw socket.

A thousand services probed every second is a thousand probes a second in the daemon's
one event loop. Each probe here is a non-blocking socket and three callbacks (connected,
readable, timed out): no task, no coroutine, no stream reader and writer, no transport.
Only an IP literal can be connected to this way (a host name needs a resolver, which
blocks): ``target()`` says whether a check can be probed so; the others go through the
coroutines of ``gaia.services.health``.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from gaia.services.spec import ServiceSpec

__all__ = ["ProbeResult", "SocketProbe", "Target", "http_status", "target"]

_MAX_STATUS_LINE = 8192


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    latency_ms: float
    detail: str


@dataclass(frozen=True)
class Target:
    """Where a check connects, and what it sends (None: a TCP check sends nothing)."""

    family: socket.AddressFamily
    address: tuple[str, int]
    request: bytes | None
    expected_status: int | None
    timeout: float


def target(spec: ServiceSpec) -> Target | None:
    """The socket probe of the service's check: for plain HTTP and TCP checks of an IP
    address; None for the rest (https, a host name, exec, or no check)."""
    check = spec.health_check
    if check is None:
        return None
    if check.type == "tcp":
        host, port, request = check.host, spec.health_port or 0, None
    elif check.type == "http":
        parts = urlsplit(spec.health_endpoint or "")
        if parts.scheme != "http":
            return None
        try:
            port = parts.port or 80
        except ValueError:  # a port out of range: the coroutine probe reports it
            return None
        host = parts.hostname or "127.0.0.1"
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: gaia-health\r\n"
            "Connection: close\r\n\r\n"
        ).encode("latin-1", errors="replace")
    else:
        return None
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    return Target(family, (str(ip), port), request, check.expected_status, check.timeout)


def http_status(line: bytes) -> int:
    """The status code of an HTTP status line; ValueError if it is not one."""
    fields = line.decode("latin-1").split()
    if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
        shown = line[:60].rstrip(b"\r\n")
        raise ValueError(f"not an HTTP response: {shown!r}")
    return int(fields[1])


class SocketProbe:
    """One probe under way; ``on_done`` gets its result once, in the loop, later."""

    __slots__ = (
        "_buffer",
        "_done",
        "_fd",
        "_loop",
        "_on_done",
        "_pending",
        "_sock",
        "_started",
        "_target",
        "_timer",
    )

    def __init__(self, target: Target, on_done: Callable[[ProbeResult], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._target = target
        self._on_done = on_done
        self._done = False
        self._buffer = b""
        self._pending = target.request or b""
        self._started = time.perf_counter()
        self._sock = socket.socket(target.family, socket.SOCK_STREAM)
        self._sock.setblocking(False)
        self._fd = self._sock.fileno()
        self._timer = self._loop.call_later(target.timeout, self._timed_out)
        code = self._sock.connect_ex(target.address)
        if code not in (0, errno.EINPROGRESS):
            self._loop.call_soon(self._failed, code)  # from the loop, not inside the caller
        elif target.request is None:
            self._loop.add_writer(self._fd, self._connected)
        elif not self._send():
            # On 127.0.0.1 the handshake is done by the time connect returns, and the
            # request goes at once: no wait for writability (two epoll_ctl calls fewer).
            self._loop.add_writer(self._fd, self._connected)

    def cancel(self) -> None:
        """Stop without a result (the service stopped meanwhile)."""
        self._close()

    def _connected(self) -> None:
        code = self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self._failed(code)
        elif self._target.request is None:
            self._finish(True, "connected to {}:{}".format(*self._target.address))
        elif self._send():
            self._loop.remove_writer(self._fd)

    def _send(self) -> bool:
        """Send what is left of the request; whether it is all sent (or the probe over)."""
        try:
            sent = self._sock.send(self._pending)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as exc:
            if exc.errno == errno.ENOTCONN:  # still connecting
                return False
            # A refusal can only show here: connect returned before the answer came.
            refused = exc.errno == errno.ECONNREFUSED
            self._loop.call_soon(self._failed, exc.errno or errno.EIO, refused)
            return True
        self._pending = self._pending[sent:]
        if self._pending:
            return False
        self._loop.add_reader(self._fd, self._readable)
        return True

    def _readable(self) -> None:
        try:
            data = self._sock.recv(4096)
        except BlockingIOError:
            return
        except OSError as exc:
            self._failed(exc.errno or errno.EIO, False)
            return
        self._buffer += data
        line, newline, _ = self._buffer.partition(b"\n")
        if not newline and data and len(self._buffer) < _MAX_STATUS_LINE:
            return  # the status line is not complete yet
        try:
            status = http_status(line)
        except ValueError as exc:
            self._finish(False, str(exc))
            return
        expected = self._target.expected_status
        ok = status == expected if expected is not None else 200 <= status < 400
        self._finish(ok, f"HTTP {status}")

    def _timed_out(self) -> None:
        self._finish(False, f"timed out after {self._target.timeout:g}s")

    def _failed(self, code: int, connecting: bool = True) -> None:
        host, port = self._target.address
        what = "cannot connect to" if connecting else "connection to"
        self._finish(False, f"{what} {host}:{port}: {os.strerror(code)}")

    def _finish(self, ok: bool, detail: str) -> None:
        if self._done:
            return
        self._close()
        self._on_done(ProbeResult(ok, (time.perf_counter() - self._started) * 1000, detail))

    def _close(self) -> None:
        if self._done:
            return
        self._done = True
        self._timer.cancel()
        self._loop.remove_writer(self._fd)
        self._loop.remove_reader(self._fd)
        self._sock.close()
