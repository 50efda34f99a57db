"""Commands answered by a running daemon, from a process that imports almost nothing.

`gaia session send` typed in a loop by an agent, or `gaia session up`, should cost what
tmux costs, not what importing SQLAlchemy and libtmux costs (~0.3 s of every command).
When the daemon of this GAIA_HOME runs *with the same settings as this command would
use*, such commands ask it instead (as the tmux client asks the tmux server). Which
settings a process uses is a function of config.toml and the GAIA_* variables, so the
daemon publishes a digest of those in its daemon file and a command compares its own.

Nothing here imports more than the standard library and ``gaia.errors``.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gaia.errors import (
    ConflictError,
    GaiaError,
    NoServerError,
    NotFoundError,
    Problem,
    ValidationError,
)
from gaia.home import default_home

__all__ = [
    "DaemonUnavailable",
    "Remote",
    "error_from_response",
    "find_remote",
    "settings_digest",
]


class DaemonUnavailable(NoServerError):
    """No daemon could take the request, and none did anything: do the work locally.

    A NoServerError, so that a command with no local fallback reports it as one."""


def settings_digest(config_file: Path, names: Iterable[str], environ: Mapping[str, str]) -> str:
    """A digest of everything that decides a process's settings (never the values)."""
    digest = hashlib.sha256()
    try:
        digest.update(config_file.read_bytes())
    except OSError:
        digest.update(b"\0no config file\0")
    for name in sorted(names):
        value = environ.get(name)
        digest.update(f"\0{name}\0{'-' if value is None else '=' + value}".encode())
    return digest.hexdigest()


# What a status means to someone at a terminal, when the answer says no more.
_STATUS_HINTS = {
    401: "the gaia daemon refused the API token (is $GAIA_HOME/token the daemon's?)",
    403: "the gaia daemon refused the request's Host or Origin",
    413: "the request is too large for the gaia daemon",
    415: "the gaia daemon does not take this content type",
    503: "the gaia daemon cannot do this now",
}


def error_from_response(status: int, body: bytes) -> GaiaError:
    """The gaia error behind an API problem response (RFC 9457, with gaia's ``error``).

    Bad input (400, 413, 415, 422) becomes a ValidationError, so that the command exits
    2; a state conflict (409), a missing resource (404) and the rest exit 1.
    """
    try:
        document = json.loads(body)
        error = document.get("error") or {}
        message = str(error.get("message") or document.get("detail") or "")
        details = error.get("details")
    except (ValueError, TypeError, AttributeError):
        text = body.decode(errors="replace")[:500]
        return GaiaError(f"{_STATUS_HINTS.get(status, f'daemon error {status}')}: {text}")
    if status == 404:
        return NotFoundError(message, details=details)
    if status == 409:
        return ConflictError(message, details=details)
    if status in (400, 413, 415, 422):
        fields = Problem.__dataclass_fields__
        problems = [
            Problem(**{k: v for k, v in d.items() if k in fields})
            for d in (details if isinstance(details, list) else [])
            if isinstance(d, dict) and "message" in d
        ]
        return ValidationError(message or _STATUS_HINTS.get(status, "invalid request"), problems)
    hint = _STATUS_HINTS.get(status)
    if hint and message:
        return GaiaError(f"{hint}: {message}", details=details)
    return GaiaError(message or hint or f"daemon error {status}", details=details)


@dataclass(frozen=True)
class Remote:
    """The daemon's API, over one HTTP connection per call."""

    host: str
    port: int
    token: str

    def call(self, method: str, path: str, body: Any = None, *, timeout: float = 60.0) -> Any:
        """JSON in, JSON out; API errors raised as gaia errors.

        Raises DaemonUnavailable only when the daemon surely did nothing: it could not be
        reached, or it refused the token (a daemon file left behind by another one).
        """
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            try:
                connection.connect()
            except OSError as exc:
                raise DaemonUnavailable(str(exc)) from None
            try:
                connection.request(method, f"/api/orchestration{path}", payload, headers)
                response = connection.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                message = f"the gaia daemon at {self.host}:{self.port} failed: {exc}"
                raise GaiaError(message) from None
        finally:
            connection.close()
        if response.status == 401:
            raise DaemonUnavailable("the daemon refused the token")
        if response.status >= 400:
            raise error_from_response(response.status, data)
        return json.loads(data) if data else None


def find_remote(environ: Mapping[str, str] | None = None) -> Remote | None:
    """The daemon of this GAIA_HOME if it runs with this process's settings; else None."""
    env = os.environ if environ is None else environ
    if env.get("GAIA_NO_DAEMON"):
        return None
    home = default_home(env).resolve()
    try:
        info = json.loads((home / "daemon.json").read_text())
        pid, url = int(info["pid"]), urlsplit(str(info["url"]))
        names, digest = list(info["settings_env"]), str(info["settings_digest"])
        token = (home / "token").read_text().strip()
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no daemon, or one too old to publish its settings
    if settings_digest(home / "config.toml", names, env) != digest:
        return None
    with contextlib.suppress(PermissionError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
    if not url.hostname or url.port is None:
        return None
    return Remote(host=url.hostname, port=url.port, token=token)
