"""The README and docs/ link only inside the repository, and every link resolves.

A link target is a file of the repository (or a directory), never a URL and never a path
that climbs out of the clone; a ``#fragment`` names a heading of the file it points to.
The route table of docs/api.md lists exactly the routes the daemon serves.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from gaia.api.app import create_app
from gaia.runtime import Runtime

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
API_PREFIX = "/api/orchestration"

# [text](target "title") and ![alt](target); the target may be wrapped in <...>.
_INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
# [label]: target
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.MULTILINE)
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+).+?\1")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")


def markdown_files() -> list[Path]:
    return [REPO / "README.md", *sorted(DOCS.glob("*.md"))]


def prose_lines(text: str, *, blank_code: bool = True) -> Iterator[tuple[int, str]]:
    """Lines outside fenced code blocks, with code spans blanked out (if asked)."""
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        opened = _FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)[0] * 3
            continue
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
            continue
        yield number, _CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line) if blank_code else line


def links(path: Path) -> list[tuple[int, str]]:
    found = []
    prose = list(prose_lines(path.read_text(encoding="utf-8")))
    for number, line in prose:
        for match in _INLINE.finditer(line):
            found.append((number, match.group(1).strip("<>")))
    text = "\n".join(line for _, line in prose)
    for match in _REFERENCE.finditer(text):
        number = text.count("\n", 0, match.start()) + 1
        found.append((prose[number - 1][0], match.group(1).strip("<>")))
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links keep their text
    text = text.replace("`", "").replace("*", "")  # code spans and emphasis
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for _, line in prose_lines(path.read_text(encoding="utf-8"), blank_code=False):
        heading = _HEADING.match(line)
        if heading is None:
            continue
        base = slug(heading.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def test_the_docs_exist_and_are_linked_from_the_readme() -> None:
    expected = {"README.md", "architecture.md", "data-model.md", "api.md", "formats.md"}
    assert expected <= {p.name for p in DOCS.glob("*.md")}
    readme_targets = {target.split("#")[0] for _, target in links(REPO / "README.md")}
    for name in sorted(expected):
        assert f"docs/{name}" in readme_targets, f"README.md does not link docs/{name}"


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_link_resolves_inside_the_repository(path: Path) -> None:
    problems = []
    for number, target in links(path):
        where = f"{path.relative_to(REPO)}:{number}: {target}"
        if _SCHEME.match(target) or target.startswith("//"):
            problems.append(f"{where}: links outside the repository")
            continue
        file_part, _, fragment = target.partition("#")
        file_part = unquote(file_part)
        if file_part.startswith("/"):
            problems.append(f"{where}: an absolute path does not resolve in a clone")
            continue
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.is_relative_to(REPO):
            problems.append(f"{where}: points outside the repository")
        elif not resolved.exists():
            problems.append(f"{where}: no such file in the repository")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            problems.append(f"{where}: no heading #{fragment} in {resolved.name}")
    assert not problems, "\n".join(problems)


def test_the_link_checker_sees_what_it_must_refuse(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "See [a](docs/api.md#errors), ![b](<img.png>), [c](https://example.org)\n"
        "`[not](a-link.md)`\n"
        "```\n[also not](x.md)\n```\n"
        "[ref]: ../outside.md\n",
        encoding="utf-8",
    )
    assert [t for _, t in links(page)] == [
        "docs/api.md#errors",
        "img.png",
        "https://example.org",
        "../outside.md",
    ]
    assert slug("On disk: `$GAIA_HOME`") == "on-disk-gaia_home"
    assert slug("config.toml") == "configtoml"


_ROUTE_ROW = re.compile(r"^\| `([A-Z]+)` \| `([^`?]+)(?:\?[^`]*)?` \|")


def documented_routes() -> set[tuple[str, str]]:
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    return {
        (m.group(1), API_PREFIX + m.group(2))
        for line in text.splitlines()
        if (m := _ROUTE_ROW.match(line))
    }


def test_the_api_route_table_lists_every_route(runtime: Runtime) -> None:
    app = create_app(runtime, close_runtime=False)
    served = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    documented = documented_routes()
    assert served - documented == set(), "routes missing from docs/api.md"
    assert documented - served == set(), "docs/api.md lists routes the daemon does not serve"
