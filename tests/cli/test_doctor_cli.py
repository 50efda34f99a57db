"""`gaia doctor` as a subprocess, with PATH holding fake tools, or nothing at all."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GAIA_BIN


def fake_tool(directory: Path, name: str, output: str, status: int = 0) -> Path:
    """An executable that prints ``output`` whatever it is asked, as ``--version`` would."""
    path = directory / name
    path.write_text(f"#!/bin/sh\necho '{output}'\nexit {status}\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    directory = tmp_path / "bin"
    directory.mkdir()
    fake_tool(directory, "tmux", "tmux 3.4")
    fake_tool(directory, "node", "v20.11.1")
    fake_tool(directory, "npm", "10.2.4")
    fake_tool(directory, "claude", "1.0.3 (Claude Code)")
    return directory


def doctor(env: dict[str, str], path: str, *args: str) -> subprocess.CompletedProcess[str]:
    # The gaia script's shebang names the interpreter by its absolute path: PATH may be empty.
    return subprocess.run(
        [str(GAIA_BIN), "doctor", *args],
        env={**env, "PATH": path},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def checks(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    report = json.loads(result.stdout)
    return {check["name"]: check for check in report["checks"]}


def test_everything_needed_is_found(cli_env: dict[str, str], tools: Path) -> None:
    started = time.monotonic()
    result = doctor(cli_env, str(tools), "--json")
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True
    found = checks(result)
    assert found["tmux"]["status"] == "ok"
    assert found["tmux"]["version"] == "tmux 3.4"
    assert found["tmux"]["path"] == str(tools / "tmux")
    assert (found["node"]["version"], found["npm"]["version"]) == ("v20.11.1", "10.2.4")
    assert found["claude"]["status"] == "ok"
    assert found["claude"]["version"] == "1.0.3 (Claude Code)"
    # Optional agent CLIs are warnings with a way to install them, not failures.
    assert found["gemini"]["status"] == "warning"
    assert found["gemini"]["hint"] == "optional agent CLI: npm install -g @google/gemini-cli"
    assert "agents" not in found  # one agent CLI is enough
    assert found["daemon"] == {**found["daemon"], "status": "info"}
    assert found["daemon"]["summary"].startswith("not running")
    assert found["containment"]["details"]["kind"] in ("cgroup", "process-group")
    assert found["home"]["details"]["home"] == cli_env["GAIA_HOME"]
    assert took < 10  # probes run in parallel, each bounded


def test_empty_path_fails_on_tmux_and_warns_about_the_rest(cli_env: dict[str, str]) -> None:
    result = doctor(cli_env, "")
    assert result.returncode == 1
    assert result.stderr.strip().endswith("gaia is missing what it needs: tmux")
    lines = result.stdout.splitlines()
    tmux = next(i for i, line in enumerate(lines) if " tmux " in line)
    assert lines[tmux].split() == ["FAIL", "tmux", "missing", "(not", "found", "on", "PATH)"]
    assert "apt install tmux" in lines[tmux + 1]
    for name in ("node", "npm", "claude", "gemini", "codex"):
        assert any(line.split()[:2] == ["warn", name] for line in lines), name
    assert any(line.split()[:2] == ["warn", "agents"] for line in lines)


def test_too_old_or_broken_tools_are_reported(cli_env: dict[str, str], tools: Path) -> None:
    fake_tool(tools, "tmux", "tmux 2.9")
    fake_tool(tools, "codex", "segfault", status=3)
    result = doctor(cli_env, str(tools), "--json")
    assert result.returncode == 1
    found = checks(result)
    assert found["tmux"]["status"] == "error"
    assert found["tmux"]["summary"] == "tmux 2.9 is too old (gaia needs 3.2 or newer)"
    assert found["codex"]["status"] == "warning"
    assert found["codex"]["summary"] == "found, but --version exited with status 3: segfault"


def test_a_configured_agent_command_is_the_one_probed(
    cli_env: dict[str, str], tools: Path, gaia_home: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    gemini = fake_tool(elsewhere, "my-gemini", "0.9.0")
    (gaia_home / "config.toml").write_text(f'[agents.gemini]\ncommand = "{gemini}"\n')
    found = checks(doctor(cli_env, str(tools), "--json"))
    assert (found["gemini"]["status"], found["gemini"]["path"]) == ("ok", str(gemini))


def test_containment_follows_the_setting(cli_env: dict[str, str], tools: Path) -> None:
    env = {**cli_env, "GAIA_CONTAINMENT": "process-group"}
    found = checks(doctor(env, str(tools), "--json"))
    assert found["containment"]["status"] == "info"
    assert found["containment"]["summary"] == (
        "process group + sweep (turned off by containment = process-group)"
    )


def test_an_invalid_config_is_a_failure_that_names_the_key(
    cli_env: dict[str, str], tools: Path, gaia_home: Path
) -> None:
    (gaia_home / "config.toml").write_text('containment = "jail"\n')
    result = doctor(cli_env, str(tools), "--json")
    assert result.returncode == 1
    found = checks(result)
    assert found["config"]["status"] == "error"
    assert "containment" in found["config"]["summary"]
    assert found["tmux"]["status"] == "ok"  # the rest is still checked
