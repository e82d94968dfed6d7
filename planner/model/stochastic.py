"""The extensive form over cases (MODEL.md §5) and the second stage of a two-stage
objective, added to the plans :mod:`planner.model.lp` builds.

Components, on the top-level model of a scenario instance (each case's copy of §2 is the
block ``case[n]``):

``nonanticipativity_signing``, ``nonanticipativity_build``
    the committed signings and builds, one decision in every case;
``expected_objective``, and when the risk weight λ > 0 ``eta`` (η), ``xi`` (ξ_n), ``tail``
    and ``cvar``: the risk objective ``(1−λ)·Σ_n π_n L_n + λ·CVaR_α``;
``hold_first_stage``, ``second_stage``
    added by the solver after the first stage (:func:`add_second_stage`), for a plain
    instance with the ``peak_cumulative_loss`` objective as well.

The constraint families are rows of :mod:`planner.model.families`.
"""

from __future__ import annotations

import pyomo.core as pyo  # not pyomo.environ: see planner.model.lp

from ..instance.schema import Instance

NO_LIMIT = None


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
    m.second_stage = pyo.Objective(expr=second_stage_objective(m, inst), sense=pyo.minimize)


def second_stage_objective(m, inst: Instance):
    """What the second stage minimises: the (expected) discounted cumulative loss."""
    if inst.scenarios is None:
        return m.discounted_loss
    return sum(case.probability * m.case[n].discounted_loss for n, case in inst.scenarios.cases.items())
