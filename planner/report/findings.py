"""The report's text: the objective, key figures, and what binds."""

from __future__ import annotations

import math
from typing import Any

from .folder import Results, ordered
from ..results import binding
from .measures import committed_years, shares, shortfalls, valued_duals
from .style import TOL, is_number, num, percent, year_list

__all__ = [
    "also_binds", "binding_constraints", "bindings", "case_figures", "derived_findings", "key_figures", "objective_sentence",
    "scenario_key_figures", "scenario_objective_sentence",
]


def _moves(start: float, end: float) -> str:
    """'grows from', 'falls from' or 'stays the same, from'."""
    return "grows from" if end > start + TOL else "falls from" if end < start - TOL else "stays the same, from"


def objective_sentence(r: Results) -> str:
    """What the plan minimises, and its optimum."""
    s, money = r.summary, r.money
    value = float(s["objective_value"])
    objective = str(s["objective"])
    if objective == "peak_cumulative_loss":
        text = (f"The plan minimises the peak cumulative loss (the deepest the losses run at any year end): "
                f"the optimum is {num(value)} {money}.")
    elif objective == "cumulative_loss":
        cumulative = s.get("cumulative_loss")
        discounted = isinstance(cumulative, (int, float)) and abs(cumulative - value) > 1e-6 * max(1.0, abs(value))
        text = (f"The plan minimises the {'discounted ' if discounted else ''}cumulative loss over "
                f"{r.years[0]}–{r.years[-1]}: the optimum is {num(value)} {money}")
        text += (f" (later years weigh less; undiscounted it is {num(cumulative)} {money})." if discounted else ".")
    else:
        text = f"The plan minimises {objective}: the optimum is {num(value)} {money}."
    return text


def key_figures(r: Results) -> list[str]:
    """The plan's key figures, one sentence each."""
    money, cap = r.money, r.capacity_unit
    first, last = r.years[0], r.years[-1]
    out = []
    loss, cumulative = r.series("loss"), r.series("cumulative_loss")
    total = float(loss.sum())
    peak_year = int(cumulative.idxmax())
    out.append(
        (f"Losses add up to {num(total)} {money} over {first}–{last}" if total >= 0
         else f"Over {first}–{last} the plan makes a cumulative profit of {num(-total)} {money}")
        + f"; the cumulative loss peaks at {num(float(cumulative.max()))} {money} at the end of {peak_year}."
    )
    profitable = [t for t in r.years if loss.loc[t] < -TOL]
    if profitable:
        out.append(f"The first year with a profit is {profitable[0]} ({num(-float(loss.loc[profitable[0]]))} {money}).")
    else:
        out.append("No year of the plan makes a profit.")
    revenue, capex = r.series("revenue"), float(r.series("capex").sum())
    out.append(f"Revenue {_moves(revenue.loc[first], revenue.loc[last])} {num(float(revenue.loc[first]))} {money} in {first} "
               f"to {num(float(revenue.loc[last]))} {money} in {last}; compute costs {num(float(r.series('compute_cost').sum()))} "
               f"{money} in total" + (f", plus {num(capex)} {money} of build capex." if capex > TOL else "."))
    cash, debt, funding = r.series("cash"), r.series("debt"), r.series("funding")
    lowest = float(cash.min())
    at_lowest = [t for t in r.years if abs(cash.loc[t] - lowest) <= 1e-6 * max(1.0, abs(lowest))]
    text = (f"Cash ends {last} at {num(float(cash.loc[last]))} {money} and is lowest at "
            f"{num(lowest)} {money} (end of {year_list(at_lowest)})")
    if float(funding.sum()) > TOL:
        text += f"; funding brings in {num(float(funding.sum()))} {money}"
    if (debt > TOL).any():
        text += f"; debt peaks at {num(float(debt.max()))} {money} (end of {int(debt.idxmax())})"
    out.append(text + ".")
    active = r.pivot("capacity", "active").sum(axis=1)
    share = shares(r)
    text = f"Active capacity {_moves(active.loc[first], active.loc[last])} {num(float(active.loc[first]))} {cap} in {first} to {num(float(active.loc[last]))} {cap} in {last}"
    if share.loc[first].notna().any() and share.loc[last].notna().any():
        text += (f"; the largest provider's share goes from {share.loc[first].max():.0%} ({share.loc[first].idxmax()}) "
                 f"to {share.loc[last].max():.0%} ({share.loc[last].idxmax()})")
    out.append(text + ".")
    service = r.tables["service"]
    demand, served = float(service["demand"].sum()), float(service["served"].sum())
    if demand > TOL:
        out.append(f"The plan serves {served / demand:.1%} of all demand (in compute units) over the horizon.")
    procurement = r.tables["procurement"]
    if len(procurement):
        built = procurement[procurement["source"] == "build"]
        signed = procurement[procurement["source"] != "build"]
        parts = []
        if len(signed):
            parts.append(f"signs {num(float(signed['capacity'].sum()))} {cap} of contracts")
        if len(built):
            parts.append(f"starts building {num(float(built['capacity'].sum()))} {cap}")
        out.append("Over the horizon the plan " + " and ".join(parts) + " (procurement.csv; each signing counted once, whatever its term).")
    after = r.summary.get("commitments_after_horizon")
    if isinstance(after, (int, float)) and after > TOL:
        out.append(f"Contracts signed in the plan still owe {num(float(after))} {money} after {last}, which the objective does not count.")
    return out


def bindings(r: Results, n: int = 3) -> list[binding.Binding]:
    """The ``n`` limits most worth relaxing, from duals.csv, by the one ranking
    (:func:`planner.results.binding.bindings`, as ``planner solve`` prints them); empty
    without duals.csv or when no limit binds."""
    frame = valued_duals(r)
    return [] if frame is None else binding.bindings(frame, binding.LIMIT_FAMILIES, n)


def also_binds(b: binding.Binding) -> str:
    """The other years a limit binds in, with their shadow prices ("" when none)."""
    import pandas as pd

    others = [int(row["year"]) for row in b.others if pd.notna(row["year"])]
    if not others:
        return ""
    unit = b.row["unit"]
    prices = [float(row["shadow_price"]) for row in b.others]
    spread = (f"{num(min(prices))} {unit} each" if num(min(prices)) == num(max(prices))
              else f"{num(min(prices))} to {num(max(prices))} {unit}")
    return f"It binds in {year_list(others)} too ({spread})."


#: Where the "What binds" sentences come from, when duals.csv ranks them.
RANKED_SOURCE = ("From duals.csv: the limits with the largest shadow prices (one sentence per limit, at its most "
                 "valuable year), ranked by value_per_money, money saved per money's worth of relaxation (a capacity "
                 "unit valued at the instance's typical price per capacity unit-year, a compute unit at that over its "
                 "typical efficiency), as planner solve lists them. The chart below shows the top rows.")


def binding_constraints(r: Results, n: int = 3) -> tuple[list[str], str]:
    """The ``n`` constraints that bind most, as sentences, and where they come from:
    :func:`bindings` when duals.csv ranks any limit, else what the tables show."""
    ranked = bindings(r, n)
    if ranked:
        return [b.sentence for b in ranked], RANKED_SOURCE
    sentences = derived_findings(r)[:n]
    if r.duals is None:
        source = ("duals.csv is not in the results folder, so these are read off the tables; the folder does not hold the "
                  "instance's limits (min_cash, debt limit, capacity limits), so where a limit binds is inferred, and said so.")
    else:
        source = ("duals.csv holds no limit with a non-zero shadow price, so these are read off the tables (the instance's "
                  "limits are not in the results folder).")
    return sentences, source


def derived_findings(r: Results) -> list[str]:
    """What the tables alone show about binding constraints, most certain first."""
    money, cap = r.money, r.capacity_unit
    out = []
    short = shortfalls(r)
    for p in r.providers:
        years = [t for t in r.years if short.loc[t, p] > 0]
        if years:
            out.append(f"{p}'s take-or-pay minimum spend binds in {year_list(years)}: it charges "
                       f"{num(float(short[p].sum()))} {money} in total beyond what the capacity used costs (charge − spend).")
    cash = r.series("cash")
    lowest = float(cash.min())
    at_lowest = [t for t in r.years if abs(cash.loc[t] - lowest) <= 1e-6 * max(1.0, abs(lowest))]
    if len(at_lowest) >= 2:
        out.append(f"Cash ends {year_list(at_lowest)} at the same lowest level, {num(lowest)} {money}: most likely the "
                   "minimum-cash floor binds there (inferred: min_cash is not in the results folder).")
    idle = r.pivot("capacity", "idle")
    for p in r.providers:
        years = [t for t in r.years if idle.loc[t, p] > TOL]
        if years:
            out.append(f"{num(float(idle[p].sum()))} {cap}-years of {p} capacity are paid for but idle ({year_list(years)}): "
                       "a commitment keeps them (an earlier contract's term, existing capacity, minimum capacity, a "
                       "share floor or gradual decline).")
    debt = r.series("debt")
    if (debt > TOL).any():
        years = [t for t in r.years if debt.loc[t] > TOL]
        out.append(f"The plan borrows at the end of {year_list(years)} (up to {num(float(debt.max()))} {money}): cash and "
                   "funding alone do not cover those years (whether the debt limit binds is not in the folder).")
    service = r.tables["service"]
    unserved = service[service["unserved"] > TOL]
    for w in ordered(unserved["workload"]):
        rows = unserved[unserved["workload"] == w]
        out.append(f"{num(float(rows['unserved'].sum()))} compute units of {w} demand are left unserved "
                   f"({year_list(rows['year'].astype(int))}): serving them would cost more than they earn, or no capacity was to be had.")
    if unserved.empty:
        out.append("Every workload's demand is served in full in every year: demand, not a capacity limit, sets how much is bought.")
    return out


def _risk(summary: dict[str, Any]) -> tuple[Any, Any]:
    """summary.json's risk weight λ (0 when not given) and α."""
    risk = summary.get("risk") if isinstance(summary.get("risk"), dict) else {}
    return risk.get("weight", 0.0), risk.get("alpha")


def scenario_objective_sentence(r: Results) -> str:
    """What one plan for every case minimises, and its optimum."""
    s, money = r.summary, r.money
    weight, alpha = _risk(s)
    if s["objective"] == "peak_cumulative_loss":
        each = "peak cumulative loss"
    elif s["objective"] == "cumulative_loss":
        discounted = any(is_number(c.get("objective_value")) and is_number(c.get("cumulative_loss"))
                         and abs(c["objective_value"] - c["cumulative_loss"]) > 1e-6 * max(1.0, abs(c["cumulative_loss"]))
                         for c in r.cases.values())
        each = f"{'discounted ' if discounted else ''}cumulative loss over {r.years[0]}–{r.years[-1]}"
    else:
        each = str(s["objective"])
    value = f"{num(float(s['objective_value']))} {money}"
    if is_number(weight) and weight > 0:
        return (f"One plan for {len(r.cases)} cases minimises (1 − λ) × the expected case objective + λ × its CVaR at "
                f"α = {alpha:g} (λ = {weight:g}), a case's objective being its {each}: the optimum is {value}.")
    return (f"One plan for {len(r.cases)} cases minimises the expected (probability-weighted) {each}: "
            f"the optimum is {value}.")


def scenario_key_figures(r: Results) -> list[str]:
    """Expected objective, CVaR and the committed years."""
    s, money = r.summary, r.money
    weight, alpha = _risk(s)
    out = []
    if is_number(s.get("expected_objective")):
        out.append(f"Expected objective: {num(float(s['expected_objective']))} {money}, the probability-weighted mean of "
                   "the cases' objectives.")
    if is_number(s.get("cvar")):
        tail = f" at α = {alpha:g}, the mean case objective over the worst {percent(1 - alpha)} of probability" if is_number(alpha) else ""
        out.append(f"CVaR{tail}: {num(float(s['cvar']))} {money}; "
                   + (f"it weighs {weight:g} in the objective." if is_number(weight) and weight > 0
                      else "reported only (risk weight 0: the objective is the expected value)."))
    committed = committed_years(r)
    if not committed:
        out.append("Committed years: none; every case has its own signings and builds from the first year.")
    else:
        out.append(f"Committed years: {year_list(committed)} (commit_years {len(committed)}); their signings and builds "
                   "are one decision shared by every case" + ("." if committed == r.years else "; later years adapt to each case."))
    return out


def case_figures(r: Results) -> list[dict[str, Any]]:
    """Per case: probability, objective, cumulative loss and peak (summary.json), final
    cash (summary.json, else finance.csv's last year)."""
    finance = r.case_finance
    rows = []
    for n, c in r.cases.items():
        cash = finance[finance["case"] == n].sort_values("year")["cash"]
        rows.append({
            "case": n, "probability": float(c["probability"]),
            **{key: float(c[key]) if is_number(c.get(key)) else math.nan
               for key in ("objective_value", "cumulative_loss", "peak_cumulative_loss")},
            "final_cash": float(c["final_cash"]) if is_number(c.get("final_cash")) else float(cash.iloc[-1]),
        })
    return rows
