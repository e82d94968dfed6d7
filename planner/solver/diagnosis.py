"""Why there is no plan: the infeasibility diagnosis of MODEL.md §4.

The diagnosis solves the elastic model (``build_model(..., elastic=True)``): every hard
constraint may give by a non-negative slack, and the weighted total slack is minimised
(money slack weighs 1 per money unit, capacity slack the instance's typical price of a
capacity unit-year, compute slack that price over the typical efficiency; see
``planner.model.slack_weights``). Every constraint that had to give becomes a row, in
the instance's words and units, with the change to the instance's data that removes the
need for it. Applying every listed change makes the instance feasible (the relaxed plan
then satisfies all constraints); when one row is listed, that one change is the
suggestion.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyomo.environ as pyo

from ..instance.schema import Instance
from ..model.lp import HARD_FAMILIES, build_model
from .highs import SolverFailure, run_elastic

#: Slack below this is solver round-off, not a constraint that had to give.
GIVE = 1e-7
#: Changes are made this much (relative) larger than the slack, so the relaxed plan fits
#: with room for the solver's feasibility tolerance.
MARGIN = 1e-6

COLUMNS = ["year", "family", "label", "provider", "workload", "contract", "amount", "unit", "message", "change"]


@dataclass
class Change:
    """Set ``path`` (a dotted path of a yearly series) in ``year`` to ``value``."""

    path: str
    year: int
    value: float
    text: str
    case: str | None = None  # for a scenario instance: the case whose data changes


@dataclass
class Diagnosis:
    """The outcome of :func:`diagnose`: ``table`` has one row per constraint that gave."""

    instance: Instance
    status: str  # "feasible" or "infeasible"
    table: pd.DataFrame
    changes: list[Change] = field(default_factory=list)

    @property
    def suggestion(self) -> Change | None:
        """The single change that makes the instance feasible, when one constraint gave."""
        return self.changes[0] if len(self.changes) == 1 else None

    def render(self) -> str:
        """The diagnosis as printed by ``planner diagnose``."""
        inst = self.instance
        if self.status == "feasible":
            return f"{inst.name}: feasible; no constraint has to give."
        lines = [f"{inst.name}: infeasible. The least change that allows a plan (capacity valued at "
                 f"{inst.capacity_price():.4g} {inst.units.money} per {inst.units.capacity}-year):"]
        width = max(len(label) for label in self.table["label"])
        for row in self.table.itertuples():
            case = f"case {row.case}: " if "case" in self.table.columns else ""
            lines.append(f"  {case}{row.year}  {row.label:<{width}}  {row.message}")
        if self.suggestion is not None:
            lines.append(f"Smallest change: {self.suggestion.text}.")
        else:
            lines.append("No single change suffices; these together make it feasible:")
            lines += [f"  {change.text}" for change in self.changes]
        return "\n".join(lines)


def diagnose(inst: Instance, time_limit: float | None = None) -> Diagnosis:
    """Relax the hard constraints of ``inst`` and report each one that had to give."""
    model = build_model(inst, elastic=True)
    if run_elastic(model, time_limit) != "optimal":  # always feasible; anything else is a failure
        raise SolverFailure("error", "the diagnosis model did not solve to optimality")
    if inst.scenarios is None:
        rows, changes = _gave(model, inst)
    else:
        rows, changes = [], []
        for n, case in inst.cases.items():
            case_rows, case_changes = _gave(model.case[n], case)
            rows += [{**row, "case": n} for row in case_rows]
            for change in _one_funding_change(case, case_changes):
                change.case = n
                change.text = f"case {n}: {change.text}"
                changes.append(change)
    columns = COLUMNS if inst.scenarios is None else ["case"] + COLUMNS
    table = pd.DataFrame(rows, columns=columns)
    if not rows:
        return Diagnosis(inst, "feasible", table)
    order = ["year", "family"] if inst.scenarios is None else ["case", "year", "family"]
    table = table.sort_values(order, kind="stable").reset_index(drop=True)
    if inst.scenarios is None:
        changes = _one_funding_change(inst, changes)
    return Diagnosis(inst, "infeasible", table, changes)


def _gave(model, inst: Instance) -> tuple[list[dict], list[Change]]:
    """The rows and changes of every slack that is not zero in one plan's block."""
    rows, changes = [], []
    for family in HARD_FAMILIES:
        if family not in model.relaxed_families:
            continue
        for index, slack in model.component(f"slack_{family}").items():
            amount = pyo.value(slack)
            if amount > GIVE:
                row, change = _describe(model, inst, family, index if isinstance(index, tuple) else (index,), amount)
                rows.append({**row, "change": change.text})
                changes.append(change)
    return rows, changes


def _one_funding_change(inst: Instance, changes: list[Change]) -> list[Change]:
    """Cash short in several years is one change: the total, as funding in the first of them
    (cash carries forward, so every later year gets it too)."""
    funding = [c for c in changes if c.path == "finance.funding"]
    if len(funding) < 2:
        return changes
    first = min(c.year for c in funding)
    total = sum(c.value - inst.finance.funding[c.year] for c in funding)
    shown = sum(float(c.text.rsplit(" by ", 1)[1].split()[0]) for c in funding)
    money = inst.units.money
    merged = Change("finance.funding", first, inst.finance.funding[first] + total,
                    f"raise funding in {first} by {shown:.2f} {money}")
    return [c for c in changes if c.path != "finance.funding"] + [merged]


def _raise(amount: float) -> float:
    return amount * (1 + MARGIN) + GIVE


def _describe(m, inst: Instance, family: str, index: tuple, amount: float) -> tuple[dict, Change]:
    """The row (in the instance's words) and the data change for one slack."""
    money, cap = inst.units.money, inst.units.capacity
    unit = {"money": money, "capacity": cap, "compute": "compute units"}[HARD_FAMILIES[family]]
    row = {"family": family, "provider": None, "workload": None, "contract": None, "amount": amount, "unit": unit}
    v = lambda expr: float(pyo.value(expr))  # noqa: E731

    if family in ("minimum_cash", "debt_limit"):
        (t,) = index
        fin = inst.finance
        if family == "minimum_cash":
            label, message = "minimum cash", f"short by {amount:.2f} {money}"
            change = Change("finance.funding", t, fin.funding[t] + _raise(amount),
                            f"raise funding in {t} by {amount:.2f} {money}")
        else:
            label, message = "debt limit", f"over by {amount:.2f} {money}"
            change = Change("finance.debt.limit", t, fin.debt.limit[t] + _raise(amount),
                            f"raise the debt limit in {t} by {amount:.2f} {money}")
    elif family == "service_floor":
        w, t = index
        wl = inst.workloads[w]
        hosts = [p for p in inst.providers if w in inst.allowed_workloads(p)]
        capacity = ", ".join(f"{p} {v(m.active_capacity[p, t]):.4g}" for p in hosts)
        label, message = f"{w} demand", f"short by {amount:.2f} compute units (capacity: {capacity})"
        row["workload"] = w
        new = max(0.0, wl.min_served[t] - _raise(amount) / wl.demand[t])
        change = Change(f"workloads.{w}.min_served", t, new,
                        f"lower {w} min_served in {t} from {wl.min_served[t]:.4g} to {new:.4g}")
    elif family in ("contract_max_per_year", "build_max_per_year"):
        if family == "contract_max_per_year":
            p, k, t = index
            limit, path, what = inst.providers[p].contracts[k].max_per_year, f"providers.{p}.contracts.{k}.max_per_year", f"{p} {k}"
            row["contract"] = k
        else:
            p, t = index
            limit, path, what = inst.providers[p].build.max_per_year, f"providers.{p}.build.max_per_year", f"{p} build"
        label, message = f"{what} max per year", f"over by {amount:.2f} {cap}"
        row["provider"] = p
        change = Change(path, t, limit[t] + _raise(amount), f"raise {what} max_per_year in {t} by {amount:.2f} {cap}")
    else:
        p, t = index
        prov = inst.providers[p]
        row["provider"] = p
        active = v(m.active_capacity[p, t])
        total = sum(v(m.active_capacity[q, t]) for q in inst.providers)
        if family == "provider_capacity":
            label, message = f"{p} capacity", f"over by {amount:.2f} {cap}"
            change = Change(f"providers.{p}.capacity", t, prov.capacity[t] + _raise(amount),
                            f"raise {p} capacity in {t} by {amount:.2f} {cap}")
        elif family == "minimum_capacity":
            label, message = f"{p} minimum capacity", f"short by {amount:.2f} {cap}"
            new = max(0.0, prov.min_capacity[t] - _raise(amount))
            change = Change(f"providers.{p}.min_capacity", t, new, f"lower {p} min_capacity in {t} by {amount:.2f} {cap}")
        elif family == "min_share":
            share = active / total
            label = f"{p} minimum share"
            message = f"short by {amount:.2f} {cap} (share {share:.3f}, at least {prov.min_share[t]:.3f} required)"
            new = max(0.0, share - MARGIN)
            change = Change(f"providers.{p}.min_share", t, new,
                            f"lower {p} min_share in {t} from {prov.min_share[t]:.4g} to {new:.4g}")
        elif family == "max_share":
            share = active / total
            label = f"{p} maximum share"
            message = f"over by {amount:.2f} {cap} (share {share:.3f}, at most {prov.max_share[t]:.3f} allowed)"
            new = min(1.0, share + MARGIN)
            change = Change(f"providers.{p}.max_share", t, new,
                            f"raise {p} max_share in {t} from {prov.max_share[t]:.4g} to {new:.4g}")
        else:  # gradual_decline
            before = v(m.active_capacity[p, t - 1])
            fall = 1 - active / before
            label = f"{p} gradual decline"
            message = f"falls {amount:.2f} {cap} too far ({before:.4g} to {active:.4g}, a {fall:.1%} fall)"
            new = min(1.0, fall + MARGIN)
            change = Change(f"providers.{p}.max_decline", t, new,
                            f"raise {p} max_decline in {t} from {prov.max_decline[t]:.4g} to {new:.4g}")
    row.update({"year": index[-1], "label": label, "message": message})
    return row, change


def apply_change(inst: Instance, change: Change) -> Instance:
    """A copy of ``inst`` with ``change`` made (its yearly series set in one year)."""
    copy = inst.model_copy(deep=True)
    if change.case is not None:  # a scenario instance: change that case's data
        copy._cases = dict(copy.cases)
        copy._cases[change.case] = apply_change(copy.cases[change.case], Change(change.path, change.year, change.value, change.text))
        return copy
    target = copy
    *parents, name = change.path.split(".")
    for part in parents:
        target = target[part] if isinstance(target, dict) else getattr(target, part)
    getattr(target, name)[change.year] = change.value
    return copy
