"""The diagnosis model of MODEL.md §4: the plain model, with every hard constraint free to
give by a non-negative slack, minimising the weighted total slack.

The plain model is built first (:func:`planner.model.lp.build_model`; its rules carry no
slack), then :func:`build_elastic_model` adds, for each hard family of
:mod:`planner.model.families`, a variable ``slack_<family>`` over the family's index and
puts it into each built row (:func:`give`), the way Switch's
``balancing/diagnose_infeasibility.py`` relaxes a built model:

- an upper limit ``subject ≤ limit`` becomes ``subject − slack ≤ limit``;
- a lower limit ``floor ≤ subject`` becomes ``floor ≤ subject + slack``;
- a family with ``relaxed_in`` gives in that family's row instead: the cash floor's
  ``slack_minimum_cash[t]`` enters ``cash_balance[t]`` as extra cash, so a shortfall is
  reported once, in the year it starts, and carries on in the balance like new funding.

Each slack is the last term of its row, as it was when the rules wrote it themselves, so
the LP is the one the diagnosis always solved.

The objective is replaced by ``total_slack`` (summed over the cases of a scenario
instance), and the rows that only defined the old objective (``peak_bound``, ``tail``:
the families marked ``objective``) are deactivated.

Components added to each plan's block: ``slack_<family>`` for every hard family,
``relaxed_families`` (their names, in the model's order), ``total_slack``.
"""

from __future__ import annotations

import operator

import pyomo.core as pyo  # not pyomo.environ: see planner.model.lp
from pyomo.common.gc_manager import PauseGC

from ..instance.schema import Instance
from .families import FAMILIES, HARD_FAMILIES
from .lp import NO_LIMIT, build_model


def build_elastic_model(inst: Instance) -> pyo.ConcreteModel:
    """The diagnosis model of ``inst`` (see the module doc): always feasible."""
    m = build_model(inst)
    with PauseGC():  # see build_model
        if inst.scenarios is None:
            add_slack(m, inst)
            total = m.total_slack
            blocks = [m]
        else:
            for n in m.CASES:
                add_slack(m.case[n], inst.cases[n])
            total = sum(m.case[n].total_slack for n in m.CASES)
            blocks = [m, *(m.case[n] for n in m.CASES)]
        for block in blocks:  # the rows that only defined the objective replaced here
            for family in FAMILIES.values():
                component = block.component(family.name)
                if family.objective and component is not None:
                    component.deactivate()
        m.del_component(m.objective)
        m.objective = pyo.Objective(expr=total, sense=pyo.minimize)
    return m


def add_slack(m, inst: Instance) -> None:
    """Give each hard family's rows on the plan's block ``m`` a slack, and add
    ``total_slack``."""
    m.relaxed_families = []
    for family in HARD_FAMILIES:
        rows = m.component(family.name)
        slack = pyo.Var(list(rows.keys()), bounds=(0, NO_LIMIT), doc=f"how far {family.name} gives")
        m.add_component(f"slack_{family.name}", slack)
        m.relaxed_families.append(family.name)
        target = rows if family.relaxed_in is None else m.component(family.relaxed_in)
        for index, var in slack.items():
            give(target[index], var, family.bound)
    add_total_slack(m, inst)


def give(con, slack, bound: str) -> None:
    """Rewrite the built row ``con`` (``lower ≤ upper`` or ``lower == upper``, as Pyomo
    holds it) so that it gives by ``slack``: ``lower − slack`` for an ``"upper"`` limit
    (the row caps the left side), ``upper + slack`` for a ``"lower"`` one (the row is a
    floor under the right side; for ``cash_balance``, more money)."""
    lower, upper = con.expr.args
    relation = operator.eq if con.equality else operator.le
    con.set_value(relation(lower - slack, upper) if bound == "upper" else relation(lower, upper + slack))


def add_total_slack(m, inst: Instance) -> None:
    """``total_slack``: Σ weight·slack over every relaxed family (the diagnosis minimises it).

    Money slack weighs 1 per money unit; capacity slack weighs :meth:`Instance.capacity_price`
    per capacity unit (what a unit of capacity typically costs for a year); compute slack
    weighs that price divided by the typical efficiency. So "short by 1 GW" and "short by
    the cost of 1 GW-year" count about the same. Each family's own factor is its row's
    ``weight`` (and ``last_year_weight``, ``plus_top_revenue``) in :mod:`planner.model.families`.
    """
    weights = slack_weights(inst)
    last_weights = last_year_weights(inst)
    last = inst.years[1]

    def weight(family, index):
        year = index[-1] if isinstance(index, tuple) else index
        if year == last and family in last_weights:
            return last_weights[family]
        return weights[family]

    m.total_slack = pyo.Expression(
        expr=sum(
            weight(family, index) * slack
            for family in m.relaxed_families
            for index, slack in m.component(f"slack_{family}").items()
        )
    )


def slack_weights(inst: Instance) -> dict[str, float]:
    """The weight of one unit of slack of each hard family in the diagnosis objective:
    what a unit of its kind is worth times the family's ``weight``, plus, for a family
    marked ``plus_top_revenue`` (service floors), the most any compute unit earns (never
    trade mandatory work for revenue)."""
    per_unit = inst.unit_values()
    weights = {family.name: per_unit[family.unit] * family.weight for family in HARD_FAMILIES}
    for family in HARD_FAMILIES:
        if family.plus_top_revenue:
            weights[family.name] += _top_revenue(inst)
    return weights


def last_year_weights(inst: Instance) -> dict[str, float]:
    """The weights in the horizon's last year, for the families that have one (credit
    drawn in the last year is never repaid within the horizon: it counts double, like
    cash to find, so a last-year gap is reported as cash to find)."""
    per_unit = inst.unit_values()
    return {family.name: per_unit[family.unit] * family.last_year_weight
            for family in HARD_FAMILIES if family.last_year_weight is not None}


def _top_revenue(inst: Instance) -> float:
    return max(r for wl in inst.workloads.values() for r in wl.revenue.values())


__all__ = ["add_slack", "build_elastic_model", "give", "slack_weights"]
