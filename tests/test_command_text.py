"""NUL bytes, and '=' in environment names, are refused before anything runs: each a
located problem (a NUL reached exec() as 'embedded null byte', long after validation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gaia.errors import ValidationError
from gaia.services.loader import load_services
from gaia.sessions.loader import load_layout
from gaia.workflows.loader import load_workflow, parse_var_overrides

NUL = "must not contain a NUL byte"
ENV = "is not valid: it must be non-empty, without '=' or NUL"
CASES: list[tuple[Callable[..., Any], str, str, str]] = [
    (load_workflow, 'name: w\ntasks:\n  - id: a\n    command: "echo \\0"\n', "4:5", NUL),
    (load_workflow, 'name: w\ntasks:\n  - {id: a, command: x, env: {X: "\\0"}}\n', "3:31", NUL),
    (load_workflow, "name: w\ntasks:\n  - {id: a, command: x, env: {A=B: 1}}\n", "3:31", ENV),
    (load_workflow, 'name: w\nenv: {"A\\0": 1}\ntasks: [{id: a, command: x}]\n', "2:7", ENV),
    (load_workflow, 'name: w\nworking_dir: "/tmp\\0"\ntasks: [{id: a, command: x}]\n', "2:1", NUL),
    (load_workflow, 'name: w\nvariables: {v: "\\0"}\ntasks: [{id: a, command: x}]\n', "2:13", NUL),
    (load_services, 'name: s\ncommand: "x\\0"\n', "2:1", NUL),
    (load_services, 'name: s\ncommand: x\nargs: [a, "\\0"]\n', "3:11", NUL),
    (load_services, "name: s\ncommand: x\nenv: {A=B: x}\n", "3:7", ENV),
    (
        load_services,
        'name: s\ncommand: x\nhealth_check: {type: exec, command: "\\0"}\n',
        "3:28",
        NUL,
    ),
    (load_layout, 'session_name: s\nwindows: [{panes: ["echo \\0"]}]\n', "2:20", NUL),
    (load_layout, 'session_name: s\nenvironment: {X: "\\0"}\nwindows: [{}]\n', "2:15", NUL),
    (load_layout, 'session_name: s\nshell_command_before: ["\\0"]\nwindows: [{}]\n', "2:24", NUL),
]


@pytest.mark.parametrize(("load", "text", "where", "message"), CASES)
def test_refused_and_located(load: Callable[..., Any], text: str, where: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        load(text, source="def.yaml")
    shown = [str(p) for p in caught.value.problems]
    assert any(p.startswith(f"def.yaml:{where}:") and message in p for p in shown), shown


def test_a_var_override_with_nul_is_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        parse_var_overrides(["x=a\0b"])
