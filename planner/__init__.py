"""planner: an optimization planner for buying compute year by year across providers.

The notebook API::

    import planner
    inst = planner.load_instance("instances/toy.yaml")
    plan = planner.solve(inst)            # status, objective_value, tables (pandas)
    plan.tables["finance"]                # or plan.finance
    plan.write("results/toy")
    planner.frontier(inst, "stargate@2029-2030")   # the price of independence (pandas)
    planner.alternatives(inst, slack=0.05)          # near-optimal ranges (pandas)

Solving imports Pyomo, HiGHS and pandas on first use, so loading and validating stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .instance.schema import Instance
    from .instance.errors import InstanceError
    from .instance.loading import instance_json_schema, load_instance

__all__ = ["Instance", "InstanceError", "load_instance", "instance_json_schema", "solve", "diagnose", "check_plan",
           "frontier", "alternatives"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """``Instance``, ``InstanceError``, ``load_instance``, ``instance_json_schema``: from
    :mod:`planner.instance`, imported on first use (pydantic and YAML take a while), so
    that ``planner --help`` starts fast."""
    if name in ("Instance", "InstanceError", "instance_json_schema", "load_instance"):
        from .instance import errors, loading, schema

        home = {"Instance": schema, "InstanceError": errors}.get(name, loading)
        return getattr(home, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def solve(instance, objective: str | None = None, time_limit: float | None = None, keep_model: bool = False):
    """Solve an instance (an :class:`Instance`, a path, or a mapping) and return its Plan.

    ``time_limit``: seconds the solver may take (both stages). ``keep_model``: keep the
    solved Pyomo model as ``plan.model`` (by default it is let go before the solve, which
    keeps a large instance's memory near HiGHS's own: 1.4 times it instead of 1.9)."""
    from .instance.schema import Instance
    from .instance.loading import load_instance
    from .solver.highs import solve as _solve

    if not isinstance(instance, Instance):
        instance = load_instance(instance)
    return _solve(instance, objective=objective, time_limit=time_limit, keep_model=keep_model)


def diagnose(instance, time_limit: float | None = None):
    """Why an instance has no plan (MODEL.md §4): a Diagnosis whose ``table`` (pandas) has
    one row per constraint that had to give, and ``changes`` that make it feasible."""
    from .solver.diagnosis import diagnose as _diagnose
    from .instance.schema import Instance
    from .instance.loading import load_instance

    if not isinstance(instance, Instance):
        instance = load_instance(instance)
    return _diagnose(instance, time_limit=time_limit)


def check_plan(plan) -> list[str]:
    """Recompute every table of an optimal plan from its decisions; return the mismatches."""
    from .results.check import check_tables

    return check_tables(plan.instance, plan.tables, plan.summary)


def _loaded(instance):
    from .instance.schema import Instance
    from .instance.loading import load_instance

    return instance if isinstance(instance, Instance) else load_instance(instance)


def _table(result):
    """A trade-off's table with its JSON's fields in ``attrs``; ValueError without a plan."""
    if result.status != "optimal":
        raise ValueError(f"the instance is {result.status}: planner.diagnose tells why")
    table = result.table
    table.attrs.update(result.meta)
    return table


def frontier(instance, share: str, points: int = 11, time_limit: float | None = None):
    """The price of independence (``planner frontier``): one row per cap on ``share``'s
    provider (``"stargate@2029-2030"``), as frontier.csv; ``table.attrs`` holds
    frontier.json's fields (the optimum's share, the smallest cap, the knee).
    Raises ``planner.tradeoffs.common.TradeoffError`` for a request it cannot answer and
    ValueError when the instance has no plan."""
    from .tradeoffs.frontier import frontier as _frontier

    return _table(_frontier(_loaded(instance), share, points=points, time_limit=time_limit))


def alternatives(instance, slack: float, time_limit: float | None = None):
    """Near-optimal ranges (``planner alternatives``): one row per provider, as
    alternatives.csv (smallest and largest last-year share and total spend over the plans
    within ``slack`` of the optimum); ``table.attrs`` holds alternatives.json's fields."""
    from .tradeoffs.alternatives import alternatives as _alternatives

    return _table(_alternatives(_loaded(instance), slack, time_limit=time_limit))
