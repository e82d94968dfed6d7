"""``planner frontier``: the price of capping one provider's share (docs/tradeoffs.md).

The toy below is worked out by hand. Two providers rent capacity for a year at a time:
``a`` at 1 and ``b`` at 2 a unit, ``b`` at most 6 units; the workload needs 10 compute
units each year (efficiency 1), so the optimum rents 10 at ``a`` each year (cost 10 a
year, a's share 100 %). Capping a's 2026 share at ε ≥ 0.4 rents 10ε at a and 10(1−ε) at
b that year: the objective is 10 + 10ε + 20(1−ε) = 30 − 10ε. Below 0.4, b cannot supply
the rest: no plan, so the smallest cap is 0.4. The cap's shadow price is
−d objective/dε = 10 (0.1 a percentage point).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

import planner
from planner.cli import app as cli_app
from planner.instance.loading import load_document, validate_instance
from planner.results.files import FRONTIER_COLUMNS, FRONTIER_CSV, FRONTIER_JSON, FRONTIER_PNG, frontier_columns
from planner.tradeoffs.common import TradeoffError
from planner.tradeoffs.frontier import TOLERANCE, CapSearch, frontier, knee, parse_share

from .strategies import instances

ROOT = Path(__file__).resolve().parents[1]
OPENAI = ROOT / "instances" / "openai-2025.yaml"

TOY = {
    "name": "two",
    "years": [2025, 2026],
    "workloads": {"w": {"demand": 10.0}},
    "finance": {"initial_cash": 1000.0},
    "providers": {
        "a": {"contracts": {"rent": {"term": 1, "price": 1.0}}},
        "b": {"capacity": 6.0, "contracts": {"rent": {"term": 1, "price": 2.0}}},
    },
}


def capped(data: dict, provider: str, caps: dict) -> planner.Instance:
    """The instance with the caps written into its max_share, validated as a file is."""
    data = json.loads(json.dumps(data))
    data["providers"][provider]["max_share"] = caps
    return validate_instance(data)


@pytest.mark.parametrize("objective", ["cumulative_loss", "peak_cumulative_loss"])
def test_the_toy_frontier_is_the_one_worked_out_by_hand(objective):
    inst = validate_instance({**TOY, "objective": objective})
    result = frontier(inst, "a@2026", points=4)
    assert result.complete and result.status == "optimal"
    smallest = result.meta["smallest_cap"]
    assert 0.4 <= smallest <= 0.4 + TOLERANCE
    assert result.meta["optimum_share"] == pytest.approx(1.0)
    caps = [row["max_share"] for row in result.rows]
    assert caps == pytest.approx([1.0, 1.0 - (1 - smallest) / 3, 1.0 - 2 * (1 - smallest) / 3, smallest], abs=1e-12)
    for row in result.rows:
        eps = row["max_share"]
        assert row["objective"] == pytest.approx(30 - 10 * eps, abs=1e-8)
        assert row["share_a"] == pytest.approx(eps, abs=1e-8)
        assert row["share_b"] == pytest.approx(1 - eps, abs=1e-8)
    for row in result.rows[1:-1]:  # inside the range the derivative is unique
        assert row["shadow_price"] == pytest.approx(10.0, rel=1e-8)
        assert row["cost_per_point"] == pytest.approx(0.1, rel=1e-8)
    assert result.meta["knee"] is None  # a straight line has no knee


def test_no_cap_below_the_smallest_has_a_plan():
    inst = validate_instance(TOY)
    smallest = frontier(inst, "a@2026", points=2).meta["smallest_cap"]
    assert planner.solve(capped(TOY, "a", {2025: 1.0, 2026: smallest})).status == "optimal"
    assert planner.solve(capped(TOY, "a", {2025: 1.0, 2026: smallest - TOLERANCE})).status == "infeasible"


def test_a_cap_that_can_reach_zero_ends_at_zero():
    data = json.loads(json.dumps(TOY))
    del data["providers"]["b"]["capacity"]
    result = frontier(validate_instance(data), "a", points=3)
    assert result.meta["smallest_cap"] == 0.0
    assert [r["objective"] for r in result.rows] == pytest.approx([20.0, 30.0, 40.0], abs=1e-8)


@pytest.mark.parametrize("share", ["stargate@2029-2030", "microsoft@2030"])
def test_every_point_is_the_optimum_of_the_instance_with_its_cap_written_in(share):
    document = load_document(OPENAI)
    inst = document.instance
    result = frontier(inst, share, points=5)
    provider, years = parse_share(share, inst)
    given = inst.providers[provider].max_share
    objectives = []
    for row in result.rows:
        caps = {t: (min(given[t] if given else 1.0, row["max_share"]) if t in years else (given[t] if given else 1.0))
                for t in inst.year_list}
        plain = planner.solve(capped(document.data, provider, caps))
        assert plain.status == "optimal"
        assert row["objective"] == pytest.approx(plain.objective_value, rel=1e-7, abs=1e-7)
        objectives.append(row["objective"])
    # the frontier never falls as the cap tightens (the rows go from loose to tight)
    assert all(b >= a - 1e-7 * max(1, abs(a)) for a, b in zip(objectives, objectives[1:]))
    assert result.rows[0]["objective"] == pytest.approx(planner.solve(inst).objective_value, rel=1e-9)


def test_the_shadow_price_is_the_derivative_of_the_objective_in_the_cap():
    """On openai-2025 the cap's shadow price lies between the one-sided finite
    differences of the objective (δ = 1e-5) at caps across the frontier; a wrong sign,
    unit or year would not (the frontier is not convex in the cap: the slopes between
    grid points are no check)."""
    inst = planner.load_instance(OPENAI)
    search = CapSearch(inst, "stargate", [2029, 2030], None, planner.solve(inst))
    delta = 1e-5
    for eps in (0.72, 0.66, 0.6489, 0.62, 0.59):
        here = search.point(0, eps, False)[0]
        tighter = search.point(0, eps - delta, False)[0]["objective"]
        looser = search.point(0, eps + delta, False)[0]["objective"]
        low, high = sorted(((tighter - here["objective"]) / delta, (here["objective"] - looser) / delta))
        assert low * (1 - 1e-3) - 1e-6 <= here["shadow_price"] <= high * (1 + 1e-3) + 1e-6, (eps, low, high)
        assert here["cost_per_point"] == pytest.approx(here["shadow_price"] / 100, rel=1e-12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=instances())
def test_random_frontiers_rise_as_the_cap_tightens_and_match_plain_solves(data):
    inst = planner.load_instance(data)
    provider = list(inst.providers)[0]
    try:
        result = frontier(inst, provider, points=3)
    except TradeoffError:
        return
    if result.status != "optimal":
        return
    objectives = [row["objective"] for row in result.rows]
    assert all(b >= a - 1e-6 * max(1, abs(a)) for a, b in zip(objectives, objectives[1:]))
    last = result.rows[-1]
    given = inst.providers[provider].max_share
    caps = {t: min(given[t] if given else 1.0, last["max_share"]) for t in inst.year_list}
    plain = planner.solve(capped(data, provider, caps))
    assert plain.status == "optimal"
    assert last["objective"] == pytest.approx(plain.objective_value, rel=1e-6, abs=1e-6)


def test_the_knee_is_the_point_farthest_below_the_chord():
    rows = [{"point": i, "max_share": x, "objective": y}
            for i, (x, y) in enumerate([(1.0, 0.0), (0.75, 0.1), (0.5, 0.3), (0.25, 3.0), (0.0, 10.0)])]
    assert knee(rows) == 2
    assert knee(rows[:2]) is None
    flat = [{**r, "objective": 5.0} for r in rows]
    assert knee(flat) is None


def test_bad_requests_are_refused_with_what_to_do():
    inst = planner.load_instance(OPENAI)
    with pytest.raises(TradeoffError, match="unknown provider 'google'"):
        frontier(inst, "google")
    with pytest.raises(TradeoffError, match="within the planning years"):
        frontier(inst, "stargate@2031")
    with pytest.raises(TradeoffError, match="PROVIDER@YEAR"):
        frontier(inst, "stargate@soon")
    with pytest.raises(TradeoffError, match="at least 2 points"):
        frontier(inst, "stargate", points=1)
    uncertain = planner.load_instance(ROOT / "instances" / "openai-2025-uncertain.yaml")
    with pytest.raises(TradeoffError, match="Remove the scenarios block"):
        frontier(uncertain, "stargate")


def test_the_python_api_returns_the_table():
    table = planner.frontier(validate_instance(TOY), "a@2026", points=3)
    assert list(table.columns) == frontier_columns(["a", "b"])
    assert table.attrs["provider"] == "a" and table.attrs["complete"] is True
    assert list(table["objective"]) == pytest.approx([20.0, 20.0 + 3.0, 26.0], abs=1e-3)


def test_the_command_writes_the_folder(tmp_path):
    runner = CliRunner()
    instance = tmp_path / "two.json"
    instance.write_text(json.dumps(TOY))
    out = tmp_path / "f"
    result = runner.invoke(cli_app, ["frontier", str(instance), "--share", "a@2026", "--points", "3", "--out", str(out),
                                     "--plans"])
    assert result.exit_code == 0, result.output
    assert "Wrote 3 points and their plans" in result.output
    import pandas as pd

    table = pd.read_csv(out / FRONTIER_CSV)
    assert list(table.columns) == frontier_columns(["a", "b"])
    assert set(FRONTIER_COLUMNS) <= set(table.columns)
    meta = json.loads((out / FRONTIER_JSON).read_text())
    assert meta["kind"] == "frontier" and meta["complete"] is True and meta["years"] == [2026]
    assert (out / FRONTIER_PNG).read_bytes().startswith(b"\x89PNG")
    from planner.results.check import check_folder

    inst = validate_instance(TOY)
    for i in range(3):
        plan = out / "plans" / f"point-{i:02d}"
        summary = json.loads((plan / "summary.json").read_text())
        assert summary["objective_value"] == pytest.approx(table["objective"][i], rel=1e-12)
        variant = capped(TOY, "a", {2025: 1.0, 2026: float(table["max_share"][i])})
        assert check_folder(variant, plan) == []
    assert check_folder(inst, out / "plans" / "point-00") == []
    # a rerun replaces the folder (its own files and plans/ are the planner's)
    again = runner.invoke(cli_app, ["frontier", str(instance), "--share", "a@2026", "--points", "2", "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert not (out / "plans").exists() and len(pd.read_csv(out / FRONTIER_CSV)) == 2


def test_the_command_exit_codes(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(cli_app, ["frontier", str(OPENAI), "--share", "google", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "unknown provider" in bad.output
    infeasible = json.loads(json.dumps(TOY))
    infeasible["providers"]["a"]["capacity"] = 1.0
    path = tmp_path / "no.json"
    path.write_text(json.dumps(infeasible))
    result = runner.invoke(cli_app, ["frontier", str(path), "--share", "a", "--out", str(tmp_path / "y")])
    assert result.exit_code == 1 and "infeasible" in result.output
    assert not (tmp_path / "y").exists()
    foreign = tmp_path / "z"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    refused = runner.invoke(cli_app, ["frontier", str(OPENAI), "--share", "stargate", "--out", str(foreign)])
    assert refused.exit_code == 2 and "did not write" in refused.output
    assert (foreign / "notes.txt").read_text() == "mine"


def test_provider_names_with_at_signs_and_dots(tmp_path):
    """A provider named ``b@y`` is addressed whole (and ``b@y@2026`` caps its 2026); one
    named ``a.x`` cannot be a dotted path: refused with what to do, never a crash."""
    data = json.loads(json.dumps(TOY))
    data["providers"]["b@y"] = data["providers"].pop("b")
    inst = validate_instance(data)
    assert parse_share("b@y", inst) == ("b@y", [2025, 2026])
    assert parse_share("b@y@2026", inst) == ("b@y", [2026])
    dotted = json.loads(json.dumps(TOY))
    dotted["providers"]["a.x"] = dotted["providers"].pop("a")
    with pytest.raises(TradeoffError, match="holds a '.'"):
        frontier(validate_instance(dotted), "a.x")


def test_an_interruption_before_the_first_point_writes_nothing(tmp_path, monkeypatch):
    from planner.tradeoffs import frontier as module

    def interrupted(self, i, eps, plan):
        raise KeyboardInterrupt

    monkeypatch.setattr(module.CapSearch, "point", interrupted)
    path = tmp_path / "two.json"
    path.write_text(json.dumps(TOY))
    result = CliRunner().invoke(cli_app, ["frontier", str(path), "--share", "a", "--out", str(tmp_path / "f")])
    assert result.exit_code == 130 and "interrupted; nothing was written" in result.output
    assert not (tmp_path / "f").exists()
