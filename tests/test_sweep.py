"""``planner sweep``: grids, Monte Carlo, Sobol', resume, local processes and Dask.

Every sweep here runs on the small instance of ``conftest.py`` (3 years, ~50 ms a solve),
so the whole file takes well under a minute.
"""

from __future__ import annotations

import copy
import csv
import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

import planner
import planner.sweep.run
from planner.cli import app
from planner.sweep.run import DistSpec, GridSpec, SweepError, parse_vary, run_sweep, shifted

from .conftest import BASE, write_yaml


def run(*args):
    result = CliRunner().invoke(app, ["sweep", *[str(a) for a in args]])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def rows(folder) -> list[dict]:
    with (folder / "sweep.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def num(text: str) -> float | None:
    return float(text) if text != "" else None


@pytest.fixture
def small(tmp_path):
    return write_yaml(tmp_path, BASE, "small.yaml")


# ---------------------------------------------------------------------------------------
# The rows are the plans
# ---------------------------------------------------------------------------------------


def test_grid_rows_equal_fresh_solves(small, tmp_path):
    out = tmp_path / "grid"
    result = run(small, "--vary", "workloads.inference.revenue=x0.5,x1,x1.5",
                 "--vary", "providers.microsoft.contracts.reserved_3y.price=3,4.5", "--out", out, "-q")
    assert result.exit_code == 0, result.output
    table = rows(out)
    assert len(table) == 6
    assert [r["variant"] for r in table] == [str(i) for i in range(6)]
    assert len({r["variant_id"] for r in table}) == 6
    for row in table:
        factor = float(row["workloads.inference.revenue[x]"])
        price = float(row["providers.microsoft.contracts.reserved_3y.price"])
        data = copy.deepcopy(BASE)  # the variant built by hand, independently of planner.sweep.run
        data["workloads"]["inference"]["revenue"] = 5.0 * factor
        data["providers"]["microsoft"]["contracts"]["reserved_3y"]["price"] = price
        plan = planner.solve(planner.load_instance(data))
        assert row["status"] == plan.status == "optimal"
        assert num(row["objective"]) == pytest.approx(plan.objective_value, rel=1e-6, abs=1e-6)
        for key in ("cumulative_loss", "peak_cumulative_loss", "final_cash"):
            assert num(row[key]) == pytest.approx(plan.summary[key], rel=1e-6, abs=1e-6)
        capacity = plan.tables["capacity"]
        last = capacity[capacity["year"] == 2027].set_index("provider")["active"]
        for provider in ("microsoft", "stargate"):
            assert num(row[f"share_{provider}"]) == pytest.approx(last[provider] / last.sum(), abs=1e-9)
    # the objective moves the right way: more inference revenue, a lower loss
    by_factor = {float(r["workloads.inference.revenue[x]"]): num(r["objective"]) for r in table
                 if r["providers.microsoft.contracts.reserved_3y.price"] == "3.0"}
    assert by_factor[0.5] > by_factor[1.0] > by_factor[1.5]
    summary = json.loads((out / "sweep.json").read_text())
    objectives = [num(r["objective"]) for r in table]
    stats = summary["outputs"]["objective"]
    assert stats["count"] == 6 and summary["complete"] is True and summary["mode"] == "grid"
    assert stats["mean"] == pytest.approx(np.mean(objectives))
    for q in (5, 50, 95):
        assert stats[f"p{q}"] == pytest.approx(np.percentile(objectives, q))


def test_scaling_multiplies_every_year_of_the_resolved_series(small, tmp_path):
    # training demand is {2025: 1, 2026-2027: 2}: x3 makes 3, 6, 6 -- served in full
    out = tmp_path / "scaled"
    assert run(small, "--vary", "workloads.training.demand=x3", "--out", out, "-q").exit_code == 0
    data = copy.deepcopy(BASE)
    data["workloads"]["training"]["demand"] = {2025: 3.0, 2026: 6.0, 2027: 6.0}
    plan = planner.solve(planner.load_instance(data))
    assert num(rows(out)[0]["objective"]) == pytest.approx(plan.objective_value, abs=1e-6)


def test_shift_moves_the_series_by_whole_years(small, tmp_path):
    shift = parse_vary("workloads.training.demand=-1y, +0y,+1y,+2Y")
    assert shift.kind == "shift" and shift.values == (-1.0, 0.0, 1.0, 2.0)
    assert shift.column == "workloads.training.demand[+y]"
    series = {2025: 1.0, 2026: 2.0, 2027: 4.0}
    # later: each year takes an earlier year's value, the first year's repeated before it
    assert shifted(series, 1) == {2025: 1.0, 2026: 1.0, 2027: 2.0}
    assert shifted(series, 2) == {2025: 1.0, 2026: 1.0, 2027: 1.0}
    assert shifted(series, -1) == {2025: 2.0, 2026: 4.0, 2027: 4.0}
    assert shifted(series, 0) == series
    # a sweep's rows are the plans of the shifted instances, built by hand
    out = tmp_path / "shifted"
    result = run(small, "--vary", "workloads.training.demand=-1y,+0y,+1y", "--out", out, "-q")
    assert result.exit_code == 0, result.output
    by_shift = {float(r["workloads.training.demand[+y]"]): r for r in rows(out)}
    for years, demand in ((-1.0, {2025: 2.0, 2026: 2.0, 2027: 2.0}), (0.0, {2025: 1.0, 2026: 2.0, 2027: 2.0}),
                          (1.0, {2025: 1.0, 2026: 1.0, 2027: 2.0})):
        data = copy.deepcopy(BASE)
        data["workloads"]["training"]["demand"] = demand
        plan = planner.solve(planner.load_instance(data))
        assert num(by_shift[years]["objective"]) == pytest.approx(plan.objective_value, rel=1e-9, abs=1e-9)
    # demand a year later costs less, a year earlier more
    assert num(by_shift[1.0]["objective"]) < num(by_shift[0.0]["objective"]) < num(by_shift[-1.0]["objective"])


def test_infeasible_and_invalid_variants_are_rows(small, tmp_path):
    # microsoft can give at most 10 GW and stargate's build is online only from 2026:
    # 50 units of mandatory training in 2025 cannot be served
    out = tmp_path / "infeasible"
    result = run(small, "--vary", "workloads.training.demand=1,50", "--out", out, "-q")
    assert result.exit_code == 0, result.output
    table = rows(out)
    assert [r["status"] for r in table] == ["optimal", "infeasible"]
    assert table[1]["objective"] == "" and "no plan" in table[1]["message"]
    assert json.loads((out / "sweep.json").read_text())["status_counts"] == {"infeasible": 1, "optimal": 1}
    # a normal draw far below zero makes an invalid instance: a row too, with the reason
    out = tmp_path / "invalid"
    result = run(small, "--vary", "workloads.inference.revenue~normal(0.05,2)", "--samples", "8", "--seed", "1",
                 "--out", out, "-q")
    assert result.exit_code == 0, result.output
    invalid = [r for r in rows(out) if r["status"] == "invalid"]
    assert invalid and all("workloads.inference.revenue" in r["message"] for r in invalid)
    assert all(float(r["workloads.inference.revenue[x]"]) < 0 for r in invalid)


# ---------------------------------------------------------------------------------------
# Monte Carlo: reproducible
# ---------------------------------------------------------------------------------------


def test_monte_carlo_is_reproducible_with_a_seed(small, tmp_path):
    args = ["--vary", "workloads.inference.revenue~uniform(0.6,1.4)",
            "--vary", "providers.microsoft.contracts.on_demand.price~triangular(0.8,1,1.3)", "--samples", "6", "-q"]
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        assert run(small, *args, "--seed", seed, "--out", tmp_path / name).exit_code == 0
    first, again, other = ((tmp_path / n / "sweep.csv").read_bytes() for n in "abc")
    assert first == again
    assert first != other
    draws = [float(r["workloads.inference.revenue[x]"]) for r in rows(tmp_path / "a")]
    assert len(set(draws)) == 6 and all(0.6 <= d <= 1.4 for d in draws)
    summary = json.loads((tmp_path / "a" / "sweep.json").read_text())
    assert summary["mode"] == "monte_carlo" and summary["seed"] == 7 and summary["samples"] == 6


# ---------------------------------------------------------------------------------------
# Interrupt and resume
# ---------------------------------------------------------------------------------------


def test_resume_after_interruption_loses_and_duplicates_nothing(small, tmp_path, monkeypatch):
    args = ["--vary", "workloads.inference.revenue=x0.6,x0.8,x1,x1.2",
            "--vary", "finance.initial_cash=10,50,100", "-q"]
    reference = tmp_path / "reference"
    assert run(small, *args, "--out", reference).exit_code == 0

    real_solve, calls = planner.sweep.run.solve_variant, []

    def interrupting_solve(*a, **kw):
        if len(calls) == 5:
            raise KeyboardInterrupt  # Ctrl-C while the 6th variant is being solved
        calls.append(1)
        return real_solve(*a, **kw)

    out = tmp_path / "resumed"
    monkeypatch.setattr(planner.sweep.run, "solve_variant", interrupting_solve)
    result = run(small, *args, "--out", out)
    assert result.exit_code == 130
    assert "interrupted: kept 5 of 12" in result.output
    assert len(rows(out)) == 5
    assert json.loads((out / "sweep.json").read_text())["complete"] is False

    monkeypatch.setattr(planner.sweep.run, "solve_variant", real_solve)
    result = run(small, *args, "--out", out)
    assert result.exit_code == 0, result.output
    assert "solved 7 now" in result.output
    table = rows(out)
    assert len(table) == 12 and len({r["variant_id"] for r in table}) == 12
    assert (out / "sweep.csv").read_bytes() == (reference / "sweep.csv").read_bytes()
    # a third run finds nothing to do and changes nothing
    result = run(small, *args, "--out", out)
    assert result.exit_code == 0 and "nothing left to solve" in result.output
    assert (out / "sweep.csv").read_bytes() == (reference / "sweep.csv").read_bytes()


def test_resume_drops_a_row_cut_short_and_extends_a_grid(small, tmp_path):
    out = tmp_path / "sweep"
    assert run(small, "--vary", "finance.initial_cash=10,20", "--out", out, "-q").exit_code == 0
    text = (out / "sweep.csv").read_text()
    (out / "sweep.csv").write_text(text[: text.rindex("\n", 0, len(text) - 1) + 8])  # the last row half-written
    result = run(small, "--vary", "finance.initial_cash=5,10,20", "--out", out, "-q")
    assert result.exit_code == 0, result.output
    assert "solved 2 now" in result.output  # the cut row again, and the new value 5
    table = rows(out)
    assert [r["finance.initial_cash"] for r in table] == ["5.0", "10.0", "20.0"]
    assert [r["variant"] for r in table] == ["0", "1", "2"]


def test_resume_refuses_a_different_sweep(small, tmp_path):
    out = tmp_path / "sweep"
    base = ["--vary", "workloads.inference.revenue~uniform(0.8,1.2)", "--samples", "3", "--out", out, "-q"]
    assert run(small, *base, "--seed", "1").exit_code == 0
    result = run(small, *base, "--seed", "2")
    assert result.exit_code == 2 and "not in this sweep" in result.output
    result = run(small, "--vary", "finance.initial_cash=1", "--out", out, "-q")
    assert result.exit_code == 2 and "other columns" in result.output
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    result = run(small, "--vary", "finance.initial_cash=1", "--out", foreign, "-q")
    assert result.exit_code == 2 and "notes.txt" in result.output
    assert (foreign / "notes.txt").read_text() == "mine"


# ---------------------------------------------------------------------------------------
# Local processes and Dask give the same file
# ---------------------------------------------------------------------------------------


def test_dask_local_cluster_and_local_processes_give_identical_csv(small, tmp_path):
    from dask.distributed import LocalCluster

    vary = ["workloads.inference.revenue~uniform(0.5,1.5)", "providers.microsoft.capacity~uniform(0.02,0.3)"]
    common = dict(samples=12, seed=4, batch_size=3, progress=False, echo=lambda _s: None)
    in_process = run_sweep(small, vary, jobs=1, out=tmp_path / "one", **common)
    processes = run_sweep(small, vary, jobs=2, out=tmp_path / "processes", **common)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        on_dask = run_sweep(small, vary, scheduler=cluster.scheduler_address, out=tmp_path / "dask", **common)
    assert in_process.code == processes.code == on_dask.code == 0
    assert {r["status"] for r in in_process.rows} >= {"optimal", "infeasible"}  # below 1 GW in 2025 training is unserved
    reference = (tmp_path / "one" / "sweep.csv").read_bytes()
    assert (tmp_path / "processes" / "sweep.csv").read_bytes() == reference
    assert (tmp_path / "dask" / "sweep.csv").read_bytes() == reference


# ---------------------------------------------------------------------------------------
# Sobol' sensitivity
# ---------------------------------------------------------------------------------------


def test_sobol_ranks_the_input_that_drives_the_objective(small, tmp_path):
    # the objective is cost minus inference revenue; initial cash never binds (min_cash 0)
    out = tmp_path / "sobol"
    result = run(small, "--vary", "finance.initial_cash~uniform(0.5,1.5)",
                 "--vary", "workloads.inference.revenue~uniform(0.8,1.2)", "--sobol", "64", "--out", out, "-q")
    assert result.exit_code == 0, result.output
    assert len(rows(out)) == 64 * (2 + 2)
    with (out / "sensitivity.csv").open(newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [(r["output"], r["rank"]) for r in table] == [
        ("objective", "1"), ("objective", "2"), ("cumulative_loss", "1"), ("cumulative_loss", "2")]
    top, last = table[0], table[1]
    assert top["path"] == "workloads.inference.revenue" and top["distribution"] == "uniform(0.8,1.2)"
    # revenue is the only input that moves the objective: its exact indices are 1 (the
    # estimates at N = 64 within a few percent), initial cash's are 0
    assert float(top["total"]) == pytest.approx(1.0, abs=0.05)
    assert float(top["first_order"]) == pytest.approx(1.0, abs=0.05)
    assert abs(float(last["total"])) < 1e-9 and abs(float(last["first_order"])) < 1e-9
    assert float(top["total_low"]) <= float(top["total"]) <= float(top["total_high"])
    assert "What drives the objective" in result.output
    assert json.loads((out / "sweep.json").read_text())["sensitivity"] == "sensitivity.csv"
    # the confidence intervals are a seeded bootstrap: the same sweep, the same file
    # (seed 0 included, which SALib would take as "no seed")
    again = tmp_path / "again"
    assert run(small, "--vary", "finance.initial_cash~uniform(0.5,1.5)", "--vary",
               "workloads.inference.revenue~uniform(0.8,1.2)", "--sobol", "64", "--out", again, "-q").exit_code == 0
    assert (again / "sensitivity.csv").read_bytes() == (out / "sensitivity.csv").read_bytes()


# ---------------------------------------------------------------------------------------
# Specs and refusals
# ---------------------------------------------------------------------------------------


def test_spec_parsing():
    assert parse_vary("finance.funding=1,2,3") == GridSpec("finance.funding=1,2,3", "finance.funding", "value", (1, 2, 3))
    assert parse_vary("finance.funding=1,1,2").values == (1.0, 2.0)
    assert parse_vary("finance.funding=0.5:1.5:11").values == tuple(round(0.5 + 0.1 * i, 10) for i in range(11))
    assert parse_vary("finance.funding = 7").values == (7.0,)
    scaled = parse_vary("providers.stargate.capacity=x0.7,x1.0,X1.3")
    assert scaled.scale and scaled.values == (0.7, 1.0, 1.3) and scaled.column == "providers.stargate.capacity[x]"
    assert parse_vary("finance.funding=x0.5:1.5:3").values == (0.5, 1.0, 1.5)
    assert parse_vary("finance.funding~uniform(0.5, 1.5)") == DistSpec(
        "finance.funding~uniform(0.5, 1.5)", "finance.funding", "uniform", (0.5, 1.5))
    assert parse_vary("finance.funding~normal(1,0.1)").params == (1.0, 0.1)
    assert parse_vary("finance.funding~triangular(0.7,1,1.1)").params == (0.7, 1.0, 1.1)
    rng = np.random.default_rng(0)
    tri = parse_vary("finance.funding~triangular(0.7,1,1.1)")
    assert all(0.7 <= tri.draw(rng) <= 1.1 for _ in range(50))
    assert list(tri.ppf([0.0, 1.0])) == pytest.approx([0.7, 1.1], abs=1e-5)


@pytest.mark.parametrize("text, problem", [
    ("finance.funding", "expected PATH=SPEC"),
    ("=1,2", "no PATH"),
    ("finance.funding=", "nothing after"),
    ("finance.funding=1,,2", "empty item"),
    ("finance.funding=1,abc", "'abc' is not a number"),
    ("finance.funding=1,nan", "'nan' is not a number"),
    ("finance.funding=1,x2", "mixes values, scalings (x...) and shifts"),
    ("finance.funding=+1y,x2", "mixes values, scalings (x...) and shifts"),
    ("finance.funding=+1.5y", "not a whole number of years"),
    ("finance.funding=+1y:+2y:2", "not as a range"),
    ("finance.funding=+101y", "more than 100 years"),
    ("finance.funding=x-1", "negative"),
    ("finance.funding=1:2", "first:last:count"),
    ("finance.funding=1:2:0", "whole number >= 1"),
    ("finance.funding=1:2:2.5", "whole number >= 1"),
    ("finance.funding~beta(1,2)", "unknown distribution 'beta'"),
    ("finance.funding~uniform(1)", "uniform takes 2 numbers"),
    ("finance.funding~uniform(2,1)", "0 <= a < b"),
    ("finance.funding~normal(1,0)", "sigma > 0"),
    ("finance.funding~triangular(1,2,1.5)", "a <= m <= b"),
    ("finance.funding~uniform", "expected a distribution"),
])
def test_bad_specs_are_refused_naming_the_problem(text, problem, small):
    with pytest.raises(SweepError, match=None) as caught:
        parse_vary(text)
    assert problem in str(caught.value)
    result = run(small, "--vary", text, "--samples", "2", "-q") if "~" in text else run(small, "--vary", text, "-q")
    assert result.exit_code == 2
    assert problem in result.output and "error: --vary" in result.output


@pytest.mark.parametrize("args, problem", [
    (["--vary", "years=2025"], "cannot vary years"),
    (["--vary", "providers.microsoft.contracts.on_demand.term=2"], "cannot vary providers.microsoft.contracts"),
    (["--vary", "workloads.video.demand=1"], "unknown workload 'video'"),
    (["--vary", "discount_rate=0.1"], "cannot vary discount_rate"),
    (["--vary", "providers.microsoft.min_capacity=x2"], "the instance does not give it"),
    (["--vary", "providers.microsoft.min_capacity=+1y"], "cannot shift providers.microsoft.min_capacity: the instance"),
    (["--vary", "finance.debt.rate=+1y"], "cannot shift finance.debt.rate: it is one number, not a series"),
    (["--vary", "finance.min_cash=-1"], "-1 makes the instance invalid: finance.min_cash: expected a number >= 0"),
    (["--vary", "finance.funding=1", "--vary", "finance.funding=2"], "varied twice"),
    (["--vary", "finance.funding~uniform(1,2)"], "needs --samples N"),
    (["--vary", "finance.funding=1,2", "--samples", "3"], "every --vary is a distribution"),
    (["--vary", "finance.funding~uniform(1,2)", "--samples", "3", "--sobol", "4"], "give one"),
])
def test_paths_and_options_not_allowed_exit_2(args, problem, small, tmp_path):
    result = run(small, *args, "--out", tmp_path / "out", "-q")
    assert result.exit_code == 2, result.output
    assert problem in result.output
    assert not (tmp_path / "out").exists()


def test_scenario_instances_are_refused(tmp_path):
    data = copy.deepcopy(BASE)
    data["scenarios"] = {"cases": {"base": {"probability": 1.0}}}
    path = write_yaml(tmp_path, data, "cases.yaml")
    result = run(path, "--vary", "finance.funding=1", "-q")
    assert result.exit_code == 2 and "scenarios block" in result.output


def test_invalid_instance_file_exit_2(tmp_path):
    result = run(tmp_path / "missing.yaml", "--vary", "finance.funding=1")
    assert result.exit_code == 2 and "invalid instance" in result.output and "no such file" in result.output


def test_progress_bar_and_default_folder(small, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(small, "--vary", "finance.initial_cash=10,20")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "results" / "small-sweep" / "sweep.csv").exists()
    assert "Wrote sweep.csv, sweep.json" in result.output
    assert not math.isnan(json.loads((tmp_path / "results" / "small-sweep" / "sweep.json").read_text())
                          ["outputs"]["objective"]["mean"])


def test_apply_changes_leaves_the_instance_data_as_it_was():
    from planner.sweep.run import apply_changes

    data = copy.deepcopy(BASE)
    before = copy.deepcopy(data)
    series = {2025: 1.0, 2026: 2.0, 2027: 3.0}
    changed = apply_changes(data, [("providers.microsoft.contracts.on_demand.price", series),
                                   ("finance.debt.limit", 4.0)])
    assert data == before
    assert changed["providers"]["microsoft"]["contracts"]["on_demand"]["price"] == series
    assert changed["providers"]["microsoft"]["contracts"]["on_demand"]["price"] is not series
    assert changed["finance"] == {"initial_cash": 100.0, "debt": {"limit": 4.0}}
    assert changed["providers"]["stargate"] is data["providers"]["stargate"]  # untouched parts are shared


def test_the_sweep_draws_its_chart_and_resumes_beside_it(small, tmp_path):
    out = tmp_path / "charted"
    args = ["--vary", "workloads.training.demand=1,50", "--vary", "workloads.inference.revenue=x0.5,x1"]
    result = run(small, *args, "--out", out)
    assert result.exit_code == 0, result.output
    assert "Wrote sweep.csv, sweep.json, sweep.png to" in result.output
    png = (out / "sweep.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    # a rerun (nothing left to solve) accepts the folder with its chart and redraws it the same
    again = run(small, *args, "--out", out)
    assert again.exit_code == 0 and "nothing left to solve" in again.output
    assert (out / "sweep.png").read_bytes() == png
    # --no-chart leaves no chart of other rows behind
    assert run(small, *args, "--out", out, "--no-chart").exit_code == 0
    assert not (out / "sweep.png").exists()
    assert sorted(p.name for p in out.iterdir()) == ["sweep.csv", "sweep.json"]
