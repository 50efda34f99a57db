"""A real `gaia serve` for the benchmarks: on a free port, stopped by its pid after."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

SERVING = re.compile(r"serving (http://127\.0\.0\.1:\d+)")


@contextlib.contextmanager
def gaia_serve(
    env: dict[str, str], stop_timeout: float = 60.0
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Start `gaia serve --port 0` with ``env``; yield its URL and process once it serves."""
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gaia"), "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = next((m.group(1) for line in proc.stdout if (m := SERVING.search(line))), "")
        if not url:
            raise SystemExit("gaia serve did not start")
        yield url, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=stop_timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
