"""Environment values reach the pane shells but never any command line (issue 15).

Every local user can read every process's argv in /proc, so a value passed as
``tmux ... -e KEY=VALUE`` is visible to all of them, for the life of the tmux server
when that call started it. A recording ``tmux`` first on PATH (the driver looks tmux up
there on every call) sees every tmux command line gaia makes, however short-lived.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from gaia.sessions.manager import SessionManager
from gaia.sessions.spec import SessionSpec
from tests.helpers import command_lines_with, record_tmux_calls
from tests.sessions.support import Tmux, pane_rows, wait_for_shell

# Unique per run: other test runs on this machine may show a fixed value on purpose.
TOKEN = f"s3cr3t-{uuid.uuid4().hex}"
# Characters tmux's parser treats specially must arrive as they are.
VALUE = f'{TOKEN} it\'s "$HOME"; \\ #{{pane_id}} ~ %if\r\nend;'


@pytest.fixture
def tmux_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir, log = record_tmux_calls(tmp_path)
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path('/usr/bin')}:{Path('/bin')}")
    return log


def assert_nowhere_on_a_command_line(log: Path) -> None:
    calls = log.read_text()
    assert "new-session" in calls or "source-file" in calls, "tmux was not recorded"
    assert TOKEN not in calls, "an environment value was on a tmux command line"
    assert command_lines_with(TOKEN) == []


def shell_environments(tmux: Tmux, session: str) -> dict[str, dict[str, str]]:
    """Each pane's shell environment (as the kernel has it), by gaia pane id."""
    found: dict[str, dict[str, str]] = {}
    for row in pane_rows(tmux, "pane_id", "pane_pid", "@gaia_pane_id", target=f"={session}"):
        # Until tmux's child has exec'd the shell, /proc shows the server's environment.
        wait_for_shell(tmux, row["pane_id"])
        raw = Path(f"/proc/{row['pane_pid']}/environ").read_bytes().decode()
        entries = (entry.split("=", 1) for entry in raw.split("\0") if "=" in entry)
        found[row["@gaia_pane_id"]] = {key: value for key, value in entries}
    return found


def private_spec() -> SessionSpec:
    return SessionSpec.model_validate(
        {
            "session_name": "private",
            "environment": {"GAIA_T_S": VALUE},
            "windows": [
                {
                    "environment": {"GAIA_T_W": VALUE},
                    "panes": [{"environment": {"GAIA_T_P": VALUE}}, None],
                },
                {"panes": [None]},
            ],
        }
    )


def test_session_window_and_pane_values_reach_shells_but_no_command_line(
    manager: SessionManager, tmux: Tmux, tmux_log: Path
) -> None:
    """Values reach the right shells of a new session and of windows and panes added to
    it, and no tmux client, tmux server or shell shows one on its command line."""
    view = manager.create(private_spec())
    extra = manager.create_window("private", name="extra", environment={"GAIA_T_NW": VALUE})
    split = manager.create_pane("private", window="extra", environment={"GAIA_T_SP": VALUE})

    assert TOKEN not in view.model_dump_json() + extra.model_dump_json()
    assert TOKEN not in split.model_dump_json()
    assert_nowhere_on_a_command_line(tmux_log)
    shells = shell_environments(tmux, "private")
    first, second = view.windows[0].panes
    assert len(shells) == 5
    assert all(env["GAIA_T_S"] == VALUE for env in shells.values())
    assert shells[first.id]["GAIA_T_W"] == shells[first.id]["GAIA_T_P"] == VALUE
    assert shells[second.id]["GAIA_T_W"] == VALUE
    assert "GAIA_T_P" not in shells[second.id]
    assert "GAIA_T_W" not in shells[view.windows[1].panes[0].id]
    assert shells[extra.panes[0].id]["GAIA_T_NW"] == VALUE
    assert shells[split.id]["GAIA_T_SP"] == VALUE
    assert "GAIA_T_NW" not in shells[split.id]
    # Only this session has the session's variables, not tmux's global environment.
    # (The tmux fixture reads text with universal newlines: compare up to the '\r'.)
    assert tmux("show-environment", "-t", "=private", "GAIA_T_S").startswith(f"GAIA_T_S={TOKEN}")
    assert "GAIA_T_S" not in tmux("show-environment", "-g")


def test_restore_after_tmux_restart_gives_the_values_back_privately(
    manager: SessionManager, tmux: Tmux, tmux_log: Path
) -> None:
    """A session restored after its tmux server died gets its values back, privately."""
    view = manager.create(private_spec())
    tmux("kill-server")
    manager.reconcile()
    tmux_log.write_text("")  # only the restore's own calls from here

    manager.restore("private")

    assert_nowhere_on_a_command_line(tmux_log)
    shells = shell_environments(tmux, "private")
    first, second = view.windows[0].panes
    assert all(env["GAIA_T_S"] == VALUE for env in shells.values())
    assert shells[first.id]["GAIA_T_P"] == VALUE
    assert "GAIA_T_P" not in shells[second.id]
