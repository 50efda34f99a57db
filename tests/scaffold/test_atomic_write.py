"""Moving the generated project into place is all or nothing, even into a project that exists.

The move is a series of renames; one failing halfway (here an immutable directory, which
refuses even root) used to leave the files before it moved and the ones they replaced
gone. Now every rename is undone and the target is byte for byte as it was.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gaia.errors import ScaffoldError
from gaia.scaffold.generate import GenerateOptions
from gaia.scaffold.manager import ScaffoldManager
from tests.scaffold.conftest import MakeTemplate, snapshot, staging_dirs


@pytest.fixture
def immutable(tmp_path: Path) -> Iterator[list[Path]]:
    """Directories to mark immutable with chattr +i, cleared again at the end."""
    marked: list[Path] = []
    yield marked
    for path in marked:
        subprocess.run(["chattr", "-i", str(path)], check=False, capture_output=True)


def make_immutable(path: Path, marked: list[Path]) -> None:
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    result = subprocess.run(["chattr", "+i", str(path)], check=False, capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot make a directory immutable here: {result.stderr.decode().strip()}")
    marked.append(path)


def test_a_move_failing_halfway_puts_back_everything_it_moved(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path, immutable: list[Path]
) -> None:
    root = make_template(
        """
        name: t
        files:
          - path: README.md
            template: new readme
          - path: a.txt
            template: new a
          - path: locked/b.txt
            template: new b
        """
    )
    target = work / "p"
    (target / "locked").mkdir(parents=True)
    (target / "README.md").write_text("old readme")
    (target / "own.txt").write_text("mine")
    make_immutable(target / "locked", immutable)
    before = snapshot(target)
    with pytest.raises(ScaffoldError) as caught:
        manager.generate(str(root), target, {}, options=GenerateOptions(force=True))
    assert snapshot(target) == before
    assert staging_dirs(work) == []
    message = str(caught.value)
    assert "cannot move the project into" in message
    assert "nothing was changed there" in message


def test_overwriting_with_force_replaces_files_and_leaves_no_set_aside_copies(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """The replaced files are set aside during the move and dropped once it succeeded."""
    root = make_template(
        """
        name: t
        files:
          - path: README.md
            template: new readme
          - path: docs/a.txt
            template: new a
        """
    )
    target = work / "p"
    (target / "docs").mkdir(parents=True)
    (target / "README.md").write_text("old readme")
    (target / "docs" / "own.txt").write_text("mine")
    manager.generate(str(root), target, {}, options=GenerateOptions(force=True))
    assert (target / "README.md").read_text() == "new readme"
    assert (target / "docs" / "a.txt").read_text() == "new a"
    assert (target / "docs" / "own.txt").read_text() == "mine"
    assert staging_dirs(work) == []
