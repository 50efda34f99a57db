"""`gaia agent` as subprocesses, through a daemon they start on demand, with shell agents."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agents.support import agent_processes, git, kill_leftover_agents
from tests.helpers import proc_gone, wait_until

GAIA = Path(sys.executable).parent / "gaia"
GAIA_AGENT = Path(sys.executable).parent / "gaia-agent"
COOKIE_ENV = "GAIA_PROC_COOKIE"
TASK_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

CONFIG = """\
[agents.fake]
command = ["sh", "-c", "echo \\"$0\\" > out.txt; echo done", "{prompt}"]

[agents.failing]
command = ["sh", "-c", "echo broken >&2; exit 3", "{prompt}"]

[agents.slow]
command = ["sh", "-c", "sleep 30", "{prompt}"]

[agents.ghost]
command = ["/nonexistent/gaia-test-agent", "{prompt}"]
"""


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """The directory the commands run in (not a git repository): the agents' work_dir."""
    path = tmp_path / "work"
    path.mkdir()
    return path.resolve()


@pytest.fixture
def env(cli_env: dict[str, str], gaia_home: Path) -> Iterator[dict[str, str]]:
    """CLI environment with the agents configured, on a free port; the daemon is stopped after."""
    (gaia_home / "config.toml").write_text(CONFIG, encoding="utf-8")
    cli_env["GAIA_PORT"] = "0"
    cli_env["GAIA_AGENT_CLOSE_GRACE"] = "1s"
    yield cli_env
    daemon_file = gaia_home / "daemon.json"
    try:
        if daemon_file.exists():
            pid = json.loads(daemon_file.read_text())["pid"]
            subprocess.run([str(GAIA), "daemon", "stop"], env=cli_env, timeout=60, check=False)
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        kill_leftover_agents(gaia_home)


def gaia(
    env: dict[str, str], cwd: Path, *args: str, binary: Path = GAIA
) -> subprocess.CompletedProcess[str]:
    """Run `gaia agent ARGS` (or ARGS of another binary, like gaia-agent) in ``cwd``."""
    argv = [str(binary), *(args if binary != GAIA else ("agent", *args))]
    return subprocess.run(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


def row(table: str, first: str) -> list[str]:
    """The cells of the table line that starts with ``first``."""
    [line] = [line for line in table.splitlines() if line.split()[:1] == [first]]
    return line.split()


def test_list_starts_the_daemon_and_shows_availability(env: dict[str, str], work: Path) -> None:
    """list starts a daemon (and says so); it shows each agent, found or not; --json parses."""
    listed = gaia(env, work, "list")
    assert "started the gaia daemon in the background" in listed.stderr
    table = ok(listed)
    assert row(table, "system")[:3] == ["system", "system", "yes"]
    assert row(table, "fake")[:3] == ["fake", "command", "yes"]
    assert row(table, "ghost")[:3] == ["ghost", "command", "no"]
    assert "/nonexistent/gaia-test-agent" in row(table, "ghost")[-2]

    # Why ghost cannot run is said below the table.
    assert "  ghost: CLI '/nonexistent/gaia-test-agent' not found" in table.splitlines()

    agents = {a["id"]: a for a in json.loads(ok(gaia(env, work, "list", "--json")))}
    assert {"system", "fake", "failing", "slow", "ghost"} <= set(agents)
    assert (agents["fake"]["available"], agents["ghost"]["available"]) == (True, False)
    assert agents["fake"]["reason"] is None
    assert agents["ghost"]["reason"] == "CLI '/nonexistent/gaia-test-agent' not found"
    assert agents["slow"]["command"] == ["sh", "-c", "sleep 30", "{prompt}"]


def test_gaia_agent_alias(env: dict[str, str], work: Path) -> None:
    """gaia-agent is gaia agent: the same list, and the same clear errors."""
    assert GAIA_AGENT.exists()
    alias = gaia(env, work, "list", "--json", binary=GAIA_AGENT)
    direct = gaia(env, work, "list", "--json")
    assert json.loads(ok(alias)) == json.loads(ok(direct))
    missing = gaia(env, work, "result", "no-such-task", binary=GAIA_AGENT)
    assert missing.returncode == 1
    assert "agent task 'no-such-task' not found" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_run_prints_the_result(env: dict[str, str], work: Path) -> None:
    """run queues the task, follows it, prints 'succeeded' and the output, and exits 0."""
    result = gaia(env, work, "run", "--agent", "fake", "hello")
    stdout = ok(result)
    match = re.search(r"^succeeded fake task (\S+)$", stdout, re.MULTILINE)
    assert match, stdout
    assert TASK_ID.match(match.group(1))
    assert stdout.rstrip().endswith("done")
    assert re.search(r"^\d+(ms|\.\ds)$", stdout, re.MULTILINE), stdout  # how long it took
    assert f"task {match.group(1)} queued for fake" in result.stderr
    # A code task outside a git repository runs in place, in the current directory.
    assert (work / "out.txt").read_text() == "hello\n"


def test_run_json_prints_the_finished_task(env: dict[str, str], work: Path) -> None:
    """--json prints the finished task as JSON: its status, result and settings."""
    other = work / "elsewhere"
    other.mkdir()
    stdout = ok(
        gaia(
            env,
            work,
            "run",
            "--agent",
            "fake",
            "--json",
            "--work-dir",
            str(other),
            "--isolation",
            "none",
            "--priority",
            "7",
            "--context",
            "ticket=GAIA-9",
            "as json",
        )
    )
    task = json.loads(stdout)
    assert task["status"] == "succeeded"
    assert (task["agent"], task["isolation"], task["priority"]) == ("fake", "none", 7)
    assert (task["work_dir"], task["context"]) == (str(other), {"ticket": "GAIA-9"})
    assert (task["result"]["output"], task["result"]["exit_code"]) == ("done\n", 0)
    assert (other / "out.txt").read_text() == "Context:\n- ticket: GAIA-9\n\nTask:\nas json\n"
    assert not (work / "out.txt").exists()


def test_failing_agent_exits_1(env: dict[str, str], work: Path) -> None:
    """A failed task prints 'failed' and the error with stderr's tail; the exit status is 1."""
    result = gaia(env, work, "run", "--agent", "failing", "x")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert re.search(r"^failed failing task \S+$", result.stdout, re.MULTILINE)
    assert "error: the agent exited with status 3: broken" in result.stdout


def test_timeout_exits_124(env: dict[str, str], work: Path) -> None:
    """--timeout 1s on a slow agent ends in timed_out with exit status 124, its sleep killed."""
    started = time.monotonic()
    result = gaia(env, work, "run", "--agent", "slow", "--timeout", "1s", "--json", "x")
    assert result.returncode == 124, result.stderr
    assert time.monotonic() - started < 30
    task = json.loads(result.stdout)
    assert (task["status"], task["error"]) == ("timed_out", "timed out after 1.0s")
    wait_until(lambda: not agent_processes(task["id"]), timeout=10, what="the agent to die")


def test_unknown_agent_is_a_clear_error(env: dict[str, str], work: Path) -> None:
    """An unknown agent, or one that does not take the type, is bad input (exit 2); one
    that cannot run now exits 1. Each says why; nothing runs."""
    result = gaia(env, work, "run", "--agent", "nope", "x")
    assert result.returncode == 2
    assert "error: agent 'nope' is not registered (registered: system, " in result.stderr
    assert "Traceback" not in result.stderr
    unavailable = gaia(env, work, "run", "--agent", "ghost", "x")
    assert unavailable.returncode == 1
    assert "agent 'ghost' is not available" in unavailable.stderr
    wrong_type = gaia(env, work, "run", "--agent", "fake", "--type", "shell", "x")
    assert wrong_type.returncode == 2
    assert "agent 'fake' does not take shell tasks" in wrong_type.stderr
    bad_context = gaia(env, work, "run", "--agent", "fake", "--context", "novalue", "x")
    assert bad_context.returncode == 2
    assert "expected KEY=VALUE, got 'novalue'" in bad_context.stderr
    assert not (work / "out.txt").exists()
    assert ok(gaia(env, work, "tasks")).count("\n") == 1  # the header only


def test_detach_result_and_cancel(env: dict[str, str], work: Path) -> None:
    """--detach prints the id; result shows it running; cancel kills it; result then exits 130."""
    task_id = ok(gaia(env, work, "run", "--agent", "slow", "--detach", "x")).strip()
    assert TASK_ID.match(task_id), task_id
    procs = wait_until(lambda: agent_processes(task_id), timeout=10, what="the slow agent")

    def shown_running() -> bool:
        result = gaia(env, work, "result", task_id)
        assert result.returncode == 0, result.stderr  # not finished: exit status 0
        return f"running slow task {task_id}" in result.stdout

    wait_until(shown_running, timeout=10, what="result to show the task running")
    assert row(ok(gaia(env, work, "tasks", "--status", "running")), task_id[:8])[1:5] == [
        "slow",
        "code",
        "0",
        "running",
    ]

    cancelled = ok(gaia(env, work, "cancel", task_id))
    assert cancelled.strip() == f"task {task_id}: cancelled"
    wait_until(lambda: all(proc_gone(p) for p in procs), timeout=10, what="the agent to die")
    wait_until(lambda: not agent_processes(task_id), timeout=10, what="no process of the task")
    shown = gaia(env, work, "result", task_id)
    assert shown.returncode == 130
    assert f"cancelled slow task {task_id}" in shown.stdout
    assert "error: cancelled while running" in shown.stdout
    as_json = gaia(env, work, "result", task_id, "--json")
    assert as_json.returncode == 130
    assert json.loads(as_json.stdout)["status"] == "cancelled"

    again = gaia(env, work, "cancel", task_id)
    assert again.returncode == 1
    assert f"agent task {task_id} already finished (cancelled)" in again.stderr
    unknown = gaia(env, work, "cancel", "no-such-task")
    assert unknown.returncode == 1
    assert "agent task 'no-such-task' not found" in unknown.stderr


def test_stats_and_tasks_show_what_ran(env: dict[str, str], work: Path) -> None:
    """After a success and a failure, stats and tasks show them per agent and status."""
    ok(gaia(env, work, "run", "--agent", "fake", "--isolation", "none", "first"))
    ok(gaia(env, work, "run", "--agent", "fake", "--isolation", "none", "second"))
    assert gaia(env, work, "run", "--agent", "failing", "third").returncode == 1

    table = ok(gaia(env, work, "stats"))
    assert row(table, "fake")[:6] == ["fake", "2", "2", "0", "0", "100%"]
    assert row(table, "failing")[:6] == ["failing", "1", "0", "1", "0", "0%"]
    assert row(table, "slow")[:6] == ["slow", "0", "0", "0", "0", "-"]
    [fake] = json.loads(ok(gaia(env, work, "stats", "fake", "--json")))
    assert (fake["agent_id"], fake["total"], fake["succeeded"]) == ("fake", 2, 2)
    assert fake["success_rate"] == 1.0 and fake["mean_duration_ms"] is not None
    unknown = gaia(env, work, "stats", "nope")
    assert unknown.returncode == 1
    assert "agent 'nope' not found" in unknown.stderr

    tasks = ok(gaia(env, work, "tasks")).splitlines()
    assert tasks[0].split() == ["task", "agent", "type", "prio", "status", "branch", "instruction"]
    assert [line.split()[1] for line in tasks[1:]] == ["failing", "fake", "fake"]
    assert [line.split()[-1] for line in tasks[1:]] == ["third", "second", "first"]
    failed = ok(gaia(env, work, "tasks", "--status", "failed")).splitlines()[1:]
    assert [line.split()[4] for line in failed] == ["failed"]
    assert len(ok(gaia(env, work, "tasks", "--limit", "1")).splitlines()) == 2


def test_interrupt_cancels_the_followed_task(
    env: dict[str, str], work: Path, tmp_path: Path
) -> None:
    """Ctrl-C while run follows a task cancels it (its agent dies) and exits 130."""
    ok(gaia(env, work, "list"))  # the daemon is up before run starts following
    err_path = tmp_path / "run.err"
    with err_path.open("w") as err:
        proc = subprocess.Popen(
            [str(GAIA), "agent", "run", "--agent", "slow", "x"],
            env=env,
            cwd=work,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    try:
        # Once it says the task is queued, run knows the id and is following the task.
        queued = wait_until(
            lambda: re.search(r"task (\S+) queued for slow", err_path.read_text()),
            timeout=30,
            what="run to queue the task",
        )
        task_id = queued.group(1)
        procs = wait_until(lambda: agent_processes(task_id), timeout=10, what="the agent")
        proc.send_signal(signal.SIGINT)
        stdout, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    stderr = err_path.read_text()
    assert proc.returncode == 130, stderr
    assert "cancelling" in stderr and "Traceback" not in stderr
    assert f"cancelled slow task {task_id}" in stdout
    wait_until(lambda: all(proc_gone(p) for p in procs), timeout=10, what="the agent to die")
    wait_until(lambda: not agent_processes(task_id), timeout=10, what="no process of the task")


def test_run_in_a_git_repository_prints_the_branch(env: dict[str, str], work: Path) -> None:
    """A code task run inside a git repository reports its branch, commit and diff stat."""
    git(work, "init", "--quiet", "--initial-branch=main")
    (work / "README.md").write_text("hello\n")
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "-m", "initial")
    stdout = ok(gaia(env, work, "run", "--agent", "fake", "change it"))
    [task_id] = re.findall(r"^succeeded fake task (\S+)$", stdout, re.MULTILINE)
    commit = git(work, "rev-parse", f"gaia/{task_id}").strip()
    assert f"branch gaia/{task_id} at {commit[:12]}: 1 files, +1 -0" in stdout
    assert git(work, "show", f"{commit}:out.txt") == "change it\n"
    assert git(work, "status", "--porcelain") == ""
    tasks = ok(gaia(env, work, "tasks", "--limit", "1")).splitlines()
    assert row("\n".join(tasks), task_id[:8])[5] == f"gaia/{task_id}"


def test_result_facts_read_as_a_sentence() -> None:
    """What an agent reports is printed as 'session s, 3 turns, 12.3s, $0.0412'."""
    from gaia.cli.agent import _result_facts

    full = {"session_id": "s-1", "num_turns": 3, "duration_ms": 12_345, "cost_usd": 0.04123}
    assert _result_facts(full) == ["session s-1", "3 turns", "12.3s", "$0.0412"]
    assert _result_facts({"num_turns": 1, "duration_ms": 850}) == ["1 turn", "850ms"]
    assert _result_facts({}) == []


def test_result_and_cancel_take_the_short_id_that_tasks_shows(
    env: dict[str, str], work: Path, gaia_home: Path
) -> None:
    """The 8 characters `tasks` prints name the task; an ambiguous prefix is a clear error."""
    from gaia.agents.store import AgentStore
    from gaia.agents.task import AgentTask
    from gaia.storage.db import Database

    task_id = ok(gaia(env, work, "run", "--agent", "slow", "--detach", "x")).strip()
    wait_until(lambda: agent_processes(task_id), timeout=10, what="the slow agent")
    short = ok(gaia(env, work, "tasks")).splitlines()[1].split()[0]
    assert short == task_id[:8]

    shown = gaia(env, work, "result", short, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["id"] == task_id
    assert ok(gaia(env, work, "cancel", short)).strip() == f"task {task_id}: cancelled"
    assert gaia(env, work, "result", task_id[:4]).returncode == 130  # cancelled

    too_short = gaia(env, work, "result", task_id[:3])
    assert too_short.returncode == 1
    assert f"agent task '{task_id[:3]}' not found" in too_short.stderr

    # Two tasks whose ids share a prefix, written to the daemon's database directly.
    db = Database(f"sqlite:///{gaia_home / 'gaia.db'}")
    store = AgentStore(db)
    try:
        for suffix in ("1", "2"):
            twin = AgentTask(instruction="twin", agent_id="fake", id=f"abcdef0{suffix}-twin")
            store.insert_task(twin, "fake", store.next_seq(), "test")
            store.flush()
    finally:
        store.close()
        db.dispose()
    for command in ("result", "cancel"):
        ambiguous = gaia(env, work, command, "abcdef0")
        assert ambiguous.returncode == 2, ambiguous.stdout  # bad input
        assert "agent task id prefix 'abcdef0' is ambiguous" in ambiguous.stderr
        assert "Traceback" not in ambiguous.stderr
    assert json.loads(ok(gaia(env, work, "result", "abcdef02", "--json")))["id"] == "abcdef02-twin"


def test_list_shows_builtin_agents_whose_cli_is_missing(
    env: dict[str, str], work: Path, tmp_path: Path
) -> None:
    """claude, gemini and codex are listed even when their CLI is not on PATH, with why."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_claude = bin_dir / "claude"
    fake_claude.write_text("#!/bin/sh\nexit 0\n")
    fake_claude.chmod(0o755)
    # Only the fake claude, and what the daemon and the shell agents need.
    env["PATH"] = f"{bin_dir}:/usr/bin:/bin"
    for name in ("gemini", "codex"):
        if shutil.which(name, path=env["PATH"]):
            pytest.skip(f"a real {name} is installed in /usr/bin or /bin")
    table = ok(gaia(env, work, "list"))
    assert row(table, "claude")[:3] == ["claude", "claude", "yes"]
    for name in ("gemini", "codex"):
        assert row(table, name)[:3] == [name, name, "no"]
        assert f"  {name}: CLI {name!r} not found on PATH" in table.splitlines()
    agents = {a["id"]: a for a in json.loads(ok(gaia(env, work, "list", "--json")))}
    assert agents["gemini"]["registered"] is False and agents["gemini"]["available"] is False
    assert agents["claude"]["registered"] is True and agents["claude"]["reason"] is None
    # Listed, not registered: a task naming it is refused as an unknown agent.
    refused = gaia(env, work, "run", "--agent", "gemini", "--detach", "do it")
    assert refused.returncode == 2, refused.stderr
    assert "not registered" in refused.stderr
