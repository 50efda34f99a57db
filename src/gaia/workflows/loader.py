"""Load and validate a workflow definition, reporting every problem at once.

Validation runs in two passes over the same located YAML: the schema (pydantic) and the
graph and references (checked on the raw data, so that a file with a typo in one task
still gets its cycle reported). Each problem carries ``file:line:column`` and a hint.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic

from gaia._task_type import AUTO_AGENT, TaskType
from gaia._textfile import TextFileError, read_text_file
from gaia._yaml import Positions, YamlSyntaxError, dotted, load_located, schema_problem
from gaia.errors import Problem, WorkflowValidationError
from gaia.workflows.dag import find_cycles
from gaia.workflows.spec import (
    SHELL_AGENT,
    SHELL_TYPES,
    TaskSpec,
    WorkflowSpec,
    default_task_type,
)
from gaia.workflows.variables import references, substitute

__all__ = ["LoadedWorkflow", "load_workflow", "load_workflow_file", "parse_var_overrides"]

_TASK_FIELDS = sorted(TaskSpec.model_fields)
_WORKFLOW_FIELDS = sorted(WorkflowSpec.model_fields)
_FIELD_HINTS = {
    "type": "use one of: shell, code, test, review, refactor",
    "on_error": "use one of: retry, continue, fail",
}


def _known_fields(mapping: tuple[Any, ...]) -> list[str] | None:
    if mapping == ():
        return _WORKFLOW_FIELDS
    if len(mapping) == 2 and mapping[0] == "tasks":
        return _TASK_FIELDS
    return None


def _describe(loc: tuple[Any, ...]) -> str:
    if len(loc) == 2 and loc[0] == "tasks":
        return f"task #{int(loc[1]) + 1}"
    return "the workflow" if not loc else dotted(loc)


@dataclass(frozen=True)
class LoadedWorkflow:
    """A valid workflow: its spec with variables substituted, and where it came from."""

    spec: WorkflowSpec
    source: str
    text: str
    variables: dict[str, str]
    base_dir: Path
    written: WorkflowSpec  # before substitution: what may be shown without env values


def parse_var_overrides(pairs: Collection[str]) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` -> ``{"a": "1", "b": "x=y"}``; raise ValueError on ``"a"``."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"invalid --var {pair!r}: expected key=value")
        if "\0" in pair:
            raise ValueError(f"invalid --var {pair!r}: a NUL byte cannot reach a command")
        out[name.strip()] = value
    return out


def load_workflow_file(
    path: Path,
    *,
    overrides: Mapping[str, str] | None = None,
    known_agents: Collection[str] = (SHELL_AGENT,),
    environ: Mapping[str, str] | None = None,
) -> LoadedWorkflow:
    try:
        text = read_text_file(path, "workflow file")
    except TextFileError as exc:
        raise WorkflowValidationError.from_problems(str(path), [exc.problem]) from None
    return load_workflow(
        text,
        source=str(path),
        base_dir=path.resolve().parent,
        overrides=overrides,
        known_agents=known_agents,
        environ=environ,
    )


def load_workflow(
    text: str,
    *,
    source: str = "<workflow>",
    base_dir: Path | None = None,
    overrides: Mapping[str, str] | None = None,
    known_agents: Collection[str] = (SHELL_AGENT,),
    environ: Mapping[str, str] | None = None,
) -> LoadedWorkflow:
    """Parse YAML (or JSON, which is YAML) and return a workflow ready to run."""
    env = dict(os.environ if environ is None else environ)
    try:
        data, positions, problems = load_located(text, source)
    except YamlSyntaxError as exc:
        raise WorkflowValidationError.from_problems(source, [exc.problem]) from None
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        problem = Problem(
            f"a workflow must be a mapping with 'name' and 'tasks', but the document is {kind}",
            source=source,
            line=1,
            column=1,
        )
        raise WorkflowValidationError.from_problems(source, [problem])

    checker = _Checker(positions, known_agents, env, dict(overrides or {}))
    spec, schema_problems = checker.schema(data)
    problems.extend(schema_problems)
    problems.extend(checker.semantics(data))
    if problems or spec is None:
        problems.sort(key=lambda p: (p.line or 0, p.column or 0))
        raise WorkflowValidationError.from_problems(source, problems)

    variables = {**spec.variables, **checker.overrides}
    resolved = _resolve(spec, variables, env)
    return LoadedWorkflow(resolved, source, text, variables, base_dir or Path.cwd(), spec)


def _resolve(spec: WorkflowSpec, variables: dict[str, str], env: dict[str, str]) -> WorkflowSpec:
    def sub(value: str | None) -> str | None:
        return None if value is None else substitute(value, variables, env)

    tasks = [
        task.model_copy(
            update={
                "command": sub(task.command),
                "working_dir": sub(task.working_dir),
                "env": {k: substitute(v, variables, env) for k, v in task.env.items()},
            }
        )
        for task in spec.tasks
    ]
    return spec.model_copy(
        update={
            "variables": variables,
            "tasks": tasks,
            "working_dir": sub(spec.working_dir),
            "env": {k: substitute(v, variables, env) for k, v in spec.env.items()},
        }
    )


class _Checker:
    def __init__(
        self,
        positions: Positions,
        known_agents: Collection[str],
        environ: dict[str, str],
        overrides: dict[str, str],
    ) -> None:
        self.positions = positions
        self.known_agents = set(known_agents) | {SHELL_AGENT}
        self.environ = environ
        self.overrides = overrides

    def schema(self, data: dict[str, Any]) -> tuple[WorkflowSpec | None, list[Problem]]:
        try:
            return WorkflowSpec.model_validate(data), []
        except pydantic.ValidationError as exc:
            return None, [self._schema_problem(error) for error in exc.errors()]

    def _schema_problem(self, error: Any) -> Problem:
        return schema_problem(
            error,
            self.positions,
            known_fields=_known_fields,
            describe=_describe,
            hints=_FIELD_HINTS,
        )

    def semantics(self, data: dict[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        raw_tasks = data.get("tasks")
        tasks = raw_tasks if isinstance(raw_tasks, list) else []
        variables = data.get("variables") if isinstance(data.get("variables"), dict) else {}
        defined = {str(k) for k in (variables or {})} | set(self.overrides)

        ids: dict[str, int] = {}
        graph: dict[str, list[str]] = {}
        for index, task in enumerate(tasks):
            if not isinstance(task, dict) or not isinstance(task.get("id"), str):
                continue
            task_id = task["id"]
            if task_id in ids:
                first_line, _ = self.positions.locate(("tasks", ids[task_id], "id"))
                problems.append(
                    self.positions.problem(
                        ("tasks", index, "id"),
                        f"duplicate task id {task_id!r} (first used at line {first_line})",
                        "give every task a unique id",
                    )
                )
                continue
            ids[task_id] = index
            deps = task.get("dependencies")
            graph[task_id] = (
                [d for d in deps if isinstance(d, str)] if isinstance(deps, list) else []
            )

        for index in ids.values():
            problems.extend(self._check_task(tasks[index], index, ids, defined))

        # Self-loops are reported above as self-dependencies, not again as cycles.
        acyclic_self = {k: [d for d in v if d != k] for k, v in graph.items()}
        for cycle in find_cycles(acyclic_self):
            first = cycle[0]
            position = graph[first].index(cycle[1])
            problems.append(
                self.positions.problem(
                    ("tasks", ids[first], "dependencies", position),
                    f"dependency cycle: {' -> '.join(cycle)}",
                    "remove one of these dependencies",
                )
            )

        for key in ("working_dir",):
            if isinstance(data.get(key), str):
                problems.extend(self._check_refs((key,), data[key], defined))
        if isinstance(data.get("env"), dict):
            for name, value in data["env"].items():
                if isinstance(value, str):
                    problems.extend(self._check_refs(("env", name), value, defined))
        return problems

    def _check_task(
        self, task: dict[str, Any], index: int, ids: dict[str, int], defined: set[str]
    ) -> list[Problem]:
        problems: list[Problem] = []
        task_id = task["id"]
        deps = task.get("dependencies")
        for pos, dep in enumerate(deps if isinstance(deps, list) else []):
            if not isinstance(dep, str):
                continue
            path = ("tasks", index, "dependencies", pos)
            if dep == task_id:
                problems.append(
                    self.positions.problem(
                        path, f"task {task_id!r} depends on itself", "remove it from dependencies"
                    )
                )
            elif dep not in ids:
                known = ", ".join(sorted(ids)) or "none"
                problems.append(
                    self.positions.problem(
                        path,
                        f"task {task_id!r} depends on unknown task {dep!r}",
                        f"defined tasks: {known}",
                    )
                )
        problems.extend(self._check_agent(task, index))
        for key in ("command", "working_dir"):
            if isinstance(task.get(key), str):
                problems.extend(self._check_refs(("tasks", index, key), task[key], defined))
        if isinstance(task.get("env"), dict):
            for name, value in task["env"].items():
                if isinstance(value, str):
                    problems.extend(self._check_refs(("tasks", index, "env", name), value, defined))
        return problems

    def _check_agent(self, task: dict[str, Any], index: int) -> list[Problem]:
        agent = task.get("agent")
        task_type = task.get("type", default_task_type(agent).value)
        if not isinstance(task_type, str) or (agent is not None and not isinstance(agent, str)):
            return []
        if task_type not in {t.value for t in TaskType}:
            return []  # the schema pass reports the bad type; no agent to check
        shell_type = task_type in {t.value for t in SHELL_TYPES}
        path = ("tasks", index, "agent") if agent is not None else ("tasks", index)
        if shell_type and agent not in (None, SHELL_AGENT):
            return [
                self.positions.problem(
                    path,
                    f"task {task['id']!r} has type {task_type!r}, which runs as a shell command, "
                    f"but names agent {agent!r}",
                    "use agent: system, or type: code/review/refactor for an AI agent",
                )
            ]
        if shell_type or agent == SHELL_AGENT:
            return []
        ai_agents = sorted(self.known_agents - {SHELL_AGENT})
        if agent in (None, AUTO_AGENT):
            if ai_agents:
                return []
            message = f"task {task['id']!r} ({task_type}) needs an AI agent, and none is available"
        elif agent in self.known_agents:
            return []
        else:
            message = f"task {task['id']!r} uses agent {agent!r}, which is not available"
        hint = (
            f"available agents: {', '.join(['system', *ai_agents])}"
            if ai_agents
            else "no AI agent is installed or configured; use agent: system to run the "
            "command in a shell"
        )
        return [self.positions.problem(path, message, hint)]

    def _check_refs(self, path: tuple[Any, ...], value: str, defined: set[str]) -> list[Problem]:
        found: list[tuple[str, str, str]] = []
        for ref in references(value):
            if not ref.valid:
                message = f"invalid reference {ref.raw}"
                hint = "write ${name} or ${env.NAME}; for shell syntax escape it as $${...}"
            elif ref.is_env and ref.key not in self.environ:
                message = f"environment variable {ref.key} is not set (referenced as {ref.raw})"
                hint = f"export {ref.key}=..., or write $${{{ref.key}}} to leave it to the shell"
            elif not ref.is_env and ref.key not in defined:
                message = f"undefined variable {ref.raw}"
                known = ", ".join(sorted(defined)) or "none"
                hint = (
                    f"define it under 'variables' or pass --var {ref.key}=... (defined: {known})"
                    f"; for a shell variable write ${ref.key} or $${{{ref.key}}}"
                )
            else:
                continue
            found.append((ref.raw, message, hint))
        places = self.positions.locate_each_in_value(path, [raw for raw, _, _ in found])
        return [
            Problem(
                message,
                source=self.positions.source,
                line=line,
                column=column,
                path=dotted(path),
                hint=hint,
            )
            for (_, message, hint), (line, column) in zip(found, places, strict=True)
        ]
