"""gaia builds every tmuxp file that tmuxp builds, into the same shape.

The files are tmuxp's own documented examples and people's files from public
repositories (fixtures/*/SOURCES.tsv says where each came from). tmuxp builds them all at
once in one process (see tmuxp_compat); gaia then builds each on a server of its own, and
the two sessions are compared: windows in order, their names, their panes' number and
start directories.
"""

from __future__ import annotations

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


@dataclass
class TmuxpOutcome:
    error: str | None
    shape: Shape | None


@dataclass
class Batch:
    root: Path
    work: Path
    home: Path  # tmuxp's HOME (its first sandbox's)
    outcomes: dict[str, TmuxpOutcome]


@pytest.fixture(scope="module")
def tmuxp_batch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Batch]:
    pytest.importorskip("tmuxp")
    root = tmp_path_factory.mktemp("tmuxp")
    work = root / "work"
    work.mkdir()
    jobs: list[tuple[Sandbox, Path]] = []
    try:
        for path in FILES:
            sandbox = Sandbox(root / f"tmuxp-{path.name}", f"gaia-tmuxp-{uuid.uuid4().hex[:10]}")
            sandbox.start()
            copy = work / path.name
            shutil.copy(path, copy)
            jobs.append((sandbox, copy))
        results = tmuxp_build_all(jobs, work)
        outcomes = {}
        for sandbox, copy in jobs:
            shapes = sandbox.shapes()
            error = results[copy]
            outcomes[copy.name] = TmuxpOutcome(
                error, next(iter(shapes.values())) if error is None and shapes else None
            )
        yield Batch(root, work, jobs[0][0].home, outcomes)
    finally:
        for sandbox, _ in jobs:
            sandbox.stop()


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One database for the module: each test's records are on a tmux server of its own."""
    home = tmp_path_factory.mktemp("gaia-home")
    settings = load_settings(home=home, environ={}, tmux_socket="unused")
    db = Database(settings.resolved_database_url)
    upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def gaia_sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    sandbox = Sandbox(tmp_path / "gaia", f"gaia-compat-{uuid.uuid4().hex[:10]}")
    sandbox.start()
    yield sandbox
    sandbox.stop()


def _gaia_build(
    batch: Batch, sandbox: Sandbox, name: str, db: Database, tmp_path: Path
) -> Shape | str:
    """The shape gaia built, or why it refused."""
    settings = load_settings(home=tmp_path / "gaia-home", environ={}, tmux_socket=sandbox.socket)
    manager = SessionManager(db, settings)
    environ = {**sandbox.env(), "PWD": str(batch.work)}
    try:
        layout = read_layout_file(batch.work / name, environ=environ, cwd=batch.work)
        manager.create(layout.spec, origin="layout", typing="thread")
    except GaiaError as exc:
        return str(exc)
    shapes = sandbox.shapes()
    assert len(shapes) == 1, shapes
    return next(iter(shapes.values()))


def _dirs(shape: Shape, home: Path) -> list[tuple[int, tuple[str, ...]]]:
    """Pane counts and directories, each sandbox's own home written '~'."""
    return [
        (count, tuple(d.replace(str(home), "~") for d in dirs)) for _, count, dirs in shape.windows
    ]


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_gaia_builds_what_tmuxp_builds(
    path: Path, tmuxp_batch: Batch, gaia_sandbox: Sandbox, database: Database, tmp_path: Path
) -> None:
    tmuxp = tmuxp_batch.outcomes[path.name]
    gaia = _gaia_build(tmuxp_batch, gaia_sandbox, path.name, database, tmp_path)
    if tmuxp.error is not None:
        return  # tmuxp refuses it; gaia may refuse too, or be kinder (plugins: a warning)
    assert tmuxp.shape is not None
    assert isinstance(gaia, Shape), f"tmuxp builds {path.name}, gaia refuses: {gaia}"
    assert _dirs(gaia, gaia_sandbox.home) == _dirs(tmuxp.shape, tmuxp_batch.home)
    # A window left unnamed is named by tmux after what runs in it when it looks.
    automatic = {"sh", "cat", "tmux"}
    assert [
        ours if theirs not in automatic else "-"
        for (ours, _, _), (theirs, _, _) in zip(gaia.windows, tmuxp.shape.windows, strict=True)
    ] == [name if name not in automatic else "-" for name, _, _ in tmuxp.shape.windows]
