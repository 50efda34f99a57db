"""Generating projects for real: variables, paths, containment, atomicity, modes, hooks."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
import yaml

from gaia.errors import ScaffoldError, ScaffoldHookError, ScaffoldValidationError
from gaia.scaffold import generate as generate_module
from gaia.scaffold.generate import ANSWERS_FILE, GenerateOptions
from gaia.scaffold.manager import ScaffoldManager
from tests.scaffold.conftest import (
    GO_API_TEMPLATE,
    MakeTemplate,
    Snapshot,
    snapshot,
    staging_dirs,
)

NO_HOOKS = GenerateOptions(run_hooks=False)
TRUST = GenerateOptions(trust=True)


def mode_of(path: Path) -> int:
    """Permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


def answers_of(project: Path) -> dict[str, object]:
    """The parsed answers file of a generated project."""
    data = yaml.safe_load((project / ANSWERS_FILE).read_text())
    assert isinstance(data, dict)
    return data


# --- the reference go-api template (tests/scaffold/conftest.py) -----------------------------


def test_original_example_generates_without_hooks(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """The go-api template, given by path with hooks off and module_path set, generates."""
    root = make_template(GO_API_TEMPLATE, name="go-api")
    target = work / "demo"
    result = manager.generate(
        str(root),
        target,
        {"project_name": "demo", "module_path": "example.com/demo"},
        options=NO_HOOKS,
    )
    assert (target / "go.mod").read_text() == "module example.com/demo\ngo 1.21\n"
    assert (target / "cmd" / "server").is_dir()
    assert (target / "internal" / "api").is_dir()
    assert sorted(p.name for p in target.iterdir()) == [ANSWERS_FILE, "cmd", "go.mod", "internal"]
    assert result.template == "go-api"
    assert result.path == target.resolve()
    assert result.files == ["go.mod"]
    assert result.directories == ["cmd/server", "internal/api"]
    assert result.variables == {
        "project_name": "demo",
        "port": "8080",
        "module_path": "example.com/demo",
    }
    assert result.hooks == []
    assert result.dry_run is False
    assert staging_dirs(work) == []


def test_original_example_missing_module_path_is_a_missing_required_variable(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """Without module_path the error names it and the line that uses it; nothing written."""
    root = make_template(GO_API_TEMPLATE, name="go-api")
    with pytest.raises(ScaffoldValidationError) as caught:
        manager.generate(str(root), work / "demo", {"project_name": "demo"}, options=NO_HOOKS)
    (problem,) = caught.value.problems
    assert problem.message == (
        "files[0].template: undefined variable 'module_path' (not declared in variables)"
    )
    assert problem.hint is not None and "--var module_path=..." in problem.hint
    assert (problem.line, problem.column) == (15, 10)  # where {{.module_path}} is used
    assert str(caught.value).startswith("variables for template 'go-api' are invalid: 1 problem")
    assert list(work.iterdir()) == []


def test_original_example_name_fills_project_name(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """``name=`` is the value of project_name when no --var gives it."""
    root = make_template(GO_API_TEMPLATE, name="go-api")
    result = manager.generate(
        str(root), work / "demo", {"module_path": "m"}, name="demo", options=NO_HOOKS
    )
    assert result.variables["project_name"] == "demo"


def test_original_example_with_hooks_needs_trust(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """The example's post hooks (go mod tidy, git init) are refused for a path template."""
    root = make_template(GO_API_TEMPLATE, name="go-api")
    with pytest.raises(ScaffoldError) as caught:
        manager.generate(str(root), work / "demo", {"project_name": "d", "module_path": "m"})
    assert "--trust" in str(caught.value)
    assert "--no-hooks" in str(caught.value)
    assert list(work.iterdir()) == []


# --- variables ---------------------------------------------------------------------------


TYPED = """\
name: typed
variables:
  - name: project_name
    required: true
  - name: owner
    required: true
    description: who maintains it
  - name: workers
    type: int
    default: 4
  - name: debug
    type: bool
  - name: db
    choices: [postgres, sqlite]
    default: sqlite
  - name: slug
    pattern: "[a-z][a-z0-9-]*"
    default: app
files:
  - path: config.txt
    template: |
      {{ project_name }} {{ owner }} {{ workers + 1 }} {{ debug }} {{ db }} {{ slug }}
"""


def test_all_variable_problems_reported_at_once(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """Missing required, bad int, bad bool, bad choice and bad pattern come in one error."""
    root = make_template(TYPED)
    with pytest.raises(ScaffoldValidationError) as caught:
        manager.generate(
            str(root),
            work / "p",
            {"workers": "many", "debug": "perhaps", "db": "mysql", "slug": "Not A Slug"},
        )
    messages = [p.message for p in caught.value.problems]
    assert messages == [
        "missing required variable 'project_name'",
        "missing required variable 'owner'",
        "variable 'workers' must be an integer (got 'many')",
        "variable 'debug' must be true or false (got 'perhaps')",
        "variable 'db' must be one of postgres, sqlite (got 'mysql')",
        "variable 'slug' must match '[a-z][a-z0-9-]*' (got 'Not A Slug')",
    ]
    assert caught.value.problems[1].hint == "--var owner=...; who maintains it"
    assert [p.path for p in caught.value.problems] == [
        "variables.project_name",
        "variables.owner",
        "variables.workers",
        "variables.debug",
        "variables.db",
        "variables.slug",
    ]
    assert [p.line for p in caught.value.problems] == [3, 5, 8, 11, 13, 16]
    assert "6 problems" in str(caught.value)
    assert list(work.iterdir()) == []


DERIVED = """\
name: derived
variables:
  - name: project_name
    required: true
    pattern: "[a-z][a-z0-9-]*"
  - name: package_name
    default: "{{ project_name | replace('-', '_') }}"
  - name: title
    default: "{{ package_name }} docs"
  - name: owner
    default: nobody
files:
  - path: out.txt
    template: "{{ package_name }} {{ title }} {{ owner }}"
"""


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ({"project_name": "Bad Name"}, "variable 'project_name' must match"),
        ({}, "missing required variable 'project_name'"),
    ],
)
def test_defaults_built_on_a_bad_variable_are_not_reported_again(
    manager: ScaffoldManager,
    make_template: MakeTemplate,
    work: Path,
    given: dict[str, str],
    problem: str,
) -> None:
    """One bad variable is one problem, not one more for every default derived from it."""
    root = make_template(DERIVED)
    with pytest.raises(ScaffoldValidationError) as caught:
        manager.generate(str(root), work / "p", given)
    [only] = caught.value.problems
    assert only.message.startswith(problem), only.message


def test_variables_are_typed(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """Strings from --var become ints and bools; defaults apply to what is not given."""
    root = make_template(TYPED)
    result = manager.generate(
        str(root),
        work / "p",
        {"project_name": "demo", "owner": "ann", "workers": " 7 ", "debug": "yes"},
    )
    assert result.variables == {
        "project_name": "demo",
        "owner": "ann",
        "workers": 7,
        "debug": True,
        "db": "sqlite",
        "slug": "app",
    }
    assert (work / "p" / "config.txt").read_text() == "demo ann 8 True sqlite app\n"
    assert answers_of(work / "p")["variables"] == result.variables


def test_empty_string_for_required_variable_is_missing(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """Giving a required variable as an empty string counts as not giving it."""
    root = make_template(TYPED)
    with pytest.raises(ScaffoldValidationError) as caught:
        manager.generate(str(root), work / "p", {"project_name": "", "owner": "ann"})
    assert [p.message for p in caught.value.problems] == [
        "missing required variable 'project_name'"
    ]


def test_unknown_variable_is_refused_with_the_known_names(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """A --var name the template does not have (a typo) is an error listing the real ones."""
    root = make_template(GO_API_TEMPLATE, name="go-api")
    with pytest.raises(ScaffoldValidationError) as caught:
        manager.generate(
            str(root),
            work / "p",
            {"project_name": "d", "module_path": "m", "prot": "9000"},
            options=NO_HOOKS,
        )
    (problem,) = caught.value.problems
    assert problem.message == "unknown variable 'prot'"
    assert problem.hint == "template variables: module_path, port, project_name"
    assert list(work.iterdir()) == []


def test_defaults_may_refer_to_earlier_variables(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """A default is rendered with the variables before it, Jinja or Go style."""
    root = make_template(
        """
        name: t
        variables:
          - name: project_name
            required: true
          - name: service
            default: "{{ project_name }}-api"
          - name: image
            default: "registry/{{.service}}:latest"
          - name: replicas
            type: int
            default: "{{ 1 + 2 }}"
        files:
          - path: out.txt
            template: "{{ service }} {{ image }} {{ replicas }}"
        """
    )
    result = manager.generate(str(root), work / "p", {"project_name": "shop"})
    assert (work / "p" / "out.txt").read_text() == "shop-api registry/shop-api:latest 3"
    assert result.variables["replicas"] == 3


def test_given_value_overrides_a_templated_default(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """A value given for a variable wins over its templated default."""
    root = make_template(
        """
        name: t
        variables:
          - name: project_name
          - name: service
            default: "{{ project_name }}-api"
        files:
          - path: out.txt
            template: "{{ service }}"
        """
    )
    manager.generate(str(root), work / "p", {"project_name": "shop", "service": "front"})
    assert (work / "p" / "out.txt").read_text() == "front"


def test_default_referring_to_a_later_variable_is_an_error(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """A default can only use variables declared before it; the error names the variable."""
    root = make_template(
        """
        name: t
        variables:
          - name: service
            default: "{{ project_name }}-api"
          - name: project_name
        files: []
        """
    )
    with pytest.raises(ScaffoldValidationError) as caught:
        manager.generate(str(root), work / "p", {"project_name": "shop"})
    text = str(caught.value)
    assert "variables.service.default" in text
    assert "undefined variable 'project_name'" in text


def test_when_conditions_include_or_skip_files(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """A file whose ``when`` is false is skipped and listed; a true one is written."""
    root = make_template(
        """
        name: t
        variables:
          - name: use_docker
            type: bool
          - name: db
            choices: [postgres, sqlite]
            default: sqlite
        files:
          - path: Dockerfile
            template: FROM scratch
            when: use_docker
          - path: docker-compose.yml
            template: "services: {}"
            when: "use_docker and db == 'postgres'"
          - path: sqlite.txt
            template: local
            when: ".db == 'sqlite'"
          - path: always.txt
            template: always
        """
    )
    off = manager.generate(str(root), work / "off", {})
    assert sorted(p.name for p in (work / "off").iterdir()) == [
        ANSWERS_FILE,
        "always.txt",
        "sqlite.txt",
    ]
    assert off.skipped == ["Dockerfile", "docker-compose.yml"]
    assert off.files == ["sqlite.txt", "always.txt"]

    on = manager.generate(str(root), work / "on", {"use_docker": "true", "db": "postgres"})
    assert sorted(p.name for p in (work / "on").iterdir()) == [
        ANSWERS_FILE,
        "Dockerfile",
        "always.txt",
        "docker-compose.yml",
    ]
    assert on.skipped == ["sqlite.txt"]


def test_invalid_when_condition_is_reported(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """A ``when`` that is not an expression is reported naming the condition."""
    root = make_template(
        """
        name: t
        files:
          - path: a.txt
            template: x
            when: "use_docker =="
        """
    )
    with pytest.raises(ScaffoldValidationError) as caught:
        manager.generate(str(root), work / "p", {})
    assert "invalid condition 'use_docker =='" in str(caught.value)
    assert list(work.iterdir()) == []


def test_templated_paths(manager: ScaffoldManager, make_template: MakeTemplate, work: Path) -> None:
    """File and directory paths are rendered: cmd/{{project_name}}/main.go."""
    root = make_template(
        """
        name: t
        variables:
          - name: project_name
            required: true
        directories:
          - "internal/{{ project_name }}"
        files:
          - path: "cmd/{{project_name}}/main.go"
            template: "package main // {{.project_name}}\\n"
          - path: "{{ project_name | upper }}.md"
            template: "# {{ project_name }}"
        """
    )
    result = manager.generate(str(root), work / "p", {"project_name": "shop"})
    project = work / "p"
    assert (project / "cmd" / "shop" / "main.go").read_text() == "package main // shop\n"
    assert (project / "SHOP.md").read_text() == "# shop"
    assert (project / "internal" / "shop").is_dir()
    assert result.files == ["cmd/shop/main.go", "SHOP.md"]


# --- containment: nothing escapes the project or the template ----------------------------


def assert_refused_and_untouched(
    tmp_path: Path, error: pytest.ExceptionInfo[BaseException], before: Snapshot
) -> None:
    """The error explains itself and the whole tmp tree (parent of everything) is unchanged."""
    assert str(error.value)
    assert snapshot(tmp_path) == before
    assert staging_dirs(tmp_path) == []


@pytest.mark.parametrize("path", ["{abs}/evil.txt", "../x", "sub/../../x", "..", "./../x"])
def test_file_path_leaving_the_project_is_refused(
    manager: ScaffoldManager,
    make_template: MakeTemplate,
    work: Path,
    tmp_path: Path,
    path: str,
) -> None:
    """Absolute paths and '..' that climb out are refused at the file's line; nothing written."""
    outside = tmp_path / "outside"
    outside.mkdir()
    raw = path.format(abs=outside)
    root = make_template(
        f"""
        name: t
        files:
          - path: ok.txt
            template: fine
          - path: "{raw}"
            template: gotcha
        """
    )
    before = snapshot(tmp_path)
    with pytest.raises(ScaffoldValidationError) as caught:
        manager.generate(str(root), work / "p", {}, options=GenerateOptions(force=True))
    (problem,) = caught.value.problems
    assert "leaves the project directory" in problem.message
    assert repr(raw) in problem.message
    assert problem.line == 5
    assert problem.path == "files[1].path"
    assert str(root / "template.yaml") in str(caught.value)
    assert_refused_and_untouched(tmp_path, caught, before)


def test_templated_path_rendering_outside_is_refused(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path, tmp_path: Path
) -> None:
    """A path that only climbs out once rendered ({{ sub }} = ../../etc) is refused too."""
    root = make_template(
        """
        name: t
        variables:
          - name: sub
        files:
          - path: "{{ sub }}/x"
            template: gotcha
        """
    )
    before = snapshot(tmp_path)
    with pytest.raises(ScaffoldValidationError) as caught:
        manager.generate(str(root), work / "p", {"sub": "../../etc"})
    (problem,) = caught.value.problems
    assert problem.message == "files[0].path: path '../../etc/x' leaves the project directory"
    assert problem.hint is not None and "'..'" in problem.hint
    assert problem.line == 5
    assert_refused_and_untouched(tmp_path, caught, before)


def test_directory_leaving_the_project_is_refused(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path, tmp_path: Path
) -> None:
    """A ``directories`` entry climbing out is refused like a file path."""
    root = make_template(
        """
        name: t
        directories:
          - src
          - ../sibling
        files: []
        """
    )
    before = snapshot(tmp_path)
    with pytest.raises(ScaffoldValidationError) as caught:
        manager.generate(str(root), work / "p", {})
    (problem,) = caught.value.problems
    assert problem.message == "directories[1]: path '../sibling' leaves the project directory"
    assert problem.line == 4
    assert_refused_and_untouched(tmp_path, caught, before)


def test_source_outside_the_template_directory_is_refused(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path, tmp_path: Path
) -> None:
    """``source: ../outside.txt`` is refused at its line; the outside file is never read in."""
    (tmp_path / "templates-src").mkdir()
    (tmp_path / "templates-src" / "outside.txt").write_text("secret")
    root = make_template(
        """
        name: t
        files:
          - path: copy.txt
            source: ../outside.txt
        """
    )
    before = snapshot(tmp_path)
    with pytest.raises(ScaffoldValidationError) as caught:
        manager.generate(str(root), work / "p", {})
    (problem,) = caught.value.problems
    assert problem.message == "source '../outside.txt' is outside the template directory"
    assert (problem.line, problem.path) == (4, "files[0].source")
    assert_refused_and_untouched(tmp_path, caught, before)


def test_absolute_source_is_refused(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path, tmp_path: Path
) -> None:
    """An absolute ``source`` path is outside the template directory."""
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    root = make_template(
        f"""
        name: t
        files:
          - path: copy.txt
            source: {secret}
        """
    )
    before = snapshot(tmp_path)
    with pytest.raises(ScaffoldValidationError) as caught:
        manager.generate(str(root), work / "p", {})
    assert "is outside the template directory" in str(caught.value)
    assert_refused_and_untouched(tmp_path, caught, before)


def test_source_symlink_pointing_outside_is_refused(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path, tmp_path: Path
) -> None:
    """A source that is a symlink to a file outside the template directory is refused."""
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    root = make_template(
        """
        name: t
        files:
          - path: copy.txt
            source: link.txt
          - path: nested.txt
            source: sub/inner.txt
        """
    )
    (root / "link.txt").symlink_to(secret)
    (root / "sub").symlink_to(tmp_path)
    (tmp_path / "inner.txt").write_text("also outside")
    before = snapshot(tmp_path)
    with pytest.raises(ScaffoldValidationError) as caught:
        manager.generate(str(root), work / "p", {})
    messages = [p.message for p in caught.value.problems]
    assert messages == [
        "source 'link.txt' is outside the template directory",
        "source 'sub/inner.txt' is outside the template directory",
    ]
    assert_refused_and_untouched(tmp_path, caught, before)


def test_source_symlink_inside_the_template_is_allowed(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """A symlink that stays inside the template directory is a normal source."""
    root = make_template(
        """
        name: t
        files:
          - path: copy.txt
            source: link.txt
        """,
        {"real.txt": "inside"},
    )
    (root / "link.txt").symlink_to("real.txt")
    manager.generate(str(root), work / "p", {})
    assert (work / "p" / "copy.txt").read_text() == "inside"


def test_force_into_target_with_symlinked_directory_leaving_it_is_refused(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path, tmp_path: Path
) -> None:
    """With --force, a directory of the target that is a symlink out of it is refused."""
    root = make_template(
        """
        name: t
        directories:
          - cmd/server
        files:
          - path: cmd/server/main.go
            template: package main
        """
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine")
    target = work / "p"
    target.mkdir()
    (target / "README").write_text("existing")
    (target / "cmd").symlink_to(elsewhere)
    before = snapshot(tmp_path)
    with pytest.raises(ScaffoldError) as caught:
        manager.generate(str(root), target, {}, options=GenerateOptions(force=True))
    message = str(caught.value)
    assert message.startswith("refusing to write cmd/server")
    assert f"{target.resolve() / 'cmd'} is a symlink that leaves" in message
    assert_refused_and_untouched(tmp_path, caught, before)
    assert not (elsewhere / "server").exists()


def test_force_into_target_with_file_symlink_leaving_it_is_refused(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path, tmp_path: Path
) -> None:
    """A target file that is a symlink out of the target is not written through."""
    root = make_template("name: t\nfiles:\n  - path: go.mod\n    template: module x\n")
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    target = work / "p"
    target.mkdir()
    (target / "go.mod").symlink_to(victim)
    before = snapshot(tmp_path)
    with pytest.raises(ScaffoldError) as caught:
        manager.generate(str(root), target, {}, options=GenerateOptions(force=True))
    assert "is a symlink that leaves" in str(caught.value)
    assert_refused_and_untouched(tmp_path, caught, before)
    assert victim.read_text() == "untouched"


def test_symlink_inside_the_target_is_followed(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """A symlinked directory that stays inside the target is fine with --force."""
    root = make_template("name: t\nfiles:\n  - path: cmd/main.go\n    template: x\n")
    target = work / "p"
    (target / "real").mkdir(parents=True)
    (target / "cmd").symlink_to("real")
    # BUG: _check_target accepts the link (it stays inside), but _move_into then tries
    # entry.replace(dest) of the staged directory over the symlink and a raw
    # NotADirectoryError escapes (not a GaiaError), after moving some entries already.
    manager.generate(str(root), target, {}, options=GenerateOptions(force=True))
    assert (target / "real" / "main.go").read_text() == "x"
    assert (target / "cmd").is_symlink()


# --- atomicity -----------------------------------------------------------------------------


TEN_FILES_FIFTH_BROKEN = "name: t\nvariables:\n  - name: n\nfiles:\n" + "".join(
    f'  - path: f{i}.txt\n    template: "{{{{ n{".missing" if i == 5 else ""} }}}}"\n'
    for i in range(1, 11)
)


def test_render_failure_in_fifth_of_ten_files_writes_nothing(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path, tmp_path: Path
) -> None:
    """A render error in file 5 of 10 leaves no target and no staging directory."""
    root = make_template(TEN_FILES_FIFTH_BROKEN)
    before = snapshot(tmp_path)
    with pytest.raises(ScaffoldValidationError) as caught:
        manager.generate(str(root), work / "p", {"n": "v"})
    (problem,) = caught.value.problems
    assert problem.message.startswith("files[4].template:")
    assert problem.line == 14
    assert not (work / "p").exists()
    assert_refused_and_untouched(tmp_path, caught, before)


def test_render_failure_leaves_existing_empty_target_empty(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """An existing empty target is still there, and still empty, after a render error."""
    root = make_template(TEN_FILES_FIFTH_BROKEN)
    target = work / "p"
    target.mkdir()
    with pytest.raises(ScaffoldValidationError):
        manager.generate(str(root), target, {"n": "v"})
    assert target.is_dir()
    assert list(target.iterdir()) == []


FAILING_PRE_HOOK = """\
name: t
directories: [src]
files:
  - path: a.txt
    template: a
  - path: src/b.txt
    template: b
hooks:
  pre_generate:
    - test -f a.txt && echo staged-ok
    - echo about-to-fail; exit 7
  post_generate:
    - touch post-ran
"""


def test_failing_pre_hook_removes_new_target_and_staging(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path, tmp_path: Path
) -> None:
    """A failing pre_generate hook leaves no target directory and no staging directory."""
    root = make_template(FAILING_PRE_HOOK)
    lines: list[str] = []
    before = snapshot(tmp_path)
    with pytest.raises(ScaffoldHookError) as caught:
        manager.generate(str(root), work / "p", {}, options=TRUST, output=lines.append)
    assert "hook pre_generate[1]" in str(caught.value)
    assert "exited with status 7" in str(caught.value)
    assert caught.value.details["exit_code"] == 7
    assert "staged-ok" in lines and "about-to-fail" in lines
    assert not (work / "p").exists()
    assert_refused_and_untouched(tmp_path, caught, before)


def test_failing_pre_hook_leaves_existing_empty_target_empty(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """An existing empty target stays, empty, when a pre_generate hook fails."""
    root = make_template(FAILING_PRE_HOOK)
    target = work / "p"
    target.mkdir()
    with pytest.raises(ScaffoldHookError):
        manager.generate(str(root), target, {}, options=TRUST)
    assert target.is_dir()
    assert list(target.iterdir()) == []


def test_failing_pre_hook_keeps_other_files_of_forced_target(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """With --force into a non-empty target, a failing pre hook changes none of its files."""
    root = make_template(FAILING_PRE_HOOK)
    target = work / "p"
    target.mkdir()
    (target / "a.txt").write_text("user's a")
    before = snapshot(target)
    with pytest.raises(ScaffoldHookError):
        manager.generate(str(root), target, {}, options=GenerateOptions(force=True, trust=True))
    assert snapshot(target) == before


def test_failing_pre_hook_removes_parent_directories_it_created(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """A target whose parents did not exist leaves none of them behind when a pre hook fails."""
    root = make_template(FAILING_PRE_HOOK)
    with pytest.raises(ScaffoldHookError):
        manager.generate(str(root), work / "a" / "b" / "p", {}, options=TRUST)
    # BUG: generate.py creates the target with mkdir(parents=True) but on failure removes
    # only the target itself, so work/a/b stays behind.
    assert list(work.iterdir()) == []


def test_pre_hook_runs_in_staging_and_its_files_are_kept(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """A pre_generate hook sees the rendered files and what it creates is moved in too."""
    root = make_template(
        """
        name: t
        files:
          - path: a.txt
            template: a
        hooks:
          pre_generate:
            - test -f a.txt && basename "$PWD" > where.txt
        """
    )
    manager.generate(str(root), work / "p", {}, options=TRUST)
    assert (work / "p" / "where.txt").read_text().startswith(".gaia-scaffold-")
    assert staging_dirs(work) == []


# --- file content and modes ------------------------------------------------------------


def test_modes_are_applied(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """``mode`` sets the permission bits of a file, whatever the umask."""
    root = make_template(
        """
        name: t
        files:
          - path: bin/run.sh
            template: "#!/bin/sh\\necho hi\\n"
            mode: "0755"
          - path: secrets.env
            template: "TOKEN=x\\n"
            mode: "0600"
          - path: three.txt
            template: x
            mode: "640"
          - path: plain.txt
            template: x
        """
    )
    old = os.umask(0o077)
    try:
        manager.generate(str(root), work / "p", {})
    finally:
        os.umask(old)
    project = work / "p"
    assert mode_of(project / "bin" / "run.sh") == 0o755
    assert mode_of(project / "secrets.env") == 0o600
    assert mode_of(project / "three.txt") == 0o640
    assert os.access(project / "bin" / "run.sh", os.X_OK)


def test_binary_source_copied_byte_for_byte_and_text_source_rendered(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """Binary sources (NUL, invalid UTF-8) are copied exactly; text sources are rendered."""
    binary = b"\x89PNG\r\n\x1a\n\x00\x00{{ project_name }}\xff\xfe\x00"
    root = make_template(
        """
        name: t
        variables:
          - name: project_name
        files:
          - path: assets/logo.png
            source: files/logo.png
          - path: main.go
            source: files/main.go.j2
            mode: "0644"
        """,
        {
            "files/logo.png": binary,
            "files/main.go.j2": "package main\n\n// {{ project_name }} — ünïcode\n",
        },
    )
    manager.generate(str(root), work / "p", {"project_name": "shop"})
    assert (work / "p" / "assets" / "logo.png").read_bytes() == binary
    assert (work / "p" / "main.go").read_text() == "package main\n\n// shop — ünïcode\n"


def test_render_false_copies_source_raw(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """A source with ``render: false`` keeps its {{ }} as written (e.g. a CI workflow)."""
    raw = "on: push\nrun: echo ${{ github.sha }} {{ project_name }}\n"
    root = make_template(
        """
        name: t
        variables:
          - name: project_name
        files:
          - path: .github/workflows/ci.yml
            source: ci.yml
            render: false
        """,
        {"ci.yml": raw},
    )
    manager.generate(str(root), work / "p", {"project_name": "shop"})
    assert (work / "p" / ".github" / "workflows" / "ci.yml").read_text() == raw


def test_render_false_inline_template_is_kept_raw(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """An inline template with ``render: false`` is written as is, its names not variables."""
    root = make_template(
        """
        name: t
        files:
          - path: ci.yml
            template: "run: echo ${{ github.sha }}\\n"
            render: false
        """
    )
    # BUG: plan._content renders an inline template whatever ``render`` says, and
    # implicit_variables scans it, so this fails with "missing required variable 'github'".
    manager.generate(str(root), work / "p", {})
    assert (work / "p" / "ci.yml").read_text() == "run: echo ${{ github.sha }}\n"


def test_missing_source_file_is_reported(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """A ``source`` that does not exist is reported at its line."""
    root = make_template("name: t\nfiles:\n  - path: a\n    source: nope.txt\n")
    with pytest.raises(ScaffoldValidationError) as caught:
        manager.generate(str(root), work / "p", {})
    (problem,) = caught.value.problems
    assert problem.message.startswith("cannot read source 'nope.txt'")
    assert problem.line == 4
    assert list(work.iterdir()) == []


# --- hooks and trust -------------------------------------------------------------------


HOOKED = """\
name: hooked
variables:
  - name: project_name
    required: true
files:
  - path: go.mod
    template: "module {{ project_name }}\\n"
hooks:
  post_generate:
    - test -f go.mod && echo "dir=$GAIA_PROJECT_DIR" > hook.txt
    - echo "var=$GAIA_VAR_PROJECT_NAME {{ project_name }}" >> hook.txt; echo streamed-line
"""


def test_untrusted_template_with_hooks_is_refused_and_writes_nothing(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path, tmp_path: Path
) -> None:
    """A path template with hooks and no --trust raises a ScaffoldError naming --trust."""
    root = make_template(HOOKED)
    before = snapshot(tmp_path)
    with pytest.raises(ScaffoldError) as caught:
        manager.generate(str(root), work / "p", {"project_name": "demo"})
    assert type(caught.value) is ScaffoldError
    message = str(caught.value)
    assert "'hooked'" in message and "outside the registry" in message
    assert "pass --trust to run them, or --no-hooks to skip them" in message
    assert_refused_and_untouched(tmp_path, caught, before)


def test_trusted_hooks_run_in_the_project(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """With trust, post hooks run in the generated project with GAIA_PROJECT_DIR and vars."""
    root = make_template(HOOKED)
    lines: list[str] = []
    result = manager.generate(
        str(root), work / "p", {"project_name": "demo"}, options=TRUST, output=lines.append
    )
    target = (work / "p").resolve()
    assert (target / "hook.txt").read_text() == f"dir={target}\nvar=demo demo\n"
    assert result.hooks == [
        'test -f go.mod && echo "dir=$GAIA_PROJECT_DIR" > hook.txt',
        'echo "var=$GAIA_VAR_PROJECT_NAME demo" >> hook.txt; echo streamed-line',
    ]
    assert lines[0] == '$ test -f go.mod && echo "dir=$GAIA_PROJECT_DIR" > hook.txt'
    assert "streamed-line" in lines


def test_run_hooks_false_skips_hooks(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """--no-hooks generates the files of an untrusted template without running its hooks."""
    root = make_template(HOOKED)
    lines: list[str] = []
    result = manager.generate(
        str(root), work / "p", {"project_name": "demo"}, options=NO_HOOKS, output=lines.append
    )
    assert (work / "p" / "go.mod").read_text() == "module demo\n"
    assert not (work / "p" / "hook.txt").exists()
    assert result.hooks == []
    assert lines == []


def test_failing_post_hook_names_hook_and_status_and_streams_output(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """A failing post hook raises ScaffoldHookError with post_generate[1] and its status."""
    root = make_template(
        """
        name: t
        files:
          - path: a.txt
            template: a
        hooks:
          post_generate:
            - echo first-hook
            - echo to-stdout; echo to-stderr >&2; exit 3
            - touch never
        """
    )
    lines: list[str] = []
    with pytest.raises(ScaffoldHookError) as caught:
        manager.generate(str(root), work / "p", {}, options=TRUST, output=lines.append)
    message = str(caught.value)
    assert message.startswith("hook post_generate[1] ")
    assert "exited with status 3" in message
    assert "to-stderr" in message
    assert caught.value.details["stage"] == "post_generate"
    assert caught.value.details["exit_code"] == 3
    assert lines == [
        "$ echo first-hook",
        "first-hook",
        "$ echo to-stdout; echo to-stderr >&2; exit 3",
        "to-stdout",
        "to-stderr",
    ]
    # post hooks run after the move: the project is there, the later hook did not run
    assert (work / "p" / "a.txt").read_text() == "a"
    assert not (work / "p" / "never").exists()
    assert staging_dirs(work) == []


def test_hook_timeout_is_enforced(
    manager: ScaffoldManager,
    make_template: MakeTemplate,
    work: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A hook running past HOOK_TIMEOUT is killed and reported, even if it prints nothing."""
    monkeypatch.setattr(generate_module, "HOOK_TIMEOUT", 0.5)
    root = make_template(
        "name: t\nfiles: []\nhooks:\n  post_generate:\n    - sleep 4\n",
    )
    started = time.monotonic()
    # BUG: _run_hook reads stdout to EOF before process.wait(timeout=...), so the timeout
    # never applies while the hook (or anything it started) keeps stdout open.
    with pytest.raises(ScaffoldHookError):
        manager.generate(str(root), work / "p", {}, options=TRUST)
    assert time.monotonic() - started < 3


def test_registered_template_hooks_run_without_trust(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """Hooks of a registered template are trusted: they run without --trust."""
    root = make_template(HOOKED)
    manager.register_template(root)
    result = manager.generate("hooked", work / "p", {"project_name": "demo"})
    assert (work / "p" / "hook.txt").read_text().endswith("var=demo demo\n")
    assert len(result.hooks) == 2
    assert answers_of(work / "p")["source"] == "hooked"


# --- dry run, existing targets, answers ------------------------------------------------


def test_dry_run_writes_nothing_and_lists_files(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path, tmp_path: Path
) -> None:
    """A dry run returns the files and directories it would write and touches nothing."""
    root = make_template(GO_API_TEMPLATE, name="go-api")
    before = snapshot(tmp_path)
    result = manager.generate(
        str(root),
        work / "demo",
        {"project_name": "demo", "module_path": "m"},
        options=GenerateOptions(dry_run=True, run_hooks=False),
    )
    assert result.dry_run is True
    assert result.files == ["go.mod"]
    assert result.directories == ["cmd/server", "internal/api"]
    assert snapshot(tmp_path) == before


def test_dry_run_of_an_untrusted_template_lists_its_hooks_without_trust(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path, tmp_path: Path
) -> None:
    """A dry run runs nothing, so it needs no --trust; it lists the hooks that would run."""
    root = make_template(GO_API_TEMPLATE, name="go-api")
    before = snapshot(tmp_path)
    result = manager.generate(
        str(root),
        work / "demo",
        {"project_name": "demo", "module_path": "m"},
        options=GenerateOptions(dry_run=True),
    )
    assert result.hooks == ["go mod tidy", "git init"]
    assert snapshot(tmp_path) == before


def test_dry_run_still_refuses_a_non_empty_target(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """A dry run reports the same target problem a real run would."""
    root = make_template("name: t\nfiles: []\n")
    (work / "p").mkdir()
    (work / "p" / "x").write_text("x")
    with pytest.raises(ScaffoldError, match="is not empty"):
        manager.generate(str(root), work / "p", {}, options=GenerateOptions(dry_run=True))


def test_non_empty_target_refused_without_force(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """Generating into a non-empty directory is refused, naming what is there and --force."""
    root = make_template("name: t\nfiles:\n  - path: a.txt\n    template: new\n")
    target = work / "p"
    target.mkdir()
    (target / "a.txt").write_text("old")
    (target / "notes.md").write_text("mine")
    with pytest.raises(ScaffoldError) as caught:
        manager.generate(str(root), target, {})
    message = str(caught.value)
    assert "is not empty (a.txt, notes.md)" in message
    assert "--force" in message
    assert (target / "a.txt").read_text() == "old"
    assert sorted(p.name for p in target.iterdir()) == ["a.txt", "notes.md"]


def test_force_overwrites_template_files_and_keeps_others(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """--force overwrites the files the template produces and leaves the rest alone."""
    root = make_template(
        """
        name: t
        directories: [src]
        files:
          - path: a.txt
            template: new
          - path: src/b.txt
            template: b
        """
    )
    target = work / "p"
    (target / "src").mkdir(parents=True)
    (target / "a.txt").write_text("old")
    (target / "notes.md").write_text("mine")
    (target / "src" / "keep.py").write_text("kept")
    manager.generate(str(root), target, {}, options=GenerateOptions(force=True))
    assert (target / "a.txt").read_text() == "new"
    assert (target / "src" / "b.txt").read_text() == "b"
    assert (target / "notes.md").read_text() == "mine"
    assert (target / "src" / "keep.py").read_text() == "kept"
    assert staging_dirs(target) == []


def test_target_that_is_a_file_is_refused(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """A target path that is a regular file is refused, even with --force."""
    root = make_template("name: t\nfiles: []\n")
    (work / "p").write_text("file")
    with pytest.raises(ScaffoldError, match="exists and is not a directory"):
        manager.generate(str(root), work / "p", {}, options=GenerateOptions(force=True))
    assert (work / "p").read_text() == "file"


def test_answers_file_records_template_version_source_and_variables(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """.gaia-answers.yml names the template, its version, where it came from and the values."""
    root = make_template(
        """
        name: answered
        version: "1.2.0"
        variables:
          - name: project_name
            required: true
          - name: port
            type: int
            default: 8080
          - name: debug
            type: bool
        files:
          - path: a.txt
            template: "{{ project_name }}"
        """
    )
    manager.generate(str(root), work / "p", {"project_name": "demo"})
    answers = answers_of(work / "p")
    assert answers["template"] == "answered"
    assert answers["version"] == "1.2.0"
    assert answers["source"] == str((root / "template.yaml").resolve())
    assert answers["variables"] == {"project_name": "demo", "port": 8080, "debug": False}
    assert isinstance(answers["generated_at"], str) and answers["generated_at"]
    assert list(answers) == ["template", "version", "source", "generated_at", "variables"]
