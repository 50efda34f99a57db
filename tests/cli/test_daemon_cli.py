"""`gaia daemon status` as a subprocess, against a real background daemon."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import wait_until

GAIA = Path(sys.executable).parent / "gaia"


def gaia(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(GAIA), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def env(cli_env: dict[str, str], gaia_home: Path) -> Iterator[dict[str, str]]:
    """CLI environment on a free port; a daemon started by the test is stopped after."""
    cli_env["GAIA_PORT"] = "0"
    yield cli_env
    daemon_file = gaia_home / "daemon.json"
    if daemon_file.exists():
        pid = json.loads(daemon_file.read_text())["pid"]
        subprocess.run([str(GAIA), "daemon", "stop"], env=cli_env, timeout=60, check=False)
        wait_until(lambda: pid_gone(pid), timeout=10, what="the daemon to exit")


def test_status_without_a_daemon_says_so(env: dict[str, str], gaia_home: Path) -> None:
    result = gaia(env, "daemon", "status")
    assert result.returncode == 1
    assert f"no gaia daemon is running for {gaia_home.resolve()}" in result.stdout


def test_status_prints_url_token_file_database_and_socket(
    env: dict[str, str], gaia_home: Path, tmp_path: Path, tmux_socket: str
) -> None:
    """status shows what the daemon uses, even when the asking shell's settings differ."""
    database = tmp_path / "elsewhere.db"
    started = gaia({**env, "GAIA_DATABASE_URL": f"sqlite:///{database}"}, "service", "list")
    assert started.returncode == 0, started.stderr
    info = json.loads((gaia_home / "daemon.json").read_text())

    # Asked without GAIA_DATABASE_URL: the daemon's database is shown, not the default.
    result = gaia(env, "daemon", "status")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    home = gaia_home.resolve()
    lines = result.stdout.splitlines()
    assert lines[0] == f"gaia daemon running: pid {info['pid']}, {info['url']}"
    fields = {k.strip(): v.strip() for k, _, v in (line.partition(": ") for line in lines[1:])}
    assert fields["API"].startswith(f"{info['url']}/api/orchestration")
    assert fields["token file"].startswith(f"{home / 'token'} ")
    assert fields["database"] == f"sqlite:///{database}"
    assert fields["home"] == str(home)
    assert fields["tmux socket"] == tmux_socket


def test_url_and_token_print_what_a_script_needs(env: dict[str, str], gaia_home: Path) -> None:
    """`gaia daemon url` and `gaia daemon token`: one line each, usable with curl as is."""
    for command in ("url", "token"):
        missing = gaia(env, "daemon", command)
        assert missing.returncode == 1
        assert missing.stdout == ""
        assert "gaia serve" in missing.stderr or "no gaia daemon" in missing.stderr
    started = gaia(env, "service", "list")
    assert started.returncode == 0, started.stderr
    url = gaia(env, "daemon", "url")
    token = gaia(env, "daemon", "token")
    assert url.returncode == 0 and token.returncode == 0, (url.stderr, token.stderr)
    assert url.stdout == f"{daemon_info(gaia_home)['url']}\n"
    assert token.stdout == (gaia_home / "token").read_text()
    answer = httpx.get(
        f"{url.stdout.strip()}/api/orchestration/services",
        headers={"Authorization": f"Bearer {token.stdout.strip()}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def test_status_with_a_broken_config_still_reports_the_running_daemon(
    env: dict[str, str], gaia_home: Path
) -> None:
    """The daemon runs on the settings it started with: status says where, and warns."""
    started = gaia(env, "service", "list")
    assert started.returncode == 0, started.stderr
    (gaia_home / "config.toml").write_text("port = [\n", encoding="utf-8")
    result = gaia(env, "daemon", "status")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    info = daemon_info(gaia_home)
    assert result.stdout.splitlines()[0] == f"gaia daemon running: pid {info['pid']}, {info['url']}"
    assert "warning:" in result.stderr and "config.toml:" in result.stderr, result.stderr
    (gaia_home / "config.toml").unlink()  # for the fixture's `daemon stop`


def daemon_info(gaia_home: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((gaia_home / "daemon.json").read_text())
    return data


def test_restart_keeps_the_port_and_answers_again(env: dict[str, str], gaia_home: Path) -> None:
    # With no daemon running, restart starts one.
    first = gaia(env, "daemon", "restart")
    assert first.returncode == 0, first.stderr
    assert "no gaia daemon was running" in first.stdout
    old = daemon_info(gaia_home)
    assert f"gaia daemon running: pid {old['pid']}, {old['url']}" in first.stdout

    result = gaia(env, "daemon", "restart")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    new = daemon_info(gaia_home)
    assert new["pid"] != old["pid"]
    assert pid_gone(int(str(old["pid"])))
    # GAIA_PORT=0 let the system choose the port: the restarted daemon asked for it again.
    assert new["url"] == old["url"]
    assert f"gaia daemon (pid {old['pid']}) stopped" in result.stdout
    assert f"gaia daemon running: pid {new['pid']}, {new['url']}" in result.stdout
    health = httpx.get(f"{new['url']}/api/orchestration/health", timeout=5, trust_env=False)
    assert health.status_code == 200
    status = gaia(env, "daemon", "status")
    assert status.stdout.splitlines()[0] == f"gaia daemon running: pid {new['pid']}, {new['url']}"


def test_restart_refuses_a_broken_config_and_leaves_the_daemon_running(
    env: dict[str, str], gaia_home: Path
) -> None:
    assert gaia(env, "daemon", "restart").returncode == 0
    old = daemon_info(gaia_home)
    (gaia_home / "config.toml").write_text("log_level = 'loud'\n", encoding="utf-8")
    result = gaia(env, "daemon", "restart")
    assert result.returncode == 2
    assert "'log_level'" in result.stderr and str(gaia_home.resolve()) in result.stderr
    assert daemon_info(gaia_home)["pid"] == old["pid"]
    health = httpx.get(f"{old['url']}/api/orchestration/health", timeout=5, trust_env=False)
    assert health.status_code == 200


def test_reload_says_what_changed_applied_and_needs_a_restart(
    env: dict[str, str], gaia_home: Path
) -> None:
    assert gaia(env, "daemon", "restart").returncode == 0
    pid = daemon_info(gaia_home)["pid"]
    config = gaia_home / "config.toml"
    config.write_text("service_history_limit = 50\nhost = 'localhost'\n", encoding="utf-8")
    result = gaia(env, "daemon", "reload")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"reloaded {config.resolve()}"
    assert lines[1].split() == ["applied:", "service_history_limit"]
    assert lines[2].split() == ["needs", "restart:", "host"]

    as_json = gaia(env, "daemon", "reload", "--json")
    assert json.loads(as_json.stdout) == {
        "config_file": str(config.resolve()),
        "changed": ["host"],
        "applied": [],
        "restart_needed": ["host"],
    }

    # A broken config.toml: the located error, exit 2, and the same daemon still answers.
    config.write_text("service_history_limit = 50\n[agents\n", encoding="utf-8")
    broken = gaia(env, "daemon", "reload")
    assert broken.returncode == 2
    assert f"{config.resolve()}:2:" in broken.stderr
    assert "the daemon keeps its settings" in broken.stderr
    assert "Traceback" not in broken.stderr
    assert daemon_info(gaia_home)["pid"] == pid
    url = daemon_info(gaia_home)["url"]
    assert httpx.get(f"{url}/api/orchestration/health", timeout=5, trust_env=False).is_success


def test_reload_without_a_daemon_says_so(env: dict[str, str], gaia_home: Path) -> None:
    result = gaia(env, "daemon", "reload")
    assert result.returncode == 1
    assert f"no gaia daemon is running for {gaia_home.resolve()}" in result.stdout
    assert not (gaia_home / "daemon.json").exists()


def test_restart_brings_a_running_service_back_in_a_new_process(
    env: dict[str, str], gaia_home: Path, tmp_path: Path
) -> None:
    """As `daemon stop` does, restart stops the services; the new daemon starts them again."""
    path = tmp_path / "svc.yaml"
    path.write_text("- name: app\n  command: exec sleep 300\n", encoding="utf-8")
    assert gaia(env, "service", "register", str(path)).returncode == 0
    assert gaia(env, "service", "start", "app").returncode == 0

    def app() -> dict[str, object]:
        listed = gaia(env, "service", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        [service] = json.loads(listed.stdout)
        return dict(service)

    before = app()
    assert before["state"] == "running"
    old_pid = int(str(before["pid"]))
    assert gaia(env, "daemon", "restart").returncode == 0
    # Stopped with the old daemon, not left behind (init may take a moment to reap it).
    wait_until(lambda: pid_gone(old_pid), timeout=10, what="the old service process to go")
    after = wait_until(
        lambda: (s := app())["state"] == "running" and s["pid"] != old_pid and s,
        timeout=15,
        what="the service to run again under the new daemon",
    )
    assert gaia(env, "service", "stop", "app").returncode == 0
    wait_until(lambda: pid_gone(int(str(after["pid"]))), timeout=10, what="the service to stop")
