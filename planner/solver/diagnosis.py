"""Why there is no plan: the infeasibility diagnosis of MODEL.md §4.

The diagnosis solves the elastic model (:func:`planner.model.elastic.build_elastic_model`):
every hard constraint may give by a non-negative slack, and the weighted total slack is
minimised (money slack weighs 1 per money unit, capacity slack the instance's typical
price of a capacity unit-year, compute slack that price over the typical efficiency; see
``planner.model.elastic.slack_weights``). Every constraint that had to give becomes a
row, in the instance's words and units (the family's ``label`` and ``message`` in
:mod:`planner.model.families`), with the change to the instance's data that removes the
need for it. Applying every listed change makes the instance feasible (the relaxed plan
then satisfies all constraints); when one row is listed, that one change is the
suggestion.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyomo.environ as pyo

from ..instance.schema import Instance
from ..model.elastic import build_elastic_model
from ..model.families import FAMILIES, HARD_FAMILIES
from ..results.figures import Values, add_up
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
    model = build_elastic_model(inst)
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
    for family in (f.name for f in HARD_FAMILIES):
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
    total = add_up(c.value - inst.finance.funding[c.year] for c in funding)
    shown = add_up(float(c.text.rsplit(" by ", 1)[1].split()[0]) for c in funding)
    money = inst.units.money
    merged = Change("finance.funding", first, inst.finance.funding[first] + total,
                    f"raise funding in {first} by {shown:.2f} {money}")
    return [c for c in changes if c.path != "finance.funding"] + [merged]


def _raise(amount: float) -> float:
    return amount * (1 + MARGIN) + GIVE


def _describe(m, inst: Instance, family: str, index: tuple, amount: float) -> tuple[dict, Change]:
    """The row (in the instance's words: the family's ``label`` and ``message``) and the
    data change for one slack."""
    money, cap = inst.units.money, inst.units.capacity
    fam = FAMILIES[family]
    unit = {"money": money, "capacity": cap, "compute": "compute units"}[fam.unit]
    where = dict(zip(fam.index, index))
    row = {"family": family, "provider": None, "workload": None, "contract": None, "amount": amount, "unit": unit}
    row.update({field: value for field, value in where.items() if field in ("provider", "workload", "contract")})
    label = fam.label.format(p=where.get("provider"), k=where.get("contract"), w=where.get("workload"))
    message = fam.message.format(amount=f"{amount:.2f} {unit}")
    values = Values()  # as pyo.value, each sum by add_up
    v = lambda expr: float(values.raw(expr))  # noqa: E731
    t = index[-1]

    if family == "minimum_cash":
        change = Change("finance.funding", t, inst.finance.funding[t] + _raise(amount),
                        f"raise funding in {t} by {amount:.2f} {money}")
    elif family == "debt_limit":
        change = Change("finance.debt.limit", t, inst.finance.debt.limit[t] + _raise(amount),
                        f"raise the debt limit in {t} by {amount:.2f} {money}")
    elif family == "service_floor":
        w = where["workload"]
        wl = inst.workloads[w]
        hosts = [p for p in inst.providers if w in inst.allowed_workloads(p)]
        capacity = ", ".join(f"{p} {v(m.active_capacity[p, t]):.4g}" for p in hosts)
        message += f" (capacity: {capacity})"
        new = max(0.0, wl.min_served[t] - _raise(amount) / wl.demand[t])
        change = Change(f"workloads.{w}.min_served", t, new,
                        f"lower {w} min_served in {t} from {wl.min_served[t]:.4g} to {new:.4g}")
    elif family in ("contract_max_per_year", "build_max_per_year"):
        p = where["provider"]
        if family == "contract_max_per_year":
            k = where["contract"]
            limit, path, what = inst.providers[p].contracts[k].max_per_year, f"providers.{p}.contracts.{k}.max_per_year", f"{p} {k}"
        else:
            limit, path, what = inst.providers[p].build.max_per_year, f"providers.{p}.build.max_per_year", f"{p} build"
        change = Change(path, t, limit[t] + _raise(amount), f"raise {what} max_per_year in {t} by {amount:.2f} {cap}")
    else:
        p = where["provider"]
        prov = inst.providers[p]
        active = v(m.active_capacity[p, t])
        total = add_up(v(m.active_capacity[q, t]) for q in inst.providers)
        if family == "provider_capacity":
            change = Change(f"providers.{p}.capacity", t, prov.capacity[t] + _raise(amount),
                            f"raise {p} capacity in {t} by {amount:.2f} {cap}")
        elif family == "minimum_capacity":
            new = max(0.0, prov.min_capacity[t] - _raise(amount))
            change = Change(f"providers.{p}.min_capacity", t, new, f"lower {p} min_capacity in {t} by {amount:.2f} {cap}")
        elif family == "min_share":
            share = active / total
            message += f" (share {share:.3f}, at least {prov.min_share[t]:.3f} required)"
            new = max(0.0, share - MARGIN)
            change = Change(f"providers.{p}.min_share", t, new,
                            f"lower {p} min_share in {t} from {prov.min_share[t]:.4g} to {new:.4g}")
        elif family == "max_share":
            share = active / total
            message += f" (share {share:.3f}, at most {prov.max_share[t]:.3f} allowed)"
            new = min(1.0, share + MARGIN)
            change = Change(f"providers.{p}.max_share", t, new,
                            f"raise {p} max_share in {t} from {prov.max_share[t]:.4g} to {new:.4g}")
        else:  # gradual_decline
            before = v(m.active_capacity[p, t - 1])
            fall = 1 - active / before
            message += f" ({before:.4g} to {active:.4g}, a {fall:.1%} fall)"
            new = min(1.0, fall + MARGIN)
            change = Change(f"providers.{p}.max_decline", t, new,
                            f"raise {p} max_decline in {t} from {prov.max_decline[t]:.4g} to {new:.4g}")
    row.update({"year": t, "label": label, "message": message})
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
