"""The tables of a plan (MODEL.md §3) and the plan itself.

Tables are made of the plan's figures (:mod:`planner.results.figures`: the model's
quantities, each evaluated from the decisions by the formulas of §2), read off a solved
model (:func:`make_tables`) or off the solution array (:func:`tables_of_figures`, which
:func:`planner.solver.highs.solve` uses). Their names and columns are
:mod:`planner.results.files`'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..instance.schema import Instance
from .figures import Figures, add_up, model_figures, tidy
from .files import COLUMNS, TABLES

__all__ = ["Plan", "case_tables", "commitments_after_horizon", "make_tables", "tables_of_figures"]


@dataclass
class Plan:
    """The outcome of a solve: status, objective, tables (when optimal) and summary.

    ``duals`` (when optimal) holds the shadow prices of the constraints, one row per
    constraint with a non-zero one (``planner.solver.duals``); it is written as duals.csv.
    ``model`` is the solved Pyomo model where the solver kept it (``planner.solve``
    lets it go once HiGHS has the LP, unless asked to keep it), else None.
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


def make_tables(m, inst: Instance) -> dict[str, pd.DataFrame]:
    """The five tables of §3 of the solved model ``m`` (see :func:`tables_of_figures`)."""
    return tables_of_figures({key: model_figures(block) for key, block in plan_blocks(m, inst).items()}, inst)


def plan_blocks(m, inst: Instance) -> dict:
    """The plans of the model ``m``: ``{None: m}``, or ``{case: m.case[case]}`` for a
    scenario instance (the keys of :func:`tables_of_figures`)."""
    if inst.scenarios is None:
        return {None: m}
    return {n: m.case[n] for n in inst.cases}


def tables_of_figures(figures: dict, inst: Instance) -> dict[str, pd.DataFrame]:
    """The five tables of §3 from the plans' figures (``{key: Figures}``, keys as
    :func:`plan_blocks`'); for a scenario instance each gains a leading ``case`` column
    and holds every case's rows (shared decisions repeat in every case)."""
    if inst.scenarios is None:
        return _plan_tables(figures[None], inst)
    per_case = {n: _plan_tables(figures[n], case) for n, case in inst.cases.items()}
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


def _plan_tables(f: Figures, inst: Instance) -> dict[str, pd.DataFrame]:
    return {
        "procurement": _procurement(f, inst),
        "capacity": _capacity(f, inst),
        "usage": _usage(f, inst),
        "service": _service(f, inst),
        "finance": _finance(f, inst),
    }


def _frame(name: str, columns: dict[str, list]) -> pd.DataFrame:
    """A table from its columns (lists of equal length), in the order of :data:`COLUMNS`."""
    if not columns[COLUMNS[name][0]]:
        return pd.DataFrame([], columns=COLUMNS[name])  # no rows: the same dtypes as ever (object)
    return pd.DataFrame(columns, columns=COLUMNS[name])


def _columns(name: str) -> dict[str, list]:
    return {column: [] for column in COLUMNS[name]}


def _procurement(f: Figures, inst: Instance) -> pd.DataFrame:
    cols = _columns("procurement")
    year, provider, source, term = cols["year"], cols["provider"], cols["source"], cols["term"]
    capacity, unit_price, upfront, online_from = cols["capacity"], cols["unit_price"], cols["upfront"], cols["online_from"]
    c, b = f["c"], f["b"]
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


def _capacity(f: Figures, inst: Instance) -> pd.DataFrame:
    cols = _columns("capacity")
    allowed = {p: inst.allowed_workloads(p) for p in inst.providers}
    u, active_capacity = f["u"], f["active_capacity"]
    contracted, owned, spend, charge = f["contracted_capacity"], f["owned_capacity"], f["spend"], f["charge"]
    for t in inst.year_list:
        for p, prov in inst.providers.items():
            used = add_up(u[p, w, t] for w in allowed[p])
            active = active_capacity[p, t]
            for column, value in (
                ("year", t), ("provider", p), ("existing", prov.existing[t]),
                ("contracted", contracted[p, t]), ("owned", owned[p, t]),
                ("active", active), ("used", used), ("idle", tidy(active - used)),
                ("spend", spend[p, t]), ("charge", charge[p, t]),
            ):
                cols[column].append(value)
    return _frame("capacity", cols)


def _usage(f: Figures, inst: Instance) -> pd.DataFrame:
    cols = _columns("usage")
    year, provider, workload, capacity, compute = (cols[c] for c in COLUMNS["usage"])
    allowed = {p: inst.allowed_workloads(p) for p in inst.providers}
    u = f["u"]
    for t in inst.year_list:
        for p, prov in inst.providers.items():
            efficiency = prov.efficiency[t]
            for w in allowed[p]:
                used = u[p, w, t]
                year.append(t), provider.append(p), workload.append(w)
                capacity.append(used), compute.append(efficiency * used)
    return _frame("usage", cols)


def _service(f: Figures, inst: Instance) -> pd.DataFrame:
    cols = _columns("service")
    for t in inst.year_list:
        for w, wl in inst.workloads.items():
            served = f["served"][w, t]
            for column, value in (
                ("year", t), ("workload", w), ("demand", wl.demand[t]), ("served", served),
                ("unserved", tidy(wl.demand[t] - served)), ("revenue", wl.revenue[t] * served),
            ):
                cols[column].append(value)
    return _frame("service", cols)


def _finance(f: Figures, inst: Instance) -> pd.DataFrame:
    fin = inst.finance
    cols = _columns("finance")
    for t in inst.year_list:
        for column, value in (
            ("year", t), ("revenue", f["revenue"][t]), ("compute_cost", f["compute_cost"][t]),
            ("capex", f["capex"][t]), ("capex_expense", f["capex_expense"][t]),
            ("other_costs", fin.other_costs[t]), ("interest", f["interest"][t]), ("loss", f["loss"][t]),
            ("cumulative_loss", f["cumulative_loss"][t]), ("funding", fin.funding[t]),
            ("debt", f["debt"][t]), ("cash", f["cash"][t]),
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
