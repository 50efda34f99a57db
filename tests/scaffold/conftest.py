"""Fixtures for the scaffold tests: a manager on its own GAIA_HOME, templates in tmp dirs."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from gaia.config import load_settings
from gaia.scaffold.manager import ScaffoldManager

# The reference go-api template, kept exactly as written: Go-style {{.module_path}}, a
# variable used but not declared, directories and post-generate hooks (docs/formats.md).
GO_API_TEMPLATE = """\
name: go-api
language: go
framework: gin
variables:
  - name: project_name
    required: true
  - name: port
    default: "8080"
directories:
  - cmd/server
  - internal/api
files:
  - path: go.mod
    template: |
      module {{.module_path}}
      go 1.21
hooks:
  post_generate:
    - go mod tidy
    - git init
"""

MakeTemplate = Callable[..., Path]
Snapshot = dict[str, bytes | str | None]


def yaml_text(text: str) -> str:
    """Dedent a YAML document written inline in a test."""
    return textwrap.dedent(text).lstrip("\n")


def snapshot(root: Path) -> Snapshot:
    """Every path under ``root`` (symlinks not followed) with file bytes or link target."""
    found: Snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        for name in dirnames:
            path = base / name
            rel = str(path.relative_to(root))
            found[rel] = f"-> {os.readlink(path)}" if path.is_symlink() else None
        for name in filenames:
            path = base / name
            rel = str(path.relative_to(root))
            found[rel] = f"-> {os.readlink(path)}" if path.is_symlink() else path.read_bytes()
    return found


def staging_dirs(root: Path) -> list[Path]:
    """Staging directories (``.gaia-scaffold-*``) left anywhere under ``root``."""
    return sorted(root.rglob(".gaia-scaffold-*"))


@pytest.fixture
def manager(tmp_path: Path) -> ScaffoldManager:
    """A ScaffoldManager on a fresh GAIA_HOME with no environment overrides."""
    return ScaffoldManager(load_settings(tmp_path / "home", environ={}))


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """An empty directory projects are generated in."""
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def make_template(tmp_path: Path) -> MakeTemplate:
    """Write ``template.yaml`` (dedented) and extra files into a new template directory."""

    def make(
        text: str,
        files: Mapping[str, str | bytes] | None = None,
        *,
        name: str = "tpl",
    ) -> Path:
        root = tmp_path / "templates-src" / name
        root.mkdir(parents=True)
        (root / "template.yaml").write_text(yaml_text(text), encoding="utf-8")
        for relative, content in (files or {}).items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return root

    return make
