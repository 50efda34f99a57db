"""Where each task of a run sits when its DAG is drawn: a layered (Sugiyama-like) layout.

A run's definition never changes, so its layout is computed once (in a thread, by the
caller) and kept: the dashboard draws it on a canvas, left to right, one column per
layer. Layers come from networkx's ``topological_generations`` (a task sits one column
right of its latest dependency); a few barycentre sweeps order each column so that edges
cross less; each node then goes as near the mean height of its neighbours as the column
allows.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a layout is made: the CLI starts without it (~0.2 s)
    import networkx as nx

__all__ = [
    "LAYER_GAP",
    "NODE_HEIGHT",
    "NODE_WIDTH",
    "ROW_GAP",
    "GraphLayouts",
    "layout_graph",
]

NODE_WIDTH = 168  # the page draws each node as a box of this size (task ids are cut to fit)
NODE_HEIGHT = 26
LAYER_GAP = 228  # from one column's left edge to the next one's
ROW_GAP = 36  # from one node's top to the next one's, in a column
MARGIN = 20
SWEEPS = 4  # down, up, down, up: past a few, crossings hardly drop further


log = logging.getLogger("gaia.workflows")


def layout_graph(tasks: Sequence[tuple[str, Sequence[str]]]) -> dict[str, Any]:
    """Lay out ``(task id, dependency ids)`` pairs (in the definition's order).

    Returns ``{nodes: [{id, x, y, layer}], edges: [[from, to]], width, height, layers,
    node_width, node_height, row_gap, margin}``: x and y are each node's top-left corner;
    an edge goes from a dependency to its dependent. Nodes come in the definition's order.
    (A client may turn it top to bottom: layer for y, y / row_gap for the column.)
    """
    import networkx as nx

    graph: nx.DiGraph[str] = nx.DiGraph()
    order = {key: index for index, (key, _deps) in enumerate(tasks)}
    graph.add_nodes_from(order)
    edges: list[list[str]] = []
    for key, deps in tasks:
        for dep in dict.fromkeys(deps):
            if dep in order:
                graph.add_edge(dep, key)
                edges.append([dep, key])
    columns = [sorted(layer, key=order.__getitem__) for layer in nx.topological_generations(graph)]
    layer_of = {key: index for index, column in enumerate(columns) for key in column}
    _order_columns(graph, columns)
    y = _place(graph, columns)
    nodes: list[dict[str, Any]] = [
        {
            "id": key,
            "x": MARGIN + layer_of[key] * LAYER_GAP,
            "y": y[key],
            "layer": layer_of[key],
        }
        for key, _deps in tasks
    ]
    height = max(y.values(), default=0) + NODE_HEIGHT + MARGIN
    width = MARGIN * 2 + max(len(columns) - 1, 0) * LAYER_GAP + NODE_WIDTH
    return {
        "nodes": nodes,
        "edges": edges,
        "width": width,
        "height": height,
        "layers": len(columns),
        "node_width": NODE_WIDTH,
        "node_height": NODE_HEIGHT,
        "row_gap": ROW_GAP,
        "margin": MARGIN,
    }


def _order_columns(graph: nx.DiGraph[str], columns: list[list[str]]) -> None:
    """Barycentre sweeps: each node moves to the mean rank of its neighbours on the side
    swept from (a node without such neighbours keeps its rank)."""
    rank = {key: float(i) for column in columns for i, key in enumerate(column)}
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        neighbours = graph.predecessors if downward else graph.successors
        sequence = columns[1:] if downward else columns[-2::-1]
        for column in sequence:
            keys = {}
            for key in column:
                near = [rank[n] for n in neighbours(key)]
                keys[key] = sum(near) / len(near) if near else rank[key]
            column.sort(key=keys.__getitem__)  # stable: ties keep their order
            for i, key in enumerate(column):
                rank[key] = float(i)


def _place(graph: nx.DiGraph[str], columns: list[list[str]]) -> dict[str, int]:
    """Heights: the first column evenly; each next one near its dependencies' mean
    height, in column order, never closer than ROW_GAP, then shifted as a whole so that
    its nodes are on average where they want to be."""
    y: dict[str, float] = {}
    for index, column in enumerate(columns):
        if index == 0:
            for i, key in enumerate(column):
                y[key] = float(i * ROW_GAP)
            continue
        wanted = []
        for key in column:
            near = [y[n] for n in graph.predecessors(key)]
            wanted.append(sum(near) / len(near) if near else 0.0)
        placed: list[float] = []
        for want in wanted:
            placed.append(want if not placed else max(want, placed[-1] + ROW_GAP))
        shift = sum(p - w for p, w in zip(placed, wanted, strict=True)) / len(placed)
        for key, value in zip(column, placed, strict=True):
            y[key] = value - shift
    top = min(y.values(), default=0.0)
    return {key: round(value - top) + MARGIN for key, value in y.items()}


class GraphLayouts:
    """Layouts by run id, as JSON bytes ready to send; the most recent few are kept."""

    def __init__(self, load: Callable[[str], Sequence[tuple[str, Sequence[str]]]], keep: int = 8):
        self._load = load
        self._keep = keep
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        # One layout of a run at a time: a page opened twice does the work once.
        self._computing: dict[str, threading.Lock] = {}

    def get(self, run_id: str) -> bytes:
        """The run's layout as JSON (blocking: call it in a thread)."""
        with self._lock:
            if run_id in self._cache:
                self._cache.move_to_end(run_id)
                return self._cache[run_id]
            gate = self._computing.setdefault(run_id, threading.Lock())
        with gate:
            with self._lock:
                if run_id in self._cache:
                    return self._cache[run_id]
            started = time.monotonic()
            tasks = self._load(run_id)
            data = json.dumps(layout_graph(tasks), separators=(",", ":")).encode()
            log.info(
                "laid out the graph of %s (%d tasks) in %.2f s",
                run_id,
                len(tasks),
                time.monotonic() - started,
            )
            with self._lock:
                self._cache[run_id] = data
                self._computing.pop(run_id, None)
                while len(self._cache) > self._keep:
                    self._cache.popitem(last=False)
        return data
