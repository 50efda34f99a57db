"""What kind of work a task is: shared by workflow task specs and agent tasks.

A workflow task of type ``review`` becomes an agent task of type ``review``: one enum, so
that the two cannot drift apart (the JSON and YAML values are the member values).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["AUTO_AGENT", "TaskType"]

# The agent a task names when the bridge is to choose (the least busy that takes it).
AUTO_AGENT = "auto"


class TaskType(StrEnum):
    shell = "shell"
    code = "code"
    test = "test"
    review = "review"
    refactor = "refactor"
