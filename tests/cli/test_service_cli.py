"""`gaia service` and `gaia daemon` as subprocesses, with a daemon started on demand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import wait_until

GAIA = Path(sys.executable).parent / "gaia"


@pytest.fixture
def env(cli_env: dict[str, str], gaia_home: Path) -> Iterator[dict[str, str]]:
    """CLI environment on a free port; any daemon started by a test is stopped after it."""
    cli_env["GAIA_PORT"] = "0"
    yield cli_env
    daemon_file = gaia_home / "daemon.json"
    if daemon_file.exists():
        pid = json.loads(daemon_file.read_text())["pid"]
        subprocess.run([str(GAIA), "daemon", "stop"], env=cli_env, timeout=60, check=False)
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def gaia(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(GAIA), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_invalid_file_is_reported_without_starting_a_daemon(
    env: dict[str, str], tmp_path: Path, gaia_home: Path
) -> None:
    """A bad definition gets file:line:column and exit 2, and no daemon is started for it."""
    path = tmp_path / "bad.yaml"
    path.write_text("name: web\ncommand: x\nport: lots\n")
    result = gaia(env, "service", "register", str(path))
    assert result.returncode == 2
    assert f"{path}:3:1: the service port: Input should be a valid integer" in result.stderr
    assert not (gaia_home / "daemon.json").exists()


def test_service_commands_through_an_auto_started_daemon(
    env: dict[str, str], tmp_path: Path
) -> None:
    """register starts a daemon (and says so); start, list, logs, stop and unregister work."""
    path = tmp_path / "svc.yaml"
    path.write_text(
        "- name: ticker\n"
        "  command: while true; do echo tick; sleep 0.2; done\n"
        "- name: app\n"
        "  command: exec sleep 300\n"
        "  depends_on: [ticker]\n"
    )
    registered = gaia(env, "service", "register", str(path))
    assert registered.returncode == 0, registered.stderr
    assert "started the gaia daemon in the background" in registered.stderr
    assert registered.stdout.count("registered") == 2

    started = gaia(env, "service", "start", "app")
    assert started.returncode == 0, started.stderr
    listed = gaia(env, "service", "list", "--json")
    states = {s["name"]: s["state"] for s in json.loads(listed.stdout)}
    assert states == {"app": "running", "ticker": "running"}
    table = gaia(env, "service", "list").stdout
    assert "ticker" in table and "running" in table
    wait_until(
        lambda: "tick" in gaia(env, "service", "logs", "ticker", "-n", "2").stdout,
        timeout=10,
        what="ticker output",
    )
    in_use = gaia(env, "service", "unregister", "ticker")
    assert in_use.returncode == 1
    assert "stop it first" in in_use.stderr or "depend on it" in in_use.stderr

    stopped = gaia(env, "service", "stop", "--all")
    assert stopped.returncode == 0, stopped.stderr
    assert "app: stopped" in stopped.stdout and "ticker: stopped" in stopped.stdout
    events = gaia(env, "service", "events", "app").stdout
    assert "starting → running" in events and "stopping → stopped" in events
    assert gaia(env, "service", "unregister", "app").returncode == 0
    assert gaia(env, "daemon", "status").returncode == 0


def test_gaia_service_alias_and_unknown_service(env: dict[str, str]) -> None:
    """gaia-service is gaia service; an unknown name is a clear error with exit 1."""
    alias = Path(sys.executable).parent / "gaia-service"
    result = subprocess.run(
        [str(alias), "start", "ghost"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "service 'ghost' not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_stop_all_stops_dependents_before_their_dependencies(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Names chosen so that reverse alphabetical order (the old one) is exactly wrong."""
    order = tmp_path / "order.txt"
    chain = [("a-web", "b-api"), ("b-api", "c-db"), ("c-db", None)]
    lines = []
    for name, dep in chain:
        # The trap records the moment the service got SIGTERM; exec'ing a sleep would
        # replace the shell that runs it.
        lines += [
            f"- name: {name}",
            f"  command: trap 'echo {name} >> {order}; exit 0' TERM; "
            "while true; do sleep 0.1; done",
        ]
        if dep:
            lines.append(f"  depends_on: [{dep}]")
    path = tmp_path / "chain.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert gaia(env, "service", "register", str(path)).returncode == 0
    started = gaia(env, "service", "start", "a-web")
    assert started.returncode == 0, started.stderr

    stopped = gaia(env, "service", "stop", "--all")
    assert stopped.returncode == 0, stopped.stderr
    assert order.read_text().split() == ["a-web", "b-api", "c-db"]


def test_register_help_says_the_default_restart_policy_is_no(env: dict[str, str]) -> None:
    result = gaia(env, "service", "register", "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "by default a service that exits is NOT restarted (policy `no`)" in text
    assert "auto_restart: true" in text and "on_failure | always" in text


def test_list_shows_each_services_restart_policy(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "svc.yaml"
    path.write_text(
        "- name: plain\n"
        "  command: exec sleep 300\n"
        "- name: keen\n"
        "  command: exec sleep 300\n"
        "  auto_restart: true\n"
        "- name: forever\n"
        "  command: exec sleep 300\n"
        "  restart: {policy: always}\n"
    )
    assert gaia(env, "service", "register", str(path)).returncode == 0
    listed = gaia(env, "service", "list")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines() if line.strip()}
    header = rows["name"]
    column = header.index("policy")
    assert rows["plain"][column] == "no"
    assert rows["keen"][column] == "on_failure"
    assert rows["forever"][column] == "always"


def test_start_of_a_service_that_dies_at_once_fails_with_its_log(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "svc.yaml"
    path.write_text("name: broken\ncommand: echo 'no such config' >&2; exit 5\n")
    assert gaia(env, "service", "register", str(path)).returncode == 0
    started = gaia(env, "service", "start", "broken")
    assert started.returncode == 1
    assert "broken: running" not in started.stdout
    assert "failed to start: exit status 5 within 1s of starting" in started.stderr
    assert "no such config" in started.stderr
    assert "Traceback" not in started.stderr


def test_relative_cwd_and_env_file_are_the_definition_files_not_the_daemons(
    env: dict[str, str], tmp_path: Path
) -> None:
    """`cwd: work` and `env_file: .env` mean project/work and project/work/.env, whatever
    directory the daemon (auto-started from another one here) runs in."""
    project = tmp_path / "project"
    (project / "work").mkdir(parents=True)
    (project / "work" / ".env").write_text("GREETING=from-dotenv # a comment\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / "svc.yaml").write_text(
        "name: where\n"
        "command: 'echo \"cwd=$(pwd) greeting=$GREETING\"; exec sleep 300'\n"
        "cwd: work\n"
        "env_file: .env\n"
    )
    registered = subprocess.run(
        [str(GAIA), "service", "register", "../project/svc.yaml"],
        env=env,
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert registered.returncode == 0, registered.stderr
    [shown] = json.loads(gaia(env, "service", "list", "--json").stdout)
    assert shown["cwd"] == str(project.resolve() / "work")
    started = gaia(env, "service", "start", "where")
    assert started.returncode == 0, started.stderr
    expected = f"cwd={project.resolve() / 'work'} greeting=from-dotenv"
    wait_until(
        lambda: expected in gaia(env, "service", "logs", "where").stdout,
        timeout=10,
        what="the service to print where it runs",
    )
    assert gaia(env, "service", "stop", "where").returncode == 0
