"""Tiny instances whose optimum is worked out by hand, one per term of MODEL.md §2.

Each test builds an instance as a plain dict, solves it, and asserts the objective value
and the decisions that decide it (signings, builds, debt, served amounts). The hand
calculation is written in the test's docstring. Every optimal plan must also pass the
independent recomputation check (``planner.check_plan``).

Conventions: one workload ``w`` and one provider ``m`` unless said; contracts named
``od`` are one-year ("on demand"); money and capacity are unit-less; ``min_served`` is
1 unless said, so demand must be served in full; no discounting unless said; initial
cash is 100 (never binding) unless the test sets ``finance``.
"""

from __future__ import annotations

import pytest

import planner

ABS = 1e-6


def approx(x):
    return pytest.approx(x, abs=ABS)


def solved(data: dict):
    """Solve ``data``; it must be optimal and pass the independent checker."""
    plan = planner.solve(data)
    assert plan.status == "optimal"
    assert planner.check_plan(plan) == []
    return plan


def signed(plan, provider: str, source: str, year: int) -> float:
    """Capacity signed (or built, ``source="build"``) with ``provider`` in ``year``."""
    frame = plan.tables["procurement"]
    rows = frame[(frame["provider"] == provider) & (frame["source"] == source) & (frame["year"] == year)]
    return float(rows["capacity"].sum())


def finance(plan, column: str) -> list[float]:
    return [float(x) for x in plan.tables["finance"].sort_values("year")[column]]


def cap(plan, provider: str, year: int, column: str) -> float:
    frame = plan.tables["capacity"]
    row = frame[(frame["provider"] == provider) & (frame["year"] == year)]
    assert len(row) == 1
    return float(row[column].iloc[0])


def served(plan, workload: str, year: int) -> float:
    frame = plan.tables["service"]
    row = frame[(frame["workload"] == workload) & (frame["year"] == year)]
    assert len(row) == 1
    return float(row["served"].iloc[0])


def instance(years, providers, workloads=None, finance=None, **extra) -> dict:
    data = {
        "years": list(years),
        "workloads": workloads if workloads is not None else {"w": {"demand": 1.0}},
        "providers": providers,
    }
    # Ample cash unless the test is about cash: min_cash is 0 by default, so with no
    # initial cash any spending would make the instance infeasible.
    data["finance"] = finance if finance is not None else {"initial_cash": 100}
    data.update(extra)
    return data


# ======================================================================================
# Cost terms
# ======================================================================================


def test_existing_cost_other_costs_base_revenue():
    """existing capacity (1 in 2025, paid 4) serves the demand of 1; nothing is signed.

    loss[2025] = existing_cost 4 + other_costs 2 − base_revenue 1.5 = 4.5
    loss[2026] = 0 + other_costs 1 − base_revenue 3                 = −2
    objective  = 4.5 − 2 = 2.5
    cash: 10 + 1.5 − 4 − 2 = 5.5, then 5.5 + 3 − 1 = 7.5
    """
    plan = solved(instance(
        [2025, 2026],
        workloads={"w": {"demand": {2025: 1, 2026: 0}}},
        finance={"initial_cash": 10, "other_costs": {2025: 2, 2026: 1}, "base_revenue": {2025: 1.5, 2026: 3}},
        providers={"m": {
            "existing": {2025: 1, 2026: 0}, "existing_cost": {2025: 4, 2026: 0},
            "contracts": {"od": {"term": 1, "price": 5}},
        }},
    ))
    assert plan.objective_value == approx(2.5)
    assert plan.tables["procurement"].empty
    assert finance(plan, "compute_cost") == approx([4, 0])
    assert finance(plan, "other_costs") == approx([2, 1])
    assert finance(plan, "revenue") == approx([1.5, 3])
    assert finance(plan, "loss") == approx([4.5, -2])
    assert finance(plan, "cash") == approx([5.5, 7.5])
    assert cap(plan, "m", 2025, "charge") == approx(4)
    assert served(plan, "w", 2025) == approx(1)


def test_contract_price_is_locked_at_signing_year():
    """Demand 1 in 2025–2027. Prices rise after 2025:
    spot (term 1):  1, 4, 4      lock (term 3): 1.5, 3, 3 per year, locked at signing.

    lock signed 2025 pays 1.5 in each of its 3 years = 4.5 for all three years.
    Best alternative: spot 2025 (1) + lock signed 2026 (3 + 3) = 7; spot only = 9.
    Mixing a of lock-2025 with the rest: 4.5a + 7(1−a), so a = 1: lock 1 in 2025, objective 4.5.
    (Billing lock at the current year's price would make it 1.5 + 3 + 3 = 7.5 > 7.)
    """
    plan = solved(instance(
        [2025, 2027],
        providers={"m": {"contracts": {
            "spot": {"term": 1, "price": {2025: 1, 2026: 4, 2027: 4}},
            "lock": {"term": 3, "price": {2025: 1.5, 2026: 3, 2027: 3}},
        }}},
    ))
    assert plan.objective_value == approx(4.5)
    assert signed(plan, "m", "lock", 2025) == approx(1)
    assert len(plan.tables["procurement"]) == 1
    assert [cap(plan, "m", t, "spend") for t in (2025, 2026, 2027)] == approx([1.5, 1.5, 1.5])
    assert plan.summary["commitments_after_horizon"] == approx(0)


def test_upfront_paid_in_signing_year():
    """Demand 1 in 2025–2026. od: term 1, price 3. res: term 2, price 1, upfront 3.

    res signed 2025: 3 (upfront) + 1 + 1 = 5 for both years;
    od both years: 6; od 2025 + res 2026 (3 + 1, its 2027 is outside): 3 + 4 = 7.
    → res 1 in 2025, objective 5, spend [4, 1].
    """
    plan = solved(instance(
        [2025, 2026],
        providers={"m": {"contracts": {
            "od": {"term": 1, "price": 3},
            "res": {"term": 2, "price": 1, "upfront": 3},
        }}},
    ))
    assert plan.objective_value == approx(5)
    assert signed(plan, "m", "res", 2025) == approx(1)
    assert signed(plan, "m", "res", 2026) == approx(0)
    assert signed(plan, "m", "od", 2025) + signed(plan, "m", "od", 2026) == approx(0)
    assert [cap(plan, "m", t, "spend") for t in (2025, 2026)] == approx([4, 1])


def test_take_or_pay_min_spend():
    """Demand 3 / 3 / 1. m: od price 2, min_spend 5 / 1 / 5, capacity 10 / 10 / 1.
    s: lease price 1.5, capacity 10 / 1 / 10.  charge[m] = max(spend, min_spend).

    2025: with x from m, cost = max(2x, 5) + 1.5(3 − x): 9.5 − 1.5x for x ≤ 2.5, then
          4.5 + 0.5x. So x = 2.5 (uses all the 5 already paid for), s = 0.5.
          charge = spend = 5; cost 5 + 0.75 = 5.75.
    2026: s ≤ 1, so x ≥ 2: cost max(2x, 1) + 1.5(3 − x) = 4.5 + 0.5x → x = 2, s = 1.
          charge = spend = 4 (above min_spend 1); cost 4 + 1.5 = 5.5.
    2027: m may hold only 1: cost max(2x, 5) + 1.5(1 − x) with x ≤ 1 → x = 1, s = 0.
          spend 2 but charge 5 (take-or-pay); cost 5.
    objective = 5.75 + 5.5 + 5 = 16.25
    """
    plan = solved(instance(
        [2025, 2027],
        workloads={"w": {"demand": {2025: 3, 2026: 3, 2027: 1}}},
        providers={
            "m": {
                "min_spend": {2025: 5, 2026: 1, 2027: 5},
                "capacity": {2025: 10, 2026: 10, 2027: 1},
                "contracts": {"od": {"term": 1, "price": 2}},
            },
            "s": {"capacity": {2025: 10, 2026: 1, 2027: 10}, "contracts": {"lease": {"term": 1, "price": 1.5}}},
        },
    ))
    assert plan.objective_value == approx(16.25)
    assert [signed(plan, "m", "od", t) for t in (2025, 2026, 2027)] == approx([2.5, 2, 1])
    assert [signed(plan, "s", "lease", t) for t in (2025, 2026, 2027)] == approx([0.5, 1, 0])
    assert [cap(plan, "m", t, "spend") for t in (2025, 2026, 2027)] == approx([5, 4, 2])
    assert [cap(plan, "m", t, "charge") for t in (2025, 2026, 2027)] == approx([5, 4, 5])
    assert [cap(plan, "m", t, "used") for t in (2025, 2026, 2027)] == approx([2.5, 2, 1])


def test_build_capex_expensed_when_paid():
    """depreciation_years 0: capex is a loss in the year it is paid.
    Demand 1 in 2025–2026. Build: capex 6, lead 0, no lifetime. od price 4.

    build 2025 serves both years for 6; od + od = 8; od 2025 + build 2026 = 10.
    → build 1 in 2025, objective 6; capex and capex_expense [6, 0]; loss [6, 0].
    """
    plan = solved(instance(
        [2025, 2026],
        finance={"initial_cash": 10},
        providers={"m": {
            "build": {"capex": 6},
            "contracts": {"od": {"term": 1, "price": 4}},
        }},
    ))
    assert plan.objective_value == approx(6)
    assert signed(plan, "m", "build", 2025) == approx(1)
    assert signed(plan, "m", "build", 2026) == approx(0)
    assert signed(plan, "m", "od", 2025) + signed(plan, "m", "od", 2026) == approx(0)
    assert finance(plan, "capex") == approx([6, 0])
    assert finance(plan, "capex_expense") == approx([6, 0])
    assert finance(plan, "loss") == approx([6, 0])
    assert finance(plan, "cash") == approx([4, 4])
    assert [cap(plan, "m", t, "owned") for t in (2025, 2026)] == approx([1, 1])


def test_build_depreciation_straight_line_from_online_year():
    """depreciation_years 2, lead_time 1: capex of a build started in s is expensed
    capex/2 in s+1 and s+2 (from the online year), none in s.
    Demand 0, 1, 1 in 2025–2027. Build capex 4. od price 3.

    b2025 (online 2026, 2027) is expensed 2 + 2 = 4 and covers both demand years.
    Without it: od 2026 (3) + b2026 (online 2027; expensed 2 in 2027, the other 2 falls
    in 2028, outside) = 5. Lowering b2025 by δ costs 3δ + 2δ, saves 4δ → b2025 = 1.
    objective 4; capex [4, 0, 0] (cash), capex_expense [0, 2, 2] (loss); cash 6 every year.
    """
    plan = solved(instance(
        [2025, 2027],
        workloads={"w": {"demand": {2025: 0, 2026: 1, 2027: 1}}},
        finance={"initial_cash": 10},
        providers={"m": {
            "build": {"capex": 4, "lead_time": 1, "depreciation_years": 2},
            "contracts": {"od": {"term": 1, "price": 3}},
        }},
    ))
    assert plan.objective_value == approx(4)
    assert [signed(plan, "m", "build", t) for t in (2025, 2026, 2027)] == approx([1, 0, 0])
    assert len(plan.tables["procurement"]) == 1
    assert finance(plan, "capex") == approx([4, 0, 0])
    assert finance(plan, "capex_expense") == approx([0, 2, 2])
    assert finance(plan, "loss") == approx([0, 2, 2])
    assert finance(plan, "cash") == approx([6, 6, 6])
    assert [cap(plan, "m", t, "owned") for t in (2025, 2026, 2027)] == approx([0, 1, 1])


def test_capex_not_in_loss_hits_cash_only():
    """capex_in_loss false: capex is cash only. Demand 1, one year.
    Build capex 10, opex 0.5 (lead 0). od price 1. initial_cash 20.

    In the loss a build unit costs only its opex 0.5 < od 1 (with capex in the loss it
    would be 10.5 and od would win). b + od ≥ 1, minimise 0.5b + od → b = 1, od = 0.
    objective 0.5; capex 10, capex_expense 0; cash 20 − 10 − 0.5 = 9.5.
    """
    plan = solved(instance(
        [2025, 2025],
        finance={"initial_cash": 20},
        providers={"m": {
            "build": {"capex": 10, "opex": 0.5, "capex_in_loss": False},
            "contracts": {"od": {"term": 1, "price": 1}},
        }},
    ))
    assert plan.objective_value == approx(0.5)
    assert signed(plan, "m", "build", 2025) == approx(1)
    assert signed(plan, "m", "od", 2025) == approx(0)
    assert finance(plan, "capex") == approx([10])
    assert finance(plan, "capex_expense") == approx([0])
    assert finance(plan, "loss") == approx([0.5])
    assert finance(plan, "cash") == approx([9.5])


def test_opex_paid_every_online_year():
    """Demand 1 in 2025–2026. Build capex 2 (expensed when paid), opex 1, lead 0. od price 2.2.

    build 2025: 2 + opex 1 + opex 1 = 4 < od + od = 4.4; build 2026 (2 + 1 = 3) > od 2.2.
    → build 1 in 2025, objective 4; compute_cost (opex) [1, 1]; loss [3, 1].
    (Opex counted once would give 3; opex ignored, 2.)
    """
    plan = solved(instance(
        [2025, 2026],
        finance={"initial_cash": 10},
        providers={"m": {
            "build": {"capex": 2, "opex": 1},
            "contracts": {"od": {"term": 1, "price": 2.2}},
        }},
    ))
    assert plan.objective_value == approx(4)
    assert [signed(plan, "m", "build", t) for t in (2025, 2026)] == approx([1, 0])
    assert signed(plan, "m", "od", 2025) + signed(plan, "m", "od", 2026) == approx(0)
    assert finance(plan, "compute_cost") == approx([1, 1])
    assert finance(plan, "loss") == approx([3, 1])


def test_build_initial_capacity_pays_opex():
    """Build initial 2 (owned before the horizon), opex 1.5, capex 100. od price 1. Demand 3.

    owned = 2 serves 2 of the demand; it costs opex 2·1.5 = 3. The third unit: od 1
    (a new build would cost 100 + 1.5). objective 3 + 1 = 4; no build.
    """
    plan = solved(instance(
        [2025, 2025],
        workloads={"w": {"demand": 3}},
        providers={"m": {
            "build": {"initial": 2, "capex": 100, "opex": 1.5},
            "contracts": {"od": {"term": 1, "price": 1}},
        }},
    ))
    assert plan.objective_value == approx(4)
    assert signed(plan, "m", "od", 2025) == approx(1)
    assert signed(plan, "m", "build", 2025) == approx(0)
    assert cap(plan, "m", 2025, "owned") == approx(2)
    assert cap(plan, "m", 2025, "active") == approx(3)
    assert finance(plan, "compute_cost") == approx([4])


def test_build_lead_time_and_lifetime():
    """lead_time 1, lifetime 1: a build started in s is online only in s+1.
    Demand 1 in 2025–2027. Build capex 1 (expensed when paid). od price 3. initial_cash 10.

    2025: no build can be online → od 1 (3). 2026: b2025 (1) < od 3. 2027: b2025 has
    retired, b2026 (1) < od 3. b2027 would be online in 2028 (outside).
    objective 3 + 1 + 1 = 5; owned [0, 1, 1].
    (Ignoring lifetime: b2025 would cover 2026 and 2027, objective 4; ignoring lead time: 3.)
    """
    plan = solved(instance(
        [2025, 2027],
        finance={"initial_cash": 10},
        providers={"m": {
            "build": {"capex": 1, "lead_time": 1, "lifetime": 1},
            "contracts": {"od": {"term": 1, "price": 3}},
        }},
    ))
    assert plan.objective_value == approx(5)
    assert [signed(plan, "m", "build", t) for t in (2025, 2026, 2027)] == approx([1, 1, 0])
    assert [signed(plan, "m", "od", t) for t in (2025, 2026, 2027)] == approx([1, 0, 0])
    assert [cap(plan, "m", t, "owned") for t in (2025, 2026, 2027)] == approx([0, 1, 1])
    assert finance(plan, "capex") == approx([1, 1, 0])


def test_interest_on_debt_with_initial_debt():
    """No compute needed (demand 0). initial_cash 4; debt: initial 10, rate 0.1, limit 20.

    2025: interest = 0.1 · 10 = 1; cash = 4 + debt[2025] − 10 − 1 ≥ 0 → debt[2025] ≥ 7.
    2026: interest = 0.1 · debt[2025]; minimising it gives debt[2025] = 7, interest 0.7.
    objective 1 + 0.7 = 1.7. (debt[2026] ≥ 7.7 costs nothing inside the horizon, so its
    value is not unique and is not asserted.)
    """
    plan = solved(instance(
        [2025, 2026],
        workloads={"w": {"demand": 0}},
        finance={"initial_cash": 4, "debt": {"initial": 10, "rate": 0.1, "limit": 20}},
        providers={"m": {"contracts": {"od": {"term": 1, "price": 1}}}},
    ))
    assert plan.objective_value == approx(1.7)
    assert finance(plan, "interest") == approx([1, 0.7])
    assert finance(plan, "loss") == approx([1, 0.7])
    assert finance(plan, "debt")[0] == approx(7)
    assert finance(plan, "cash")[0] == approx(0)
    assert finance(plan, "debt")[1] >= 7.7 - ABS


def test_workload_revenue_efficiency_and_service_cap():
    """Efficiency: A gives 2 compute units per capacity unit at price 3 (1.5 per unit of
    compute); B gives 1 at price 2 (2 per unit of compute). Workload w: demand 4,
    min_served 0, revenue 2.5 per compute unit.

    Serving via A earns 2.5 − 1.5 = 1 per compute unit, so all 4 is served (the cap
    served ≤ demand binds): A capacity 4 / 2 = 2, cost 6; B nothing.
    loss = 6 − 2.5 · 4 = −4. (Ignoring efficiency, A would need 4 units at 12 > B's 8.)
    """
    plan = solved(instance(
        [2025, 2025],
        workloads={"w": {"demand": 4, "min_served": 0, "revenue": 2.5}},
        providers={
            "A": {"efficiency": 2, "contracts": {"od": {"term": 1, "price": 3}}},
            "B": {"efficiency": 1, "contracts": {"od": {"term": 1, "price": 2}}},
        },
    ))
    assert plan.objective_value == approx(-4)
    assert signed(plan, "A", "od", 2025) == approx(2)
    assert signed(plan, "B", "od", 2025) == approx(0)
    assert served(plan, "w", 2025) == approx(4)
    usage = plan.tables["usage"].set_index(["provider", "workload"])
    assert usage.loc[("A", "w"), "capacity"] == approx(2)
    assert usage.loc[("A", "w"), "compute"] == approx(4)
    assert finance(plan, "revenue") == approx([10])


def test_discount_rate_weights_later_years():
    """Demand 0 in 2025, 1 in 2026. Build (lead 1, capex 1.05 expensed in 2025) or od in
    2026 at 1.1. discount_rate 0.1 weights 2026 by 1/1.1.

    discounted: build 1.05 vs od 1.1/1.1 = 1.0 → od 1 in 2026, objective 1.0
    (undiscounted cumulative loss 1.1). With discount_rate 0 the build wins: objective 1.05.
    """
    data = instance(
        [2025, 2026],
        workloads={"w": {"demand": {2025: 0, 2026: 1}}},
        finance={"initial_cash": 10},
        providers={"m": {
            "build": {"capex": 1.05, "lead_time": 1},
            "contracts": {"od": {"term": 1, "price": 1.1}},
        }},
        discount_rate=0.1,
    )
    plan = solved(data)
    assert plan.objective_value == approx(1.0)
    assert plan.summary["cumulative_loss"] == approx(1.1)
    assert signed(plan, "m", "od", 2026) == approx(1)
    assert signed(plan, "m", "build", 2025) == approx(0)

    undiscounted = solved({**data, "discount_rate": 0.0})
    assert undiscounted.objective_value == approx(1.05)
    assert signed(undiscounted, "m", "build", 2025) == approx(1)
    assert signed(undiscounted, "m", "od", 2026) == approx(0)


# ======================================================================================
# Constraint families
# ======================================================================================


def test_1_use_within_reach_caps_service():
    """Existing 2 (free); demand 5, min_served 0, revenue 10; nothing else to buy.
    served ≤ active = 2 → served 2, loss −20.
    """
    plan = solved(instance(
        [2025, 2025],
        workloads={"w": {"demand": 5, "min_served": 0, "revenue": 10}},
        providers={"m": {"existing": 2}},
    ))
    assert plan.objective_value == approx(-20)
    assert served(plan, "w", 2025) == approx(2)
    assert cap(plan, "m", 2025, "used") == approx(2)
    assert cap(plan, "m", 2025, "idle") == approx(0)


def test_1_idle_capacity_is_still_paid():
    """Demand 1 in 2025, 0 in 2026. od: term 1, price 3; two: term 2, price 1.

    two signed 2025 costs 1 + 1 = 2 (its 2026 year idle but paid) < od 3.
    → two 1 in 2025, objective 2; in 2026 active 1, used 0, idle 1, spend 1.
    """
    plan = solved(instance(
        [2025, 2026],
        workloads={"w": {"demand": {2025: 1, 2026: 0}}},
        providers={"m": {"contracts": {
            "od": {"term": 1, "price": 3},
            "two": {"term": 2, "price": 1},
        }}},
    ))
    assert plan.objective_value == approx(2)
    assert signed(plan, "m", "two", 2025) == approx(1)
    assert signed(plan, "m", "od", 2025) == approx(0)
    assert cap(plan, "m", 2026, "active") == approx(1)
    assert cap(plan, "m", 2026, "used") == approx(0)
    assert cap(plan, "m", 2026, "idle") == approx(1)
    assert cap(plan, "m", 2026, "spend") == approx(1)
    assert finance(plan, "loss") == approx([1, 1])


def test_2_provider_capacity():
    """A: price 1, capacity 2. B: price 3. Demand 5 → A 2 (capacity binds), B 3.
    objective 2 + 9 = 11.
    """
    plan = solved(instance(
        [2025, 2025],
        workloads={"w": {"demand": 5}},
        providers={
            "A": {"capacity": {2025: 2}, "contracts": {"od": {"term": 1, "price": 1}}},
            "B": {"contracts": {"od": {"term": 1, "price": 3}}},
        },
    ))
    assert plan.objective_value == approx(11)
    assert signed(plan, "A", "od", 2025) == approx(2)
    assert signed(plan, "B", "od", 2025) == approx(3)


def test_3_service_floor_and_cap():
    """od price 1.5. paid: demand 3, min_served 0, revenue 2 (margin +0.5 → serve all 3,
    the cap binds). must: demand 2, min_served 0.5, revenue 1 (margin −0.5 → serve only the
    floor 0.5·2 = 1). od signed 4. loss = 1.5·4 − (2·3 + 1·1) = 6 − 7 = −1.
    """
    plan = solved(instance(
        [2025, 2025],
        workloads={
            "paid": {"demand": 3, "min_served": 0, "revenue": 2},
            "must": {"demand": 2, "min_served": 0.5, "revenue": 1},
        },
        providers={"m": {"contracts": {"od": {"term": 1, "price": 1.5}}}},
    ))
    assert plan.objective_value == approx(-1)
    assert served(plan, "paid", 2025) == approx(3)
    assert served(plan, "must", 2025) == approx(1)
    assert signed(plan, "m", "od", 2025) == approx(4)
    service = plan.tables["service"].set_index("workload")
    assert service.loc["must", "unserved"] == approx(1)
    assert service.loc["paid", "revenue"] == approx(6)


def test_4_min_capacity():
    """A: price 1. B: price 3, min_capacity 1. Demand 2.
    B must hold 1 (cost 3) and, being paid for, serves 1; A covers the other 1.
    objective 1 + 3 = 4.
    """
    plan = solved(instance(
        [2025, 2025],
        workloads={"w": {"demand": 2}},
        providers={
            "A": {"contracts": {"od": {"term": 1, "price": 1}}},
            "B": {"min_capacity": 1, "contracts": {"od": {"term": 1, "price": 3}}},
        },
    ))
    assert plan.objective_value == approx(4)
    assert signed(plan, "A", "od", 2025) == approx(1)
    assert signed(plan, "B", "od", 2025) == approx(1)
    assert cap(plan, "B", 2025, "used") == approx(1)


def test_5_min_share_and_max_share():
    """A: price 1, max_share 1 / 0.6. B: price 3, min_share 0.25 / 0. Demand 4 / 5.

    2025: B ≥ 0.25(A + B) ⇔ A ≤ 3B; with A + B = 4: B = 1, A = 3. Cost 3 + 3 = 6.
    2026: A ≤ 0.6(A + B) ⇔ A ≤ 1.5B; with A + B = 5: A = 3, B = 2. Cost 3 + 6 = 9.
    (Extra capacity only adds cost.) objective 15.
    """
    plan = solved(instance(
        [2025, 2026],
        workloads={"w": {"demand": {2025: 4, 2026: 5}}},
        providers={
            "A": {"max_share": {2025: 1, 2026: 0.6}, "contracts": {"od": {"term": 1, "price": 1}}},
            "B": {"min_share": {2025: 0.25, 2026: 0}, "contracts": {"od": {"term": 1, "price": 3}}},
        },
    ))
    assert plan.objective_value == approx(15)
    assert [signed(plan, "A", "od", t) for t in (2025, 2026)] == approx([3, 3])
    assert [signed(plan, "B", "od", t) for t in (2025, 2026)] == approx([1, 2])


def test_6_gradual_decline_keeps_capacity():
    """A: existing 2 in 2025 (cost 1), none after; max_decline 0.5; od price 3.
    B: lease price 1. Demand 2 both years.

    2025: A's existing 2 serves everything (cost 1).
    2026: active[A] ≥ 0.5 · 2 = 1 → A od 1 (3), which serves 1; B lease 1 (1).
    objective 1 + 3 + 1 = 5. (Without the decline limit: B 2, objective 3.)
    """
    plan = solved(instance(
        [2025, 2026],
        workloads={"w": {"demand": 2}},
        providers={
            "A": {
                "existing": {2025: 2, 2026: 0}, "existing_cost": {2025: 1, 2026: 0},
                "max_decline": 0.5, "contracts": {"od": {"term": 1, "price": 3}},
            },
            "B": {"contracts": {"lease": {"term": 1, "price": 1}}},
        },
    ))
    assert plan.objective_value == approx(5)
    assert signed(plan, "A", "od", 2026) == approx(1)
    assert signed(plan, "B", "lease", 2026) == approx(1)
    assert signed(plan, "A", "od", 2025) + signed(plan, "B", "lease", 2025) == approx(0)
    assert cap(plan, "A", 2026, "active") == approx(1)
    assert cap(plan, "A", 2026, "used") == approx(1)


def test_7_min_cash_forces_borrowing():
    """Demand 1 in 2025, 0 in 2026; od price 2. initial_cash 0, min_cash 1,
    base_revenue 0 / 10, debt limit 5, rate 0.1.

    2025: cash = 0 + debt − 2 ≥ 1 → debt[2025] ≥ 3; interest 0.1·debt[2025] in 2026 → debt 3.
    loss: 2025 = 2; 2026 = 0.3 − 10 = −9.7. objective −7.7. cash[2025] = 1.
    """
    plan = solved(instance(
        [2025, 2026],
        workloads={"w": {"demand": {2025: 1, 2026: 0}}},
        finance={"min_cash": 1, "base_revenue": {2025: 0, 2026: 10}, "debt": {"limit": 5, "rate": 0.1}},
        providers={"m": {"contracts": {"od": {"term": 1, "price": 2}}}},
    ))
    assert plan.objective_value == approx(-7.7)
    assert signed(plan, "m", "od", 2025) == approx(1)
    assert finance(plan, "debt")[0] == approx(3)
    assert finance(plan, "cash")[0] == approx(1)
    assert finance(plan, "interest") == approx([0, 0.3])
    assert finance(plan, "loss") == approx([2, -9.7])


def test_7_cash_forces_a_costlier_path():
    """Demand 1 in 2025–2026. od: price 2. res: term 2, price 0, upfront 3 (3 for both
    years, the cheapest in loss). No borrowing.

    Plenty of cash (initial 10): res 1 in 2025, objective 3.
    initial_cash 2.5, funding 0 / 1: with x of res in 2025 and od for the rest,
    cash[2025] = 2.5 − 3x − 2(1 − x) ≥ 0 → x ≤ 0.5. Loss ≥ 3x + 2(1−x) + 2(1−x) = 4 − x,
    so x = 0.5, od 0.5 in 2025 and 0.5 in 2026: objective 3.5; cash [0, 0.5 + 1 − 1 = 0].
    """
    data = instance(
        [2025, 2026],
        finance={"initial_cash": 10},
        providers={"m": {"contracts": {
            "od": {"term": 1, "price": 2},
            "res": {"term": 2, "price": 0, "upfront": 3},
        }}},
    )
    rich = solved(data)
    assert rich.objective_value == approx(3)
    assert signed(rich, "m", "res", 2025) == approx(1)

    poor = solved({**data, "finance": {"initial_cash": 2.5, "funding": {2025: 0, 2026: 1}}})
    assert poor.objective_value == approx(3.5)
    assert signed(poor, "m", "res", 2025) == approx(0.5)
    assert signed(poor, "m", "od", 2025) == approx(0.5)
    assert signed(poor, "m", "od", 2026) == approx(0.5)
    assert signed(poor, "m", "res", 2026) == approx(0)
    assert finance(poor, "cash") == approx([0, 0])


def test_contract_available_window_and_max_per_year():
    """deal: price 1, available [2026, 2027], max_per_year 5 / 1 / 0.5. od price 4. Demand 2.

    2025: deal not signable → od 2 (8). 2026: deal 1 + od 1 (5). 2027: deal 0.5 + od 1.5 (6.5).
    objective 19.5.
    """
    plan = solved(instance(
        [2025, 2027],
        workloads={"w": {"demand": 2}},
        providers={"m": {"contracts": {
            "od": {"term": 1, "price": 4},
            "deal": {"term": 1, "price": 1, "available": [2026, 2027],
                     "max_per_year": {2025: 5, 2026: 1, 2027: 0.5}},
        }}},
    ))
    assert plan.objective_value == approx(19.5)
    assert [signed(plan, "m", "deal", t) for t in (2025, 2026, 2027)] == approx([0, 1, 0.5])
    assert [signed(plan, "m", "od", t) for t in (2025, 2026, 2027)] == approx([2, 1, 1.5])


def test_build_max_per_year():
    """Build capex 1 (expensed when paid), lead 0, max_per_year 1. od price 3. Demand 2 in 2025–2026.

    2025: build 1 (the most) + od 1 → 1 + 3 = 4. 2026: the 2025 build still serves 1;
    build 1 more (1 < od 3). objective 5.
    """
    plan = solved(instance(
        [2025, 2026],
        workloads={"w": {"demand": 2}},
        finance={"initial_cash": 10},
        providers={"m": {
            "build": {"capex": 1, "max_per_year": 1},
            "contracts": {"od": {"term": 1, "price": 3}},
        }},
    ))
    assert plan.objective_value == approx(5)
    assert [signed(plan, "m", "build", t) for t in (2025, 2026)] == approx([1, 1])
    assert [signed(plan, "m", "od", t) for t in (2025, 2026)] == approx([1, 0])
    assert [cap(plan, "m", t, "owned") for t in (2025, 2026)] == approx([1, 2])


def test_workloads_list_restricts_where_a_workload_runs():
    """cheap: price 1, runs only inference. general: price 3, runs everything.
    Demand train 1, infer 1. train must go to general (3), infer to cheap (1). objective 4.
    usage has no (cheap, train) row.
    """
    plan = solved(instance(
        [2025, 2025],
        workloads={"train": {"demand": 1}, "infer": {"demand": 1}},
        providers={
            "cheap": {"workloads": ["infer"], "contracts": {"od": {"term": 1, "price": 1}}},
            "general": {"contracts": {"od": {"term": 1, "price": 3}}},
        },
    ))
    assert plan.objective_value == approx(4)
    assert signed(plan, "cheap", "od", 2025) == approx(1)
    assert signed(plan, "general", "od", 2025) == approx(1)
    usage = plan.tables["usage"]
    pairs = set(zip(usage["provider"], usage["workload"]))
    assert pairs == {("cheap", "infer"), ("general", "train"), ("general", "infer")}
    usage = usage.set_index(["provider", "workload"])
    assert usage.loc[("general", "train"), "capacity"] == approx(1)
    assert usage.loc[("cheap", "infer"), "capacity"] == approx(1)


# ======================================================================================
# Objectives, horizon end, infeasibility
# ======================================================================================


PEAK_INSTANCE = instance(
    [2025, 2027],
    finance={"initial_cash": 100, "base_revenue": {2025: 0, 2026: 5, 2027: 5}},
    providers={"m": {"contracts": {
        "od": {"term": 1, "price": 3},
        "lock": {"term": 3, "price": 0, "upfront": 6, "available": [2025, 2025]},
        "lock2": {"term": 2, "price": 0, "upfront": 4, "available": [2026, 2026]},
    }}},
)


def test_cumulative_loss_objective_on_the_peak_instance():
    """Demand 1 in 2025–2027; od price 3; lock (signable 2025 only): 6 upfront for all
    three years; lock2 (2026 only): 4 upfront for 2026–2027; base_revenue 0 / 5 / 5.

    With x = lock in 2025, the rest at best od 2025 + lock2 2026 (3 + 4 = 7):
    total = 6x + 7(1 − x) − 10 → x = 1. loss [6, −5, −5], cumulative [6, 1, −4]:
    objective −4, peak 6.
    """
    plan = solved(PEAK_INSTANCE)
    assert plan.objective_value == approx(-4)
    assert signed(plan, "m", "lock", 2025) == approx(1)
    assert len(plan.tables["procurement"]) == 1
    assert finance(plan, "cumulative_loss") == approx([6, 1, -4])
    assert plan.summary["peak_cumulative_loss"] == approx(6)


def test_peak_cumulative_loss_with_second_stage():
    """Same instance, objective peak_cumulative_loss. x = lock in 2025, y = lock2 in 2026,
    od covers the rest.

    cum[2025] = 6x + 3(1−x) = 3 + 3x ≥ 3: the peak is at least 3, and 3 only with x = 0.
    With x = 0: loss[2026] = 4y + 3(1−y) − 5 = y − 2,  cum[2026] = 1 + y  (≤ 3 for y ≤ 1);
                loss[2027] = 3(1−y) − 5 = −2 − 3y,     cum[2027] = −1 − 2y.
    Every y ∈ [0, 1] keeps the peak at 3, so the first stage cannot tell them apart
    (HiGHS alone stops at y = 0.5, total −2). Second stage: total = 3 + (y − 2) + (−2 − 3y)
    = −1 − 2y → y = 1: od 1 in 2025, lock2 1 in 2026. cumulative [3, 2, −3]:
    objective (the peak) 3, cumulative_loss −3 (the cumulative optimum had peak 6, total −4).
    Forbidding lock2 (y = 0) keeps the peak at 3 but the total rises to −1.
    """
    data = {**PEAK_INSTANCE, "objective": "peak_cumulative_loss"}
    plan = solved(data)
    assert plan.objective_value == approx(3)
    assert plan.summary["objective"] == "peak_cumulative_loss"
    assert plan.summary["peak_cumulative_loss"] == approx(3)
    assert plan.summary["cumulative_loss"] == approx(-3)  # the second stage's outcome
    assert signed(plan, "m", "lock", 2025) == approx(0)
    assert signed(plan, "m", "lock2", 2026) == approx(1)
    assert [signed(plan, "m", "od", t) for t in (2025, 2026, 2027)] == approx([1, 0, 0])
    assert finance(plan, "cumulative_loss") == approx([3, 2, -3])

    # Another plan with the same peak but a higher total: the second stage must not pick it.
    contracts = dict(PEAK_INSTANCE["providers"]["m"]["contracts"])
    contracts["lock2"] = {**contracts["lock2"], "max_per_year": 0}
    no_lock2 = solved({**data, "providers": {"m": {"contracts": contracts}}})
    assert no_lock2.objective_value == approx(3)
    assert no_lock2.summary["cumulative_loss"] == approx(-1)
    assert finance(no_lock2, "cumulative_loss") == approx([3, 1, -1])


def test_commitments_after_horizon():
    """res3: term 3, price 1 (signed 2025) / 1.5 (signed 2026); od price 2.5. Demand 1 / 3.

    2025: res3 x covers 2025 and 2026 (2027 is outside): x = 1 (its 2026 year displaces
    1.5 of new res3). 2026: the other 2 by res3 signed 2026 at 1.5 (< od 2.5).
    objective 1 + (1 + 3) = 5.
    After 2026: x owes 1 year · 1 · 1 = 1; y owes 2 years · 1.5 · 2 = 6 → 7.
    """
    plan = solved(instance(
        [2025, 2026],
        workloads={"w": {"demand": {2025: 1, 2026: 3}}},
        providers={"m": {"contracts": {
            "od": {"term": 1, "price": 2.5},
            "res3": {"term": 3, "price": {2025: 1, 2026: 1.5}},
        }}},
    ))
    assert plan.objective_value == approx(5)
    assert signed(plan, "m", "res3", 2025) == approx(1)
    assert signed(plan, "m", "res3", 2026) == approx(2)
    assert signed(plan, "m", "od", 2025) + signed(plan, "m", "od", 2026) == approx(0)
    assert plan.summary["commitments_after_horizon"] == approx(7)


def test_infeasible_instance():
    """As test_7_min_cash_forces_borrowing, but the debt limit is 2: the 2025 demand must
    be served (od 2) and cash[2025] = 0 + debt − 2 ≥ min_cash 1 needs debt ≥ 3 > 2."""
    plan = planner.solve(instance(
        [2025, 2026],
        workloads={"w": {"demand": {2025: 1, 2026: 0}}},
        finance={"min_cash": 1, "base_revenue": {2025: 0, 2026: 10}, "debt": {"limit": 2, "rate": 0.1}},
        providers={"m": {"contracts": {"od": {"term": 1, "price": 2}}}},
    ))
    assert plan.status == "infeasible"
    assert plan.summary["status"] == "infeasible"
    assert plan.objective_value is None
    assert all(frame.empty for frame in plan.tables.values())  # no tables (or only empty ones)
