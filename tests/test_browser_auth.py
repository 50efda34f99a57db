"""Browser sessions and login codes: single use, expiry, constant bounds."""

from __future__ import annotations

from gaia.browser_auth import CODE_TTL, MAX_SESSIONS, SESSION_TTL, BrowserAuth


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_token_signs_in_with_a_fresh_opaque_session_each_time() -> None:
    auth = BrowserAuth("the-token", Clock())
    first, second = auth.sign_in("the-token"), auth.sign_in(" the-token\n")
    assert first and second and first != second
    assert "the-token" not in first and len(first) >= 40
    assert auth.valid(first) and auth.valid(second)
    for wrong in ("", "the-toke", "the-token2", "THE-TOKEN"):
        assert auth.sign_in(wrong) is None
    assert not auth.valid(None) and not auth.valid("") and not auth.valid("made-up")


def test_a_code_works_once_and_expires() -> None:
    clock = Clock()
    auth = BrowserAuth("the-token", clock)
    code = auth.issue_code()
    assert auth.sign_in(code) is not None
    assert auth.sign_in(code) is None  # used up
    late = auth.issue_code()
    clock.now += CODE_TTL + 1
    assert auth.sign_in(late) is None


def test_sessions_expire_unused_and_sign_out_ends_them() -> None:
    clock = Clock()
    auth = BrowserAuth("t", clock)
    kept, idle, ended = auth.sign_in("t"), auth.sign_in("t"), auth.sign_in("t")
    clock.now += SESSION_TTL / 2
    assert auth.valid(kept)  # each use extends it
    clock.now += SESSION_TTL / 2 + 1
    assert auth.valid(kept) and not auth.valid(idle)
    auth.sign_out(ended)
    assert not auth.valid(ended)


def test_a_flood_of_sign_ins_keeps_a_bounded_table() -> None:
    auth = BrowserAuth("t", Clock())
    sessions = [auth.sign_in("t") for _ in range(MAX_SESSIONS + 10)]
    assert not auth.valid(sessions[0]) and auth.valid(sessions[-1])
    assert len(auth._sessions) == MAX_SESSIONS
