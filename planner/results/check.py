"""An independent checker for results tables (MODEL.md §3, last paragraph).

It reads only the decisions — ``procurement.csv`` (signings ``c`` and builds ``b``),
``usage.csv`` (``u``) and ``finance.csv``'s ``debt`` — recomputes every other figure by
the formulas of MODEL.md §2, written out again here in plain Python (it shares no code
with ``planner.model``), and also checks that the decisions satisfy every constraint.

``check_tables`` returns a list of human-readable mismatches; an empty list means the
tables are self-consistent and feasible to the tolerance.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..instance.schema import Instance
from ..model.families import FAMILIES
from .files import read_folder
from .tables import case_tables

TOLERANCE = 1e-6


def close(a: float, b: float, tol: float = TOLERANCE) -> bool:
    """Equal to ``tol`` relative to the figures' size, or absolute below 1."""
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def recompute(inst: Instance, tables: dict[str, pd.DataFrame], with_usage: bool = True) -> dict[str, dict]:
    """Every figure of §3, keyed by table and row key, from the decisions alone (without
    the usage table's rows when ``with_usage`` is false: the constraints do not need them)."""
    years = inst.year_list
    t0, last = years[0], years[-1]
    fin = inst.finance

    c: dict[tuple, float] = defaultdict(float)
    b: dict[tuple, float] = defaultdict(float)
    for row in tables["procurement"].itertuples():
        if row.source == "build":
            b[row.provider, int(row.year)] += float(row.capacity)
        else:
            c[row.provider, row.source, int(row.year)] += float(row.capacity)
    usage = tables["usage"]
    columns = (usage[c].tolist() for c in ("provider", "workload", "year", "capacity"))
    u = {(p, w, int(t)): float(x) for p, w, t, x in zip(*columns)}
    debt = {int(r.year): float(r.debt) for r in tables["finance"].itertuples()}

    out: dict[str, dict] = {"capacity": {}, "usage": {}, "service": {}, "finance": {}, "summary": {}}
    compute_cost = defaultdict(float)
    capex = defaultdict(float)
    capex_expense = defaultdict(float)
    for p, prov in inst.providers.items():
        build = prov.build
        for t in years:
            # s ≤ t ≤ s + term − 1: the signing years t − term + 1 .. t
            contracted = sum(
                c[p, k, s] for k, contract in prov.contracts.items() for s in _years(t0, t - contract.term + 1, t)
            )
            owned = 0.0
            if build is not None:
                # s + lead_time ≤ t (< s + lead_time + lifetime): the starts up to t − lead_time
                first = t0 if build.lifetime is None else t - build.lead_time - build.lifetime + 1
                owned = build.initial + sum(b[p, s] for s in _years(t0, first, t - build.lead_time))
            active = prov.existing[t] + contracted + owned
            used = sum(u.get((p, w, t), 0.0) for w in inst.workloads)
            spend = prov.existing_cost[t] + sum(
                contract.price[s] * c[p, k, s]
                for k, contract in prov.contracts.items()
                for s in _years(t0, t - contract.term + 1, t)
            ) + sum(contract.upfront[t] * c[p, k, t] for k, contract in prov.contracts.items())
            charge = spend if prov.min_spend is None else max(spend, prov.min_spend[t])
            out["capacity"][t, p] = {
                "existing": prov.existing[t], "contracted": contracted, "owned": owned, "active": active,
                "used": used, "idle": active - used, "spend": spend, "charge": charge,
            }
            compute_cost[t] += charge
            if build is not None:
                compute_cost[t] += build.opex[t] * owned
                capex[t] += build.capex[t] * b[p, t]
                if build.capex_in_loss:
                    n = build.depreciation_years
                    if n == 0:
                        capex_expense[t] += build.capex[t] * b[p, t]
                    else:
                        # s + lead_time ≤ t < s + lead_time + n
                        capex_expense[t] += sum(
                            build.capex[s] * b[p, s] / n
                            for s in _years(t0, t - build.lead_time - n + 1, t - build.lead_time)
                        )
            if with_usage:
                for w in inst.workloads:
                    if (p, w, t) in u:
                        out["usage"][t, p, w] = {"capacity": u[p, w, t], "compute": prov.efficiency[t] * u[p, w, t]}

    revenue = defaultdict(float)
    for t in years:
        revenue[t] += fin.base_revenue[t]
        for w, wl in inst.workloads.items():
            served = sum(inst.providers[p].efficiency[t] * u.get((p, w, t), 0.0) for p in inst.providers)
            out["service"][t, w] = {
                "demand": wl.demand[t], "served": served, "unserved": wl.demand[t] - served,
                "revenue": wl.revenue[t] * served,
            }
            revenue[t] += wl.revenue[t] * served

    cash_before, debt_before, cumulative = fin.initial_cash, fin.debt.initial, 0.0
    for t in years:
        interest = fin.debt.rate * debt_before
        loss = compute_cost[t] + capex_expense[t] + fin.other_costs[t] + interest - revenue[t]
        cumulative += loss
        cash = (cash_before + revenue[t] + fin.funding[t] + debt[t] - debt_before
                - compute_cost[t] - capex[t] - fin.other_costs[t] - interest)
        out["finance"][t] = {
            "revenue": revenue[t], "compute_cost": compute_cost[t], "capex": capex[t],
            "capex_expense": capex_expense[t], "other_costs": fin.other_costs[t], "interest": interest,
            "loss": loss, "cumulative_loss": cumulative, "funding": fin.funding[t], "debt": debt[t], "cash": cash,
        }
        cash_before, debt_before = cash, debt[t]

    losses = [out["finance"][t]["loss"] for t in years]
    cumulatives = [out["finance"][t]["cumulative_loss"] for t in years]
    discounted = sum(inst.discount_factor(t) * out["finance"][t]["loss"] for t in years)
    out["summary"] = {
        "cumulative_loss": sum(losses),
        "peak_cumulative_loss": max(cumulatives),
        "final_cash": out["finance"][last]["cash"],
        "discounted_loss": discounted,
        "commitments_after_horizon": sum(
            contract.price[s] * c[p, k, s] * max(0, s + contract.term - 1 - last)
            for p, prov in inst.providers.items()
            for k, contract in prov.contracts.items()
            for s in years
        ),
    }
    return out


def _years(t0: int, first: int, last: int) -> range:
    """The planning years from ``first`` to ``last`` (none before ``t0``), in order: the
    years a condition on ``s`` such as ``s ≤ t ≤ s + term − 1`` selects, without testing
    every year (the same terms in the same order, so the same sums)."""
    return range(max(t0, first), last + 1)


def _compare_table(name, frame, keys, expected, problems):
    seen = set()
    for row in frame.to_dict("records"):
        key = tuple(int(row[k]) if k == "year" else row[k] for k in keys)
        key = key[0] if len(key) == 1 else key
        seen.add(key)
        want = expected.get(key)
        if want is None:
            problems.append(f"{name}.csv: unexpected row {key}")
            continue
        for column, value in want.items():
            if not close(float(row[column]), value):
                problems.append(f"{name}.csv {key} {column}: table {row[column]!r}, recomputed {value!r}")
    for key in expected:
        if key not in seen:
            problems.append(f"{name}.csv: missing row {key}")


def check_tables(inst: Instance, tables: dict[str, pd.DataFrame], summary: dict | None = None) -> list[str]:
    """Recompute every figure and check every constraint; return the problems found.

    For a scenario instance, each case's rows are checked as a plain instance built from
    that case, the committed decisions must be the same in every case, and the summary's
    per-case and expected figures must follow."""
    if inst.scenarios is not None:
        problems = _check_scenarios(inst, tables, summary)
    else:
        problems = _check_plan(inst, tables, summary)
    if any(p.endswith(UNKNOWN) for p in problems):
        return problems
    if summary is not None and summary.get("max_violation") is not None:
        amount, label = max_violation(inst, tables)
        if not close(float(summary["max_violation"]), amount):
            problems.append(
                f"summary.json max_violation: {summary['max_violation']!r}, recomputed {amount!r} ({label})")
    return problems


def _check_scenarios(inst: Instance, tables: dict[str, pd.DataFrame], summary: dict | None) -> list[str]:
    problems: list[str] = []
    for n, case in inst.cases.items():
        case_summary = None
        if summary is not None:
            figures = summary["cases"][n]
            case_summary = {"objective": summary["objective"], **figures}
        problems += [f"case {n}: {p}" for p in _check_plan(case, case_tables(tables, n), case_summary)]
    last_committed = inst.last_committed_year
    procurement = tables["procurement"]
    committed = procurement[procurement["year"] <= last_committed]
    key = ["year", "provider", "source"]
    plans = {n: committed[committed["case"] == n].set_index(key)["capacity"].sort_index() for n in inst.cases}
    first = next(iter(plans.values()))
    for n, plan in plans.items():
        if list(plan.index) != list(first.index) or any(not close(a, b) for a, b in zip(plan, first)):
            problems.append(f"case {n}: the committed decisions (years up to {last_committed}) differ from the others")
    if summary is not None:
        cases = summary["cases"]
        expected = sum(c["probability"] * c["objective_value"] for c in cases.values())
        if not close(float(summary["expected_objective"]), expected):
            problems.append(f"summary.json expected_objective: {summary['expected_objective']!r}, recomputed {expected!r}")
    return problems


def _check_plan(inst: Instance, tables: dict[str, pd.DataFrame], summary: dict | None = None) -> list[str]:
    problems: list[str] = []
    problems += _check_procurement(inst, tables["procurement"])
    problems += _check_decision_keys(inst, tables)
    if problems and any(p.endswith(UNKNOWN) for p in problems):
        return problems  # the decisions name what the instance does not have: nothing to recompute
    expected = recompute(inst, tables)
    _compare_table("capacity", tables["capacity"], ("year", "provider"), expected["capacity"], problems)
    _compare_table("usage", tables["usage"], ("year", "provider", "workload"), expected["usage"], problems)
    _compare_table("service", tables["service"], ("year", "workload"), expected["service"], problems)
    _compare_table("finance", tables["finance"], ("year",), expected["finance"], problems)
    if summary is not None:
        want = dict(expected["summary"])
        want["objective_value"] = (
            want["peak_cumulative_loss"] if summary["objective"] == "peak_cumulative_loss" else want["discounted_loss"]
        )
        for key in ("objective_value", "cumulative_loss", "peak_cumulative_loss", "final_cash", "commitments_after_horizon"):
            if key in summary and not close(float(summary[key]), want[key]):
                problems.append(f"summary.json {key}: {summary[key]!r}, recomputed {want[key]!r}")
    problems += constraint_violations(inst, expected, tables)
    return problems


def _check_procurement(inst: Instance, frame: pd.DataFrame) -> list[str]:
    problems = []
    for row in frame.itertuples():
        prov = inst.providers.get(row.provider)
        where = f"procurement.csv {row.year} {row.provider} {row.source}"
        if prov is None or int(row.year) not in inst.year_list:
            problems.append(f"{where}: provider or year {UNKNOWN}")
            continue
        year = int(row.year)
        if float(row.capacity) <= 0:
            problems.append(f"{where}: capacity {row.capacity} is not > 0")
        if row.source == "build":
            build = prov.build
            if build is None:
                problems.append(f"{where}: provider cannot build")
                continue
            if not close(float(row.unit_price), build.capex[year]):
                problems.append(f"{where}: unit_price {row.unit_price} is not the capex {build.capex[year]}")
            if not (_blank(row.term) and _blank(row.upfront)):
                problems.append(f"{where}: a build has no term or upfront, got {row.term!r} and {row.upfront!r}")
            if _blank(row.online_from) or int(row.online_from) != year + build.lead_time:
                problems.append(f"{where}: online_from {row.online_from!r} is not {year} + lead_time {build.lead_time}")
            continue
        contract = prov.contracts.get(row.source)
        if contract is None:
            problems.append(f"{where}: contract {UNKNOWN}")
        elif year not in inst.signing_years(row.provider, row.source):
            problems.append(f"{where}: signed outside its available years")
        elif _blank(row.term) or int(row.term) != contract.term or not close(float(row.unit_price), contract.price[year]):
            problems.append(f"{where}: term/unit_price differ from the instance")
        elif _blank(row.upfront) or not close(float(row.upfront), contract.upfront[year]):
            problems.append(f"{where}: upfront {row.upfront!r} is not the contract's {contract.upfront[year]}")
        elif _blank(row.online_from) or int(row.online_from) != year:
            problems.append(f"{where}: online_from {row.online_from!r} is not the signing year {year}")
    return problems


#: The end of a problem that leaves no decisions to recompute from.
UNKNOWN = "not in the instance"


def _check_decision_keys(inst: Instance, tables: dict[str, pd.DataFrame]) -> list[str]:
    """Every decision names a provider, workload and year of the instance, and finance.csv
    has one row per planning year (the recomputation reads its debt by year)."""
    problems = []
    years = set(inst.year_list)
    for row in tables["usage"].itertuples():
        if row.provider not in inst.providers or row.workload not in inst.workloads or int(row.year) not in years:
            problems.append(f"usage.csv {row.year} {row.provider} {row.workload}: {UNKNOWN}")
    finance_years = [int(y) for y in tables["finance"]["year"]]
    if sorted(finance_years) != sorted(years):
        problems.append(f"finance.csv years {finance_years}: not the planning years, one row each; {UNKNOWN}")
    return problems


def _blank(value) -> bool:
    """A missing cell: None, NaN or pandas' NA (a blank in the CSV)."""
    return value is None or bool(pd.isna(value))


def constraint_violations(inst: Instance, expected: dict, tables: dict[str, pd.DataFrame]) -> list[str]:
    """Constraints 1-7, variable bounds and take-or-pay, checked on the recomputed figures."""
    return [f"violated: {r.text}" for r in residuals(inst, expected, tables) if r.text and r.amount > r.tolerance]


@dataclass(frozen=True)
class Residual:
    """How far the decisions miss one constraint: ``amount`` >= 0 (0 when it holds), in the
    constraint's own unit; ``tolerance`` is what the check allows. ``family`` is the
    constraint family's name in ``planner/model/lp.py`` (a row of ``planner/model/families.py``) (as in duals.csv), ``where`` its index."""

    family: str
    where: str
    amount: float
    tolerance: float
    text: str | None  # the check's wording in constraint_violations; None: the table comparison reports it

    @property
    def label(self) -> str:
        return f"{self.family} {self.where}".strip()


def residuals(inst: Instance, expected: dict, tables: dict[str, pd.DataFrame]) -> list[Residual]:
    """Every constraint of §2 (and the variables' bounds) with its violation, computed on
    the decisions and the original data; the figures are :func:`recompute`'s.

    Beside the inequalities, the tables' own ``cash`` and ``charge`` (variables in the
    LP) are held against what the decisions imply: ``cash_balance`` is the gap between the
    table's cash and the cash the balance gives, ``charge_covers_spend`` / ``take_or_pay``
    how far the table's charge falls short of the spend or the minimum."""
    out: list[Residual] = []
    years, t0 = inst.year_list, inst.years[0]

    def add(family, where, amount, tolerance, text):
        out.append(Residual(FAMILIES[family].name, where, max(0.0, float(amount)), tolerance, text))

    signed = defaultdict(float)
    for row in tables["procurement"].itertuples():
        signed[row.provider, row.source, int(row.year)] += float(row.capacity)
    for (p, k, s), value in signed.items():
        prov = inst.providers[p]
        cap = prov.build.max_per_year if k == "build" and prov.build else (
            prov.contracts[k].max_per_year if k in prov.contracts else None)
        family = "build_max_per_year" if k == "build" else "contract_max_per_year"
        add(family, f"{p} {k} {s}", -value, TOLERANCE * max(1, abs(value)), None)  # c >= 0: _check_procurement
        if cap is not None:
            add(family, f"{p} {k} {s}", value - cap[s], TOLERANCE * max(1, cap[s]), f"max_per_year {p} {k} {s}")
    allowed = {p: set(inst.allowed_workloads(p)) for p in inst.providers}
    usage = tables["usage"]
    for p, w, t, x in zip(*(usage[c].tolist() for c in ("provider", "workload", "year", "capacity"))):
        x = float(x)
        if x < 0:
            add("use_within_reach", f"{p} {w} {t}", -x, TOLERANCE, f"u >= 0 for {p} {w} {t}")
        if w not in allowed.get(p, ()):
            add("use_within_reach", f"{p} {w} {t}", abs(x), -1.0, f"{w} allowed on {p}")
    cash_table = {int(r.year): float(r.cash) for r in tables["finance"].itertuples()}
    charge_table = {(int(r.year), r.provider): float(r.charge) for r in tables["capacity"].itertuples()}
    for t in years:
        total = sum(expected["capacity"][t, p]["active"] for p in inst.providers)
        for p, prov in inst.providers.items():
            row = expected["capacity"][t, p]
            active = row["active"]
            tol = TOLERANCE * max(1, active)
            add("use_within_reach", f"{p} {t}", row["used"] - active, tol, f"1 use within reach {p} {t}")
            if prov.capacity is not None:
                add("provider_capacity", f"{p} {t}", active - prov.capacity[t], tol, f"2 provider capacity {p} {t}")
            if prov.min_capacity is not None:
                add("minimum_capacity", f"{p} {t}", prov.min_capacity[t] - active, tol, f"4 minimum capacity {p} {t}")
            if prov.min_share is not None:
                add("min_share", f"{p} {t}", prov.min_share[t] * total - active, TOLERANCE * max(1, total),
                    f"5 min share {p} {t}")
            if prov.max_share is not None:
                add("max_share", f"{p} {t}", active - prov.max_share[t] * total, TOLERANCE * max(1, total),
                    f"5 max share {p} {t}")
            if prov.max_decline is not None and t > t0:
                before = expected["capacity"][t - 1, p]["active"]
                add("gradual_decline", f"{p} {t}", (1 - prov.max_decline[t]) * before - active,
                    TOLERANCE * max(1, before), f"6 gradual decline {p} {t}")
            charge = charge_table.get((t, p))
            if charge is not None:
                tol = TOLERANCE * max(1, abs(row["spend"]), abs(charge))
                add("charge_covers_spend", f"{p} {t}", row["spend"] - charge, tol, None)
                if prov.min_spend is not None:
                    add("take_or_pay", f"{p} {t}", prov.min_spend[t] - charge, tol, None)
        for w, wl in inst.workloads.items():
            served = expected["service"][t, w]["served"]
            scale = TOLERANCE * max(1, wl.demand[t])
            add("service_floor", f"{w} {t}", wl.min_served[t] * wl.demand[t] - served, scale, f"3 service {w} {t}")
            add("service_cap", f"{w} {t}", served - wl.demand[t], scale, f"3 service {w} {t}")
        fin = expected["finance"][t]
        add("minimum_cash", f"{t}", inst.finance.min_cash[t] - fin["cash"], TOLERANCE * max(1, abs(fin["cash"])),
            f"7 minimum cash {t}")
        add("debt_limit", f"{t}", -fin["debt"], TOLERANCE, f"debt limit {t}")
        add("debt_limit", f"{t}", fin["debt"] - inst.finance.debt.limit[t], TOLERANCE * max(1, fin["debt"]),
            f"debt limit {t}")
        if t in cash_table:
            gap = abs(cash_table[t] - fin["cash"])
            add("cash_balance", f"{t}", gap, TOLERANCE * max(1, abs(fin["cash"])), None)
    return out


#: A violation smaller than this is solver round-off and reported as 0 (as in the tables).
NOISE = 1e-9


def max_violation(inst: Instance, tables: dict[str, pd.DataFrame]) -> tuple[float, str | None]:
    """The largest amount by which the tables' decisions miss a constraint of MODEL.md §2,
    in that constraint's unit, and which constraint (``"minimum_cash 2027"``; a scenario
    instance's names its case); ``(0.0, None)`` when every miss is below :data:`NOISE`."""
    if inst.scenarios is not None:
        worst: tuple[float, str | None] = (0.0, None)
        for n, case in inst.cases.items():
            amount, label = max_violation(case, case_tables(tables, n))
            if amount > worst[0]:
                worst = (amount, f"case {n}: {label}")
        amount, label = _nonanticipativity_gap(inst, tables)
        return (amount, label) if amount > worst[0] else worst
    found = residuals(inst, recompute(inst, tables, with_usage=False), tables)
    worst_residual = max(found, key=lambda r: r.amount, default=None)
    if worst_residual is None or not worst_residual.amount >= NOISE:
        return 0.0, None
    return worst_residual.amount, worst_residual.label


def _nonanticipativity_gap(inst: Instance, tables: dict[str, pd.DataFrame]) -> tuple[float, str | None]:
    """How far the committed decisions differ between cases (they must be equal)."""
    last_committed = inst.last_committed_year
    procurement = tables["procurement"]
    committed = procurement[procurement["year"] <= last_committed]
    by_key: dict[tuple, dict[str, float]] = defaultdict(dict)
    for row in committed.itertuples():
        by_key[int(row.year), row.provider, row.source][row.case] = float(row.capacity)
    worst: tuple[float, str | None] = (0.0, None)
    for (year, provider, source), values in by_key.items():
        amounts = [values.get(n, 0.0) for n in inst.cases]
        gap = max(amounts) - min(amounts)
        if gap >= NOISE and gap > worst[0]:
            worst = (gap, f"nonanticipativity {provider} {source} {year}")
    return worst


def check_folder(inst: Instance, folder: str | Path) -> list[str]:
    """Check a results folder written by ``planner solve`` (read by the one reader,
    :func:`planner.results.files.read_folder`)."""
    summary, tables, _ = read_folder(folder)
    return check_tables(inst, tables, summary)
