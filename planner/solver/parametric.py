"""One model, many variants: the sweep's fast path (``planner sweep``).

A sweep changes a few numbers of one instance -- Stargate's capacity, the funding, a
contract's price -- and solves each variant. Building the Pyomo model and handing it to
HiGHS takes longer than HiGHS's own solve, so :class:`ParametricProgram` does it once:

1. Every varied field (a ``--vary`` path, MODEL.md §5's ``set`` paths) becomes a mutable
   Pyomo ``Param`` (indexed by year for a series), and the model of §2 is built once
   from the instance with those Params in place of the numbers
   (:func:`planner.model.lp.build_model`, unchanged: a Param is used where the number was).
2. The model is compiled once (:class:`planner.solver.highs.LinearProgram`), and the rows and
   objectives whose expressions hold a varied Param are found once ("touched").
3. For each variant: the Params take the variant's values (read from the validated
   variant instance, so a scaling, a scalar or a series all arrive resolved), only the
   touched rows and objectives are compiled again, the new coefficients and bounds go
   into the LP's arrays, and HiGHS solves the LP, with the second stage of the
   ``peak_cumulative_loss`` objective as :func:`planner.solver.highs.solve` runs it.

Each variant's LP goes to HiGHS whole (``passModel``, microseconds for this size), and
HiGHS starts from no basis, exactly as a fresh :func:`planner.solve` does: the rows,
columns and coefficients are those a fresh build of the variant gives (the same compiler
walks the same expressions), so a variant's answer does not depend on which variants
the same process solved before -- the sweep's output is the same with 1 job, 2 jobs or a
Dask cluster (``tests/test_sweep.py``). Warm-starting from the previous variant's basis
would save part of HiGHS's time but could pick another of several equally good plans.
``planner frontier`` (whose points form one ordered path, not an unordered set) turns it
on: ``warm`` starts each solve from the previous first stage's basis.

What needs a fresh model instead (:class:`NotParametric`, and
:func:`parametric_problem` says so before a sweep starts): a varied field the base
instance does not give (giving it adds constraints), a scenario instance, and a variant
whose numbers bring a variable into the LP that the base left out (every coefficient of
it zero in the base).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Sequence

import numpy as np
import pyomo.core as pyo
from pyomo.common.gc_manager import PauseGC
from pyomo.core.expr.visitor import identify_mutable_parameters
from pyomo.repn.linear import LinearRepnVisitor

from ..instance.paths import field_value
from ..instance.schema import Instance
from ..model.lp import build_model
from ..model.stochastic import needs_second_stage, second_stage_objective
from ..results.figures import Values, add_up
from .highs import LinearProgram, LPArrays, SolverFailure, compile_row, cost_vector, hold_first_stage, run_lp


#: LPs with more non-zeros than this are solved in HiGHS's thread, so that Ctrl-C stops
#: a long solve at once (smaller ones take milliseconds).
INTERRUPTIBLE_NONZEROS = 100_000


class NotParametric(Exception):
    """This instance or variant needs a fresh model (the reason is the message)."""


def parametric_problem(inst: Instance, paths: Sequence[str]) -> str | None:
    """Why ``inst`` cannot be re-solved with ``paths`` varied in place (None: it can)."""
    if inst.scenarios is not None:
        return "the instance has scenarios"
    for path in paths:
        value = field_value(inst, path)
        if value is None:
            return f"the instance does not give {path} (varying it adds constraints)"
        if not isinstance(value, (dict, int, float)):
            return f"{path} is not a number or a series"
    return None


class ParametricProgram:
    """The LP of ``inst`` with the fields at ``paths`` as mutable Params, built once.

    :meth:`solve` takes a validated variant instance (the same instance with other
    numbers at ``paths``) and returns the figures a sweep records.
    """

    def __init__(self, inst: Instance, paths: Sequence[str], objective: str | None = None):
        problem = parametric_problem(inst, paths)
        if problem:
            raise NotParametric(problem)
        self.instance = inst
        self.objective_name = objective or inst.objective
        self.two_stages = needs_second_stage(inst, self.objective_name)
        self.parameters = {path: _parameter(field_value(inst, path)) for path in paths}
        #: Whether :meth:`solve` keeps the row duals for :meth:`plan` (``planner app``).
        self.keep_duals = False
        #: Whether each solve starts from the previous first stage's basis (``planner
        #: frontier``: neighbouring caps share most of their basis). Off for sweeps, whose
        #: rows must not depend on the order of the variants (see the module's docstring).
        self.warm = False
        self._basis = None
        self.raw_duals: dict = {}
        with PauseGC():
            self.model = build_model(_with_parameters(inst, self.parameters), self.objective_name)
            self.lp = LinearProgram(self.model)
            # one thread per solve: HiGHS's helper threads only wait for work on an LP this
            # small, and a sweep runs one solve per core (--jobs) anyway
            self.lp.highs.setOptionValue("threads", 1)
            # a small LP solves in milliseconds: in this thread, without the hand-over to
            # HiGHS's (about 1 ms); Ctrl-C then stops the sweep when that solve ends
            self.lp.interruptible = len(self.lp.arrays.index) > INTERRUPTIBLE_NONZEROS
            self.base = self.lp.arrays
            self.n_columns = len(self.base.cost)
            self._find_touched()

    # -- once ---------------------------------------------------------------------------

    def _find_touched(self) -> None:
        """The rows, and which objectives, hold a varied Param (directly or through a
        named expression)."""
        varied = {id(data) for param in self.parameters.values() for data in param.values()}

        def touched(expr) -> bool:
            return any(id(p) in varied for p in identify_mutable_parameters(expr))

        self.touched_rows = [i for i, con in enumerate(self.lp.rows) if touched(con.expr)]
        # the compiled named expressions (loss[t], active_capacity[p,t], ...) that hold no
        # varied Param are the same for every variant: their repns are reused
        compiled = self.lp.compiled_expressions
        self.unchanged = {
            id(e): compiled[id(e)] for e in self.model.component_data_objects(pyo.Expression, descend_into=True)
            if id(e) in compiled and not touched(e)
        }
        m = self.model
        self.first_objective = m.objective.expr
        self.second_objective = second_stage_objective(m, self.instance) if self.two_stages else None
        self.touched_objectives = touched(self.first_objective) or (
            self.two_stages and touched(self.second_objective))
        self.base_second = None
        if self.two_stages and not self.touched_objectives:
            self.base_second = self.lp.linear_form(self.second_objective)

    # -- each variant -------------------------------------------------------------------

    def set_variant(self, variant: Instance) -> None:
        """Give the Params the values of ``variant`` (same fields, other numbers)."""
        for path, param in self.parameters.items():
            _store(param, field_value(variant, path))

    def _compile_variant(self) -> tuple[LPArrays, tuple | None]:
        """The LP of the current Param values -- the base with every touched row and
        objective compiled again -- and, for two stages, the second objective (cost
        vector, offset), which :meth:`solve` sets after the row ``hold_first_stage``
        (:func:`planner.solver.highs.hold_first_stage` of the LP's own objective), as
        ``planner.solver.highs.solve`` does. Raises :class:`NotParametric` when a variable
        the base LP left out would enter it."""
        base, recorder = self.base, self.lp.recorder
        known = len(recorder.index)
        walk = LinearRepnVisitor(dict(self.unchanged), var_recorder=recorder).walk_expression
        row_lower, row_upper = base.row_lower.copy(), base.row_upper.copy()
        rows = {}
        for i in self.touched_rows:
            lower, upper, columns, coefficients = compile_row(self.lp.rows[i], walk, recorder.index)
            row_lower[i], row_upper[i] = lower, upper
            rows[i] = (columns, coefficients)
        cost, offset, second = base.cost, base.offset, self.base_second
        if self.touched_objectives:
            cost, offset = self._costs(walk(self.first_objective))
            if self.two_stages:
                second = self._costs(walk(self.second_objective))
        if len(recorder.index) != known:
            _forget_columns(recorder, known)
            raise NotParametric("a variable the base plan left out enters this variant's LP")
        starts, index, value = self._matrix(rows)
        lp = replace(base, cost=cost, offset=offset, row_lower=row_lower, row_upper=row_upper,
                     starts=starts, index=index, value=value)
        return lp, second

    def _costs(self, repn) -> tuple[np.ndarray, float]:
        """A compiled objective as (cost vector by column, offset)."""
        column = self.lp.column
        return cost_vector({column[k]: c for k, c in repn.linear.items()}, self.n_columns), float(repn.constant)

    def _matrix(self, rows: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The row-wise matrix with ``rows`` ({row: (columns, coefficients)}) replaced:
        values in place when a row keeps its columns, else the arrays rebuilt."""
        starts, index = self.base.starts, self.base.index
        value = self.base.value.copy()
        rebuilt = False
        for i, (columns, coefficients) in rows.items():
            a, b = starts[i], starts[i + 1]
            if b - a == len(columns) and np.array_equal(index[a:b], columns):
                value[a:b] = coefficients
            else:
                rebuilt = True
        if not rebuilt:
            return starts, index, value
        new_starts, new_index, new_value = [0], [], []
        for i in range(len(starts) - 1):
            if i in rows:
                columns, coefficients = rows[i]
            else:
                a, b = starts[i], starts[i + 1]
                columns, coefficients = index[a:b].tolist(), value[a:b].tolist()
            new_index.extend(columns)
            new_value.extend(coefficients)
            new_starts.append(len(new_index))
        return (np.asarray(new_starts, dtype=np.int32), np.asarray(new_index, dtype=np.int32),
                np.asarray(new_value, dtype=np.float64))

    def solve(self, variant: Instance, time_limit: float | None = None) -> dict:
        """Solve ``variant``; return ``status`` and, when optimal, ``objective`` and the
        figures of :func:`planner.sweep.run.plan_outcome` (same definitions, same values)."""
        self.set_variant(variant)
        lp, second = self._compile_variant()
        self.lp.pass_model(lp)
        if self.warm and self._basis is not None:
            self.lp.highs.setBasis(self._basis)
        started = time.perf_counter()  # the time limit is the solver's, as in highs.solve
        status, value = run_lp(self.lp, time_limit, started)
        if status != "optimal":
            return {"status": status}
        if self.warm:
            self._basis = self.lp.highs.getBasis()
        if self.keep_duals:  # the first stage's, as planner.solver.highs.solve keeps them
            self.raw_duals = self.lp.duals()
        if second is not None:
            self.lp.add_row(*hold_first_stage((lp.cost, lp.offset), value))
            self.lp.set_objective(*second)
            if run_lp(self.lp, time_limit, started)[0] != "optimal":
                raise SolverFailure("error", "the second stage did not solve to optimality")
        return self.outcome(value)

    def plan(self, variant: Instance, time_limit: float | None = None):
        """Solve ``variant`` and return its full :class:`planner.results.tables.Plan` --
        tables, shadow prices and summary, as :func:`planner.solver.highs.solve` gives them
        (``planner app`` shows every variant's plan; ``tests/test_app.py`` compares)."""
        from ..results.summary import make_summary
        from ..results.tables import Plan, make_tables
        from .duals import dual_table
        from .highs import solver_name

        started = time.perf_counter()
        kept, self.keep_duals = self.keep_duals, True
        try:
            outcome = self.solve(variant, time_limit)
        finally:
            self.keep_duals = kept
        plan = Plan(instance=variant, objective=self.objective_name, status=outcome["status"],
                    solve_seconds=time.perf_counter() - started, model=self.model)
        if plan.status == "optimal":
            plan.objective_value = outcome["objective"]
            plan.tables = make_tables(self.model, variant)
            plan.duals = dual_table(self.model, variant, self.raw_duals, self.objective_name)
        plan.summary = make_summary(plan, solver_name())
        return plan

    def outcome(self, objective_value: float) -> dict:
        """The sweep's figures of the solved variant, computed as the results tables
        compute them (:mod:`planner.results`: ``finance`` and ``capacity``)."""
        m, inst = self.model, self.instance
        v = Values()
        years = inst.year_list
        losses = [v(m.loss[t]) for t in years]
        cumulative = [v(m.cumulative_loss[t]) for t in years]
        last = years[-1]
        active = {p: v(m.active_capacity[p, last]) for p in inst.providers}
        total = add_up(active.values())
        return {
            "status": "optimal",
            "objective": float(objective_value),
            "cumulative_loss": float(add_up(losses)),
            "peak_cumulative_loss": float(max(cumulative)),
            "final_cash": float(v(m.cash[last])),
            "shares": {p: (a / total if total > 1e-12 else None) for p, a in active.items()},
        }


def _parameter(value):
    """A mutable Param holding ``value``: indexed by year for a series, else scalar."""
    if isinstance(value, dict):
        param = pyo.Param(list(value), mutable=True, initialize={t: float(x) for t, x in value.items()})
    else:
        param = pyo.Param(mutable=True, initialize=float(value))
    param.construct()
    return param


def _store(param, value) -> None:
    if param.is_indexed():
        if not isinstance(value, dict) or set(value) != set(param.index_set()):
            raise NotParametric("a varied series does not cover the planning years")
        param.store_values({t: float(x) for t, x in value.items()})
    else:
        param.set_value(float(value))


def _view(param):
    """What the model reads in place of the number or series: the Param's elements."""
    return {t: param[t] for t in param.index_set()} if param.is_indexed() else param


def _with_parameters(inst: Instance, parameters: dict) -> Instance:
    """A shallow copy of ``inst`` with the field at each path replaced by its Param."""
    for path, param in parameters.items():
        inst = _replace(inst, path.split("."), _view(param))
    return inst


def _replace(obj, parts: list[str], value):
    head, rest = parts[0], parts[1:]
    if isinstance(obj, dict):
        return {**obj, head: _replace(obj[head], rest, value) if rest else value}
    new = _replace(getattr(obj, head), rest, value) if rest else value
    return obj.model_copy(update={head: new})


def _forget_columns(recorder, known: int) -> None:
    """Drop the variables a walk recorded after the first ``known`` columns."""
    for key in list(recorder.index)[known:]:
        del recorder.index[key]
        del recorder.var_map[key]
