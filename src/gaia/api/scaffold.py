"""Scaffold routes under `/api/orchestration/templates` and `/scaffold`.

Generation writes files and may run hooks: these are plain functions that FastAPI runs in
its thread pool. Paths are paths on the daemon's machine and must be absolute.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from gaia.api.body import body_problem
from gaia.api.deps import Auth, RuntimeDep
from gaia.api.errors import problem_responses
from gaia.errors import Problem, ScaffoldValidationError
from gaia.scaffold.generate import GenerateOptions
from gaia.scaffold.manager import ScaffoldManager
from gaia.scaffold.views import (
    GenerateView,
    TemplateView,
    ValidationView,
    generate_view,
    template_view,
    validation_view,
)

__all__ = ["router"]

router = APIRouter(
    prefix="/api/orchestration",
    tags=["scaffold"],
    dependencies=[Auth],
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)


def get_scaffold(runtime: RuntimeDep) -> ScaffoldManager:
    return runtime.scaffold


ScaffoldDep = Annotated[ScaffoldManager, Depends(get_scaffold)]


class RegisterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="absolute path of a template directory or YAML file")
    replace: bool = False


class ScaffoldRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, description="project name: default of project_name")
    template: str = Field(min_length=1)
    path: str = Field(description="absolute path of the project directory to create")
    variables: dict[str, str | int | bool] = Field(default_factory=dict)
    dry_run: bool = False
    force: bool = False
    run_hooks: bool = True
    trust: bool = False
    contents: bool = Field(
        default=False, description="with dry_run: each file's rendered text (a preview)"
    )


def _absolute(value: str, field: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_absolute():
        raise ScaffoldValidationError(
            f"{field} must be an absolute path (got {value!r})",
            [Problem(f"{field} must be an absolute path", source="<request body>", path=field)],
        )
    return path


@router.get("/templates", response_model=list[TemplateView])
def list_templates(scaffold: ScaffoldDep) -> list[TemplateView]:
    """ListTemplates: every template with its description and variables."""
    return [template_view(t) for t in scaffold.list_templates()]


@router.get("/templates/{name}", response_model=TemplateView)
def get_template(name: str, scaffold: ScaffoldDep) -> TemplateView:
    """GetTemplate."""
    return template_view(scaffold.registry.get(name))


@router.post("/templates", response_model=TemplateView, status_code=201)
async def register_template(request: Request, scaffold: ScaffoldDep) -> TemplateView:
    """RegisterTemplate from ``{"path": ...}`` (validated before it is added)."""
    try:
        body = RegisterRequest.model_validate_json(await request.body())
    except ValueError as exc:
        raise body_problem(f'expected {{"path": ..., "replace": false}}: {exc}') from None
    path = _absolute(body.path, "path")
    template = await asyncio.to_thread(scaffold.register_template, path, replace=body.replace)
    return template_view(template)


@router.post("/scaffold", response_model=GenerateView, status_code=201)
def generate(body: ScaffoldRequest, scaffold: ScaffoldDep, response: Response) -> GenerateView:
    """GenerateProject: everything is rendered before anything is written."""
    path = _absolute(body.path, "path")
    if "/" in body.template or body.template.endswith((".yaml", ".yml")):
        _absolute(body.template, "template")  # a path means nothing relative to the daemon
    options = GenerateOptions(
        dry_run=body.dry_run, force=body.force, run_hooks=body.run_hooks, trust=body.trust
    )
    variables: dict[str, Any] = dict(body.variables)
    result = scaffold.generate(body.template, path, variables, name=body.name, options=options)
    if body.dry_run:
        response.status_code = 200
    return generate_view(result, contents=body.contents)


@router.get("/scaffold/validate", response_model=ValidationView)
def validate(
    scaffold: ScaffoldDep,
    path: Annotated[str, Query(description="absolute path of a generated project")],
    commands: bool = True,
    trust: bool = False,
) -> ValidationView:
    """ValidateProject: files, modes, drift and the template's validate commands."""
    report = scaffold.validate(_absolute(path, "path"), run_commands=commands, trust=trust)
    return validation_view(report)
