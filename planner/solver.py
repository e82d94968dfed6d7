"""Solving the model with HiGHS (through Pyomo's persistent highspy interface).

``solve(instance)`` builds the model, solves it, runs the second stage of the
``peak_cumulative_loss`` objective, and returns a :class:`~planner.results.Plan` whose
tables are filled when the plan is optimal. The plan's shadow prices (``plan.duals``,
see :mod:`planner.duals`) are the row duals of the first stage, the objective the user
chose, read before the second stage replaces it.
"""

from __future__ import annotations

import time

import pyomo.environ as pyo
from pyomo.version import version as pyomo_version
from pyomo.contrib.solver.common.results import TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

from .instance import Instance
from .duals import dual_table
from .model import add_second_stage, build_model, needs_second_stage
from .results import Plan, make_summary, make_tables

#: Decision values smaller than this (in absolute value) are written as exact zeros.
ZERO = 1e-9

_INFEASIBLE = {
    TerminationCondition.provenInfeasible,
    TerminationCondition.locallyInfeasible,
    # The LP is always bounded (MODEL.md §2), so "infeasible or unbounded" is infeasible.
    TerminationCondition.infeasibleOrUnbounded,
}


class SolverFailure(Exception):
    """The solver stopped without an answer (time limit, numerical trouble)."""

    def __init__(self, status: str, message: str):
        self.status = status
        super().__init__(message)


def solver_name() -> str:
    version = ".".join(str(x) for x in Highs().version())
    return f"HiGHS {version} (highspy, via Pyomo {pyomo_version})"


def solve(
    inst: Instance, objective: str | None = None, time_limit: float | None = None, fix: dict | None = None
) -> Plan:
    """Solve ``inst`` and return its plan; status ``optimal`` or ``infeasible``.

    ``fix`` holds decisions to take as given: ``{("c", p, k, s): capacity, ("b", p, s):
    capacity}`` (for a scenario instance, in every case). Raises :class:`SolverFailure`
    when HiGHS stops for any other reason.
    """
    objective = objective or inst.objective
    model = build_model(inst, objective)
    if fix:
        _fix_decisions(model, inst, fix)
    solver = Highs()
    started = time.perf_counter()
    raw_duals: dict = {}  # the first stage's row duals (the objective the user chose)
    status, value = _run(solver, model, time_limit, started, duals=raw_duals)
    if status == "optimal" and needs_second_stage(inst, objective):
        status = _second_stage(solver, model, inst, value, time_limit, started)
    seconds = time.perf_counter() - started
    plan = Plan(instance=inst, objective=objective, status=status, solve_seconds=seconds, model=model)
    if status == "optimal":
        _clean(model)
        plan.objective_value = value
        plan.tables = make_tables(model, inst)
        plan.duals = dual_table(model, inst, raw_duals, objective)
    plan.summary = make_summary(plan, solver_name())
    return plan


def _run(solver, model, time_limit, started, duals: dict | None = None) -> tuple[str, float | None]:
    """Solve and load the solution; when optimal and ``duals`` is given, fill it with
    HiGHS's row duals ``{ConstraintData: dual}`` (see ``planner.duals`` for their sign)."""
    remaining = None if time_limit is None else max(time_limit - (time.perf_counter() - started), 0.0)
    result = solver.solve(
        model,
        load_solutions=False,
        raise_exception_on_nonoptimal_result=False,
        time_limit=remaining,
    )
    condition = result.termination_condition
    if condition == TerminationCondition.convergenceCriteriaSatisfied:
        result.solution_loader.load_vars()
        if duals is not None:
            duals.update(result.solution_loader.get_duals())
        return "optimal", float(result.incumbent_objective)
    if condition in _INFEASIBLE:
        return "infeasible", None
    if condition == TerminationCondition.maxTimeLimit:
        raise SolverFailure("time_limit", f"the solver reached the time limit of {time_limit} s without an optimal plan")
    raise SolverFailure("error", f"the solver stopped without an optimal plan ({condition.name})")


def _second_stage(solver, model, inst, first_stage: float, time_limit, started) -> str:
    """Hold the first objective at its optimum and minimise the (expected) discounted
    cumulative loss (``planner.model.add_second_stage``)."""
    add_second_stage(model, inst, first_stage)
    status, _ = _run(solver, model, time_limit, started)
    if status != "optimal":
        raise SolverFailure("error", "the second stage did not solve to optimality")
    return status


def _fix_decisions(model, inst: Instance, fix: dict) -> None:
    blocks = [model] if inst.scenarios is None else [model.case[n] for n in model.CASES]
    for block in blocks:
        for (kind, *index), value in fix.items():
            variable = block.c if kind == "c" else block.b
            variable[tuple(index)].fix(value)


def _clean(model) -> None:
    """Round solver noise (|x| < ZERO) to exact zeros so the tables read cleanly."""
    for var in model.component_data_objects(pyo.Var):
        if var.value is not None and abs(var.value) < ZERO:
            var.set_value(0.0, skip_validation=True)


def run_elastic(model, time_limit: float | None = None) -> str:
    """Solve a diagnosis (elastic) model and load its solution; return the status."""
    status, _ = _run(Highs(), model, time_limit, time.perf_counter())
    return status
