"""instances/openai-2025*.yaml reproduce the public story (docs/sources.md) within reason."""

from __future__ import annotations

from pathlib import Path

import pytest

import planner

INSTANCES = Path(__file__).resolve().parents[1] / "instances"


@pytest.fixture(scope="module")
def plans():
    names = ["", "-stargate-delayed", "-no-softbank", "-microsoft-share", "-cheap-inference"]
    return {name.lstrip("-") or "base": planner.solve(INSTANCES / f"openai-2025{name}.yaml") for name in names}


def active(plan, year):
    cap = plan.capacity
    return cap[cap["year"] == year].set_index("provider")["active"]


def test_every_variant_solves_and_recomputes(plans):
    for name, plan in plans.items():
        assert plan.status == "optimal", name
        assert planner.check_plan(plan) == [], name


def test_losses_are_about_20_billion_in_2027(plans):
    loss = plans["base"].finance.set_index("year")["loss"]
    assert 10 <= loss[2027] <= 30  # S5, S15: ~$20B in 2027
    cumulative = plans["base"].finance.set_index("year")["cumulative_loss"]
    assert 80 <= cumulative[2029] <= 130  # S11: ~$115B burn through 2029
    assert loss[2030] < 0  # S11: free cash flow from 2030


def test_stargate_carries_most_compute_by_2030(plans):
    share = active(plans["base"], 2030) / active(plans["base"], 2030).sum()
    assert share.idxmax() == "stargate"
    assert 0.65 <= share["stargate"] <= 0.85  # S1: about three quarters
    # the gradual transition (S2): Stargate overtakes Microsoft in 2027, not before
    assert active(plans["base"], 2026)["microsoft"] > active(plans["base"], 2026)["stargate"]
    assert active(plans["base"], 2027)["stargate"] > active(plans["base"], 2027)["microsoft"]


def test_inference_overtakes_training_by_2030(plans):
    served = plans["base"].service.query("year == 2030").set_index("workload")["served"]
    assert served["inference"] > 2 * served["training"]  # S15


def test_microsoft_spend_still_rises_to_2028(plans):
    cap = plans["base"].capacity.query("provider == 'microsoft'").set_index("year")["charge"]
    assert list(cap.loc[2025:2028]) == sorted(cap.loc[2025:2028])  # S2
    assert 20 <= cap[2028] <= 35  # S3: ~$28B in 2028


def test_scenarios_move_the_plan_the_right_way(plans):
    base = plans["base"].summary["objective_value"]
    assert plans["stargate-delayed"].summary["objective_value"] > base
    assert plans["microsoft-share"].summary["objective_value"] > base
    assert plans["no-softbank"].summary["objective_value"] > base
    assert plans["cheap-inference"].summary["objective_value"] < base
    delayed = active(plans["stargate-delayed"], 2028)
    assert delayed["stargate"] < active(plans["base"], 2028)["stargate"]
    ms = active(plans["microsoft-share"], 2030)
    assert ms["microsoft"] / ms.sum() >= 0.35 - 1e-9
    assert plans["no-softbank"].finance["debt"].max() > plans["base"].finance["debt"].iloc[:-1].max()
