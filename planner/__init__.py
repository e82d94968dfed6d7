"""planner: an optimization planner for buying compute year by year across providers.

The notebook API::

    import planner
    inst = planner.load_instance("instances/toy.yaml")
    plan = planner.solve(inst)            # status, objective_value, tables (pandas)
    plan.tables["finance"]                # or plan.finance
    plan.write("results/toy")

Solving imports Pyomo, HiGHS and pandas on first use, so loading and validating stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .instance.schema import Instance
    from .instance.errors import InstanceError
    from .instance.loading import instance_json_schema, load_instance

__all__ = ["Instance", "InstanceError", "load_instance", "instance_json_schema", "solve", "diagnose", "check_plan"]
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


def solve(instance, objective: str | None = None, time_limit: float | None = None):
    """Solve an instance (an :class:`Instance`, a path, or a mapping) and return its Plan."""
    from .instance.schema import Instance
    from .instance.loading import load_instance
    from .solver.highs import solve as _solve

    if not isinstance(instance, Instance):
        instance = load_instance(instance)
    return _solve(instance, objective=objective, time_limit=time_limit)


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
