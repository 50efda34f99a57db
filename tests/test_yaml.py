"""The shared YAML layer on hostile documents: every one a located error, quickly."""

from __future__ import annotations

import time

import pytest

from gaia._yaml import YamlSyntaxError, load_located
from gaia._yaml_build import MAX_ALIAS_NODES, MAX_DEPTH
from gaia.errors import WorkflowValidationError
from gaia.workflows.loader import load_workflow
from gaia.workflows.variables import references, substitute


def laughs(levels: int) -> str:
    """The "billion laughs" document: each level lists nine aliases of the one before."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        prev, name = chr(96 + level), chr(97 + level)
        lines.append(f"{name}: &{name} [" + ",".join(["*" + prev] * 9) + "]")
    return "\n".join(lines) + "\n"


def syntax_error(text: str) -> str:
    started = time.thread_time()
    with pytest.raises(YamlSyntaxError) as caught:
        load_located(text, "doc.yaml")
    assert time.thread_time() - started < 5, "a hostile document must fail fast (CPU)"
    return str(caught.value.problem)


def test_billion_laughs_stops_at_the_alias_that_expands_too_far() -> None:
    text = laughs(9)  # 342 bytes, 9⁹ strings once expanded
    assert len(text) < 400
    message = syntax_error(text)
    assert message.startswith("doc.yaml:5:4: aliases expand to more than")
    assert str(MAX_ALIAS_NODES) in message


def test_merge_keys_that_multiply_are_capped() -> None:
    text = "a: &a {x: 1, y: 2}\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)}\n  <<: [{', '.join(['*' + chr(97 + i)] * 9)}]\n"
        for i in range(9)
    )
    assert "aliases expand to more than" in syntax_error(text)


def test_a_few_aliases_and_merges_still_work() -> None:
    data, _, problems = load_located(
        "base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\nlist: [*b, *b]\n", "doc.yaml"
    )
    assert data["use"] == {"x": 1, "y": 3}  # an own key overrides a merged one
    assert data["list"] == [{"x": 1, "y": 2}] * 2
    assert problems == []


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("a: &a [*a]\n", "doc.yaml:1:4:"),
        ("a: &a {b: *a}\n", "doc.yaml:1:8:"),
        ("a: &a {<<: *a}\n", "doc.yaml:1:8:"),
    ],
)
def test_recursive_aliases_are_located_errors(text: str, where: str) -> None:
    message = syntax_error(text)
    assert message.startswith(where)
    assert "recursive" in message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("1: a\n1.0: b\n", "1.0"),
        ("1.0: a\n1: b\n", "1"),
        ("1: a\ntrue: b\n", "True"),
        ("null: a\n~: b\n", "'None'"),
    ],
)
def test_duplicate_keys_of_any_scalar_type_are_problems(text: str, key: str) -> None:
    _, _, problems = load_located(text, "doc.yaml")
    assert [str(p) for p in problems] == [
        f"doc.yaml:2:1: duplicate key {key} (first defined at line 1) (remove one of the two)"
    ]


def test_a_mapping_as_a_key_is_a_located_error() -> None:
    assert syntax_error("ok: 1\n? {a: 1}\n: x\n").startswith("doc.yaml:2:3: a key must be")


@pytest.mark.parametrize(
    ("text", "start", "what"),
    [
        ("n: " + "9" * 5000 + "\n", "doc.yaml:1:4: invalid int", "4300 digits"),
        ("when: 2020-13-45\n", "doc.yaml:1:7: invalid timestamp", "month"),
        ("x: !!python/object:os.system ls\n", "doc.yaml:1:4:", "constructor"),
        ("x: !!float abc\n", "doc.yaml:1:4: invalid float", "abc"),
    ],
)
def test_values_that_cannot_be_built_are_located(text: str, start: str, what: str) -> None:
    message = syntax_error(text)
    assert message.startswith(start)
    assert what in message


def test_deep_nesting_is_a_located_error() -> None:
    assert syntax_error("[" * 999 + "]" * 999).startswith(
        f"doc.yaml:1:{MAX_DEPTH + 2}: nesting deeper than {MAX_DEPTH}"
    )
    assert syntax_error("[" * 10_000).startswith("doc.yaml:1:1001: YAML syntax error")


def test_control_characters_are_located() -> None:
    message = syntax_error("a: 1\nb: x\x00y\n")
    assert message.startswith("doc.yaml:2:5: YAML syntax error: control characters")


def test_many_references_in_one_value_are_located_in_linear_time() -> None:
    # 16,000 undefined references in an 80 KB command: 40 s before (each was found again
    # from the start of the file), a fraction of a second now.
    command = "echo " + " ".join("${x}" for _ in range(16_000))
    text = f"name: q\ntasks:\n  - id: a\n    command: {command!r}\n"
    started = time.thread_time()
    with pytest.raises(WorkflowValidationError) as caught:
        load_workflow(text, source="q.yaml", environ={})
    assert time.thread_time() - started < 5
    problems = caught.value.problems
    assert len(problems) == 16_000
    assert (problems[0].line, problems[0].column) == (4, 20)
    assert (problems[-1].line, problems[-1].column) == (4, 15 + 5 * 16_000)


def test_unclosed_references_are_scanned_once() -> None:
    text = "echo ${a} " + "${" * 40_000
    started = time.thread_time()
    assert [r.raw for r in references(text)] == ["${a}"]
    assert substitute("x $${y ${z", {}, {}) == "x ${y ${z"
    assert time.thread_time() - started < 5  # 30 s before
