"""The import rules of docs/architecture.md, checked on the source (no import is run).

Faces (cli, api, dashboard, mcp) never import one another, except where the daemon is
put together (gaia.server builds the app from api and dashboard; cli/serve.py runs it)
and where `gaia mcp` runs the MCP server (cli/mcp.py);
engines and the live read-models never import a face; shared modules and storage never
import an engine; and there are no import cycles.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
FACES = ("gaia.cli", "gaia.api", "gaia.dashboard", "gaia.mcp")
ENGINES = ("gaia.workflows", "gaia.agents", "gaia.services", "gaia.sessions", "gaia.scaffold")
# The composition root of the daemon's web app: it alone imports two faces.
COMPOSITION = {
    "gaia.server": {"gaia.api", "gaia.dashboard"},
    "gaia.cli.serve": {"gaia.server"},
    # `gaia mcp` runs the MCP face, as `gaia serve` runs the daemon's web app.
    "gaia.cli.mcp": {"gaia.mcp"},
}
ENTRY_POINT = "gaia.__main__"  # `python -m gaia` runs the CLI


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """The gaia modules a file imports, at any depth of the file (lazy imports too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "gaia" or name.startswith("gaia.")}


def all_modules() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in (SRC / "gaia").rglob("*.py")}


def within(name: str, packages: tuple[str, ...] | set[str]) -> str | None:
    return next((p for p in packages if name == p or name.startswith(p + ".")), None)


def test_a_face_never_imports_another_face() -> None:
    modules = all_modules()
    wrong = []
    for module, imported in modules.items():
        own = within(module, FACES)
        allowed = next((v for k, v in COMPOSITION.items() if module == k), set())
        for name in imported:
            face = within(name, FACES)
            checked = own is not None or module in COMPOSITION
            if checked and face and face != own and not within(name, allowed):
                wrong.append(f"{module} imports {name}")
    assert not wrong, wrong


def test_engines_and_lower_floors_never_import_a_face() -> None:
    wrong = []
    for module, imported in all_modules().items():
        if within(module, FACES) or module in COMPOSITION or module == ENTRY_POINT:
            continue
        wrong.extend(f"{module} imports {n}" for n in imported if within(n, FACES))
        if module == "gaia.server":
            continue
        wrong.extend(f"{module} imports gaia.server" for n in imported if n == "gaia.server")
    assert not wrong, wrong


def test_engines_never_import_the_runtime_or_the_live_views() -> None:
    wrong = []
    for module, imported in all_modules().items():
        if within(module, ENGINES):
            for name in imported:
                if within(name, ("gaia.runtime", "gaia.live", "gaia.server")):
                    wrong.append(f"{module} imports {name}")
    assert not wrong, wrong


def test_shared_modules_and_storage_never_import_an_engine() -> None:
    wrong = []
    for module, imported in all_modules().items():
        shared = module.startswith("gaia.storage") or module.split(".")[-1].startswith("_")
        shared = shared or module in (
            "gaia.config",
            "gaia.errors",
            "gaia.home",
            "gaia.browser_auth",
        )
        if shared and not within(module, (*ENGINES, *FACES)):
            wrong.extend(f"{module} imports {n}" for n in imported if within(n, ENGINES))
    assert not wrong, wrong


def test_there_are_no_import_cycles_between_packages() -> None:
    """Between the top-level parts (engines, faces, runtime, live, server...)."""
    modules = all_modules()

    def part(name: str) -> str:
        pieces = name.split(".")
        return ".".join(pieces[:2]) if len(pieces) > 1 else name

    graph: dict[str, set[str]] = {}
    for module, imported in modules.items():
        source = part(module)
        for name in imported:
            target = part(name)
            if target != source and target in {part(m) for m in modules}:
                graph.setdefault(source, set()).add(target)
    # Engines may use one another one way only (workflows -> agents -> sessions).
    cycles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    cycles.append(" -> ".join([*path, start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    assert not cycles, sorted(set(cycles))[:10]
