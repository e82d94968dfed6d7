"""Uncertainty (MODEL.md §5): cases, a committed plan, CVaR, and the value of information."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import planner
from planner.cli import app
from planner.results.summary import cvar
from planner.solver.value import value_of_information

from .conftest import write_yaml
from .strategies import instances

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

#: Costs that decisions cannot change: L_n = 3 × other_costs of the case.
FIXED = {
    "name": "fixed",
    "years": [2025, 2027],
    "finance": {"initial_cash": 100.0, "other_costs": 1.0},
    "workloads": {"training": {"demand": 0.0}},
    "providers": {"cloud": {"contracts": {"rent": {"term": 1, "price": 1.0}}}},
}

#: One decision that matters: how much of a 3-year contract to sign in 2025.
SMALL = {
    "name": "small",
    "years": [2025, 2027],
    "finance": {"initial_cash": 100.0},
    "workloads": {"training": {"demand": 1.0}, "inference": {"demand": 2.0, "min_served": 0.0, "revenue": 5.0}},
    "providers": {"cloud": {"capacity": 3.0, "contracts": {"spot": {"term": 1, "price": 4.0},
                                                           "reserved": {"term": 3, "price": 2.0}}}},
}


def with_scenarios(base: dict, cases: dict, commit_years=None, weight=0.0, alpha=0.9) -> dict:
    data = copy.deepcopy(base)
    data["scenarios"] = {"risk": {"alpha": alpha, "weight": weight}, "cases": cases}
    if commit_years is not None:
        data["scenarios"]["commit_years"] = commit_years
    return data


def test_one_case_with_probability_one_is_the_plain_instance():
    for objective in ("cumulative_loss", "peak_cumulative_loss"):
        plain = planner.solve(SMALL, objective=objective)
        one = planner.solve(with_scenarios(SMALL, {"only": {"probability": 1.0}}), objective=objective)
        assert one.objective_value == pytest.approx(plain.objective_value, abs=1e-9)
        assert one.summary["cases"]["only"]["cumulative_loss"] == pytest.approx(plain.summary["cumulative_loss"])
        assert list(one.procurement["capacity"]) == pytest.approx(list(plain.procurement["capacity"]))


def test_hand_computed_cvar_on_three_cases():
    """L = 3·other_costs: a 3 (p 0.5), b 6 (p 0.3), c 12 (p 0.2). E = 1.5 + 1.8 + 2.4 = 5.7.
    CVaR at α = 0.7 is the mean of the worst 30 %: (0.2·12 + 0.1·6) / 0.3 = 10.
    With λ = 0.5 the objective is 0.5·5.7 + 0.5·10 = 7.85."""
    data = with_scenarios(FIXED, {
        "a": {"probability": 0.5},
        "b": {"probability": 0.3, "set": {"finance.other_costs": 2.0}},
        "c": {"probability": 0.2, "set": {"finance.other_costs": 4.0}},
    }, weight=0.5, alpha=0.7)
    plan = planner.solve(data)
    assert plan.summary["expected_objective"] == pytest.approx(5.7)
    assert plan.summary["cvar"] == pytest.approx(10.0)
    assert plan.objective_value == pytest.approx(7.85)
    assert cvar([3, 6, 12], [0.5, 0.3, 0.2], 0.7) == pytest.approx(10.0)
    assert planner.check_plan(plan) == []


def test_hand_computed_committed_plan_and_value_of_information():
    """SMALL with inference earning 5 (base, p 0.6) or 1 (bust, p 0.4), 2025 committed.

    Wait and see, by hand: alone, base signs 3 GW reserved in 2025 (3 years at 2) and serves
    all 3 units a year: cost 6, revenue 10, L = −12; bust serves only training on 1 GW
    reserved: L = 3·2 = 6. WS = 0.6·(−12) + 0.4·6 = −4.8.
    The stochastic plan shares its 2025 signings between the cases (checked below), its
    objective is the probability-weighted sum of the cases' (λ = 0), and EVPI, VSS ≥ 0."""
    data = with_scenarios(SMALL, {
        "base": {"probability": 0.6},
        "bust": {"probability": 0.4, "set": {"workloads.inference.revenue": 1.0}},
    }, commit_years=1)
    inst = planner.load_instance(data)
    figures = value_of_information(inst)
    assert figures["wait_and_see"] == pytest.approx(-4.8)
    plan = planner.solve(inst)
    cases = plan.summary["cases"]
    assert plan.objective_value == pytest.approx(0.6 * cases["base"]["objective_value"] + 0.4 * cases["bust"]["objective_value"])
    assert figures["evpi"] >= -1e-9
    assert figures["vss"] >= -1e-9
    committed = plan.procurement.query("year == 2025")
    for case in ("base", "bust"):
        rows = committed[committed["case"] == case].set_index(["source"])["capacity"]
        assert dict(rows) == pytest.approx(dict(committed[committed["case"] == "base"].set_index("source")["capacity"]))


def test_lambda_one_alpha_zero_is_the_expected_value():
    cases = {"a": {"probability": 0.7}, "b": {"probability": 0.3, "set": {"workloads.inference.revenue": 1.0}}}
    expected = planner.solve(with_scenarios(SMALL, cases, commit_years=2, weight=0.0))
    tail = planner.solve(with_scenarios(SMALL, cases, commit_years=2, weight=1.0, alpha=0.0))
    assert tail.objective_value == pytest.approx(expected.objective_value, abs=1e-7)


def scaled(series, factor):
    if isinstance(series, dict):
        return {key: round(value * factor, 6) for key, value in series.items()}
    return round(series * factor, 6)


@st.composite
def scenario_instances(draw):
    """A random valid instance with 2-3 cases that scale its workloads' demand and revenue."""
    data = draw(instances())
    n = draw(st.integers(2, 3))
    weights = draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
    cases = {}
    for i in range(n):
        sets = {}
        for w, wl in data["workloads"].items():
            if draw(st.booleans()):
                sets[f"workloads.{w}.demand"] = scaled(wl["demand"], draw(st.sampled_from([0.5, 0.8, 1.2, 1.5])))
            if "revenue" in wl and draw(st.booleans()):
                sets[f"workloads.{w}.revenue"] = scaled(wl["revenue"], draw(st.sampled_from([0.5, 1.5])))
        cases[f"case{i}"] = {"probability": weights[i] / sum(weights), "set": sets}
    total = sum(c["probability"] for c in cases.values())
    cases["case0"]["probability"] += 1 - total
    years = data["years"][1] - data["years"][0] + 1
    data["scenarios"] = {
        "commit_years": draw(st.integers(0, years)),
        "risk": {"alpha": draw(st.sampled_from([0.0, 0.5, 0.9])), "weight": draw(st.sampled_from([0.0, 0.3, 1.0]))},
        "cases": cases,
    }
    return data


@FAST
@given(data=scenario_instances())
def test_each_case_passes_the_recomputation_check(data):
    plan = planner.solve(data)
    assume(plan.status == "optimal")
    assert planner.check_plan(plan) == []


@FAST
@given(data=scenario_instances())
def test_committing_more_years_never_lowers_the_objective(data):
    scen = data["scenarios"]
    years = data["years"][1] - data["years"][0] + 1
    assume(scen["commit_years"] < years)
    looser = planner.solve(data)
    assume(looser.status == "optimal")
    tighter_data = copy.deepcopy(data)
    tighter_data["scenarios"]["commit_years"] += 1
    tighter = planner.solve(tighter_data)
    if tighter.status == "optimal":
        assert tighter.objective_value >= looser.objective_value - 1e-6 * max(1, abs(looser.objective_value))


@FAST
@given(data=scenario_instances())
def test_adding_a_case_never_lowers_the_worst_case_objective(data):
    """With λ = 1 and α ≥ 1 − the smallest probability, CVaR is the worst case's objective;
    a plan that must also serve one more case can only do worse."""
    cases = data["scenarios"]["cases"]
    names = list(cases)
    fewer = copy.deepcopy(data)
    dropped = fewer["scenarios"]["cases"].pop(names[-1])
    rest = 1 - dropped["probability"]
    for case in fewer["scenarios"]["cases"].values():
        case["probability"] /= rest
    for d in (data, fewer):
        smallest = min(c["probability"] for c in d["scenarios"]["cases"].values())
        d["scenarios"]["risk"] = {"weight": 1.0, "alpha": max(0.0, 1 - smallest / 2)}
    assume(abs(sum(c["probability"] for c in fewer["scenarios"]["cases"].values()) - 1) < 1e-9)
    small = planner.solve(fewer)
    assume(small.status == "optimal")
    large = planner.solve(data)
    if large.status == "optimal":
        assert large.objective_value >= small.objective_value - 1e-6 * max(1, abs(small.objective_value))


def test_commit_zero_and_lambda_zero_is_the_weighted_sum_of_cases_alone():
    cases = {
        "a": {"probability": 0.25},
        "b": {"probability": 0.75, "set": {"workloads.inference.revenue": 1.0, "providers.cloud.capacity": 2.0}},
    }
    inst = planner.load_instance(with_scenarios(SMALL, cases, commit_years=0))
    together = planner.solve(inst)
    alone = sum(inst.scenarios.cases[n].probability * planner.solve(case).objective_value for n, case in inst.cases.items())
    assert together.objective_value == pytest.approx(alone, abs=1e-7)


@pytest.mark.parametrize("sets, path, expected", [
    ({"providers.cloud.contracts.spot.term": 2}, "scenarios.cases.b.set.providers.cloud.contracts.spot.term", "may not change"),
    ({"years": [2025, 2026]}, "scenarios.cases.b.set.years", "may not change"),
    ({"workloads.research.demand": 1.0}, "scenarios.cases.b.set.workloads.research.demand", "may not add"),
    ({"providers.cloud.build.capex": 1.0}, "scenarios.cases.b.set.providers.cloud.build.capex", "may not add"),
    ({"providers.cloud.capacity": -1.0}, "scenarios.cases.b.set.providers.cloud.capacity", ">= 0"),
    ({"providers.cloud.capacity": {2025: 1.0}}, "scenarios.cases.b.set.providers.cloud.capacity", "no value for planning year"),
])
def test_bad_set_paths_are_named(sets, path, expected):
    data = with_scenarios(SMALL, {"a": {"probability": 0.5}, "b": {"probability": 0.5, "set": sets}})
    with pytest.raises(planner.InstanceError) as err:
        planner.load_instance(data)
    assert err.value.problems[0][0] == path
    assert expected in err.value.problems[0][1]


def test_probabilities_must_sum_to_one():
    data = with_scenarios(SMALL, {"a": {"probability": 0.5}, "b": {"probability": 0.4}})
    with pytest.raises(planner.InstanceError) as err:
        planner.load_instance(data)
    assert err.value.problems == [("scenarios.cases", "probabilities must sum to 1 (±1e-9), they sum to 0.9")]


def test_infeasible_case_is_named_by_the_diagnosis():
    data = with_scenarios(SMALL, {
        "a": {"probability": 0.5},
        "b": {"probability": 0.5, "set": {"providers.cloud.capacity": {2025: 3.0, 2026: 3.0, 2027: 0.5}}},
    }, commit_years=1)
    diagnosis = planner.diagnose(data)
    assert diagnosis.status == "infeasible"
    assert list(diagnosis.table["case"]) == ["b"]
    assert "case b" in diagnosis.render()


def test_cli_prints_cases_and_committed_plan_and_value(tmp_path):
    data = with_scenarios(SMALL, {
        "base": {"probability": 0.6},
        "bust": {"probability": 0.4, "set": {"workloads.inference.revenue": 1.0}},
    }, commit_years=1, weight=0.5, alpha=0.5)
    path = write_yaml(tmp_path, data, "cases.yaml")
    runner = CliRunner()
    solved = runner.invoke(app, ["solve", str(path), "--out", str(tmp_path / "out")])
    assert solved.exit_code == 0, solved.output
    assert "base" in solved.stdout and "bust" in solved.stdout
    assert "Committed plan (2025, shared by every case)" in solved.stdout
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert set(summary["cases"]) == {"base", "bust"} and summary["commit_years"] == 1
    assert "cvar" in summary and "expected_objective" in summary
    assert (tmp_path / "out" / "finance.csv").read_text().startswith("case,year,")
    valued = runner.invoke(app, ["value", str(path), "--out", str(tmp_path / "out" / "value.json")])
    assert valued.exit_code == 0, valued.output
    figures = json.loads((tmp_path / "out" / "value.json").read_text())
    assert figures["evpi"] == pytest.approx(figures["recourse_problem"] - figures["wait_and_see"])
    assert "EVPI" in valued.stdout
