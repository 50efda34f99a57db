"""Run a template's command (a hook or a validate check) the way both need it.

``/bin/sh -c`` in its own process group, output read by a thread so that a silent
command still times out and a background process that keeps the pipe open does not hold
anything up once the command itself exited; the group is killed afterwards, so nothing
it started outlives it.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from gaia._proc import kill_group
from gaia.errors import ProcessError

__all__ = ["ShellResult", "run_shell"]


@dataclass(frozen=True)
class ShellResult:
    code: int | None  # None: timed out, and the group was killed
    output: str  # the last ``keep`` characters of stdout and stderr


def run_shell(
    command: str,
    cwd: Path,
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
    keep: int = 4000,
) -> ShellResult:
    try:
        process = subprocess.Popen(
            ["/bin/sh", "-c", command],
            cwd=cwd,
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except OSError as exc:  # no such directory, no /bin/sh, no more processes
        raise ProcessError(f"cannot run {command!r} in {cwd}: {exc.strerror or exc}") from exc
    assert process.stdout is not None
    chunks: list[str] = []
    kept = 0

    def pump(stream: IO[str]) -> None:
        nonlocal kept
        for raw in stream:
            chunks.append(raw)
            kept += len(raw)
            while kept - len(chunks[0]) >= keep:
                kept -= len(chunks.pop(0))
            if on_line is not None:
                on_line(raw.rstrip("\n"))

    reader = threading.Thread(target=pump, args=(process.stdout,), daemon=True)
    reader.start()
    code: int | None
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        code = None
    kill_group(process.pid)
    process.wait()
    reader.join(timeout=1.0)
    return ShellResult(code, "".join(chunks)[-keep:])
