"""Run by tests and bench in a subprocess: build many tmuxp files with tmuxp, at once.

``python tmuxp_runner.py SOCKET=FILE ...`` loads each FILE with tmuxp's own
``load_workspace`` (what ``tmuxp load -d`` runs) on the tmux server SOCKET, all at once in
threads of one interpreter (tmuxp's start-up is paid once), and prints one JSON line
``{"file": ..., "ok": ..., "error": ..., "seconds": ...}`` per file.
"""

from __future__ import annotations

import concurrent.futures
import io
import json
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from typing import Any


def _load(socket: str, path: str) -> dict[str, Any]:
    from tmuxp.cli.load import load_workspace

    started = time.perf_counter()
    try:
        load_workspace(path, socket_name=socket, detached=True, answer_yes=True)
    except BaseException as exc:
        return {"file": path, "ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
    return {"file": path, "ok": True, "error": None, "seconds": time.perf_counter() - started}


def main(jobs: list[str]) -> None:
    pairs = [job.split("=", 1) for job in jobs]
    sink = io.StringIO()
    with (
        redirect_stdout(sink),
        redirect_stderr(sink),
        concurrent.futures.ThreadPoolExecutor(max(1, len(pairs))) as pool,
    ):
        results = list(pool.map(lambda pair: _load(*pair), pairs))
    for result in results:
        sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
