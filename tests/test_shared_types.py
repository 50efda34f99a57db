"""Types that workflows, services and agents share, defined once."""

from __future__ import annotations

import pydantic
import pytest

from gaia._fields import StrictModel
from gaia.agents.task import TaskStatus, TaskType
from gaia.services.spec import ServiceSpec
from gaia.workflows.spec import TaskType as WorkflowSpecTaskType
from gaia.workflows.spec import WorkflowSpec
from gaia.workflows.status import WorkflowTaskStatus


def test_workflow_and_agent_tasks_share_one_task_type() -> None:
    """A workflow task's type goes to the agent bridge as it is: one enum, same values."""
    assert WorkflowSpecTaskType is TaskType
    assert [t.value for t in TaskType] == ["shell", "code", "test", "review", "refactor"]


def test_the_two_task_statuses_are_named_apart() -> None:
    assert {s.value for s in TaskStatus} == {
        "queued",
        "running",
        "succeeded",
        "failed",
        "timed_out",
        "cancelled",
    }
    assert {s.value for s in WorkflowTaskStatus} == {
        "pending",
        "running",
        "retrying",
        "completed",
        "failed",
        "skipped",
        "cancelled",
    }


@pytest.mark.parametrize(
    ("model", "valid"),
    [
        (ServiceSpec, {"name": "web", "command": "true"}),
        (WorkflowSpec, {"name": "w", "tasks": [{"id": "a", "command": "true"}]}),
    ],
)
def test_definitions_share_the_strict_base(
    model: type[StrictModel], valid: dict[str, object]
) -> None:
    assert issubclass(model, StrictModel)
    spec = model.model_validate(valid)
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        model.model_validate({**valid, "colour": "blue"})
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        spec.name = "other"  # type: ignore[misc]
