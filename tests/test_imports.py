"""The import graph: no cycles between modules, and the layers import one way only.

Static (AST) so that imports inside functions count too: a lazy import still makes two modules
depend on each other. Layers (STYLE.md): ``train`` -> evaluators -> (model | host link); the
gateware imports neither the model nor the host; the host link does not import the trainer.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _graph() -> dict[str, set[str]]:
    mods: dict[str, tuple[Path, list[str]]] = {}
    for base in ("ec_hw", "host"):
        for p in (ROOT / base).rglob("*.py"):
            parts = list(p.relative_to(ROOT).with_suffix("").parts)
            pkg = parts[:-1]
            if parts[-1] == "__init__":
                parts = pkg
            mods[".".join(parts)] = (p, pkg)
    graph = {}
    for name, (p, pkg) in mods.items():
        deps = set()
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = pkg[:len(pkg) - node.level + 1] if node.level else []
                mod = ".".join(base + ([node.module] if node.module else []))
                deps.add(mod)
                deps |= {f"{mod}.{a.name}" for a in node.names}
        graph[name] = {d for d in deps if d in mods and d != name}
    return graph


GRAPH = _graph()


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_is_read():
    assert "ec_hw.train.ray_eval" in GRAPH["ec_hw.train.dispatch"]
    assert "ec_hw.gateware.framer" in GRAPH["ec_hw.gateware.dispatch"]
    assert "host.device" in GRAPH["ec_hw.train.device_backend"]


def test_no_import_cycles():
    assert _cycles(GRAPH) == []


def test_cycle_detection_can_fail():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


@pytest.mark.parametrize("layer,forbidden", [
    ("host", ("ec_hw.train", "ec_hw.model", "ec_hw.gateware", "ec_hw.cli")),
    ("ec_hw.gateware", ("ec_hw.model", "ec_hw.train", "host", "ec_hw.cli")),
    ("ec_hw.model", ("ec_hw.gateware", "ec_hw.train", "host", "ec_hw.cli")),
    ("ec_hw.protocol", ("ec_hw.model", "ec_hw.gateware", "ec_hw.train", "host")),
    ("ec_hw.coremap", ("ec_hw.gateware", "ec_hw.train", "host")),
    ("ec_hw.genome", ("ec_hw.model", "ec_hw.gateware", "ec_hw.train", "host")),
])
def test_layers_import_one_way(layer, forbidden):
    bad = [(m, d) for m, deps in GRAPH.items() if m == layer or m.startswith(layer + ".")
           for d in deps if any(d == f or d.startswith(f + ".") for f in forbidden)]
    assert bad == []
