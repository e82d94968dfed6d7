"""The price of independence: ``planner frontier INSTANCE --share PROVIDER[@YEARS]``.

Point ε of the frontier is the instance with PROVIDER's share of each capped year's total
active capacity at most ε: MODEL.md §2.5's ``max_share`` constraint,
``active[P,t] ≤ max_share[P,t]·Σ_q active[q,t]``, with ``max_share[P,t] = min(given, ε)``
in the capped years (given: the instance's own ``max_share``, else 1, which no plan can
exceed). Nothing else changes.

The grid. ``ε₀``, the share the optimal plan already has (the largest over the capped
years of ``planner solve``'s plan), is the loosest point: every cap from ε₀ up costs
nothing. The tightest is ``ε_min``, the smallest cap that still has a plan, found by
bisection on feasibility: ε = 0 first (when it has a plan, ε_min = 0), else halving
[0, ε₀] until the bracket is narrower than :data:`TOLERANCE` (1e-4); ε_min is the bracket's
feasible end, so a plan exists there and none below ``ε_min − 1e-4``. The points run
evenly from ε₀ down to ε_min, both included.

One model. The instance is built once with ``max_share[P,·]`` as a mutable Param
(:class:`planner.solver.parametric.ParametricProgram`); each point (and each bisection
step) gives the Param its caps, recompiles only the rows that hold it, and re-solves in
the same HiGHS object starting from the previous point's basis (``warm``). The
objective of each point is the optimum of the instance with the cap written into its
``max_share`` (``tests/test_frontier.py`` builds those instances and solves them afresh);
the plan may be another of several equally good ones.

The shadow price of the cap. With ``T_t(x) = Σ_q active[q,t]`` and ``y_t`` the row dual of
``max_share[P,t]`` (a ``≤`` row ``active − ε·T ≤ 0``), loosening ε by δ loosens each capped
row by ``δ·T_t(x*)``, so ``d objective / dε = Σ_t y_t·T_t(x*)`` over the years whose cap is
ε (not a smaller given one). ``shadow_price`` is its negative (how much the objective falls
per +1 of cap, duals.csv's sign) and ``cost_per_point`` a hundredth of it: what one more
percentage point of independence costs at the margin. Where the LP is degenerate this is
one side's derivative (docs/tradeoffs.md).

The knee: the interior point farthest below the chord from the first point to the last,
both axes scaled to [0, 1] (the "Kneedle" rule); none when the objective does not rise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..instance.schema import Instance
from ..report.style import year_list
from ..results.files import frontier_columns
from .common import TradeoffError, refuse_dotted, refuse_scenarios, shares, solve_each, table_share
from ..model.lp import total_active

#: How close the smallest cap with a plan is found (in share, 1e-4 = 0.01 point).
TOLERANCE = 1e-4
#: Points of the frontier by default.
POINTS = 11
#: The most points a frontier may have (their spacing is then far below TOLERANCE).
MAX_POINTS = 100_000


@dataclass
class Frontier:
    """A frontier: ``table`` (frontier.csv's rows, a pandas DataFrame), ``meta``
    (frontier.json), the plans of the points (with ``plans=True``), the base plan.
    ``status`` is the instance's own: ``infeasible`` leaves the rest empty."""

    status: str
    provider: str
    years: list[int]
    rows: list[dict] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    plans: list = field(default_factory=list)
    base: object = None
    complete: bool = True
    signum: int | None = None  # the signal that stopped it (complete False)

    @property
    def table(self):
        import pandas as pd

        return pd.DataFrame(self.rows, columns=frontier_columns(self.meta.get("providers", [])))


def parse_share(text: str, inst: Instance) -> tuple[str, list[int]]:
    """``PROVIDER[@YEARS]`` (``stargate@2029-2030``, ``microsoft@2030``, ``stargate``):
    the provider and the capped years (all planning years without ``@``)."""
    provider, at, years_text = (text, "", "") if text in inst.providers else text.rpartition("@")
    if not at:
        provider = text
    if provider not in inst.providers:
        known = ", ".join(inst.providers)
        raise TradeoffError(f"--share {text!r}: unknown provider {provider!r} (the instance has {known})")
    first, last = inst.years
    if not at:
        return provider, inst.year_list
    start, dash, end = years_text.strip().partition("-")
    try:
        years = list(range(int(start), int(end if dash else start) + 1))
    except ValueError:
        raise TradeoffError(f"--share {text!r}: expected PROVIDER@YEAR or PROVIDER@FIRST-LAST, e.g. "
                            f"{provider}@{last} or {provider}@{max(first, last - 1)}-{last}") from None
    if not years or years[0] < first or years[-1] > last:
        raise TradeoffError(f"--share {text!r}: the years must be an inclusive range within the planning years "
                            f"{first}-{last}")
    return provider, years


def share_path(provider: str) -> str:
    return f"providers.{provider}.max_share"


def with_caps(inst: Instance, provider: str, caps: dict[int, float]) -> Instance:
    """``inst`` with ``providers.<provider>.max_share`` = ``caps`` (one per planning year;
    shares lie in [0, 1], so the result is as valid as ``inst``)."""
    given = inst.providers[provider]
    providers = {**inst.providers, provider: given.model_copy(update={"max_share": dict(caps)})}
    return inst.model_copy(update={"providers": providers})


class Caps:
    """The ``max_share`` series of each point: ``min(given, ε)`` in the capped years,
    the given share (or 1) elsewhere."""

    def __init__(self, inst: Instance, provider: str, years: list[int]):
        given = inst.providers[provider].max_share
        self.given = {t: (float(given[t]) if given is not None else 1.0) for t in inst.year_list}
        self.years = years

    def at(self, eps: float) -> dict[int, float]:
        return {t: (min(g, eps) if t in self.years else g) for t, g in self.given.items()}

    def binding_years(self, eps: float) -> list[int]:
        """The capped years whose cap is ε itself (not a smaller given share)."""
        return [t for t in self.years if eps < self.given[t]]


def frontier(
    inst: Instance,
    share: str,
    points: int = POINTS,
    plans: bool = False,
    time_limit: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> Frontier:
    """The frontier of ``inst`` for ``share`` (``PROVIDER[@YEARS]``), ``points`` points.

    Raises :class:`TradeoffError` for a request it cannot answer (a scenario instance, an
    unknown provider, fewer than 2 points) and :class:`planner.solver.highs.SolverFailure`
    when HiGHS stops without an answer. Ctrl-C during the points returns what is finished
    (``complete`` False); during the bisection it is raised.
    """
    refuse_scenarios(inst, "frontier")
    if points < 2:
        raise TradeoffError(f"--points {points}: a frontier needs at least 2 points")
    if points > MAX_POINTS:
        raise TradeoffError(f"--points {points} is more than {MAX_POINTS:,}")
    provider, years = parse_share(share, inst)
    refuse_dotted(provider, "frontier")
    say = progress or (lambda message: None)
    started = time.perf_counter()
    from ..solver.highs import solve

    base = solve(inst, time_limit=time_limit)
    result = Frontier(base.status, provider, years, base=base)
    if base.status != "optimal":
        return result
    search = CapSearch(inst, provider, years, time_limit, base)
    say(f"the optimal plan's largest {provider} share in {year_list(years)} is {search.optimum_share:.2%}; "
        "finding the smallest cap with a plan...")
    smallest = search.smallest_cap()
    grid = _grid(search.optimum_share, smallest, points)
    say(f"the smallest cap with a plan is {smallest:.2%} ({search.solves} solves); solving {len(grid)} "
        f"point{'' if len(grid) == 1 else 's'}...")
    result.meta = search.meta(points, smallest, started)

    def keep(point, found) -> None:
        (i, eps), (row, plan) = point, found
        result.rows.append(row)
        if plan is not None:
            result.plans.append(plan)
        say(f"point {i + 1}/{len(grid)}: cap {eps:.2%}, objective {row['objective']:,.4f}, "
            f"{row['cost_per_point']:,.4f} a point")

    result.signum = solve_each(enumerate(grid), lambda point: search.point(*point, plans), keep)
    result.complete = result.signum is None
    result.meta.update(knee=knee(result.rows), complete=result.complete, solves=search.solves,
                       seconds=time.perf_counter() - started)
    return result


class CapSearch:
    """The parametric program of the capped instance and what each cap gives."""

    def __init__(self, inst: Instance, provider: str, years: list[int], time_limit: float | None, base):
        from ..solver.parametric import ParametricProgram

        self.inst, self.provider, self.years, self.time_limit = inst, provider, years, time_limit
        self.caps = Caps(inst, provider, years)
        capacity = base.tables["capacity"]
        self.optimum_share = max(table_share(capacity, provider, t) or 0.0 for t in years)
        self.objective_value = base.objective_value
        self.program = ParametricProgram(with_caps(inst, provider, self.caps.at(1.0)), [share_path(provider)])
        self.program.warm = True
        self.program.keep_duals = True
        self.solves = 0

    def solve(self, eps: float) -> dict:
        self.solves += 1
        return self.program.solve(with_caps(self.inst, self.provider, self.caps.at(eps)), self.time_limit)

    def feasible(self, eps: float) -> bool:
        return self.solve(eps)["status"] == "optimal"

    def smallest_cap(self) -> float:
        """ε_min to :data:`TOLERANCE`: the feasible end of the bisection bracket."""
        if self.feasible(0.0):
            return 0.0
        low, high = 0.0, self.optimum_share
        while high - low > TOLERANCE:
            middle = (low + high) / 2
            if self.feasible(middle):
                high = middle
            else:
                low = middle
        return high

    def point(self, i: int, eps: float, plan: bool) -> tuple[dict, object]:
        """frontier.csv's row of cap ``eps`` (and its full plan when ``plan``)."""
        variant = with_caps(self.inst, self.provider, self.caps.at(eps))
        self.solves += 1
        if plan:
            full = self.program.plan(variant, self.time_limit)
            outcome = self.program.outcome(full.objective_value) if full.status == "optimal" else {"status": full.status}
        else:
            full, outcome = None, self.program.solve(variant, self.time_limit)
        if outcome["status"] != "optimal":
            from ..solver.highs import SolverFailure

            raise SolverFailure("error", f"the cap {eps:.6f} has no plan although a smaller one has "
                                "(the LP is numerically hard)")
        from ..results.figures import Values

        m, values = self.program.model, Values()  # each named expression evaluated once
        last = self.years[-1]
        price = self.shadow_price(eps, values)
        row = {"point": i, "max_share": float(eps), "status": "optimal", "objective": outcome["objective"],
               "cumulative_loss": outcome["cumulative_loss"], "peak_cumulative_loss": outcome["peak_cumulative_loss"],
               "final_cash": outcome["final_cash"],
               **{f"share_{p}": s for p, s in shares(m, self.inst, last, values).items()},
               "shadow_price": price, "cost_per_point": price / 100}
        return row, full

    def shadow_price(self, eps: float, v) -> float:
        """−Σ_t y_t·T_t(x*) over the years capped at ε: the objective's fall per +1 of cap
        (``v``: the solved model's :class:`planner.results.figures.Values`)."""
        m, duals = self.program.model, self.program.raw_duals
        total = 0.0
        for t in self.caps.binding_years(eps):
            capacity = v(total_active(m, t))
            total -= duals.get(m.max_share[self.provider, t], 0.0) * capacity
        return total + 0.0 if abs(total) > 1e-9 else 0.0

    def meta(self, points: int, smallest: float, started: float) -> dict:
        inst = self.inst
        return {
            "kind": "frontier", "instance": inst.name, "objective": self.program.objective_name,
            "objective_value": self.objective_value, "provider": self.provider, "years": self.years,
            "points": points, "optimum_share": self.optimum_share, "smallest_cap": smallest,
            "tolerance": TOLERANCE, "knee": None, "complete": False,
            "units": {"money": inst.units.money, "capacity": inst.units.capacity},
            "providers": list(inst.providers), "solves": self.solves, "seconds": time.perf_counter() - started,
        }


def _grid(loosest: float, tightest: float, points: int) -> list[float]:
    if loosest - tightest <= 1e-12:
        return [float(loosest)]
    return np.linspace(loosest, tightest, points).tolist()  # both ends exactly


def knee(rows: list[dict]) -> int | None:
    """The point farthest below the chord from the first point to the last (both axes
    scaled to [0, 1]); None with fewer than 3 points or when the objective does not rise."""
    if len(rows) < 3:
        return None
    x = np.array([r["max_share"] for r in rows])
    y = np.array([r["objective"] for r in rows])
    span_x, span_y = x[0] - x[-1], y[-1] - y[0]
    if span_x <= 0 or span_y <= 1e-9 * max(1.0, abs(y[0])):
        return None
    gap = (x[0] - x) / span_x - (y - y[0]) / span_y  # above 0: below the chord
    i = int(np.argmax(gap[1:-1])) + 1
    return int(rows[i]["point"]) if gap[i] > 1e-9 else None
