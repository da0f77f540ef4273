"""The package is layered: imports point down only, and no module imports itself in a circle.

Layers, lowest first (``docs/ODD.md`` and the README's "Where things live" describe them):
``vocab`` < ``scenario`` < ``model`` < ``engines`` < ``results`` < ``runner``/``replay`` <
``analysis`` < ``report`` < ``cli``/``api``. Imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "sim"
LAYERS = {
    "vocab": 0,
    "scenario": 1,
    "model": 2,
    "engines": 3,
    "results": 4,
    "runner": 5,
    "replay": 5,
    "executors": 5,
    "analysis": 6,
    "report": 7,
    "app": 8,
    "cli": 9,
    "api": 9,
}


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def resolve(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_edges() -> dict[str, set[str]]:
    known = modules()
    edges: dict[str, set[str]] = {m: set() for m in known}
    for mod, path in known.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    parts = parts[: len(parts) - (node.level - 1)]
                    base = ".".join(parts + ([node.module] if node.module else []))
                names = [f"{base}.{a.name}" for a in node.names] + [base]
            for name in names:
                if not name.startswith("sim"):
                    continue
                target = resolve(name, known)
                if target and target != mod:
                    edges[mod].add(target)
    return edges


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


def test_every_module_belongs_to_a_layer():
    unplaced = sorted(m for m in modules() if m != "sim" and layer(m) is None)
    assert not unplaced, f"modules outside the declared layers: {unplaced}"


def test_imports_point_down_only():
    upward = []
    for mod, targets in import_edges().items():
        if mod == "sim":  # the package facade re-exports the notebook API lazily
            continue
        for target in targets:
            if target == "sim":
                continue  # __version__ and the numba cache key
            if layer(target) > layer(mod):
                upward.append(f"{mod} -> {target}")
    assert not upward, "imports that point up a layer:\n" + "\n".join(sorted(upward))


def test_no_import_circles():
    edges = import_edges()

    def children_of_parents_removed(a: str, b: str) -> bool:
        return a.startswith(b + ".") or b.startswith(a + ".")  # a package re-exporting a child

    graph = {m: {t for t in ts if not children_of_parents_removed(m, t)} for m, ts in edges.items()}
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                circles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert not circles, f"import circles: {circles}"


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    # the check can fail: a model module importing the runner is reported
    fake = tmp_path / "sim"
    (fake / "model").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "model" / "__init__.py").write_text("")
    (fake / "model" / "bad.py").write_text("def f():\n    from sim.runner import run_scenario\n")
    (fake / "runner.py").write_text("")
    monkeypatch.setattr(__import__(__name__, fromlist=["x"]), "PACKAGE", fake)
    monkeypatch.setattr(__import__(__name__, fromlist=["x"]), "ROOT", tmp_path)
    edges = import_edges()
    assert "sim.runner" in edges["sim.model.bad"]
    assert layer("sim.runner") > layer("sim.model.bad")
