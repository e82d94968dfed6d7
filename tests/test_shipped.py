"""The shipped instances validate and solve optimally, and the committed results/ are fresh.

`results/` is produced by `planner solve-all instances --out results`; when a change to
the model or an instance changes any figure, this test fails until that command is rerun
and the new results are committed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import planner
from planner.results.check import check_folder
from planner.results.files import TABLES, read_table

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "instances").glob("*.yaml"))
VOLATILE = {"solve_seconds", "solver"}  # differ from run to run, not part of the plan


@pytest.fixture(scope="module", params=SHIPPED, ids=lambda p: p.stem)
def solved(request):
    inst = planner.load_instance(request.param)
    return inst, planner.solve(inst)


def test_there_are_shipped_instances():
    assert any(p.stem == "toy" for p in SHIPPED)


def test_solves_optimally(solved):
    inst, plan = solved
    assert plan.status == "optimal", inst.name
    assert planner.check_plan(plan) == []


def test_committed_results_are_fresh(solved):
    inst, plan = solved
    folder = ROOT / "results" / inst.name
    hint = "rerun: planner solve-all instances --out results"
    assert folder.is_dir(), f"results/{inst.name}/ is missing; {hint}"
    committed = json.loads((folder / "summary.json").read_text())
    fresh = json.loads(json.dumps(plan.summary))
    for key in fresh.keys() - VOLATILE:
        want, got = fresh[key], committed.get(key)
        if isinstance(want, float):
            assert got == pytest.approx(want, rel=1e-6, abs=1e-6), f"summary.json {key} is stale; {hint}"
        else:
            assert got == want, f"summary.json {key} is stale; {hint}"
    for name in TABLES:
        table = read_table(folder / f"{name}.csv")
        expected = plan.tables[name]
        assert list(table.columns) == list(expected.columns), f"{name}.csv columns are stale; {hint}"
        assert len(table) == len(expected), f"{name}.csv rows are stale; {hint}"
        for column in expected.columns:
            if pd.api.types.is_numeric_dtype(expected[column]) and expected[column].notna().any():
                assert table[column].fillna(0).to_numpy() == pytest.approx(
                    expected[column].astype(float).fillna(0).to_numpy(), rel=1e-6, abs=1e-6
                ), f"{name}.csv column {column} is stale; {hint}"
            else:
                assert table[column].astype(str).tolist() == expected[column].astype(str).tolist(), (
                    f"{name}.csv column {column} is stale; {hint}"
                )
    assert check_folder(inst, folder) == []


def test_committed_sweep_is_fresh(tmp_path):
    """results/openai-2025-sweep/ (the README's grid) is what its recorded command gives."""
    from planner.sweep.run import run_sweep

    folder = ROOT / "results" / "openai-2025-sweep"
    recorded = json.loads((folder / "sweep.json").read_text())
    hint = ("rerun: planner sweep instances/openai-2025.yaml " + " ".join(f"--vary {v}" for v in recorded["vary"]))
    result = run_sweep(ROOT / recorded["instance_file"], recorded["vary"], out=tmp_path / "sweep", progress=False,
                       echo=lambda _: None, chart=False)
    assert result.code == 0
    assert (tmp_path / "sweep" / "sweep.csv").read_bytes() == (folder / "sweep.csv").read_bytes(), hint
    assert (folder / "sweep.png").read_bytes().startswith(b"\x89PNG")
