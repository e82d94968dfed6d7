"""The figures the tables of §3 are made of, read off a solved plan.

A table's figures are the model's own quantities -- the decisions ``c``, ``b``, ``u``,
``debt``, ``cash``, ``charge`` and the named expressions (``active_capacity[p,t]``,
``loss[t]``, ...) -- each evaluated once from the decisions, so that every figure follows
from them by the formulas of §2 (:mod:`planner.results.check` recomputes them
independently). They are read one of two ways, with the same arithmetic in the same
order and therefore the same figures to the last bit (each sum added up left to right,
:func:`add_up`, on every Python):

- :class:`Values` evaluates the expressions of a solved Pyomo model (its variables hold
  the values), as ``pyo.value`` does on Python 3.11;
- :class:`FigureProgram` compiles the same expressions once, before the solve, into a
  program over the LP's columns, then evaluates it on the solution array with numpy. The
  model is then no longer needed once HiGHS has the LP (:func:`planner.solver.highs.solve`
  drops it before the solve, which is what keeps the planner's memory near HiGHS's own).

:data:`TABLE_FIGURES` names the quantities the tables read (``planner.results.tables``).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

__all__ = ["FIGURE_ZERO", "FigureProgram", "TABLE_FIGURES", "Values", "add_up", "expression_classes", "model_figures", "tidy"]

#: The model's quantities that the tables of §3 read, per plan (one case's block of a
#: scenario instance): decisions and named expressions of ``planner.model.lp``.
TABLE_FIGURES = (
    "c", "b", "u", "debt", "cash", "charge",
    "contracted_capacity", "owned_capacity", "active_capacity", "spend", "served",
    "revenue", "compute_cost", "capex", "capex_expense", "interest", "loss", "cumulative_loss",
)

#: A figure closer to 0 than this is written as 0 (solver round-off, not a quantity).
FIGURE_ZERO = 1e-9

#: ``{quantity: {index: figure}}`` of one plan.
Figures = dict[str, dict[Any, float]]


def tidy(x: float) -> float:
    """``x`` with rounding noise below :data:`FIGURE_ZERO` shown as 0."""
    return 0.0 if abs(x) < FIGURE_ZERO else x


def add_up(terms: Iterable) -> float:
    """``0 + t₀ + t₁ + …``, left to right: how a figure's sum is added up (Python's own
    ``sum`` did exactly this until 3.12, where it compensates for round-off, so Pyomo's
    ``value`` of a sum is not the same last bit on every Python). Pinned here, the figures,
    and the committed ``results/``, are the same on every Python the planner runs on."""
    total = 0
    for term in terms:
        total = total + term
    return total


def expression_classes() -> tuple:
    """Pyomo's classes of the nodes a figure is made of, as both readers dispatch on
    them: variables, sums, products, negation, division."""
    from pyomo.core.base.var import ScalarVar, VarData
    from pyomo.core.expr import numeric_expr as ne

    return ({VarData, ScalarVar}, {ne.SumExpression, ne.LinearExpression},
            {ne.ProductExpression, ne.MonomialTermExpression}, ne.NegationExpression, ne.DivisionExpression)


class Values:
    """``values(expr)``: the value of a solved expression as ``pyo.value`` gives it on
    Python 3.11 (then :func:`tidy`), with each named expression of the model
    (``loss[t]``, ``active_capacity[p,t]``, ...) evaluated once however many others refer
    to it (``cumulative_loss[t]`` sums every earlier ``loss``): the same arithmetic in the
    same order, each sum by :func:`add_up`, so the figures are the same to the last bit."""

    def __init__(self):
        self._named: dict[int, float] = {}
        self._indexed: dict[int, dict] = {}
        self._var, self._sum, self._product, self._negation, self._division = expression_classes()

    def __call__(self, expr) -> float:
        return tidy(float(self.raw(expr)))

    def of(self, var) -> dict:
        """``{index: value}`` of every element of the indexed component ``var`` (as
        ``values(var[index])``), read once."""
        key = id(var)
        if key not in self._indexed:
            self._indexed[key] = {index: self(element) for index, element in var.items()}
        return self._indexed[key]

    def raw(self, expr):
        cls = expr.__class__
        if cls in self._var:
            return _value_of(expr)
        if cls is float or cls is int:
            return expr
        if cls in self._sum:
            return add_up(self.raw(arg) for arg in expr.args)
        if cls in self._product:
            left, right = expr.args
            return self.raw(left) * self.raw(right)
        if expr.is_variable_type():
            return _value_of(expr)
        if expr.is_named_expression_type():
            key = id(expr)
            if key not in self._named:
                self._named[key] = self.raw(expr.expr)
            return self._named[key]
        if cls is self._negation:
            return -self.raw(expr.args[0])
        if cls is self._division:
            left, right = expr.args
            return self.raw(left) / self.raw(right)
        from pyomo.core import value

        return value(expr)


def _value_of(var):
    value = var.value
    if value is None:
        raise ValueError(f"No value for uninitialized variable {var.name}")
    return value


def model_figures(block, values: Values | None = None) -> Figures:
    """The :data:`TABLE_FIGURES` of one solved plan (a model, or a case's block)."""
    v = values or Values()
    return {name: v.of(block.component(name)) for name in TABLE_FIGURES}


# -- the same figures, compiled ------------------------------------------------------------

_SUM, _TERM, _PRODUCT, _DIVISION = range(4)
_NUMBERS = {float, int}


class FigureProgram:
    """The :data:`TABLE_FIGURES` of several plans (``blocks``: ``{key: model or case
    block}``) compiled into one program over the LP's columns (``column``: ``{id(VarData):
    column}``); :meth:`figures` evaluates it on a solution array.

    Each variable, named expression and operation of the expressions becomes a slot of
    one array (slot 0 holds 1). A sum holds its terms, each ``coefficient·slot`` -- a
    number ``a`` is ``a·1``, ``a·x`` or ``x·a`` is ``a·x``, any other ``e`` is ``1·e``: the
    same number to the last bit -- added left to right starting from 0 (as
    :func:`add_up`); a lone product with a number, a negation (``−1·e``), a product and a
    division are slots too; a named expression is one slot however many refer to it.
    Operations of the same kind, number of terms and depth are done together by numpy,
    each term in its place, so every slot holds the value :class:`Values` gives, bit for
    bit (``tests/test_figures.py``).

    A variable that is a column takes the column's value (as the solver gives it to the
    variable); one that is not (fixed, or in no row of the LP) keeps the value it has now,
    and one without a value makes :meth:`figures` raise ValueError, as :class:`Values`
    would."""

    def __init__(self, blocks: dict, column: dict[int, int]):
        self._column = column
        self._var, self._sum, self._product, self._negation, self._division = expression_classes()
        self._slot_of: dict[int, int] = {}  # id(named expression) -> slot
        self._keep: list = []  # the named expressions in _slot_of, kept alive while compiling
        # slot 0 holds 1, slots 1 .. n the n columns; then constants and operations
        self._depth: list[int] = [0] * (1 + len(column))
        self._constants: list[tuple[int, float]] = [(0, 1.0)]
        self._unset: dict[int, str] = {}  # slot -> name of a variable without a value
        # (depth, kind, terms) -> (coefficients, input slots, output slots)
        self._operations: dict[tuple[int, int, int], tuple[list, list[int], list[int]]] = {}
        self.read: dict = {}  # key -> {quantity: (indices, slots)}
        for key, block in blocks.items():
            self.read[key] = {name: self._compile_component(block.component(name)) for name in TABLE_FIGURES}
        self._finish()

    # -- compiling ---------------------------------------------------------------------

    def _compile_component(self, component) -> tuple[list, np.ndarray]:
        indices = list(component.keys())
        elements = list(component.values())
        if component.ctype.__name__ == "Var":
            column = self._column
            slots = [column.get(id(var), -1) + 1 for var in elements]
            for i, slot in enumerate(slots):
                if slot == 0:  # not a column: fixed, or in no row
                    slots[i] = self._variable(elements[i])
        else:
            slots = [self._slot(element) for element in elements]
        return indices, np.asarray(slots, dtype=np.int64)

    def _new(self, depth: int) -> int:
        self._depth.append(depth)
        return len(self._depth) - 1

    def _constant(self, value) -> int:
        slot = self._new(0)
        self._constants.append((slot, value))
        return slot

    def _emit(self, kind: int, coefficients, inputs) -> int:
        depth = self._depth
        slot = self._new(1 + max([depth[i] for i in inputs]))
        coefs, ins, outs = self._operations.setdefault((depth[slot], kind, len(inputs)), ([], [], []))
        coefs.extend(coefficients)
        ins.extend(inputs)
        outs.append(slot)
        return slot

    def _term(self, arg) -> tuple[float, int]:
        """``arg`` as ``coefficient·slot``, the same number to the last bit."""
        cls = arg.__class__
        if cls in _NUMBERS:
            return arg, 0
        if cls in self._product:
            left, right = arg.args
            if left.__class__ in _NUMBERS:
                return left, self._slot(right)
            if right.__class__ in _NUMBERS:
                return right, self._slot(left)
        return 1.0, self._slot(arg)

    def _sum_of(self, args) -> int:
        if not args:
            return self._constant(0)
        coefficients, inputs = [], []
        column, var, product = self._column, self._var, self._product
        for arg in args:  # the common terms, a column or a number times one, read inline
            cls = arg.__class__
            if cls in var:
                j = column.get(id(arg))
                if j is not None:
                    coefficients.append(1.0)
                    inputs.append(1 + j)
                    continue
            elif cls in product:
                left, right = arg.args
                if left.__class__ in _NUMBERS and right.__class__ in var:
                    j = column.get(id(right))
                    if j is not None:
                        coefficients.append(left)
                        inputs.append(1 + j)
                        continue
            coefficient, slot = self._term(arg)
            coefficients.append(coefficient)
            inputs.append(slot)
        return self._emit(_SUM, coefficients, inputs)

    def _slot(self, expr) -> int:
        cls = expr.__class__
        if cls in self._var:
            return self._variable(expr)
        if cls in _NUMBERS:
            return self._constant(expr)
        if cls in self._sum:
            return self._sum_of(expr.args)
        if cls in self._product:
            left, right = expr.args
            if left.__class__ in _NUMBERS or right.__class__ in _NUMBERS:
                return self._emit(_TERM, *zip(self._term(expr)))
            return self._emit(_PRODUCT, [1.0, 1.0], [self._slot(left), self._slot(right)])
        if expr.is_named_expression_type():
            key = id(expr)
            slot = self._slot_of.get(key)
            if slot is None:
                slot = self._slot_of[key] = self._slot(expr.expr)
                self._keep.append(expr)
            return slot
        if expr.is_variable_type():
            return self._variable(expr)
        if cls is self._negation:
            return self._emit(_TERM, [-1.0], [self._slot(expr.args[0])])
        if cls is self._division:
            left, right = expr.args
            return self._emit(_DIVISION, [1.0, 1.0], [self._slot(left), self._slot(right)])
        if not expr.is_potentially_variable():
            from pyomo.core import value

            return self._constant(value(expr))
        raise TypeError(f"the tables cannot read an expression of type {cls.__name__}")

    def _variable(self, var) -> int:
        column = self._column.get(id(var))
        if column is not None:
            return 1 + column
        if var.value is None:
            slot = self._constant(np.nan)
            self._unset[slot] = var.name
            return slot
        return self._constant(var.value)

    def _finish(self) -> None:
        """Machine arrays for the evaluation; the compiler's maps are let go."""
        self.size = len(self._depth)
        self._constant_slots = np.fromiter((s for s, _ in self._constants), dtype=np.int64, count=len(self._constants))
        self._constant_values = np.fromiter((float(v) for _, v in self._constants), dtype=np.float64,
                                            count=len(self._constants))
        self._columns = len(self._column)
        self._steps = []
        for (depth, kind, terms), (coefficients, inputs, outputs) in sorted(self._operations.items()):
            shape = (len(outputs), terms)
            self._steps.append((kind, np.asarray(coefficients, dtype=np.float64).reshape(shape),
                                np.asarray(inputs, dtype=np.int64).reshape(shape), np.asarray(outputs, dtype=np.int64)))
        del self._slot_of, self._keep, self._depth, self._constants, self._operations, self._column

    # -- evaluating --------------------------------------------------------------------

    def slots(self, solution: np.ndarray) -> np.ndarray:
        """Every slot's value for the column values ``solution``."""
        value = np.empty(self.size, dtype=np.float64)
        value[self._constant_slots] = self._constant_values
        value[1:1 + self._columns] = solution
        for kind, coefficients, inputs, outputs in self._steps:
            value[outputs] = _STEP[kind](value, coefficients, inputs)
        return value

    def figures(self, solution: np.ndarray) -> dict:
        """``{key: Figures}`` of the blocks for the column values ``solution``."""
        value = self.slots(solution)
        out = {}
        for key, read in self.read.items():
            out[key] = figures = {}
            for name, (indices, slots) in read.items():
                cells = value[slots]
                # A solution holds no NaN: a variable without a value. The program was
                # compiled in the order Values reads, so the first such variable compiled is
                # the one Values names, and the first figure holding a NaN is where it stops.
                if self._unset and np.isnan(cells).any():
                    raise ValueError(f"No value for uninitialized variable {next(iter(self._unset.values()))}")
                cells[np.abs(cells) < FIGURE_ZERO] = 0.0  # tidy(), NaN kept
                figures[name] = dict(zip(indices, cells.tolist()))
        return out


def _sum(value: np.ndarray, coefficients: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    total = 0.0 + coefficients[:, 0] * value[inputs[:, 0]]  # add_up starts from 0 (0 + -0.0 is 0.0)
    for i in range(1, inputs.shape[1]):
        total += coefficients[:, i] * value[inputs[:, i]]
    return total


_STEP: dict[int, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    _SUM: _sum,
    _TERM: lambda value, coefficients, inputs: coefficients[:, 0] * value[inputs[:, 0]],
    _PRODUCT: lambda value, coefficients, inputs: value[inputs[:, 0]] * value[inputs[:, 1]],
    _DIVISION: lambda value, coefficients, inputs: value[inputs[:, 0]] / value[inputs[:, 1]],
}
