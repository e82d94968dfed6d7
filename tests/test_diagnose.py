"""Infeasibility diagnosis (MODEL.md §4): one instance infeasible for each hard family.

Each instance is built so that one constraint must give, by an amount worked out by
hand; the diagnosis must name that family, year, provider or workload and amount, and
applying its suggested change must make the instance feasible.
"""

from __future__ import annotations

import copy

import pytest
from typer.testing import CliRunner

import planner
from planner.cli import app
from planner.solver.diagnosis import apply_change

from .conftest import write_yaml

BASE = {
    "name": "stuck",
    "units": {"money": "USD billion", "capacity": "GW"},
    "years": [2025, 2027],
    "finance": {"initial_cash": 100.0},
    "workloads": {"training": {"demand": 1.0, "min_served": 0.0}},
    "providers": {"cloud": {"contracts": {"rent": {"term": 1, "price": 1.0}}}},
}


def instance(**changes) -> dict:
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        target = data
        *parents, name = path.split("__")
        for part in parents:
            target = target.setdefault(part, {})
        target[name] = value
    return data


CASES = {
    # training needs 2 units in 2027 but the cloud has 1.5 GW: short by 0.5; lowering the
    # service floor (weight 2 per unit) beats raising capacity (weight 3).
    "service_floor": (
        instance(workloads={"training": {"demand": {"2025-2026": 0.0, 2027: 2.0}}},
                 providers={"cloud": {"capacity": 1.5, "contracts": {"rent": {"term": 1, "price": 1.0}}}}),
        {"family": "service_floor", "year": 2027, "workload": "training", "amount": 0.5},
    ),
    # no cash: 3 of other costs every year, nothing earned; the gap lasts, so it is cash
    # to find (3 in 2025, 3 in 2026, 3 in 2027: one change of 9 in 2025).
    "minimum_cash": (
        instance(finance={"initial_cash": 0.0, "other_costs": {2025: 3.0, "2026-2027": 0.0}}),
        {"family": "minimum_cash", "year": 2025, "amount": 3.0},
    ),
    # a one-year gap that 2026's revenue repays: borrowing 3 in 2025, 2 over the limit of 1
    # (weight 0.6 × 2), beats 2 of new cash (weight 1 × 2).
    "debt_limit": (
        instance(finance={"initial_cash": 0.0, "other_costs": {2025: 3.0, "2026-2027": 0.0},
                          "base_revenue": {2025: 0.0, "2026-2027": 10.0}, "debt": {"limit": 1.0}}),
        {"family": "debt_limit", "year": 2025, "amount": 2.0},
    ),
    # 3 GW signed before 2025 but the cloud may hold only 2 in 2025: nothing else helps.
    "provider_capacity": (
        instance(providers={"cloud": {"existing": {2025: 3.0, "2026-2027": 0.0},
                                      "capacity": 2.0, "contracts": {"rent": {"term": 1, "price": 1.0}}}}),
        {"family": "provider_capacity", "year": 2025, "provider": "cloud", "amount": 1.0},
    ),
    # at least 2 GW in 2026, but at most 1.25: the requirement gives (0.75), not the limit.
    "minimum_capacity": (
        instance(providers={"cloud": {"min_capacity": {2026: 2.0, 2025: 0.0, 2027: 0.0}, "capacity": 1.25,
                                      "contracts": {"rent": {"term": 1, "price": 1.0}}}}),
        {"family": "minimum_capacity", "year": 2026, "provider": "cloud", "amount": 0.75},
    ),
    # old holds 3 GW in 2025; new (at most 1 GW) must have half of all: 1 + s ≥ 0.5·(3 + 1).
    "min_share": (
        instance(providers={
            "old": {"existing": {2025: 3.0, "2026-2027": 0.0}},
            "new": {"capacity": 1.0, "min_share": 0.5, "contracts": {"rent": {"term": 1, "price": 1.0}}},
        }),
        {"family": "min_share", "year": 2025, "provider": "new", "amount": 1.0},
    ),
    # old holds 3 GW in 2025 and may have at most half: 3 − s ≤ 0.5·(3 + 1).
    "max_share": (
        instance(providers={
            "old": {"existing": {2025: 3.0, "2026-2027": 0.0}, "max_share": 0.5},
            "new": {"capacity": 1.0, "contracts": {"rent": {"term": 1, "price": 1.0}}},
        }),
        {"family": "max_share", "year": 2025, "provider": "old", "amount": 1.0},
    ),
    # 4 GW in 2025 may fall by half, to ≥ 2 in 2026, but only 1 GW may be held then.
    "gradual_decline": (
        instance(providers={"cloud": {"existing": {2025: 4.0, "2026-2027": 0.0}, "max_decline": 0.5,
                                      "capacity": {2025: 4.0, "2026-2027": 1.0},
                                      "contracts": {"rent": {"term": 1, "price": 1.0}}}}),
        {"family": "gradual_decline", "year": 2026, "provider": "cloud", "amount": 1.0},
    ),
    # 2 GW needed every year of 2025-2028 from one 4-year contract that may sign 1 GW, only
    # in 2025: signing 1 more in 2025 (weight 3) beats 1 GW short in each of 4 years (4).
    "contract_max_per_year": (
        instance(years=[2025, 2028], providers={"cloud": {"min_capacity": 2.0, "contracts": {
            "reserved": {"term": 4, "price": 1.0, "max_per_year": {2025: 1.0, "2026-2028": 0.0}}}}}),
        {"family": "contract_max_per_year", "year": 2025, "provider": "cloud", "contract": "reserved", "amount": 1.0},
    ),
    "build_max_per_year": (
        instance(years=[2025, 2028], providers={"cloud": {"min_capacity": 2.0, "build": {
            "capex": 1.0, "max_per_year": {2025: 1.0, "2026-2028": 0.0}}}}),
        {"family": "build_max_per_year", "year": 2025, "provider": "cloud", "amount": 1.0},
    ),
}


@pytest.mark.parametrize("family", list(CASES))
def test_each_family_is_diagnosed_and_the_change_fixes_it(family):
    data, expected = CASES[family]
    inst = planner.load_instance(data)
    assert planner.solve(inst).status == "infeasible"
    diagnosis = planner.diagnose(inst)
    assert diagnosis.status == "infeasible"
    table = diagnosis.table
    assert len(table) >= 1
    first = table.iloc[0]
    for column, value in expected.items():
        if column == "amount":
            assert first[column] == pytest.approx(value, abs=1e-6), table
        else:
            assert first[column] == value, table
    assert set(table["family"]) == {family}, table
    fixed = inst
    for change in diagnosis.changes:
        fixed = apply_change(fixed, change)
    assert planner.solve(fixed).status == "optimal"


def test_single_change_is_the_suggestion():
    data, _ = CASES["provider_capacity"]
    diagnosis = planner.diagnose(data)
    assert len(diagnosis.table) == 1
    change = diagnosis.suggestion
    assert change.path == "providers.cloud.capacity" and change.year == 2025
    assert change.value == pytest.approx(3.0, abs=1e-5)
    assert "raise cloud capacity in 2025 by 1.00 GW" in diagnosis.render()
    assert planner.solve(apply_change(planner.load_instance(data), change)).status == "optimal"


def test_lasting_cash_gap_is_one_funding_change():
    data = instance(finance={"initial_cash": 0.0, "other_costs": 3.0})
    diagnosis = planner.diagnose(data)
    assert list(diagnosis.table["year"]) == [2025, 2026, 2027]
    assert list(diagnosis.table["amount"]) == pytest.approx([3.0, 3.0, 3.0])
    change = diagnosis.suggestion
    assert (change.path, change.year) == ("finance.funding", 2025)
    assert change.value == pytest.approx(9.0, abs=1e-5)
    assert "raise funding in 2025 by 9.00 USD billion" in diagnosis.render()
    assert planner.solve(apply_change(planner.load_instance(data), change)).status == "optimal"


def test_feasible_instance_has_nothing_to_diagnose():
    diagnosis = planner.diagnose(BASE)
    assert diagnosis.status == "feasible" and diagnosis.table.empty and diagnosis.changes == []


def test_service_row_names_the_capacity_in_reach():
    data, _ = CASES["service_floor"]
    row = planner.diagnose(data).table.iloc[0]
    assert row["message"] == "short by 0.50 compute units (capacity: cloud 1.5)"


def test_cli_diagnose_and_solve_print_the_diagnosis(tmp_path):
    data, _ = CASES["minimum_capacity"]
    path = write_yaml(tmp_path, data, "stuck.yaml")
    runner = CliRunner()
    result = runner.invoke(app, ["diagnose", str(path)])
    assert result.exit_code == 1
    assert "2026  cloud minimum capacity  short by 0.75 GW" in result.stdout
    assert "Smallest change: lower cloud min_capacity in 2026 by 0.75 GW." in result.stdout
    solved = runner.invoke(app, ["solve", str(path), "--out", str(tmp_path / "out")])
    assert solved.exit_code == 1
    assert "cloud minimum capacity  short by 0.75 GW" in solved.stderr
    assert not (tmp_path / "out").exists()
    feasible = runner.invoke(app, ["diagnose", str(write_yaml(tmp_path, BASE, "ok.yaml"))])
    assert feasible.exit_code == 0 and "feasible" in feasible.stdout


def test_shipped_infeasible_example():
    """instances/infeasible/: Stargate a year late without the bridge facility runs out of
    cash in 2029; the suggested funding makes it solvable."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "instances" / "infeasible" / "openai-2025-stargate-delayed-no-bridge.yaml"
    inst = planner.load_instance(path)
    diagnosis = planner.diagnose(inst)
    assert list(diagnosis.table["family"]) == ["minimum_cash"]
    assert list(diagnosis.table["year"]) == [2029]
    change = diagnosis.suggestion
    assert change.path == "finance.funding" and change.year == 2029
    assert planner.solve(apply_change(inst, change)).status == "optimal"
