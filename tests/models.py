"""Solving with the Pyomo model kept (``planner.solve`` lets it go once HiGHS has the
LP), for the tests that look at the model itself."""

from __future__ import annotations

import planner
from planner.instance.schema import Instance
from planner.solver.highs import solve


def solve_keeping_model(instance, objective: str | None = None):
    """:func:`planner.solve` of ``instance`` (an Instance, a path or a mapping), whose
    plan keeps its solved model as ``plan.model``."""
    inst = instance if isinstance(instance, Instance) else planner.load_instance(instance)
    return solve(inst, objective=objective, keep_model=True)
