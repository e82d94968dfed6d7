"""The value of information and of the stochastic solution (MODEL.md §5), by re-solving.

- RP, the recourse problem: the scenario instance as given (its objective value).
- WS, wait and see: the same cases with nothing committed (``commit_years: 0``), so each
  case has its own plan, as if the case were known in advance.
  EVPI = RP − WS ≥ 0: what knowing the case before committing would be worth.
- EEV: the committed decisions of the expected case's optimal plan (the instance whose
  every number is the probability-weighted mean of the cases'), taken as given in every
  case. VSS = EEV − RP ≥ 0: what planning for the cases, rather than for their average,
  is worth. When that plan is infeasible in some case, EEV and VSS are infinite.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel

from ..instance.schema import Instance
from ..results.figures import add_up
from .highs import solve


def expected_case(inst: Instance) -> Instance:
    """The plain instance whose numbers are the probability-weighted means of the cases'.

    A limit given in some cases and absent (no limit) in others stays absent."""
    cases = list(inst.cases.values())
    weights = [inst.scenarios.cases[n].probability for n in inst.cases]
    mean = _mean(cases, weights)
    mean.scenarios = None
    mean.name = f"{inst.name}[expected]"
    return mean


def _mean(objects: list, weights: list[float]) -> Any:
    first = objects[0]
    if any(o is None for o in objects):
        return None
    if isinstance(first, BaseModel):
        values = {name: _mean([getattr(o, name) for o in objects], weights) for name in type(first).model_fields}
        return first.model_copy(update=values)
    if isinstance(first, dict) and all(isinstance(k, int) for k in first):  # a yearly series
        return {year: add_up(w * o[year] for o, w in zip(objects, weights)) for year in first}
    if isinstance(first, dict):
        return {key: _mean([o[key] for o in objects], weights) for key in first}
    if isinstance(first, float) and not isinstance(first, bool):
        return add_up(w * o for o, w in zip(objects, weights))
    return first


def committed_decisions(plan) -> dict:
    """The signings and builds of a plain plan in the scenario instance's committed years."""
    decisions = {}
    for row in plan.procurement.itertuples():
        if row.source == "build":
            decisions[("b", row.provider, int(row.year))] = float(row.capacity)
        else:
            decisions[("c", row.provider, row.source, int(row.year))] = float(row.capacity)
    return decisions


def value_of_information(inst: Instance, time_limit: float | None = None) -> dict[str, Any]:
    """RP, WS, EVPI, EEV and VSS of a scenario instance (see the module's docstring)."""
    if inst.scenarios is None:
        raise ValueError("value needs an instance with scenarios (MODEL.md §5)")
    rp = solve(inst, time_limit=time_limit)
    if rp.status != "optimal":
        return {"instance": inst.name, "status": rp.status}
    wait = inst.model_copy(deep=True)
    wait.scenarios = inst.scenarios.model_copy(update={"commit_years": 0})
    wait._cases = inst.cases
    ws = solve(wait, time_limit=time_limit)
    mean = expected_case(inst)
    ev = solve(mean, time_limit=time_limit)
    eev_value, eev_note = math.inf, "the expected case has no plan"
    if ev.status == "optimal":
        fix = {key: value for key, value in committed_decisions(ev).items() if inst.committed(key[-1])}
        # every signing/build variable of the committed years is fixed, zero where the
        # expected case's plan has none
        for p, prov in inst.providers.items():
            for k in prov.contracts:
                for s in inst.signing_years(p, k):
                    if inst.committed(s):
                        fix.setdefault(("c", p, k, s), 0.0)
            if prov.build is not None:
                for s in inst.year_list:
                    if inst.committed(s):
                        fix.setdefault(("b", p, s), 0.0)
        eev = solve(inst, time_limit=time_limit, fix=fix)
        if eev.status == "optimal":
            eev_value, eev_note = eev.objective_value, "optimal"
        else:
            eev_note = "the expected case's committed plan is infeasible in some case"
    return {
        "instance": inst.name,
        "objective": rp.objective,
        "commit_years": inst.commit_years,
        "recourse_problem": rp.objective_value,
        "wait_and_see": ws.objective_value,
        "evpi": rp.objective_value - ws.objective_value,
        "expected_value_problem": ev.objective_value,
        "expected_value_solution": eev_value,
        "vss": eev_value - rp.objective_value,
        "expected_value_solution_status": eev_note,
    }
