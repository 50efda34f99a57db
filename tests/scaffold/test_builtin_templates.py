"""The built-in templates: each generates a project that passes its own checks."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from gaia.config import load_settings
from gaia.errors import ScaffoldValidationError
from gaia.scaffold.generate import ANSWERS_FILE, GenerateOptions, GenerateResult
from gaia.scaffold.manager import ScaffoldManager
from gaia.scaffold.validate import ValidationReport

BUILTINS = ("full-stack", "go-api", "python-package", "react-app")
# The interpreter running these tests has pytest, ruff, FastAPI and httpx: the generated
# projects' checks (`python3 -m pytest`, scripts/check.sh) find them first on PATH.
VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def scaffold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ScaffoldManager:
    """A manager on a fresh GAIA_HOME, with this interpreter's tools first on PATH."""
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)  # the git init hook must not touch a parent
    return ScaffoldManager(load_settings(tmp_path / "home", environ={}))


def generate(
    scaffold: ScaffoldManager, name: str, target: Path, variables: Mapping[str, Any]
) -> GenerateResult:
    """Generate ``name`` with its hooks and check what every built-in must produce."""
    result = scaffold.generate(name, target, variables, options=GenerateOptions(run_hooks=True))
    assert result.files, "a built-in template produces files"
    for relative in result.files:
        assert (target / relative).is_file(), relative
    for relative in result.directories:
        assert (target / relative).is_dir(), relative
    answers = yaml.safe_load((target / ANSWERS_FILE).read_text(encoding="utf-8"))
    assert answers["template"] == name
    assert answers["source"] == name  # a built-in is found again by name
    assert answers["variables"] == result.variables
    assert "git init -q" in result.hooks
    assert (target / ".git").is_dir()
    return result


def assert_valid(
    scaffold: ScaffoldManager, project: Path, *, drift: frozenset[str] = frozenset()
) -> ValidationReport:
    """Validate ``project``: nothing missing or changed (but ``drift``), every check passed."""
    report = scaffold.validate(project)
    failed = [(c.command, c.exit_code, c.output) for c in report.commands if c.exit_code != 0]
    assert failed == []
    assert report.missing == []
    assert report.mode_changed == []
    assert set(report.changed) <= drift, report.changed
    spec = scaffold.get_template(report.template).loaded.spec
    assert spec.validate_commands, "every built-in has validate commands"
    assert len(report.commands) == len(spec.validate_commands)
    if not drift:
        assert report.ok, report.problems()
    return report


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in ``cwd`` and capture its output."""
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def test_builtins_are_listed_with_descriptions_and_variables(scaffold: ScaffoldManager) -> None:
    """All four built-ins load and are listed as trusted, described, with their variables."""
    listed = {t.name: t for t in scaffold.list_templates()}
    assert set(BUILTINS) <= set(listed)
    for name in BUILTINS:
        template = listed[name]
        spec = template.loaded.spec
        assert template.origin == "builtin"
        assert template.trusted
        assert spec.description
        assert spec.language
        assert spec.variables
        assert all(v.description for v in spec.variables), name
        project_name = spec.variable("project_name")
        assert project_name is not None
        assert project_name.required
        assert len(spec.files) <= 15, "built-ins stay small"


def test_go_api_generates_a_gin_service(scaffold: ScaffoldManager, tmp_path: Path) -> None:
    """go-api writes a gin module whose path and port come from the variables."""
    project = tmp_path / "out"
    result = generate(scaffold, "go-api", project, {"project_name": "demo-api"})
    assert result.variables == {
        "project_name": "demo-api",
        "module_path": "example.com/demo-api",
        "port": "8080",
    }
    assert {"cmd/server", "internal/api"} <= set(result.directories)
    assert {
        "go.mod",
        "cmd/server/main.go",
        "internal/api/router.go",
        "internal/api/router_test.go",
        "Makefile",
        "README.md",
        ".gitignore",
    } <= set(result.files)
    go_mod = (project / "go.mod").read_text()
    assert go_mod.startswith("module example.com/demo-api\n")
    assert "\ngo 1.21\n" in go_mod
    assert "github.com/gin-gonic/gin" in go_mod
    main = (project / "cmd/server/main.go").read_text()
    assert '"example.com/demo-api/internal/api"' in main
    assert 'port = "8080"' in main
    assert "\tgo vet ./...\n" in (project / "Makefile").read_text()  # recipes keep their tabs

    # With go and the network, the post hook's `go mod tidy` writes go.sum and rewrites
    # go.mod (which validate then reports as changed); without them it is skipped.
    tidied = (project / "go.sum").exists()
    assert_valid(scaffold, project, drift=frozenset({"go.mod"}) if tidied else frozenset())
    go = shutil.which("go")
    if go is not None and tidied:
        vetted = run([go, "vet", "./..."], project)
        assert vetted.returncode == 0, vetted.stdout + vetted.stderr


def test_go_api_takes_module_path_and_port(scaffold: ScaffoldManager, tmp_path: Path) -> None:
    """go-api's module path and port can be set instead of derived."""
    project = tmp_path / "out"
    variables = {"project_name": "svc", "module_path": "github.com/acme/svc", "port": "9090"}
    generate(scaffold, "go-api", project, variables)
    assert (project / "go.mod").read_text().startswith("module github.com/acme/svc\n")
    main = (project / "cmd/server/main.go").read_text()
    assert '"github.com/acme/svc/internal/api"' in main
    assert 'port = "9090"' in main


def test_react_app_generates_a_vite_project(scaffold: ScaffoldManager, tmp_path: Path) -> None:
    """react-app writes a Vite + React + TypeScript project whose JSON files parse."""
    project = tmp_path / "out"
    description = 'A "quoted" <app> & {braces}'
    variables = {"project_name": "my-app", "description": description}
    result = generate(scaffold, "react-app", project, variables)
    assert {
        "package.json",
        "index.html",
        "tsconfig.json",
        "vite.config.ts",
        "src/main.tsx",
        "src/App.tsx",
        "src/App.test.tsx",
        "README.md",
        ".gitignore",
    } <= set(result.files)
    package = json.loads((project / "package.json").read_text())
    assert package["name"] == "my-app"
    assert package["description"] == description
    assert {"dev", "build", "test"} <= set(package["scripts"])
    assert package["scripts"]["test"].startswith("vitest")
    assert {"react", "react-dom"} <= set(package["dependencies"])
    assert {"vite", "vitest", "typescript"} <= set(package["devDependencies"])
    tsconfig = json.loads((project / "tsconfig.json").read_text())
    assert tsconfig["compilerOptions"]["jsx"] == "react-jsx"
    assert "from 'vitest'" in (project / "src/App.test.tsx").read_text()
    assert "<title>my-app</title>" in (project / "index.html").read_text()
    assert not (project / "node_modules").exists()  # no npm install in the hooks

    report = assert_valid(scaffold, project)
    assert "tests skipped" in report.commands[-1].output  # no node_modules: nothing to run


def test_react_app_refuses_an_invalid_npm_name(scaffold: ScaffoldManager, tmp_path: Path) -> None:
    """react-app's project_name must be a valid npm package name."""
    with pytest.raises(ScaffoldValidationError, match="project_name"):
        scaffold.generate("react-app", tmp_path / "out", {"project_name": "My App"})
    assert not (tmp_path / "out").exists()


def test_full_stack_with_docker(scaffold: ScaffoldManager, tmp_path: Path) -> None:
    """full-stack writes a FastAPI backend whose tests pass, a frontend and a compose file."""
    project = tmp_path / "out"
    result = generate(scaffold, "full-stack", project, {"project_name": "shop"})
    assert result.variables["api_port"] == 8000
    assert result.variables["use_docker"] is True
    assert result.skipped == []
    compose = yaml.safe_load((project / "docker-compose.yml").read_text())
    assert set(compose["services"]) == {"backend", "frontend"}
    assert compose["services"]["backend"]["ports"] == ["8000:8000"]
    assert compose["services"]["frontend"]["environment"]["API_URL"] == "http://backend:8000"
    assert (project / "backend/Dockerfile").is_file()
    package = json.loads((project / "frontend/package.json").read_text())
    assert {"dev", "build"} <= set(package["scripts"])
    json.loads((project / "frontend/tsconfig.json").read_text())
    backend = tomllib.loads((project / "backend/pyproject.toml").read_text())
    assert backend["tool"]["pytest"]["ini_options"]["pythonpath"] == ["."]
    assert "up:" in (project / "Makefile").read_text()

    tests = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project / "backend"
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "4 passed" in tests.stdout

    report = assert_valid(scaffold, project)
    backend_check = next(c for c in report.commands if "pytest" in c.command)
    assert "4 passed" in backend_check.output  # validate ran the backend's tests too


def test_full_stack_without_docker(scaffold: ScaffoldManager, tmp_path: Path) -> None:
    """full-stack with use_docker=false has no Docker files and still validates."""
    project = tmp_path / "out"
    variables = {"project_name": "shop", "use_docker": "false", "api_port": "9000"}
    result = generate(scaffold, "full-stack", project, variables)
    assert result.variables["use_docker"] is False
    assert result.variables["api_port"] == 9000
    assert set(result.skipped) == {"docker-compose.yml", "backend/Dockerfile"}
    assert not (project / "docker-compose.yml").exists()
    assert not (project / "backend/Dockerfile").exists()
    makefile = (project / "Makefile").read_text()
    assert "docker" not in makefile
    assert "--port 9000" in makefile
    assert "'http://localhost:9000'" in (project / "frontend/vite.config.ts").read_text()
    assert_valid(scaffold, project)


def test_python_package_passes_its_own_checks(scaffold: ScaffoldManager, tmp_path: Path) -> None:
    """python-package's tests pass, uninstalled, and its executable check script passes."""
    project = tmp_path / "out"
    variables = {"project_name": "acme-tools", "python_version": "3.12", "author": 'Ada "A" L'}
    result = generate(scaffold, "python-package", project, variables)
    assert result.variables["package_name"] == "acme_tools"
    assert {
        "pyproject.toml",
        "src/acme_tools/__init__.py",
        "src/acme_tools/cli.py",
        "tests/test_acme_tools.py",
        "scripts/check.sh",
        "README.md",
        ".gitignore",
    } <= set(result.files)
    check = project / "scripts/check.sh"
    assert stat.S_IMODE(check.stat().st_mode) == 0o755
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "acme-tools"
    assert pyproject["project"]["requires-python"] == ">=3.12"
    assert pyproject["project"]["authors"] == [{"name": 'Ada "A" L'}]
    assert pyproject["project"]["scripts"] == {"acme-tools": "acme_tools.cli:main"}
    assert pyproject["tool"]["pytest"]["ini_options"]["pythonpath"] == ["src"]
    assert '__version__ = "0.1.0"' in (project / "src/acme_tools/__init__.py").read_text()

    tests = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "6 passed" in tests.stdout
    checked = run([str(check)], project)  # ruff (on PATH here) and pytest
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "All checks passed" in checked.stdout

    report = assert_valid(scaffold, project)
    assert any("6 passed" in c.output for c in report.commands)


def test_python_package_without_author(scaffold: ScaffoldManager, tmp_path: Path) -> None:
    """python-package leaves authors out of pyproject.toml when no author is given."""
    project = tmp_path / "out"
    generate(scaffold, "python-package", project, {"project_name": "tool"})
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert "authors" not in pyproject["project"]
    assert pyproject["project"]["requires-python"] == ">=3.11"
    assert pyproject["tool"]["ruff"]["target-version"] == "py311"
    assert_valid(scaffold, project)


@pytest.mark.parametrize(
    "variables",
    [{"project_name": "Acme"}, {"project_name": "acme", "python_version": "3.10"}],
)
def test_python_package_refuses_invalid_variables(
    scaffold: ScaffoldManager, tmp_path: Path, variables: dict[str, str]
) -> None:
    """python-package refuses a project name that is not lowercase or an unlisted version."""
    with pytest.raises(ScaffoldValidationError):
        scaffold.generate("python-package", tmp_path / "out", variables)
    assert not (tmp_path / "out").exists()
