"""What the report's charts and text measure in a results folder (:class:`Results`):
demand in capacity units, take-or-pay shortfalls, shares, the cash floor, cases, and
duals.csv's rows ranked."""

from __future__ import annotations

from ..results import binding
from .folder import Results
from .style import TOL, is_number

__all__ = [
    "cash_floor", "committed_years", "cumulative_loss_by_case", "demand_in_capacity", "owned_opex", "ranked_duals",
    "shares", "shortfalls", "dual_label", "estimated_unit_values", "valued_duals",
]

def cumulative_loss_by_case(results: Results):
    """finance.csv's cumulative loss as a year × case frame (summary.json's case order),
    and its probability-weighted mean per year."""
    import pandas as pd

    wide = results.case_finance.pivot_table(index="year", columns="case", values="cumulative_loss", aggfunc="sum")
    wide = wide.reindex(index=results.years, columns=list(results.cases), fill_value=0.0).astype(float)
    probability = pd.Series({n: float(c["probability"]) for n, c in results.cases.items()})
    return wide, wide.mul(probability, axis=1).sum(axis=1)


def committed_years(results: Results) -> list[int]:
    """The first ``commit_years`` planning years (MODEL.md §5): their signings and builds
    are one decision for every case. Every year when summary.json does not say."""
    n = results.summary.get("commit_years")
    n = len(results.years) if not is_number(n) else max(0, min(int(n), len(results.years)))
    return results.years[:n]


def demand_in_capacity(results: Results):
    """Each workload's demand in capacity-equivalent units, and the (workload, year) pairs
    converted at a fallback efficiency.

    Demand is in compute units; it is divided by the efficiency (compute per capacity
    unit) at which the plan served that workload that year: Σ compute / Σ capacity over
    the providers in usage.csv. Where the plan gave the workload no capacity that year,
    the year's efficiency over all workloads is used, then the whole plan's, then 1.
    """
    usage = results.tables["usage"]
    capacity = results.pivot("usage", "capacity", by="workload")
    compute = results.pivot("usage", "compute", by="workload")
    by_year = usage.groupby("year")[["capacity", "compute"]].sum().reindex(results.years, fill_value=0.0)
    total_cap, total_compute = float(usage["capacity"].sum()), float(usage["compute"].sum())
    overall = total_compute / total_cap if total_cap > TOL else 1.0
    demand = results.pivot("service", "demand", by="workload")
    out = demand.copy()
    fallback = set()
    for w in results.workloads:
        for t in results.years:
            if capacity.loc[t, w] > TOL and compute.loc[t, w] > TOL:
                eff = compute.loc[t, w] / capacity.loc[t, w]
            else:
                year_cap, year_compute = by_year.loc[t, "capacity"], by_year.loc[t, "compute"]
                eff = year_compute / year_cap if year_cap > TOL and year_compute > TOL else overall
                if demand.loc[t, w] > TOL:
                    fallback.add((w, t))
            out.loc[t, w] = demand.loc[t, w] / eff
    return out, fallback


def shortfalls(results: Results):
    """Take-or-pay shortfalls: charge − spend where positive (year × provider)."""
    gap = results.pivot("capacity", "charge") - results.pivot("capacity", "spend")
    return gap.where(gap > TOL, 0.0)


def owned_opex(results: Results):
    """Opex of owned capacity per year: compute_cost − Σ charge (MODEL.md §2)."""
    gap = results.series("compute_cost") - results.pivot("capacity", "charge").sum(axis=1)
    return gap.where(gap > TOL, 0.0)


def cash_floor(results: Results) -> tuple[dict[int, float], str]:
    """The minimum-cash floor as far as the folder shows it: ``{year: floor}`` and where
    it comes from. With duals.csv: the years whose ``minimum_cash`` row has a positive
    shadow price (the floor binds, so it equals that year's cash). Otherwise empty: the
    folder does not hold ``min_cash``."""
    duals = results.duals
    if duals is None or duals.empty:
        return {}, "none"
    rows = duals[(duals["family"] == "minimum_cash") & (duals["shadow_price"] > TOL) & duals["year"].notna()]
    cash = results.series("cash")
    floor = {int(t): float(cash.loc[int(t)]) for t in rows["year"] if int(t) in cash.index}
    return floor, "duals"


def shares(results: Results):
    """Each provider's share of the year's total active capacity (NaN when it is 0)."""
    active = results.pivot("capacity", "active")
    total = active.sum(axis=1)
    return active.div(total.where(total > TOL), axis=0)


def ranked_duals(results: Results):
    """duals.csv's rows as :func:`planner.results.binding.ranked` ranks them (the limits
    with a positive shadow price, by ``value_per_money``), and ``identities``: False;
    when no limit binds, the other non-zero rows by the size of ``value_per_money``
    instead, and True. ``(None, False)`` without duals.csv or rows."""
    frame = valued_duals(results)
    if frame is None:
        return None, False
    limits = binding.ranked(frame, binding.LIMIT_FAMILIES)
    if not limits.empty:
        return limits, False
    rest = frame[frame["shadow_price"].abs() > TOL]
    if rest.empty:
        return None, False
    order = rest["value_per_money"].abs().sort_values(ascending=False, kind="stable").index
    return rest.loc[order], True


def valued_duals(results: Results):
    """duals.csv's rows with ``value_per_money`` (None without rows). A folder written
    before duals.csv had that column gets it from :func:`estimated_unit_values`."""
    import pandas as pd

    duals = results.duals
    if duals is None or duals.empty:
        return None
    frame = duals.copy()
    if "value_per_money" in frame.columns:
        frame["value_per_money"] = pd.to_numeric(frame["value_per_money"], errors="coerce").fillna(0.0)
    else:
        values = estimated_unit_values(results)
        kinds = [_unit_kind(u, results) for u in frame["unit"]]
        frame["value_per_money"] = [p / values.get(k, 1.0) for p, k in zip(frame["shadow_price"], kinds)]
    return frame


def dual_label(row) -> str:
    """A duals.csv row in a few words: ``provider capacity · stargate · 2028``."""
    import pandas as pd

    what = str(row["family"]).replace("_", " ")
    parts = [what] + [str(row[c]) for c in ("provider", "workload", "contract") if c in row.index and _named(row[c])]
    if pd.notna(row["year"]):
        parts.append(str(int(row["year"])))
    return " · ".join(parts)


def _named(value) -> bool:
    """A name column's cell holds a name (read back, a blank is "")."""
    return isinstance(value, str) and value != ""


def estimated_unit_values(results: Results) -> dict[str, float]:
    """Money value of one unit of each kind, measured in the plan, for a duals.csv
    without ``value_per_money`` (an older folder; the folder has no prices): a money unit
    is 1; a capacity unit the median price per capacity unit-year the plan pays for rented
    capacity (spend ÷ existing + contracted, capacity.csv); a compute unit that over the
    median efficiency (usage.csv)."""
    import numpy as np

    cap = results.tables["capacity"]
    rented = cap["existing"] + cap["contracted"]
    prices = (cap["spend"] / rented)[rented > TOL]
    prices = prices[prices > 0]
    price = float(np.median(prices)) if len(prices) else 1.0
    usage = results.tables["usage"]
    used = usage[(usage["capacity"] > TOL) & (usage["compute"] > TOL)]
    efficiency = float(np.median(used["compute"] / used["capacity"])) if len(used) else 1.0
    return {"money": 1.0, "capacity": price, "compute": price / efficiency}


def _unit_kind(unit: str, results: Results) -> str:
    per = unit.split(" per ", 1)[1].strip() if " per " in unit else unit.strip()
    if per == results.money:
        return "money"
    if per == results.capacity_unit:
        return "capacity"
    if per.startswith("compute"):
        return "compute"
    return per or "other"
