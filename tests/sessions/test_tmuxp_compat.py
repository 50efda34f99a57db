"""gaia builds every tmuxp file that tmuxp builds, into the same shape.

The files are tmuxp's own documented examples and people's files from public
repositories (fixtures/*/SOURCES.tsv says where each came from). Each file is built by
tmuxp (all at once in one tmuxp process, see tmuxp_compat) and by gaia (all at once in
threads), every build on a tmux server of its own, both sides at the same time; then the
two sessions of each file are compared: windows in order, their names, their panes'
number and start directories.
"""

from __future__ import annotations

import concurrent.futures
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gaia.config import load_settings
from gaia.errors import GaiaError
from gaia.sessions.loader import read_layout_file
from gaia.sessions.manager import SessionManager
from gaia.storage.db import Database
from gaia.storage.migrate import upgrade
from tests.sessions.tmuxp_compat import (
    EXAMPLES,
    USERS,
    Sandbox,
    Shape,
    fixture_files,
    tmuxp_build_all,
)

FILES = [*fixture_files(EXAMPLES), *fixture_files(USERS)]
AUTOMATIC = {"sh", "cat", "tmux"}  # what tmux names a window left unnamed, when it looks


@dataclass
class Outcome:
    """What each side made of one file: its session's shape, or why it refused."""

    tmuxp: Shape | str
    gaia: Shape | str
    tmuxp_home: Path
    gaia_home: Path


def _gaia_build(db: Database, home: Path, sandbox: Sandbox, path: Path, work: Path) -> str | None:
    settings = load_settings(home=home, environ={}, tmux_socket=sandbox.socket)
    manager = SessionManager(db, settings)
    environ = {**sandbox.env(), "PWD": str(work)}
    try:
        layout = read_layout_file(path, environ=environ, cwd=work)
        manager.create(layout.spec, origin="layout", typing="thread")
    except GaiaError as exc:
        return str(exc)
    return None


def _shape(sandbox: Sandbox, error: str | None) -> Shape | str:
    if error is not None:
        return error
    shapes = sandbox.shapes()
    if len(shapes) != 1:
        return f"expected one session, found {sorted(shapes)}"
    return next(iter(shapes.values()))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Outcome]]:
    pytest.importorskip("tmuxp")
    root = tmp_path_factory.mktemp("tmuxp-compat")
    work = root / "work"
    work.mkdir()
    home = root / "gaia-home"
    settings = load_settings(home=home, environ={}, tmux_socket="unused")
    settings.gaia_home.ensure()
    db = Database(settings.resolved_database_url)
    sandboxes: list[Sandbox] = []

    def sandbox(side: str, path: Path) -> Sandbox:
        made = Sandbox(root / f"{side}-{path.name}", f"gaia-{side}-{uuid.uuid4().hex[:10]}")
        made.start()
        sandboxes.append(made)
        return made

    try:
        upgrade(db)
        for path in FILES:
            shutil.copy(path, work / path.name)
        tmuxp_jobs = [(sandbox("tmuxp", p), work / p.name) for p in FILES]
        gaia_jobs = [(sandbox("gaia", p), work / p.name) for p in FILES]
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            tmuxp_run = pool.submit(tmuxp_build_all, tmuxp_jobs, work)
            gaia_errors = list(
                pool.map(lambda job: _gaia_build(db, home, job[0], job[1], work), gaia_jobs)
            )
            tmuxp_errors = tmuxp_run.result()
        yield {
            path.name: Outcome(
                tmuxp=_shape(tmuxp_box, tmuxp_errors[work / path.name]),
                gaia=_shape(gaia_box, gaia_error),
                tmuxp_home=tmuxp_jobs[0][0].home,  # one tmuxp process: its first's HOME
                gaia_home=gaia_box.home,
            )
            for path, (tmuxp_box, _), (gaia_box, _), gaia_error in zip(
                FILES, tmuxp_jobs, gaia_jobs, gaia_errors, strict=True
            )
        }
    finally:
        for made in sandboxes:
            made.stop()
        db.dispose()


def _dirs(shape: Shape, home: Path) -> list[tuple[int, tuple[str, ...]]]:
    """Pane counts and directories, each sandbox's own home written '~'."""
    return [
        (count, tuple(d.replace(str(home), "~") for d in dirs)) for _, count, dirs in shape.windows
    ]


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_gaia_builds_what_tmuxp_builds(path: Path, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[path.name]
    tmuxp, gaia = outcome.tmuxp, outcome.gaia
    if not isinstance(tmuxp, Shape):
        return  # tmuxp refuses it; gaia may refuse too, or be kinder (plugins: a warning)
    assert isinstance(gaia, Shape), f"tmuxp builds {path.name}, gaia does not: {gaia}"
    assert _dirs(gaia, outcome.gaia_home) == _dirs(tmuxp, outcome.tmuxp_home)
    assert [
        ours if theirs not in AUTOMATIC else "-"
        for (ours, _, _), (theirs, _, _) in zip(gaia.windows, tmuxp.windows, strict=True)
    ] == [name if name not in AUTOMATIC else "-" for name, _, _ in tmuxp.windows]


def test_the_counts_in_the_readme_hold(outcomes: dict[str, Outcome]) -> None:
    """The README's table: how many of each set tmuxp and gaia build."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for folder in (EXAMPLES, USERS):
        names = [p.name for p in fixture_files(folder)]
        tmuxp = sum(isinstance(outcomes[n].tmuxp, Shape) for n in names)
        gaia = sum(isinstance(outcomes[n].gaia, Shape) for n in names)
        row = f"| {tmuxp}/{len(names)} | {gaia}/{len(names)} |"
        assert row in readme, f"{folder.name}: tmuxp {tmuxp}, gaia {gaia} of {len(names)}"
