"""The supervisor with real processes, real sockets on 127.0.0.1 and a real SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from sqlalchemy import text

from gaia.errors import ServiceError
from gaia.runtime import Runtime
from gaia.services.registry import ServiceRegistry
from gaia.services.spec import ServiceSpec
from gaia.services.supervisor import (
    Health,
    ServiceState,
    Supervisor,
    SupervisorOptions,
    restart_delay,
)
from gaia.storage.recorder import Recorder
from tests.helpers import (
    cgroup_containment_reason,
    escape_command,
    free_port,
    proc_gone,
    wait_until,
)

NO_CGROUP = cgroup_containment_reason()


@pytest.fixture
async def supervisor(runtime: Runtime, tmp_path: Path) -> AsyncIterator[Supervisor]:
    recorder = Recorder(runtime.db, linger=0)
    sup = Supervisor(
        ServiceRegistry(runtime.db),
        recorder,
        SupervisorOptions(
            log_dir=tmp_path / "logs", kill_grace=1.0, dependency_timeout=15, start_seconds=0.2
        ),
    )
    yield sup
    await sup.stop_all()
    recorder.close()


def register(sup: Supervisor, **fields: Any) -> ServiceSpec:
    spec = ServiceSpec.model_validate(fields)
    sup.registry.register([spec])
    return spec


def http_service(name: str, port: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "command": sys.executable,
        "args": ["-m", "http.server", str(port), "--bind", "127.0.0.1"],
        "port": port,
        "health_check": {"type": "http", "interval": "100ms", "timeout": "1s", "retries": 2},
        **extra,
    }


async def eventually(predicate: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_http_service_runs_healthy_and_stops(supervisor: Supervisor) -> None:
    """A real HTTP server becomes running and healthy, and stop ends its process."""
    port = free_port()
    register(supervisor, **http_service("web", port))
    assert await supervisor.start("web") is ServiceState.running
    await eventually(lambda: supervisor.state("web")[1] is Health.healthy)
    _, _, pid = supervisor.state("web")
    assert pid is not None
    proc = psutil.Process(pid)
    assert await supervisor.stop("web") is ServiceState.stopped
    wait_until(lambda: proc_gone(proc), timeout=5, what="the server to exit")


async def test_a_service_that_cannot_spawn_says_why(supervisor: Supervisor) -> None:
    """Starting a service whose program does not exist fails with the reason, not a shrug."""
    register(supervisor, name="ghost", command="/nonexistent/gaia-test-binary", args=["x"])
    with pytest.raises(ServiceError) as caught:
        await supervisor.start("ghost")
    assert str(caught.value) == (
        "service 'ghost' failed to start: cannot start '/nonexistent/gaia-test-binary': "
        "No such file or directory"
    )
    assert supervisor.state("ghost")[0] is ServiceState.failed


async def test_crash_loop_stops_at_max_restarts(supervisor: Supervisor, runtime: Runtime) -> None:
    """A service that keeps crashing is restarted max_restarts times, then marked failed."""
    register(
        supervisor,
        name="crashy",
        command="echo boom; exit 3",
        restart={"policy": "on_failure", "backoff": {"initial": 0}, "max_restarts": 3},
        start_seconds=0,  # the restart loop is under test, not the start
    )
    await supervisor.start("crashy")
    await eventually(lambda: supervisor.state("crashy")[0] is ServiceState.failed)
    assert supervisor.restart_count("crashy") == 3
    supervisor.recorder.flush()
    with runtime.db.read() as conn:
        row = conn.execute(text("SELECT state, restart_count, last_exit_code FROM gaia_services"))
        assert tuple(row.one()) == ("failed", 3, 3)
        messages = [m for (m,) in conn.execute(text("SELECT message FROM gaia_service_events"))]
    assert messages[-1] == "gave up after 3 restarts within 60s"
    assert supervisor.log_path("crashy").read_text() == "boom\n" * 4


async def test_stop_kills_grandchildren_that_ignore_sigterm(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    """Nothing a service started survives its stop, even a child ignoring SIGTERM."""
    pidfile = tmp_path / "child.pid"
    register(
        supervisor,
        name="stubborn",
        command=f"(trap '' TERM; exec sleep 60) & echo $! > {pidfile}; wait",
        stop={"timeout": "500ms"},
    )
    await supervisor.start("stubborn")
    # The shell creates the file before it writes the pid: wait for the pid itself.
    pid = wait_until(
        lambda: pidfile.exists() and pidfile.read_text().strip(),
        timeout=5,
        what="the child to start",
    )
    child = psutil.Process(int(pid))
    await supervisor.stop("stubborn")
    wait_until(lambda: proc_gone(child), timeout=5, what="the stubborn child to die")


@pytest.mark.skipif(NO_CGROUP is not None, reason=f"no cgroup v2 containment here: {NO_CGROUP}")
async def test_stop_kills_a_setsid_env_i_escapee(supervisor: Supervisor, tmp_path: Path) -> None:
    """A double-forked, setsid, env -i grandchild of a service dies when it is stopped."""
    pidfile = tmp_path / "escaped.pid"
    register(
        supervisor,
        name="escaper",
        command=f"{escape_command(pidfile)} exec sleep 60",
        stop={"timeout": "500ms"},
    )
    await supervisor.start("escaper")
    escaped = int(
        wait_until(
            lambda: pidfile.exists() and pidfile.read_text().strip(),
            timeout=5,
            what="the escapee to start",
        )
    )
    try:
        await supervisor.stop("escaper")
        wait_until(lambda: proc_gone(psutil.Process(escaped)), timeout=5, what="the escapee")
    finally:
        with contextlib.suppress(psutil.Error):
            psutil.Process(escaped).kill()


async def test_depends_on_healthy_starts_the_dependency_first(supervisor: Supervisor) -> None:
    """Starting a service first starts its dependency and waits until it is healthy."""
    db_port = free_port()
    register(supervisor, **http_service("db", db_port))
    register(supervisor, name="app", command="sleep 60", depends_on={"db": "healthy"})
    await supervisor.start("app")
    assert supervisor.state("db")[:2] == (ServiceState.running, Health.healthy)
    assert supervisor.state("app")[0] is ServiceState.running
    await supervisor.stop_all()
    assert supervisor.state("db")[0] is ServiceState.stopped
    assert supervisor.state("app")[0] is ServiceState.stopped


async def test_unhealthy_service_is_restarted(supervisor: Supervisor, tmp_path: Path) -> None:
    """A running service whose health check keeps failing is restarted (Docker does not)."""
    marker = tmp_path / "healthy"
    register(
        supervisor,
        name="sick",
        command="exec sleep 60",
        health_check={
            "type": "exec",
            "command": f"test -f {marker}",
            "interval": "100ms",
            "retries": 2,
        },
        restart={"policy": "on_failure", "backoff": {"initial": 0}},
        start_seconds=0,  # it is killed for ill health before it could count as started
    )
    await supervisor.start("sick")
    first_pid = supervisor.state("sick")[2]
    await eventually(lambda: supervisor.restart_count("sick") >= 1)
    marker.touch()
    await eventually(lambda: supervisor.state("sick")[1] is Health.healthy)
    assert supervisor.state("sick")[2] != first_pid


async def test_log_rotation(runtime: Runtime, tmp_path: Path) -> None:
    """Service output rotates to .1, .2 … once the log passes its size limit."""
    recorder = Recorder(runtime.db, linger=0)
    sup = Supervisor(
        ServiceRegistry(runtime.db),
        recorder,
        SupervisorOptions(
            log_dir=tmp_path / "logs", kill_grace=1.0, log_max_bytes=10_000, log_backups=2
        ),
    )
    register(sup, name="chatty", command="for i in $(seq 1 3000); do echo line $i; done")
    await sup.start("chatty")
    await eventually(lambda: sup.state("chatty")[0] is ServiceState.exited)
    log = sup.log_path("chatty")
    rotated = [log.with_name("chatty.log.1"), log.with_name("chatty.log.2")]
    assert all(p.exists() for p in rotated)
    assert not log.with_name("chatty.log.3").exists()
    assert all(p.stat().st_size <= 10_000 for p in [log, *rotated])
    assert log.read_text().splitlines()[-1] == "line 3000"
    await sup.stop_all()
    recorder.close()


async def test_a_service_that_failed_5000_times_is_still_kept(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    """After 5,000 quick exits the backoff is its cap, and the keeper lives on.

    `multiplier ** (failures - 1)` overflowed after ~1,025 failures and killed the keeper:
    the service then stayed exited, never restarted. The count is seeded (the keeper
    reads it where it counted the 5,000 exits), then the service really exits once more.
    """
    go = tmp_path / "go"
    register(
        supervisor,
        name="flaky",
        command=f"while [ ! -e {go} ]; do sleep 0.02; done; exit 1",
        restart={
            "policy": "always",
            "backoff": {"initial": "10ms", "multiplier": 2, "max": "50ms"},
            "max_restarts": 1000,
        },
    )
    await supervisor.start("flaky")
    svc = supervisor._services["flaky"]
    svc.failures = 5000
    go.touch()
    await eventually(lambda: supervisor.restart_count("flaky") >= 2)
    assert svc.failures >= 5002
    assert svc.keeper is not None and not svc.keeper.done()
    assert restart_delay(svc.spec.restart_policy.backoff, svc.failures) == 0.05
    assert restart_delay(svc.spec.restart_policy.backoff, 10**9) == 0.05


async def test_env_file_is_read_as_python_dotenv_reads_it(
    supervisor: Supervisor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Comments after values, quotes, export, multi-line values and ${VAR} expansion."""
    monkeypatch.setenv("GAIA_TEST_OUTER", "outer")
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# a comment line\n"
        "PLAIN=1 # note\n"
        "export EXPORTED=yes\n"
        "SINGLE='a # not a comment'\n"
        'DOUBLE="two\\nlines"\n'
        'MULTI="first\n'
        'second"\n'
        "EXPANDED=${PLAIN}-${GAIA_TEST_OUTER}\n"
        "BARE\n"
    )
    out = tmp_path / "env.json"
    keys = ["PLAIN", "EXPORTED", "SINGLE", "DOUBLE", "MULTI", "EXPANDED", "BARE"]
    dump = (
        "import json, os, sys; "
        f"json.dump({{k: os.environ.get(k) for k in {keys!r}}}, open(sys.argv[1], 'w'))"
    )
    register(
        supervisor,
        name="envy",
        command=sys.executable,
        args=["-c", dump, str(out)],
        env_file=str(env_file),
    )
    await supervisor.start("envy")
    await eventually(lambda: supervisor.state("envy")[0] is ServiceState.exited)
    assert json.loads(out.read_text()) == {
        "PLAIN": "1",
        "EXPORTED": "yes",
        "SINGLE": "a # not a comment",
        "DOUBLE": "two\nlines",
        "MULTI": "first\nsecond",
        "EXPANDED": "1-outer",
        "BARE": None,
    }


async def test_a_missing_env_file_is_a_clear_start_failure(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.env"
    register(supervisor, name="lost", command="true", env_file=str(missing))
    with pytest.raises(ServiceError, match=f"cannot read env_file {missing}: No such file"):
        await supervisor.start("lost")


async def test_a_start_fails_when_the_process_dies_at_once(supervisor: Supervisor) -> None:
    """Not `running`: the exit status and the last lines of its log; no restart loop."""
    register(
        supervisor,
        name="dies",
        command="echo old run; echo starting up; echo 'port 8080 in use' >&2; exit 3",
        restart={"policy": "on_failure", "backoff": {"initial": 0}},
        start_seconds=5,
    )
    with pytest.raises(ServiceError) as caught:
        await supervisor.start("dies")
    message = str(caught.value)
    assert message.startswith(
        "service 'dies' failed to start: exit status 3 within 5s of starting; "
        "last lines of its log:\n"
    )
    assert message.endswith("starting up\nport 8080 in use")
    assert supervisor.state("dies")[0] is ServiceState.failed
    assert supervisor.restart_count("dies") == 0


async def test_a_start_waits_start_seconds_with_the_process_alive(
    supervisor: Supervisor,
) -> None:
    """A process that dies after a moment, but inside start_seconds, fails the start too."""
    register(supervisor, name="late", command="sleep 0.3; exit 7", start_seconds=3)
    with pytest.raises(ServiceError, match="exit status 7 within 3s of starting; it wrote nothing"):
        await supervisor.start("late")


async def test_a_healthy_service_counts_as_started_before_start_seconds(
    supervisor: Supervisor,
) -> None:
    """The health check passing ends the wait: no need to sit out a long start_seconds."""
    port = free_port()
    register(supervisor, **http_service("quick", port), start_seconds=60)
    async with asyncio.timeout(30):
        assert await supervisor.start("quick") is ServiceState.running
    assert supervisor.state("quick")[1] is Health.healthy


async def test_a_short_job_that_exits_0_is_reported_exited(supervisor: Supervisor) -> None:
    register(supervisor, name="job", command="true", start_seconds=5)
    assert await supervisor.start("job") is ServiceState.exited
