"""``planner alternatives``: the ranges of near-optimal plans (docs/tradeoffs.md).

The toy, worked out by hand: one year, ``a`` rents at 1 and ``b`` at 2 a unit, the
workload needs 10 compute units. The optimum rents 10 at a (objective 10). Within a slack
of 50 % (objective ≤ 15) a plan rents a + b ≥ 10 with a + 2b ≤ 15 (idle capacity is
allowed but paid). So b ≤ 5: a's share is smallest at a = b = 5 (0.5) and largest with no
b (1.0); a's spend runs from 5 (a = 5, b = 5) to 15 (a = 15, idle 5); b's share from 0 to
0.5 and its spend from 0 to 10. With revenue 3 a unit the optimum is 10 − 30 = −20, and
"within 25 %" is objective ≤ −20 + 0.25·20 = −15: the same plans, the same ranges.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

import planner
from planner.cli import app as cli_app
from planner.instance.loading import validate_instance
from planner.model.stochastic import first_stage_hold
from planner.results.check import check_folder, check_tables
from planner.results.files import ALTERNATIVES_COLUMNS, ALTERNATIVES_CSV, ALTERNATIVES_JSON, ALTERNATIVES_PNG, EXTREMES
from planner.tradeoffs.alternatives import NearOptimal, alternatives, provider_spend, slack_bound
from planner.solver.highs import solve as solve_plan
from planner.tradeoffs.common import TradeoffError

from .strategies import instances

ROOT = Path(__file__).resolve().parents[1]
OPENAI = ROOT / "instances" / "openai-2025.yaml"

TOY = {
    "name": "one",
    "years": [2025, 2025],
    "workloads": {"w": {"demand": 10.0}},
    "finance": {"initial_cash": 1000.0},
    "providers": {
        "a": {"contracts": {"rent": {"term": 1, "price": 1.0}}},
        "b": {"contracts": {"rent": {"term": 1, "price": 2.0}}},
    },
}
BY_HAND = {"a": (0.5, 1.0, 5.0, 15.0, 1.0, 10.0), "b": (0.0, 0.5, 0.0, 10.0, 0.0, 0.0)}


def rows_by_provider(result) -> dict:
    return {row["provider"]: tuple(row[c] for c in ALTERNATIVES_COLUMNS[1:]) for row in result.rows}


@pytest.mark.parametrize("objective", ["cumulative_loss", "peak_cumulative_loss"])
def test_the_toy_ranges_are_the_ones_worked_out_by_hand(objective):
    result = alternatives(validate_instance({**TOY, "objective": objective}), 0.5)
    assert result.complete and result.meta["bound"] == pytest.approx(15.0)
    for p, expected in BY_HAND.items():
        assert rows_by_provider(result)[p] == pytest.approx(expected, abs=1e-7), p


def test_a_negative_optimum_keeps_its_slack_on_the_costly_side():
    data = json.loads(json.dumps(TOY))
    data["workloads"]["w"]["revenue"] = 3.0
    result = alternatives(validate_instance(data), 0.25)
    assert result.meta["objective_value"] == pytest.approx(-20.0)
    assert result.meta["bound"] == pytest.approx(-15.0)
    assert slack_bound(-20.0, 0.25) == -15.0 and slack_bound(20.0, 0.25) == 25.0
    for p, expected in BY_HAND.items():
        assert rows_by_provider(result)[p] == pytest.approx(expected, abs=1e-7), p


def test_no_slack_leaves_the_optimal_plans_only():
    result = alternatives(validate_instance(TOY), 0.0)
    assert rows_by_provider(result)["a"] == pytest.approx((1.0, 1.0, 10.0, 10.0, 1.0, 10.0), abs=1e-6)


def test_each_extreme_is_attained_by_a_checked_plan_within_the_slack(tmp_path):
    inst = planner.load_instance(OPENAI)
    result = alternatives(inst, 0.05, plans=True)
    bound = result.meta["bound"]
    assert len(result.plans) == 4 * len(inst.providers)
    for (p, extreme), plan in result.plans.items():
        assert check_tables(inst, plan.tables, plan.summary) == []
        assert plan.objective_value <= first_stage_hold(bound) + 1e-9
        capacity = plan.tables["capacity"]
        last = capacity[capacity["year"] == inst.year_list[-1]]
        share = float(last.loc[last["provider"] == p, "active"].sum()) / float(last["active"].sum())
        spend = float(capacity.loc[capacity["provider"] == p, "spend"].sum())
        build = inst.providers[p].build
        if build is not None:
            procurement = plan.tables["procurement"]
            built = procurement[(procurement["provider"] == p) & (procurement["source"] == "build")]
            spend += float((built["capacity"] * built["unit_price"]).sum())
            owned = capacity[capacity["provider"] == p]
            spend += float(sum(build.opex[t] * o for t, o in zip(owned["year"], owned["owned"])))
        row = next(r for r in result.rows if r["provider"] == p)
        value = share if extreme.endswith("share") else spend
        assert value == pytest.approx(row[extreme], rel=1e-6, abs=1e-6), (p, extreme)
    # the optimum itself lies inside every range
    for row in result.rows:
        assert row["min_share"] - 1e-9 <= row["optimum_share"] <= row["max_share"] + 1e-9
        assert row["min_spend"] - 1e-6 <= row["optimum_spend"] <= row["max_spend"] + 1e-6


def no_plan_goes_beyond(space: NearOptimal, p: str, level: float, largest: bool) -> bool:
    """Whether no plan within the slack has a share of ``p`` beyond ``level`` — checked
    without the Charnes–Cooper LP: the LP ``max ±(N − level·D)`` over the same rows has an
    optimum of at most 0 (unbounded would mean a ray of plans beyond the level)."""
    from planner.solver.highs import SolverFailure

    (n, n0), (d, d0) = space.lp.linear_form(space.model.active_capacity[p, space.last]), space.total
    sign = -1.0 if largest else 1.0
    try:
        value, x = space.minimise((n - level * d, n0 - level * d0), sign)
    except SolverFailure:
        return False
    return sign * value >= -1e-7 * max(1.0, float(d @ x + d0))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=instances())
def test_random_ranges_are_exact_and_hold_every_plan_within_the_slack(data):
    """On random instances: no plan within the slack has a share beyond the reported
    extremes (the level LPs of Dinkelbach's optimality condition, independent of the
    Charnes–Cooper LP), an extreme that a plan attains has that plan's share, and plans
    found by other objectives (random directions) stay inside every range."""
    inst = planner.load_instance(data)
    result = alternatives(inst, 0.1, plans=True)
    if result.status != "optimal" or result.meta.get("note"):
        return
    space = NearOptimal(inst, result.base, result.meta["bound"], None)
    rng = np.random.default_rng(len(json.dumps(data)))
    last = inst.year_list[-1]
    for row in result.rows:
        p = row["provider"]
        assert no_plan_goes_beyond(space, p, row["max_share"] + 1e-6, largest=True)
        assert no_plan_goes_beyond(space, p, row["min_share"] - 1e-6, largest=False)
        for extreme in ("min_share", "max_share"):
            plan = result.plans.get((p, extreme))
            if [p, extreme] in result.meta["not_attained"]:
                assert plan is None
                continue
            capacity = plan.tables["capacity"]
            final = capacity[capacity["year"] == last]
            share = float(final.loc[final["provider"] == p, "active"].sum()) / float(final["active"].sum())
            assert share == pytest.approx(row[extreme], abs=1e-6)
            assert check_tables(inst, plan.tables, plan.summary) == []
        spend = space.lp.linear_form(provider_spend(space.model, inst, p))
        active = space.lp.linear_form(space.model.active_capacity[p, space.last])
        for _ in range(3):
            direction = rng.uniform(0.0, 1.0, size=len(space.cost))  # >= 0: bounded below
            _, x = space.minimise((direction, 0.0))
            share = float(active[0] @ x + active[1]) / float(space.total[0] @ x + space.total[1])
            money = float(spend[0] @ x + spend[1])
            assert row["min_share"] - 1e-6 <= share <= row["max_share"] + 1e-6
            assert row["min_spend"] - 1e-6 * max(1, abs(money)) <= money <= row["max_spend"] + 1e-6 * max(1, abs(money))


def test_bad_requests_are_refused():
    with pytest.raises(TradeoffError, match="fraction"):
        alternatives(validate_instance(TOY), -0.1)
    with pytest.raises(TradeoffError, match="Remove the scenarios block"):
        alternatives(planner.load_instance(ROOT / "instances" / "openai-2025-uncertain.yaml"), 0.05)


def test_the_python_api_returns_the_table():
    table = planner.alternatives(validate_instance(TOY), 0.5)
    assert list(table.columns) == ALTERNATIVES_COLUMNS
    assert table.attrs["method"] == "Charnes-Cooper" and table.attrs["bound"] == pytest.approx(15.0)


def test_the_command_writes_the_folder_and_the_plans_pass_the_check(tmp_path):
    runner = CliRunner()
    path = tmp_path / "one.json"
    path.write_text(json.dumps(TOY))
    out = tmp_path / "alt"
    result = runner.invoke(cli_app, ["alternatives", str(path), "--slack", "0.5", "--out", str(out), "--plans"])
    assert result.exit_code == 0, result.output
    assert "Wrote 2 providers and their plans" in result.output
    import pandas as pd

    table = pd.read_csv(out / ALTERNATIVES_CSV, dtype={"provider": str})
    assert list(table.columns) == ALTERNATIVES_COLUMNS
    assert json.loads((out / ALTERNATIVES_JSON).read_text())["slack"] == 0.5
    assert (out / ALTERNATIVES_PNG).read_bytes().startswith(b"\x89PNG")
    inst = validate_instance(TOY)
    for p in ("a", "b"):
        for extreme in EXTREMES:
            assert check_folder(inst, out / "plans" / f"{p}-{extreme}") == []
    bad = runner.invoke(cli_app, ["alternatives", str(path), "--slack", "-1", "--out", str(out)])
    assert bad.exit_code == 2
    assert runner.invoke(cli_app, ["alternatives", "--help"]).exit_code == 0


def test_alternatives_run_after_the_highs_pool_was_sized_by_another_solve():
    """HiGHS sizes its thread pool once per process and refuses a later solve that asks
    for another size ("Not Set"): the share LPs must run whatever the pool."""
    from planner.model.lp import build_model
    from planner.solver.highs import LinearProgram

    highspy = pytest.importorskip("highspy")
    highspy.Highs.resetThreadScheduler(True)
    try:
        other = highspy.Highs()
        other.setOptionValue("output_flag", False)
        other.setOptionValue("threads", 2)
        other.passModel(LinearProgram(build_model(validate_instance(TOY))).highs.getLp())
        other.run()
        result = alternatives(validate_instance(TOY), 0.5)
        assert rows_by_provider(result)["a"] == pytest.approx(BY_HAND["a"], abs=1e-7)
    finally:
        highspy.Highs.resetThreadScheduler(True)


def test_extreme_plans_of_a_peak_instance_pay_what_take_or_pay_asks():
    """For peak_cumulative_loss the peak alone leaves the years after it free to burn
    money (a charge above take-or-pay's): the extreme plans run the second stage as
    planner solve does, so the independent check (charge = max(spend, min_spend)) holds."""
    from planner.instance.loading import load_document

    data = dict(load_document(OPENAI).data, objective="peak_cumulative_loss")
    inst = validate_instance(data)
    result = alternatives(inst, 0.05, plans=True)
    assert result.plans
    for key, plan in result.plans.items():
        assert check_tables(inst, plan.tables, plan.summary) == [], key
        assert plan.objective_value <= first_stage_hold(result.meta["bound"]) + 1e-9
        # the rest of the plan is what planner solve chooses for the same signings and builds
        fixed = solve_plan(inst, fix=decisions(inst, plan.tables["procurement"]))
        assert fixed.status == "optimal"
        assert plan.summary["cumulative_loss"] == pytest.approx(fixed.summary["cumulative_loss"], rel=1e-7, abs=1e-7), key


def decisions(inst, procurement) -> dict:
    """Every signing and build of the plan whose procurement.csv this is (0 when absent),
    as planner.solver.highs.solve's ``fix`` takes them."""
    bought = {(r.provider, r.source, int(r.year)): float(r.capacity) for r in procurement.itertuples()}
    fix = {}
    for p, prov in inst.providers.items():
        for k in prov.contracts:
            for s in inst.signing_years(p, k):
                fix[("c", p, k, s)] = bought.get((p, k, s), 0.0)
        if prov.build is not None:
            for s in inst.year_list:
                fix[("b", p, s)] = bought.get((p, "build", s), 0.0)
    return fix


def test_an_interruption_before_the_first_provider_writes_nothing(tmp_path, monkeypatch):
    from planner.tradeoffs import alternatives as module

    def interrupted(self, p, keep):
        raise KeyboardInterrupt

    monkeypatch.setattr(module.NearOptimal, "ranges", interrupted)
    path = tmp_path / "one.json"
    path.write_text(json.dumps(TOY))
    result = CliRunner().invoke(cli_app, ["alternatives", str(path), "--slack", "0.5", "--out", str(tmp_path / "a")])
    assert result.exit_code == 130 and "interrupted; nothing was written" in result.output
    assert not (tmp_path / "a").exists()
