"""Self-consistency: every figure of every results table follows from the decisions.

``planner.results.check`` recomputes the tables from procurement.csv, usage.csv and the debt
column by the formulas of MODEL.md §2 (independently of planner.model.lp) and checks every
constraint; it must agree to 1e-6 on many random valid instances, both on the in-memory
tables and on the CSV files read back.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings

import planner
from planner.results.check import check_folder, check_tables

from .strategies import instances


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=instances())
def test_tables_recompute_from_decisions(data, tmp_path_factory):
    inst = planner.load_instance(data)
    plan = planner.solve(inst)
    event(plan.status)
    if plan.status != "optimal":
        assert plan.tables == {}
        return
    assert check_tables(inst, plan.tables, plan.summary) == []
    folder = plan.write(tmp_path_factory.mktemp("results") / "out")
    assert check_folder(inst, folder) == []


def test_checker_catches_a_wrong_figure(tmp_path):
    """The checker is not a tautology: change one figure and it complains."""
    data = {
        "years": [2025, 2026],
        "workloads": {"inference": {"demand": 2.0, "revenue": 3.0}},
        "providers": {"cloud": {"contracts": {"rent": {"term": 2, "price": 1.0}}}},
    }
    plan = planner.solve(data)
    assert plan.status == "optimal"
    assert check_tables(plan.instance, plan.tables, plan.summary) == []
    for table, column in [("finance", "cash"), ("capacity", "spend"), ("service", "revenue"), ("finance", "loss")]:
        broken = {name: frame.copy() for name, frame in plan.tables.items()}
        broken[table].loc[0, column] += 0.01
        problems = check_tables(plan.instance, broken, plan.summary)
        assert any(table in p and column in p for p in problems), (table, column, problems)
    broken = {name: frame.copy() for name, frame in plan.tables.items()}
    broken["usage"].loc[0, "capacity"] += 1.0  # more use than active capacity and demand
    assert any("violated" in p for p in check_tables(plan.instance, broken, plan.summary))


def test_same_instance_same_tables():
    data = {
        "years": [2025, 2027],
        "workloads": {"training": {"demand": 1.0}, "inference": {"demand": 2.0, "revenue": 4.0, "min_served": 0}},
        "providers": {
            "a": {"contracts": {"x": {"term": 1, "price": 1.0}}},
            "b": {"contracts": {"y": {"term": 2, "price": 1.0}}},
        },
    }
    first = planner.solve(data).tables
    second = planner.solve(data).tables
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name])


@pytest.mark.parametrize("objective", ["cumulative_loss", "peak_cumulative_loss"])
def test_csv_has_full_precision(tmp_path, objective):
    data = {
        "years": [2025, 2025],
        "workloads": {"inference": {"demand": 1.0, "revenue": 1.0}},
        "providers": {"cloud": {"contracts": {"rent": {"term": 1, "price": 1 / 3}}}},
    }
    plan = planner.solve(data, objective=objective)
    folder = plan.write(tmp_path / "r")
    text = (folder / "capacity.csv").read_text()
    assert "0.3333333333333333" in text
