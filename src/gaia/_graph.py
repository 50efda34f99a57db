"""Dependency graphs: cycles (one per strongly connected component) and layers.

A graph maps each task id to the ids it depends on. ``find_cycles`` reports one cycle
per strongly connected component so that a file with two independent cycles gets two
errors at once; ``layers`` gives the order a scheduler with unlimited parallelism
would follow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["find_cycles", "layers"]

Graph = Mapping[str, Sequence[str]]


def _strongly_connected(graph: Graph) -> list[list[str]]:
    """Tarjan's algorithm, iterative so that a 10,000-task chain cannot overflow the stack."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child_pos = work.pop()
            if child_pos == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = [c for c in graph.get(node, ()) if c in graph]
            recursed = False
            for pos in range(child_pos, len(children)):
                child = children[pos]
                if child not in index:
                    work.append((node, pos + 1))
                    work.append((child, 0))
                    recursed = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if recursed:
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def _cycle_through(start: str, members: set[str], graph: Graph) -> list[str]:
    """A shortest path start -> ... -> start inside one component (breadth first)."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in graph.get(node, ()):
                if child not in members:
                    continue
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    path.reverse()
                    return [*path, start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return [start, start]  # unreachable for a real component


def find_cycles(graph: Graph) -> list[list[str]]:
    """Each cycle as ``[a, b, c, a]`` meaning a depends on b, b on c, c on a.

    Cycles are listed in definition order of their first task, and each starts at the
    member of its component that comes first in ``graph``.
    """
    order = {node: i for i, node in enumerate(graph)}
    cycles = []
    for component in _strongly_connected(graph):
        if len(component) == 1:
            node = component[0]
            if node not in graph.get(node, ()):
                continue
        start = min(component, key=order.__getitem__)
        cycles.append(_cycle_through(start, set(component), graph))
    cycles.sort(key=lambda c: order[c[0]])
    return cycles


def layers(graph: Graph) -> list[list[str]]:
    """Tasks grouped by depth: layer 0 has no dependencies. Raises ValueError on a cycle."""
    remaining = {node: {d for d in deps if d in graph} for node, deps in graph.items()}
    result: list[list[str]] = []
    while remaining:
        ready = [node for node, deps in remaining.items() if not deps]
        if not ready:
            raise ValueError("graph has a cycle")
        result.append(ready)
        for node in ready:
            del remaining[node]
        done = set(ready)
        for deps in remaining.values():
            deps -= done
    return result
