"""Validating generated projects: missing files, content and mode drift, validate commands."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import yaml

from gaia.errors import ScaffoldError
from gaia.scaffold.generate import ANSWERS_FILE, GenerateOptions
from gaia.scaffold.manager import ScaffoldManager
from gaia.scaffold.validate import ValidationReport
from tests.scaffold.conftest import GO_API_TEMPLATE, MakeTemplate, yaml_text

CHECKED = """\
name: checked
variables:
  - name: project_name
    required: true
  - name: with_docker
    type: bool
directories:
  - cmd/server
  - "internal/{{ project_name }}"
files:
  - path: go.mod
    template: "module example.com/{{ project_name }}\\n"
  - path: bin/run.sh
    template: "#!/bin/sh\\necho run\\n"
    mode: "0755"
  - path: .env
    template: "SECRET=x\\n"
    mode: "0600"
  - path: Dockerfile
    template: FROM scratch
    when: with_docker
validate:
  - test -f go.mod
  - grep -q "example.com/{{ project_name }}" go.mod
"""


@pytest.fixture
def project(manager: ScaffoldManager, make_template: MakeTemplate, work: Path) -> Path:
    """A freshly generated project from a template with modes and validate commands."""
    root = make_template(CHECKED)
    target = work / "demo"
    manager.generate(str(root), target, {"project_name": "demo"})
    return target


def test_clean_project_is_ok(manager: ScaffoldManager, project: Path) -> None:
    """A project just generated matches its template and its validate commands pass."""
    report = manager.validate(project, trust=True)
    assert isinstance(report, ValidationReport)
    assert report.ok
    assert report.template == "checked"
    assert report.path == project.resolve()
    assert (report.missing, report.changed, report.mode_changed) == ([], [], [])
    assert [(c.command, c.exit_code) for c in report.commands] == [
        ("test -f go.mod", 0),
        ('grep -q "example.com/demo" go.mod', 0),
    ]
    assert report.problems() == []


def test_skipped_when_file_is_not_missing(manager: ScaffoldManager, project: Path) -> None:
    """A file the template skipped by its ``when`` is not expected in the project."""
    assert not (project / "Dockerfile").exists()
    assert "Dockerfile" not in manager.validate(project, trust=True).missing


def test_extra_user_files_are_fine(manager: ScaffoldManager, project: Path) -> None:
    """Files the user added next to the generated ones are not drift."""
    (project / "notes.md").write_text("mine")
    (project / "cmd" / "server" / "main.go").write_text("package main")
    assert manager.validate(project, trust=True).ok


def test_deleted_file_is_missing(manager: ScaffoldManager, project: Path) -> None:
    """A generated file that was deleted is reported missing (and its check fails)."""
    (project / "go.mod").unlink()
    report = manager.validate(project, trust=True)
    assert not report.ok
    assert report.missing == ["go.mod"]
    assert "missing: go.mod" in report.problems()
    assert report.commands[0].exit_code != 0


def test_deleted_directory_is_missing(manager: ScaffoldManager, project: Path) -> None:
    """A generated directory that was removed is reported with a trailing slash."""
    shutil.rmtree(project / "internal" / "demo")
    report = manager.validate(project, trust=True)
    assert not report.ok
    assert report.missing == ["internal/demo/"]


def test_edited_file_is_changed(manager: ScaffoldManager, project: Path) -> None:
    """A generated file whose content differs from the template's is reported changed."""
    with (project / "bin" / "run.sh").open("a") as handle:
        handle.write("echo extra\n")
    report = manager.validate(project, trust=True)
    assert not report.ok
    assert report.changed == ["bin/run.sh"]
    assert report.missing == [] and report.mode_changed == []
    assert report.problems() == ["changed: bin/run.sh"]


def test_chmod_is_mode_changed(manager: ScaffoldManager, project: Path) -> None:
    """A file whose mode differs from the template's ``mode`` is reported."""
    (project / "bin" / "run.sh").chmod(0o644)
    (project / ".env").chmod(0o644)
    report = manager.validate(project, trust=True)
    assert not report.ok
    assert report.mode_changed == ["bin/run.sh", ".env"]
    assert report.changed == []
    assert "mode changed: .env" in report.problems()


def test_failing_validate_command_is_not_ok(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """A validate command exiting non-zero makes the report not ok, with its status and output."""
    root = make_template(
        """
        name: t
        files:
          - path: a.txt
            template: a
        validate:
          - test -f a.txt
          - echo checking in "$(basename "$PWD")"; exit 4
        """
    )
    manager.generate(str(root), work / "p", {})
    report = manager.validate(work / "p", trust=True)
    assert not report.ok
    assert [c.exit_code for c in report.commands] == [0, 4]
    assert report.commands[1].output == "checking in p\n"
    assert report.problems() == [
        """validate command 'echo checking in "$(basename "$PWD")"; exit 4' exited with status 4"""
    ]
    assert (report.missing, report.changed, report.mode_changed) == ([], [], [])


def test_run_commands_false_skips_validate_commands(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """With run_commands=False only files are compared; the commands do not run."""
    root = make_template(
        "name: t\nfiles:\n  - path: a.txt\n    template: a\nvalidate:\n  - touch ran; exit 1\n"
    )
    manager.generate(str(root), work / "p", {})
    report = manager.validate(work / "p", run_commands=False)
    assert report.ok
    assert report.commands == []
    assert not (work / "p" / "ran").exists()


def test_project_without_answers_file_is_an_error(manager: ScaffoldManager, work: Path) -> None:
    """A directory gaia did not generate has no answers file: ScaffoldError says so."""
    (work / "plain").mkdir()
    with pytest.raises(ScaffoldError) as caught:
        manager.validate(work / "plain")
    assert ANSWERS_FILE in str(caught.value)
    assert "not generated by gaia scaffold" in str(caught.value)


def test_missing_project_directory_is_an_error(manager: ScaffoldManager, work: Path) -> None:
    """Validating a path that is not a directory is a ScaffoldError."""
    with pytest.raises(ScaffoldError, match="is not a directory"):
        manager.validate(work / "nope")


def test_answers_file_without_template_is_an_error(manager: ScaffoldManager, work: Path) -> None:
    """An answers file that does not name a template is refused."""
    (work / "p").mkdir()
    (work / "p" / ANSWERS_FILE).write_text("variables: {}\n")
    with pytest.raises(ScaffoldError, match="does not name a template"):
        manager.validate(work / "p", trust=True)


def test_validate_uses_the_recorded_variables(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """Drift is computed with the answers' variables, typed values included."""
    root = make_template(CHECKED)
    manager.generate(str(root), work / "p", {"project_name": "shop", "with_docker": "yes"})
    answers = yaml.safe_load((work / "p" / ANSWERS_FILE).read_text())
    assert answers["variables"] == {"project_name": "shop", "with_docker": True}
    assert manager.validate(work / "p", trust=True).ok
    (work / "p" / "Dockerfile").unlink()
    assert manager.validate(work / "p", trust=True).missing == ["Dockerfile"]


def test_validate_original_example_project(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """The original example, generated with --no-hooks, validates (implicit module_path too)."""
    root = make_template(GO_API_TEMPLATE, name="go-api")
    manager.generate(
        str(root),
        work / "demo",
        {"project_name": "demo", "module_path": "example.com/demo"},
        options=GenerateOptions(run_hooks=False),
    )
    assert manager.validate(work / "demo").ok
    (work / "demo" / "go.mod").write_text("module other\ngo 1.21\n")
    assert manager.validate(work / "demo").changed == ["go.mod"]


def test_validate_project_from_registered_template(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """A project generated from a registered template finds it again by name."""
    manager.register_template(make_template(CHECKED))
    manager.generate("checked", work / "p", {"project_name": "demo"})
    report = manager.validate(work / "p", trust=True)
    assert report.ok
    assert report.template == "checked"


def test_validate_project_from_yaml_file_template(
    manager: ScaffoldManager, tmp_path: Path, work: Path
) -> None:
    """A project generated from a template given as a YAML file (not template.yaml) validates."""
    definitions = tmp_path / "definitions"
    definitions.mkdir()
    (definitions / "checked.yaml").write_text(yaml_text(CHECKED))
    manager.generate(str(definitions / "checked.yaml"), work / "p", {"project_name": "demo"})
    answers = yaml.safe_load((work / "p" / ANSWERS_FILE).read_text())
    # BUG: registry.Template.source records str(loaded.root) (the directory), so the
    # answers point at definitions/ and validate looks for definitions/template.yaml.
    assert answers["source"] == str((definitions / "checked.yaml").resolve())
    assert manager.validate(work / "p", trust=True).ok


def test_validate_commands_of_a_path_template_need_trust(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """The checks of a template outside the registry are skipped, and say so, without trust."""
    marker = work / "ran"
    root = make_template(
        f"""
        name: t
        files:
          - path: a.txt
            template: a
        validate:
          - touch {marker}
        """
    )
    manager.generate(str(root), work / "p", {})
    report = manager.validate(work / "p")
    assert report.commands == [] and not marker.exists()
    assert report.skipped is not None and "--trust" in report.skipped
    assert manager.validate(work / "p", trust=True).commands[0].exit_code == 0
    assert marker.exists()


def test_files_edited_by_post_hooks_are_not_drift(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """What a post hook made of a file (go mod tidy editing go.mod) is not drift; later
    edits are."""
    root = make_template(
        """
        name: t
        files:
          - path: a.txt
            template: "planned\\n"
        hooks:
          post_generate:
            - echo "added by the hook" >> a.txt
        """
    )
    manager.generate(str(root), work / "p", {}, options=GenerateOptions(trust=True))
    assert (work / "p" / "a.txt").read_text() == "planned\nadded by the hook\n"
    assert manager.validate(work / "p").ok
    (work / "p" / "a.txt").write_text("edited by hand\n")
    assert manager.validate(work / "p").changed == ["a.txt"]


def test_a_check_that_leaves_a_background_process_returns_at_once(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """A check whose background job keeps the output pipe open does not wait for it."""
    root = make_template(
        """
        name: t
        files:
          - path: a.txt
            template: a
        validate:
          - sleep 30 & echo started
        """
    )
    manager.generate(str(root), work / "p", {})
    started = time.monotonic()
    report = manager.validate(work / "p", trust=True)
    assert time.monotonic() - started < 20, "the check waited for its background job"
    assert [(c.exit_code, c.output) for c in report.commands] == [(0, "started\n")]
