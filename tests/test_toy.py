"""instances/toy.yaml: the optimum worked out by hand in the README."""

from pathlib import Path

import pytest

import planner
from planner.results.check import check_tables

TOY = Path(__file__).resolve().parents[1] / "instances" / "toy.yaml"


@pytest.fixture(scope="module")
def plan():
    return planner.solve(TOY)


def signed(plan, provider, source, year):
    rows = plan.procurement.query("provider == @provider and source == @source and year == @year")
    return float(rows["capacity"].sum())


def test_objective_and_summary(plan):
    assert plan.status == "optimal"
    assert plan.objective_value == pytest.approx(-0.7, abs=1e-9)
    s = plan.summary
    assert s["cumulative_loss"] == pytest.approx(-0.7, abs=1e-9)
    assert s["peak_cumulative_loss"] == pytest.approx(5.2, abs=1e-9)
    assert s["final_cash"] == pytest.approx(15.7, abs=1e-9)
    assert s["commitments_after_horizon"] == pytest.approx(3.4, abs=1e-9)


def test_decisions(plan):
    assert signed(plan, "microsoft", "on_demand", 2025) == pytest.approx(1.0)
    assert signed(plan, "microsoft", "on_demand", 2026) == pytest.approx(1.4)  # take-or-pay's worth
    assert signed(plan, "stargate", "lease", 2026) == pytest.approx(1.6)
    assert signed(plan, "microsoft", "on_demand", 2027) == pytest.approx(0.7)  # gradual decline
    assert signed(plan, "stargate", "lease", 2027) == pytest.approx(1.7)


def test_per_year_figures(plan):
    fin = plan.finance.set_index("year")
    assert list(fin["loss"]) == pytest.approx([5.0, 0.2, -5.9])
    assert list(fin["cash"]) == pytest.approx([10.0, 9.8, 15.7])
    assert list(fin["revenue"]) == pytest.approx([6.0, 12.0, 18.0])
    cap = plan.capacity.pivot(index="year", columns="provider", values="active")
    assert list(cap["microsoft"]) == pytest.approx([2.0, 1.4, 0.7])
    assert list(cap["stargate"]) == pytest.approx([0.0, 1.6, 3.3])
    charge = plan.capacity.set_index(["year", "provider"])["charge"]
    assert charge[2026, "microsoft"] == pytest.approx(7.0)
    assert check_tables(plan.instance, plan.tables, plan.summary) == []
