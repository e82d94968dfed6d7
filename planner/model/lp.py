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
    ``owned``, ``contracted``, ``active``; Pyomo reserves ``active``), ``total_active`` (§2's
    ``Σ_q active[q,t]``, the shares' base), ``spend``, ``served``, ``revenue``,
    ``compute_cost``, ``capex``, ``capex_expense``, ``interest``, ``loss``,
    ``cumulative_loss``, ``discounted_loss``.

Constraint families (one ``add_<family>`` each; their rows in :mod:`planner.model.families`)
    The limits of the decision variables: ``contract_max_per_year``,
    ``build_max_per_year``, ``debt_limit``, ``minimum_cash``; then §2's
    1 ``use_within_reach``, 2 ``provider_capacity``, 3 ``service_floor`` /
    ``service_cap``, 4 ``minimum_capacity``, 5 ``min_share`` / ``max_share``,
    6 ``gradual_decline``, 7 ``cash_balance``, and the take-or-pay pair
    ``charge_covers_spend`` / ``take_or_pay``; for the peak objective, ``peak_bound``.

Elsewhere
    The extensive form over cases and the second stage (MODEL.md §5) are in
    :mod:`planner.model.stochastic`; the diagnosis model of §4, which gives each hard
    family's rows a slack after this model is built, in :mod:`planner.model.elastic`.

Speed
    The memberships the sums run over (which contracts are active in a year, which builds
    are online, which providers host a workload) are computed once per plan
    (:class:`Lookup`, ``m.lookup``), and the long sums are built in one go as flat linear
    expressions (:func:`linear`), so building takes time in proportion to the LP's
    non-zeros. The terms keep the order of the plain ``sum(...)`` they replace, so the LP
    handed to the solver is the same, column for column (``tests/test_performance_equivalence.py``).

    A sum that several rows share is a named expression, which the hand-off's compiler
    (:class:`planner.solver.highs.LinearProgram`) walks once and reuses: ``total_active[t]``
    is in every share row of year ``t``, written inline it was walked again for each
    (half of the shares' hand-off time).
"""

from __future__ import annotations

# The modelling layer and Pyomo's file writers (``model.write("lp.mps")``) only: importing
# pyomo.environ would also load every solver interface and modelling extension (0.3 s of
# every `planner solve`).
import pyomo.core as pyo
import pyomo.repn.plugins
from pyomo.common.gc_manager import PauseGC
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression

from ..instance.schema import Instance
from .stochastic import add_nonanticipativity, add_risk_objective

pyomo.repn.plugins.load()

NO_LIMIT = None


def build_model(inst: Instance, objective: str | None = None) -> pyo.ConcreteModel:
    """Build the LP of ``inst``; ``objective`` overrides the instance's objective.

    An instance with ``scenarios`` gets the extensive form of MODEL.md §5: one block
    ``case[n]`` per case holding a copy of §2 with that case's data, the committed
    signings and builds tied together (``nonanticipativity``), and the risk objective.

    The diagnosis model of MODEL.md §4 is this model with slack added:
    :func:`planner.model.elastic.build_elastic_model`.
    """
    # Building makes millions of small objects that all stay alive: pausing Python's
    # cyclic garbage collector meanwhile (as Pyomo's own writers do) halves the time.
    with PauseGC():
        m = pyo.ConcreteModel(name=inst.name)
        m.objective_name = objective or inst.objective
        if inst.scenarios is None:
            add_plan(m, inst, m.objective_name)
            m.objective = pyo.Objective(expr=m.plan_objective, sense=pyo.minimize)
            return m
        m.CASES = pyo.Set(initialize=list(inst.cases), ordered=True, doc="cases n")
        name = m.objective_name  # not m: a rule holding the model would keep it alive (a cycle)
        m.case = pyo.Block(m.CASES, rule=lambda b, n: add_plan(b, inst.cases[n], name))
        add_nonanticipativity(m, inst)
        add_risk_objective(m, inst)
        return m


def add_plan(m, inst: Instance, objective_name: str) -> None:
    """Every component of §2 for ``inst`` on the block ``m``: sets, variables,
    expressions, the constraint families in MODEL.md's order, and the plan's objective
    expression ``plan_objective``."""
    m.objective_name = objective_name
    add_sets(m, inst)
    add_variables(m, inst)
    add_expressions(m, inst)
    add_contract_max_per_year(m, inst)
    add_build_max_per_year(m, inst)
    add_debt_limit(m, inst)
    add_minimum_cash(m, inst)
    add_use_within_reach(m, inst)
    add_provider_capacity(m, inst)
    add_service_floor(m, inst)
    add_service_cap(m, inst)
    add_minimum_capacity(m, inst)
    add_min_share(m, inst)
    add_max_share(m, inst)
    add_gradual_decline(m, inst)
    add_cash_balance(m, inst)
    add_charge_covers_spend(m, inst)
    add_take_or_pay(m, inst)
    add_plan_objective(m, inst)


# --------------------------------------------------------------------------------------
# Sets
# --------------------------------------------------------------------------------------


def add_sets(m, inst: Instance) -> None:
    years = inst.year_list
    m.lookup = look = Lookup(inst)
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
            for s in look.signing_years[p, k]
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
        initialize=[(p, w, t) for p in inst.providers for w in look.allowed[p] for t in years],
        doc="(provider p, workload w ∈ W_p, year t)",
    )


def contract_years(contract, s: int, last: int) -> range:
    """The years up to ``last`` in which ``contract``, signed in ``s``, is active:
    ``s .. s+term-1``."""
    return range(s, min(s + contract.term, last + 1))


def online_years(build, s: int, last: int) -> range:
    """The years up to ``last`` in which a build started in ``s`` is online:
    ``s+lead_time ≤ t < s+lead_time+lifetime`` (no end without a lifetime)."""
    start = s + build.lead_time
    return range(start, last + 1 if build.lifetime is None else min(last + 1, start + build.lifetime))


def expensed_years(build, s: int, last: int) -> range:
    """The years up to ``last`` in which the capex of a build started in ``s`` is
    depreciated: ``s+lead_time ≤ t < s+lead_time+depreciation_years`` (none for 0)."""
    start = s + build.lead_time
    return range(start, min(last + 1, start + build.depreciation_years))


def contract_active(inst: Instance, p: str, k: str, s: int, t: int) -> bool:
    """A contract signed in year ``s`` is active in ``s .. s+term-1``."""
    return t in contract_years(inst.providers[p].contracts[k], s, t)


def build_online(inst: Instance, p: str, s: int, t: int) -> bool:
    """A build started in ``s`` is online for ``s+lead_time <= t < s+lead_time+lifetime``."""
    return t in online_years(inst.providers[p].build, s, t)


def depreciating(inst: Instance, p: str, s: int, t: int) -> bool:
    """Capex of a build started in ``s`` is expensed in ``t`` (``depreciation_years`` >= 1)."""
    return t in expensed_years(inst.providers[p].build, s, t)


class Lookup:
    """The sets' memberships by year, computed once (``m.lookup``), so that no rule scans
    every signing or build for each ``(p, t)``: each list is in the order of the set it
    comes from (``SIGNINGS``, ``T``, ``P``), which is the order of the terms in the sums.

    ``signing_years[p, k]``  ``S_k``, the years contract ``k`` of ``p`` can be signed
    ``allowed[p]``           ``W_p``, the workloads allowed on ``p``
    ``hosts[w]``             the providers ``p`` with ``w ∈ W_p``
    ``signed[p][t]``         the ``(k, s)`` of ``p``'s contracts active at ``t`` (:func:`contract_active`)
    ``online[p][t]``         the ``s`` whose build is online at ``t`` (:func:`build_online`)
    ``expensed[p][t]``       the ``s`` whose capex is depreciated in ``t`` (:func:`depreciating`)

    Each is filled from the years those predicates are defined by (:func:`contract_years`,
    :func:`online_years`, :func:`expensed_years`), walking each signing's or build's years
    once rather than asking the predicate for every year.
    """

    def __init__(self, inst: Instance):
        years = inst.year_list
        last = years[-1]
        self.signing_years = {(p, k): inst.signing_years(p, k) for p, prov in inst.providers.items() for k in prov.contracts}
        self.allowed = {p: inst.allowed_workloads(p) for p in inst.providers}
        allowed_sets = {p: set(ws) for p, ws in self.allowed.items()}
        self.hosts = {w: [p for p in inst.providers if w in allowed_sets[p]] for w in inst.workloads}
        self.signed: dict[str, dict[int, list[tuple[str, int]]]] = {}
        self.online: dict[str, dict[int, list[int]]] = {}
        self.expensed: dict[str, dict[int, list[int]]] = {}
        for p, prov in inst.providers.items():
            signed = self.signed[p] = {t: [] for t in years}
            for k, contract in prov.contracts.items():
                for s in self.signing_years[p, k]:
                    for t in contract_years(contract, s, last):
                        signed[t].append((k, s))
            build = prov.build
            if build is None:
                continue
            online = self.online[p] = {t: [] for t in years}
            expensed = self.expensed[p] = {t: [] for t in years}
            for s in years:
                for t in online_years(build, s, last):
                    online[t].append(s)
                for t in expensed_years(build, s, last):
                    expensed[t].append(s)


def variables(var) -> dict:
    """``{index: VarData}`` of an indexed variable, for lookups in the long sums (a plain
    dict is several times faster than indexing the component)."""
    return dict(var.items())


def linear(terms, constant=0.0):
    """``constant + Σ coefficient·variable`` over ``terms`` (pairs), built in one go as one
    flat Pyomo ``LinearExpression`` (no per-term Python arithmetic); a coefficient of 1
    keeps the bare variable, as Pyomo's own ``1 * x`` does. No terms: the constant.

    A coefficient or the constant may be a mutable Pyomo ``Param`` (a sweep's varied
    number, :mod:`planner.solver.parametric`): it stays in the expression, whatever its value."""
    args = [var if coef.__class__ in _NUMBERS and coef == 1 else MonomialTermExpression((coef, var))
            for coef, var in terms]
    if not args:
        return constant
    if constant.__class__ not in _NUMBERS or constant:
        args.append(constant)
    return LinearExpression(args)


_NUMBERS = {int, float}


# --------------------------------------------------------------------------------------
# Decision variables
# --------------------------------------------------------------------------------------


def add_variables(m, inst: Instance) -> None:
    """The decision variables of §2. Their upper limits (``max_per_year``, the debt
    limit) and the cash floor are the named constraint families below, so that a
    diagnosis can relax them and each has a shadow price."""
    m.c = pyo.Var(m.SIGNINGS, bounds=(0, NO_LIMIT), doc="capacity signed under contract k in year s")
    m.b = pyo.Var(m.BUILDS, bounds=(0, NO_LIMIT), doc="new owned capacity whose build starts in year s")
    m.u = pyo.Var(m.USES, bounds=(0, NO_LIMIT), doc="capacity of p used for workload w in year t")
    m.debt = pyo.Var(m.T, bounds=(0, NO_LIMIT), doc="end-of-year debt")
    m.cash = pyo.Var(m.T, doc="end-of-year cash")
    # charge: for every provider and year, not only where min_spend is given (MODEL.md §2);
    # without a min_spend, charge_covers_spend pins it to the spend (docs/extensions.md)
    m.charge = pyo.Var(m.P, m.T, bounds=(0, NO_LIMIT), doc="money charged by provider p in year t")


# --------------------------------------------------------------------------------------
# Expressions
# --------------------------------------------------------------------------------------


def add_expressions(m, inst: Instance) -> None:
    providers, finance = inst.providers, inst.finance
    t0 = inst.years[0]
    look = m.lookup
    c, b, u = variables(m.c), variables(m.b), variables(m.u)

    def owned(m, p, t):
        build = providers[p].build
        if build is None:
            return 0.0
        return linear([(1, b[p, s]) for s in look.online[p][t]], build.initial)

    def contracted(m, p, t):
        return linear([(1, c[p, k, s]) for k, s in look.signed[p][t]], 0)

    def spend(m, p, t):
        contracts = providers[p].contracts
        return linear(
            [(contracts[k].price[s], c[p, k, s]) for k, s in look.signed[p][t]]
            + [(contracts[k].upfront[t], c[p, k, s]) for k, s in look.signed[p][t] if s == t],
            providers[p].existing_cost[t],
        )

    def served(m, w, t):
        return linear([(providers[p].efficiency[t], u[p, w, t]) for p in look.hosts[w]], 0)

    def capex_expense(m, t):
        total = 0.0
        for p in m.BUILD_PROVIDERS:
            build = providers[p].build
            if not build.capex_in_loss:
                continue
            if build.depreciation_years == 0:
                total += build.capex[t] * m.b[p, t]
            else:
                years = build.depreciation_years
                total += linear([(build.capex[s] / years, b[p, s]) for s in look.expensed[p][t]], 0)
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
    m.total_active = pyo.Expression(
        m.T, rule=lambda m, t: sum(m.active_capacity[q, t] for q in m.P), doc="Σ_q active[q,t] (the shares' base)"
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
        expr=sum(inst.discount_factor(t) * m.loss[t] for t in m.T),
        doc="Σ_t (1+r)^-(t-t0) · loss[t]",
    )


# --------------------------------------------------------------------------------------
# Constraint families
# --------------------------------------------------------------------------------------


def add_contract_max_per_year(m, inst: Instance) -> None:
    """c[p,k,s] ≤ max_per_year_k[s] (where given)."""
    contracts = {p: prov.contracts for p, prov in inst.providers.items()}
    m.contract_max_per_year = pyo.Constraint(
        [(p, k, s) for p, k, s in m.SIGNINGS if contracts[p][k].max_per_year is not None],
        rule=lambda m, p, k, s: m.c[p, k, s] <= contracts[p][k].max_per_year[s],
    )


def add_build_max_per_year(m, inst: Instance) -> None:
    """b[p,s] ≤ build max_per_year[s] (where given)."""
    providers = inst.providers
    m.build_max_per_year = pyo.Constraint(
        [(p, s) for p, s in m.BUILDS if providers[p].build.max_per_year is not None],
        rule=lambda m, p, s: m.b[p, s] <= providers[p].build.max_per_year[s],
    )


def add_debt_limit(m, inst: Instance) -> None:
    """debt[t] ≤ limit[t]."""
    m.debt_limit = pyo.Constraint(m.T, rule=lambda m, t: m.debt[t] <= inst.finance.debt.limit[t])


def add_minimum_cash(m, inst: Instance) -> None:
    """cash[t] ≥ min_cash[t]. (A diagnosis relaxes it through ``cash_balance``: see the
    family's row in :mod:`planner.model.families`.)"""
    m.minimum_cash = pyo.Constraint(m.T, rule=lambda m, t: m.cash[t] >= inst.finance.min_cash[t])


def add_use_within_reach(m, inst: Instance) -> None:
    """1. Σ_{w ∈ W_p} u[p,w,t] ≤ active[p,t] (idle capacity is still paid)."""
    allowed, u = m.lookup.allowed, variables(m.u)
    m.use_within_reach = pyo.Constraint(
        m.P, m.T,
        rule=lambda m, p, t: linear([(1, u[p, w, t]) for w in allowed[p]], 0) <= m.active_capacity[p, t],
    )


def _provider_years(m, inst: Instance, field: str) -> list[tuple[str, int]]:
    """The ``(p, t)`` of the providers that give ``field`` (a yearly series), every year."""
    return [(p, t) for p, prov in inst.providers.items() if getattr(prov, field) is not None for t in m.T]


def add_provider_capacity(m, inst: Instance) -> None:
    """2. active[p,t] ≤ capacity[p,t] (where given)."""
    providers = inst.providers
    m.provider_capacity = pyo.Constraint(
        _provider_years(m, inst, "capacity"),
        rule=lambda m, p, t: m.active_capacity[p, t] <= providers[p].capacity[t],
    )


def add_service_floor(m, inst: Instance) -> None:
    """3. min_served[w,t]·demand[w,t] ≤ served[w,t]."""
    workloads = inst.workloads
    m.service_floor = pyo.Constraint(
        m.W, m.T, rule=lambda m, w, t: m.served[w, t] >= workloads[w].min_served[t] * workloads[w].demand[t]
    )


def add_service_cap(m, inst: Instance) -> None:
    """3. served[w,t] ≤ demand[w,t]."""
    workloads = inst.workloads
    m.service_cap = pyo.Constraint(m.W, m.T, rule=lambda m, w, t: m.served[w, t] <= workloads[w].demand[t])


def add_minimum_capacity(m, inst: Instance) -> None:
    """4. active[p,t] ≥ min_capacity[p,t] (where given)."""
    providers = inst.providers
    m.minimum_capacity = pyo.Constraint(
        _provider_years(m, inst, "min_capacity"),
        rule=lambda m, p, t: m.active_capacity[p, t] >= providers[p].min_capacity[t],
    )


def total_active(m, t):
    """Σ_q active[q,t], the capacity of every provider (the shares' base): the named
    expression ``total_active[t]``, or the sum itself on a model without it."""
    named = m.component("total_active")
    return named[t] if named is not None else sum(m.active_capacity[q, t] for q in m.P)


def add_min_share(m, inst: Instance) -> None:
    """5. min_share[p,t]·Σ_q active[q,t] ≤ active[p,t] (where given)."""
    providers = inst.providers
    m.min_share = pyo.Constraint(
        _provider_years(m, inst, "min_share"),
        rule=lambda m, p, t: providers[p].min_share[t] * total_active(m, t) <= m.active_capacity[p, t],
    )


def add_max_share(m, inst: Instance) -> None:
    """5. active[p,t] ≤ max_share[p,t]·Σ_q active[q,t] (where given)."""
    providers = inst.providers
    m.max_share = pyo.Constraint(
        _provider_years(m, inst, "max_share"),
        rule=lambda m, p, t: m.active_capacity[p, t] <= providers[p].max_share[t] * total_active(m, t),
    )


def add_gradual_decline(m, inst: Instance) -> None:
    """6. active[p,t] ≥ (1 − max_decline[p,t])·active[p,t-1] for t > t0 (where given)."""
    providers, t0 = inst.providers, inst.years[0]
    m.gradual_decline = pyo.Constraint(
        [(p, t) for p, t in _provider_years(m, inst, "max_decline") if t > t0],
        rule=lambda m, p, t: m.active_capacity[p, t]
        >= (1 - providers[p].max_decline[t]) * m.active_capacity[p, t - 1],
    )


def add_cash_balance(m, inst: Instance) -> None:
    """7. cash[t] = cash[t-1] + revenue + funding + debt[t] − debt[t-1] − compute_cost
    − capex − other_costs − interest, with cash[t0-1] = initial_cash.

    Written ``cash[t] == (the money side)``: a diagnosis adds the cash floor's slack to the
    right-hand side, as new money (:mod:`planner.model.elastic`)."""
    finance, t0 = inst.finance, inst.years[0]

    def rule(m, t):
        cash_before = finance.initial_cash if t == t0 else m.cash[t - 1]
        return m.cash[t] == (
            cash_before + m.revenue[t] + finance.funding[t] + m.debt[t] - m.debt_before[t]
            - m.compute_cost[t] - m.capex[t] - finance.other_costs[t] - m.interest[t]
        )

    m.cash_balance = pyo.Constraint(m.T, rule=rule)


def add_charge_covers_spend(m, inst: Instance) -> None:
    """charge[p,t] = spend[p,t] without ``min_spend``; with it, charge[p,t] ≥ spend[p,t].

    ``charge`` is a variable for every provider and year, where MODEL.md asks for it only
    where ``min_spend`` is given: without one, this equality pins it to the spend (and
    gives it a shadow price in ``duals.csv``; docs/extensions.md)."""
    providers = inst.providers

    def covers(m, p, t):
        if providers[p].min_spend is None:
            return m.charge[p, t] == m.spend[p, t]
        return m.charge[p, t] >= m.spend[p, t]

    m.charge_covers_spend = pyo.Constraint(m.P, m.T, rule=covers)


def add_take_or_pay(m, inst: Instance) -> None:
    """charge[p,t] ≥ min_spend[p,t] (where given): take-or-pay, the optimum pays the larger
    of the spend and the minimum."""
    providers = inst.providers
    m.take_or_pay = pyo.Constraint(
        _provider_years(m, inst, "min_spend"),
        rule=lambda m, p, t: m.charge[p, t] >= providers[p].min_spend[t],
    )


# --------------------------------------------------------------------------------------
# Objective
# --------------------------------------------------------------------------------------


def add_plan_objective(m, inst: Instance) -> None:
    """``plan_objective``: the discounted cumulative loss Σ_t (1+r)^-(t-t0)·loss[t] for
    ``cumulative_loss``; for ``peak_cumulative_loss`` the peak ``z`` (:func:`add_peak_bound`;
    the solver then runs the second stage, :mod:`planner.model.stochastic`)."""
    if m.objective_name == "peak_cumulative_loss":
        add_peak_bound(m, inst)
        m.plan_objective = pyo.Expression(expr=m.peak)
    else:
        m.plan_objective = pyo.Expression(expr=m.discounted_loss)


def add_peak_bound(m, inst: Instance) -> None:
    """z ≥ cumulative_loss[t] for every t (undiscounted), with ``peak`` the free variable z."""
    m.peak = pyo.Var(doc="peak cumulative loss z")
    m.peak_bound = pyo.Constraint(m.T, rule=lambda m, t: m.peak >= m.cumulative_loss[t])
