"""Typing into panes and reading them back: send_keys and capture on real tmux."""

from __future__ import annotations

import re
import threading
import time

import pytest

from gaia.errors import NotFoundError
from gaia.sessions.manager import SessionManager
from gaia.sessions.spec import SessionSpec
from tests.helpers import wait_until
from tests.sessions.support import (
    Tmux,
    capture,
    pane_rows,
    wait_for_command,
    wait_for_line,
    wait_for_shell,
)


def first_pane(manager: SessionManager, name: str) -> str:
    pane = manager.get(name).windows[0].panes[0].tmux_id
    assert pane is not None
    return pane


def test_send_keys_with_enter_runs_the_text(manager: SessionManager, tmux: Tmux) -> None:
    """Text sent with Enter is executed by the pane's shell."""
    manager.create(SessionSpec(session_name="keys"))
    pane = first_pane(manager, "keys")
    view = manager.send_keys("keys", "echo sent-$((6*7))")
    assert view.tmux_id == pane
    wait_for_line(tmux, pane, "sent-42")


def test_send_keys_without_enter_leaves_the_text_at_the_prompt(
    manager: SessionManager, tmux: Tmux
) -> None:
    """Without Enter the text is typed but not run until Enter comes."""
    manager.create(SessionSpec(session_name="noenter"))
    pane = first_pane(manager, "noenter")
    wait_for_shell(tmux, pane)
    manager.send_keys("noenter", "echo typed-$((6*7))", enter=False)
    wait_until(
        lambda: capture(tmux, pane)[-1].endswith("echo typed-$((6*7))"),
        what="the typed text at the prompt",
    )
    time.sleep(0.3)  # give a wrongly sent Enter time to show its effect
    assert "typed-42" not in capture(tmux, pane)
    manager.send_keys("noenter", [], enter=True)
    wait_for_line(tmux, pane, "typed-42")


def test_send_keys_literal_sends_key_names_as_text(manager: SessionManager, tmux: Tmux) -> None:
    """With literal=True 'C-c' is typed as three characters, not as Ctrl-C."""
    manager.create(SessionSpec(session_name="literal"))
    pane = first_pane(manager, "literal")
    manager.send_keys("literal", ["echo lit-", "C-c"], literal=True)
    wait_for_line(tmux, pane, "lit-C-c")


def test_send_keys_key_names_interrupt_a_running_command(
    manager: SessionManager, tmux: Tmux
) -> None:
    """The key name C-c interrupts a foreground command, well before it would end."""
    manager.create(SessionSpec(session_name="ctrlc"))
    pane = first_pane(manager, "ctrlc")
    manager.send_keys("ctrlc", "sleep 30")
    wait_for_command(tmux, pane, "sleep")
    started = time.monotonic()
    manager.send_keys("ctrlc", ["C-c"], enter=False)
    wait_for_shell(tmux, pane, timeout=5)
    assert time.monotonic() - started < 5
    assert "^C" in "\n".join(capture(tmux, pane))


def test_send_keys_without_literal_treats_key_names_as_keys(
    manager: SessionManager, tmux: Tmux
) -> None:
    """Without literal, a 'C-c' item cancels the line typed before it."""
    manager.create(SessionSpec(session_name="cancel"))
    pane = first_pane(manager, "cancel")
    wait_for_shell(tmux, pane)
    manager.send_keys("cancel", ["echo never-$((1+1))", "C-c"])
    manager.send_keys("cancel", "echo after-$((2+2))")
    lines = wait_for_line(tmux, pane, "after-4")
    assert "never-2" not in lines


def test_send_keys_to_unknown_window_or_pane_is_not_found(
    manager: SessionManager, tmux: Tmux
) -> None:
    """An unknown window, pane or session raises NotFoundError and types nothing."""
    manager.create(SessionSpec(session_name="targets"))
    pane = first_pane(manager, "targets")
    with pytest.raises(NotFoundError, match="'nowin'"):
        manager.send_keys("targets", "echo x", window="nowin")
    with pytest.raises(NotFoundError, match="'7'"):
        manager.send_keys("targets", "echo x", window="0", pane="7")
    with pytest.raises(NotFoundError, match="'nopane'"):
        manager.send_keys("targets", "echo x", pane="nopane")
    with pytest.raises(NotFoundError, match="'nosession'"):
        manager.send_keys("nosession", "echo x")
    wait_for_shell(tmux, pane)
    assert "echo x" not in "\n".join(capture(tmux, pane, history=True))


def test_send_keys_to_a_pane_by_gaia_id(manager: SessionManager, tmux: Tmux) -> None:
    """A pane named by its gaia id (without a window) gets the keys, not the active pane."""
    view = manager.create(
        SessionSpec.model_validate({"session_name": "byid", "windows": [{}, {"panes": [None]}]})
    )
    target = view.windows[0].panes[0]
    assert target.tmux_id is not None
    manager.send_keys("byid", "echo to-first-window", pane=target.id)
    wait_for_line(tmux, target.tmux_id, "to-first-window")
    other = view.windows[1].panes[0].tmux_id
    assert other is not None
    assert "to-first-window" not in "\n".join(capture(tmux, other, history=True))


def run_and_wait(manager: SessionManager, tmux: Tmux, name: str, command: str) -> str:
    """Type ``command; echo done-marker`` and wait for the prompt after the marker."""
    pane = first_pane(manager, name)
    manager.send_keys(name, f"{command}; echo done-marker")

    def prompt_after_marker() -> bool:
        lines = capture(tmux, pane)
        return "done-marker" in lines and lines[-1] != "done-marker"

    wait_until(prompt_after_marker, what="the prompt after done-marker")
    return pane


def test_capture_visible_screen_and_history(manager: SessionManager, tmux: Tmux) -> None:
    """capture() shows the visible screen; history=True also the lines scrolled off."""
    manager.create(SessionSpec(session_name="hist", start_directory="/", width=80, height=24))
    run_and_wait(manager, tmux, "hist", "seq 1 200")

    visible = manager.capture("hist")
    assert len(visible.lines) <= 24
    assert "200" in visible.lines
    assert "1" not in visible.lines
    assert "100" not in visible.lines
    assert visible.content == "\n".join(visible.lines)

    full = manager.capture("hist", history=True)
    numbers = [line for line in full.lines if line.isdigit()]
    assert numbers == [str(n) for n in range(1, 201)]


def test_capture_start_and_end_select_lines(manager: SessionManager, tmux: Tmux) -> None:
    """start/end pick tmux line numbers: 0 is the top of the screen, negatives the history."""
    manager.create(SessionSpec(session_name="range", start_directory="/", width=80, height=24))
    run_and_wait(manager, tmux, "range", "seq 1 200")
    # The 24 screen lines end "200", "done-marker", prompt: so they start at "179".
    assert manager.capture("range", start=0, end=0).lines == ["179"]
    assert manager.capture("range", start=-3, end=-1).lines == ["176", "177", "178"]
    assert manager.capture("range", start=20, end=21).lines == ["199", "200"]
    assert manager.capture("range", end=1).lines == ["179", "180"]


def test_capture_join_joins_a_wrapped_line(manager: SessionManager, tmux: Tmux) -> None:
    """join=True returns a line longer than the pane as one line; without it, it is wrapped."""
    manager.create(SessionSpec(session_name="wrap", start_directory="/", width=80, height=24))
    run_and_wait(manager, tmux, "wrap", "printf '%0150d\\n' 0")
    long_line = "0" * 150
    assert long_line not in manager.capture("wrap").lines
    assert "0" * 80 in manager.capture("wrap").lines
    assert long_line in manager.capture("wrap", join=True).lines


def test_capture_escapes_keeps_colours(manager: SessionManager, tmux: Tmux) -> None:
    """escapes=True includes the colour escape sequences; the plain capture has none."""
    manager.create(SessionSpec(session_name="colour", start_directory="/"))
    run_and_wait(manager, tmux, "colour", "printf '\\033[31mred\\033[0m\\n'")
    plain = manager.capture("colour")
    assert "red" in plain.lines
    assert "\x1b" not in plain.content
    coloured = manager.capture("colour", escapes=True).content
    assert "\x1b[31mred" in coloured


def test_concurrent_send_keys_to_different_panes_do_not_mix(
    manager: SessionManager, tmux: Tmux
) -> None:
    """Four threads typing 20 lines each into their own pane: every pane gets only its own."""
    count, lines = 4, 20
    manager.create(
        SessionSpec.model_validate(
            {
                "session_name": "conc",
                "start_directory": "/",
                "width": 200,
                "height": 100,
                "windows": [{"layout": "tiled", "panes": [None] * count}],
            }
        )
    )
    panes = [p.id for p in manager.get("conc").windows[0].panes]
    tmux_ids = [r["pane_id"] for r in pane_rows(tmux, "pane_id", target="conc")]
    for pane in tmux_ids:
        wait_for_shell(tmux, pane)
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def work(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            for i in range(lines):
                manager.send_keys("conc", f"echo pane{n}-{i}", pane=panes[n])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []

    for n, pane in enumerate(tmux_ids):
        text = wait_for_line(tmux, pane, f"pane{n}-{lines - 1}")
        outputs = [line for line in text if re.fullmatch(r"pane\d+-\d+", line)]
        assert outputs == [f"pane{n}-{i}" for i in range(lines)]
        mentioned = set(re.findall(r"pane(\d+)-\d+", "\n".join(text)))
        assert mentioned == {str(n)}
