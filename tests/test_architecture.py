"""The package's layers (docs/architecture.md): imports go down only, no cycles, and no
module imports another's private name.

Every ``import`` and ``from ... import`` in ``planner/`` is read from the source (also
the ones inside functions, which load lazily), resolved to the planner module it names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "planner"

#: The layers, lowest first: a module may import its own layer and the ones before it.
LAYERS = ("instance", "model", "results", "solver", "report", "sweep", "tradeoffs", "app", "cli", "__main__", "")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str, path: Path) -> list[tuple[str, list[str], int]]:
    """``(imported planner module, names taken from it, line)`` for each import in ``path``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    known = modules()
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(alias.name, [], node.lineno) for alias in node.names if alias.name.split(".")[0] == "planner"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "planner":
                continue
            names = [alias.name for alias in node.names]
            # ``from planner.x import y`` where y is itself a module: an import of that module
            submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in known]
            out += [(sub, [], node.lineno) for sub in submodules]
            rest = [n for n in names if f"{target}.{n}" not in known]
            if rest or not submodules:
                out.append((target, rest, node.lineno))
    return out


def layer(name: str) -> int:
    parts = name.split(".")
    return LAYERS.index(parts[1] if len(parts) > 1 else "")


def edges() -> dict[str, set[str]]:
    return {name: {target for target, _, _ in imports(name, path) if target != name}
            for name, path in modules().items()}


def test_the_layers_are_the_package_folders():
    found = {name.split(".")[1] for name in modules() if name.count(".") >= 1}
    assert found == set(LAYERS) - {""}


@pytest.mark.parametrize("name", sorted(modules()))
def test_imports_go_down_only(name):
    if name == "planner":
        return  # the notebook API on top of everything
    wrong = [f"line {line}: {target}" for target, _, line in imports(name, modules()[name]) if layer(target) > layer(name)]
    assert not wrong, f"{name} imports a higher layer: {wrong}"


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_private_name_is_imported_from_another_module(name):
    private = [f"line {line}: {target}.{n}" for target, names, line in imports(name, modules()[name])
               for n in names if n.startswith("_") and target != name]
    assert not private, f"{name} imports private names: {private}"


def test_no_import_cycle():
    graph = edges()
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_the_checker_sees_a_private_import(tmp_path):
    """The rules above would catch a violation (they do not pass for want of imports)."""
    solver = modules()["planner.solver.highs"]
    found = imports("planner.solver.highs", solver)
    assert any(target == "planner.model.lp" or target.startswith("planner.model") for target, _, _ in found)
    assert layer("planner.report.html") > layer("planner.results")
