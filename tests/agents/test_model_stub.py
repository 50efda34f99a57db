"""The real agent CLIs, run offline against the scripted model stub, write the file asked for.

The CLIs come from ``tools/agent-clis/install.sh``; without them these tests are skipped.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.agents.model_stub import (
    ModelStub,
    claude_env,
    clean_environ,
    codex_env,
    directive,
    gemini_env,
)

BIN = Path(__file__).resolve().parents[2] / "tools" / "agent-clis" / "node_modules" / ".bin"
EnvFn = Callable[[str, Path], dict[str, str]]


def _require(tool: str) -> Path:
    path = BIN / tool
    if not path.exists():
        pytest.skip(f"{path} is missing: run tools/agent-clis/install.sh")
    return path


def _claude_argv(prompt: str) -> list[str]:
    return [
        str(_require("claude")),
        "-p",
        prompt,
        "--output-format",
        "stream-json",
        "--verbose",
        "--permission-mode",
        "acceptEdits",
        "--max-turns",
        "5",
    ]


def _gemini_argv(prompt: str) -> list[str]:
    return [
        str(_require("gemini")),
        "-p",
        prompt,
        "--output-format",
        "stream-json",
        "--approval-mode",
        "yolo",
    ]


def _codex_argv(prompt: str) -> list[str]:
    return [
        str(_require("codex")),
        "exec",
        "--json",
        "--sandbox",
        "workspace-write",
        "--skip-git-repo-check",
        prompt,
    ]


@pytest.fixture
def stub() -> Iterator[ModelStub]:
    """A running model stub, stopped after the test."""
    with ModelStub() as running:
        yield running


def _run_agent(
    argv: list[str], env_fn: EnvFn, stub: ModelStub, root: Path
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run one agent in a fresh git repository under ``root`` with its own HOME."""
    repo, home = root / "repo", root / "home"
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    env = clean_environ() | env_fn(stub.url, home)
    proc = subprocess.run(
        argv,
        cwd=repo,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc, repo


def test_claude_code_writes_the_file(stub: ModelStub, tmp_path: Path) -> None:
    """Claude Code calls Write with an absolute path in its working directory, then answers."""
    argv = _claude_argv("Create the file.\n" + directive("sub/hello.txt", "hello from claude"))
    proc, repo = _run_agent(argv, claude_env, stub, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (repo / "sub" / "hello.txt").read_text() == "hello from claude"
    assert '"type":"result"' in proc.stdout.splitlines()[-1]
    assert [r["path"] for r in stub.requests] == ["/v1/messages?beta=true"] * 2


def test_gemini_cli_writes_the_file(stub: ModelStub, tmp_path: Path) -> None:
    """Gemini CLI gets its router answer, calls write_file in its working directory, answers."""
    argv = _gemini_argv("Create the file.\n" + directive("sub/hello.txt", "hello from gemini"))
    proc, repo = _run_agent(argv, gemini_env, stub, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (repo / "sub" / "hello.txt").read_text() == "hello from gemini"
    assert '"status":"success"' in proc.stdout.splitlines()[-1]
    assert any(":streamGenerateContent" in r["path"] for r in stub.requests)


def test_codex_writes_the_file(stub: ModelStub, tmp_path: Path) -> None:
    """Codex applies the stub's apply_patch (which ends the file with a newline), then answers."""
    argv = _codex_argv("Create the file.\n" + directive("sub/hello.txt", "hello from codex"))
    proc, repo = _run_agent(argv, codex_env, stub, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (repo / "sub" / "hello.txt").read_text() == "hello from codex\n"
    assert '"type":"turn.completed"' in proc.stdout.splitlines()[-1]


def test_concurrent_sessions_each_write_their_own_file(stub: ModelStub, tmp_path: Path) -> None:
    """Several Claude Code and Gemini CLI sessions share one stub and each writes its own file."""
    jobs: list[tuple[Callable[[str], list[str]], EnvFn, str]] = [
        (_claude_argv, claude_env, "claude-a"),
        (_claude_argv, claude_env, "claude-b"),
        (_gemini_argv, gemini_env, "gemini-a"),
        (_gemini_argv, gemini_env, "gemini-b"),
    ]

    def one(job: tuple[Callable[[str], list[str]], EnvFn, str]) -> tuple[int, str, str]:
        argv_fn, env_fn, name = job
        argv = argv_fn(directive(f"{name}.txt", f"written by {name}"))
        proc, repo = _run_agent(argv, env_fn, stub, tmp_path / name)
        written = repo / f"{name}.txt"
        return proc.returncode, name, written.read_text() if written.exists() else ""

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(one, jobs))
    assert results == [(0, name, f"written by {name}") for _, _, name in jobs]
