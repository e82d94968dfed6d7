"""The constraint families of the model: one row per ``Constraint`` component it builds.

Every constraint component :func:`planner.model.lp.build_model` (MODEL.md §2, and the
extensive form of §5) or the solver's second stage puts on a model is a *family*: a rule
over an index (``contract_max_per_year[p, k, s]``, ``cash_balance[t]``). What the rest
of the planner says or does about a family is read from its row in :data:`FAMILIES`, so
that each fact is stated once:

- the infeasibility diagnosis (MODEL.md §4, :mod:`planner.model.elastic` and
  :mod:`planner.solver.diagnosis`) relaxes the ``hard`` families, weighs their slack
  by ``weight`` (and ``last_year_weight``, ``plus_top_revenue``) times what a unit of
  ``unit`` is worth, and names what gave with ``label`` and ``message``;
- the shadow prices (``duals.csv``, :mod:`planner.solver.duals`) cover the families with
  a ``subject`` (the sentence's first half), read an equality's direction off its
  ``anchor``, and rank the ``limit`` families;
- the report (:mod:`planner.report.html`) sets the ``identity`` families apart, and the
  independent check (:mod:`planner.results.check`) names its residuals after the
  families.

A note on ``charge``. MODEL.md §2 asks for the variable ``charge[p, t]`` only where
``min_spend`` is given, and writes ``charge = spend`` elsewhere. The model keeps a
variable for every provider and year, pinned to the spend by the equality
``charge_covers_spend`` where no ``min_spend`` is given (an inequality where one is). The
LP is the same up to that substitution; what it adds is a shadow price per provider and
year, the marginal value of a money unit the provider does not charge, which
``duals.csv`` reports (docs/extensions.md).

Only the standard library here: the report and the check read this table without
importing Pyomo.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The three kinds of unit a row (and one unit of its slack, or of its relaxation) is in.
UNIT_KINDS = ("money", "capacity", "compute")

#: What a family is to the user: a ``limit`` is a number of the instance someone could
#: choose to move (in a policy, a negotiation); an ``identity`` is the model's own
#: bookkeeping (money carried over, the definition of a variable), whose shadow price is a
#: marginal value rather than the price of a limit; ``market`` is demand, which no one
#: relaxes although more of it is worth its margin.
ROLES = ("limit", "identity", "market")


@dataclass(frozen=True)
class Family:
    """One constraint family: how it reads, what it is, and what the planner says about it.

    ``name``        the Pyomo component's name (and ``duals.csv``'s ``family``)
    ``section``     where MODEL.md states it ("§2.3"; "§2 variables" for the limits of
                    the decision variables; "§5" for the extensive form)
    ``formula``     the row, in MODEL.md's notation
    ``index``       the names of the index fields, in the model's index order
    ``unit``        the unit of the row, so of one unit of its relaxation or slack
    ``role``        ``limit`` / ``identity`` / ``market`` (:data:`ROLES`)
    ``hard``        a diagnosis (MODEL.md §4) may relax it
    ``bound``       for a hard family: ``"upper"`` if the row caps its subject
                    (``subject − slack ≤ limit``), ``"lower"`` if it is a floor under it
                    (``floor ≤ subject + slack``): the side the slack gives on
    ``relaxed_in``  for a hard family whose slack enters another family's row instead
                    of its own (the cash floor: extra cash in ``cash_balance``)
    ``weight``      how much a unit of slack counts, beyond what a unit of ``unit`` is
                    worth (:meth:`planner.instance.schema.Instance.unit_values`)
    ``last_year_weight``  the weight instead in the horizon's last year (when given)
    ``plus_top_revenue``  the slack also costs the most any compute unit earns
    ``anchor``      for an equality: the variable (same index as the row) whose side
                    gets the relaxation, and ``anchor_direction`` +1 (one unit more on
                    that side) or −1 (one unit less)
    ``subject``     ``duals.csv``'s sentence, first half: one unit of relaxation in
                    words (fields ``{p} {k} {w} {t} {money} {capacity}``); ``None``: not
                    in ``duals.csv``
    ``label``       the diagnosis's name for the constraint that gave (``{p} {k} {w}``)
    ``message``     the diagnosis's words for how far (``{amount}``: the slack with its
                    unit): "short by", "over by" or "falls … too far"
    ``objective``   part of an objective's definition: dropped with the objective when
                    the diagnosis replaces it
    ``doc``         what the family means
    """

    name: str
    section: str
    formula: str
    index: tuple[str, ...]
    unit: str
    role: str
    doc: str
    hard: bool = False
    bound: str | None = None
    relaxed_in: str | None = None
    weight: float = 1.0
    last_year_weight: float | None = None
    plus_top_revenue: bool = False
    anchor: str | None = None
    anchor_direction: int = 0
    subject: str | None = None
    label: str | None = None
    message: str | None = None
    objective: bool = False

    def __post_init__(self):
        if self.unit not in UNIT_KINDS or self.role not in ROLES:
            raise ValueError(f"{self.name}: unit {self.unit!r} or role {self.role!r} unknown")
        if self.hard and not (self.bound in ("upper", "lower") and self.label and self.message):
            raise ValueError(f"{self.name}: a hard family needs a bound, a label and a message")


# The weights (``weight``): money the lab must find counts 1 (cash short) and extra credit
# 0.6 per year it is used (so a one-year gap that revenue repays is a debt limit to raise,
# a lasting gap is cash to find; credit drawn in the last year is never repaid within the
# horizon and counts double, like cash to find); the lab's own capacity requirements
# (minimum capacity, shares, decline) count 1; demand left unserved below the floor counts
# 2, plus the most any compute unit earns (dropping a unit of mandatory work is worse than
# finding the money to serve it); limits the world sets (provider capacity, max_per_year)
# count 3, so the diagnosis names what the lab must give up or find before a limit that
# would have to move.

_ROWS = (
    # -- §2, the limits of the decision variables ---------------------------------------
    Family(
        "contract_max_per_year", "§2 variables", "c[p,k,s] ≤ max_per_year_k[s]  (where given)",
        ("provider", "contract", "year"), "capacity", "limit",
        "At most so much capacity may be signed under a contract in a year.",
        hard=True, bound="upper", weight=3.0,
        subject="1 more {capacity} of {p}'s {k} contract allowed to be signed in {t}",
        label="{p} {k} max per year", message="over by {amount}",
    ),
    Family(
        "build_max_per_year", "§2 variables", "b[p,s] ≤ build max_per_year[s]  (where given)",
        ("provider", "year"), "capacity", "limit",
        "At most so much owned capacity may start building in a year.",
        hard=True, bound="upper", weight=3.0,
        subject="1 more {capacity} of {p} build allowed to start in {t}",
        label="{p} build max per year", message="over by {amount}",
    ),
    Family(
        "debt_limit", "§2 variables", "debt[t] ≤ limit[t]",
        ("year",), "money", "limit",
        "End-of-year debt stays within the credit line.",
        hard=True, bound="upper", weight=0.6, last_year_weight=2.0,
        subject="1 {money} more debt allowed at the end of {t}",
        label="debt limit", message="over by {amount}",
    ),
    Family(
        "minimum_cash", "§2 variables", "cash[t] ≥ min_cash[t]",
        ("year",), "money", "limit",
        "End-of-year cash stays above the floor. In a diagnosis the floor gives by extra "
        "cash put into the year's cash_balance (new funding), not by a slack on this row: a "
        "shortfall is reported once, in the year it starts, and carries on in the balance.",
        hard=True, bound="lower", relaxed_in="cash_balance",
        subject="a minimum cash 1 {money} lower at the end of {t}",
        label="minimum cash", message="short by {amount}",
    ),
    # -- §2 constraints 1-7 --------------------------------------------------------------
    Family(
        "use_within_reach", "§2.1", "Σ_{w ∈ W_p} u[p,w,t] ≤ active[p,t]",
        ("provider", "year"), "capacity", "identity",
        "Capacity used is capacity held (idle capacity is still paid).",
        subject="1 more {capacity} of {p} capacity usable in {t} at no cost",
    ),
    Family(
        "provider_capacity", "§2.2", "active[p,t] ≤ capacity[p,t]  (where given)",
        ("provider", "year"), "capacity", "limit",
        "A provider can supply at most so much capacity.",
        hard=True, bound="upper", weight=3.0,
        subject="1 more {capacity} of {p} capacity in {t}",
        label="{p} capacity", message="over by {amount}",
    ),
    Family(
        "service_floor", "§2.3", "min_served[w,t]·demand[w,t] ≤ served[w,t]",
        ("workload", "year"), "compute", "limit",
        "At least a share of each workload's demand is served.",
        hard=True, bound="lower", weight=2.0, plus_top_revenue=True,
        subject="a {w} service floor 1 compute unit lower in {t}",
        label="{w} demand", message="short by {amount}",
    ),
    Family(
        "service_cap", "§2.3", "served[w,t] ≤ demand[w,t]",
        ("workload", "year"), "compute", "market",
        "No more is served than is demanded (what caps revenue).",
        subject="1 more compute unit of {w} demand in {t}",
    ),
    Family(
        "minimum_capacity", "§2.4", "active[p,t] ≥ min_capacity[p,t]  (where given)",
        ("provider", "year"), "capacity", "limit",
        "The lab holds at least so much capacity at a provider.",
        hard=True, bound="lower",
        subject="a {p} minimum capacity 1 {capacity} lower in {t}",
        label="{p} minimum capacity", message="short by {amount}",
    ),
    Family(
        "min_share", "§2.5", "min_share[p,t]·Σ_q active[q,t] ≤ active[p,t]  (where given)",
        ("provider", "year"), "capacity", "limit",
        "A provider holds at least a share of all active capacity.",
        hard=True, bound="lower",
        subject="{p}'s minimum share loosened by 1 {capacity} in {t}",
        label="{p} minimum share", message="short by {amount}",
    ),
    Family(
        "max_share", "§2.5", "active[p,t] ≤ max_share[p,t]·Σ_q active[q,t]  (where given)",
        ("provider", "year"), "capacity", "limit",
        "A provider holds at most a share of all active capacity.",
        hard=True, bound="upper",
        subject="{p}'s maximum share loosened by 1 {capacity} in {t}",
        label="{p} maximum share", message="over by {amount}",
    ),
    Family(
        "gradual_decline", "§2.6", "active[p,t] ≥ (1 − max_decline[p,t])·active[p,t-1]  (t > t0, where given)",
        ("provider", "year"), "capacity", "limit",
        "Capacity at a provider falls by at most a share a year.",
        hard=True, bound="lower",
        subject="letting {p}'s active capacity fall 1 {capacity} further in {t}",
        label="{p} gradual decline", message="falls {amount} too far",
    ),
    Family(
        "cash_balance", "§2.7",
        "cash[t] = cash[t-1] + revenue[t] + funding[t] + debt[t] − debt[t-1] − compute_cost[t] − capex[t] "
        "− other_costs[t] − interest[t]  (cash[t0-1] = initial_cash)",
        ("year",), "money", "identity",
        "Cash carries over from year to year. Built as cash[t] == (the money side), so the "
        "right-hand side is where extra cash enters.",
        anchor="cash", anchor_direction=+1,
        subject="1 {money} more cash (funding) in {t}",
    ),
    # -- §2 expressions: the take-or-pay charge ------------------------------------------
    Family(
        "charge_covers_spend", "§2 expressions",
        "charge[p,t] = spend[p,t]  (no min_spend);  charge[p,t] ≥ spend[p,t]  (with min_spend)",
        ("provider", "year"), "money", "identity",
        "What a provider charges covers what the lab spends there. charge is a variable for "
        "every provider and year (MODEL.md asks for it only where min_spend is given): where "
        "there is no min_spend this equality pins it to the spend, and its shadow price is in "
        "duals.csv.",
        anchor="charge", anchor_direction=-1,
        subject="{p} charging 1 {money} less in {t}",
    ),
    Family(
        "take_or_pay", "§2 expressions", "charge[p,t] ≥ min_spend[p,t]  (where given)",
        ("provider", "year"), "money", "limit",
        "A provider charges at least the minimum spend (the optimum pays the larger).",
        subject="a {p} minimum spend 1 {money} lower in {t}",
    ),
    # -- §2 objective --------------------------------------------------------------------
    Family(
        "peak_bound", "§2 objective", "z ≥ cumulative_loss[t]",
        ("year",), "money", "identity",
        "The peak_cumulative_loss objective's variable z is at least every year's cumulative loss.",
        subject="1 {money} less cumulative loss by the end of {t}", objective=True,
    ),
    # -- §5: the extensive form over cases (not in duals.csv) -----------------------------
    Family(
        "nonanticipativity_signing", "§5", "c_n[p,k,s] = c_first[p,k,s]  (s committed, n ≠ the first case)",
        ("case", "provider", "contract", "year"), "capacity", "identity",
        "A committed signing is one decision, the same in every case.",
    ),
    Family(
        "nonanticipativity_build", "§5", "b_n[p,s] = b_first[p,s]  (s committed, n ≠ the first case)",
        ("case", "provider", "year"), "capacity", "identity",
        "A committed build is one decision, the same in every case.",
    ),
    Family(
        "tail", "§5", "ξ_n ≥ L_n − η  (only when the risk weight λ > 0)",
        ("case",), "money", "identity",
        "ξ_n, how far case n's objective exceeds the value at risk η, for the CVaR term.",
        objective=True,
    ),
    # -- the second stage (§2 objective, §5) ---------------------------------------------
    Family(
        "hold_first_stage", "§2 objective, §5", "first objective ≤ its optimum + 1e-9·max(1, |optimum|)",
        (), "money", "limit",
        "Added by the solver for the second stage: the first objective held at its optimum "
        "while the (expected) discounted cumulative loss is minimised. A limit the solver sets, "
        "not the instance; never in duals.csv (the duals are the first stage's).",
        objective=True,
    ),
)

#: Every constraint family, by name, in the order the model builds them.
FAMILIES: dict[str, Family] = {row.name: row for row in _ROWS}

#: The families a diagnosis relaxes (MODEL.md §4), in the model's order.
HARD_FAMILIES: tuple[Family, ...] = tuple(row for row in _ROWS if row.hard)

#: The families whose shadow prices ``duals.csv`` reports, in the model's order.
DUAL_FAMILIES: tuple[Family, ...] = tuple(row for row in _ROWS if row.subject is not None)

#: The limits of duals.csv: the families an instance sets and a user could choose to
#: loosen, which the ranking of what binds (``planner.results.binding``) orders. Not
#: ``service_cap`` (the market) nor the model's identities.
LIMIT_FAMILIES: tuple[str, ...] = tuple(row.name for row in DUAL_FAMILIES if row.role == "limit")


def with_role(role: str) -> tuple[str, ...]:
    """The names of the families of ``role`` (:data:`ROLES`), in the model's order."""
    return tuple(row.name for row in _ROWS if row.role == role)


__all__ = ["DUAL_FAMILIES", "FAMILIES", "Family", "HARD_FAMILIES", "LIMIT_FAMILIES", "ROLES", "UNIT_KINDS", "with_role"]
