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
    The limits of the decision variables: ``contract_max_per_year``,
    ``build_max_per_year``, ``debt_limit``, ``minimum_cash``; then §2's
    1 ``use_within_reach``, 2 ``provider_capacity``, 3 ``service_floor`` /
    ``service_cap``, 4 ``minimum_capacity``, 5 ``min_share`` / ``max_share``,
    6 ``gradual_decline``, 7 ``cash_balance``, and the take-or-pay pair
    ``charge_covers_spend`` / ``take_or_pay``; for the peak objective, ``peak_bound``.

Diagnosis (MODEL.md §4)
    ``build_model(instance, elastic=True)`` gives each hard family a slack variable
    ``slack_<family>`` and minimises their weighted total (``add_total_slack_objective``).

Speed
    The memberships the sums run over (which contracts are active in a year, which builds
    are online, which providers host a workload) are computed once per plan
    (:class:`Lookup`, ``m.lookup``), and the long sums are built in one go as flat linear
    expressions (:func:`linear`), so building takes time in proportion to the LP's
    non-zeros. The terms keep the order of the plain ``sum(...)`` they replace, so the LP
    handed to the solver is the same, column for column (``tests/test_performance_equivalence.py``).
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

pyomo.repn.plugins.load()

NO_LIMIT = None


def build_model(inst: Instance, objective: str | None = None, elastic: bool = False) -> pyo.ConcreteModel:
    """Build the LP of ``inst``; ``objective`` overrides the instance's objective.

    ``elastic=True`` builds the diagnosis model of MODEL.md §4: every hard constraint
    (see :data:`HARD_FAMILIES`) gets a non-negative slack ``slack_<family>`` and the
    objective minimises their weighted total instead of the loss.

    An instance with ``scenarios`` gets the extensive form of MODEL.md §5: one block
    ``case[n]`` per case holding a copy of §2 with that case's data, the committed
    signings and builds tied together (``nonanticipativity``), and the risk objective.
    """
    # Building makes millions of small objects that all stay alive: pausing Python's
    # cyclic garbage collector meanwhile (as Pyomo's own writers do) halves the time.
    with PauseGC():
        m = pyo.ConcreteModel(name=inst.name)
        m.objective_name = objective or inst.objective
        m.elastic = elastic
        if inst.scenarios is None:
            add_plan(m, inst, m.objective_name, elastic)
            m.objective = pyo.Objective(expr=m.total_slack if elastic else m.plan_objective, sense=pyo.minimize)
            return m
        m.CASES = pyo.Set(initialize=list(inst.cases), ordered=True, doc="cases n")
        m.case = pyo.Block(m.CASES, rule=lambda b, n: add_plan(b, inst.cases[n], m.objective_name, elastic))
        add_nonanticipativity(m, inst)
        if elastic:
            m.objective = pyo.Objective(expr=sum(m.case[n].total_slack for n in m.CASES), sense=pyo.minimize)
        else:
            add_risk_objective(m, inst)
        return m


def add_plan(m, inst: Instance, objective_name: str, elastic: bool) -> None:
    """Every component of §2 for ``inst`` on the block ``m``: sets, variables,
    expressions, constraint families, and the plan's objective expression
    (``plan_objective``, or ``total_slack`` when elastic)."""
    m.objective_name = objective_name
    m.elastic = elastic
    m.relaxed_families = []
    add_sets(m, inst)
    add_variables(m, inst)
    add_expressions(m, inst)
    add_contract_max_per_year(m, inst)
    add_build_max_per_year(m, inst)
    add_debt_limit(m, inst)
    add_minimum_cash(m, inst)
    add_use_within_reach(m, inst)
    add_provider_capacity(m, inst)
    add_service(m, inst)
    add_minimum_capacity(m, inst)
    add_shares(m, inst)
    add_gradual_decline(m, inst)
    add_cash_balance(m, inst)
    add_take_or_pay(m, inst)
    if elastic:
        add_total_slack(m, inst)
    else:
        add_plan_objective(m, inst)


#: The hard constraint families (MODEL.md §4), which a diagnosis may relax, and the unit
#: their slack is measured in.
HARD_FAMILIES = {
    "contract_max_per_year": "capacity",
    "build_max_per_year": "capacity",
    "debt_limit": "money",
    "minimum_cash": "money",
    "provider_capacity": "capacity",
    "service_floor": "compute",
    "minimum_capacity": "capacity",
    "min_share": "capacity",
    "max_share": "capacity",
    "gradual_decline": "capacity",
}


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
                    for t in range(s, min(s + contract.term - 1, last) + 1):
                        signed[t].append((k, s))
            build = prov.build
            if build is None:
                continue
            online = self.online[p] = {t: [] for t in years}
            expensed = self.expensed[p] = {t: [] for t in years}
            for s in years:
                start = s + build.lead_time
                end = last if build.lifetime is None else min(last, start + build.lifetime - 1)
                for t in range(start, end + 1):
                    online[t].append(s)
                for t in range(start, min(last, start + build.depreciation_years - 1) + 1):
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
    number, :mod:`planner.parametric`): it stays in the expression, whatever its value."""
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
    m.charge = pyo.Var(m.P, m.T, bounds=(0, NO_LIMIT), doc="money charged by provider p in year t")


def relaxation(m, family: str, index):
    """The slack by which each constraint of a hard ``family`` may give.

    In the plain model this is zero everywhere; in the elastic (diagnosis) model it is a
    non-negative variable ``slack_<family>`` over ``index``.
    """
    if not m.elastic:
        return _NO_SLACK
    slack = pyo.Var(index, bounds=(0, NO_LIMIT), doc=f"how far {family} gives")
    m.add_component(f"slack_{family}", slack)
    m.relaxed_families.append(family)
    return slack


class _NoSlack:
    def __getitem__(self, index):
        return 0


_NO_SLACK = _NoSlack()


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
    index = [(p, k, s) for p, k, s in m.SIGNINGS if inst.providers[p].contracts[k].max_per_year is not None]
    give = relaxation(m, "contract_max_per_year", index)
    m.contract_max_per_year = pyo.Constraint(
        index,
        rule=lambda m, p, k, s: m.c[p, k, s] - give[p, k, s] <= inst.providers[p].contracts[k].max_per_year[s],
    )


def add_build_max_per_year(m, inst: Instance) -> None:
    """b[p,s] ≤ build max_per_year[s] (where given)."""
    index = [(p, s) for p, s in m.BUILDS if inst.providers[p].build.max_per_year is not None]
    give = relaxation(m, "build_max_per_year", index)
    m.build_max_per_year = pyo.Constraint(
        index, rule=lambda m, p, s: m.b[p, s] - give[p, s] <= inst.providers[p].build.max_per_year[s]
    )


def add_debt_limit(m, inst: Instance) -> None:
    """debt[t] ≤ limit[t]."""
    give = relaxation(m, "debt_limit", m.T)
    m.debt_limit = pyo.Constraint(m.T, rule=lambda m, t: m.debt[t] - give[t] <= inst.finance.debt.limit[t])


def add_minimum_cash(m, inst: Instance) -> None:
    """cash[t] ≥ min_cash[t].

    In a diagnosis this floor gives by extra cash put into the year's ``cash_balance``
    (``slack_minimum_cash[t]``, see :func:`add_cash_balance`) rather than by a per-year
    slack here: a shortfall is then reported once, in the year it starts, and carries on
    in the balance, the way new funding would.
    """
    relaxation(m, "minimum_cash", m.T)
    m.minimum_cash = pyo.Constraint(m.T, rule=lambda m, t: m.cash[t] >= inst.finance.min_cash[t])


def add_use_within_reach(m, inst: Instance) -> None:
    """1. Σ_{w ∈ W_p} u[p,w,t] ≤ active[p,t] (idle capacity is still paid)."""
    allowed, u = m.lookup.allowed, variables(m.u)
    m.use_within_reach = pyo.Constraint(
        m.P, m.T,
        rule=lambda m, p, t: linear([(1, u[p, w, t]) for w in allowed[p]], 0) <= m.active_capacity[p, t],
    )


def _provider_years(m, inst: Instance, field: str) -> list[tuple[str, int]]:
    return [(p, t) for p, prov in inst.providers.items() if getattr(prov, field) is not None for t in m.T]


def add_provider_capacity(m, inst: Instance) -> None:
    """2. active[p,t] ≤ capacity[p,t] (where given)."""
    index = _provider_years(m, inst, "capacity")
    give = relaxation(m, "provider_capacity", index)
    m.provider_capacity = pyo.Constraint(
        index, rule=lambda m, p, t: m.active_capacity[p, t] - give[p, t] <= inst.providers[p].capacity[t]
    )


def add_service(m, inst: Instance) -> None:
    """3. min_served[w,t]·demand[w,t] ≤ served[w,t] (``service_floor``) and
    served[w,t] ≤ demand[w,t] (``service_cap``)."""
    give = relaxation(m, "service_floor", [(w, t) for w in m.W for t in m.T])
    workloads = inst.workloads
    m.service_floor = pyo.Constraint(
        m.W, m.T,
        rule=lambda m, w, t: m.served[w, t] + give[w, t] >= workloads[w].min_served[t] * workloads[w].demand[t],
    )
    m.service_cap = pyo.Constraint(m.W, m.T, rule=lambda m, w, t: m.served[w, t] <= workloads[w].demand[t])


def add_minimum_capacity(m, inst: Instance) -> None:
    """4. active[p,t] ≥ min_capacity[p,t] (where given)."""
    index = _provider_years(m, inst, "min_capacity")
    give = relaxation(m, "minimum_capacity", index)
    m.minimum_capacity = pyo.Constraint(
        index, rule=lambda m, p, t: m.active_capacity[p, t] + give[p, t] >= inst.providers[p].min_capacity[t]
    )


def add_shares(m, inst: Instance) -> None:
    """5. min_share·Σ_q active[q,t] ≤ active[p,t] ≤ max_share·Σ_q active[q,t] (where given)."""

    def total(m, t):
        return sum(m.active_capacity[q, t] for q in m.P)

    floor_index = _provider_years(m, inst, "min_share")
    floor_give = relaxation(m, "min_share", floor_index)
    m.min_share = pyo.Constraint(
        floor_index,
        rule=lambda m, p, t: inst.providers[p].min_share[t] * total(m, t) <= m.active_capacity[p, t] + floor_give[p, t],
    )
    cap_index = _provider_years(m, inst, "max_share")
    cap_give = relaxation(m, "max_share", cap_index)
    m.max_share = pyo.Constraint(
        cap_index,
        rule=lambda m, p, t: m.active_capacity[p, t] - cap_give[p, t] <= inst.providers[p].max_share[t] * total(m, t),
    )


def add_gradual_decline(m, inst: Instance) -> None:
    """6. active[p,t] ≥ (1 − max_decline[p,t])·active[p,t-1] for t > t0 (where given)."""
    t0 = inst.years[0]
    index = [(p, t) for p, t in _provider_years(m, inst, "max_decline") if t > t0]
    give = relaxation(m, "gradual_decline", index)
    m.gradual_decline = pyo.Constraint(
        index,
        rule=lambda m, p, t: m.active_capacity[p, t] + give[p, t]
        >= (1 - inst.providers[p].max_decline[t]) * m.active_capacity[p, t - 1],
    )


def add_cash_balance(m, inst: Instance) -> None:
    """7. cash[t] = cash[t-1] + revenue + funding + debt[t] − debt[t-1] − compute_cost
    − capex − other_costs − interest, with cash[t0-1] = initial_cash."""
    finance, t0 = inst.finance, inst.years[0]

    shortfall = m.component("slack_minimum_cash") if m.elastic else _NO_SLACK

    def rule(m, t):
        cash_before = finance.initial_cash if t == t0 else m.cash[t - 1]
        return m.cash[t] == (
            cash_before + m.revenue[t] + finance.funding[t] + m.debt[t] - m.debt_before[t]
            - m.compute_cost[t] - m.capex[t] - finance.other_costs[t] - m.interest[t]
            + shortfall[t]
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


def add_plan_objective(m, inst: Instance) -> None:
    """``plan_objective``: the discounted cumulative loss for ``cumulative_loss``; for
    ``peak_cumulative_loss`` the variable ``peak`` with ``peak ≥ cumulative_loss[t]``
    (the solver then runs the second stage)."""
    if m.objective_name == "peak_cumulative_loss":
        m.peak = pyo.Var(doc="peak cumulative loss z")
        m.peak_bound = pyo.Constraint(m.T, rule=lambda m, t: m.peak >= m.cumulative_loss[t])
        m.plan_objective = pyo.Expression(expr=m.peak)
    else:
        m.plan_objective = pyo.Expression(expr=m.discounted_loss)


# --------------------------------------------------------------------------------------
# Uncertainty (MODEL.md §5)
# --------------------------------------------------------------------------------------


def add_nonanticipativity(m, inst: Instance) -> None:
    """c[p,k,s] and b[p,s] with s in the committed years are one decision for every case:
    each case's copy equals the first case's."""
    first = m.CASES.first()
    head = m.case[first]
    m.nonanticipativity_signing = pyo.Constraint(
        [(n, p, k, s) for n in m.CASES if n != first for p, k, s in head.SIGNINGS if inst.committed(s)],
        rule=lambda m, n, p, k, s: m.case[n].c[p, k, s] == head.c[p, k, s],
    )
    m.nonanticipativity_build = pyo.Constraint(
        [(n, p, s) for n in m.CASES if n != first for p, s in head.BUILDS if inst.committed(s)],
        rule=lambda m, n, p, s: m.case[n].b[p, s] == head.b[p, s],
    )


def add_risk_objective(m, inst: Instance) -> None:
    """minimise (1−λ)·Σ_n π_n L_n + λ·CVaR_α, CVaR_α = η + Σ_n π_n ξ_n / (1−α),
    ξ_n ≥ L_n − η, ξ_n ≥ 0, η free (η and ξ only when λ > 0)."""
    scen = inst.scenarios
    weight, alpha = scen.risk.weight, scen.risk.alpha
    probability = {n: case.probability for n, case in scen.cases.items()}
    m.expected_objective = pyo.Expression(expr=sum(probability[n] * m.case[n].plan_objective for n in m.CASES))
    if weight == 0:
        m.objective = pyo.Objective(expr=m.expected_objective, sense=pyo.minimize)
        return
    m.eta = pyo.Var(doc="η: the value at risk")
    m.xi = pyo.Var(m.CASES, bounds=(0, NO_LIMIT), doc="ξ_n: how far case n's objective exceeds η")
    m.tail = pyo.Constraint(m.CASES, rule=lambda m, n: m.xi[n] >= m.case[n].plan_objective - m.eta)
    m.cvar = pyo.Expression(expr=m.eta + sum(probability[n] * m.xi[n] for n in m.CASES) / (1 - alpha))
    m.objective = pyo.Objective(expr=(1 - weight) * m.expected_objective + weight * m.cvar, sense=pyo.minimize)


def needs_second_stage(inst: Instance, objective: str) -> bool:
    """Every objective but the plain (expected) discounted cumulative loss."""
    risky = inst.scenarios is not None and inst.scenarios.risk.weight > 0
    return objective == "peak_cumulative_loss" or risky


def first_stage_hold(first_stage_value: float) -> float:
    """How high the first objective may go in the second stage: its optimum plus
    1e-9·max(1, |optimum|)."""
    return first_stage_value + 1e-9 * max(1.0, abs(first_stage_value))


def add_second_stage(m, inst: Instance, first_stage_value: float) -> None:
    """Hold the first objective at its optimum (plus 1e-9·max(1,|value|)) and minimise
    the (expected) discounted cumulative loss."""
    m.objective.deactivate()
    m.hold_first_stage = pyo.Constraint(expr=m.objective.expr <= first_stage_hold(first_stage_value))
    if inst.scenarios is None:
        second = m.discounted_loss
    else:
        second = sum(case.probability * m.case[n].discounted_loss for n, case in inst.scenarios.cases.items())
    m.second_stage = pyo.Objective(expr=second, sense=pyo.minimize)


# --------------------------------------------------------------------------------------
# Diagnosis (MODEL.md §4)
# --------------------------------------------------------------------------------------


def add_total_slack(m, inst: Instance) -> None:
    """``total_slack``: Σ weight·slack over every relaxed family (the diagnosis minimises it).

    Money slack weighs 1 per money unit; capacity slack weighs :meth:`Instance.capacity_price`
    per capacity unit (what a unit of capacity typically costs for a year); compute slack
    weighs that price divided by the typical efficiency. So "short by 1 GW" and "short by
    the cost of 1 GW-year" count about the same.
    """
    weights = slack_weights(inst)
    last = inst.years[1]

    def weight(family, index):
        # credit drawn in the last year is never repaid within the horizon: it counts
        # double, like a limit, so a last-year gap is reported as cash to find
        if family == "debt_limit" and index == last:
            return 2 * weights["minimum_cash"]
        return weights[family]

    m.total_slack = pyo.Expression(
        expr=sum(
            weight(family, index) * slack
            for family in m.relaxed_families
            for index, slack in m.component(f"slack_{family}").items()
        )
    )


#: Beyond units, how much a unit of slack of a family counts. Money the lab must find
#: counts 1 (cash short) and extra credit 0.6 per year it is used (so a one-year gap that
#: revenue repays is a debt limit to raise, a lasting gap is cash to find); the lab's own
#: capacity requirements (minimum capacity, shares, decline) count 1; demand left unserved
#: below the floor counts 2, plus the most any compute unit earns (dropping a unit of
#: mandatory work is worse than finding the money to serve it); limits the world sets (provider capacity, max_per_year) count 3, so
#: the diagnosis names what the lab must give up or find before a limit that would have to move.
FAMILY_FACTOR = {
    "service_floor": 2.0, "provider_capacity": 3.0, "contract_max_per_year": 3.0, "build_max_per_year": 3.0,
    "debt_limit": 0.6,
}


def slack_weights(inst: Instance) -> dict[str, float]:
    """The weight of one unit of slack of each hard family in the diagnosis objective."""
    per_unit = inst.unit_values()
    weights = {family: per_unit[unit] * FAMILY_FACTOR.get(family, 1.0) for family, unit in HARD_FAMILIES.items()}
    # never trade mandatory work for revenue: unserved floor demand also costs the most any
    # compute unit earns
    weights["service_floor"] += max(r for wl in inst.workloads.values() for r in wl.revenue.values())
    return weights
