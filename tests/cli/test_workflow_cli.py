"""`gaia workflow` as a real subprocess: validate, run, list, show, logs, stop, resume."""

from __future__ import annotations

import contextlib
import json
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.helpers import proc_gone, wait_until

BIN_DIR = Path(sys.executable).parent
GAIA = BIN_DIR / "gaia"
GAIA_WORKFLOW = BIN_DIR / "gaia-workflow"

HELLO = """
    name: demo
    variables:
      who: world
    tasks:
      - id: hello
        command: echo hello ${who}
      - id: second
        command: echo second
        dependencies: [hello]
"""

FAILING = """
    name: breaks
    tasks:
      - id: boom
        command: echo about to fail; exit 3
      - id: never
        command: echo never
        dependencies: [boom]
"""

INVALID = """
    name: broken
    tasks:
      - id: a
        command: echo ${nope}
        dependencies: [zzz]
"""


# -- helpers -------------------------------------------------------------------------


def task_processes(
    home: Path, *, name: str | None = None, run_id: str | None = None
) -> list[tuple[psutil.Process, dict[str, str]]]:
    """Live task processes started under this GAIA_HOME, with their environment."""
    found = []
    for proc in psutil.process_iter():
        try:
            env = proc.environ()
            if env.get("GAIA_HOME") != str(home) or "GAIA_WORKFLOW_ID" not in env:
                continue
            if run_id is not None and env["GAIA_WORKFLOW_ID"] != run_id:
                continue
            if proc_gone(proc) or (name is not None and proc.cmdline()[:1] != [name]):
                continue
            found.append((proc, env))
        except (psutil.Error, OSError):
            continue
    return found


def wait_for_sleep(home: Path, runner: subprocess.Popen[str]) -> tuple[psutil.Process, str]:
    """The `sleep` a running workflow started, and the run id from its environment."""

    def find() -> list[tuple[psutil.Process, dict[str, str]]]:
        assert runner.poll() is None, f"the runner exited early: {runner.communicate()}"
        return task_processes(home, name="sleep")

    [(proc, env)] = wait_until(find, what="the workflow's sleep to start")
    return proc, env["GAIA_WORKFLOW_ID"]


def db_task_statuses(home: Path, run_id: str) -> dict[str, str]:
    """Task statuses of a run as committed to the SQLite file (read-only, no gaia code)."""
    conn = sqlite3.connect(f"file:{home / 'gaia.db'}?mode=ro", uri=True, timeout=5)
    try:
        rows = conn.execute(
            "SELECT task_key, status FROM gaia_workflow_tasks WHERE workflow_id = ?", (run_id,)
        ).fetchall()
    finally:
        conn.close()
    return dict(rows)


class Lines:
    """Reads a subprocess's output lines in a thread, so that every wait has a deadline."""

    def __init__(self, stream: Any) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def next(self, timeout: float = 10.0) -> str | None:
        """The next line, or None at the end of the output."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output line within {timeout}s") from None

    def rest(self, timeout: float = 15.0) -> list[str]:
        """Every remaining line, up to the end of the output."""
        deadline = time.monotonic() + timeout
        lines = []
        while (line := self.next(max(0.0, deadline - time.monotonic()))) is not None:
            lines.append(line)
        return lines


class Gaia:
    """Runs the CLI as a subprocess against one test's GAIA_HOME."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.home = Path(env["GAIA_HOME"])
        self.started: list[subprocess.Popen[str]] = []

    def __call__(
        self,
        *args: str,
        binary: Path = GAIA,
        env: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(binary), *args],
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [str(GAIA), *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started.append(proc)
        return proc

    def show(self, run_id: str) -> dict[str, Any]:
        result = self("workflow", "show", run_id, "--json")
        assert result.returncode == 0, result.stderr
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    def cleanup(self) -> None:
        """Kill what the test started: the CLI processes, then tasks a dead runner left."""
        for proc in self.started:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=10)
        for task, _ in task_processes(self.home):
            with contextlib.suppress(psutil.Error):
                task.kill()


@pytest.fixture
def gaia(cli_env: dict[str, str]) -> Iterator[Gaia]:
    runner = Gaia(cli_env)
    yield runner
    runner.cleanup()


def run_json(gaia: Gaia, path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = gaia("workflow", "run", str(path), "--json", *extra)
    assert "Traceback" not in result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, data


def assert_clean_error(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout


# -- validate ------------------------------------------------------------------------


def test_validate_accepts_a_valid_file(gaia: Gaia, write_workflow: Callable[..., Path]) -> None:
    """`gaia workflow validate` exits 0 and describes a valid file."""
    path = write_workflow(HELLO)
    result = gaia("workflow", "validate", str(path))
    assert result.returncode == 0, result.stderr
    assert "is valid" in result.stdout
    assert "'demo', 2 tasks in 2 layers" in result.stdout


def test_validate_reports_each_problem_with_file_line_column(
    gaia: Gaia, write_workflow: Callable[..., Path]
) -> None:
    """`gaia workflow validate` exits 2 and prints file:line:column for every problem."""
    path = write_workflow(INVALID)
    result = gaia("workflow", "validate", str(path))
    assert result.returncode == 2
    assert f"{path}:4:19: undefined variable ${{nope}}" in result.stderr
    assert f"{path}:5:20: task 'a' depends on unknown task 'zzz'" in result.stderr
    assert "2 problems" in result.stderr
    assert_clean_error(result)


def test_validate_reports_yaml_syntax_errors_with_position(
    gaia: Gaia, write_workflow: Callable[..., Path]
) -> None:
    """A YAML syntax error exits 2 with a file:line:column location."""
    path = write_workflow("name: broken\ntasks: [\n")
    result = gaia("workflow", "validate", str(path))
    assert result.returncode == 2
    assert re.search(re.escape(str(path)) + r":\d+:\d+: YAML syntax error", result.stderr)
    assert_clean_error(result)


def test_validate_var_makes_an_undefined_variable_defined(
    gaia: Gaia, write_workflow: Callable[..., Path]
) -> None:
    """`validate --var k=v` counts k as defined."""
    path = write_workflow("name: v\ntasks:\n  - id: a\n    command: echo ${x}\n")
    assert gaia("workflow", "validate", str(path)).returncode == 2
    assert gaia("workflow", "validate", str(path), "--var", "x=1").returncode == 0


def test_gaia_workflow_alias_validates(gaia: Gaia, write_workflow: Callable[..., Path]) -> None:
    """The `gaia-workflow` entry point behaves like `gaia workflow`."""
    good = gaia("validate", str(write_workflow(HELLO)), binary=GAIA_WORKFLOW)
    assert good.returncode == 0, good.stderr
    assert "is valid" in good.stdout
    bad_path = write_workflow(INVALID)
    bad = gaia("validate", str(bad_path), binary=GAIA_WORKFLOW)
    assert bad.returncode == 2
    assert f"{bad_path}:4:19" in bad.stderr


@pytest.mark.parametrize("command", ["validate", "run"])
def test_missing_file_is_a_clear_error(gaia: Gaia, tmp_path: Path, command: str) -> None:
    """A workflow file that does not exist exits 2 with a message naming it, no traceback."""
    missing = tmp_path / "no-such-workflow.yaml"
    result = gaia("workflow", command, str(missing))
    assert result.returncode == 2
    assert str(missing) in result.stderr
    assert "No such file or directory" in result.stderr
    assert_clean_error(result)


@pytest.mark.parametrize("args", [("workflow", "list"), ("serve",)])
def test_bad_config_is_a_one_line_error(
    gaia: Gaia, cli_env: dict[str, str], args: tuple[str, ...]
) -> None:
    """GAIA_PORT=notanumber exits 2 with one error line that names GAIA_PORT, no traceback."""
    result = gaia(*args, env={**cli_env, "GAIA_PORT": "notanumber"}, timeout=10)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:")
    assert "GAIA_PORT" in lines[0]
    assert_clean_error(result)


# -- run -----------------------------------------------------------------------------


def test_run_success_prints_a_summary(gaia: Gaia, write_workflow: Callable[..., Path]) -> None:
    """`gaia workflow run` exits 0 and its summary names every task and says completed."""
    result = gaia("workflow", "run", str(write_workflow(HELLO)))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "hello" in out
    assert "second" in out
    assert "workflow 'demo' completed" in out
    assert "2 tasks: 2 completed" in out


def test_run_failure_exits_1_and_prints_the_error(
    gaia: Gaia, write_workflow: Callable[..., Path]
) -> None:
    """A failing task makes `run` exit 1 and print which task failed and why."""
    result = gaia("workflow", "run", str(write_workflow(FAILING)))
    assert result.returncode == 1
    out = result.stdout
    assert "workflow 'breaks' failed" in out
    assert "task 'boom' failed: exited with status 3" in out
    assert "never" in out
    assert "skipped" in out
    assert re.search(r"gaia workflow logs [0-9a-f]{8} boom", out)
    assert_clean_error(result)


def test_run_summary_of_a_large_run_lists_what_did_not_complete(
    gaia: Gaia, write_workflow: Callable[..., Path]
) -> None:
    """Past 40 tasks the summary lists only the unfinished ones, 40 at most, and says how
    many more there are."""
    lines = ["name: wide-failure", "tasks:", "  - {id: boom, command: 'exit 3'}"]
    lines += [f"  - {{id: after{i}, command: 'true', dependencies: [boom]}}" for i in range(59)]
    result = gaia("workflow", "run", str(write_workflow("\n".join(lines) + "\n")))
    assert result.returncode == 1, result.stderr
    rows = [line.split()[0] for line in result.stdout.splitlines() if " skipped " in line]
    table = [row for row in rows if row.startswith("after")]
    assert len(table) == 39  # boom, then 39 skipped tasks fill the 40 rows
    assert re.search(
        r"… and 20 more that did not complete: gaia workflow show [0-9a-f]{8}", result.stdout
    )
    assert "(60 tasks: 1 failed, 59 skipped)" in result.stdout


def test_run_var_override_is_used(gaia: Gaia, write_workflow: Callable[..., Path]) -> None:
    """`run --var who=...` overrides the variable in the command that runs."""
    code, data = run_json(gaia, write_workflow(HELLO), "--var", "who=override")
    assert code == 0
    assert data["variables"] == {"who": "override"}
    logs = gaia("workflow", "logs", data["id"], "hello")
    assert logs.returncode == 0
    assert logs.stdout == "hello override\n"


def test_run_bad_var_is_a_usage_error(gaia: Gaia, write_workflow: Callable[..., Path]) -> None:
    """`--var` without '=' is rejected with exit 2 and a message about --var."""
    result = gaia("workflow", "run", str(write_workflow(HELLO)), "--var", "novalue")
    assert result.returncode == 2
    assert "--var" in result.stderr
    assert_clean_error(result)


def test_run_json_prints_the_run(gaia: Gaia, write_workflow: Callable[..., Path]) -> None:
    """`run --json` prints only JSON with the final status and the tasks."""
    code, data = run_json(gaia, write_workflow(HELLO))
    assert code == 0
    assert data["status"] == "completed"
    assert data["name"] == "demo"
    assert [(t["id"], t["status"], t["attempts"]) for t in data["tasks"]] == [
        ("hello", "completed", 1),
        ("second", "completed", 1),
    ]
    code, failed = run_json(gaia, write_workflow(FAILING))
    assert code == 1
    assert failed["status"] == "failed"
    assert "boom" in failed["error"]


# -- list, show, logs ----------------------------------------------------------------


def test_list_and_filter_by_status(gaia: Gaia, write_workflow: Callable[..., Path]) -> None:
    """`list` shows every run; `list --status failed` only the failed ones."""
    _, ok = run_json(gaia, write_workflow(HELLO))
    _, bad = run_json(gaia, write_workflow(FAILING))

    listed = gaia("workflow", "list")
    assert listed.returncode == 0
    assert ok["id"][:8] in listed.stdout
    assert bad["id"][:8] in listed.stdout
    assert "completed" in listed.stdout
    assert "failed" in listed.stdout

    failed = gaia("workflow", "list", "--status", "failed")
    assert failed.returncode == 0
    assert bad["id"][:8] in failed.stdout
    assert ok["id"][:8] not in failed.stdout

    as_json = json.loads(gaia("workflow", "list", "--status", "completed", "--json").stdout)
    assert [r["id"] for r in as_json] == [ok["id"]]


def test_show_accepts_an_8_character_prefix(
    gaia: Gaia, write_workflow: Callable[..., Path]
) -> None:
    """`show` resolves a unique 8-character id prefix and prints the run and its tasks."""
    _, data = run_json(gaia, write_workflow(FAILING))
    prefix = data["id"][:8]
    shown = gaia("workflow", "show", prefix)
    assert shown.returncode == 0, shown.stderr
    assert data["id"] in shown.stdout
    assert "breaks" in shown.stdout
    assert "boom" in shown.stdout
    assert "exited with status 3" in shown.stdout

    unknown = gaia("workflow", "show", "ffffffff")
    assert unknown.returncode == 1
    assert "not found" in unknown.stderr
    assert_clean_error(unknown)


def test_logs_print_the_task_output(gaia: Gaia, write_workflow: Callable[..., Path]) -> None:
    """`logs ID TASK` prints what the task wrote (stdout and stderr)."""
    path = write_workflow(
        """
        name: talk
        tasks:
          - id: talk
            command: echo out; echo err >&2
        """
    )
    _, data = run_json(gaia, path)
    result = gaia("workflow", "logs", data["id"][:8], "talk")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "out\nerr\n"
    tail = gaia("workflow", "logs", data["id"][:8], "talk", "--tail", "1")
    assert tail.stdout == "err\n"
    unknown = gaia("workflow", "logs", data["id"][:8], "nope")
    assert unknown.returncode == 1
    assert "no task 'nope'" in unknown.stderr


def test_logs_follow_streams_a_running_task_until_it_ends(
    gaia: Gaia, write_workflow: Callable[..., Path], gaia_home: Path, tmp_path: Path
) -> None:
    """`logs -f` prints a running task's lines as they come and exits when the task ends."""
    release = tmp_path / "release"
    path = write_workflow(
        f"""
        name: ticker
        tasks:
          - id: ticker
            command: >-
              for i in 1 2 3; do echo tick$i; sleep 0.1; done;
              while ! test -f {release}; do sleep 0.1; done; echo last
        """
    )
    runner = gaia.popen("workflow", "run", str(path))
    _, run_id = wait_for_sleep(gaia_home, runner)
    follower = gaia.popen("workflow", "logs", "-f", run_id[:8], "ticker")
    output = Lines(follower.stdout)
    lines = [output.next() for _ in range(3)]
    assert lines == ["tick1\n", "tick2\n", "tick3\n"]
    assert runner.poll() is None  # the task waits for `release`: these lines came live
    assert follower.poll() is None
    release.touch()
    lines.extend(output.rest())  # ends when the follower exits, once the task has ended
    assert follower.wait(timeout=15) == 0, follower.communicate()
    assert lines == ["tick1\n", "tick2\n", "tick3\n", "last\n"]
    runner.communicate(timeout=15)
    assert runner.returncode == 0


def test_logs_follow_ends_when_the_runner_dies(
    gaia: Gaia, write_workflow: Callable[..., Path], gaia_home: Path
) -> None:
    """`logs -f` stops following (within 5 s) once the process running the task is SIGKILLed."""
    path = write_workflow(
        """
        name: doomed
        tasks:
          - id: nap
            command: echo started; sleep 30
        """
    )
    runner = gaia.popen("workflow", "run", str(path))
    _, run_id = wait_for_sleep(gaia_home, runner)
    follower = gaia.popen("workflow", "logs", "-f", run_id, "nap")
    assert Lines(follower.stdout).next() == "started\n"
    runner.send_signal(signal.SIGKILL)
    runner.communicate(timeout=10)
    try:
        follower.wait(timeout=5)
    except subprocess.TimeoutExpired:
        follower.kill()
        follower.communicate(timeout=10)
        pytest.fail("`gaia workflow logs -f` still follows 5 s after the runner was SIGKILLed")
    assert gaia.show(run_id)["status"] == "interrupted"


# -- stop, signals -------------------------------------------------------------------

SLEEPER = """
    name: sleeper
    tasks:
      - id: nap
        command: sleep 30
      - id: after
        command: echo after
        dependencies: [nap]
"""


def test_stop_from_another_process(
    gaia: Gaia, write_workflow: Callable[..., Path], gaia_home: Path
) -> None:
    """`gaia workflow stop ID` in a second process cancels a run another process is running."""
    runner = gaia.popen("workflow", "run", str(write_workflow(SLEEPER)))
    sleeper, run_id = wait_for_sleep(gaia_home, runner)
    started = time.monotonic()
    stopped = gaia("workflow", "stop", run_id[:8])
    assert stopped.returncode == 0, stopped.stderr
    assert f"workflow {run_id[:8]} cancelled" in stopped.stdout
    out, err = runner.communicate(timeout=15)
    assert runner.returncode == 1, (out, err)
    assert time.monotonic() - started < 10
    assert "cancelled" in out
    wait_until(lambda: proc_gone(sleeper), timeout=3, what="the sleep to be killed")
    detail = gaia.show(run_id)
    assert detail["status"] == "cancelled"
    assert {t["id"]: t["status"] for t in detail["tasks"]} == {
        "nap": "cancelled",
        "after": "cancelled",
    }


def test_sigint_cancels_a_running_workflow(
    gaia: Gaia, write_workflow: Callable[..., Path], gaia_home: Path
) -> None:
    """SIGINT to `gaia workflow run` stops the run: status cancelled, exit 1, task killed."""
    runner = gaia.popen("workflow", "run", str(write_workflow(SLEEPER)))
    sleeper, run_id = wait_for_sleep(gaia_home, runner)
    runner.send_signal(signal.SIGINT)
    out, err = runner.communicate(timeout=15)
    assert runner.returncode == 1, (out, err)
    assert "SIGINT: stopping the workflow" in err
    assert "Traceback" not in err
    wait_until(lambda: proc_gone(sleeper), timeout=3, what="the sleep to be killed")
    detail = gaia.show(run_id)
    assert detail["status"] == "cancelled"
    assert "SIGINT" in detail["error"]
    # Each task's error says what it was doing; its status already says cancelled.
    assert {t["id"]: (t["status"], t["error"]) for t in detail["tasks"]} == {
        "nap": ("cancelled", "killed while running: stopped by SIGINT"),
        "after": ("cancelled", "not run: stopped by SIGINT"),
    }


# -- recovery ------------------------------------------------------------------------


def test_sigkilled_runner_is_recovered_and_resumed(
    gaia: Gaia, write_workflow: Callable[..., Path], gaia_home: Path, tmp_path: Path
) -> None:
    """A SIGKILLed runner's tasks die with it, its run turns interrupted, resume ends it."""
    marker = tmp_path / "marker"
    counter = tmp_path / "fast-ran"
    path = write_workflow(
        f"""
        name: recoverable
        tasks:
          - id: fast
            command: echo ran >> {counter}
          - id: slow
            command: test -f {marker} || sleep 60
            dependencies: [fast]
        """
    )
    runner = gaia.popen("workflow", "run", str(path))
    orphan, run_id = wait_for_sleep(gaia_home, runner)
    # State is written behind in batches: wait until the database shows the slow task running.
    wait_until(
        lambda: db_task_statuses(gaia_home, run_id) == {"fast": "completed", "slow": "running"},
        what="the database to show the slow task running",
    )
    owners = [p for p, _ in task_processes(gaia_home, run_id=run_id)]
    assert orphan in owners

    runner.send_signal(signal.SIGKILL)
    runner.communicate(timeout=10)
    assert runner.returncode == -signal.SIGKILL
    # The runner's watchdog kills its tasks: nothing waits for a recovery to do it.
    wait_until(lambda: all(proc_gone(p) for p in owners), timeout=10, what="tasks to die")

    listed = gaia("workflow", "list")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith(run_id[:8]))
    assert "interrupted" in row
    wait_until(lambda: all(proc_gone(p) for p in owners), timeout=3, what="orphans killed")
    assert task_processes(gaia_home, run_id=run_id) == []

    detail = gaia.show(run_id)
    assert detail["status"] == "interrupted"
    assert f"pid {runner.pid}" in detail["error"]
    tasks = {t["id"]: t for t in detail["tasks"]}
    assert tasks["fast"]["status"] == "completed"
    assert tasks["slow"]["status"] == "cancelled"

    marker.touch()
    resumed = gaia("workflow", "resume", run_id[:8])
    assert resumed.returncode == 0, (resumed.stdout, resumed.stderr)
    assert "1 of 2 tasks to run" in resumed.stdout
    final = gaia.show(run_id)
    assert final["status"] == "completed"
    tasks = {t["id"]: t for t in final["tasks"]}
    assert tasks["fast"]["attempts"] == 1
    assert tasks["slow"]["status"] == "completed"
    assert tasks["slow"]["attempts"] == 2
    assert counter.read_text() == "ran\n"

    again = gaia("workflow", "resume", run_id[:8])
    assert again.returncode == 1
    assert "it completed; there is nothing left to run" in again.stderr
    assert "resuming" not in again.stdout  # no header for a resume that does not happen


# -- user text is printed as written, never read as rich markup ----------------------

MARKUP_NAME = "a [s] b [bold]x[/bold] c [/] d"


def test_markup_in_a_workflow_name_prints_literally(
    gaia: Gaia, write_workflow: Callable[..., Path]
) -> None:
    """`[s]`, `[bold]x[/bold]` and a stray `[/]` in a name show as typed, with no MarkupError."""
    path = write_workflow(
        f"""
        name: '{MARKUP_NAME}'
        tasks:
          - id: one
            command: echo hi
        """
    )
    validated = gaia("workflow", "validate", str(path))
    assert validated.returncode == 0, validated.stderr
    assert MARKUP_NAME in validated.stdout
    ran = gaia("workflow", "run", str(path))
    assert ran.returncode == 0, ran.stderr
    assert MARKUP_NAME in ran.stdout
    listed = gaia("workflow", "list")
    assert listed.returncode == 0, listed.stderr
    assert MARKUP_NAME in listed.stdout
    run_id = gaia("workflow", "list", "-q").stdout.split()[0]
    shown = gaia("workflow", "show", run_id)
    assert shown.returncode == 0, shown.stderr
    assert MARKUP_NAME in shown.stdout
    assert f"source: {path}" in shown.stdout


def test_markup_in_a_workflow_path_prints_literally(
    gaia: Gaia, write_workflow: Callable[..., Path]
) -> None:
    """A file named with `[s]` and `[bold]` is printed by name by `validate`."""
    path = write_workflow(HELLO, name="w [s] [bold]x.yaml")
    result = gaia("workflow", "validate", str(path))
    assert result.returncode == 0, result.stderr
    assert f"✓ {path} is valid" in result.stdout


def test_retry_runs_a_failed_task_again_here(
    gaia: Gaia, write_workflow: Callable[..., Path], tmp_path: Path
) -> None:
    """`gaia workflow retry RUN TASK` runs the failed task and what it held back; a task
    that did not fail is refused with the reason."""
    marker = tmp_path / "fixed"
    path = write_workflow(
        f"""
        name: fixable
        tasks:
          - {{id: first, command: 'echo one'}}
          - {{id: boom, command: 'test -f {marker}', dependencies: [first]}}
          - {{id: after, command: 'echo after', dependencies: [boom]}}
        """
    )
    code, failed = run_json(gaia, path)
    assert code == 1
    run_id = failed["id"]
    refused = gaia("workflow", "retry", run_id[:8], "first")
    assert refused.returncode != 0
    assert "it is completed, not failed" in refused.stderr + refused.stdout
    assert_clean_error(refused)

    marker.touch()
    result = gaia("workflow", "retry", run_id[:8], "boom")
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "retrying boom of fixable" in result.stdout
    shown = json.loads(gaia("workflow", "show", run_id, "--json").stdout)
    attempts = {t["id"]: (t["status"], t["attempts"]) for t in shown["tasks"]}
    assert attempts == {
        "first": ("completed", 1),
        "boom": ("completed", 2),
        "after": ("completed", 1),
    }
