"""Every setting is classified for `gaia daemon reload`, and changes are named precisely."""

from __future__ import annotations

from pathlib import Path

from gaia.config import AgentSettings, Settings, load_settings
from gaia.reload import IDENTITY_SETTINGS, LIVE_SETTINGS, RESTART_SETTINGS, changed_settings


def test_every_setting_is_either_live_or_needs_a_restart() -> None:
    groups = [set(LIVE_SETTINGS), set(RESTART_SETTINGS), set(IDENTITY_SETTINGS)]
    assert set().union(*groups) == set(Settings.model_fields)
    assert sum(len(group) for group in groups) == len(Settings.model_fields)


def test_changed_settings_names_each_agent_table(tmp_path: Path) -> None:
    old = load_settings(home=tmp_path, environ={}, agents={"a": AgentSettings(command="x")})
    new = old.model_copy(
        update={
            "port": 9000,
            "agents": {"a": AgentSettings(command="x", max_concurrency=5), "b": AgentSettings()},
        }
    )
    assert changed_settings(old, new) == ["port", "agents.a", "agents.b"]
    assert changed_settings(old, old) == []
