"""Shadow prices: what relaxing each constraint by one unit is worth (``duals.csv``).

A shadow price is read off the LP that the user chose to optimise — for
``peak_cumulative_loss`` the first stage (minimise the peak), captured before the
second stage changes the objective. One row per constraint whose shadow price is
non-zero (|shadow price| > :data:`NONZERO`), in the model's order; constraints inside a
case's block (MODEL.md §5) get a leading ``case`` column.

Sign: ``shadow_price`` is how much the objective **falls** when the constraint is
**relaxed** by one unit, so positive means relaxing helps. "Relaxing" per family:

=========================  ==============================================  ============
family                     relaxed by one unit means                        unit
=========================  ==============================================  ============
contract_max_per_year      1 more capacity unit may be signed that year     money/capacity
build_max_per_year         1 more capacity unit may start building          money/capacity
debt_limit                 1 more money unit of debt allowed                money/money
minimum_cash               the cash floor 1 money unit lower                money/money
use_within_reach           1 more capacity unit usable (at no cost)         money/capacity
provider_capacity          the provider's capacity limit 1 unit higher      money/capacity
service_floor              the floor 1 compute unit lower                   money/compute
service_cap                1 more compute unit of demand                    money/compute
minimum_capacity           the minimum capacity 1 unit lower                money/capacity
min_share / max_share      the share limit loosened by 1 capacity unit      money/capacity
gradual_decline            active capacity may fall 1 capacity unit more    money/capacity
cash_balance               1 more money unit of cash (funding) that year    money/money
charge_covers_spend        the provider charges 1 money unit less           money/money
take_or_pay                the minimum spend 1 money unit lower             money/money
peak_bound                 1 money unit less cumulative loss counted        money/money
=========================  ==============================================  ============

Every inequality family is relaxed by loosening its row by one unit, so its shadow
price is never negative (up to solver round-off); the equality families
(``cash_balance``, ``charge_covers_spend`` without a minimum spend) may have either sign.

HiGHS sign convention (checked on a tiny LP, and by the finite-difference tests in
``tests/test_duals.py``): Pyomo hands HiGHS each constraint as a row
``lower ≤ body ≤ upper``, with ``body`` the linear part of ``con.body`` (in whatever
orientation Pyomo chose) and the constant moved into the bounds. For a minimisation
HiGHS's ``row_dual`` y is the derivative of the optimal objective with respect to the
row's active bound: raising that bound by 1 changes the objective by y. So (min
problems only, which is all this model has)

* ``body ≤ upper``: relaxing raises ``upper`` by 1, objective changes by y (≤ 0),
  shadow price = −y;
* ``body ≥ lower``: relaxing lowers ``lower`` by 1, objective changes by −y (y ≥ 0),
  shadow price = +y;
* ``body == value``: the direction depends on how Pyomo oriented the body; we read the
  coefficient ``a`` of an anchor variable (``cash[t]`` in ``cash_balance``,
  ``charge[p,t]`` in ``charge_covers_spend``) from the body. "1 more cash" moves the
  bound by +a, "1 less charged" by −a.

The optimal value of a minimisation LP is convex in every right-hand side, and the
reported shadow price is a (negated) subgradient: it lies between the left and right
finite-difference derivatives. Where the LP is degenerate the dual is not unique and
the price may be either side's derivative (a take-or-pay minimum of 0 can show a price
of 1 although lowering it further is impossible); the figure then says what the last
unit of the limit cost, not what one more unit would save.
"""

from __future__ import annotations

import pandas as pd
import pyomo.core as pyo
from pyomo.repn import generate_standard_repn

from ..instance.schema import Instance
from ..model.families import DUAL_FAMILIES, FAMILIES as FAMILY_TABLE, LIMIT_FAMILIES
from ..results import binding
from ..results.files import DUALS_COLUMNS

#: Shadow prices at most this large (in absolute value) are solver round-off: no row.
NONZERO = 1e-9

#: duals.csv's columns (:data:`planner.results.files.DUALS_COLUMNS`).
COLUMNS = list(DUALS_COLUMNS)

#: family -> (index fields in the model's index order, the unit of one unit of relaxation):
#: the families of :mod:`planner.model.families` that have a sentence (``subject``), which
#: are those of MODEL.md §2 (not §5's, which tie the cases together or define the risk).
FAMILIES: dict[str, tuple[tuple[str, ...], str]] = {family.name: (family.index, family.unit) for family in DUAL_FAMILIES}

#: The families :func:`top_constraints` ranks: limits the instance sets that a user could
#: choose to loosen (a number of the instance, in a policy or a negotiation), the
#: ``limit`` role of :mod:`planner.model.families`. Not ranked, though in duals.csv:
#: ``service_cap`` (more demand is worth its margin, but demand is the market, not a limit
#: anyone relaxes) and the model's identities (cash carried over, charge = spend, use ≤
#: active, the peak's definition), whose shadow prices are the marginal value of money in
#: a year, of a paid unit of capacity, and so on.


def unit_label(inst: Instance, kind: str) -> str:
    """``"USD billion per GW"`` and the like, in the instance's unit labels."""
    money, capacity = inst.units.money, inst.units.capacity
    per = {"capacity": capacity, "compute": "compute unit", "money": money}[kind]
    return f"{money} per {per}"


def relaxation_shift(con, family: str, coefficient=None) -> float:
    """How far the row's bound (as HiGHS sees it) moves when ``con`` is relaxed by one unit.
    ``coefficient(var)``, when given, is ``var``'s coefficient in the row as compiled for
    HiGHS (:meth:`planner.solver.highs.RowDuals.coefficient`); else the body is walked."""
    if con.equality:
        # the anchor variable (``cash[t]`` in cash_balance, ``charge[p,t]`` in
        # charge_covers_spend) and the sign of the relaxation relative to it (+1: the
        # anchor's side gets one unit more; −1: one unit less)
        row = FAMILY_TABLE[family]
        var, direction = con.parent_block().component(row.anchor)[con.index()], row.anchor_direction
        if coefficient is not None:
            coef = coefficient(var)
        else:
            repn = generate_standard_repn(con.body, quadratic=False)
            coef = sum(c for v, c in zip(repn.linear_vars, repn.linear_coefs) if v is var)
        if coef == 0:
            raise ValueError(f"{con.name}: its anchor variable {var.name} is not in the row")
        return direction * coef
    if con.has_ub() and not con.has_lb():
        return 1.0
    if con.has_lb() and not con.has_ub():
        return -1.0
    raise ValueError(f"{con.name}: a ranged constraint has no single relaxing direction")


def shadow_prices(model, raw) -> dict:
    """``{ConstraintData: shadow price}`` from HiGHS's row duals ``raw`` (see module doc),
    for the constraints of :data:`FAMILIES`, in the model's order. Constraints in
    sub-blocks (a case of MODEL.md §5) are included; other constraint components are not.

    ``raw`` is ``{ConstraintData: dual}`` or, read straight off the solver's arrays,
    :class:`planner.solver.highs.RowDuals` (then rows with a zero dual are left out: their
    shadow price is 0).
    """
    if hasattr(raw, "dual"):
        return _shadow_prices_of_rows(raw)
    out = {}
    for con in model.component_data_objects(pyo.Constraint, active=True, descend_into=True):
        family = con.parent_component().local_name
        y = raw.get(con)
        if family not in FAMILIES or y is None:
            continue
        out[con] = -float(y) * relaxation_shift(con, family)
    return out


def _shadow_prices_of_rows(raw) -> dict:
    """:func:`shadow_prices` from :class:`planner.solver.highs.RowDuals`: the rows in the
    solver's order (the model's), only those with a non-zero dual."""
    out = {}
    family_of: dict[int, str | None] = {}
    rows, dual = raw.rows, raw.dual
    for i in map(int, dual.nonzero()[0]):
        con = rows[i]
        component = con.parent_component()
        family = family_of.get(id(component), "")
        if family == "":
            family = family_of[id(component)] = component.local_name if component.local_name in FAMILIES else None
        if family is None:
            continue
        shift = relaxation_shift(con, family, lambda var: raw.coefficient(i, var))
        out[con] = -float(dual[i]) * shift
    return out


def _index(con) -> tuple:
    index = con.index()
    return index if isinstance(index, tuple) else (index,)


def objective_phrase(inst: Instance, objective: str) -> str:
    if objective == "peak_cumulative_loss":
        return "the peak cumulative loss"
    return "the discounted cumulative loss" if inst.discount_rate > 0 else "the cumulative loss"


def amount(x: float) -> str:
    """A figure for a sentence: 4 significant digits, thousands separated."""
    x = abs(x)
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 0.001:
        return f"{x:.4g}"
    return f"{x:.2e}"


def _subject(family: str, row: dict, inst: Instance) -> str:
    """The relaxation of one unit, in words (the first half of the meaning): the family's
    ``subject`` in :mod:`planner.model.families`."""
    return FAMILY_TABLE[family].subject.format(
        money=inst.units.money, capacity=inst.units.capacity,
        p=row["provider"], w=row["workload"], k=row["contract"], t=row["year"],
    )


def meaning(family: str, row: dict, inst: Instance, objective: str, price: float) -> str:
    verb = "lowers" if price > 0 else "raises"
    return f"{_subject(family, row, inst)} {verb} {objective_phrase(inst, objective)} by {amount(price)} {inst.units.money}"


def dual_table(model, inst: Instance, raw, objective: str) -> pd.DataFrame:
    """One row per constraint with a non-zero shadow price, in the model's family order
    (``raw`` as in :func:`shadow_prices`)."""
    entries = []
    for con, price in shadow_prices(model, raw).items():
        entries.append((con.parent_component().local_name, _case(con, model), _index(con), price))
    return _table(entries, inst, objective)


def _case(con, model):
    """The case of a constraint in a case's copy of the plan (MODEL.md §5), else None."""
    block = con.parent_block()
    return None if block is model else block.index()


def label_rows(rows: list, coefficient) -> list:
    """What :func:`dual_table_of_rows` needs of each row, read while the model exists:
    ``(family, case or None, index, shift)`` for a row of :data:`FAMILIES` (``shift`` as
    :func:`relaxation_shift`; ``coefficient(i, var)`` is ``var``'s coefficient in row
    ``i`` as compiled), None for any other row."""
    labels = []
    family_of: dict[int, str | None] = {}
    model_of: dict[int, object] = {}
    for i, con in enumerate(rows):
        component = con.parent_component()
        key = id(component)
        if key not in family_of:
            family_of[key] = component.local_name if component.local_name in FAMILIES else None
            model_of[key] = component.model()
        family = family_of[key]
        if family is None:
            labels.append(None)
            continue
        case = _case(con, model_of[key])
        shift = relaxation_shift(con, family, lambda var: coefficient(i, var))
        labels.append((family, case, _index(con), shift))
    return labels


def dual_table_of_rows(labels: list, dual, inst: Instance, objective: str) -> pd.DataFrame:
    """:func:`dual_table` from the rows' :func:`label_rows` and their duals (HiGHS's
    ``row_dual``, by row), without the model."""
    entries = []
    for i in map(int, dual.nonzero()[0]):
        label = labels[i]
        if label is not None:
            family, case, index, shift = label
            entries.append((family, case, index, -float(dual[i]) * shift))
    return _table(entries, inst, objective)


def _table(entries, inst: Instance, objective: str) -> pd.DataFrame:
    """duals.csv's rows of ``(family, case or None, index, shift price)``, those with a
    non-zero price."""
    values = unit_values(inst)
    rows = []
    for family, case, index, price in entries:
        if not abs(price) > NONZERO:
            continue
        fields, kind = FAMILIES[family]
        row = {"family": family, "year": None, "provider": None, "workload": None, "contract": None}
        if case is not None:
            row = {"case": case, **row}
        row.update(zip(fields, index))
        row.update({
            "shadow_price": price,
            "value_per_money": price / values[kind],
            "unit": unit_label(inst, kind),
            "meaning": meaning(family, row, inst, objective, price),
        })
        rows.append(row)
    if not rows:
        return empty_table()
    columns = (["case"] if any("case" in row for row in rows) else []) + COLUMNS
    return _typed(pd.DataFrame(rows, columns=columns))


def empty_table() -> pd.DataFrame:
    return _typed(pd.DataFrame(columns=COLUMNS))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    frame["year"] = frame["year"].astype("Int64")
    frame["shadow_price"] = frame["shadow_price"].astype(float)
    frame["value_per_money"] = frame["value_per_money"].astype(float)
    return frame


# --------------------------------------------------------------------------------------
# Ranking
# --------------------------------------------------------------------------------------


def unit_values(inst: Instance) -> dict[str, float]:
    """What one unit of each kind is worth in money, to compare shadow prices across units.

    The same yardstick as the infeasibility diagnosis (``planner.model.elastic.slack_weights``):
    a money unit is worth 1, a capacity unit the instance's typical price of a capacity
    unit-year (:meth:`planner.instance.schema.Instance.capacity_price`), a compute unit that price over the
    typical efficiency.
    """
    return inst.unit_values()


def ranked(plan, families: tuple[str, ...] = LIMIT_FAMILIES) -> pd.DataFrame:
    """The rows of ``plan.duals`` of ``families`` with a positive shadow price, most
    valuable first (:func:`planner.results.binding.ranked`).

    Shadow prices are in different units (money per capacity unit, per compute unit, per
    money unit), so their raw sizes are not comparable: a GW is worth far more than a
    USD billion is. Each row's ``value_per_money`` divides it by what one unit of its kind
    is worth (:func:`unit_values`), giving money saved per money's worth of relaxation,
    and rows are ranked by that; ties keep the model's order.
    """
    duals = getattr(plan, "duals", None)
    if duals is None or duals.empty:
        return empty_table()
    return binding.ranked(duals, families)


def top_constraints(plan, n: int = 3, families: tuple[str, ...] = LIMIT_FAMILIES) -> list[str]:
    """The ``n`` limits most worth relaxing, as duals.csv's meanings, ranked as in
    :func:`ranked` (:func:`planner.results.binding.bindings`, which also gives them as
    the sentences ``planner solve`` prints).

    One sentence per limit: a limit that binds in several years (a workload's service
    floor, a provider's capacity) appears once, in its most valuable year, so that the
    list names ``n`` different limits. Empty for a plan that is not optimal or where no
    limit binds.
    """
    return [str(b.row["meaning"]) for b in bindings(plan, n, families)]


def bindings(plan, n: int = 3, families: tuple[str, ...] = LIMIT_FAMILIES) -> list[binding.Binding]:
    """:func:`planner.results.binding.bindings` of ``plan``'s duals and ``families``."""
    return binding.bindings(ranked(plan, families), families, n)


__all__ = [
    "COLUMNS", "FAMILIES", "LIMIT_FAMILIES", "NONZERO", "dual_table", "dual_table_of_rows", "empty_table", "label_rows",
    "bindings", "ranked", "shadow_prices", "top_constraints", "unit_label", "unit_values",
]
