"""The scheduler against real /bin/sh processes and a real SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from gaia.runtime import Runtime
from gaia.workflows.engine import RunStatus, WorkflowTaskStatus
from gaia.workflows.manager import RunResult
from gaia.workflows.views import WorkflowDetail
from tests.helpers import cgroup_containment_reason, escape_command

NO_CGROUP = cgroup_containment_reason()

WriteWorkflow = Callable[..., Path]


async def run_file(runtime: Runtime, path: Path, **kwargs: object) -> RunResult:
    manager = runtime.workflows
    run_id = manager.create(manager.load_file(path))
    return await manager.execute(run_id, **kwargs)  # type: ignore[arg-type]


def detail(runtime: Runtime, run_id: str) -> WorkflowDetail:
    return runtime.workflows.get(run_id)


def statuses(runtime: Runtime, run_id: str) -> dict[str, str]:
    return {t.id: t.status for t in detail(runtime, run_id).tasks}


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


async def test_independent_tasks_overlap_and_dependents_wait(
    runtime: Runtime, write_workflow: WriteWorkflow
) -> None:
    """Independent tasks run at the same time; a dependent starts only after both end."""
    path = write_workflow(
        """
        name: fan-in
        tasks:
          - {id: a, command: sleep 0.4}
          - {id: b, command: sleep 0.4}
          - {id: c, command: 'true', dependencies: [a, b]}
        """
    )
    result = await run_file(runtime, path)
    assert result.status is RunStatus.completed
    tasks = {t.id: t for t in detail(runtime, result.run_id).tasks}
    a, b, c = tasks["a"], tasks["b"], tasks["c"]
    assert a.started_at and b.started_at and a.finished_at and b.finished_at and c.started_at
    assert a.started_at < b.finished_at and b.started_at < a.finished_at
    assert c.started_at >= max(a.finished_at, b.finished_at)


async def test_max_parallel_one_serialises(runtime: Runtime, write_workflow: WriteWorkflow) -> None:
    """With max_parallel 1 no two tasks run at the same time."""
    path = write_workflow(
        """
        name: serial
        max_parallel: 1
        tasks:
          - {id: a, command: sleep 0.2}
          - {id: b, command: sleep 0.2}
          - {id: c, command: sleep 0.2}
        """
    )
    result = await run_file(runtime, path)
    spans = sorted((t.started_at, t.finished_at) for t in detail(runtime, result.run_id).tasks)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end is not None and start is not None and start >= end


async def test_on_error_fail_cancels_running_and_skips_rest(
    runtime: Runtime, write_workflow: WriteWorkflow, tmp_path: Path
) -> None:
    """on_error fail kills running siblings, skips pending tasks and fails the run."""
    pidfile = tmp_path / "slow.pid"
    path = write_workflow(
        f"""
        name: failing
        tasks:
          - id: slow
            command: echo $$ > {pidfile}; exec sleep 30
          - id: bad
            command: sleep 0.3; exit 4
          - id: after
            command: 'true'
            dependencies: [bad]
        """
    )
    started = time.monotonic()
    result = await run_file(runtime, path)
    assert time.monotonic() - started < 10
    assert result.status is RunStatus.failed
    assert result.error == "task 'bad' failed: exited with status 4"
    assert statuses(runtime, result.run_id) == {
        "slow": "cancelled",
        "bad": "failed",
        "after": "skipped",
    }
    assert wait_gone(int(pidfile.read_text()))


async def test_on_error_continue_lets_dependents_run(
    runtime: Runtime, write_workflow: WriteWorkflow
) -> None:
    """on_error continue records the failure and still runs the dependents."""
    path = write_workflow(
        """
        name: tolerant
        tasks:
          - {id: lint, command: exit 1, on_error: continue}
          - {id: build, command: 'true', dependencies: [lint]}
        """
    )
    result = await run_file(runtime, path)
    assert result.status is RunStatus.completed
    task = runtime.workflows.task(result.run_id, "lint")
    assert (task.status, task.exit_code, task.error) == ("failed", 1, "exited with status 1")
    assert statuses(runtime, result.run_id)["build"] == "completed"


async def test_on_error_retry_succeeds_on_third_attempt(
    runtime: Runtime, write_workflow: WriteWorkflow, tmp_path: Path
) -> None:
    """on_error retry re-runs a failing task and records one execution per attempt."""
    counter = tmp_path / "count"
    path = write_workflow(
        f"""
        name: flaky
        tasks:
          - id: flaky
            on_error: retry
            retry: {{max_attempts: 3, backoff: {{initial: 10ms}}}}
            command: |
              n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}
              echo "attempt $n"
              test $n -ge 3
        """
    )
    result = await run_file(runtime, path)
    assert result.status is RunStatus.completed
    task = runtime.workflows.task(result.run_id, "flaky")
    assert task.attempts == 3
    assert [(e.attempt, e.status, e.exit_code) for e in task.executions] == [
        (1, "failed", 1),
        (2, "failed", 1),
        (3, "completed", 0),
    ]
    for execution in task.executions:
        assert execution.log_path is not None
        assert Path(execution.log_path).read_text() == f"attempt {execution.attempt}\n"


async def test_retry_gives_up_after_max_attempts(
    runtime: Runtime, write_workflow: WriteWorkflow
) -> None:
    """A task that keeps failing is tried max_attempts times and then fails the run."""
    path = write_workflow(
        """
        name: hopeless
        tasks:
          - {id: t, command: exit 7, retry: {max_attempts: 2, backoff: {initial: 10ms}}}
        """
    )
    result = await run_file(runtime, path)
    assert result.status is RunStatus.failed
    task = runtime.workflows.task(result.run_id, "t")
    assert (task.status, task.attempts, len(task.executions)) == ("failed", 2, 2)


async def test_retry_waits_exponential_backoff(
    runtime: Runtime, write_workflow: WriteWorkflow
) -> None:
    """Without jitter the waits between attempts are initial, then initial*multiplier."""
    path = write_workflow(
        """
        name: backoff
        tasks:
          - id: t
            command: exit 1
            retry:
              max_attempts: 3
              backoff: {initial: 300ms, multiplier: 2, max: 10s, jitter: false}
        """
    )
    result = await run_file(runtime, path)
    executions = runtime.workflows.task(result.run_id, "t").executions
    gaps = [
        (later.started_at - earlier.finished_at).total_seconds()  # type: ignore[operator]
        for earlier, later in itertools.pairwise(executions)
    ]
    assert len(gaps) == 2
    assert 0.3 <= gaps[0] < 0.6 + 1.0
    assert 0.6 <= gaps[1] < 1.2 + 1.0


async def test_timeout_kills_whole_tree_including_stubborn_grandchildren(
    runtime: Runtime, write_workflow: WriteWorkflow, tmp_path: Path
) -> None:
    """A timeout kills the task, a grandchild ignoring SIGTERM and one that left the group."""
    stubborn, escaped = tmp_path / "stubborn.pid", tmp_path / "escaped.pid"
    path = write_workflow(
        f"""
        name: timeout
        tasks:
          - id: hang
            timeout: 500ms
            command: |
              (trap '' TERM; exec sleep 60) &
              echo $! > {stubborn}
              setsid sleep 60 &
              echo $! > {escaped}
              wait
        """
    )
    result = await run_file(runtime, path)
    assert result.status is RunStatus.failed
    task = runtime.workflows.task(result.run_id, "hang")
    assert task.error == "timed out after 500ms"
    assert wait_gone(int(stubborn.read_text()))
    assert wait_gone(int(escaped.read_text()))


@pytest.mark.skipif(NO_CGROUP is not None, reason=f"no cgroup v2 containment here: {NO_CGROUP}")
@pytest.mark.parametrize("ending", ["timeout", "exit"])
async def test_a_setsid_env_i_escapee_dies_with_its_task(
    runtime: Runtime, write_workflow: WriteWorkflow, tmp_path: Path, ending: str
) -> None:
    """A double-forked, setsid, env -i grandchild dies when its task times out or ends."""
    pidfile = tmp_path / "escaped.pid"
    rest = "exec sleep 60" if ending == "timeout" else "true"
    command = f"{escape_command(pidfile)}\nwhile [ ! -s {pidfile} ]; do sleep 0.01; done\n{rest}"
    path = write_workflow(
        f"""
        name: escape
        tasks:
          - id: escape
            timeout: 2s
            command: {json.dumps(command)}
        """
    )
    result = await run_file(runtime, path)
    escaped = int(pidfile.read_text())
    try:
        expected = RunStatus.failed if ending == "timeout" else RunStatus.completed
        assert result.status is expected
        assert wait_gone(escaped)
    finally:
        with contextlib.suppress(psutil.Error):
            psutil.Process(escaped).kill()


async def test_stop_kills_running_tasks_and_cancels_the_rest(
    runtime: Runtime, write_workflow: WriteWorkflow, tmp_path: Path
) -> None:
    """Stopping a run kills its process trees and marks it and its tasks cancelled."""
    pidfile = tmp_path / "sleep.pid"
    path = write_workflow(
        f"""
        name: stoppable
        tasks:
          - {{id: long, command: 'echo $$ > {pidfile}; exec sleep 60'}}
          - {{id: next, command: 'true', dependencies: [long]}}
        """
    )
    manager = runtime.workflows
    run_id = manager.create(manager.load_file(path))
    execution = asyncio.create_task(manager.execute(run_id))
    deadline = time.monotonic() + 5
    while not pidfile.exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert manager.stop(run_id) == "stopping"
    result = await asyncio.wait_for(execution, timeout=10)
    assert result.status is RunStatus.cancelled
    assert statuses(runtime, run_id) == {"long": "cancelled", "next": "cancelled"}
    assert detail(runtime, run_id).status == "cancelled"
    assert wait_gone(int(pidfile.read_text()))


async def test_stop_says_what_each_cancelled_task_was_doing(
    runtime: Runtime, write_workflow: WriteWorkflow, tmp_path: Path
) -> None:
    """A stopped run's tasks say whether they were killed, not retried or not run."""
    started = tmp_path / "started"
    path = write_workflow(
        f"""
        name: three-ways
        tasks:
          - {{id: busy, command: 'touch {started}; sleep 60'}}
          - id: flaky
            command: 'exit 1'
            retry: {{max_attempts: 5, backoff: {{initial: 30s}}}}
            on_error: retry
          - {{id: later, command: 'true', dependencies: [busy]}}
        """
    )
    manager = runtime.workflows
    run_id = manager.create(manager.load_file(path))
    execution = asyncio.create_task(manager.execute(run_id))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (
        started.exists() and statuses(runtime, run_id)["flaky"] == "retrying"
    ):
        await asyncio.sleep(0.02)
    manager.stop(run_id)
    result = await asyncio.wait_for(execution, timeout=10)
    assert result.status is RunStatus.cancelled
    errors = {t.id: (t.status, t.error) for t in detail(runtime, run_id).tasks}
    assert errors == {
        "busy": ("cancelled", "killed while running: stopped by request"),
        "flaky": ("cancelled", "not retried: stopped by request"),
        "later": ("cancelled", "not run: stopped by request"),
    }


async def test_resume_keeps_completed_tasks(
    runtime: Runtime, write_workflow: WriteWorkflow, tmp_path: Path
) -> None:
    """Resume re-runs only what did not complete; completed tasks keep their one attempt."""
    marker = tmp_path / "ready"
    path = write_workflow(
        f"""
        name: resumable
        tasks:
          - {{id: setup, command: echo setup}}
          - {{id: check, command: 'test -f {marker}', dependencies: [setup]}}
          - {{id: deploy, command: echo deploy, dependencies: [check]}}
        """
    )
    manager = runtime.workflows
    first = await run_file(runtime, path)
    assert first.status is RunStatus.failed
    assert statuses(runtime, first.run_id) == {
        "setup": "completed",
        "check": "failed",
        "deploy": "skipped",
    }
    marker.touch()
    second = await manager.execute(first.run_id, resume=True)
    assert second.status is RunStatus.completed
    tasks = {t.id: t for t in detail(runtime, first.run_id).tasks}
    assert {k: (t.status, t.attempts) for k, t in tasks.items()} == {
        "setup": ("completed", 1),
        "check": ("completed", 2),
        "deploy": ("completed", 1),
    }


async def test_resume_of_completed_run_is_refused(
    runtime: Runtime, write_workflow: WriteWorkflow
) -> None:
    """Resuming a completed run is a conflict with a message saying why."""
    from gaia.errors import ConflictError

    path = write_workflow("name: done\ntasks:\n  - {id: a, command: 'true'}\n")
    result = await run_file(runtime, path)
    with pytest.raises(ConflictError, match="it completed; there is nothing left to run"):
        await runtime.workflows.execute(result.run_id, resume=True)


async def test_task_environment_and_working_dir(
    runtime: Runtime, write_workflow: WriteWorkflow, tmp_path: Path
) -> None:
    """Tasks see workflow and task env, GAIA_* ids, and run in their working_dir."""
    (tmp_path / "sub").mkdir()
    path = write_workflow(
        """
        name: envs
        variables: {who: world}
        env: {LEVEL: workflow, SHARED: from-workflow}
        tasks:
          - id: show
            working_dir: sub
            env: {SHARED: from-task, GREETING: 'hello ${who}'}
            command: echo "$LEVEL $SHARED $GREETING $GAIA_TASK_ID $GAIA_TASK_ATTEMPT $(pwd)"
        """
    )
    result = await run_file(runtime, path)
    log = runtime.workflows.log_path(result.run_id, "show")
    assert log is not None
    assert log.read_text() == f"workflow from-task hello world show 1 {tmp_path / 'sub'}\n"


async def test_missing_working_dir_fails_the_task_clearly(
    runtime: Runtime, write_workflow: WriteWorkflow, tmp_path: Path
) -> None:
    """A working_dir that does not exist fails the task with a message naming it."""
    path = write_workflow(
        """
        name: nowhere
        tasks:
          - {id: t, command: 'true', working_dir: does-not-exist}
        """
    )
    result = await run_file(runtime, path)
    task = runtime.workflows.task(result.run_id, "t")
    assert task.status == "failed"
    assert task.error == f"working directory {tmp_path / 'does-not-exist'} does not exist"


async def test_silent_task_has_empty_log_and_noisy_task_keeps_all_output(
    runtime: Runtime, write_workflow: WriteWorkflow
) -> None:
    """stdout and stderr both reach the attempt's log, even a large amount of output."""
    path = write_workflow(
        """
        name: output
        tasks:
          - {id: quiet, command: 'true'}
          - {id: loud, command: 'seq 1 200000; echo to-stderr >&2'}
        """
    )
    result = await run_file(runtime, path)
    manager = runtime.workflows
    quiet = manager.log_path(result.run_id, "quiet")
    assert quiet is not None and not quiet.exists()  # nothing printed, no file created
    loud = manager.log_path(result.run_id, "loud")
    assert loud is not None
    lines = loud.read_text().splitlines()
    assert lines[0] == "1" and lines[199999] == "200000" and lines[-1] == "to-stderr"
    assert oct(loud.stat().st_mode & 0o777) == "0o600"


async def test_interrupted_run_of_a_dead_owner_is_recovered(
    runtime: Runtime, write_workflow: WriteWorkflow
) -> None:
    """A running run whose owner process is gone is marked interrupted and can resume."""
    from gaia.workflows.store import Owner

    path = write_workflow("name: orphan\ntasks:\n  - {id: a, command: 'true'}\n")
    manager = runtime.workflows
    run_id = manager.create(manager.load_file(path))
    child = psutil.Popen(["true"])
    child.wait()
    dead = Owner(pid=child.pid, host=os.uname().nodename, started_at=child.create_time())
    manager.store.claim(run_id, dead, resume=False)
    assert manager.recover_interrupted() == [run_id]
    summary = detail(runtime, run_id)
    assert summary.status == "interrupted"
    assert summary.error == (f"interrupted: the gaia process that ran it (pid {child.pid}) died")
    result = await manager.execute(run_id, resume=True)
    assert result.status is RunStatus.completed


async def test_task_states_in_memory_match_the_database(
    runtime: Runtime, write_workflow: WriteWorkflow
) -> None:
    """What the scheduler ends with is exactly what the database holds after the run."""

    def task(i: int) -> str:
        code = 1 if i % 3 == 0 and i > 0 else 0
        deps = ", ".join(f"t{j}" for j in range(max(0, i - 2), i))
        return (
            f"  - {{id: t{i}, command: 'exit {code}', on_error: continue, dependencies: [{deps}]}}"
        )

    tasks = "\n".join(task(i) for i in range(30))
    path = write_workflow(f"name: many\nmax_parallel: 4\ntasks:\n{tasks}\n")
    result = await run_file(runtime, path)
    stored = statuses(runtime, result.run_id)
    assert stored == {key: st.status.value for key, st in result.tasks.items()}
    assert (
        stored["t3"] == WorkflowTaskStatus.failed and stored["t4"] == WorkflowTaskStatus.completed
    )


def test_an_ambiguous_id_prefix_is_bad_input_not_a_conflict(
    runtime: Runtime, write_workflow: WriteWorkflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs whose ids share a prefix: the prefix is a BadRequestError (HTTP 400), and
    the CLI exits 2; 409 is for what the state of a run forbids."""
    import uuid

    from gaia.errors import BadRequestError

    ids = iter(uuid.UUID(f"abcd{n:028x}") for n in range(1, 100))
    monkeypatch.setattr("gaia.workflows.store.uuid.uuid4", lambda: next(ids))
    path = write_workflow("name: w\ntasks:\n  - {id: a, command: 'true'}\n")
    first = runtime.workflows.create(runtime.workflows.load_file(path))
    second = runtime.workflows.create(runtime.workflows.load_file(path))
    with pytest.raises(BadRequestError, match="'abcd' is ambiguous") as refused:
        runtime.workflows.resolve("abcd")
    assert refused.value.http_status == 400
    assert runtime.workflows.resolve(first) == first
    assert runtime.workflows.resolve(second) == second
