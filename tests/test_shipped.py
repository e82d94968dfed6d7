"""The shipped instances validate and solve optimally, and the committed results/ are fresh.

`results/` is produced by `planner solve-all instances --out results --report`, then
`planner value instances/openai-2025-uncertain.yaml` and the sweep recorded in
`results/openai-2025-sweep/sweep.json`; when a change to the model, the report or an
instance changes any committed file, these tests fail until those commands are rerun
and the new results are committed. Every committed file is covered: the tables and
summary (to 1e-6), duals.csv, report.html and its charts (byte for byte: rendering is
deterministic), value.json, and the sweep folder; a file missing from, or extra in, a
committed folder fails too.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import planner
from planner.cli import app
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
        assert_same_table(folder / f"{name}.csv", plan.tables[name], hint)
    assert check_folder(inst, folder) == []


def assert_same_table(path: Path, expected: pd.DataFrame, hint: str) -> None:
    """The CSV at ``path`` has ``expected``'s columns and rows, numbers to 1e-6."""
    name = path.name
    table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    assert list(table.columns) == list(expected.columns), f"{name} columns are stale; {hint}"
    assert len(table) == len(expected), f"{name} rows are stale; {hint}"
    for column in expected.columns:
        if pd.api.types.is_numeric_dtype(expected[column]) and expected[column].notna().any():
            assert table[column].fillna(0).to_numpy() == pytest.approx(
                expected[column].astype(float).fillna(0).to_numpy(), rel=1e-6, abs=1e-6
            ), f"{name} column {column} is stale; {hint}"
        else:
            assert table[column].astype(str).tolist() == expected[column].astype(str).tolist(), (
                f"{name} column {column} is stale; {hint}"
            )


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


def test_committed_folder_is_what_the_commands_write(solved, tmp_path):
    """Every file of results/<name>/ is what `planner solve --report` (and, for an
    instance with cases, `planner value`) writes today, and nothing is missing or extra."""
    inst, _ = solved
    folder = ROOT / "results" / inst.name
    fresh = tmp_path / inst.name  # the same folder name: report.html names its folder
    source = next(p for p in SHIPPED if planner.load_instance(p).name == inst.name)
    hint = "rerun: planner solve-all instances --out results --report"
    runner = CliRunner()
    result = runner.invoke(app, ["solve", str(source), "--out", str(fresh), "--report", "--quiet"])
    assert result.exit_code == 0, result.output
    if inst.scenarios is not None:
        result = runner.invoke(app, ["value", str(source), "--out", str(fresh / "value.json")])
        assert result.exit_code == 0, result.output
        hint += f"; planner value {source.relative_to(ROOT)} --out results/{inst.name}/value.json"
    committed = sorted(p.name for p in folder.iterdir())
    written = sorted(p.name for p in fresh.iterdir())
    assert committed == written, f"results/{inst.name}/ holds {committed}, the commands write {written}; {hint}"
    assert_same_table(folder / "duals.csv", pd.read_csv(fresh / "duals.csv", keep_default_na=False, na_values=[""]), hint)
    for name in written:
        if name.endswith(".png"):
            assert (folder / name).read_bytes() == (fresh / name).read_bytes(), f"results/{inst.name}/{name} is stale; {hint}"
        elif name.endswith(".html"):
            assert steady(folder / name) == steady(fresh / name), f"results/{inst.name}/{name} is stale; {hint}"
    if inst.scenarios is not None:
        want = json.loads((fresh / "value.json").read_text())
        got = json.loads((folder / "value.json").read_text())
        assert got.keys() == want.keys(), f"value.json is stale; {hint}"
        for key, value in want.items():
            assert got[key] == (pytest.approx(value, rel=1e-6, abs=1e-6) if isinstance(value, float) else value), (
                f"value.json {key} is stale; {hint}")


def steady(path: Path) -> str:
    """report.html without what differs from run to run (summary.json's solve_seconds)."""
    return re.sub(r"(&quot;solve_seconds&quot;: )[0-9.e+-]+", r"\1…", path.read_text(encoding="utf-8"))


def test_committed_sweep_folder_is_complete(tmp_path, monkeypatch):
    """results/openai-2025-sweep/ holds exactly the sweep's files; sweep.json and sweep.png
    are what the sweep writes (the chart redrawn from the committed table, byte for byte)."""
    from planner.sweep.chart import write_sweep_chart
    from planner.sweep.run import run_sweep

    folder = ROOT / "results" / "openai-2025-sweep"
    recorded = json.loads((folder / "sweep.json").read_text())
    hint = "rerun: planner sweep instances/openai-2025.yaml " + " ".join(f"--vary {v}" for v in recorded["vary"])
    monkeypatch.chdir(ROOT)  # the instance as the README's command names it
    result = run_sweep(Path(recorded["instance_file"]), recorded["vary"], out=tmp_path / "sweep", progress=False,
                       echo=lambda _: None)
    assert result.code == 0
    fresh = tmp_path / "sweep"
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in fresh.iterdir()), hint
    assert json.loads((fresh / "sweep.json").read_text()) == recorded, f"sweep.json is stale; {hint}"
    assert (fresh / "sweep.png").read_bytes() == (folder / "sweep.png").read_bytes(), f"sweep.png is stale; {hint}"
    redrawn = tmp_path / "redrawn"
    shutil.copytree(folder, redrawn)
    (redrawn / "sweep.png").unlink()
    write_sweep_chart(redrawn)
    assert (redrawn / "sweep.png").read_bytes() == (folder / "sweep.png").read_bytes()


#: The committed trade-off folders (README "The price of independence") and their commands.
TRADEOFFS = {
    "openai-2025-frontier": ["frontier", "instances/openai-2025.yaml", "--share", "stargate@2029-2030"],
    "openai-2025-frontier-microsoft": ["frontier", "instances/openai-2025.yaml", "--share", "microsoft@2029-2030"],
    "openai-2025-alternatives": ["alternatives", "instances/openai-2025.yaml", "--slack", "0.05"],
}
#: Fields of frontier.json / alternatives.json that differ from run to run.
TRADEOFF_VOLATILE = {"seconds"}


@pytest.mark.parametrize("name", sorted(TRADEOFFS))
def test_committed_tradeoff_folders_are_what_the_commands_write(name, tmp_path, monkeypatch):
    """results/openai-2025-frontier*/ and -alternatives/ hold exactly what the README's
    commands and `planner report` write today: the table to 1e-6, the summary, the chart
    and report.html (without its run time)."""
    monkeypatch.chdir(ROOT)
    command = TRADEOFFS[name]
    folder, fresh = ROOT / "results" / name, tmp_path / name
    hint = f"rerun: planner {' '.join(command)} --out results/{name} && planner report results/{name}"
    runner = CliRunner()
    result = runner.invoke(app, [*command, "--out", str(fresh), "--quiet"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["report", str(fresh)]).exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in fresh.iterdir()), hint
    table = next(p.name for p in fresh.iterdir() if p.suffix == ".csv")
    assert_same_table(folder / table, pd.read_csv(fresh / table, keep_default_na=False, na_values=[""]), hint)
    summary = table.replace(".csv", ".json")
    want, got = (json.loads((f / summary).read_text()) for f in (fresh, folder))
    assert want.keys() == got.keys(), hint
    for key in want.keys() - TRADEOFF_VOLATILE:
        same = pytest.approx(want[key], rel=1e-6, abs=1e-6) if isinstance(want[key], float) else want[key]
        assert got[key] == same, f"{summary} {key} is stale; {hint}"
    png = table.replace(".csv", ".png")
    assert (folder / png).read_bytes() == (fresh / png).read_bytes(), f"{png} is stale; {hint}"
    run_time = re.compile(r"(&quot;seconds&quot;: )[0-9.e+-]+|(\"seconds\": )[0-9.e+-]+| in [0-9.]+ s\b")
    html = [run_time.sub("…", (f / "report.html").read_text(encoding="utf-8")) for f in (folder, fresh)]
    assert html[0] == html[1], f"report.html is stale; {hint}"
