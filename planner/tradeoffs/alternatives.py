"""How different can near-optimal plans be: ``planner alternatives INSTANCE --slack S``.

The plans within the slack are every plan of the instance (MODEL.md §2's constraints)
whose objective is at most ``bound = optimum + S·|optimum|``: S is a fraction of the
optimum's size, so for a negative optimum (a plan that makes money) "within 5 %" still
means "at most 5 % of its size worse", never better than the optimum. An optimum of 0
leaves only the optimal plans. The bound is a row ``objective ≤ bound`` (plus 1e-9 of its
size, as the second stage holds its first) added to the instance's own LP; for
``peak_cumulative_loss`` the objective is the peak ``z``, so every year's cumulative loss
stays under the bound.

Over those plans, for each provider ``p``:

* ``share``: ``active[p,t_N] / Σ_q active[q,t_N]`` in the last planning year, a ratio of
  two linear functions. Its smallest and largest values are found exactly by the
  **Charnes–Cooper transformation** (:mod:`planner.solver.fractional`): one LP in
  ``y = t·x`` and ``t = 1/Σ_q active[q,t_N]`` whose optimum is the extreme share, and whose
  solution divided by ``t`` is a plan that attains it. Dinkelbach's method (a sequence
  of LPs ``max N − λ·D``) was the other candidate; it fails where the plans within the
  slack are unbounded (capacity that costs nothing: its LP has no optimum), where the
  transformed LP still gives the supremum (``t = 0``: approached by plans ever further
  along a ray, attained by none; alternatives.json lists such extremes under
  ``not_attained`` and no plan folder is written for them). It needs
  ``Σ_q active[q,t_N] > 0`` on every plan within the slack, which one LP checks first;
  where some plan has no capacity at all in the last year the shares are left blank and
  alternatives.json's ``note`` says why.
* ``spend``: what the lab buys from or builds at ``p`` over the horizon, undiscounted:
  ``Σ_t spend[p,t] + Σ_t (opex[p,t]·owned[p,t] + capex[p,t]·b[p,t])`` (the build terms for a
  provider with a ``build`` block): a linear function, so its extremes are two LPs. A
  take-or-pay shortfall (charge − spend) is not counted: on a plan that is not optimal
  the LP may charge more than the larger of spend and min_spend, and the largest charge
  would be money burnt, not bought.

The spend LPs are the instance's rows and the bound with another objective, in one
HiGHS object; the share LPs are one transformed LP with another objective; each solve
starts from the last one's basis. With ``plans`` each extreme's plan is kept: its
signings and builds fixed, the instance's own objective chooses the rest again (so it
charges what take-or-pay asks, no more), and its tables are read off the solved model as
``planner solve``'s are, so the independent check (:mod:`planner.results.check`) applies.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..instance.schema import Instance
from ..results.files import ALTERNATIVES_COLUMNS, EXTREMES
from ..model.lp import total_active
from .common import NO_CAPACITY, TradeoffError, refuse_scenarios, solve_each, table_share

#: The largest slack (1000 = within 100,000 % of the optimum): beyond, the bound is a
#: number too large for the solver to hold as a row.
MAX_SLACK = 1000.0



@dataclass
class Alternatives:
    """The ranges: ``rows`` (alternatives.csv's, one per provider), ``meta``
    (alternatives.json), ``plans`` ({(provider, extreme): Plan}, with ``plans=True``),
    the base plan. ``status`` is the instance's own."""

    status: str
    rows: list[dict] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    plans: dict = field(default_factory=dict)
    base: object = None
    complete: bool = True
    signum: int | None = None  # the signal that stopped it (complete False)

    @property
    def table(self):
        import pandas as pd

        return pd.DataFrame(self.rows, columns=ALTERNATIVES_COLUMNS)


def slack_bound(optimum: float, slack: float) -> float:
    """The largest objective within ``slack`` of ``optimum``: ``optimum + slack·|optimum|``."""
    return optimum + slack * abs(optimum)


def provider_spend(m, inst: Instance, p: str):
    """Σ_t spend[p,t] + Σ_t (opex[p,t]·owned[p,t] + capex[p,t]·b[p,t]) (build terms only for
    a provider that builds): what the lab buys from or builds at ``p`` over the horizon.
    A take-or-pay shortfall (charge − spend) is not counted: the LP may charge more than
    max(spend, min_spend) on a plan that is not optimal, so a largest charge would be money
    burnt, not bought."""
    expr = sum(m.spend[p, t] for t in inst.year_list)
    build = inst.providers[p].build
    if build is not None:
        expr = expr + sum(build.opex[t] * m.owned_capacity[p, t] + build.capex[t] * m.b[p, t] for t in inst.year_list)
    return expr


def alternatives(
    inst: Instance,
    slack: float,
    plans: bool = False,
    time_limit: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> Alternatives:
    """The smallest and largest share and spend of each provider over the plans within
    ``slack`` of the optimum. Raises :class:`TradeoffError` (a scenario instance, a slack
    that is not a fraction ≥ 0) and :class:`planner.solver.highs.SolverFailure`. Ctrl-C
    returns the providers finished (``complete`` False)."""
    refuse_scenarios(inst, "alternatives")
    if not (isinstance(slack, (int, float)) and math.isfinite(slack) and 0 <= slack <= MAX_SLACK):
        raise TradeoffError(f"--slack {slack}: expected a fraction from 0 to {MAX_SLACK:g}, e.g. 0.05 for 5 %")
    say = progress or (lambda message: None)
    started = time.perf_counter()
    from ..solver.highs import solve

    base = solve(inst, time_limit=time_limit, keep_model=True)  # its spend is read off its model
    result = Alternatives(base.status, base=base)
    if base.status != "optimal":
        return result
    bound = slack_bound(base.objective_value, slack)
    say(f"optimum {base.objective_value:,.4f}; plans with objective ≤ {bound:,.4f} (slack {slack:.2%})")
    space = NearOptimal(inst, base, bound, time_limit)
    result.meta = space.meta(slack, bound)

    def keep(p, found) -> None:
        row, extremes = found
        result.rows.append(row)
        result.plans.update({(p, name): plan for name, plan in extremes.items()})
        say(f"{p}: share {_range(row['min_share'], row['max_share'], '.2%')}, "
            f"spend {_range(row['min_spend'], row['max_spend'], ',.4f')}")

    result.signum = solve_each(inst.providers, lambda p: space.ranges(p, plans), keep)
    result.complete = result.signum is None
    result.meta.update(complete=result.complete, solves=space.solves, not_attained=space.not_attained,
                       seconds=time.perf_counter() - started)
    return result


class NearOptimal:
    """The LP of the instance with the row ``objective ≤ bound``, and its extremes."""

    def __init__(self, inst: Instance, base, bound: float, time_limit: float | None):
        from ..model.lp import build_model
        from ..solver.highs import LinearProgram, hold_first_stage

        self.inst, self.base, self.bound, self.time_limit = inst, base, bound, time_limit
        self.objective_name = base.objective
        self.model = build_model(inst, self.objective_name)
        self.lp = LinearProgram(self.model)
        self.cost, self.offset = self.lp.arrays.cost.copy(), self.lp.arrays.offset
        self.solves = 0
        self.fractional = None  # the Charnes–Cooper LP, built on the first share
        self._decisions = None
        self.not_attained: list[list[str]] = []
        #: the row ``objective ≤ bound`` (lower, coefficients, upper), with the second stage's tolerance
        self.hold = hold_first_stage((self.cost, self.offset), bound)
        self.lp.add_row(*self.hold)
        self.last = inst.year_list[-1]
        self.total = self.lp.linear_form(total_active(self.model, self.last))
        self.no_share = self.least_total() <= NO_CAPACITY

    def minimise(self, form: tuple[np.ndarray, float], sign: float = 1.0) -> tuple[float, np.ndarray]:
        """Minimise ``sign·form`` over the plans within the slack; return ``form``'s value
        at the solution and the solution (the model holds it)."""
        from ..solver.highs import SolverFailure, run_lp

        coefficients, constant = form
        self.lp.set_objective(sign * coefficients)
        self.solves += 1
        status, _ = run_lp(self.lp, self.time_limit, time.perf_counter())
        if status != "optimal":
            raise SolverFailure("error", "a plan within the slack was lost (the LP is numerically hard)")
        x = self.lp.solution()
        return float(coefficients @ x + constant), x

    def least_total(self) -> float:
        return self.minimise(self.total)[0]

    def ranges(self, p: str, keep_plans: bool) -> tuple[dict, dict]:
        """alternatives.csv's row of ``p`` and, with ``keep_plans``, the extreme plans."""
        m, inst = self.model, self.inst
        active = self.lp.linear_form(m.active_capacity[p, self.last])
        spend = self.lp.linear_form(provider_spend(m, inst, p))
        extremes, plans = {}, {}
        for name in EXTREMES:
            largest = name.startswith("max")
            if name.endswith("spend"):
                extremes[name], x = self.minimise(spend, -1.0 if largest else 1.0)
            elif self.no_share:
                extremes[name], x = None, None
            else:
                extremes[name], x = self.extreme_share(active, largest)
                if x is None:
                    self.not_attained.append([p, name])
            if keep_plans and x is not None:
                plans[name] = self.plan(x)
        row = {"provider": p, **extremes, "optimum_share": self.optimum_share(p),
               "optimum_spend": self.optimum_spend(p)}
        return row, plans

    def extreme_share(self, active: tuple[np.ndarray, float], largest: bool) -> tuple[float, np.ndarray | None]:
        """The smallest or largest share ``active/total`` and the solution that attains it
        (None: approached along a ray, attained by no plan)."""
        if self.fractional is None:
            from ..solver.fractional import FractionalProgram

            self.fractional = FractionalProgram(self.lp.arrays, self.total, [self.hold[1:]])
        self.solves += 1
        extreme = self.fractional.extreme(active, largest, self.time_limit)
        return min(max(extreme.value, 0.0), 1.0), extreme.x

    def optimum_share(self, p: str) -> float | None:
        return table_share(self.base.tables["capacity"], p, self.last)

    def optimum_spend(self, p: str) -> float:
        from ..results.figures import Values

        return float(Values()(provider_spend(self.base.model, self.inst, p)))

    def plan(self, x: np.ndarray):
        """The plan of the solution ``x`` (by column), as ``planner solve`` reports a plan.

        Its signings and builds are kept and everything else (use, charges, debt, cash) is
        chosen again by the instance's own objective: a plan within the slack that is not
        optimal may charge more than take-or-pay asks (MODEL.md §2: ``charge`` is the
        larger of spend and min_spend), and this makes it the plan that buys the same at
        the least cost: the same shares and spend, an objective no higher. No shadow
        prices: this LP's duals price the slack and the kept decisions, not the
        instance's limits."""
        from ..model.stochastic import needs_second_stage, second_stage_objective
        from ..results.summary import make_summary, plan_figures
        from ..results.tables import Plan, make_tables
        from ..solver.highs import hold_first_stage, solver_name

        kept = self.decision_columns()
        with self.lp.columns_fixed(kept, x[kept]):
            self.lp.set_objective(self.cost, self.offset)
            first = self.minimise((self.cost, self.offset))[0]
            if needs_second_stage(self.inst, self.objective_name):  # as planner solve: the peak, then the rest
                with self.lp.row_added(*hold_first_stage((self.cost, self.offset), first)):
                    self.minimise(self.lp.linear_form(second_stage_objective(self.model, self.inst)))
        plan = Plan(instance=self.inst, objective=self.objective_name, status="optimal", solve_seconds=0.0,
                    model=self.model)
        plan.tables = make_tables(self.model, self.inst)
        plan.objective_value = plan_figures(self.inst, plan.tables, self.objective_name)["case_objective"]
        plan.summary = make_summary(plan, solver_name())
        return plan

    def decision_columns(self) -> np.ndarray:
        """The columns of the signings ``c`` and builds ``b``: what a plan buys."""
        if self._decisions is None:
            self._decisions = np.array([j for j, var in enumerate(self.lp.columns)
                                        if var.parent_component().local_name in ("c", "b")], dtype=np.int32)
        return self._decisions

    def meta(self, slack: float, bound: float) -> dict:
        inst = self.inst
        meta = {
            "kind": "alternatives", "instance": inst.name, "objective": self.objective_name,
            "objective_value": self.base.objective_value, "slack": slack, "bound": bound, "last_year": self.last,
            "method": "Charnes-Cooper", "complete": False,
            "units": {"money": inst.units.money, "capacity": inst.units.capacity},
            "providers": list(inst.providers), "solves": 0, "seconds": 0.0,
        }
        if self.no_share:
            meta["note"] = (f"some plan within the slack has no active capacity in {self.last}: "
                            "a share is undefined there, so the shares are left blank")
        return meta


def _range(low, high, fmt: str) -> str:
    if low is None or high is None:
        return "undefined"
    return f"{format(low, fmt)} to {format(high, fmt)}"
