"""The malformed-input corpus (tests/corpus/generate.py) through every loader, the CLI
and the API: each file is a located error — exit 2 or a 4xx — never a traceback, a 5xx
or a hang. In-process, each file may cost this thread at most 2 s of CPU (an alias bomb
once took 64 s): CPU time, not the wall clock, so a busy machine cannot fail the test;
over the API the client's timeout is the hang guard.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gaia.cli import cli
from gaia.config import load_settings
from gaia.errors import ConfigError, GaiaError, ValidationError
from gaia.scaffold.loader import load_template_file
from gaia.services.loader import load_service_file
from gaia.sessions.loader import load_layout_file
from gaia.workflows.loader import load_workflow_file
from tests.api.test_workflows_api import (
    Server,
    serving,
)
from tests.corpus.generate import CONFIG, KINDS, generic, specific, write_corpus

GAIA_BIN = Path(sys.executable).parent / "gaia"
PER_FILE = 2.0  # seconds of this thread's CPU per file; most take milliseconds
LOCATED = re.compile(r"\S+:\d+:\d+: ")
YAML_FILES = [(kind, name) for kind in KINDS for name in (*generic(kind), *specific()[kind])]
CONFIG_FILES = sorted(CONFIG)
LOADERS: dict[str, Callable[[Path], Any]] = {
    "workflows": load_workflow_file,
    "services": load_service_file,
    "layouts": load_layout_file,
    "templates": load_template_file,
}
CLI_ARGS: dict[str, list[str]] = {
    "workflows": ["workflow", "validate"],
    "services": ["service", "register"],
    "layouts": ["session", "up"],
    "templates": ["scaffold", "show"],
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    write_corpus(root)
    assert sum(1 for _ in root.glob("*/*")) >= 200
    return root


def timed(what: str, run: Callable[[], Any]) -> Any:
    """Run ``run`` in this thread; it must not cost more than PER_FILE of CPU."""
    started = time.thread_time()
    result = run()
    used = time.thread_time() - started
    assert used < PER_FILE, f"{what} used {used:.2f}s of CPU"
    return result


# -- (a) the Python loaders -------------------------------------------------------


@pytest.mark.parametrize(("kind", "name"), YAML_FILES)
def test_loader(corpus: Path, kind: str, name: str) -> None:
    path = corpus / kind / f"{name}.yaml"

    def load() -> GaiaError:
        with pytest.raises(ValidationError) as caught:
            LOADERS[kind](path)
        return caught.value

    error = timed(str(path), load)
    assert error.problems, str(error)
    for problem in error.problems:
        assert problem.line is not None and problem.column is not None, str(problem)
        assert str(problem).startswith(f"{path}:{problem.line}:{problem.column}: ")


def config_home(corpus: Path, name: str, parent: Path) -> Path:
    home = parent / f"home-{name}"
    home.mkdir(exist_ok=True)
    shutil.copyfile(corpus / "config" / f"{name}.toml", home / "config.toml")
    return home


@pytest.mark.parametrize("name", CONFIG_FILES)
def test_config_loader(corpus: Path, tmp_path: Path, name: str) -> None:
    home = config_home(corpus, name, tmp_path)

    def load() -> ConfigError:
        with pytest.raises(ConfigError) as caught:
            load_settings(home=home, environ={})
        return caught.value

    message = str(timed(name, load))
    config = str(home / "config.toml")
    if name.startswith("syntax-"):
        assert re.match(rf"{re.escape(config)}:\d+:\d+: ", message), message
    else:  # a value of the wrong kind: TOML keeps no positions, the key is named
        assert config in message, message


# -- (b) the CLI ------------------------------------------------------------------


def check_cli(code: int, output: str, what: str, located: bool = True) -> None:
    assert code == 2, f"{what}: exit {code}\n{output}"
    assert "Traceback" not in output, f"{what}:\n{output}"
    if located:
        assert LOCATED.search(output), f"{what}: no file:line:col\n{output}"


@pytest.mark.parametrize("kind", KINDS)
def test_cli_in_process(corpus: Path, gaia_home: Path, cli_env: dict[str, str], kind: str) -> None:
    runner = CliRunner()
    for path in sorted((corpus / kind).iterdir()):
        args = [*CLI_ARGS[kind], str(path)]
        result = timed(str(path), lambda args=args: runner.invoke(cli, args, env=cli_env))
        assert not isinstance(result.exception, Exception) or isinstance(
            result.exception, SystemExit
        ), f"{path}: {result.exception!r}"
        check_cli(result.exit_code, result.output, str(path))


def test_cli_config_in_process(corpus: Path, tmp_path: Path, cli_env: dict[str, str]) -> None:
    runner = CliRunner()
    for name in CONFIG_FILES:
        env = {**cli_env, "GAIA_HOME": str(config_home(corpus, name, tmp_path))}
        result = timed(name, lambda env=env: runner.invoke(cli, ["workflow", "list"], env=env))
        check_cli(result.exit_code, result.output, name, located=name.startswith("syntax-"))


REAL = ["alias-bomb", "non-utf8", "huge-int"]


def run_gaia(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(GAIA_BIN), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@pytest.mark.parametrize("kind", KINDS)
def test_cli_subprocess(corpus: Path, cli_env: dict[str, str], kind: str) -> None:
    """A real `gaia` for a few files of each kind (the rest run in-process above)."""
    for name in REAL:
        path = corpus / kind / f"{name}.yaml"
        done = run_gaia([*CLI_ARGS[kind], str(path)], cli_env)
        check_cli(done.returncode, done.stdout + done.stderr, str(path))


def test_cli_subprocess_config(corpus: Path, tmp_path: Path, cli_env: dict[str, str]) -> None:
    for name in ("syntax-huge-int", "value-port-string"):
        env = {**cli_env, "GAIA_HOME": str(config_home(corpus, name, tmp_path))}
        done = run_gaia(["workflow", "list"], env)
        check_cli(done.returncode, done.stdout + done.stderr, name, name.startswith("syntax-"))


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    yield path
    # Should a reader still wait for a writer (the defect), let it go.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return
    os.close(fd)


@pytest.mark.parametrize("kind", KINDS)
def test_cli_special_files(fifo: Path, cli_env: dict[str, str], kind: str) -> None:
    for path, what in ((fifo, "a FIFO"), (Path("/dev/zero"), "a character device")):
        started = time.monotonic()
        done = run_gaia([*CLI_ARGS[kind], str(path)], cli_env)
        output = done.stdout + done.stderr
        assert done.returncode == 2, output
        assert "Traceback" not in output
        assert f"it is {what}" in output
        assert time.monotonic() - started < 10  # a process start, then at once


def test_cli_config_fifo(tmp_path: Path, cli_env: dict[str, str]) -> None:
    home = tmp_path / "home"
    home.mkdir()
    os.mkfifo(home / "config.toml")
    done = run_gaia(["workflow", "list"], {**cli_env, "GAIA_HOME": str(home)})
    assert done.returncode == 2, done.stderr
    assert "config.toml: cannot read config file: it is a FIFO" in done.stderr


# -- (c) the API ------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("corpus-api")) as srv:
        yield srv


def api_requests(kind: str, path: Path) -> tuple[str, dict[str, Any]]:
    """The route that takes this kind of definition, and how to send it."""
    if kind == "workflows":
        return "/api/orchestration/workflows", {"content": path.read_bytes()}
    if kind == "services":
        return "/api/orchestration/services", {"content": path.read_bytes()}
    if kind == "layouts":
        return "/api/orchestration/sessions/up", {"json": {"path": str(path)}}
    return "/api/orchestration/templates", {"json": {"path": str(path)}}


@pytest.mark.parametrize("kind", KINDS)
def test_api(corpus: Path, server: Server, kind: str) -> None:
    failures: list[str] = []
    with server.client() as client:
        for path in sorted((corpus / kind).iterdir()):
            route, body = api_requests(kind, path)
            headers = {"content-type": "application/yaml"} if "content" in body else {}
            # The daemon does the work: the client's timeout guards against a hang.
            response = client.post(route, headers=headers, **body)
            if not 400 <= response.status_code < 500:
                failures.append(f"{path.name}: {response.status_code} {response.text[:200]}")
                continue
            details = response.json()["error"]["details"] or []
            if not any(isinstance(d, dict) and d.get("line") for d in details):
                failures.append(f"{path.name}: not located: {response.text[:300]}")
    assert not failures, "\n".join(failures)


def test_api_is_responsive_while_parsing(corpus: Path, server: Server) -> None:
    """Bombs posted from several threads at once: the health route still answers."""
    bomb = (corpus / "workflows" / "alias-bomb.yaml").read_bytes()
    statuses: list[int] = []

    def post() -> None:
        with server.client() as client:
            for _ in range(3):
                statuses.append(
                    client.post(
                        "/api/orchestration/workflows",
                        content=bomb,
                        headers={"content-type": "application/yaml"},
                    ).status_code
                )

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    with server.client() as client:
        assert client.get("/api/orchestration/health").status_code == 200
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [422] * 12
