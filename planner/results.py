"""The results folder of MODEL.md §3: the tables of a plan and writing them safely.

Tables are read off the solved model's expressions, so every figure follows from the
decisions by the formulas of §2 (``planner.check`` recomputes them independently).
Beside the five tables, ``duals.csv`` holds the constraints' shadow prices
(``planner.duals``).
Files are written into a temporary folder beside the target and renamed into place only
when all of them are complete, so an earlier run's results are never half-replaced.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .instance import Instance

#: The five tables of MODEL.md §3, each recomputable from the decisions (planner.check).
TABLES = ("procurement", "capacity", "usage", "service", "finance")
#: Shadow prices of the constraints (planner.duals); not a §3 table, so not in TABLES.
DUALS_FILE = "duals.csv"
#: Written by ``planner value`` beside a scenario instance's results.
VALUE_FILE = "value.json"
RESULT_FILES = ("summary.json",) + tuple(f"{name}.csv" for name in TABLES) + (DUALS_FILE,)

COLUMNS = {
    "procurement": ["year", "provider", "source", "term", "capacity", "unit_price", "upfront", "online_from"],
    "capacity": ["year", "provider", "existing", "contracted", "owned", "active", "used", "idle", "spend", "charge"],
    "usage": ["year", "provider", "workload", "capacity", "compute"],
    "service": ["year", "workload", "demand", "served", "unserved", "revenue"],
    "finance": [
        "year", "revenue", "compute_cost", "capex", "capex_expense", "other_costs", "interest",
        "loss", "cumulative_loss", "funding", "debt", "cash",
    ],
}


class ResultsError(Exception):
    """Results could not be written; the previous results (if any) are intact."""


@dataclass
class Plan:
    """The outcome of a solve: status, objective, tables (when optimal) and summary.

    ``duals`` (when optimal) holds the shadow prices of the constraints, one row per
    constraint with a non-zero one (``planner.duals``); it is written as duals.csv.
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

    def write(self, out_dir: str | Path) -> Path:
        """Write the results folder (only for an optimal plan); return its path."""
        if self.status != "optimal":
            raise ResultsError(f"no results to write: the plan is {self.status}")
        return write_results(self, Path(out_dir))


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------


def _v(expr) -> float:
    """The value of a solved expression, with rounding noise below 1e-9 shown as 0."""
    import pyomo.environ as pyo

    return _tidy(float(pyo.value(expr)))


def _tidy(x: float) -> float:
    return 0.0 if abs(x) < 1e-9 else x


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
    return {
        "procurement": _procurement(m, inst),
        "capacity": _capacity(m, inst),
        "usage": _usage(m, inst),
        "service": _service(m, inst),
        "finance": _finance(m, inst),
    }


def _frame(name: str, rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS[name])


def _procurement(m, inst: Instance) -> pd.DataFrame:
    rows = []
    for s in inst.year_list:
        for p, prov in inst.providers.items():
            for k, contract in prov.contracts.items():
                if (p, k, s) in m.c and _v(m.c[p, k, s]) > 0:
                    rows.append({
                        "year": s, "provider": p, "source": k, "term": contract.term,
                        "capacity": _v(m.c[p, k, s]), "unit_price": contract.price[s],
                        "upfront": contract.upfront[s], "online_from": s,
                    })
            if prov.build is not None and _v(m.b[p, s]) > 0:
                rows.append({
                    "year": s, "provider": p, "source": "build", "term": None,
                    "capacity": _v(m.b[p, s]), "unit_price": prov.build.capex[s],
                    "upfront": None, "online_from": s + prov.build.lead_time,
                })
    frame = _frame("procurement", rows)
    frame["term"] = frame["term"].astype("Int64")
    return frame


def _capacity(m, inst: Instance) -> pd.DataFrame:
    rows = []
    for t in inst.year_list:
        for p, prov in inst.providers.items():
            used = sum(_v(m.u[p, w, t]) for w in inst.allowed_workloads(p))
            active = _v(m.active_capacity[p, t])
            rows.append({
                "year": t, "provider": p, "existing": prov.existing[t],
                "contracted": _v(m.contracted_capacity[p, t]), "owned": _v(m.owned_capacity[p, t]),
                "active": active, "used": used, "idle": _tidy(active - used),
                "spend": _v(m.spend[p, t]), "charge": _v(m.charge[p, t]),
            })
    return _frame("capacity", rows)


def _usage(m, inst: Instance) -> pd.DataFrame:
    rows = [
        {
            "year": t, "provider": p, "workload": w, "capacity": _v(m.u[p, w, t]),
            "compute": inst.providers[p].efficiency[t] * _v(m.u[p, w, t]),
        }
        for t in inst.year_list
        for p in inst.providers
        for w in inst.allowed_workloads(p)
    ]
    return _frame("usage", rows)


def _service(m, inst: Instance) -> pd.DataFrame:
    rows = []
    for t in inst.year_list:
        for w, wl in inst.workloads.items():
            served = _v(m.served[w, t])
            rows.append({
                "year": t, "workload": w, "demand": wl.demand[t], "served": served,
                "unserved": _tidy(wl.demand[t] - served), "revenue": wl.revenue[t] * served,
            })
    return _frame("service", rows)


def _finance(m, inst: Instance) -> pd.DataFrame:
    fin = inst.finance
    rows = [
        {
            "year": t, "revenue": _v(m.revenue[t]), "compute_cost": _v(m.compute_cost[t]),
            "capex": _v(m.capex[t]), "capex_expense": _v(m.capex_expense[t]),
            "other_costs": fin.other_costs[t], "interest": _v(m.interest[t]), "loss": _v(m.loss[t]),
            "cumulative_loss": _v(m.cumulative_loss[t]), "funding": fin.funding[t],
            "debt": _v(m.debt[t]), "cash": _v(m.cash[t]),
        }
        for t in inst.year_list
    ]
    return _frame("finance", rows)


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


def plan_figures(inst: Instance, tables: dict[str, pd.DataFrame], objective: str) -> dict[str, float]:
    """The summary figures of one plan (or one case), from its tables."""
    finance = tables["finance"]
    t0 = inst.years[0]
    discounted = sum((1 + inst.discount_rate) ** -(t - t0) * loss for t, loss in zip(finance["year"], finance["loss"]))
    peak = float(finance["cumulative_loss"].max())
    return {
        "case_objective": peak if objective == "peak_cumulative_loss" else float(discounted),
        "cumulative_loss": float(finance["loss"].sum()),
        "peak_cumulative_loss": peak,
        "final_cash": float(finance["cash"].iloc[-1]),
        "commitments_after_horizon": commitments_after_horizon(inst, tables["procurement"]),
    }


def cvar(values: list[float], probabilities: list[float], alpha: float) -> float:
    """CVaR_α of a discrete distribution: min over η of η + Σ π (L − η)⁺ / (1 − α)
    (the minimum is at one of the values)."""
    return min(
        eta + sum(p * max(v - eta, 0.0) for v, p in zip(values, probabilities)) / (1 - alpha) for eta in values
    )


def scenario_figures(inst: Instance, tables: dict[str, pd.DataFrame], objective: str) -> dict[str, Any]:
    """MODEL.md §5's summary fields; the plain figures are probability-weighted means."""
    cases = {}
    for n, case in inst.cases.items():
        figures = plan_figures(case, case_tables(tables, n), objective)
        cases[n] = {"probability": inst.scenarios.cases[n].probability, **figures}
    probability = [c["probability"] for c in cases.values()]
    mean = lambda key: float(sum(c["probability"] * c[key] for c in cases.values()))  # noqa: E731
    out: dict[str, Any] = {
        key: mean(key) for key in ("cumulative_loss", "peak_cumulative_loss", "final_cash", "commitments_after_horizon")
    }
    out["expected_objective"] = mean("case_objective")
    out["cvar"] = cvar([c["case_objective"] for c in cases.values()], probability, inst.scenarios.risk.alpha)
    out["commit_years"] = inst.commit_years
    out["risk"] = {"alpha": inst.scenarios.risk.alpha, "weight": inst.scenarios.risk.weight}
    out["cases"] = {
        n: {"probability": c["probability"], "objective_value": c["case_objective"],
            "cumulative_loss": c["cumulative_loss"], "peak_cumulative_loss": c["peak_cumulative_loss"]}
        for n, c in cases.items()
    }
    return out


def make_summary(plan: Plan, solver: str) -> dict[str, Any]:
    inst = plan.instance
    summary: dict[str, Any] = {
        "instance": inst.name,
        "status": plan.status,
        "objective": plan.objective,
        "objective_value": plan.objective_value,
    }
    if plan.status == "optimal" and inst.scenarios is None:
        summary.update(plan_figures(inst, plan.tables, plan.objective))
        del summary["case_objective"]
    elif plan.status == "optimal":
        summary.update(scenario_figures(inst, plan.tables, plan.objective))
    summary.update({
        "solver": solver,
        "solve_seconds": plan.solve_seconds,
        "years": list(inst.years),
        "units": {"money": inst.units.money, "capacity": inst.units.capacity},
    })
    return summary


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


def refusal(out: Path) -> str | None:
    """Why ``out`` cannot take a results folder, or None: it must be absent, empty, or an
    earlier results folder (only the planner's own files, its report included); anything
    else is refused rather than deleted."""
    try:
        if not out.exists():
            return None
        if not out.is_dir():
            return f"{out} exists and is not a folder"
        from .report import REPORT_FILES

        ours = set(RESULT_FILES) | set(REPORT_FILES) | {VALUE_FILE}
        foreign = sorted(p.name for p in out.iterdir() if p.name not in ours)
    except OSError as err:
        return f"cannot use {out}: {err.strerror or err}"
    if foreign:
        return f"{out} holds files the planner did not write ({', '.join(foreign[:5])}); choose another --out folder"
    return None


def write_results(plan: Plan, out: Path) -> Path:
    """Write every file into a temporary folder beside ``out``, then swap it into place.

    ``out`` must be acceptable to :func:`refusal`.
    """
    out = out.resolve() if out.exists() else Path(os.path.abspath(out))
    refused = refusal(out)
    if refused:
        raise ResultsError(refused)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    except OSError as err:
        raise ResultsError(f"cannot write results next to {out}: {err.strerror or err}") from None
    try:
        for name in TABLES:
            plan.tables[name].to_csv(staging / f"{name}.csv", index=False, lineterminator="\n")
        duals = plan.duals
        if duals is None:
            from .duals import empty_table

            duals = empty_table()
        duals.to_csv(staging / DUALS_FILE, index=False, lineterminator="\n")
        (staging / "summary.json").write_text(json.dumps(plan.summary, indent=2) + "\n", encoding="utf-8")
        _swap_into_place(staging, out)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise ResultsError(f"cannot write results to {out}: {err.strerror or err}; earlier results are untouched") from None
    return out


def _swap_into_place(staging: Path, out: Path) -> None:
    if not out.exists():
        os.replace(staging, out)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.rmdir(retired)
    os.replace(out, retired)
    try:
        os.replace(staging, out)
    except OSError:
        os.replace(retired, out)
        raise
    shutil.rmtree(retired, ignore_errors=True)
