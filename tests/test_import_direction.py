"""One direction through the house: the lower floors (records, messaging, templates, the
sequences' design time, segments, auth) never import the floors above them, and no module
imports itself back through others. They announce instead (saas/signals.py, saas/wiring.py).

Imports inside functions count (they are still arrows); `if TYPE_CHECKING:` imports don't.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {  # area -> the areas above it that it must not import
    "records": {"segments", "engine", "sequences", "worklist", "analytics", "imports"},
    "messaging": {"engine", "sequences", "segments", "worklist", "analytics"},
    "templates_": {"engine", "sequences", "segments"},
    "sequences": {"engine", "worklist", "analytics"},
    "segments": {"engine", "sequences", "worklist", "analytics"},
    "auth": {"records", "segments", "sequences", "engine", "messaging"},
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    skipped = {id(n) for node in ast.walk(tree)
               if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for n in ast.walk(node)}
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + [node.module] if node.module else base)
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module(f): f for f in sorted((ROOT / "saas").rglob("*.py"))}
    return {name: {m for m in _imports(f, name) if m in files and m != name}
            for name, f in files.items()}


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_lower_floor_imports_a_higher_one():
    graph = _graph()
    wrong = sorted(f"{src} -> {dst}" for src, targets in graph.items() for dst in targets
                   if _area(dst) in FORBIDDEN.get(_area(src), ()))
    assert wrong == [], "imports that go up the house:\n" + "\n".join(wrong)


def test_no_import_cycles():
    cycles = _cycles(_graph())
    assert cycles == [], "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_check_sees_an_arrow_up_and_a_circle(tmp_path):
    graph = {"saas.records.services": {"saas.engine.lifecycle"},
             "saas.engine.lifecycle": {"saas.engine.bulk"},
             "saas.engine.bulk": {"saas.engine.lifecycle"}}
    assert _area("saas.records.services") == "records"
    assert "engine" in FORBIDDEN["records"]
    assert _cycles(graph) == [["saas.engine.bulk", "saas.engine.lifecycle"]]
    module = tmp_path / "m.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                      "    from saas.engine import models\n"
                      "def f():\n    from saas.engine.bulk import advance_group\n")
    assert _imports(module, "saas.records.m") == {
        "typing", "typing.TYPE_CHECKING", "saas.engine.bulk", "saas.engine.bulk.advance_group"}
