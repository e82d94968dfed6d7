"""The tables of a plan (MODEL.md §3) and the plan itself.

Tables are read off the solved model's expressions, so every figure follows from the
decisions by the formulas of §2 (:mod:`planner.results.check` recomputes them
independently). Their names and columns are :mod:`planner.results.files`'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..instance.schema import Instance
from .files import COLUMNS, TABLES

__all__ = ["Plan", "Values", "case_tables", "commitments_after_horizon", "make_tables"]


@dataclass
class Plan:
    """The outcome of a solve: status, objective, tables (when optimal) and summary.

    ``duals`` (when optimal) holds the shadow prices of the constraints, one row per
    constraint with a non-zero one (``planner.solver.duals``); it is written as duals.csv.
    """

    instance: Instance
    objective: str
    status: str
    solve_seconds: float = 0.0
    objective_value: float | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    model: Any = None
    duals: pd.DataFrame | None = None

    def __getattr__(self, name):
        # plan.finance, plan.capacity, ... as a shorthand for plan.tables[name]
        tables = self.__dict__.get("tables") or {}
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def write(self, out_dir: str | Path, extra=None) -> Path:
        """Write the results folder (only for an optimal plan); return its path.
        ``extra(staging)`` as in :func:`.folder.write_results` (e.g. the report)."""
        from .folder import ResultsError, write_results

        if self.status != "optimal":
            raise ResultsError(f"no results to write: the plan is {self.status}")
        return write_results(self, Path(out_dir), extra)


def _v(expr) -> float:
    """The value of a solved expression, with rounding noise below 1e-9 shown as 0."""
    import pyomo.environ as pyo

    return _tidy(float(pyo.value(expr)))


def _tidy(x: float) -> float:
    return 0.0 if abs(x) < 1e-9 else x


class Values:
    """``values(expr)``: like :func:`_v`, but each named expression of the model
    (``loss[t]``, ``active_capacity[p,t]``, ...) is evaluated once, however many others
    refer to it (``cumulative_loss[t]`` sums every earlier ``loss``), with the same
    arithmetic as ``pyo.value`` in the same order, so the figures are the same to the
    last bit. Tables of a large model take time in proportion to its size."""

    def __init__(self):
        from pyomo.core.base.var import ScalarVar, VarData
        from pyomo.core.expr import numeric_expr as ne

        self._named: dict[int, float] = {}
        self._indexed: dict[int, dict] = {}
        self._var = {VarData, ScalarVar}
        self._sum = {ne.SumExpression, ne.LinearExpression}
        self._product = {ne.ProductExpression, ne.MonomialTermExpression}
        self._negation = ne.NegationExpression
        self._division = ne.DivisionExpression

    def __call__(self, expr) -> float:
        return _tidy(float(self.raw(expr)))

    def of(self, var) -> dict:
        """``{index: value}`` of every element of the indexed variable ``var`` (as
        ``values(var[index])``), read once."""
        key = id(var)
        if key not in self._indexed:
            self._indexed[key] = {index: self(element) for index, element in var.items()}
        return self._indexed[key]

    def raw(self, expr):
        cls = expr.__class__
        if cls in self._var:
            value = expr.value
            if value is None:
                raise ValueError(f"No value for uninitialized variable {expr.name}")
            return value
        if cls is float or cls is int:
            return expr
        if cls in self._sum:
            return sum([self.raw(arg) for arg in expr.args])
        if cls in self._product:
            left, right = expr.args
            return self.raw(left) * self.raw(right)
        if expr.is_variable_type():
            value = expr.value
            if value is None:
                raise ValueError(f"No value for uninitialized variable {expr.name}")
            return value
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


def make_tables(m, inst: Instance) -> dict[str, pd.DataFrame]:
    """The five tables of §3; for a scenario instance each gains a leading ``case``
    column and holds every case's rows (shared decisions repeat in every case)."""
    if inst.scenarios is None:
        return _plan_tables(m, inst)
    per_case = {n: _plan_tables(m.case[n], case) for n, case in inst.cases.items()}
    return {
        name: pd.concat([frame[name].assign(case=n) for n, frame in per_case.items()], ignore_index=True)[
            ["case"] + COLUMNS[name]
        ]
        for name in TABLES
    }


def case_tables(tables: dict[str, pd.DataFrame], case: str) -> dict[str, pd.DataFrame]:
    """One case's rows of scenario tables, without the ``case`` column."""
    return {
        name: frame[frame["case"] == case].drop(columns="case").reset_index(drop=True)
        for name, frame in tables.items()
    }


def _plan_tables(m, inst: Instance) -> dict[str, pd.DataFrame]:
    v = Values()
    return {
        "procurement": _procurement(m, inst, v),
        "capacity": _capacity(m, inst, v),
        "usage": _usage(m, inst, v),
        "service": _service(m, inst, v),
        "finance": _finance(m, inst, v),
    }


def _frame(name: str, columns: dict[str, list]) -> pd.DataFrame:
    """A table from its columns (lists of equal length), in the order of :data:`COLUMNS`."""
    if not columns[COLUMNS[name][0]]:
        return pd.DataFrame([], columns=COLUMNS[name])  # no rows: the same dtypes as ever (object)
    return pd.DataFrame(columns, columns=COLUMNS[name])


def _columns(name: str) -> dict[str, list]:
    return {column: [] for column in COLUMNS[name]}


def _procurement(m, inst: Instance, v: Values) -> pd.DataFrame:
    cols = _columns("procurement")
    year, provider, source, term = cols["year"], cols["provider"], cols["source"], cols["term"]
    capacity, unit_price, upfront, online_from = cols["capacity"], cols["unit_price"], cols["upfront"], cols["online_from"]
    c, b = v.of(m.c), v.of(m.b)
    for s in inst.year_list:
        for p, prov in inst.providers.items():
            for k, contract in prov.contracts.items():
                if (signed := c.get((p, k, s), 0.0)) > 0:
                    year.append(s), provider.append(p), source.append(k), term.append(contract.term)
                    capacity.append(signed), unit_price.append(contract.price[s])
                    upfront.append(contract.upfront[s]), online_from.append(s)
            if prov.build is not None and (built := b[p, s]) > 0:
                year.append(s), provider.append(p), source.append("build"), term.append(None)
                capacity.append(built), unit_price.append(prov.build.capex[s])
                upfront.append(None), online_from.append(s + prov.build.lead_time)
    frame = _frame("procurement", cols)
    frame["term"] = frame["term"].astype("Int64")
    return frame


def _capacity(m, inst: Instance, v: Values) -> pd.DataFrame:
    cols = _columns("capacity")
    allowed = {p: inst.allowed_workloads(p) for p in inst.providers}
    u = v.of(m.u)
    for t in inst.year_list:
        for p, prov in inst.providers.items():
            used = sum(u[p, w, t] for w in allowed[p])
            active = v(m.active_capacity[p, t])
            for column, value in (
                ("year", t), ("provider", p), ("existing", prov.existing[t]),
                ("contracted", v(m.contracted_capacity[p, t])), ("owned", v(m.owned_capacity[p, t])),
                ("active", active), ("used", used), ("idle", _tidy(active - used)),
                ("spend", v(m.spend[p, t])), ("charge", v(m.charge[p, t])),
            ):
                cols[column].append(value)
    return _frame("capacity", cols)


def _usage(m, inst: Instance, v: Values) -> pd.DataFrame:
    cols = _columns("usage")
    year, provider, workload, capacity, compute = (cols[c] for c in COLUMNS["usage"])
    allowed = {p: inst.allowed_workloads(p) for p in inst.providers}
    u = v.of(m.u)
    for t in inst.year_list:
        for p, prov in inst.providers.items():
            efficiency = prov.efficiency[t]
            for w in allowed[p]:
                used = u[p, w, t]
                year.append(t), provider.append(p), workload.append(w)
                capacity.append(used), compute.append(efficiency * used)
    return _frame("usage", cols)


def _service(m, inst: Instance, v: Values) -> pd.DataFrame:
    cols = _columns("service")
    for t in inst.year_list:
        for w, wl in inst.workloads.items():
            served = v(m.served[w, t])
            for column, value in (
                ("year", t), ("workload", w), ("demand", wl.demand[t]), ("served", served),
                ("unserved", _tidy(wl.demand[t] - served)), ("revenue", wl.revenue[t] * served),
            ):
                cols[column].append(value)
    return _frame("service", cols)


def _finance(m, inst: Instance, v: Values) -> pd.DataFrame:
    fin = inst.finance
    cols = _columns("finance")
    for t in inst.year_list:
        for column, value in (
            ("year", t), ("revenue", v(m.revenue[t])), ("compute_cost", v(m.compute_cost[t])),
            ("capex", v(m.capex[t])), ("capex_expense", v(m.capex_expense[t])),
            ("other_costs", fin.other_costs[t]), ("interest", v(m.interest[t])), ("loss", v(m.loss[t])),
            ("cumulative_loss", v(m.cumulative_loss[t])), ("funding", fin.funding[t]),
            ("debt", v(m.debt[t])), ("cash", v(m.cash[t])),
        ):
            cols[column].append(value)
    return _frame("finance", cols)


def commitments_after_horizon(inst: Instance, procurement: pd.DataFrame) -> float:
    """Money still owed after the last year under contracts signed in the horizon."""
    last = inst.years[1]
    total = 0.0
    for row in procurement.itertuples():
        if row.source == "build":
            continue
        years_after = max(0, row.year + row.term - 1 - last)
        total += years_after * row.unit_price * row.capacity
    return total
