"""The sweep's fast path (planner/parametric.py) gives each variant's own LP and plan.

A :class:`ParametricProgram` builds the model once with the varied fields as mutable
Params and, for each variant, recompiles only the rows those fields touch. These tests
compare it with a fresh build of every variant:

- the LP handed to HiGHS is the variant's LP: every row's bounds, every coefficient, the
  cost vector and offset, compared by row and column name (random instances, random
  varied fields, scalings and explicit values, both objectives);
- the figures a sweep records are the fresh plan's: the objective to 1e-9, and all of
  them exactly when the columns come in the same order;
- a variant's answer does not depend on the variants solved before it in the same
  process (what makes sweep.csv the same with 1 job, 2 jobs or Dask);
- what the fast path cannot do (a field the base does not give, a variable the base
  left out) falls back to a fresh solve, and a sweep gives the same file either way.
"""

from __future__ import annotations

import copy
import math

import pyomo.core as pyo
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import planner
import planner.sweep.run as sweep
from planner.instance.paths import SETTABLE, field_value
from planner.instance.errors import InstanceError
from planner.instance.loading import validate_instance
from planner.model.lp import build_model
from planner.solver.parametric import NotParametric, ParametricProgram, parametric_problem
from planner.solver.highs import LinearProgram

from .conftest import BASE, write_yaml
from .strategies import instances

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FIGURES = ("objective", "cumulative_loss", "peak_cumulative_loss", "final_cash")


def settable_paths(inst) -> list[str]:
    """Every MODEL.md §5 ``set`` path that ``inst`` gives a value for."""
    paths = [f"workloads.{w}.{f}" for w in inst.workloads for f in sorted(SETTABLE["workloads"])]
    paths += [f"finance.{f}" for f in sorted(SETTABLE["finance"])]
    paths += [f"finance.debt.{f}" for f in sorted(SETTABLE["debt"])]
    for p, prov in inst.providers.items():
        paths += [f"providers.{p}.{f}" for f in sorted(SETTABLE["providers"])]
        paths += [f"providers.{p}.contracts.{k}.{f}" for k in prov.contracts for f in sorted(SETTABLE["contracts"])]
        if prov.build is not None:
            paths += [f"providers.{p}.build.{f}" for f in sorted(SETTABLE["build"])]
    return [path for path in paths if field_value(inst, path) is not None]


def with_values(data: dict, changes: dict) -> dict:
    data = copy.deepcopy(data)
    for path, value in changes.items():
        *parents, last = path.split(".")
        target = data
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
    return data


def changed(inst, path: str, how) -> object:
    """``how`` is ("x", factor): the resolved value scaled; ("=", number): that number."""
    kind, number = how
    if kind == "=":
        return number
    base = field_value(inst, path)
    return {t: v * number for t, v in base.items()} if isinstance(base, dict) else base * number


def lp_by_name(arrays, rows, columns) -> dict:
    """An LP keyed by names, zero coefficients left out: comparable whatever the order."""
    matrix = {}
    for i, con in enumerate(rows):
        for k in range(arrays.starts[i], arrays.starts[i + 1]):
            if arrays.value[k] != 0:
                matrix[con.name, columns[arrays.index[k]].name] = float(arrays.value[k])
    return {
        "matrix": matrix,
        "rows": {con.name: (float(arrays.row_lower[i]), float(arrays.row_upper[i])) for i, con in enumerate(rows)},
        "cost": {columns[j].name: float(c) for j, c in enumerate(arrays.cost) if c != 0},
        "offset": float(arrays.offset),
    }


def fresh_outcome(inst) -> dict:
    plan = planner.solve(inst)
    return sweep.plan_outcome(plan) if plan.status == "optimal" else {"status": plan.status}


# ---------------------------------------------------------------------------------------
# The variant's LP and plan
# ---------------------------------------------------------------------------------------

variation = st.one_of(
    st.tuples(st.just("x"), st.sampled_from([0.0, 0.5, 0.9, 1.0, 1.25, 2.0])),
    st.tuples(st.just("="), st.sampled_from([0.0, 0.3, 1.0, 4.0, 12.0])),
)


@settings(max_examples=60, **SETTINGS)
@given(data=instances(), choice=st.data())
def test_each_variant_gets_its_own_lp_and_plan(data, choice):
    inst = validate_instance(data)
    paths = choice.draw(st.lists(st.sampled_from(settable_paths(inst)), min_size=1, max_size=3, unique=True))
    program = ParametricProgram(inst, paths)
    for _ in range(3):
        changes = {path: changed(inst, path, choice.draw(variation)) for path in paths}
        try:
            variant = validate_instance(with_values(data, changes))
        except InstanceError:
            event("invalid variant")
            continue  # e.g. a share scaled above 1: the sweep records it as invalid
        program.set_variant(variant)
        try:
            arrays, _ = program._compile_variant()
        except NotParametric:
            event("not parametric")
            continue  # falls back to a fresh solve (tested below)
        fresh = LinearProgram(build_model(variant))
        assert lp_by_name(arrays, program.lp.rows, program.lp.columns) == lp_by_name(
            fresh.arrays, fresh.rows, fresh.columns)

        outcome, expected = program.solve(variant), fresh_outcome(variant)
        assert outcome["status"] == expected["status"]
        if expected["status"] != "optimal":
            continue
        assert outcome["objective"] == pytest.approx(expected["objective"], rel=1e-9, abs=1e-9)
        if [c.name for c in fresh.columns] == [c.name for c in program.lp.columns]:
            event("same column order")
            assert outcome == expected  # the same LP in the same order: the same plan, to the bit


def test_the_benchmark_sweep_of_openai_2025_gives_the_fresh_rows_to_the_bit(tmp_path):
    data, inst = sweep.load_data(sweep.Path("instances/openai-2025.yaml"))
    specs = [sweep.parse_vary(v) for v in (
        "providers.stargate.capacity~triangular(0.8,1,1.2)", "workloads.inference.revenue~uniform(0.85,1.15)",
        "finance.funding~uniform(1,1.3)", "providers.microsoft.contracts.reserved_3y.price~normal(1,0.05)")]
    design = sweep.make_design(inst, data, specs, samples=12, seed=3)
    for objective in ("cumulative_loss", "peak_cumulative_loss"):
        base = dict(data, objective=objective)
        program = ParametricProgram(validate_instance(base), [s.path for s in specs])
        statuses = set()
        for v in design.variants:
            variant = validate_instance(sweep.apply_changes(base, v.changes))
            outcome = program.solve(variant)
            statuses.add(outcome["status"])
            assert outcome == fresh_outcome(variant)
        assert statuses == {"optimal", "infeasible"}  # both kinds are met on the way


def test_the_answer_does_not_depend_on_the_variants_solved_before():
    inst = validate_instance(BASE)
    paths = ["workloads.inference.revenue", "providers.microsoft.capacity", "finance.initial_cash"]
    variants = [
        validate_instance(with_values(BASE, {paths[0]: r, paths[1]: c, paths[2]: cash}))
        for r, c, cash in [(5.0, 10.0, 100.0), (9.0, 3.0, 20.0), (1.0, 10.0, 1.0), (7.0, 6.0, 100.0), (5.0, 10.0, 100.0)]
    ]
    forward, backward = ParametricProgram(inst, paths), ParametricProgram(inst, paths)
    ahead = [forward.solve(v) for v in variants]
    behind = [backward.solve(v) for v in reversed(variants)][::-1]
    assert ahead == behind
    assert ahead[0] == ahead[-1]  # the same variant again, after others: the same answer
    assert {o["status"] for o in ahead} == {"optimal", "infeasible"}


def test_only_the_rows_a_varied_field_touches_are_recompiled():
    inst = validate_instance(BASE)
    program = ParametricProgram(inst, ["providers.microsoft.capacity"])
    assert [program.lp.rows[i].name for i in program.touched_rows] == [
        "provider_capacity[microsoft,2025]", "provider_capacity[microsoft,2026]", "provider_capacity[microsoft,2027]"]
    assert not program.touched_objectives
    revenue = ParametricProgram(inst, ["workloads.inference.revenue"])
    assert revenue.touched_objectives
    assert {revenue.lp.rows[i].name.split("[")[0] for i in revenue.touched_rows} == {"cash_balance"}


# ---------------------------------------------------------------------------------------
# Falling back to a fresh solve
# ---------------------------------------------------------------------------------------


def test_a_field_the_base_does_not_give_is_solved_afresh():
    inst = validate_instance(BASE)
    reason = parametric_problem(inst, ["providers.stargate.capacity"])
    assert reason and "does not give providers.stargate.capacity" in reason
    with pytest.raises(NotParametric):
        ParametricProgram(inst, ["providers.stargate.capacity"])
    outcome = sweep.solve_variant(copy.deepcopy(BASE), [("providers.stargate.capacity", 0.5)])
    expected = fresh_outcome(validate_instance(with_values(BASE, {"providers.stargate.capacity": 0.5})))
    assert outcome == expected and outcome["status"] == "optimal"


def test_a_variable_the_base_left_out_stops_the_fast_path_cleanly():
    # Pyomo records a variable even where its Param coefficient is 0, so the base LP has
    # every column a variant can use; the guard is for a row that would bring a new one
    # (here forced by adding a variable to a touched row), and leaves the program usable
    inst = validate_instance(BASE)
    program = ParametricProgram(inst, ["workloads.inference.revenue"])
    expected = program.solve(inst)
    m = program.model
    m.extra = pyo.Var(bounds=(0, 1))
    row = program.lp.rows[program.touched_rows[0]]
    original = row.expr
    row.set_value(original.args[0] == original.args[1] + m.extra)
    columns = len(program.lp.column)
    with pytest.raises(NotParametric):
        program.solve(inst)
    assert len(program.lp.column) == columns
    row.set_value(original)
    assert program.solve(inst) == expected


def test_a_sweep_gives_the_same_file_with_and_without_the_fast_path(tmp_path, monkeypatch):
    small = write_yaml(tmp_path, BASE, "small.yaml")
    vary = ["workloads.inference.revenue~uniform(0.5,1.5)", "providers.microsoft.capacity~uniform(0.1,1.2)",
            "finance.initial_cash~uniform(0.05,1)"]
    fast = sweep.run_sweep(small, vary, samples=25, seed=5, out=tmp_path / "fast", progress=False, echo=lambda _: None)
    monkeypatch.setattr(sweep, "USE_PARAMETRIC", False)
    slow = sweep.run_sweep(small, vary, samples=25, seed=5, out=tmp_path / "slow", progress=False, echo=lambda _: None)
    assert fast.code == slow.code == 0
    assert (tmp_path / "fast" / "sweep.csv").read_bytes() == (tmp_path / "slow" / "sweep.csv").read_bytes()
    statuses = {row["status"] for row in fast.rows}
    assert statuses == {"optimal", "infeasible"}


def test_the_sweep_uses_the_fast_path_once_per_process():
    data = copy.deepcopy(BASE)
    changes = [("workloads.inference.revenue", 4.0)]
    first = sweep.solve_variant(data, changes)
    program = sweep._program(data, ("workloads.inference.revenue",))
    assert isinstance(program, ParametricProgram)
    assert sweep._program(data, ("workloads.inference.revenue",)) is program  # built once
    assert sweep.solve_variant(data, changes) == first
    assert math.isfinite(first["objective"])


def test_a_changed_instance_gets_its_own_program():
    data = copy.deepcopy(BASE)
    changes = [("workloads.inference.revenue", 4.0)]
    before = sweep.solve_variant(data, changes)
    data["workloads"]["inference"]["demand"] = 2.0  # the same dict, other content
    after = sweep.solve_variant(data, changes)
    assert after == fresh_outcome(validate_instance(with_values(data, dict(changes))))
    assert after != before


def test_a_thread_pool_sized_before_the_sweep_does_not_stop_it():
    # HiGHS sizes one thread pool per process; the fast path asks for one thread, which
    # HiGHS refuses to run with once the pool has two (as after another solve with two)
    import highspy

    highspy.Highs.resetThreadScheduler(True)
    try:
        other = highspy.Highs()
        other.setOptionValue("output_flag", False)
        other.setOptionValue("threads", 2)
        other.passModel(LinearProgram(build_model(validate_instance(BASE))).highs.getLp())
        other.run()
        inst = validate_instance(BASE)
        program = ParametricProgram(inst, ["workloads.inference.revenue"])
        assert program.solve(inst) == fresh_outcome(inst)
    finally:
        highspy.Highs.resetThreadScheduler(True)
