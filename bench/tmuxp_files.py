"""tmuxp's examples and people's tmuxp files: how many tmuxp and gaia each build, and how
long loading all of them at once takes each, side by side.

Both build every file concurrently, each on a tmux server of its own (tests'
tmuxp_compat sandbox: panes run a sink, PATH has only tmux, sh and cat): tmuxp with its
own ``load_workspace`` in threads of one process (what ``tmuxp load -d`` runs), gaia
with SessionManager.create in threads of this process. The figures include tmuxp's own
sleeps (``sleep_before``/``sleep_after`` in its examples); gaia honours those too, after
answering, as its typing goes on in the background.

    python bench/tmuxp_files.py
"""

from __future__ import annotations

import concurrent.futures
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.sessions.tmuxp_compat import (
    EXAMPLES,
    USERS,
    Sandbox,
    fixture_files,
    tmuxp_build_all,
)

from gaia.config import load_settings
from gaia.errors import GaiaError
from gaia.sessions.loader import read_layout_file
from gaia.sessions.manager import SessionManager
from gaia.storage.db import Database
from gaia.storage.migrate import upgrade


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="gaia-bench-tmuxp-"))
    work = root / "work"
    work.mkdir()
    files = [*fixture_files(EXAMPLES), *fixture_files(USERS)]
    for path in files:
        shutil.copy(path, work / path.name)
    sandboxes: list[Sandbox] = []

    def sandbox(tag: str) -> Sandbox:
        box = Sandbox(root / f"{tag}-{len(sandboxes)}", f"gaia-bench-{uuid.uuid4().hex[:10]}")
        box.start()
        sandboxes.append(box)
        return box

    try:
        tmuxp_jobs = [(sandbox("tmuxp"), work / p.name) for p in files]
        started = time.perf_counter()
        tmuxp_results = tmuxp_build_all(tmuxp_jobs, work)
        tmuxp_seconds = time.perf_counter() - started

        settings = load_settings(home=root / "gaia-home", environ={}, tmux_socket="unused")
        settings.gaia_home.ensure()
        db = Database(settings.resolved_database_url)
        upgrade(db)
        gaia_jobs = [(sandbox("gaia"), work / p.name) for p in files]

        def gaia_build(job: tuple[Sandbox, Path]) -> bool:
            box, path = job
            manager = SessionManager(
                db, load_settings(home=root / "gaia-home", environ={}, tmux_socket=box.socket)
            )
            try:
                layout = read_layout_file(path, environ={**box.env(), "PWD": str(work)}, cwd=work)
                manager.create(layout.spec, origin="layout", typing="thread")
            except GaiaError:
                return False
            return True

        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            gaia_results = dict(
                zip([p for _, p in gaia_jobs], pool.map(gaia_build, gaia_jobs), strict=True)
            )
        gaia_seconds = time.perf_counter() - started
        db.dispose()

        for label, folder in (("tmuxp's examples", EXAMPLES), ("users' files", USERS)):
            names = {p.name for p in fixture_files(folder)}
            t = sum(1 for p, e in tmuxp_results.items() if p.name in names and e is None)
            g = sum(1 for p, ok in gaia_results.items() if p.name in names and ok)
            print(f"{label:18} tmuxp builds {t}/{len(names)}, gaia builds {g}/{len(names)}")
        print(f"{'load all at once':18} tmuxp {tmuxp_seconds:.2f} s, gaia {gaia_seconds:.2f} s")
        for path, error in sorted(tmuxp_results.items()):
            if error is not None or not gaia_results[path]:
                gaia_says = "builds" if gaia_results[path] else "refuses"
                tmuxp_says = "builds" if error is None else f"fails ({error.splitlines()[0][:70]})"
                print(f"  {path.name}: tmuxp {tmuxp_says}; gaia {gaia_says}")
    finally:
        for box in sandboxes:
            box.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
