"""Properties of the dependency-graph helpers on random graphs."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaia.workflows.dag import find_cycles, layers

Graph = dict[str, list[str]]


def name(i: int) -> str:
    return f"t{i}"


@st.composite
def dags(draw: st.DrawFn, min_size: int = 1, max_size: int = 25) -> Graph:
    """A DAG: node i only depends on nodes j < i; dict order is a random permutation."""
    n = draw(st.integers(min_size, max_size))
    deps = [draw(st.lists(st.sampled_from(range(i)), unique=True)) if i else [] for i in range(n)]
    order = draw(st.permutations(range(n)))
    return {name(i): [name(j) for j in deps[i]] for i in order}


@st.composite
def cyclic_graphs(draw: st.DrawFn) -> Graph:
    """A DAG plus a chain k0 <- k1 <- ... <- km and the back edge k0 -> km closing it."""
    graph = draw(dags(min_size=2))
    n = len(graph)
    members = sorted(draw(st.lists(st.sampled_from(range(n)), min_size=2, unique=True)))
    for lower, upper in itertools.pairwise(members):
        if name(lower) not in graph[name(upper)]:
            graph[name(upper)].append(name(lower))
    first, last = members[0], members[-1]
    if name(last) not in graph[name(first)]:
        graph[name(first)].append(name(last))
    return graph


@st.composite
def graphs_without_self_loops(draw: st.DrawFn) -> Graph:
    """Any directed graph on up to 12 nodes, no node depending on itself."""
    n = draw(st.integers(1, 12))
    graph: Graph = {}
    for i in draw(st.permutations(range(n))):
        others = [j for j in range(n) if j != i]
        chosen = draw(st.lists(st.sampled_from(others), unique=True)) if others else []
        graph[name(i)] = [name(j) for j in chosen]
    return graph


def reachable(graph: Graph) -> dict[str, set[str]]:
    """Brute-force transitive closure: node -> every node reachable by one or more edges."""
    out: dict[str, set[str]] = {}
    for start in graph:
        seen: set[str] = set()
        todo = list(graph[start])
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            todo.extend(graph[node])
        out[start] = seen
    return out


def cyclic_components(graph: Graph) -> list[frozenset[str]]:
    """Strongly connected components that contain a cycle, computed by brute force."""
    reach = reachable(graph)
    components = {
        frozenset({node} | {other for other in reach[node] if node in reach[other]})
        for node in graph
        if node in reach[node]
    }
    return sorted(components, key=sorted)


def assert_real_cycle(graph: Graph, cycle: list[str]) -> None:
    assert len(cycle) >= 2
    assert cycle[0] == cycle[-1]
    assert len(set(cycle[:-1])) == len(cycle) - 1, f"not a simple cycle: {cycle}"
    for node, dep in itertools.pairwise(cycle):
        assert dep in graph[node], f"{node} -> {dep} is not an edge of {graph}"


@given(dags())
def test_dag_has_no_cycles(graph: Graph) -> None:
    """find_cycles reports nothing for a graph whose edges all point to earlier nodes."""
    assert find_cycles(graph) == []


@given(dags())
def test_layers_order_every_node_after_its_dependencies(graph: Graph) -> None:
    """layers covers each node exactly once and puts it one layer after its deepest dependency."""
    result = layers(graph)
    flat = [node for layer in result for node in layer]
    assert sorted(flat) == sorted(graph)
    assert len(flat) == len(set(flat))
    depth = {node: i for i, layer in enumerate(result) for node in layer}
    for node, deps in graph.items():
        expected = 1 + max((depth[d] for d in deps), default=-1)
        assert depth[node] == expected, (node, deps, result)


@given(cyclic_graphs())
def test_injected_back_edge_is_found_as_a_real_closed_path(graph: Graph) -> None:
    """A back edge produces at least one cycle, and every cycle is a closed path of real edges."""
    cycles = find_cycles(graph)
    assert cycles
    for cycle in cycles:
        assert_real_cycle(graph, cycle)


@given(graphs_without_self_loops())
def test_layers_raises_exactly_when_find_cycles_finds_one(graph: Graph) -> None:
    """layers raises ValueError if and only if find_cycles reports a cycle."""
    cycles = find_cycles(graph)
    if cycles:
        with pytest.raises(ValueError, match="graph has a cycle"):
            layers(graph)
    else:
        assert sum(len(layer) for layer in layers(graph)) == len(graph)


@given(graphs_without_self_loops())
@settings(max_examples=300)
def test_one_cycle_per_cyclic_component(graph: Graph) -> None:
    """find_cycles reports one real cycle per strongly connected component, from its first node."""
    cycles = find_cycles(graph)
    components = cyclic_components(graph)
    assert len(cycles) == len(components)
    order = list(graph)
    by_component = sorted((next(c for c in components if cycle[0] in c), cycle) for cycle in cycles)
    for component, cycle in by_component:
        assert_real_cycle(graph, cycle)
        assert set(cycle) <= component
        assert cycle[0] == min(component, key=order.index)
    starts = [order.index(cycle[0]) for cycle in cycles]
    assert starts == sorted(starts)


def test_two_disjoint_cycles_are_both_reported() -> None:
    """Two independent cycles give two cycles, in definition order of their first task."""
    graph = {
        "a": ["b"],
        "b": ["a"],
        "x": ["a"],
        "c": ["d"],
        "d": ["e"],
        "e": ["c"],
    }
    assert find_cycles(graph) == [["a", "b", "a"], ["c", "d", "e", "c"]]


def test_self_loop_is_a_cycle_of_one() -> None:
    """A node depending on itself is reported as [n, n]."""
    assert find_cycles({"a": [], "n": ["n"]}) == [["n", "n"]]
    with pytest.raises(ValueError, match="graph has a cycle"):
        layers({"a": [], "n": ["n"]})


def test_cycle_reported_is_shortest_from_first_node() -> None:
    """Within a component the reported cycle is a shortest one through its first node."""
    graph = {"a": ["b", "d"], "b": ["c"], "c": ["a"], "d": ["a"]}
    assert find_cycles(graph) == [["a", "d", "a"]]


def test_unknown_dependencies_are_ignored() -> None:
    """Edges to nodes missing from the graph neither form cycles nor block layering."""
    graph = {"a": ["ghost"], "b": ["a", "ghost"]}
    assert find_cycles(graph) == []
    assert layers(graph) == [["a"], ["b"]]


def test_layers_groups_independent_tasks() -> None:
    """Tasks with no mutual dependencies share a layer, in definition order."""
    graph = {"test": ["backend", "frontend"], "backend": [], "frontend": [], "deploy": ["test"]}
    assert layers(graph) == [["backend", "frontend"], ["test"], ["deploy"]]


def test_long_chain_does_not_overflow_recursion() -> None:
    """A 5,000-node dependency chain is walked without exceeding the recursion limit."""
    n = 5_000
    chain = {name(i): ([name(i + 1)] if i + 1 < n else []) for i in range(n)}
    assert find_cycles(chain) == []
    result = layers(chain)
    assert len(result) == n
    assert result[0] == [name(n - 1)]
    assert result[-1] == [name(0)]


def test_long_cycle_is_reported_in_full() -> None:
    """A 5,000-node ring is one cycle listing every node and closing on the first."""
    n = 5_000
    ring = {name(i): [name((i + 1) % n)] for i in range(n)}
    assert find_cycles(ring) == [[*(name(i) for i in range(n)), name(0)]]
