"""Whatever a template expression does, generating fails cleanly, promptly, writing nothing.

Each bad expression is tried in a file body, a path and a variable default: the error
names the template entry and its line, and the target does not exist afterwards.
Expressions that would take minutes or gigabytes are stopped by the sandbox's limits;
``timeout`` marks guard against the hangs they used to be.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gaia.errors import ScaffoldValidationError
from gaia.scaffold.generate import GenerateOptions
from gaia.scaffold.manager import ScaffoldManager
from gaia.scaffold.plan import implicit_uses
from gaia.scaffold.registry import Template
from gaia.scaffold.render import Renderer
from gaia.scaffold.views import template_view
from tests.scaffold.conftest import MakeTemplate, snapshot, staging_dirs

# An expression, and what the error says about it.
BAD_EXPRESSIONS = [
    ("1/0", "division by zero"),
    ('"a" + 1', "can only concatenate str"),
    ("10**(3*10**6)", "number too large"),
    ("(10**4000) * (10**4000)", "number too large"),
    ("'a' * 10**10", "result too large"),
    ("[1] * 10**8", "result too large"),
    ("range(10**9)|list", "range too large: 1,000,000,000 items"),
    ("'x'|center(10**9)", "filter argument 1,000,000,000 is too large"),
    ("'ab'|replace('', 'c' * 1000000)", "result too large"),
    ("'{:>9999999999}'.format(1)", "format width 9,999,999,999 is too large"),
    ("'%09999999999d' % 1", "format width 9,999,999,999 is too large"),
    ("'%*d' % (10**9, 1)", "format width 1,000,000,000 is too large"),
    ("1e308 ** 2", "OverflowError"),
    ("'x'.__class__", "unsafe"),
    ("no_such_variable_here.attr", "undefined"),
    ("'{' ~ ", "syntax error"),
    ("9" * 5000, "ValueError: Exceeds the limit"),  # Jinja's lexer says not where
]

# Statements (not expressions) that looped for hours or built gigabytes.
BAD_STATEMENTS = [
    (
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
        "too many loop iterations",
    ),
    (
        '{% set ns = namespace(s="aa") %}{% for i in range(60) %}'
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
        "output too large",
    ),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recursion too deep"),
]


def ids(cases: list[tuple[str, str]]) -> list[str]:
    return [expression[:40] for expression, _ in cases]


def refused(
    manager: ScaffoldManager, root: Path, target: Path, given: dict[str, str] | None = None
) -> ScaffoldValidationError:
    """Generate, expecting a ScaffoldValidationError; nothing may be left at ``target``."""
    with pytest.raises(ScaffoldValidationError) as caught:
        manager.generate(str(root), target, given or {})
    assert not target.exists()
    assert staging_dirs(target.parent) == []
    return caught.value


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("expression", "expected"), BAD_EXPRESSIONS, ids=ids(BAD_EXPRESSIONS))
def test_bad_expression_in_an_inline_body_names_the_entry_and_line(
    manager: ScaffoldManager,
    make_template: MakeTemplate,
    work: Path,
    expression: str,
    expected: str,
) -> None:
    """files[1].template at its line in template.yaml; the first, good file is not written."""
    root = make_template(
        f"""
        name: t
        files:
          - path: good.txt
            template: fine
          - path: bad.txt
            template: |
              line one
              {{{{ {expression} }}}}
        """
    )
    error = refused(manager, root, work / "p")
    (problem,) = error.problems
    assert problem.message.startswith("files[1].template: "), problem.message
    assert expected in problem.message, problem.message
    assert problem.source.endswith("template.yaml")
    assert problem.line == (None if expected.startswith("ValueError") else 8)
    assert "Traceback" not in str(error)


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("statement", "expected"), BAD_STATEMENTS, ids=ids(BAD_STATEMENTS))
def test_runaway_statements_stop_with_a_clean_error(
    manager: ScaffoldManager,
    make_template: MakeTemplate,
    work: Path,
    statement: str,
    expected: str,
) -> None:
    """Nested loops, doubling strings and endless recursion end in an error, not a hang."""
    root = make_template(
        """
        name: t
        files:
          - path: bad.txt
            source: bad.txt.j2
        """,
        {"bad.txt.j2": f"first line\n{statement}\n"},
    )
    error = refused(manager, root, work / "p")
    (problem,) = error.problems
    assert problem.message.startswith("files[0].source: "), problem.message
    assert expected in problem.message, problem.message
    assert problem.source.endswith("bad.txt.j2")


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    ("expression", "expected"),
    [("1/0", "division by zero"), ("10**(3*10**6)", "number too large")],
)
def test_bad_expression_in_a_path_names_the_path_entry(
    manager: ScaffoldManager,
    make_template: MakeTemplate,
    work: Path,
    expression: str,
    expected: str,
) -> None:
    root = make_template(
        f"""
        name: t
        files:
          - path: "src/{{{{ {expression} }}}}.py"
            template: x
        """
    )
    (problem,) = refused(manager, root, work / "p").problems
    assert problem.message.startswith("files[0].path: "), problem.message
    assert expected in problem.message
    assert problem.line == 3


@pytest.mark.timeout(20)
def test_bad_variable_default_names_the_variable_and_its_line(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """A default is rendered too: its error is at the default's line, not line 1."""
    root = make_template(
        """
        name: t
        variables:
          - name: ok
            default: fine
          - name: big
            default: "{{ 10**(3*10**6) }}"
        files:
          - path: a.txt
            template: "{{ big }}"
        """
    )
    (problem,) = refused(manager, root, work / "p").problems
    assert problem.message.startswith("variables.big.default: "), problem.message
    assert "number too large" in problem.message
    assert problem.line == 6


@pytest.mark.timeout(20)
def test_bad_when_condition_names_the_entry(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    root = make_template(
        """
        name: t
        files:
          - path: a.txt
            template: x
            when: "1/0"
        """
    )
    (problem,) = refused(manager, root, work / "p").problems
    assert problem.message.startswith("files[0].when: "), problem.message
    assert "division by zero" in problem.message


@pytest.mark.timeout(20)
def test_error_in_the_last_source_file_leaves_an_existing_target_as_it_was(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """With --force into a project that exists, a failing last file changes nothing in it."""
    root = make_template(
        """
        name: t
        directories: [docs]
        files:
          - path: README.md
            template: new readme
          - path: keep.txt
            template: new keep
          - path: zzz.txt
            source: zzz.txt.j2
        """,
        {"zzz.txt.j2": "ok\nok\n{{ 1/0 }}\n"},
    )
    target = work / "p"
    target.mkdir()
    (target / "README.md").write_text("old readme")
    (target / "own.txt").write_text("mine")
    before = snapshot(target)
    with pytest.raises(ScaffoldValidationError) as caught:
        manager.generate(str(root), target, {}, options=GenerateOptions(force=True))
    (problem,) = caught.value.problems
    assert problem.message == "files[2].source: cannot render: ZeroDivisionError: division by zero"
    assert problem.line == 3
    assert snapshot(target) == before
    assert staging_dirs(work) == []


# -- the sandbox keeps working for ordinary templates -----------------------------------


def test_ordinary_expressions_render_as_before() -> None:
    """The limits are far above anything a scaffold computes."""
    renderer = Renderer({"name": "demo", "n": 3})
    text = (
        "{{ range(3)|list }} {% for i in range(n) %}{{ loop.index }}{% endfor %} "
        "{{ range(5)[1:3]|list }} {{ 2**10 }} {{ '=' * 5 }} {{ '%5s|' % name }} "
        "{{ '{:>6}|'.format(name) }} {{ name ~ '-api' }} {{ 'a b'|replace(' ', '_') }} "
        "{{ name|center(8) }}| {{ name|upper }} {{ [1, 2] + [3] }} {{ 10 // 3 }} {{ 7 % 4 }}"
    )
    assert renderer.render(text, source="t") == (
        "[0, 1, 2] 123 [1, 2] 1024 =====  demo|   demo| demo-api a_b   demo  | DEMO [1, 2, 3] 3 3"
    )


# -- listing only reads -------------------------------------------------------------------

BOMB = "{{ 10**(3*10**6) }}"


@pytest.mark.timeout(20)
def test_listing_and_showing_a_template_never_evaluates_its_expressions(
    manager: ScaffoldManager, make_template: MakeTemplate
) -> None:
    """Jinja folds constants while compiling: finding a template's variables compiled every
    body, so a body of {{ 10**(3*10**6) }} took seconds and then failed listing."""
    root = make_template(
        f"""
        name: bomb
        variables:
          - name: big
            default: "{BOMB}"
        files:
          - path: "{BOMB}.txt"
            template: "{BOMB} {{{{ undeclared_one }}}}"
          - path: b.txt
            source: b.txt
        """,
        {"b.txt": f"{BOMB}\n{'9' * 5000}\n"},
    )
    template = manager.get_template(str(root))
    assert isinstance(template, Template)
    view = template_view(template)
    assert [v.name for v in view.variables] == ["big", "undeclared_one"]
    assert view.variables[0].default == BOMB
    assert sorted(implicit_uses(template.loaded)) == ["undeclared_one"]


# -- rendered paths that cannot be written ---------------------------------------------


def test_path_rendering_to_a_nul_names_the_entry(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    """A NUL from a variable would reach open() as ValueError: refused in the plan."""
    root = make_template(
        """
        name: t
        variables:
          - name: sub
        files:
          - path: "src/{{ sub }}.py"
            template: x
        """
    )
    (problem,) = refused(manager, root, work / "p", {"sub": "a\0b"}).problems
    assert problem.message == "files[0].path: path 'src/a\\x00b.py' contains a NUL character"
    assert problem.line == 5


def test_path_with_a_name_too_long_for_the_file_system_names_the_entry(
    manager: ScaffoldManager, make_template: MakeTemplate, work: Path
) -> None:
    root = make_template(
        """
        name: t
        variables:
          - name: sub
        files:
          - path: "{{ sub }}/x"
            template: x
        """
    )
    (problem,) = refused(manager, root, work / "p", {"sub": "n" * 300}).problems
    assert problem.message.startswith("files[0].path: path 'nnn")
    assert "is over 255 bytes" in problem.message


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (
            "files:\n  - {path: a, template: x}\n  - {path: a/b, template: y}",
            "files[0].path writes the file 'a', but files[1].path needs a directory there",
        ),
        (
            "files:\n  - {path: a/b/c, template: y}\n  - {path: a/b, template: x}",
            "files[1].path writes the file 'a/b', but files[0].path needs a directory there",
        ),
        (
            "directories: [a]\nfiles:\n  - {path: a, template: x}",
            "files[0].path writes the file 'a', but directories[0] needs a directory there",
        ),
        (
            "files:\n  - {path: '{{ name }}.txt', template: x}\n  - {path: ./b.txt, template: y}",
            "files[1].path writes 'b.txt', as files[0].path does already",
        ),
    ],
    ids=["file-then-inside", "inside-then-file", "directory-and-file", "same-path"],
)
def test_entries_colliding_are_refused_before_anything_is_written(
    manager: ScaffoldManager,
    make_template: MakeTemplate,
    work: Path,
    entries: str,
    expected: str,
) -> None:
    """Two entries wanting one path: the second silently replaced the first, or the
    write failed halfway with an OSError; now both are named and nothing is written."""
    root = make_template(
        "name: t\nvariables:\n  - {name: name, default: b}\n"
        + entries
        + "\n  - {path: z-last.txt, template: z}\n"
    )
    error = refused(manager, root, work / "p")
    assert [p.message for p in error.problems] == [expected]
