"""A run's page in bulk: its DAG laid out, every attempt, and retrying one failed task.

Routes under ``/api/orchestration/workflows`` beside ``gaia.api.workflows``: what the
dashboard's run page reads (one request each, also for 5,000 tasks), and its Retry.
"""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Response
from pydantic import BaseModel

from gaia.api.deps import Auth, WorkflowsDep
from gaia.api.errors import problem_responses

__all__ = ["router"]

router = APIRouter(
    prefix="/api/orchestration/workflows",
    tags=["workflows"],
    dependencies=[Auth],
    responses=problem_responses(400, 401, 403, 404, 422),
)


class GraphNode(BaseModel):
    id: str
    x: int
    y: int
    layer: int


class GraphView(BaseModel):
    nodes: list[GraphNode]
    edges: list[tuple[str, str]]
    width: int
    height: int
    layers: int
    node_width: int
    node_height: int
    row_gap: int
    margin: int


class AttemptView(BaseModel):
    task: str
    attempt: int
    status: str
    exit_code: int | None
    error: str | None
    started_at: str
    finished_at: str | None
    duration_ms: int | None


class Retried(BaseModel):
    id: str
    status: str
    task: str
    tasks: list[str]


@router.get("/{workflow_id}/graph", responses={200: {"model": GraphView}})
async def workflow_graph(workflow_id: str, workflows: WorkflowsDep) -> Response:
    """The run's DAG laid out in layers, left to right (made once per run, then kept).

    ``nodes`` give each task's top-left corner and its layer (column); ``edges`` go from
    a dependency to its dependent.
    """
    run_id = await asyncio.to_thread(workflows.resolve, workflow_id)
    data = await asyncio.to_thread(workflows.graph_layout, run_id)
    return Response(data, media_type="application/json")


@router.get("/{workflow_id}/attempts", responses={200: {"model": list[AttemptView]}})
async def workflow_attempts(workflow_id: str, workflows: WorkflowsDep) -> Response:
    """Every attempt of every task of the run, by start time (the Gantt chart's bars)."""
    run_id = await asyncio.to_thread(workflows.resolve, workflow_id)

    def encoded() -> bytes:
        # Plain JSON of plain values: validating 5,000 models again would take longer
        # than reading them.
        return json.dumps(workflows.attempts(run_id), separators=(",", ":")).encode()

    return Response(await asyncio.to_thread(encoded), media_type="application/json")


@router.post(
    "/{workflow_id}/tasks/{task_id}/retry",
    status_code=202,
    response_model=Retried,
    responses=problem_responses(409),
)
async def retry_task(workflow_id: str, task_id: str, workflows: WorkflowsDep) -> Retried:
    """Run one failed task of a run that is not running again, with the dependents it
    kept from running; the run's other tasks keep their states (409 otherwise)."""
    run_id = await asyncio.to_thread(workflows.resolve, workflow_id)
    keys = await workflows.retry_task(run_id, task_id)
    return Retried(id=run_id, status="running", task=task_id, tasks=keys)
