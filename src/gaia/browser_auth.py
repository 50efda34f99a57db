"""Browser sign-in for the dashboard: opaque session ids and single-use login codes.

A browser never holds the API token: it trades the token (or a short-lived code that
`gaia open` asks for) for a random session id, kept in an HttpOnly cookie. Sessions and
codes live in the daemon's memory, so a daemon restart signs every browser out.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable

__all__ = ["CODE_TTL", "COOKIE_NAME", "SESSION_TTL", "BrowserAuth"]

COOKIE_NAME = "gaia_session"
CODE_TTL = 120.0  # seconds a code from `gaia open` stays valid (it is used once)
SESSION_TTL = 7 * 24 * 3600.0  # a signed-in browser stays signed in this long unused
MAX_SESSIONS = 1000  # the oldest go first: a flood of sign-ins cannot grow memory


class BrowserAuth:
    """The daemon's signed-in browsers; thread-safe (sync routes run in threads)."""

    def __init__(self, token: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._token = token.encode()
        self._clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, float] = {}  # code -> expiry
        self._sessions: dict[str, float] = {}  # session id -> expiry

    def issue_code(self, ttl: float = CODE_TTL) -> str:
        """A new single-use login code."""
        code = secrets.token_urlsafe(18)
        with self._lock:
            self._prune()
            self._codes[code] = self._clock() + ttl
        return code

    def sign_in(self, credential: str) -> str | None:
        """A new session id for the API token or an unused, unexpired code; else None."""
        given = credential.strip().encode()
        if not given:
            return None
        with self._lock:
            self._prune()
            valid = hmac.compare_digest(given, self._token)
            if not valid:
                # Compared in constant time with each live code, and used up when it matches.
                for code in list(self._codes):
                    if hmac.compare_digest(given, code.encode()):
                        del self._codes[code]
                        valid = True
            if not valid:
                return None
            session = secrets.token_urlsafe(32)
            self._sessions[session] = self._clock() + SESSION_TTL
            while len(self._sessions) > MAX_SESSIONS:
                del self._sessions[next(iter(self._sessions))]
            return session

    def valid(self, session: str | None) -> bool:
        """Whether ``session`` is signed in; each use extends it."""
        if not session:
            return False
        with self._lock:
            expiry = self._sessions.get(session)
            now = self._clock()
            if expiry is None or expiry <= now:
                self._sessions.pop(session, None)
                return False
            self._sessions[session] = now + SESSION_TTL
            return True

    def sign_out(self, session: str | None) -> None:
        with self._lock:
            self._sessions.pop(session or "", None)

    def _prune(self) -> None:
        now = self._clock()
        for table in (self._codes, self._sessions):
            for key in [k for k, expiry in table.items() if expiry <= now]:
                del table[key]
