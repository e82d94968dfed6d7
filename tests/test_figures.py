"""The tables' figures read off the solution array (``planner.results.figures``) are the
figures the solved model's expressions give, to the last bit, and ``planner.solve``
lets the model go before the solve.

The reference below is the way a plan was made before: the model's variables hold the
solution and the tables read its expressions (``make_tables``, :class:`Values`); the
second stage added to the model (``add_second_stage``) and compiled into the same
HiGHS object (``LinearProgram.sync``).
"""

from __future__ import annotations

import gc
import math
import struct
import threading
import time
import weakref
from pathlib import Path

import numpy as np
import pandas as pd
import pyomo.core as pyo
import pytest
from hypothesis import HealthCheck, given, settings

import planner
from planner.model import lp as model_lp
from planner.model.lp import build_model
from planner.model.stochastic import add_second_stage, needs_second_stage
from planner.results import figures
from planner.results.figures import FigureProgram, Values, add_up, model_figures
from planner.results.tables import make_tables, plan_blocks
from planner.solver import highs
from planner.solver.highs import ZERO, LinearProgram, run_lp

from .strategies import instances
from .test_scenarios import scenario_instances

SHIPPED = sorted((Path(__file__).resolve().parents[1] / "instances").glob("*.yaml"))
OBJECTIVES = ("cumulative_loss", "peak_cumulative_loss")


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def assert_same_figures(want: dict, got: dict) -> None:
    assert want.keys() == got.keys()
    for key in want:
        assert want[key].keys() == got[key].keys()
        for name, cells in want[key].items():
            assert list(cells) == list(got[key][name]), name
            for index, value in cells.items():
                other = got[key][name][index]
                assert bits(value) == bits(other) or (math.isnan(value) and math.isnan(other)), (
                    f"{name}{index}: {value!r} from the model, {other!r} from the array")


def figures_both_ways(inst, objective: str, fix: dict | None = None):
    """The figures of the first stage's solution, from the model and from the array;
    None when the instance has no plan."""
    model = build_model(inst, objective)
    if fix:
        highs.fix_decisions(model, inst, fix)
    lp = LinearProgram(model)
    program = FigureProgram(plan_blocks(model, inst), lp.column)
    status, _ = run_lp(lp, None, time.perf_counter())
    if status != "optimal":
        return None
    want = {key: model_figures(block) for key, block in plan_blocks(model, inst).items()}
    return want, program.figures(lp.solution(ZERO))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_the_shipped_instances_figures_are_the_models_to_the_last_bit(path, objective):
    both = figures_both_ways(planner.load_instance(path), objective)
    assert both is not None
    assert_same_figures(*both)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=instances())
def test_random_instances_figures_are_the_models_to_the_last_bit(data):
    inst = planner.load_instance(data)
    for objective in OBJECTIVES:
        both = figures_both_ways(inst, objective)
        if both is not None:
            assert_same_figures(*both)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=scenario_instances())
def test_random_scenario_figures_are_the_models_to_the_last_bit(data):
    inst = planner.load_instance(data)
    both = figures_both_ways(inst, inst.objective)
    if both is not None:
        assert_same_figures(*both)


def test_fixed_decisions_are_read_as_the_model_holds_them():
    inst = planner.load_instance(SHIPPED[-1])  # toy
    p, k = next((p, k) for p, prov in inst.providers.items() for k in prov.contracts)
    fix = {("c", p, k, inst.years[0]): 0.25}
    want, got = figures_both_ways(inst, inst.objective, fix)
    assert_same_figures(want, got)
    assert got[None]["c"][p, k, inst.years[0]] == 0.25


def test_a_variable_without_a_value_is_refused_as_the_model_would():
    inst = planner.load_instance(SHIPPED[-1])
    model = build_model(inst, inst.objective)
    p, k = next((p, k) for p, prov in inst.providers.items() for k in prov.contracts)
    for var in model.component_data_objects(pyo.Var):  # all but one hold a value
        var.value = 1.0
    model.c[p, k, inst.years[-1]].value = None
    with pytest.raises(ValueError, match="No value for uninitialized variable") as by_model:
        model_figures(model)
    program = FigureProgram(plan_blocks(model, inst), {})  # no columns: the values are the model's
    with pytest.raises(ValueError) as by_program:
        program.figures(np.zeros(0))
    assert str(by_program.value) == str(by_model.value) == f"No value for uninitialized variable c[{p},{k},{inst.years[-1]}]"


def test_sums_are_added_left_to_right_on_every_python(monkeypatch):
    """Python 3.12's sum() compensates for round-off (1e16 + 1 - 1e16 is 1.0 there, 0.0
    added left to right); the figures do not depend on which Python adds them up."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var([0, 1, 2])
    for i, v in enumerate((1e16, 1.0, -1e16)):
        m.x[i].value = v
    m.e = pyo.Expression(expr=m.x[0] + m.x[1] + m.x[2])

    def compensated(terms, start=0):
        return math.fsum([start, *terms])

    monkeypatch.setattr(figures, "sum", compensated, raising=False)  # as Python 3.12 adds up
    assert add_up([1e16, 1.0, -1e16]) == 0.0
    assert Values()(m.e) == 0.0  # and FigureProgram adds up as Values does (the tests above)


def reference_plan(inst, objective: str):
    """The tables as they were made before: both stages compiled from the model, the
    figures read off its expressions."""
    model = build_model(inst, objective)
    lp = LinearProgram(model)
    status, value = run_lp(lp, None, time.perf_counter(), zero=ZERO)
    if status == "optimal" and needs_second_stage(inst, objective):
        add_second_stage(model, inst, value)
        lp.sync()
        status, _ = run_lp(lp, None, time.perf_counter(), zero=ZERO)
    return status, value, (make_tables(model, inst) if status == "optimal" else None)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_solve_gives_the_plan_the_model_gave(path, objective):
    """Both stages solved without the model (the second one's row and objective compiled
    before it went) give the tables the model's own second stage gave, exactly."""
    inst = planner.load_instance(path)
    status, value, tables = reference_plan(inst, objective)
    plan = planner.solve(inst, objective=objective)
    assert plan.status == status == "optimal"
    assert plan.objective_value == value
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(plan.tables[name], frame, check_exact=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=instances())
def test_random_instances_solve_gives_the_plan_the_model_gave(data):
    inst = planner.load_instance(data)
    for objective in OBJECTIVES:
        status, value, tables = reference_plan(inst, objective)
        plan = planner.solve(inst, objective=objective)
        assert plan.status == status
        if status == "optimal":
            assert plan.objective_value == value
            for name, frame in tables.items():
                pd.testing.assert_frame_equal(plan.tables[name], frame, check_exact=True)


def test_solve_lets_the_model_go_before_the_solve(monkeypatch):
    """Nothing holds the Pyomo model once HiGHS has the LP: it is gone when HiGHS
    starts, and the plan does not carry it."""
    built, alive_at_solve = [], []
    real_build, real_solve = model_lp.build_model, LinearProgram.solve

    def build(*args, **kwargs):
        model = real_build(*args, **kwargs)
        built.append(weakref.ref(model))
        return model

    def run(self, *args, **kwargs):  # no collection here: solve's own must have freed it
        alive_at_solve.append(built[-1]() is not None)
        return real_solve(self, *args, **kwargs)

    monkeypatch.setattr(highs, "build_model", build)
    monkeypatch.setattr(LinearProgram, "solve", run)
    inst = planner.load_instance(SHIPPED[0])
    plan = planner.solve(inst, objective="peak_cumulative_loss")  # both stages
    assert plan.status == "optimal" and plan.model is None
    assert alive_at_solve == [False, False]
    # and freed by reference counting (dismantle), not by the collector's scan
    alive_at_solve.clear()
    monkeypatch.setattr(highs.gc, "collect", lambda generation=2: 0)
    gc.disable()
    try:
        planner.solve(inst)
    finally:
        gc.enable()
    assert alive_at_solve == [False]
    kept = highs.solve(inst, objective="peak_cumulative_loss", keep_model=True)
    assert kept.model is not None and kept.model.hold_first_stage.active
    for name, frame in plan.tables.items():
        pd.testing.assert_frame_equal(kept.tables[name], frame, check_exact=True)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_a_dismantled_model_is_freed_without_the_cyclic_collector(path):
    """Once HiGHS has the LP, reference counting alone frees the model, its variables
    and the compiler's structures (the collector would scan all of it: 0.4 s at L)."""
    inst = planner.load_instance(path)
    gc.collect()
    gc.disable()
    try:
        model = build_model(inst, "peak_cumulative_loss")
        lp = LinearProgram(model)
        highs.Reading(lp, model, inst, "peak_cumulative_loss")
        alive = [weakref.ref(x) for x in (model, next(iter(lp.columns)), lp.rows[-1])]
        lp.release_model()
        highs.dismantle(model)
        del model
        assert [ref() is None for ref in alive] == [True, True, True]
    finally:
        gc.enable()


def sum_as_python_312(iterable, /, start=0):
    """``builtins.sum`` as Python 3.12 and later add: exact floats with Neumaier's
    compensated summation (CPython's ``builtin_sum_impl``), the rest as before."""
    it = iter(iterable)
    result = start
    if type(result) is int:  # the int fast path; the first other item is added plainly
        for item in it:
            result = result + item
            if type(item) not in (int, bool):
                break
        else:
            return result
    if type(result) is float:
        f, c = result, 0.0
        for item in it:
            if type(item) is float:
                t = f + item
                c += (f - t) + item if abs(f) >= abs(item) else (item - t) + f
                f = t
            elif type(item) is int:
                f += float(item)
            else:
                result = (f + c if c and math.isfinite(c) else f) + item
                break
        else:
            return f + c if c and math.isfinite(c) else f
    for item in it:
        result = result + item
    return result


def test_sum_as_python_312_compensates():
    assert sum_as_python_312([1e16, 1.0, -1e16]) == 1.0
    assert sum_as_python_312([0.1] * 10) == 1.0 != add_up([0.1] * 10)
    assert sum_as_python_312([1, 2, 3]) == 6 and sum_as_python_312([[1], [2]], []) == [1, 2]


def test_the_results_do_not_depend_on_how_python_adds_up(tmp_path, monkeypatch):
    """With sum() compensating as on Python 3.12, `planner solve --report` of a scenario
    instance (probability-weighted means, shares, per-case figures) writes the committed
    folder bit for bit: every sum of figures is add_up."""
    import builtins
    import json

    from typer.testing import CliRunner

    from planner.cli import app

    source = next(p for p in SHIPPED if p.stem == "openai-2025-uncertain")
    name = planner.load_instance(source).name
    committed, fresh = Path(__file__).resolve().parents[1] / "results" / name, tmp_path / name
    monkeypatch.setattr(builtins, "sum", sum_as_python_312)
    result = CliRunner().invoke(app, ["solve", str(source), "--out", str(fresh), "--report", "--quiet"])
    monkeypatch.undo()
    assert result.exit_code == 0, result.output
    for path in sorted(fresh.iterdir()):
        if path.suffix == ".csv":
            assert path.read_bytes() == (committed / path.name).read_bytes(), path.name
    summary, want = (json.loads((folder / "summary.json").read_text()) for folder in (fresh, committed))
    for volatile in ("solve_seconds", "solver"):
        summary.pop(volatile), want.pop(volatile)
    assert summary == want


def test_the_sweep_does_not_depend_on_how_python_adds_up(tmp_path, monkeypatch):
    """The same for the README's sweep (parametric re-solves: shares, cumulative loss)."""
    import builtins
    import json

    from planner.sweep.run import run_sweep

    root = Path(__file__).resolve().parents[1]
    folder = root / "results" / "openai-2025-sweep"
    recorded = json.loads((folder / "sweep.json").read_text())
    monkeypatch.setattr(builtins, "sum", sum_as_python_312)
    result = run_sweep(root / recorded["instance_file"], recorded["vary"], out=tmp_path / "sweep", progress=False,
                       echo=lambda _: None, chart=False)
    monkeypatch.undo()
    assert result.code == 0
    assert (tmp_path / "sweep" / "sweep.csv").read_bytes() == (folder / "sweep.csv").read_bytes()


def test_one_malloc_heap_for_every_command_but_the_app(monkeypatch):
    """mallopt cannot be undone, so the command line decides: every command solves one LP
    at a time, but the app's threads solve side by side and keep their heaps."""
    from typer.testing import CliRunner

    from planner.cli import app
    from planner.solver import heap

    calls = []

    class C:
        def __init__(self, name):
            self.mallopt = lambda *args: calls.append(args)

    monkeypatch.setattr(heap.ctypes, "CDLL", C)
    heap.share_the_heap()
    assert calls == [(-8, 1)]  # M_ARENA_MAX, 1
    calls.clear()
    runner = CliRunner()
    for command in ("solve", "solve-all", "sweep", "frontier", "app"):
        assert runner.invoke(app, [command, "--help"]).exit_code == 0
        assert calls == ([] if command == "app" else [(-8, 1)]), command
        calls.clear()
    highs.solve(planner.load_instance(SHIPPED[-1]))  # the library leaves the process's heaps alone
    assert calls == []


def test_the_time_limit_counts_the_solver_from_the_moment_it_has_the_lp(monkeypatch):
    """Reading what the plan needs of the model before the solve is not the solver's time."""
    real = highs.Reading.__init__

    def slow(self, *args, **kwargs):
        real(self, *args, **kwargs)
        time.sleep(0.5)

    monkeypatch.setattr(highs.Reading, "__init__", slow)
    plan = highs.solve(planner.load_instance(SHIPPED[-1]), time_limit=0.4)
    assert plan.status == "optimal" and plan.solve_seconds < 0.4


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=scenario_instances())
def test_random_scenario_instances_solve_gives_the_plan_the_model_gave(data):
    inst = planner.load_instance(data)
    status, value, tables = reference_plan(inst, inst.objective)
    plan = planner.solve(inst)
    assert plan.status == status
    if status == "optimal":
        assert plan.objective_value == value
        for name, frame in tables.items():
            pd.testing.assert_frame_equal(plan.tables[name], frame, check_exact=True)
