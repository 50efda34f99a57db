"""Stopping a service: one SIGTERM per process, and its output kept until it has exited.

The service is a real program (programs/graceful.py) that shuts down as redis does: on
SIGTERM it takes a while, writes as it goes, then a last ``clean shutdown`` line. It
notes each SIGTERM, and any write that hit a closed pipe, in a file of its own.
Each test runs under both containments: a cgroup v2 leaf (where this machine has one)
and a bare process group with the cookie sweep.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from gaia import _containment
from gaia.runtime import Runtime
from gaia.services.registry import ServiceRegistry
from gaia.services.spec import ServiceSpec
from gaia.services.supervisor import ServiceState, Supervisor, SupervisorOptions
from gaia.storage.recorder import Recorder
from tests.helpers import cgroup_containment_reason, proc_gone

GRACEFUL = Path(__file__).parent / "programs" / "graceful.py"
SERVER = f"{shlex.quote(sys.executable)} {shlex.quote(str(GRACEFUL))}"
NO_CGROUP = cgroup_containment_reason()


@pytest.fixture(
    params=[
        pytest.param(
            "cgroup",
            marks=pytest.mark.skipif(NO_CGROUP is not None, reason=f"no cgroup v2: {NO_CGROUP}"),
        ),
        "process-group",
    ]
)
def containment(request: pytest.FixtureRequest, runtime: Runtime) -> Iterator[str]:
    mode = request.param
    _containment.configure(mode)
    assert _containment.containment().kind == mode
    yield mode
    _containment.configure(runtime.settings.containment)


@pytest.fixture
async def supervisor(
    runtime: Runtime, tmp_path: Path, containment: str
) -> AsyncIterator[Supervisor]:
    recorder = Recorder(runtime.db, linger=0)
    sup = Supervisor(
        ServiceRegistry(runtime.db),
        recorder,
        SupervisorOptions(log_dir=tmp_path / "logs", kill_grace=5.0, start_seconds=0),
    )
    yield sup
    await sup.stop_all()
    recorder.close()


async def start(sup: Supervisor, command: str, **fields: Any) -> None:
    spec = ServiceSpec.model_validate({"name": "db", "command": command, **fields})
    sup.registry.register([spec])
    assert await sup.start("db") is ServiceState.running


def log_lines(sup: Supervisor) -> list[str]:
    path = sup.log_path("db")
    return path.read_text().splitlines() if path.exists() else []


def last_exit_code(sup: Supervisor) -> int | None:
    sup.recorder.flush()
    return sup.registry.get("db").last_exit_code


def record_lines(record: Path) -> list[str]:
    return record.read_text().splitlines() if record.exists() else []


async def wait_ready(sup: Supervisor, count: int = 1) -> None:
    """Until ``count`` programs have set their SIGTERM handler and said so (the log is
    written by the event loop: this waits in it)."""
    deadline = asyncio.get_running_loop().time() + 20
    while sum("ready" in line for line in log_lines(sup)) < count:
        assert asyncio.get_running_loop().time() < deadline, f"{count} program(s) not ready"
        await asyncio.sleep(0.02)


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


async def test_a_simple_shell_command_is_execd_and_stopped_with_one_sigterm(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    """`command: "server args"` runs as the server itself (the shell execs it): its pid
    is the service's, it gets exactly one SIGTERM, and every line it writes while
    shutting down, the last included, reaches the service log."""
    record = tmp_path / "signals"
    await start(supervisor, f"{SERVER} {record}", stop={"timeout": "20s"})
    await wait_ready(supervisor)
    _, _, pid = supervisor.state("db")
    assert pid is not None
    assert psutil.Process(pid).cmdline()[1:] == [str(GRACEFUL), str(record)]  # no shell
    assert await supervisor.stop("db") is ServiceState.stopped
    assert record_lines(record) == ["server: SIGTERM"]
    lines = log_lines(supervisor)
    shutdown = [f"server: saving, step {n}" for n in range(5)]
    assert lines[-6:] == [*shutdown, "server: clean shutdown"]
    assert last_exit_code(supervisor) == 0


async def test_a_compound_command_is_stopped_with_one_sigterm_per_process(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    """`cd dir && server` cannot be exec'd: the shell and the server each get one SIGTERM;
    the shell dies at once, and the server's shutdown is still read to the end."""
    record = tmp_path / "signals"
    await start(supervisor, f"cd {shlex.quote(str(tmp_path))} && {SERVER} {record}")
    await wait_ready(supervisor)
    _, _, pid = supervisor.state("db")
    assert pid is not None
    members = tree(pid)
    assert members[0].name() in ("sh", "dash")  # the shell leads
    assert await supervisor.stop("db") is ServiceState.stopped
    assert record_lines(record) == ["server: SIGTERM"]
    assert log_lines(supervisor)[-1] == "server: clean shutdown"
    assert all(proc_gone(p) for p in members)


async def test_a_pipeline_is_stopped_whole_and_its_output_read_to_the_end(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    """`server | relay`: each gets one SIGTERM; the relay copies the server's shutdown
    lines until the server closes the pipe, and then ends cleanly itself."""
    record = tmp_path / "signals"
    await start(supervisor, f"{SERVER} {record} | {SERVER} {record} --relay")
    await wait_ready(supervisor, count=2)  # the relay's own line and the server's, relayed
    _, _, pid = supervisor.state("db")
    assert pid is not None
    members = tree(pid)
    assert await supervisor.stop("db") is ServiceState.stopped
    assert sorted(record_lines(record)) == ["relay: SIGTERM", "server: SIGTERM"]
    lines = log_lines(supervisor)
    assert lines[-2:] == ["relay: relayed server: clean shutdown", "relay: clean shutdown"]
    assert all(proc_gone(p) for p in members)


async def test_a_process_that_outlives_the_grace_period_is_killed_after_one_sigterm(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    """A stop timeout shorter than the shutdown: one SIGTERM, then SIGKILL; the lines
    written before the kill are in the log."""
    record = tmp_path / "signals"
    await start(supervisor, f"{SERVER} {record} --shutdown=60", stop={"timeout": "150ms"})
    await wait_ready(supervisor)
    _, _, pid = supervisor.state("db")
    assert pid is not None
    server = psutil.Process(pid)
    assert await supervisor.stop("db") is ServiceState.stopped
    assert proc_gone(server)
    assert record_lines(record) == ["server: SIGTERM"]
    assert last_exit_code(supervisor) == -9
    assert "server: clean shutdown" not in log_lines(supervisor)
