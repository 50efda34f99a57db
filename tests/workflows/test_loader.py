"""Loading and validating workflow files: positions, messages, substitution."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from gaia.errors import Problem, WorkflowValidationError
from gaia.workflows.loader import load_workflow, load_workflow_file, parse_var_overrides
from gaia.workflows.spec import TaskType

SOURCE = "wf.yaml"

TASK_FIELDS = (
    "agent, command, dependencies, description, env, id, on_error, retry, timeout, type, "
    "working_dir"
)
WORKFLOW_FIELDS = "description, env, max_parallel, name, tasks, variables, working_dir"

SPEC_EXAMPLE = """
name: parallel-development
tasks:
  - id: backend
    type: code
    agent: claude
    command: "Create a REST API for todos with FastAPI"
  - id: test
    type: test
    agent: system
    command: make test
    dependencies: [backend]
"""


def yaml_text(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def problems_of(text: str, **kwargs: object) -> list[Problem]:
    kwargs.setdefault("environ", {})
    with pytest.raises(WorkflowValidationError) as info:
        load_workflow(yaml_text(text), source=SOURCE, **kwargs)  # type: ignore[arg-type]
    return info.value.problems


# (YAML text, line, column, message substring): every file holds exactly one problem.
BAD_FILES = [
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            command: echo
           type: shell
        """,
        5,
        4,
        "YAML syntax error: did not find expected '-' indicator (while parsing a block collection)",
        id="yaml-bad-indentation",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            command: "echo hi
        """,
        4,
        14,
        "YAML syntax error: found unexpected end of stream (while scanning a quoted scalar)",
        id="yaml-unclosed-quote",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            command: echo
            dependencies: [b, c
        """,
        5,
        19,
        "YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence)",
        id="yaml-unclosed-bracket",
    ),
    pytest.param(
        """
        - id: a
        - id: b
        """,
        1,
        1,
        "a workflow must be a mapping with 'name' and 'tasks', but the document is a list",
        id="top-level-list",
    ),
    pytest.param(
        """
        just a string
        """,
        1,
        1,
        "a workflow must be a mapping with 'name' and 'tasks', but the document is a str",
        id="top-level-scalar",
    ),
    pytest.param(
        "",
        1,
        1,
        "a workflow must be a mapping with 'name' and 'tasks', but the document is empty",
        id="empty-document",
    ),
    pytest.param(
        """
        # only a comment
        """,
        1,
        1,
        "a workflow must be a mapping with 'name' and 'tasks', but the document is empty",
        id="comment-only-document",
    ),
    pytest.param(
        """
        name: x
        owner: me
        tasks:
          - id: a
            command: echo
        """,
        2,
        1,
        "unknown field 'owner'",
        id="unknown-top-level-field",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            command: echo
            retries: 3
        """,
        5,
        5,
        "unknown field 'retries'",
        id="unknown-task-field",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            type: shell
        """,
        3,
        5,
        "task #1 is missing required field 'command'",
        id="missing-command",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            command: echo
          - command: echo two
        """,
        5,
        5,
        "task #2 is missing required field 'id'",
        id="missing-id",
    ),
    pytest.param(
        """
        name: x
        max_parallel: lots
        tasks:
          - id: a
            command: echo
        """,
        2,
        1,
        "max_parallel: Input should be a valid integer, unable to parse string as an integer "
        '(got "lots")',
        id="max-parallel-not-an-integer",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: backend
            command: echo
          - id: test
            command: make test
            dependencies: backend
        """,
        7,
        5,
        'tasks[1].dependencies: Input should be a valid list (got "backend")',
        id="dependencies-as-string",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            type: deploy
            command: echo
        """,
        4,
        5,
        "tasks[0].type: Input should be 'shell', 'code', 'test', 'review' or 'refactor' "
        '(got "deploy")',
        id="invalid-type",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            command: echo
            on_error: ignore
        """,
        5,
        5,
        "tasks[0].on_error: Input should be 'retry', 'continue' or 'fail' (got \"ignore\")",
        id="invalid-on-error",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            command: echo
            timeout: 10x
        """,
        5,
        5,
        "tasks[0].timeout: invalid duration '10x': use a number with a unit (ms, s, m, h, d)",
        id="bad-duration",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            command: echo
          - id: a
            command: echo again
        """,
        5,
        5,
        "duplicate task id 'a' (first used at line 3)",
        id="duplicate-task-id",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            command: echo
            command: echo again
        """,
        5,
        5,
        "duplicate key 'command' (first defined at line 4)",
        id="duplicate-yaml-key",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            command: echo
            dependencies: [build]
        """,
        5,
        20,
        "task 'a' depends on unknown task 'build'",
        id="unknown-dependency",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            command: echo
            dependencies:
              - a
        """,
        6,
        9,
        "task 'a' depends on itself",
        id="self-dependency",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            command: echo
            dependencies: [b]
          - id: b
            command: echo
            dependencies: [c]
          - id: c
            command: echo
            dependencies: [a]
        """,
        5,
        20,
        "dependency cycle: a -> b -> c -> a",
        id="cycle",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            command: echo ${nope}
        """,
        4,
        19,
        "undefined variable ${nope}",
        id="undefined-variable",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            command: |
              echo start
              echo ${nope} done
        """,
        6,
        12,
        "undefined variable ${nope}",
        id="undefined-variable-in-block-scalar",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            command: echo
            working_dir: /srv/${where}
        """,
        5,
        23,
        "undefined variable ${where}",
        id="undefined-variable-in-working-dir",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            command: echo
            env:
              TOKEN: "x-${secret}"
        """,
        6,
        17,
        "undefined variable ${secret}",
        id="undefined-variable-in-env",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            command: echo ${env.GAIA_TEST_UNSET}
        """,
        4,
        19,
        "environment variable GAIA_TEST_UNSET is not set (referenced as ${env.GAIA_TEST_UNSET})",
        id="env-variable-not-set",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            command: echo ${HOME:-x}
        """,
        4,
        19,
        "invalid reference ${HOME:-x}",
        id="invalid-reference",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            type: code
            agent: claude
            command: write the code
        """,
        5,
        5,
        "task 'a' uses agent 'claude', which is not available",
        id="unknown-agent",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            type: shell
            agent: claude
            command: echo
        """,
        5,
        5,
        "task 'a' has type 'shell', which runs as a shell command, but names agent 'claude'",
        id="shell-task-with-ai-agent",
    ),
    pytest.param(
        """
        name: x
        tasks:
          - id: a
            type: test
            agent: claude
            command: make test
        """,
        5,
        5,
        "task 'a' has type 'test', which runs as a shell command, but names agent 'claude'",
        id="test-task-with-ai-agent",
    ),
    pytest.param(
        """
        name: x
        tasks: []
        """,
        2,
        1,
        "tasks: List should have at least 1 item after validation, not 0",
        id="no-tasks",
    ),
]


@pytest.mark.parametrize(("text", "line", "column", "message"), BAD_FILES)
def test_bad_workflow_reports_one_located_problem(
    text: str, line: int, column: int, message: str
) -> None:
    """Each bad file yields exactly one problem, at the exact line and column, saying why."""
    problems = problems_of(text)
    assert [(p.line, p.column) for p in problems] == [(line, column)], [str(p) for p in problems]
    problem = problems[0]
    assert problem.source == SOURCE
    assert message in problem.message
    assert str(problem).startswith(f"{SOURCE}:{line}:{column}: {problem.message}")


def test_error_message_counts_problems_and_lists_them() -> None:
    """str(WorkflowValidationError) is a headline with the count, then one line per problem."""
    with pytest.raises(WorkflowValidationError) as info:
        load_workflow("name: x\nowner: me\ntasks: []\n", source=SOURCE, environ={})
    lines = str(info.value).splitlines()
    assert lines[0] == f"workflow {SOURCE} is invalid: 2 problems"
    assert lines[1] == (f"{SOURCE}:2:1: unknown field 'owner' (known fields: {WORKFLOW_FIELDS})")
    assert lines[2] == (
        f"{SOURCE}:3:1: tasks: List should have at least 1 item after validation, not 0"
    )


def test_unknown_task_field_hint_lists_known_task_fields() -> None:
    """An unknown task field's hint lists every field a task accepts, sorted."""
    [problem] = problems_of(
        """
        name: x
        tasks:
          - id: a
            command: echo
            retries: 3
        """
    )
    assert problem.hint == f"known fields: {TASK_FIELDS}"
    assert problem.path == "tasks[0].retries"
    assert str(problem) == (f"{SOURCE}:5:5: unknown field 'retries' (known fields: {TASK_FIELDS})")


def test_unknown_top_level_field_hint_lists_workflow_fields() -> None:
    """An unknown top-level field's hint lists the workflow's fields, not the task's."""
    [problem] = problems_of("name: x\nowner: me\ntasks:\n  - id: a\n    command: echo\n")
    assert problem.hint == f"known fields: {WORKFLOW_FIELDS}"


def test_missing_field_hint_suggests_adding_it() -> None:
    """A missing required field points at its task and suggests the line to add."""
    [problem] = problems_of("name: x\ntasks:\n  - id: a\n")
    assert str(problem) == (
        f"{SOURCE}:3:5: task #1 is missing required field 'command' (add 'command: ...')"
    )
    assert problem.path == "tasks[0]"


def test_unknown_dependency_hint_lists_defined_tasks() -> None:
    """An unknown dependency's hint names every task that does exist."""
    [problem] = problems_of(
        """
        name: x
        tasks:
          - id: lint
            command: echo
          - id: build
            command: echo
            dependencies: [lint, tset]
        """
    )
    assert str(problem) == (
        f"{SOURCE}:7:26: task 'build' depends on unknown task 'tset' (defined tasks: build, lint)"
    )


def test_undefined_variable_hint_lists_defined_variables_and_shell_escape() -> None:
    """An undefined variable's hint names the defined ones and the shell alternatives."""
    [problem] = problems_of(
        """
        name: x
        variables:
          target: all
        tasks:
          - id: a
            command: make ${taget}
        """,
        overrides={"jobs": "4"},
    )
    assert str(problem) == (
        f"{SOURCE}:6:19: undefined variable ${{taget}} (define it under 'variables' or pass "
        "--var taget=... (defined: jobs, target); for a shell variable write $taget or $${taget})"
    )


def test_each_occurrence_of_an_undefined_variable_is_located() -> None:
    """The same undefined reference twice in one value gives two problems at their own columns."""
    problems = problems_of("name: x\ntasks:\n  - id: a\n    command: echo ${n} ${n}\n")
    assert [(p.line, p.column, p.message) for p in problems] == [
        (4, 19, "undefined variable ${n}"),
        (4, 24, "undefined variable ${n}"),
    ]


def test_undefined_variable_after_escaped_reference_points_at_the_real_one() -> None:
    """After a literal `$${nope}`, the column of an undefined `${nope}` is the real reference."""
    text = "name: x\ntasks:\n  - id: a\n    command: echo $${nope} ${nope}\n"
    #       column of the unescaped reference:  5 + len("command: echo $${nope} ") == 28
    [problem] = problems_of(text)
    assert problem.message == "undefined variable ${nope}"
    assert (problem.line, problem.column) == (4, 28)


def test_invalid_type_is_not_also_reported_as_missing_agent() -> None:
    """An unknown task type is reported once, not also as a task needing an AI agent."""
    problems = problems_of("name: x\ntasks:\n  - id: a\n    type: deploy\n    command: echo\n")
    assert [str(p) for p in problems] == [
        f"{SOURCE}:4:5: tasks[0].type: Input should be 'shell', 'code', 'test', 'review' or "
        "'refactor' (got \"deploy\") (use one of: shell, code, test, review, refactor)"
    ]


def test_all_problems_are_reported_at_once_sorted_by_line() -> None:
    """A file with four distinct problems yields all four, ordered by line."""
    problems = problems_of(
        """
        name: x
        bogus: 1
        tasks:
          - id: a
            command: echo ${nope}
            dependencies: [zzz]
          - id: b
            command: echo
            timeout: 10x
        """
    )
    assert [(p.line, p.column) for p in problems] == [(2, 1), (5, 19), (6, 20), (9, 5)]
    assert [p.message for p in problems] == [
        "unknown field 'bogus'",
        "undefined variable ${nope}",
        "task 'a' depends on unknown task 'zzz'",
        "tasks[1].timeout: invalid duration '10x': use a number with a unit (ms, s, m, h, d), "
        "e.g. '90s', '10m' or '1h30m' (got \"10x\")",
    ]


def test_two_independent_cycles_are_both_reported() -> None:
    """Two separate dependency cycles give two problems, each with its full path."""
    problems = problems_of(
        """
        name: x
        tasks:
          - id: a
            command: echo
            dependencies: [b]
          - id: b
            command: echo
            dependencies: [a]
          - id: c
            command: echo
            dependencies: [d]
          - id: d
            command: echo
            dependencies: [c]
        """
    )
    assert [(p.line, p.column, p.message) for p in problems] == [
        (5, 20, "dependency cycle: a -> b -> a"),
        (11, 20, "dependency cycle: c -> d -> c"),
    ]


def test_cycle_is_reported_even_when_another_task_has_a_schema_error() -> None:
    """A typo in one task does not hide a dependency cycle between others."""
    problems = problems_of(
        """
        name: x
        tasks:
          - id: a
            command: echo
            dependencies: [b]
          - id: b
            command: echo
            dependencies: [a]
            colour: red
        """
    )
    assert [p.message for p in problems] == [
        "dependency cycle: a -> b -> a",
        "unknown field 'colour'",
    ]


def test_spec_example_loads_when_claude_is_available() -> None:
    """The original example workflow loads as written when the claude agent is known."""
    loaded = load_workflow(
        yaml_text(SPEC_EXAMPLE), source=SOURCE, known_agents={"system", "claude"}, environ={}
    )
    spec = loaded.spec
    assert spec.name == "parallel-development"
    assert [t.id for t in spec.tasks] == ["backend", "test"]
    backend, test = spec.tasks
    assert (backend.type, backend.agent, backend.runs_in_shell) == (TaskType.code, "claude", False)
    assert (test.type, test.agent, test.runs_in_shell) == (TaskType.test, "system", True)
    assert test.command == "make test"
    assert test.dependencies == ["backend"]
    assert loaded.source == SOURCE


def test_spec_example_without_claude_says_agent_not_available() -> None:
    """Without claude installed the example fails on the backend agent with a clear hint."""
    problems = problems_of(SPEC_EXAMPLE, known_agents={"system"})
    assert [str(p) for p in problems] == [
        f"{SOURCE}:5:5: task 'backend' uses agent 'claude', which is not available "
        "(no AI agent is installed or configured; use agent: system to run the command in a "
        "shell)"
    ]


def test_unknown_agent_hint_lists_available_agents() -> None:
    """When some AI agents exist, an unknown one's hint names system and the others."""
    [problem] = problems_of(
        "name: x\ntasks:\n  - id: a\n    type: review\n    agent: gpt\n    command: look\n",
        known_agents={"claude", "codex"},
    )
    assert problem.message == "task 'a' uses agent 'gpt', which is not available"
    assert problem.hint == "available agents: system, claude, codex"


def test_ai_task_without_agent_needs_one_available() -> None:
    """A code task with no agent fails when no AI agent exists and loads when one does."""
    text = "name: x\ntasks:\n  - id: a\n    type: code\n    command: write it\n"
    [problem] = problems_of(text)
    assert (problem.line, problem.column) == (3, 5)
    assert problem.message == "task 'a' (code) needs an AI agent, and none is available"
    loaded = load_workflow(text, known_agents={"claude"}, environ={})
    assert loaded.spec.tasks[0].effective_agent == "auto"


def test_a_task_naming_an_ai_agent_without_a_type_is_a_code_task() -> None:
    """`agent: claude` with no type runs on the agent; `agent: system` or none is a shell."""
    text = (
        "name: x\ntasks:\n"
        "  - {id: ai, agent: claude, command: Implement it}\n"
        "  - {id: sys, agent: system, command: make}\n"
        "  - {id: plain, command: make}\n"
    )
    tasks = load_workflow(text, known_agents={"claude"}, environ={}).spec.tasks
    assert [(t.type, t.effective_agent, t.runs_in_shell) for t in tasks] == [
        (TaskType.code, "claude", False),
        (TaskType.shell, "system", True),
        (TaskType.shell, "system", True),
    ]
    [problem] = problems_of(text)  # no AI agent here: the agent is checked, not the type
    assert problem.message == "task 'ai' uses agent 'claude', which is not available"


def test_variables_are_substituted_in_command_working_dir_and_env() -> None:
    """`${var}`, `${env.NAME}` and overrides fill command, working_dir and env, task and top."""
    text = yaml_text(
        """
        name: vars
        variables:
          target: build
          port: 8080
        working_dir: ${root}
        env:
          GLOBAL: ${target}
        tasks:
          - id: a
            command: make ${target} PORT=${port} USER=${env.GAIA_TEST_USER}
            working_dir: ${root}/sub
            env:
              MODE: ${target}-${env.GAIA_TEST_USER}
        """
    )
    loaded = load_workflow(
        text,
        source=SOURCE,
        overrides={"target": "release", "root": "/srv"},
        environ={"GAIA_TEST_USER": "ada"},
    )
    task = loaded.spec.tasks[0]
    assert task.command == "make release PORT=8080 USER=ada"
    assert task.working_dir == "/srv/sub"
    assert task.env == {"MODE": "release-ada"}
    assert loaded.spec.working_dir == "/srv"
    assert loaded.spec.env == {"GLOBAL": "release"}
    assert loaded.variables == {"target": "release", "port": "8080", "root": "/srv"}
    assert loaded.spec.variables == loaded.variables


def test_written_spec_keeps_unsubstituted_values() -> None:
    """`.written` holds the command and env as written, without variable or env values."""
    text = (
        "name: x\nvariables:\n  who: world\ntasks:\n  - id: a\n"
        "    command: echo ${who} ${env.GAIA_TEST_SECRET}\n"
        "    env:\n      KEY: ${env.GAIA_TEST_SECRET}\n"
    )
    loaded = load_workflow(text, environ={"GAIA_TEST_SECRET": "s3cret"})
    assert loaded.spec.tasks[0].command == "echo world s3cret"
    assert loaded.written.tasks[0].command == "echo ${who} ${env.GAIA_TEST_SECRET}"
    assert loaded.written.tasks[0].env == {"KEY": "${env.GAIA_TEST_SECRET}"}
    assert loaded.written.variables == {"who": "world"}
    assert loaded.text == text


def test_override_wins_over_file_variable() -> None:
    """A --var override replaces the value defined in the file."""
    text = "name: x\nvariables:\n  mode: dev\ntasks:\n  - id: a\n    command: run ${mode}\n"
    assert load_workflow(text, environ={}).spec.tasks[0].command == "run dev"
    loaded = load_workflow(text, overrides={"mode": "prod"}, environ={})
    assert loaded.spec.tasks[0].command == "run prod"
    assert loaded.written.variables == {"mode": "dev"}


def test_override_may_define_a_new_variable() -> None:
    """A --var override may supply a name the file never defines."""
    text = "name: x\ntasks:\n  - id: a\n    command: deploy ${stage}\n"
    loaded = load_workflow(text, overrides={"stage": "qa"}, environ={})
    assert loaded.spec.tasks[0].command == "deploy qa"
    assert loaded.variables == {"stage": "qa"}


def test_double_dollar_escape_produces_literal_reference() -> None:
    """`$${` becomes a literal `${` and a plain `$NAME` is left for the shell."""
    text = (
        "name: x\ntasks:\n  - id: a\n"
        "    command: 'echo $${HOME} $${env.X} $HOME ${v}'\n"
        "variables:\n  v: ok\n"
    )
    loaded = load_workflow(text, environ={})
    assert loaded.spec.tasks[0].command == "echo ${HOME} ${env.X} $HOME ok"
    assert loaded.written.tasks[0].command == "echo $${HOME} $${env.X} $HOME ${v}"


def test_environment_reference_reads_given_environ_only() -> None:
    """`${env.NAME}` resolves from the environ argument, not from the process environment."""
    text = "name: x\ntasks:\n  - id: a\n    command: echo ${env.PATH}\n"
    loaded = load_workflow(text, environ={"PATH": "/custom/bin"})
    assert loaded.spec.tasks[0].command == "echo /custom/bin"
    [problem] = problems_of(text, environ={})
    assert problem.message == "environment variable PATH is not set (referenced as ${env.PATH})"
    assert problem.hint == "export PATH=..., or write $${PATH} to leave it to the shell"


def test_numbers_and_booleans_in_env_and_variables_become_strings() -> None:
    """YAML ints, floats and booleans under env and variables are held as strings."""
    text = yaml_text(
        """
        name: x
        variables:
          port: 8080
          ratio: 1.5
          debug: true
        env:
          WORKERS: 4
        tasks:
          - id: a
            command: serve --port ${port} --ratio ${ratio} --debug ${debug}
            env:
              PORT: 8080
              VERBOSE: false
        """
    )
    loaded = load_workflow(text, environ={})
    assert loaded.variables == {"port": "8080", "ratio": "1.5", "debug": "true"}
    assert loaded.spec.env == {"WORKERS": "4"}
    assert loaded.spec.tasks[0].env == {"PORT": "8080", "VERBOSE": "false"}
    assert loaded.spec.tasks[0].command == "serve --port 8080 --ratio 1.5 --debug true"


def test_json_text_loads() -> None:
    """A workflow written as JSON loads like the same YAML."""
    text = json.dumps(
        {
            "name": "json-flow",
            "variables": {"n": 3},
            "tasks": [
                {"id": "a", "command": "echo ${n}"},
                {"id": "b", "command": "echo b", "dependencies": ["a"], "timeout": "90s"},
            ],
        },
        indent=2,
    )
    loaded = load_workflow(text, source="wf.json", environ={})
    assert loaded.spec.name == "json-flow"
    assert [t.command for t in loaded.spec.tasks] == ["echo 3", "echo b"]
    assert loaded.spec.tasks[1].dependencies == ["a"]
    assert loaded.spec.tasks[1].timeout == 90.0


def test_json_problem_is_located() -> None:
    """A problem in a JSON workflow is located at the offending list item."""
    text = (
        '{\n  "name": "j",\n  "tasks": [\n'
        '    {"id": "a", "command": "x", "dependencies": ["q"]}\n'
        "  ]\n}\n"
    )
    [problem] = problems_of(text)
    assert (problem.line, problem.column) == (4, 50)
    assert problem.message == "task 'a' depends on unknown task 'q'"


def test_durations_and_retry_are_parsed() -> None:
    """timeout and retry backoff accept human durations and hold float seconds."""
    text = yaml_text(
        """
        name: x
        tasks:
          - id: a
            command: echo
            timeout: 1h30m
            on_error: retry
            retry:
              max_attempts: 5
              backoff: {initial: 250ms, max: 10m, multiplier: 3, jitter: false}
        """
    )
    task = load_workflow(text, environ={}).spec.tasks[0]
    assert task.timeout == 5400.0
    assert task.max_attempts == 5
    assert task.backoff.initial == 0.25
    assert task.backoff.max == 600.0
    assert task.backoff.multiplier == 3.0
    assert task.backoff.jitter is False


def test_load_workflow_file_reports_unreadable_file(tmp_path: Path) -> None:
    """A missing workflow file gives one problem naming the file and the OS reason."""
    path = tmp_path / "missing.yaml"
    with pytest.raises(WorkflowValidationError) as info:
        load_workflow_file(path, environ={})
    assert [str(p) for p in info.value.problems] == [
        f"{path}: cannot read workflow file: No such file or directory"
    ]


def test_load_workflow_file_uses_path_as_source_and_base_dir(tmp_path: Path) -> None:
    """Problems from a file name its path, and a valid file's base_dir is its directory."""
    good = tmp_path / "good.yaml"
    good.write_text("name: x\ntasks:\n  - id: a\n    command: echo\n", encoding="utf-8")
    loaded = load_workflow_file(good, environ={})
    assert loaded.base_dir == tmp_path.resolve()
    assert loaded.source == str(good)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntasks:\n  - id: a\n", encoding="utf-8")
    with pytest.raises(WorkflowValidationError) as info:
        load_workflow_file(bad, environ={})
    assert str(info.value.problems[0]).startswith(f"{bad}:3:5: task #1 is missing")


def test_parse_var_overrides_splits_on_first_equals() -> None:
    """`a=b=c` keeps everything after the first `=` as the value; empty values are allowed."""
    assert parse_var_overrides(["a=b=c", " x =", "y=1"]) == {"a": "b=c", "x": "", "y": "1"}


@pytest.mark.parametrize("pair", ["novalue", "=value", "  =x"])
def test_parse_var_overrides_rejects_pairs_without_a_name_or_value(pair: str) -> None:
    """A --var without `=` or without a name raises ValueError quoting it."""
    with pytest.raises(ValueError) as info:
        parse_var_overrides([pair])
    assert str(info.value) == f"invalid --var {pair!r}: expected key=value"
