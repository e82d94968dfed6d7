"""The package's layers import downward only, and no module imports another's private
(``_underscore``) name: instance → model → results → solver → report / sweep → cli."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "planner"
ORDER = {"instance": 0, "model": 1, "results": 2, "solver": 3, "report": 4, "sweep": 4, "cli": 5}
#: Private imports that predate the rule, in modules this change does not own.
KNOWN_PRIVATE = {
    ("solver/parametric.py", "planner.solver.highs", "_INF"),
    ("solver/parametric.py", "planner.solver.highs", "_cost_vector"),
    ("solver/parametric.py", "planner.solver.highs", "_run"),
    ("sweep/run.py", "planner.instance.schema", "_set_target"),
}


def imports():
    """``(module path, layer, imported module, names)`` of every import of planner."""
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        layer = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        package = ["planner", *rel.parts[:-1]]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                if module.startswith("planner"):
                    yield rel.as_posix(), layer, module, [alias.name for alias in node.names]


def test_imports_go_downward():
    upward = [(path, module) for path, layer, module, _ in imports()
              if len(module.split(".")) > 1 and ORDER.get(module.split(".")[1], -1) > ORDER.get(layer, 99)]
    assert upward == []


def test_no_private_name_is_imported_from_another_module():
    private = {(path, module, name) for path, _, module, names in imports() for name in names if name.startswith("_")}
    assert private <= KNOWN_PRIVATE, sorted(private - KNOWN_PRIVATE)
