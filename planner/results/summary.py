"""summary.json of a plan (MODEL.md §3) or of scenario results (§5), from its tables."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..instance.schema import Instance
from .files import finance_figures
from .figures import add_up
from .tables import Plan, case_tables, commitments_after_horizon

__all__ = ["cvar", "make_summary", "plan_figures", "scenario_figures"]


def plan_figures(inst: Instance, tables: dict[str, pd.DataFrame], objective: str) -> dict[str, float]:
    """The summary figures of one plan (or one case), from its tables."""
    finance = tables["finance"]
    discounted = add_up(inst.discount_factor(t) * loss for t, loss in zip(finance["year"], finance["loss"]))
    figures = finance_figures(finance)  # the ones a report checks against finance.csv
    peak = figures["peak_cumulative_loss"]
    return {
        "case_objective": peak if objective == "peak_cumulative_loss" else float(discounted),
        **figures,
        "commitments_after_horizon": commitments_after_horizon(inst, tables["procurement"]),
    }


def cvar(values: list[float], probabilities: list[float], alpha: float) -> float:
    """CVaR_α of a discrete distribution: min over η of η + Σ π (L − η)⁺ / (1 − α)
    (the minimum is at one of the values)."""
    return min(
        eta + add_up(p * max(v - eta, 0.0) for v, p in zip(values, probabilities)) / (1 - alpha) for eta in values
    )


def scenario_figures(inst: Instance, tables: dict[str, pd.DataFrame], objective: str) -> dict[str, Any]:
    """MODEL.md §5's summary fields; the plain figures are probability-weighted means."""
    cases = {}
    for n, case in inst.cases.items():
        figures = plan_figures(case, case_tables(tables, n), objective)
        cases[n] = {"probability": inst.scenarios.cases[n].probability, **figures}
    probability = [c["probability"] for c in cases.values()]
    mean = lambda key: float(add_up(c["probability"] * c[key] for c in cases.values()))  # noqa: E731
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
    """summary.json's fields for ``plan``, solved by ``solver``."""
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
    if plan.status == "optimal":
        from .check import max_violation

        amount, constraint = max_violation(inst, plan.tables)
        summary.update({"max_violation": amount, "max_violation_constraint": constraint})
    from ..instance.scaling import scaling_warning

    warning = scaling_warning(inst)
    summary.update({
        "solver": solver,
        "solve_seconds": plan.solve_seconds,
        "years": list(inst.years),
        "units": {"money": inst.units.money, "capacity": inst.units.capacity},
        "warnings": [warning] if warning else [],
    })
    return summary
