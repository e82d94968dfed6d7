"""The independent check reads every column the planner writes: corrupting any one
figure of any §3 table (in a row where it is given) makes it report a mismatch."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import planner
from planner.results.check import check_tables
from planner.results.files import COLUMNS, TABLES

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def plan():
    solved = planner.solve(planner.load_instance(ROOT / "instances" / "openai-2025.yaml"))
    assert solved.status == "optimal"
    assert check_tables(solved.instance, solved.tables, solved.summary) == []
    return solved


def corrupted(value):
    """A different value of the same kind."""
    if isinstance(value, str):
        return value + "-x"
    return value + 1 if float(value) == int(float(value)) else value * 1.5 + 1


@pytest.mark.parametrize("table, column", [(t, c) for t in TABLES for c in COLUMNS[t]])
def test_every_column_is_checked(plan, table, column):
    for kind in ("contract", "build"):  # procurement: a signing's row and a build's row
        frame = plan.tables[table].copy()
        rows = frame.index[frame[column].notna()]
        if table == "procurement":
            builds = frame["source"] == "build"
            rows = [i for i in rows if builds[i] == (kind == "build")]
        elif kind == "build":
            continue
        if not len(rows):
            continue
        row = rows[len(rows) // 2]
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = corrupted(frame.loc[row, column])
        tables = {**plan.tables, table: frame}
        assert check_tables(plan.instance, tables, plan.summary), f"{table}.{column} ({kind} row {row}) is not checked"
