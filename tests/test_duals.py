"""Shadow prices (planner.solver.duals, duals.csv).

(a) On tiny instances solved by hand, each shadow price equals the marginal value worked
    out in the docstring. Sign convention (planner.solver.duals): the shadow price is how much
    the objective FALLS when the constraint is RELAXED by one unit.
(b) On random instances, every checked shadow price lies between the left and right
    finite-difference derivatives of the optimal objective in the constraint's data
    number (the LP value is convex in a right-hand side, so this holds for any step).
(c) duals.csv is written, reads back the same, and an infeasible solve writes nothing.

Conventions as in test_hand_computed.py: one-year contracts are named ``od``, no
discounting unless said, ample initial cash (100) unless the test is about cash.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import planner
from planner.solver.duals import COLUMNS, LIMIT_FAMILIES, ranked, top_constraints
from planner.instance.errors import InstanceError
from planner.results.files import RESULT_FILES
from planner.results.folder import ResultsError

from .strategies import instances
from .test_scenarios import scenario_instances

ABS = 1e-7


def solved(data: dict, objective: str | None = None):
    plan = planner.solve(data, objective=objective)
    assert plan.status == "optimal"
    return plan


def shadow(plan, family: str, year: int, **keys) -> float:
    """The shadow price of one constraint; 0 when duals.csv has no row for it."""
    d = plan.duals
    rows = d[(d["family"] == family) & (d["year"] == year)]
    for column, value in keys.items():
        rows = rows[rows[column] == value]
    assert len(rows) <= 1, rows
    return float(rows["shadow_price"].iloc[0]) if len(rows) else 0.0


AMPLE = {"initial_cash": 100}
#: The shipped toy instance (the model has every constraint component, empty or not).
TOY = str(Path(__file__).resolve().parents[1] / "instances" / "toy.yaml")


# ======================================================================================
# (a) Hand-computed shadow prices
# ======================================================================================


def test_provider_capacity_and_service_floor():
    """Demand 3 compute units, all of it required. ``cheap`` rents at 1 per GW (efficiency
    1, so 1 per compute unit) but has only 1 GW; ``dear`` rents at 3 per GW with
    efficiency 2, so 1.5 per compute unit.

    Optimum: 1 GW cheap (1 compute, cost 1) + 1 GW dear (2 compute, cost 3) = 4.
    service_floor: one compute unit less needed → ½ GW less of dear → saves 1.5
                   (per compute unit).
    provider_capacity[cheap]: 1 GW more of cheap → 1 compute moves from dear (1.5) to
                   cheap (1) → saves 0.5 (per GW).
    """
    plan = solved({
        "years": [2025, 2025], "units": {"money": "USD billion", "capacity": "GW"}, "finance": AMPLE,
        "workloads": {"w": {"demand": 3}},
        "providers": {
            "cheap": {"capacity": 1, "contracts": {"od": {"term": 1, "price": 1}}},
            "dear": {"efficiency": 2, "contracts": {"od": {"term": 1, "price": 3}}},
        },
    })
    assert plan.objective_value == pytest.approx(4, abs=ABS)
    assert shadow(plan, "service_floor", 2025, workload="w") == pytest.approx(1.5, abs=ABS)
    assert shadow(plan, "provider_capacity", 2025, provider="cheap") == pytest.approx(0.5, abs=ABS)
    d = plan.duals
    row = d[d["family"] == "provider_capacity"].iloc[0]
    assert row["unit"] == "USD billion per GW"
    assert row["meaning"] == "1 more GW of cheap capacity in 2025 lowers the cumulative loss by 0.5 USD billion"
    floor = d[d["family"] == "service_floor"].iloc[0]
    assert floor["unit"] == "USD billion per compute unit"


def test_minimum_cash_with_borrowing():
    """(test_hand_computed's test_7.) No cash; the 2025 demand costs 2 (od), min_cash 1,
    so debt[2025] = 3 and the 2026 interest is 0.1 · 3 = 0.3; 2026 base revenue 10.

    minimum_cash[2025]: a floor 1 lower → borrow 1 less → saves 0.1 interest.
    cash_balance[2025]: 1 more cash in 2025 → likewise borrow 1 less → 0.1.
    In 2026 cash is far above the floor: no shadow price. The debt limit (10) is slack.
    """
    plan = solved({
        "years": [2025, 2026],
        "workloads": {"w": {"demand": {2025: 1, 2026: 0}}},
        "finance": {"min_cash": 1, "base_revenue": {2025: 0, 2026: 10}, "debt": {"limit": 10, "rate": 0.1}},
        "providers": {"m": {"contracts": {"od": {"term": 1, "price": 2}}}},
    })
    assert plan.objective_value == pytest.approx(2 + 0.3 - 10, abs=ABS)
    assert shadow(plan, "minimum_cash", 2025) == pytest.approx(0.1, abs=ABS)
    assert shadow(plan, "cash_balance", 2025) == pytest.approx(0.1, abs=ABS)
    assert shadow(plan, "minimum_cash", 2026) == 0
    assert shadow(plan, "cash_balance", 2026) == 0
    assert shadow(plan, "debt_limit", 2025) == 0
    # serving 1 more compute unit in 2025 costs the od price 2 plus the interest on
    # borrowing it, 0.2
    assert shadow(plan, "service_floor", 2025, workload="w") == pytest.approx(2.2, abs=ABS)


def test_debt_limit_cash_balance_and_charge():
    """Demand 1 in 2026 only. ``pre`` (term 2, signed in 2025 only) costs an upfront 2 per
    GW in 2025 and nothing after; ``od`` costs 5 in 2026. Cash 0 in 2025 and debt at
    most 1 (rate 0.1) there, none allowed in 2026; funding 10 arrives in 2026.

    With x GW of pre: 2x ≤ debt ≤ 1 (cash ≥ 0), objective 2x + 0.1·debt + 5(1 − x).
    Each unit of pre saves 3 − 0.2 = 2.8, so debt = 1, x = ½: objective 3.6.
    debt_limit[2025]: 1 more debt → ½ GW more pre: the objective changes by
                      2·½ + 0.1 − 5·½ = −1.4, so the shadow price is 1.4.
    minimum_cash[2025]: a floor 1 lower → ½ more pre without more debt → 3·½ = 1.5.
    cash_balance[2025]: 1 more cash in 2025 → the same → 1.5; 2026 cash is slack → 0.
    charge_covers_spend[m, 2025]: charging 1 less in 2025 lowers the loss by 1 and frees
                      1 cash (worth 1.5): 2.5; in 2026 only the loss: 1.
    """
    plan = solved({
        "years": [2025, 2026],
        "workloads": {"w": {"demand": {2025: 0, 2026: 1}}},
        "finance": {"initial_cash": 0, "funding": {2025: 0, 2026: 10},
                    "debt": {"limit": {2025: 1, 2026: 0}, "rate": 0.1}},
        "providers": {"m": {"contracts": {
            "od": {"term": 1, "price": 5},
            "pre": {"term": 2, "price": 0, "upfront": 2, "available": [2025, 2025]},
        }}},
    })
    assert plan.objective_value == pytest.approx(3.6, abs=ABS)
    assert shadow(plan, "debt_limit", 2025) == pytest.approx(1.4, abs=ABS)
    assert shadow(plan, "minimum_cash", 2025) == pytest.approx(1.5, abs=ABS)
    assert shadow(plan, "cash_balance", 2025) == pytest.approx(1.5, abs=ABS)
    assert shadow(plan, "cash_balance", 2026) == 0
    assert shadow(plan, "charge_covers_spend", 2025, provider="m") == pytest.approx(2.5, abs=ABS)
    assert shadow(plan, "charge_covers_spend", 2026, provider="m") == pytest.approx(1, abs=ABS)
    d = plan.duals
    assert d[d["family"] == "debt_limit"]["unit"].tolist() == ["money per money"]


def test_take_or_pay_discounted():
    """Demand 1 in 2026 only, od 2 per GW; take-or-pay minimum 3 in 2026; discount 10%.
    The charge is max(spend 2, minimum 3) = 3, weighted 1/1.1.
    take_or_pay[m, 2026]: while the minimum is above the spend, each unit it is lowered
    saves 1 in 2026, weighted 1/1.1 = 0.90909.
    """
    plan = solved({
        "years": [2025, 2026], "discount_rate": 0.1, "finance": AMPLE,
        "workloads": {"w": {"demand": {2025: 0, 2026: 1}}},
        "providers": {"m": {"min_spend": {2025: 0, 2026: 3}, "contracts": {"od": {"term": 1, "price": 2}}}},
    })
    assert plan.objective_value == pytest.approx(3 / 1.1, abs=ABS)
    assert shadow(plan, "take_or_pay", 2026, provider="m") == pytest.approx(1 / 1.1, abs=ABS)
    # the spend is below the minimum: paying it costs nothing extra
    assert shadow(plan, "charge_covers_spend", 2026, provider="m") == 0
    assert "lowers the discounted cumulative loss by 0.9091 money" in plan.duals["meaning"].iloc[0]


def test_contract_and_build_max_per_year():
    """Demand 2, one year. ``cheap`` contract: 1 per GW, at most ½ a year; a build with
    capex 1.5 (lead 0, expensed at once), at most ½ a year; ``od`` at 3 per GW.
    Optimum ½ cheap + ½ build + 1 od = 0.5 + 0.75 + 3 = 4.25.
    contract_max_per_year: 1 GW more cheap replaces od: 3 − 1 = 2.
    build_max_per_year: 1 GW more build replaces od: 3 − 1.5 = 1.5.
    """
    plan = solved({
        "years": [2025, 2025], "finance": AMPLE,
        "workloads": {"w": {"demand": 2}},
        "providers": {"a": {
            "contracts": {"cheap": {"term": 1, "price": 1, "max_per_year": 0.5}, "od": {"term": 1, "price": 3}},
            "build": {"capex": 1.5, "lead_time": 0, "max_per_year": 0.5},
        }},
    })
    assert plan.objective_value == pytest.approx(4.25, abs=ABS)
    assert shadow(plan, "contract_max_per_year", 2025, provider="a", contract="cheap") == pytest.approx(2, abs=ABS)
    assert shadow(plan, "build_max_per_year", 2025, provider="a") == pytest.approx(1.5, abs=ABS)
    d = plan.duals
    assert d[d["family"] == "contract_max_per_year"]["meaning"].tolist() == [
        "1 more capacity of a's cheap contract allowed to be signed in 2025 lowers the cumulative loss by 2 money"
    ]
    assert d[d["family"] == "build_max_per_year"]["meaning"].tolist() == [
        "1 more capacity of a build allowed to start in 2025 lowers the cumulative loss by 1.5 money"
    ]


def test_service_cap_and_minimum_capacity():
    """Optional inference (revenue 5 per compute unit, demand 1) on ``m`` (efficiency 2,
    od 2 per GW), which must hold at least 2 GW: 4 compute units, 1 of them used.
    Objective 2·2 − 5 = −1.
    service_cap: 1 more compute unit of demand runs on idle capacity: earns 5.
    minimum_capacity: a minimum 1 GW lower saves 1 GW of od: 2.
    """
    plan = solved({
        "years": [2025, 2025], "finance": AMPLE,
        "workloads": {"inf": {"demand": 1, "min_served": 0, "revenue": 5}},
        "providers": {"m": {"efficiency": 2, "min_capacity": 2, "contracts": {"od": {"term": 1, "price": 2}}}},
    })
    assert plan.objective_value == pytest.approx(-1, abs=ABS)
    assert shadow(plan, "service_cap", 2025, workload="inf") == pytest.approx(5, abs=ABS)
    assert shadow(plan, "minimum_capacity", 2025, provider="m") == pytest.approx(2, abs=ABS)


def test_peak_duals_are_the_first_stage():
    """Peak objective. Demand 1 in each of 2025 and 2026; od costs 1 then 3; base
    revenue 10 in 2027. Cumulative loss: 1, 4, −6, so the peak is 4 (end of 2026).
    Shadow prices are those of the first stage (minimise the peak):
    peak_bound[2026] is 1 (the whole peak); the service floors of 2025 and 2026 each move
    the peak by that year's od price, 1 and 3; the 2027 floor does not move the peak
    (service_floor[2027] = 0), although in the second stage (minimise the cumulative
    loss) serving 1 less in 2027 would save its price 2.
    """
    plan = solved({
        "years": [2025, 2027], "objective": "peak_cumulative_loss",
        "workloads": {"w": {"demand": {2025: 1, 2026: 1, 2027: 1}}},
        "finance": {"initial_cash": 100, "base_revenue": {2025: 0, 2026: 0, 2027: 10}},
        "providers": {"m": {"contracts": {"od": {"term": 1, "price": {2025: 1, 2026: 3, 2027: 2}}}}},
    })
    assert plan.objective_value == pytest.approx(4, abs=ABS)
    assert shadow(plan, "peak_bound", 2026) == pytest.approx(1, abs=ABS)
    assert shadow(plan, "service_floor", 2025, workload="w") == pytest.approx(1, abs=ABS)
    assert shadow(plan, "service_floor", 2026, workload="w") == pytest.approx(3, abs=ABS)
    assert shadow(plan, "service_floor", 2027, workload="w") == 0
    assert all("peak cumulative loss" in text for text in plan.duals["meaning"])


def test_top_constraints_rank_by_value_per_money():
    """Demand 2, one year. ``a`` rents at 1 per GW but has 1 GW; ``b`` rents ``x`` at 8
    (at most ½ GW) and ``od`` at 10; ``c`` has nothing to rent but a take-or-pay minimum
    of 1. Optimum: 1 GW a + ½ x + ½ od = 1 + 4 + 5, plus c's 1 = 11.

    Shadow prices: service_floor 10 per compute unit (od), provider_capacity[a] 10 − 1 = 9
    per GW, contract_max_per_year[x] 10 − 8 = 2 per GW, take_or_pay[c] 1 per money.
    Ranked per money's worth: a capacity unit is worth the typical price 8 (the median
    of 1, 8, 10), a compute unit 8 / efficiency 1 = 8. So: floor 10/8 = 1.25, a 9/8 = 1.125,
    take-or-pay 1/1 = 1, x 2/8 = 0.25: the minimum spend outranks x although its raw
    shadow price is smaller.
    """
    plan = solved({
        "years": [2025, 2025], "finance": AMPLE,
        "workloads": {"w": {"demand": 2}},
        "providers": {
            "a": {"capacity": 1, "contracts": {"od": {"term": 1, "price": 1}}},
            "b": {"contracts": {"od": {"term": 1, "price": 10}, "x": {"term": 1, "price": 8, "max_per_year": 0.5}}},
            "c": {"min_spend": 1},
        },
    })
    assert plan.objective_value == pytest.approx(11, abs=ABS)
    assert shadow(plan, "service_floor", 2025, workload="w") == pytest.approx(10, abs=ABS)
    assert shadow(plan, "provider_capacity", 2025, provider="a") == pytest.approx(9, abs=ABS)
    assert shadow(plan, "contract_max_per_year", 2025, provider="b", contract="x") == pytest.approx(2, abs=ABS)
    assert shadow(plan, "take_or_pay", 2025, provider="c") == pytest.approx(1, abs=ABS)
    table = ranked(plan)
    assert set(table["family"]) <= set(LIMIT_FAMILIES)
    assert table["family"].tolist() == ["service_floor", "provider_capacity", "take_or_pay", "contract_max_per_year"]
    assert table["value_per_money"].tolist() == pytest.approx([1.25, 1.125, 1, 0.25], abs=ABS)
    assert top_constraints(plan, 3) == [
        "a w service floor 1 compute unit lower in 2025 lowers the cumulative loss by 10 money",
        "1 more capacity of a capacity in 2025 lowers the cumulative loss by 9 money",
        "a c minimum spend 1 money lower in 2025 lowers the cumulative loss by 1 money",
    ]
    assert top_constraints(plan, 0) == []
    assert len(top_constraints(plan, 10)) == 4  # identities (use_within_reach, ...) are not ranked


def test_top_constraints_name_each_limit_once():
    """Two years, demand 1 each; ``b`` rents at 10, ``a`` at 1 but has ½ GW a year.
    The floor is worth 10 per compute unit each year, a's capacity 9 per GW each year;
    the typical capacity price is 10 (median of 1, 10), so per money's worth: floors 1,
    capacities 0.9. ranked() lists all four; top_constraints names the floor and the
    capacity once each, in their first year (ties keep the model's order), and leaves
    out the demand cap (worth 0 here anyway: no revenue) and the identities.
    """
    plan = solved({
        "years": [2025, 2026], "finance": AMPLE,
        "workloads": {"w": {"demand": 1}},
        "providers": {
            "a": {"capacity": 0.5, "contracts": {"od": {"term": 1, "price": 1}}},
            "b": {"contracts": {"od": {"term": 1, "price": 10}}},
        },
    })
    table = ranked(plan)
    assert list(zip(table["family"], table["year"])) == [
        ("service_floor", 2025), ("service_floor", 2026), ("provider_capacity", 2025), ("provider_capacity", 2026),
    ]
    assert table["value_per_money"].tolist() == pytest.approx([1, 1, 0.9, 0.9], abs=ABS)
    assert top_constraints(plan) == [
        "a w service floor 1 compute unit lower in 2025 lowers the cumulative loss by 10 money",
        "1 more capacity of a capacity in 2025 lowers the cumulative loss by 9 money",
    ]
    # the families to rank can be chosen
    assert top_constraints(plan, 1, families=("provider_capacity",)) == [
        "1 more capacity of a capacity in 2025 lowers the cumulative loss by 9 money"
    ]


# ======================================================================================
# (b) Finite differences on random instances
# ======================================================================================

#: The families whose right-hand side is one number of the instance (see moved()); the
#: last two are the equality families: funding moves cash_balance, existing_cost moves
#: what a provider charges.
DATA_FAMILIES = (
    "provider_capacity", "minimum_cash", "debt_limit", "service_floor", "service_cap",
    "minimum_capacity", "contract_max_per_year", "build_max_per_year", "take_or_pay",
    "cash_balance", "charge_covers_spend",
)
STEP = 1e-2


def _explicit(series: dict, year: int, value: float) -> dict:
    """A yearly series as an explicit per-year mapping, with ``year`` set to ``value``."""
    out = {int(y): float(v) for y, v in series.items()}
    out[year] = value
    return out


def moved(data: dict, inst, row, step: float) -> dict | None:
    """``data`` with the right-hand side of ``row``'s constraint relaxed by ``step``
    (tightened when ``step`` < 0), or None when that needs invalid data (e.g. a negative
    minimum cash or a fraction above 1)."""
    new = copy.deepcopy(data)
    family, t = row.family, int(row.year)
    p, w, k = row.provider, row.workload, row.contract

    def put(target: dict, key: str, series: dict, value: float):
        if value < 0:
            return None
        target[key] = _explicit(series, t, value)
        return new

    if family == "provider_capacity":
        s = inst.providers[p].capacity
        return put(new["providers"][p], "capacity", s, s[t] + step)
    if family == "minimum_capacity":
        s = inst.providers[p].min_capacity
        return put(new["providers"][p], "min_capacity", s, s[t] - step)
    if family == "take_or_pay":
        s = inst.providers[p].min_spend
        return put(new["providers"][p], "min_spend", s, s[t] - step)
    if family == "contract_max_per_year":
        s = inst.providers[p].contracts[k].max_per_year
        return put(new["providers"][p]["contracts"][k], "max_per_year", s, s[t] + step)
    if family == "build_max_per_year":
        s = inst.providers[p].build.max_per_year
        return put(new["providers"][p]["build"], "max_per_year", s, s[t] + step)
    if family == "minimum_cash":
        s = inst.finance.min_cash
        return put(new.setdefault("finance", {}), "min_cash", s, s[t] - step)
    if family == "debt_limit":
        s = inst.finance.debt.limit
        return put(new.setdefault("finance", {}).setdefault("debt", {}), "limit", s, s[t] + step)
    if family == "cash_balance":  # 1 more cash in year t: funding
        s = inst.finance.funding
        return put(new.setdefault("finance", {}), "funding", s, s[t] + step)
    if family == "charge_covers_spend":  # 1 less charged: the existing capacity's cost
        s = inst.providers[p].existing_cost
        return put(new["providers"][p], "existing_cost", s, s[t] - step)
    wl = inst.workloads[w]
    demand, share = wl.demand[t], wl.min_served[t]
    if family == "service_floor":  # floor = share · demand; move the share
        if demand <= 0:
            return None
        new_share = (share * demand - step) / demand
        if not 0 <= new_share <= 1:
            return None
        new["workloads"][w]["min_served"] = _explicit(wl.min_served, t, new_share)
        return new
    if family == "service_cap":  # move the demand, keeping the floor share · demand
        new_demand = demand + step
        if new_demand <= 0:
            return None
        new_share = share * demand / new_demand
        if not 0 <= new_share <= 1:
            return None
        new["workloads"][w]["demand"] = _explicit(wl.demand, t, new_demand)
        new["workloads"][w]["min_served"] = _explicit(wl.min_served, t, new_share)
        return new
    raise AssertionError(family)


def objective_of(data: dict) -> float | None:
    """The first-stage optimum of ``data``; None when infeasible or invalid."""
    try:
        plan = planner.solve(data)
    except InstanceError:
        return None
    return plan.objective_value if plan.status == "optimal" else None


def pinned(data: dict, plan, what: str, s: float) -> dict:
    """``data`` with one kind of limit set tighter, by the fraction ``s``, than what the
    optimal ``plan`` uses, year by year: the minimum cash above the plan's cash by
    ``s``·(1 + cash) (``what`` = "cash"), the debt limit to (1 − ``s``)·debt ("debt"), or
    the capacity of the provider that buys the most to its active capacity less ``s`` of
    what it bought ("capacity").

    With ``s`` = 0 the plan stays feasible, hence optimal, and the limits bind, but
    degenerately: the value function has its kink right there, and the finite
    differences bracket every price from 0 to the left derivative. Slightly tighter
    (``s`` > 0, when still feasible) they usually bind with a single shadow price.
    """
    new = copy.deepcopy(data)
    finance = plan.tables["finance"].set_index("year")
    if what == "cash":
        new["finance"]["min_cash"] = {
            int(t): max(0.0, float(x)) + s * (1 + abs(float(x))) for t, x in finance["cash"].items()
        }
    elif what == "debt":
        new["finance"]["debt"]["limit"] = {int(t): max(0.0, (1 - s) * float(x)) for t, x in finance["debt"].items()}
    elif what == "capacity":
        table = plan.tables["capacity"].set_index(["provider", "year"])
        initial = {q: prov.build.initial if prov.build else 0.0 for q, prov in plan.instance.providers.items()}
        bought = table["contracted"] + table["owned"] - [initial[q] for q, _ in table.index]
        p = bought.groupby(level="provider").sum().idxmax()
        new["providers"][p]["capacity"] = {
            t: max(0.0, float(table["active"][p, t]) - s * float(bought[p, t])) for t in plan.instance.year_list
        }
    return new


def tightened_limits(data: dict, plan, pin: str):
    """``(data, plan)`` with the limits named in ``pin`` ("cash+debt", ...) tightened in
    turn, each to the tightest of a few :func:`pinned` versions that is still feasible.

    Random instances start with ample cash and an unlimited provider, where these limits
    would rarely bind and never be checked; tightening the cash first makes the plan
    borrow, and then the debt limit binds.
    """
    for what in pin.split("+"):
        for s in (0.25, 0.05, 0.01, 0.0):
            new = pinned(data, plan, what, s)
            new_plan = planner.solve(new)
            if new_plan.status == "optimal":
                data, plan = new, new_plan
                break
        else:
            raise AssertionError("the plan's own limits must be feasible")
    return data, plan


#: Families checked first (the rarer to bind in random instances, the earlier).
PRIORITY = {family: i for i, family in enumerate((
    "debt_limit", "minimum_cash", "provider_capacity", "build_max_per_year", "contract_max_per_year",
    "minimum_capacity", "take_or_pay", "cash_balance", "service_floor", "charge_covers_spend", "service_cap",
))}


def check_finite_differences(data: dict, objective: str, pin: str = "none") -> None:
    data = dict(data, objective=objective)
    plan = planner.solve(data)
    if plan.status != "optimal":
        return
    if pin != "none":
        data, plan = tightened_limits(data, plan, pin)
    inst, obj0 = plan.instance, plan.objective_value
    rows = plan.duals[plan.duals["family"].isin(DATA_FAMILIES)]
    # at most 3 constraints, from different families, rare families first, then the
    # largest shadow price of each family
    rows = rows.assign(order=rows["family"].map(PRIORITY), size=-rows["shadow_price"].abs())
    rows = rows.sort_values(["order", "size"]).drop_duplicates("family").head(3)
    for row in rows.itertuples():
        price = row.shadow_price
        tol = 1e-4 * max(1.0, abs(price)) + 1e-6 * max(1.0, abs(obj0)) / STEP
        relaxed = moved(data, inst, row, STEP)
        if relaxed is not None:
            value = objective_of(relaxed)
            assert value is not None, f"relaxing {row.family} {row.year} made the instance infeasible"
            assert (obj0 - value) / STEP <= price + tol, (row.meaning, obj0, value)
        tightened = moved(data, inst, row, -STEP)
        if tightened is not None:
            value = objective_of(tightened)
            if value is not None:
                assert price <= (value - obj0) / STEP + tol, (row.meaning, obj0, value)


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
PINS = st.sampled_from(["none", "cash", "cash+debt", "capacity", "cash+debt+capacity"])


@settings(max_examples=30, **SETTINGS)
@given(instances(), PINS)
def test_finite_differences_cumulative_loss(data, pin):
    check_finite_differences(data, "cumulative_loss", pin)


@settings(max_examples=10, **SETTINGS)
@given(instances(), PINS)
def test_finite_differences_peak(data, pin):
    check_finite_differences(data, "peak_cumulative_loss", pin)


@settings(max_examples=15, **SETTINGS)
@given(instances(), st.sampled_from(["cumulative_loss", "peak_cumulative_loss"]))
def test_inequality_shadow_prices_are_never_negative(data, objective):
    """Loosening an inequality can only help; the peak's bounds share out the peak (Σ = 1)."""
    plan = planner.solve(data, objective=objective)
    if plan.status != "optimal":
        return
    d = plan.duals
    inequalities = d[~d["family"].isin(["cash_balance", "charge_covers_spend"])]
    assert (inequalities["shadow_price"] > -1e-7).all(), inequalities
    assert list(d.columns) == COLUMNS
    if objective == "peak_cumulative_loss":
        assert d[d["family"] == "peak_bound"]["shadow_price"].sum() == pytest.approx(1, abs=1e-7)


def test_every_constraint_family_of_the_model_is_described():
    """A constraint family added to model.py must be added to planner.solver.duals.FAMILIES
    (its index fields, unit and sentence), or its shadow prices would be left out."""
    import pyomo.environ as pyo

    from planner.solver.duals import FAMILIES

    for objective in ("cumulative_loss", "peak_cumulative_loss"):
        plan = planner.solve(TOY, objective, keep_model=True)
        names = {c.local_name for c in plan.model.component_objects(pyo.Constraint)}
        names.discard("hold_first_stage")  # added for the second stage, after the duals are read
        assert names <= set(FAMILIES), names - set(FAMILIES)


# ======================================================================================
# (c) duals.csv
# ======================================================================================


def test_duals_csv_is_written_and_reads_back(tmp_path):
    plan = solved({
        "years": [2025, 2026], "units": {"money": "USD billion", "capacity": "GW"}, "finance": AMPLE,
        "workloads": {"w": {"demand": 3}},
        "providers": {
            "cheap": {"capacity": 1, "contracts": {"od": {"term": 1, "price": 1}}},
            "dear": {"efficiency": 2, "contracts": {"od": {"term": 1, "price": 3}}},
        },
    })
    folder = plan.write(tmp_path / "out")
    assert "duals.csv" in RESULT_FILES
    assert {p.name for p in folder.iterdir()} == set(RESULT_FILES)
    back = pd.read_csv(folder / "duals.csv")
    assert list(back.columns) == COLUMNS
    assert len(back) == len(plan.duals) > 0
    assert back["shadow_price"].tolist() == plan.duals["shadow_price"].tolist()  # full precision
    assert back["family"].tolist() == plan.duals["family"].tolist()
    assert back["year"].tolist() == plan.duals["year"].tolist()
    assert back["meaning"].tolist() == plan.duals["meaning"].tolist()
    assert back["provider"].fillna("").tolist() == plan.duals["provider"].fillna("").tolist()
    # a folder with duals.csv is the planner's own: writing again replaces it
    plan.write(folder)


def test_empty_duals_still_write_a_header(tmp_path):
    """Nothing binds with a non-zero price: duals.csv has the header only."""
    plan = solved({"years": [2025, 2025], "workloads": {"w": {"demand": 0}},
                   "providers": {"m": {"contracts": {"od": {"term": 1, "price": 1}}}}})
    assert plan.duals.empty
    folder = plan.write(tmp_path / "out")
    assert (folder / "duals.csv").read_text() == ",".join(COLUMNS) + "\n"
    assert top_constraints(plan) == []


def test_infeasible_solve_writes_no_duals(tmp_path):
    plan = planner.solve({
        "years": [2025, 2025], "workloads": {"w": {"demand": 2}},
        "providers": {"m": {"capacity": 1, "contracts": {"od": {"term": 1, "price": 1}}}},
        "finance": AMPLE,
    })
    assert plan.status == "infeasible"
    assert plan.duals is None
    assert top_constraints(plan) == []
    with pytest.raises(ResultsError):
        plan.write(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_infeasible_solve_leaves_no_results_folder(tmp_path):
    from typer.testing import CliRunner

    from planner.cli import app

    from .conftest import write_yaml

    path = write_yaml(tmp_path, {
        "years": [2025, 2025], "workloads": {"w": {"demand": 2}},
        "providers": {"m": {"capacity": 1, "contracts": {"od": {"term": 1, "price": 1}}}},
        "finance": AMPLE,
    })
    result = CliRunner().invoke(app, ["solve", str(path), "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 1
    assert not (tmp_path / "out").exists()


SHIPPED_INSTANCES = sorted((Path(__file__).resolve().parents[1] / "instances").glob("*.yaml"))


def _same_duals(inst, objective: str) -> None:
    """duals.csv read off the solver's arrays (what ``planner solve`` does) is the table
    read through the model's constraints, to the last bit and in the same order."""
    import time

    from planner.model.lp import build_model
    from planner.solver.duals import dual_table
    from planner.solver.highs import LinearProgram, run_lp

    model = build_model(inst, objective)
    lp = LinearProgram(model)
    if run_lp(lp, None, time.perf_counter())[0] != "optimal":
        return
    by_model = dual_table(model, inst, lp.duals(), objective)
    by_rows = dual_table(model, inst, lp.row_duals(), objective)
    assert by_rows.equals(by_model)
    assert by_rows.to_csv(index=False) == by_model.to_csv(index=False)


@pytest.mark.parametrize("path", SHIPPED_INSTANCES, ids=lambda p: p.stem)
@pytest.mark.parametrize("objective", ["cumulative_loss", "peak_cumulative_loss"])
def test_duals_from_the_solver_arrays_are_the_model_walk(path, objective):
    _same_duals(planner.load_instance(path), objective)


@settings(max_examples=15, **SETTINGS)
@given(st.one_of(instances(), scenario_instances()), st.sampled_from(["cumulative_loss", "peak_cumulative_loss"]))
def test_duals_from_the_solver_arrays_on_random_instances(data, objective):
    from planner.instance.loading import validate_instance

    _same_duals(validate_instance(data), objective)
