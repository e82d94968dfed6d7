"""The linear program of MODEL.md §2, as a Pyomo model.

Read this file beside MODEL.md §2: the sets, the decision variables, the expressions and
the constraint families appear here in the same order and under the same names.

``build_model(instance)`` returns a ``ConcreteModel`` whose components are:

Sets
    ``T`` years, ``W`` workloads, ``P`` providers, ``SIGNINGS`` the ``(p, k, s)`` with
    ``s ∈ S_k``, ``BUILDS`` the ``(p, s)`` of build providers, ``USES`` the ``(p, w, t)``
    with ``w ∈ W_p``.

Decision variables
    ``c``, ``b``, ``u``, ``debt``, ``cash``, ``charge`` (and ``peak`` for the
    ``peak_cumulative_loss`` objective).

Expressions
    ``owned_capacity``, ``contracted_capacity``, ``active_capacity`` (the spec's
    ``owned``, ``contracted``, ``active``; Pyomo reserves ``active``), ``spend``, ``served``, ``revenue``,
    ``compute_cost``, ``capex``, ``capex_expense``, ``interest``, ``loss``,
    ``cumulative_loss``, ``discounted_loss``.

Constraint families
    1 ``use_within_reach``, 2 ``provider_capacity``, 3 ``service``,
    4 ``minimum_capacity``, 5 ``min_share`` / ``max_share``, 6 ``gradual_decline``,
    7 ``cash_balance``, and the take-or-pay pair ``charge_covers_spend`` /
    ``take_or_pay``; for the peak objective, ``peak_bound``.
"""

from __future__ import annotations

import pyomo.environ as pyo

from .instance import Instance

NO_LIMIT = None


def build_model(inst: Instance, objective: str | None = None) -> pyo.ConcreteModel:
    """Build the LP of ``inst``; ``objective`` overrides the instance's objective."""
    m = pyo.ConcreteModel(name=inst.name)
    m.objective_name = objective or inst.objective
    add_sets(m, inst)
    add_variables(m, inst)
    add_expressions(m, inst)
    add_use_within_reach(m, inst)
    add_provider_capacity(m, inst)
    add_service(m, inst)
    add_minimum_capacity(m, inst)
    add_shares(m, inst)
    add_gradual_decline(m, inst)
    add_cash_balance(m, inst)
    add_take_or_pay(m, inst)
    add_objective(m, inst)
    return m


# --------------------------------------------------------------------------------------
# Sets
# --------------------------------------------------------------------------------------


def add_sets(m, inst: Instance) -> None:
    years = inst.year_list
    m.T = pyo.Set(initialize=years, ordered=True, doc="planning years t0..tN")
    m.W = pyo.Set(initialize=list(inst.workloads), ordered=True, doc="workloads")
    m.P = pyo.Set(initialize=list(inst.providers), ordered=True, doc="providers")
    m.SIGNINGS = pyo.Set(
        dimen=3,
        ordered=True,
        initialize=[
            (p, k, s)
            for p, prov in inst.providers.items()
            for k in prov.contracts
            for s in inst.signing_years(p, k)
        ],
        doc="(provider p, contract k, signing year s ∈ S_k)",
    )
    m.BUILD_PROVIDERS = pyo.Set(
        initialize=[p for p, prov in inst.providers.items() if prov.build is not None],
        ordered=True,
        doc="providers that can build owned capacity",
    )
    m.BUILDS = pyo.Set(
        dimen=2, ordered=True, initialize=[(p, s) for p in m.BUILD_PROVIDERS for s in years],
        doc="(build provider p, build start year s)",
    )
    m.USES = pyo.Set(
        dimen=3,
        ordered=True,
        initialize=[(p, w, t) for p in inst.providers for w in inst.allowed_workloads(p) for t in years],
        doc="(provider p, workload w ∈ W_p, year t)",
    )


def contract_active(inst: Instance, p: str, k: str, s: int, t: int) -> bool:
    """A contract signed in year ``s`` is active in ``s .. s+term-1``."""
    return s <= t <= s + inst.providers[p].contracts[k].term - 1


def build_online(inst: Instance, p: str, s: int, t: int) -> bool:
    """A build started in ``s`` is online for ``s+lead_time <= t < s+lead_time+lifetime``."""
    build = inst.providers[p].build
    start = s + build.lead_time
    return start <= t and (build.lifetime is None or t < start + build.lifetime)


def depreciating(inst: Instance, p: str, s: int, t: int) -> bool:
    """Capex of a build started in ``s`` is expensed in ``t`` (``depreciation_years`` >= 1)."""
    build = inst.providers[p].build
    start = s + build.lead_time
    return start <= t < start + build.depreciation_years


# --------------------------------------------------------------------------------------
# Decision variables
# --------------------------------------------------------------------------------------


def add_variables(m, inst: Instance) -> None:
    providers = inst.providers

    def signing_bounds(m, p, k, s):
        cap = providers[p].contracts[k].max_per_year
        return (0, NO_LIMIT if cap is None else cap[s])

    def build_bounds(m, p, s):
        cap = providers[p].build.max_per_year
        return (0, NO_LIMIT if cap is None else cap[s])

    debt = inst.finance.debt
    m.c = pyo.Var(m.SIGNINGS, bounds=signing_bounds, doc="capacity signed under contract k in year s")
    m.b = pyo.Var(m.BUILDS, bounds=build_bounds, doc="new owned capacity whose build starts in year s")
    m.u = pyo.Var(m.USES, bounds=(0, NO_LIMIT), doc="capacity of p used for workload w in year t")
    m.debt = pyo.Var(m.T, bounds=lambda m, t: (0, debt.limit[t]), doc="end-of-year debt")
    m.cash = pyo.Var(m.T, bounds=lambda m, t: (inst.finance.min_cash[t], NO_LIMIT), doc="end-of-year cash")
    m.charge = pyo.Var(m.P, m.T, bounds=(0, NO_LIMIT), doc="money charged by provider p in year t")


# --------------------------------------------------------------------------------------
# Expressions
# --------------------------------------------------------------------------------------


def add_expressions(m, inst: Instance) -> None:
    providers, finance = inst.providers, inst.finance
    t0 = inst.years[0]
    by_provider: dict[str, list[tuple[str, int]]] = {p: [] for p in providers}
    for p, k, s in m.SIGNINGS:
        by_provider[p].append((k, s))

    def owned(m, p, t):
        build = providers[p].build
        if build is None:
            return 0.0
        return build.initial + sum(m.b[p, s] for s in m.T if build_online(inst, p, s, t))

    def contracted(m, p, t):
        return sum(m.c[p, k, s] for k, s in by_provider[p] if contract_active(inst, p, k, s, t))

    def spend(m, p, t):
        contracts = providers[p].contracts
        return (
            providers[p].existing_cost[t]
            + sum(
                contracts[k].price[s] * m.c[p, k, s]
                for k, s in by_provider[p]
                if contract_active(inst, p, k, s, t)
            )
            + sum(contracts[k].upfront[t] * m.c[p, k, s] for k, s in by_provider[p] if s == t)
        )

    def served(m, w, t):
        return sum(
            providers[p].efficiency[t] * m.u[p, w, t] for p in m.P if w in inst.allowed_workloads(p)
        )

    def capex_expense(m, t):
        total = 0.0
        for p in m.BUILD_PROVIDERS:
            build = providers[p].build
            if not build.capex_in_loss:
                continue
            if build.depreciation_years == 0:
                total += build.capex[t] * m.b[p, t]
            else:
                total += sum(
                    build.capex[s] * m.b[p, s] / build.depreciation_years
                    for s in m.T
                    if depreciating(inst, p, s, t)
                )
        return total

    def debt_before(m, t):
        return finance.debt.initial if t == t0 else m.debt[t - 1]

    m.owned_capacity = pyo.Expression(m.P, m.T, rule=owned, doc="owned[p,t] = initial + Σ_{s online at t} b[p,s]")
    m.contracted_capacity = pyo.Expression(m.P, m.T, rule=contracted, doc="capacity under contracts active at t")
    m.active_capacity = pyo.Expression(
        m.P, m.T,
        rule=lambda m, p, t: providers[p].existing[t] + m.contracted_capacity[p, t] + m.owned_capacity[p, t],
        doc="active[p,t] = existing + contracted + owned",
    )
    m.spend = pyo.Expression(m.P, m.T, rule=spend, doc="existing cost + contract prices + upfront")
    m.served = pyo.Expression(m.W, m.T, rule=served, doc="compute served: Σ_p efficiency·u")
    m.revenue = pyo.Expression(
        m.T,
        rule=lambda m, t: finance.base_revenue[t]
        + sum(inst.workloads[w].revenue[t] * m.served[w, t] for w in m.W),
        doc="base revenue + Σ_w revenue[w,t]·served[w,t]",
    )
    m.compute_cost = pyo.Expression(
        m.T,
        rule=lambda m, t: sum(m.charge[p, t] for p in m.P)
        + sum(providers[p].build.opex[t] * m.owned_capacity[p, t] for p in m.BUILD_PROVIDERS),
        doc="Σ_p charge + Σ_build opex·owned",
    )
    m.capex = pyo.Expression(
        m.T,
        rule=lambda m, t: sum(providers[p].build.capex[t] * m.b[p, t] for p in m.BUILD_PROVIDERS),
        doc="capex paid in year t",
    )
    m.capex_expense = pyo.Expression(m.T, rule=capex_expense, doc="capex counted as loss in year t")
    m.interest = pyo.Expression(
        m.T, rule=lambda m, t: finance.debt.rate * debt_before(m, t), doc="rate · debt[t-1]"
    )
    m.debt_before = pyo.Expression(m.T, rule=debt_before, doc="debt at the start of year t")
    m.loss = pyo.Expression(
        m.T,
        rule=lambda m, t: m.compute_cost[t] + m.capex_expense[t] + finance.other_costs[t]
        + m.interest[t] - m.revenue[t],
        doc="compute cost + capex expense + other costs + interest − revenue",
    )
    m.cumulative_loss = pyo.Expression(
        m.T, rule=lambda m, t: sum(m.loss[tau] for tau in m.T if tau <= t), doc="Σ_{τ≤t} loss[τ]"
    )
    m.discounted_loss = pyo.Expression(
        expr=sum(discount_factor(inst, t) * m.loss[t] for t in m.T),
        doc="Σ_t (1+r)^-(t-t0) · loss[t]",
    )


def discount_factor(inst: Instance, t: int) -> float:
    return (1.0 + inst.discount_rate) ** -(t - inst.years[0])


# --------------------------------------------------------------------------------------
# Constraint families
# --------------------------------------------------------------------------------------


def add_use_within_reach(m, inst: Instance) -> None:
    """1. Σ_{w ∈ W_p} u[p,w,t] ≤ active[p,t] (idle capacity is still paid)."""
    m.use_within_reach = pyo.Constraint(
        m.P, m.T,
        rule=lambda m, p, t: sum(m.u[p, w, t] for w in inst.allowed_workloads(p)) <= m.active_capacity[p, t],
    )


def _provider_years(m, inst: Instance, field: str) -> list[tuple[str, int]]:
    return [(p, t) for p, prov in inst.providers.items() if getattr(prov, field) is not None for t in m.T]


def add_provider_capacity(m, inst: Instance) -> None:
    """2. active[p,t] ≤ capacity[p,t] (where given)."""
    m.provider_capacity = pyo.Constraint(
        _provider_years(m, inst, "capacity"),
        rule=lambda m, p, t: m.active_capacity[p, t] <= inst.providers[p].capacity[t],
    )


def add_service(m, inst: Instance) -> None:
    """3. min_served[w,t]·demand[w,t] ≤ served[w,t] ≤ demand[w,t]."""

    def rule(m, w, t):
        wl = inst.workloads[w]
        return pyo.inequality(wl.min_served[t] * wl.demand[t], m.served[w, t], wl.demand[t])

    m.service = pyo.Constraint(m.W, m.T, rule=rule)


def add_minimum_capacity(m, inst: Instance) -> None:
    """4. active[p,t] ≥ min_capacity[p,t] (where given)."""
    m.minimum_capacity = pyo.Constraint(
        _provider_years(m, inst, "min_capacity"),
        rule=lambda m, p, t: m.active_capacity[p, t] >= inst.providers[p].min_capacity[t],
    )


def add_shares(m, inst: Instance) -> None:
    """5. min_share·Σ_q active[q,t] ≤ active[p,t] ≤ max_share·Σ_q active[q,t] (where given)."""

    def total(m, t):
        return sum(m.active_capacity[q, t] for q in m.P)

    m.min_share = pyo.Constraint(
        _provider_years(m, inst, "min_share"),
        rule=lambda m, p, t: inst.providers[p].min_share[t] * total(m, t) <= m.active_capacity[p, t],
    )
    m.max_share = pyo.Constraint(
        _provider_years(m, inst, "max_share"),
        rule=lambda m, p, t: m.active_capacity[p, t] <= inst.providers[p].max_share[t] * total(m, t),
    )


def add_gradual_decline(m, inst: Instance) -> None:
    """6. active[p,t] ≥ (1 − max_decline[p,t])·active[p,t-1] for t > t0 (where given)."""
    t0 = inst.years[0]
    m.gradual_decline = pyo.Constraint(
        [(p, t) for p, t in _provider_years(m, inst, "max_decline") if t > t0],
        rule=lambda m, p, t: m.active_capacity[p, t]
        >= (1 - inst.providers[p].max_decline[t]) * m.active_capacity[p, t - 1],
    )


def add_cash_balance(m, inst: Instance) -> None:
    """7. cash[t] = cash[t-1] + revenue + funding + debt[t] − debt[t-1] − compute_cost
    − capex − other_costs − interest, with cash[t0-1] = initial_cash."""
    finance, t0 = inst.finance, inst.years[0]

    def rule(m, t):
        cash_before = finance.initial_cash if t == t0 else m.cash[t - 1]
        return m.cash[t] == (
            cash_before + m.revenue[t] + finance.funding[t] + m.debt[t] - m.debt_before[t]
            - m.compute_cost[t] - m.capex[t] - finance.other_costs[t] - m.interest[t]
        )

    m.cash_balance = pyo.Constraint(m.T, rule=rule)


def add_take_or_pay(m, inst: Instance) -> None:
    """charge[p,t] = spend[p,t] without ``min_spend``; with it, charge ≥ spend and
    charge ≥ min_spend (take-or-pay: the optimum pays the larger)."""

    def covers(m, p, t):
        if inst.providers[p].min_spend is None:
            return m.charge[p, t] == m.spend[p, t]
        return m.charge[p, t] >= m.spend[p, t]

    m.charge_covers_spend = pyo.Constraint(m.P, m.T, rule=covers)
    m.take_or_pay = pyo.Constraint(
        _provider_years(m, inst, "min_spend"),
        rule=lambda m, p, t: m.charge[p, t] >= inst.providers[p].min_spend[t],
    )


# --------------------------------------------------------------------------------------
# Objective
# --------------------------------------------------------------------------------------


def add_objective(m, inst: Instance) -> None:
    """``cumulative_loss``: minimise discounted loss. ``peak_cumulative_loss``: minimise
    ``peak`` with ``peak ≥ cumulative_loss[t]`` (the solver then runs the second stage)."""
    if m.objective_name == "peak_cumulative_loss":
        m.peak = pyo.Var(doc="peak cumulative loss z")
        m.peak_bound = pyo.Constraint(m.T, rule=lambda m, t: m.peak >= m.cumulative_loss[t])
        m.objective = pyo.Objective(expr=m.peak, sense=pyo.minimize)
    else:
        m.objective = pyo.Objective(expr=m.discounted_loss, sense=pyo.minimize)
