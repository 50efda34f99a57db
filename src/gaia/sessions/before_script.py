"""A layout's ``before_script``, run as tmuxp runs it: split like a shell line, in the
session's start directory, and the session is not built if it cannot start or fails."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping

from gaia.errors import SessionError

__all__ = ["BEFORE_SCRIPT_TIMEOUT", "run_before_script"]

BEFORE_SCRIPT_TIMEOUT = 600.0  # seconds; tmuxp waits for ever, a daemon thread should not


def run_before_script(
    script: str, cwd: str | None, environ: Mapping[str, str] | None = None
) -> None:
    """Run ``script``; a SessionError saying why when it cannot run or exits non-zero.

    ``environ``: the caller's variables (when the daemon runs it for a command), over
    this process's own.
    """
    try:
        argv = shlex.split(script)
    except ValueError as exc:
        raise SessionError(f"before_script {script!r}: {exc}") from None
    if not argv:
        return
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            env={**os.environ, **environ} if environ else None,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="backslashreplace",
            timeout=BEFORE_SCRIPT_TIMEOUT,
            check=False,
        )
    except (FileNotFoundError, NotADirectoryError, PermissionError) as exc:
        raise SessionError(f"before_script {script!r} cannot run: {exc.strerror}") from None
    except subprocess.TimeoutExpired:
        raise SessionError(
            f"before_script {script!r} ran longer than {BEFORE_SCRIPT_TIMEOUT:g} s"
        ) from None
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()[-2000:]
        raise SessionError(
            f"before_script {script!r} failed (exit status {done.returncode})"
            + (f": {output}" if output else "")
        )
