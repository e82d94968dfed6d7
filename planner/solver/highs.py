"""Solving the model with HiGHS: the Pyomo model compiled to a matrix, handed to highspy.

``solve(instance)`` builds the model, solves it, runs the second stage of the
``peak_cumulative_loss`` objective, and returns a :class:`~planner.results.tables.Plan` whose
tables are filled when the plan is optimal. The plan's shadow prices (``plan.duals``,
see :mod:`planner.solver.duals`) are the row duals of the first stage, the objective the user
chose, read before the second stage replaces it.

The hand-off (:class:`LinearProgram`). The Pyomo model stays the single statement of
the LP; what reaches HiGHS is compiled from it by Pyomo's linear compiler
(``pyomo.repn.linear.LinearRepnVisitor``, the engine of Pyomo's LP, NL and
standard-form writers), which walks each named expression once and reuses it in every
row that refers to it. Rows and columns go to HiGHS in one ``passModel`` call, as
arrays. What the compiler does per non-zero beyond that walk is done once for the
whole matrix, by numpy: the variables' ids become column numbers, and coefficients
that cancel to zero are dropped (Pyomo's compiler scanned every row for them). Measured against the alternatives Pyomo offers (``benchmarks/scale.py
--handoff``, README "Performance"): Pyomo's persistent ``contrib.solver`` HiGHS
interface and ``appsi_highs`` walk every row twice (once to collect its variables and
named expressions for later updates, once for its coefficients), re-reading every named
expression in every row that refers to it, and keep per-variable and per-constraint
bookkeeping: five to six times slower, more than HiGHS's own solve; the standard-form
compiler (``pyomo.repn.plugins.standard_form``) uses the same walk as here but imports
SciPy (0.5 s more for every solve) and puts the objective's columns first.

The LP is the one the persistent interface built before: columns in the order variables
first appear in the constraints (then the objective's), rows in the model's constraint
order, a row ``lower ≤ body ≤ upper`` with the body's constant moved into the bounds, so
HiGHS's row duals keep the sign convention :mod:`planner.solver.duals` documents. Coefficients
that add up several terms can differ in the last bit (the two walks add in another
order). Like the persistent interface it stays alive for the second stage: the new row
and objective are added to the same HiGHS model, which starts from the first stage's
basis.

When HiGHS's simplex stops undecided (model status "Unknown", seen on numerically hard
but not badly scaled LPs), the LP is solved again from scratch with the interior point
method and crossover before anything is reported (``tests/test_limits.py``).
"""

from __future__ import annotations

import gc
import time
from array import array
from contextlib import contextmanager
from dataclasses import dataclass

import highspy
import numpy as np
import pyomo.core as pyo  # not pyomo.environ: see planner.model
from pyomo.common.gc_manager import PauseGC
from pyomo.repn.linear import LinearRepnVisitor
from pyomo.version import version as pyomo_version

from ..instance.schema import Instance
from .duals import dual_table_of_rows, label_rows
from ..model.lp import build_model
from ..model.stochastic import add_second_stage, first_stage_hold, needs_second_stage, second_stage_objective
from ..results.figures import FigureProgram
from ..results.summary import make_summary
from ..results.tables import Plan, plan_blocks, tables_of_figures

#: Decision values smaller than this (in absolute value) are written as exact zeros.
ZERO = 1e-9

#: HiGHS's infinity: a missing bound.
INF = highspy.kHighsInf
_STATUS = highspy.HighsModelStatus
# The LP is always bounded (MODEL.md §2), so "infeasible or unbounded" is infeasible.
_INFEASIBLE = {_STATUS.kInfeasible, _STATUS.kUnboundedOrInfeasible}


class SolverFailure(Exception):
    """The solver stopped without an answer (time limit, numerical trouble)."""

    def __init__(self, status: str, message: str):
        self.status = status
        super().__init__(message)


def solver_name() -> str:
    version = f"{highspy.HIGHS_VERSION_MAJOR}.{highspy.HIGHS_VERSION_MINOR}.{highspy.HIGHS_VERSION_PATCH}"
    return f"HiGHS {version} (highspy, via Pyomo {pyomo_version})"


# --------------------------------------------------------------------------------------
# The hand-off
# --------------------------------------------------------------------------------------


class _QuietHighs(highspy.Highs):
    """``highspy.Highs`` with its output off before its callbacks start, so that no
    banner reaches stdout (Pyomo's interface captured it instead), and with
    ``HandleKeyboardInterrupt`` on, as Pyomo's interface set it: :meth:`run_interruptibly`
    stops the solve at HiGHS's next check on Ctrl-C, then raises KeyboardInterrupt."""

    def __init__(self):
        highspy.highs._Highs.__init__(self)
        self.setOptionValue("output_flag", False)
        callback = highspy.highs.cb
        self.callbacks = [
            highspy.highs.HighsCallback(callback.HighsCallbackType(i), self)
            for i in range(int(callback.HighsCallbackType.kCallbackMax) + 1)
        ]
        self.enableCallbacks()
        self.HandleKeyboardInterrupt = True

    def run_interruptibly(self) -> None:
        """Solve in HiGHS's solver thread while this one waits, so that Ctrl-C (SIGINT,
        SIGTERM where it raises KeyboardInterrupt) cancels the solve promptly and is
        raised once HiGHS has stopped."""
        self.startSolve()
        try:
            while not self.wait(0.05)[0]:
                pass
        except KeyboardInterrupt:
            self.cancelSolve()
            while True:
                try:
                    if self.wait(0.05)[0]:
                        break
                except KeyboardInterrupt:
                    pass  # a second Ctrl-C while HiGHS stops
            raise


def dismantle(model) -> None:
    """Break the reference cycles of a Pyomo model no longer needed, so that reference
    counting frees it the moment the last reference goes instead of the cyclic collector
    after scanning all of it (0.15 s instead of 0.35 s at a million non-zeros). Each scalar
    component (the model, ``discounted_loss``, a case's ``plan_objective``, ...) is its
    own one element (Pyomo's ``_data = {None: self}``), and the scalar expressions hold
    trees that hold the variables; the rest refers one way (a component's elements point
    back at it weakly). Whatever cycle Pyomo adds later is left to the collector
    (``tests/test_figures.py`` checks that none is). The model is unusable afterwards."""
    for component in model.component_objects(descend_into=True):
        if not component.is_indexed():
            component._data = {}
    model._data = {}


def new_highs() -> highspy.Highs:
    """A ``highspy.Highs`` without its banner, whose solve Ctrl-C stops (as the LP's)."""
    return _QuietHighs()


class _Columns:
    """Pyomo's variable recorder, keeping the order in which variables are first met
    (Pyomo's own recorders add a whole indexed variable at once)."""

    def __init__(self):
        self.var_map: dict[int, object] = {}  # id(VarData) -> VarData, in column order
        self.index: dict[int, int] = {}  # id(VarData) -> column

    def add(self, var) -> None:
        # Pyomo's compiler calls this only for a variable not yet in var_map
        key = id(var)
        self.index[key] = len(self.var_map)
        self.var_map[key] = var


class _RowVisitor(LinearRepnVisitor):
    """Pyomo's linear compiler, leaving the zero coefficients of a compiled expression in
    place: :meth:`LinearProgram._compile_rows` drops them from the whole matrix at once,
    and a cost vector holds zeros anyway."""

    def _filter_zeros(self, ans) -> None:
        pass


@dataclass
class LPArrays:
    """An LP as HiGHS takes it: minimise ``cost·x + offset`` subject to
    ``column_lower ≤ x ≤ column_upper`` and ``row_lower ≤ A x ≤ row_upper``, ``A`` row-wise
    (row ``i``'s entries are ``index``/``value`` from ``starts[i]`` to ``starts[i+1]``)."""

    cost: np.ndarray
    offset: float
    column_lower: np.ndarray
    column_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    starts: np.ndarray
    index: np.ndarray
    value: np.ndarray


class LinearProgram:
    """The active constraints and objective of a Pyomo model, compiled once and held by
    one ``highspy.Highs`` object.

    ``columns[j]`` is the variable of column ``j``, ``rows[i]`` the constraint of row
    ``i``. :meth:`solve` runs HiGHS and loads the values into the model's variables;
    :meth:`duals` gives ``{ConstraintData: row dual}``; :meth:`sync` adds constraints and
    variables that appeared in the model since, and takes its active objective.
    """

    #: Solve in HiGHS's own thread so that Ctrl-C stops it at once (see
    #: :meth:`_QuietHighs.run_interruptibly`); the hand-over costs about a millisecond,
    #: which a caller solving many tiny LPs may save (:mod:`planner.solver.parametric`).
    interruptible = True

    def __init__(self, model):
        with PauseGC():  # many small objects, none of them garbage (see build_model)
            self._compile(model)

    def _compile(self, model) -> None:
        self.model = model
        self._recorder = _Columns()
        self._visitor = _RowVisitor({}, var_recorder=self._recorder)
        self.columns: list = []
        self.rows: list = []
        self.row_of: dict = {}
        self.objective = None
        self.message = ""  # HiGHS's model status after the last solve
        self.highs = _QuietHighs()
        rows = self._compile_rows(self._new_constraints())
        objective = self._active_objective()
        cost, offset = self._compile_objective(objective)
        self.objective = objective
        self.columns = list(self._recorder.var_map.values())
        n = len(self.columns)
        lower, upper = self._bounds(self.columns)
        row_lower, row_upper, starts, index, value = rows
        self.arrays = LPArrays(
            cost_vector(cost, n), offset, lower, upper, row_lower, row_upper,
            np.append(np.asarray(starts, dtype=np.int32), np.int32(len(index))), np.asarray(index, dtype=np.int32),
            np.asarray(value, dtype=np.float64),
        )
        status = self.pass_model(self.arrays)
        if status == highspy.HighsStatus.kError:
            raise SolverFailure("error", "HiGHS did not accept the model")

    @property
    def column(self) -> dict[int, int]:
        """``{id(VarData): column}`` of every variable that is a column of the LP."""
        return self._recorder.index

    @property
    def compiled_expressions(self) -> dict:
        """The compiler's cache of the named expressions it walked (``{id(Expression):
        compiled}``); a walk given it (``LinearRepnVisitor(cache, ...)``) reuses them."""
        return self._visitor.subexpression_cache

    @property
    def recorder(self):
        """The compiler's record of the columns (``index``: ``{id(VarData): column}``); a
        walk given it (``LinearRepnVisitor(..., var_recorder=lp.recorder)``) numbers the
        variables as the LP does, and a new variable as a new column."""
        return self._recorder

    def pass_model(self, a: "LPArrays"):
        """Hand HiGHS the LP ``a`` (replacing any model it held, and its basis)."""
        n = len(a.cost)
        return self.highs.passModel(
            n, len(a.row_lower), len(a.index), int(highspy.MatrixFormat.kRowwise), int(highspy.ObjSense.kMinimize),
            a.offset, a.cost, a.column_lower, a.column_upper, a.row_lower, a.row_upper,
            a.starts[:-1], a.index, a.value, np.zeros(n, dtype=np.int32),  # all continuous
        )

    # -- compiling ----------------------------------------------------------------------

    def _new_constraints(self) -> list:
        return [
            con for con in self.model.component_data_objects(pyo.Constraint, active=True, descend_into=True)
            if con not in self.row_of
        ]

    def _active_objective(self):
        objectives = list(self.model.component_data_objects(pyo.Objective, active=True, descend_into=True))
        if len(objectives) != 1:
            raise ValueError(f"the model has {len(objectives)} active objectives; expected one")
        if objectives[0].sense != pyo.minimize:
            raise ValueError("only minimisation is supported")
        return objectives[0]

    def _compile_rows(self, constraints: list):
        """The rows of ``constraints`` as arrays: bounds and the row-wise matrix.

        :func:`walk_row` for each constraint, with the zero coefficients (a
        coefficient that cancels out) dropped once for the whole matrix, by numpy, where
        Pyomo's compiler would scan every row's terms for them (``_RowVisitor``)."""
        walk = self._visitor.walk_expression
        row_lower, row_upper = array("d"), array("d")
        # machine numbers, not Python objects: a million non-zeros take 12 MB, not 70;
        # ``index`` holds the variables' ids until all are columns (mapped by numpy below)
        starts, index, value = array("q"), array("q"), array("d")
        for con in constraints:
            lower, upper, linear = walk_row(con, walk)
            starts.append(len(index))
            index.extend(linear)
            value.extend(linear.values())
            row_lower.append(lower)
            row_upper.append(upper)
            self.row_of[con] = len(self.rows)
            self.rows.append(con)
        starts, index, value = _drop_zeros(np.asarray(starts, dtype=np.int64), self._columns_of(index),
                                           np.asarray(value, dtype=np.float64))
        return (np.asarray(row_lower, dtype=np.float64), np.asarray(row_upper, dtype=np.float64),
                starts, index, value)

    def _columns_of(self, ids) -> np.ndarray:
        """The columns of the variables whose ``id`` are ``ids`` (all recorded), at once."""
        column = self._recorder.index
        known = np.fromiter(column.keys(), dtype=np.int64, count=len(column))
        order = np.argsort(known)
        ids = np.asarray(ids, dtype=np.int64)
        at = np.searchsorted(known[order], ids)
        return np.fromiter(column.values(), dtype=np.int64, count=len(column))[order][at]

    def _compile_objective(self, objective) -> tuple[dict[int, float], float]:
        repn = self._visitor.walk_expression(objective.expr)
        if repn.nonlinear is not None:
            raise ValueError(f"{objective.name} is not linear")
        column = self._recorder.index
        return {column[key]: coef for key, coef in repn.linear.items()}, float(repn.constant)

    @staticmethod
    def _bounds(columns: list) -> tuple[np.ndarray, np.ndarray]:
        lower = np.empty(len(columns))
        upper = np.empty(len(columns))
        unbounded = {}  # id(domain) -> whether the domain adds no bound (Reals)
        for j, var in enumerate(columns):
            lb, ub, domain = var._lb, var._ub, var._domain
            free = unbounded.get(id(domain))
            if free is None:
                free = unbounded[id(domain)] = domain.bounds() == (None, None)
            # the common case, a number or nothing on a real variable, read directly;
            # anything else (a Param, an infinite number, an integer domain) as Pyomo says
            if free and (lb is None or (lb.__class__ in _FINITE and -INF < lb < INF)) and (
                    ub is None or (ub.__class__ in _FINITE and -INF < ub < INF)):
                lower[j] = -INF if lb is None else lb
                upper[j] = INF if ub is None else ub
            else:
                lb, ub = var.bounds
                lower[j] = -INF if lb is None else lb
                upper[j] = INF if ub is None else ub
        return lower, upper

    def sync(self) -> None:
        """Bring HiGHS up to date with the model: add its new constraints (as rows at the
        end, with any new variables as columns) and take its active objective."""
        new = self._new_constraints()
        rows = self._compile_rows(new) if new else None
        objective = self._active_objective()
        cost, offset = self._compile_objective(objective)
        added = list(self._recorder.var_map.values())[len(self.columns):]
        if added:
            lower, upper = self._bounds(added)
            self.highs.addVars(len(added), lower, upper)
            self.columns += added
        if rows is not None:
            row_lower, row_upper, starts, index, value = rows
            self.highs.addRows(len(row_lower), row_lower, row_upper, len(index), np.asarray(starts, dtype=np.int32),
                               np.asarray(index, dtype=np.int32), np.asarray(value, dtype=np.float64))
        n = len(self.columns)
        self.highs.changeColsCost(n, np.arange(n, dtype=np.int32), cost_vector(cost, n))
        self.highs.changeObjectiveOffset(offset)
        self.objective = objective

    # -- solving ------------------------------------------------------------------------

    def solve(self, time_limit: float | None = None, zero: float = 0.0) -> tuple[str, float | None]:
        """Run HiGHS and return ``(status, objective)``: ``"optimal"`` (the values loaded
        into the variables, those below ``zero`` in absolute value as exact zeros),
        ``"infeasible"``, ``"time_limit"``, or ``"error"`` with HiGHS's status in
        :attr:`message`."""
        started = time.perf_counter()
        self.highs.setOptionValue("time_limit", INF if time_limit is None else max(time_limit, 0.0))
        self._run()
        status = self.highs.getModelStatus()
        if status == _STATUS.kNotset and self.highs.getOptionValue("threads") != 0:
            # HiGHS's thread pool is shared by the process and sized once: a later
            # ``threads`` that differs makes HiGHS refuse to run. Use the pool as it is.
            self.highs.setOptionValue("threads", 0)
            self._run()
            status = self.highs.getModelStatus()
        if status == _STATUS.kUnknown:
            status = self._rerun_with_interior_point(time_limit, started)
        self.message = self.highs.modelStatusToString(status)
        if status == _STATUS.kOptimal:
            if self.model is not None:
                self.load(self.solution(zero))
            return "optimal", float(self.highs.getInfo().objective_function_value)
        if status in _INFEASIBLE:
            return "infeasible", None
        if status == _STATUS.kTimeLimit:
            return "time_limit", None
        return "error", None

    def load(self, values: np.ndarray) -> None:
        """Give the model's variables the values of the columns (:meth:`solution`)."""
        for var, x in zip(self.columns, values.tolist()):
            var.set_value(x, skip_validation=True)

    def _run(self) -> None:
        if self.interruptible:
            self.highs.run_interruptibly()
        else:
            self.highs.run()

    def _rerun_with_interior_point(self, time_limit: float | None, started: float):
        """HiGHS's simplex can stop undecided ("Unknown") on a numerically hard LP, e.g.
        an efficiency a million times smaller than its neighbours' with a 100 % share
        required: solve again from scratch with the interior point method (and
        crossover, so the answer is a vertex with duals), then return to the default."""
        left = None if time_limit is None else max(time_limit - (time.perf_counter() - started), 0.0)
        self.highs.setOptionValue("time_limit", INF if left is None else left)
        self.highs.clearSolver()
        self.highs.setOptionValue("solver", "ipm")
        try:
            self._run()
        finally:
            self.highs.setOptionValue("solver", "choose")
        return self.highs.getModelStatus()

    # -- other objectives over the same rows (planner frontier / alternatives) ------------

    def linear_form(self, expr) -> tuple[np.ndarray, float]:
        """``expr`` (linear in the model's variables) as ``(coefficients by column,
        constant)``, compiled by the same walk as the rows. Raises ValueError when it holds
        a variable that no row or objective of the LP has (it could take any value)."""
        known = len(self._recorder.index)
        repn = self._visitor.walk_expression(expr)
        if repn.nonlinear is not None:
            raise ValueError("the expression is not linear")
        if len(self._recorder.index) != known:
            raise ValueError("the expression holds a variable that is in no row of the LP")
        column = self._recorder.index
        return cost_vector({column[k]: c for k, c in repn.linear.items()}, len(self.columns)), float(repn.constant)

    def add_row(self, lower: float, coefficients: np.ndarray, upper: float) -> None:
        """Add the row ``lower ≤ coefficients·x ≤ upper`` (dense coefficients by column)."""
        index = np.flatnonzero(coefficients).astype(np.int32)
        self.highs.addRow(lower, upper, len(index), index, coefficients[index].astype(np.float64))

    def solution(self, zero: float = 0.0) -> np.ndarray:
        """The column values of the last solve (those below ``zero`` in absolute value as
        exact zeros)."""
        values = np.array(self.highs.getSolution().col_value, dtype=np.float64)
        if zero > 0:
            values[np.abs(values) < zero] = 0.0
        return values

    def release_model(self) -> None:
        """Let go of the Pyomo model and the compiler's structures: from now on the LP is
        HiGHS's alone (and :attr:`arrays`). :meth:`solve` then loads no values (there are
        no variables), and what needs the model (:meth:`sync`, :meth:`duals`,
        :meth:`row_duals`, :meth:`coefficient`, :meth:`linear_form`) is no longer
        available; the rest is."""
        self.model = self.objective = None
        self.columns = self.rows = self.row_of = None
        # The compiler's structures refer to one another: emptied, they no longer hold
        # the variables and named expressions for the cyclic collector to find.
        self._recorder.var_map.clear()
        self._recorder.index.clear()
        self._visitor.subexpression_cache.clear()
        self._visitor = self._recorder = None

    @contextmanager
    def columns_fixed(self, columns: np.ndarray, values: np.ndarray):
        """Within the block, the ``columns`` are fixed at ``values``; then their bounds
        are the LP's own again."""
        columns = np.asarray(columns, dtype=np.int32)
        self.highs.changeColsBounds(len(columns), columns, np.asarray(values, dtype=np.float64),
                                    np.asarray(values, dtype=np.float64))
        try:
            yield
        finally:
            a = self.arrays
            self.highs.changeColsBounds(len(columns), columns, a.column_lower[columns], a.column_upper[columns])

    @contextmanager
    def row_added(self, lower: float, coefficients: np.ndarray, upper: float):
        """Within the block, the LP has the row ``lower ≤ coefficients·x ≤ upper`` last."""
        self.add_row(lower, coefficients, upper)
        row = self.highs.getNumRow() - 1
        try:
            yield
        finally:
            self.highs.deleteRows(1, np.array([row], dtype=np.int32))

    def set_objective(self, cost: np.ndarray, offset: float = 0.0) -> None:
        """Minimise ``cost·x + offset`` from now on (the rows and the basis stay)."""
        n = len(self.arrays.cost)
        self.highs.changeColsCost(n, np.arange(n, dtype=np.int32), np.asarray(cost, dtype=np.float64))
        self.highs.changeObjectiveOffset(offset)

    def duals(self) -> dict:
        """HiGHS's row duals ``{ConstraintData: dual}`` of the last optimal solve (see
        ``planner.solver.duals`` for their sign)."""
        return dict(zip(self.rows, self.highs.getSolution().row_dual))

    def coefficient(self, i: int, var) -> float:
        """The coefficient of ``var`` in row ``i`` as compiled (0 when absent)."""
        return compiled_coefficient(self.arrays, self._recorder.index, i, var)

    def row_dual(self) -> np.ndarray:
        """HiGHS's row duals of the last optimal solve, by row."""
        return np.asarray(self.highs.getSolution().row_dual, dtype=np.float64)

    def row_duals(self) -> "RowDuals":
        """The row duals of the last optimal solve, by row, with what
        :func:`planner.solver.duals.dual_table` needs to read them without walking the
        model again: the rows' constraints and each row's coefficients as compiled."""
        return RowDuals(list(self.rows), self.row_dual(), self.arrays, self._recorder.index)


@dataclass
class RowDuals:
    """Row duals of a solve (``dual[i]`` of the constraint ``rows[i]``) and the compiled
    rows they belong to (:class:`LPArrays`, columns by ``id(VarData)`` in ``column``)."""

    rows: list
    dual: np.ndarray
    arrays: LPArrays
    column: dict

    def coefficient(self, i: int, var) -> float:
        """The coefficient of ``var`` in row ``i`` as HiGHS has it (0 when absent)."""
        return compiled_coefficient(self.arrays, self.column, i, var)


def compiled_coefficient(a: LPArrays, column: dict, i: int, var) -> float:
    """The coefficient of ``var`` in row ``i`` of ``a`` (columns by ``id(VarData)`` in
    ``column``), 0 when absent."""
    j = column.get(id(var))
    start, end = int(a.starts[i]), int(a.starts[i + 1])
    hits = np.flatnonzero(a.index[start:end] == j) if j is not None else ()
    return float(a.value[start + hits[0]]) if len(hits) else 0.0


def walk_row(con, walk) -> tuple[float, float, dict]:
    """One constraint as ``lower ≤ Σ coefficient·variable ≤ upper``: its bounds (the body's
    constant moved into them) and ``{id(VarData): coefficient}``. ``walk`` is a
    ``LinearRepnVisitor``'s ``walk_expression``."""
    lb, body, ub = con.to_bounded_expression(evaluate_bounds=True)
    repn = walk(body)
    if repn.nonlinear is not None:
        raise ValueError(f"{con.name} is not linear")
    constant = repn.constant
    return -INF if lb is None else lb - constant, INF if ub is None else ub - constant, repn.linear


def compile_row(con, walk, column: dict) -> tuple[float, float, list[int], list[float]]:
    """:func:`walk_row` with the variables as columns: its bounds, its columns and their
    coefficients; ``column`` is the ``{id(VarData): column}`` of the walk's recorder."""
    lower, upper, linear = walk_row(con, walk)
    return lower, upper, list(map(column.__getitem__, linear)), list(linear.values())


def _drop_zeros(starts: np.ndarray, index: np.ndarray, value: np.ndarray):
    """The row-wise matrix (``starts`` one per row) without its zero values."""
    keep = value != 0  # NaN is kept, as Pyomo keeps it
    if keep.all():
        return starts, index, value
    dropped = np.concatenate(([0], np.cumsum(~keep)))
    return starts - dropped[starts], index[keep], value[keep]


_FINITE = {int, float}


def cost_vector(cost: dict[int, float], n: int) -> np.ndarray:
    """The dense cost vector of ``n`` columns from ``{column: cost}``."""
    vector = np.zeros(n)
    if cost:
        vector[np.fromiter(cost.keys(), dtype=np.int64, count=len(cost))] = np.fromiter(
            cost.values(), dtype=np.float64, count=len(cost))
    return vector


# --------------------------------------------------------------------------------------
# Solving
# --------------------------------------------------------------------------------------


def solve(
    inst: Instance,
    objective: str | None = None,
    time_limit: float | None = None,
    fix: dict | None = None,
    timings: dict | None = None,
    keep_model: bool = False,
) -> Plan:
    """Solve ``inst`` and return its plan; status ``optimal`` or ``infeasible``.

    ``fix`` holds decisions to take as given: ``{("c", p, k, s): capacity, ("b", p, s):
    capacity}`` (for a scenario instance, in every case). Raises :class:`SolverFailure`
    when HiGHS stops for any other reason. ``timings``, when given, receives the seconds
    of each step: ``build``, ``handoff``, ``solve`` (HiGHS, both stages), ``tables``
    (tables and shadow prices) and ``summary`` (``benchmarks/scale.py``).

    The Pyomo model is let go once HiGHS has the LP (what the plan needs of it is read
    first, :class:`Reading`); with ``keep_model`` it stays, holding the solution, as
    ``plan.model``. ``time_limit`` and the plan's ``solve_seconds`` count HiGHS's time
    (both stages), from the moment it has the LP.
    """
    objective = objective or inst.objective
    clock = _Clock(timings)
    # Everything below makes many small objects and frees few: Python's cyclic garbage
    # collector would scan the whole model again and again (see build_model).
    with PauseGC():
        model = build_model(inst, objective)
        if fix:
            fix_decisions(model, inst, fix)
        clock.lap("build")
        lp = LinearProgram(model)
        reading = Reading(lp, model, inst, objective)
        if not keep_model:
            # HiGHS has the LP and ``reading`` what the plan needs of the model: the model
            # goes before the solve, so HiGHS's memory reuses its. Its cycles broken, it
            # is freed at once; the collector takes what is left (made while it was
            # paused, it is all in the youngest generation: only that one is scanned).
            lp.release_model()
            dismantle(model)
            model = None
            gc.collect(0)
        started = clock.lap("handoff")  # the time limit and solve_seconds are the solver's
        status, value = run_lp(lp, time_limit, started)
        dual = lp.row_dual() if status == "optimal" else None  # the first stage's (the objective the user chose)
        if status == "optimal" and reading.second_stage is not None:
            status = _second_stage(lp, reading.second_stage, value, time_limit, started)
            if model is not None:  # the kept model states what was solved
                add_second_stage(model, inst, value)
        seconds = time.perf_counter() - started
        clock.lap("solve")
        plan = Plan(instance=inst, objective=objective, status=status, solve_seconds=seconds, model=model)
        if status == "optimal":
            plan.objective_value = value
            plan.tables = tables_of_figures(reading.figures.figures(lp.solution(ZERO)), inst)
            plan.duals = dual_table_of_rows(reading.rows, dual, inst, objective)
        clock.lap("tables")
        plan.summary = make_summary(plan, solver_name())
        clock.lap("summary")
    return plan


class Reading:
    """What a plan needs of its model after the solve, read before the model goes:

    ``figures``, the tables' figures compiled over the LP's columns
    (:class:`planner.results.figures.FigureProgram`); ``rows``, each row's label for the
    shadow prices (:func:`planner.solver.duals.label_rows`); ``second_stage``, for an
    objective with two stages (``planner.model.stochastic``), the second objective
    compiled (cost vector, offset), else None."""

    def __init__(self, lp: "LinearProgram", model, inst: Instance, objective: str):
        self.figures = FigureProgram(plan_blocks(model, inst), lp.column)
        self.rows = label_rows(lp.rows, lp.coefficient)
        self.second_stage = (
            lp.linear_form(second_stage_objective(model, inst)) if needs_second_stage(inst, objective) else None
        )


class _Clock:
    """Seconds between laps, into ``timings`` (when given)."""

    def __init__(self, timings: dict | None):
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, name: str) -> float:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[name] = now - self.last
        self.last = now
        return now


def run_lp(lp: LinearProgram, time_limit: float | None, started: float, zero: float = ZERO) -> tuple[str, float | None]:
    """Solve in what is left of ``time_limit`` (seconds since ``started``); ``optimal`` or
    ``infeasible``, else raise :class:`SolverFailure`."""
    remaining = None if time_limit is None else max(time_limit - (time.perf_counter() - started), 0.0)
    status, value = lp.solve(remaining, zero=zero)
    if status in ("optimal", "infeasible"):
        return status, value
    if status == "time_limit":
        raise SolverFailure("time_limit", f"the solver reached the time limit of {time_limit} s without an optimal plan")
    raise SolverFailure("error", f"the solver stopped without an optimal plan ({lp.message})")


def hold_first_stage(objective: tuple[np.ndarray, float], first_stage_value: float) -> tuple[float, np.ndarray, float]:
    """The row ``hold_first_stage`` of :func:`planner.model.stochastic.add_second_stage`
    compiled, as ``(lower, coefficients, upper)`` for :meth:`LinearProgram.add_row`: the
    first objective (``objective``: its cost vector by column and its offset) at most
    :func:`~planner.model.stochastic.first_stage_hold` of its optimum, the offset moved
    into the bound."""
    cost, offset = objective
    return -INF, cost, first_stage_hold(first_stage_value) - offset


def _second_stage(lp: LinearProgram, second: tuple[np.ndarray, float], first_stage: float, time_limit,
                  started) -> str:
    """Hold the first objective at its optimum and minimise the second, ``second`` (as
    ``planner.model.stochastic.add_second_stage`` states them), from the first stage's
    basis."""
    lp.add_row(*hold_first_stage((lp.arrays.cost, lp.arrays.offset), first_stage))
    lp.set_objective(*second)
    status, _ = run_lp(lp, time_limit, started)
    if status != "optimal":
        raise SolverFailure("error", "the second stage did not solve to optimality")
    return status


def fix_decisions(model, inst: Instance, fix: dict) -> None:
    """Fix the decisions ``fix`` (as :func:`solve` takes them) in every plan of ``model``."""
    for block in plan_blocks(model, inst).values():
        for (kind, *index), value in fix.items():
            variable = block.c if kind == "c" else block.b
            variable[tuple(index)].fix(value)


def run_elastic(model, time_limit: float | None = None) -> str:
    """Solve a diagnosis (elastic) model and load its solution; return the status."""
    started = time.perf_counter()
    status, _ = run_lp(LinearProgram(model), time_limit, started, zero=0.0)
    return status
