"""The ``planner`` command line through Typer's CliRunner: output, files and exit codes."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

import planner.cli
import planner.solver.highs
from planner.cli import app

from .conftest import write_yaml

RESULT_FILES = {"summary.json", "procurement.csv", "capacity.csv", "usage.csv", "service.csv", "finance.csv", "duals.csv"}

# MODEL.md §3: the columns each file has at least.
SPEC_COLUMNS = {
    "procurement.csv": ["year", "provider", "source", "term", "capacity", "unit_price"],
    "capacity.csv": ["year", "provider", "existing", "contracted", "owned", "active", "used", "idle", "spend", "charge"],
    "usage.csv": ["year", "provider", "workload", "capacity", "compute"],
    "service.csv": ["year", "workload", "demand", "served", "unserved", "revenue"],
    "finance.csv": ["year", "revenue", "compute_cost", "capex", "capex_expense", "other_costs", "interest", "loss",
                    "cumulative_loss", "funding", "debt", "cash"],
}
SPEC_SUMMARY = ["instance", "status", "objective", "objective_value", "cumulative_loss", "peak_cumulative_loss",
                "final_cash", "commitments_after_horizon", "solver", "solve_seconds", "years"]


def run(*args: str):
    result = CliRunner().invoke(app, [str(a) for a in args])
    # every outcome is a deliberate exit, never an exception escaping the command
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def instance(tmp_path, base) -> Path:
    return write_yaml(tmp_path, base, "small.yaml")


@pytest.fixture
def infeasible(tmp_path, base) -> Path:
    """Training must be fully served, but the only provider has no capacity."""
    base["name"] = "stuck"
    base["providers"] = {"microsoft": {"capacity": 0.0, "contracts": {"on_demand": {"term": 1, "price": 5.0}}}}
    return write_yaml(tmp_path, base, "stuck.yaml")


# --- help ----------------------------------------------------------------------------------


def test_app_help_lists_exit_codes_and_commands():
    result = run("--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())  # undo line wrapping
    for code in ("0 optimal plan", "1 infeasible", "2 invalid instance or usage", "3 solver failure or time limit",
                 "4 internal error"):
        assert code in text
    for name in ("solve", "validate", "schema"):
        assert f" {name} " in text


def test_every_command_has_help_text():
    commands = get_command(app).commands
    assert set(commands) == {"solve", "solve-all", "diagnose", "report", "value", "export", "validate", "schema", "sweep", "app", "frontier", "alternatives"}
    for name, command in commands.items():
        assert command.help and len(command.help.strip()) > 20, name
        result = run(name, "--help")
        assert result.exit_code == 0
        assert command.help.split("\n")[0].strip()[:30] in " ".join(result.stdout.split())
    options = " ".join(run("solve", "--help").stdout.split())
    for option in ("--out", "--objective", "--time-limit", "--quiet"):
        assert option in options


# --- solve: the successful path --------------------------------------------------------------


def test_solve_prints_table_and_writes_seven_files(tmp_path, instance):
    out = tmp_path / "out"
    result = run("solve", instance, "--out", out)

    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == f"Wrote 7 files to {out}{os.sep}"
    assert {p.name for p in out.iterdir()} == RESULT_FILES

    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("year "))
    assert header.split() == ["year", "microsoft", "stargate", "revenue", "loss", "cash"]
    rows = {line.split()[0]: line.split() for line in lines if line[:4] in ("2025", "2026", "2027")}
    assert sorted(rows) == ["2025", "2026", "2027"]

    finance = read_csv(out / "finance.csv")
    capacity = read_csv(out / "capacity.csv")
    for row in finance:  # the printed table shows the files' figures
        printed = rows[row["year"]]
        assert float(printed[3]) == pytest.approx(float(row["revenue"]), abs=1e-3)
        assert float(printed[4]) == pytest.approx(float(row["loss"]), abs=1e-3)
        assert float(printed[5]) == pytest.approx(float(row["cash"]), abs=1e-3)
    for row in capacity:
        column = 1 if row["provider"] == "microsoft" else 2
        assert float(rows[row["year"]][column]) == pytest.approx(float(row["active"]), abs=1e-3)


def test_result_files_have_the_spec_columns(tmp_path, instance):
    out = tmp_path / "out"
    assert run("solve", instance, "--out", out, "--quiet").exit_code == 0
    for name, columns in SPEC_COLUMNS.items():
        with (out / name).open(newline="") as handle:
            header = next(csv.reader(handle))
        assert set(columns) <= set(header), (name, header)
    summary = json.loads((out / "summary.json").read_text())
    assert set(SPEC_SUMMARY) <= set(summary)
    assert summary["instance"] == "small"
    assert summary["status"] == "optimal"
    assert summary["objective"] == "cumulative_loss"
    assert summary["years"] == [2025, 2027]
    finance = read_csv(out / "finance.csv")
    assert [int(r["year"]) for r in finance] == [2025, 2026, 2027]
    assert summary["cumulative_loss"] == pytest.approx(sum(float(r["loss"]) for r in finance))
    assert summary["objective_value"] == pytest.approx(summary["cumulative_loss"])  # no discounting
    assert summary["final_cash"] == pytest.approx(float(finance[-1]["cash"]))
    service = read_csv(out / "service.csv")
    training = [r for r in service if r["workload"] == "training"]
    assert [float(r["served"]) for r in training] == pytest.approx([1.0, 2.0, 2.0])  # min_served 1
    usage = read_csv(out / "usage.csv")
    assert {(r["provider"], r["workload"]) for r in usage} == {
        ("microsoft", "training"), ("microsoft", "inference"), ("stargate", "training"), ("stargate", "inference")}
    assert len(usage) == 3 * 4


def test_quiet_prints_only_the_wrote_line(tmp_path, instance):
    out = tmp_path / "out"
    result = run("solve", instance, "--out", out, "--quiet")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.stdout == f"Wrote 7 files to {out}{os.sep}\n"
    assert {p.name for p in out.iterdir()} == RESULT_FILES


def test_objective_option_overrides_the_instance(tmp_path, instance):
    out = tmp_path / "out"
    result = run("solve", instance, "--out", out, "--objective", "peak_cumulative_loss")
    assert result.exit_code == 0, result.output
    assert "peak_cumulative_loss =" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["objective"] == "peak_cumulative_loss"
    assert summary["objective_value"] == pytest.approx(summary["peak_cumulative_loss"], abs=1e-6)
    cumulative = [float(r["cumulative_loss"]) for r in read_csv(out / "finance.csv")]
    assert summary["objective_value"] == pytest.approx(max(cumulative), abs=1e-6)


def test_invalid_objective_value_is_a_usage_error(tmp_path, instance):
    out = tmp_path / "out"
    result = run("solve", instance, "--out", out, "--objective", "cheapest")
    assert result.exit_code == 2
    assert "--objective" in result.stderr
    assert "cumulative_loss" in result.stderr  # says what is allowed
    assert not out.exists()


def test_default_out_is_results_slash_name(tmp_path, instance, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("solve", instance, "--quiet")
    assert result.exit_code == 0
    assert result.stdout == f"Wrote 7 files to {Path('results', 'small')}{os.sep}\n"
    assert {p.name for p in (tmp_path / "results" / "small").iterdir()} == RESULT_FILES


@pytest.mark.parametrize("name", ["../escaped", "ABSOLUTE", "..", ""])
def test_default_out_stays_inside_results(tmp_path, base, monkeypatch, name):
    """An instance's name cannot send the default results folder outside results/."""
    base["name"] = str(tmp_path / "escaped") if name == "ABSOLUTE" else name
    file = write_yaml(tmp_path, base)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = run("solve", file, "--quiet")
    assert result.exit_code == 0, result.output
    written = list((work / "results").iterdir())
    assert len(written) == 1 and written[0].is_dir()
    assert {p.name for p in written[0].iterdir()} == RESULT_FILES
    assert sorted(p.name for p in work.iterdir()) == ["results"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["instance.yaml", "work"]


# --- solve: failures write nothing ----------------------------------------------------------


def test_infeasible_exits_1_and_writes_nothing(tmp_path, infeasible):
    out = tmp_path / "out"
    result = run("solve", infeasible, "--out", out)
    assert result.exit_code == 1
    assert "infeasible" in result.stderr
    assert "Wrote" not in result.output
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stuck.yaml"]


def test_infeasible_keeps_earlier_results_intact(tmp_path, instance, infeasible):
    out = tmp_path / "out"
    assert run("solve", instance, "--out", out, "--quiet").exit_code == 0
    before = snapshot(out)
    assert set(before) == RESULT_FILES

    result = run("solve", infeasible, "--out", out)

    assert result.exit_code == 1
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "small.yaml", "stuck.yaml"]  # no temp folders


def test_rerun_replaces_earlier_results(tmp_path, instance, base):
    out = tmp_path / "out"
    assert run("solve", instance, "--out", out, "--quiet").exit_code == 0
    base["workloads"]["inference"]["demand"] = 1.0
    changed = write_yaml(tmp_path, base, "changed.yaml")
    assert run("solve", changed, "--out", out, "--quiet").exit_code == 0
    service = read_csv(out / "service.csv")
    assert {float(r["demand"]) for r in service if r["workload"] == "inference"} == {1.0}
    assert {p.name for p in out.iterdir()} == RESULT_FILES


def test_out_folder_with_foreign_files_is_refused(tmp_path, instance, monkeypatch):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    called = []
    monkeypatch.setattr(planner.solver.highs, "solve", lambda *a, **k: called.append(1))

    result = run("solve", instance, "--out", out)

    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "notes.txt" in lines[0] and "--out" in lines[0]
    assert (out / "notes.txt").read_text() == "keep me"
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert called == []  # refused before spending time on the solve


def test_out_that_is_a_file_is_refused(tmp_path, instance):
    out = tmp_path / "results.txt"
    out.write_text("not a folder")
    result = run("solve", instance, "--out", out)
    assert result.exit_code == 2
    assert "not a folder" in result.stderr
    assert out.read_text() == "not a folder"


def test_time_limit_zero_is_handled(tmp_path, instance):
    out = tmp_path / "out"
    result = run("solve", instance, "--out", out, "--time-limit", "0")
    assert result.exit_code in (0, 3)
    if result.exit_code == 3:  # HiGHS stopped before finding the optimum
        lines = result.stderr.strip().splitlines()
        assert "time limit" in lines[-1] and "no results written" in lines[-1]
        assert len([line for line in lines if not line.startswith("Solving")]) == 1
        assert not out.exists()
    else:
        assert {p.name for p in out.iterdir()} == RESULT_FILES


def test_generous_time_limit_solves(tmp_path, instance):
    out = tmp_path / "out"
    assert run("solve", instance, "--out", out, "--time-limit", "60", "-q").exit_code == 0
    assert {p.name for p in out.iterdir()} == RESULT_FILES


@pytest.mark.parametrize("value", ["-1", "soon", "nan"])
def test_bad_time_limit_is_a_usage_error(tmp_path, instance, value):
    out = tmp_path / "out"
    result = run("solve", instance, "--out", out, "--time-limit", value)
    assert result.exit_code == 2
    assert "--time-limit" in result.stderr
    assert not out.exists()


def test_solver_failure_exits_3_with_one_line(tmp_path, instance, monkeypatch):
    def fail(*args, **kwargs):
        raise planner.solver.highs.SolverFailure("error", "x")

    monkeypatch.setattr(planner.solver.highs, "solve", fail)
    out = tmp_path / "out"
    result = run("solve", instance, "--out", out, "--quiet")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == ["solver failure: x; no results written"]
    assert not out.exists()


def test_unexpected_error_is_exit_4_without_traceback(tmp_path, instance, monkeypatch, capsys):
    def crash(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(planner.solver.highs, "solve", crash)
    monkeypatch.delenv("PLANNER_DEBUG", raising=False)
    monkeypatch.setattr(sys, "argv", ["planner", "solve", str(instance), "--out", str(tmp_path / "out"), "-q"])
    with pytest.raises(SystemExit) as exited:
        planner.cli.main()
    assert exited.value.code == 4
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "internal error (a bug in planner, please report it): RuntimeError: boom. "
        "Set PLANNER_DEBUG=1 to see the traceback."
    ]
    assert not (tmp_path / "out").exists()


# --- validate and schema --------------------------------------------------------------------


def test_validate_reports_only_the_bad_file(tmp_path, base):
    good = write_yaml(tmp_path, base, "a.yaml")
    base["providers"]["microsoft"]["contracts"]["reserved_3y"]["term"] = 0
    bad = write_yaml(tmp_path, base, "b.yaml")

    result = run("validate", good, bad)

    assert result.exit_code == 2
    assert result.stdout.strip().splitlines() == [f"{good}: valid (small, 2025-2027, 2 providers, 2 workloads)"]
    lines = result.stderr.strip().splitlines()
    assert lines == [f"invalid instance: {bad}: providers.microsoft.contracts.reserved_3y.term: "
                     "expected a whole number >= 1, got 0"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml", "b.yaml"]


def test_validate_all_good_exits_0(tmp_path, base):
    yaml_file = write_yaml(tmp_path, base, "a.yaml")
    json_file = tmp_path / "b.json"
    json_file.write_text(json.dumps(base))
    result = run("validate", yaml_file, json_file)
    assert result.exit_code == 0
    assert result.stderr == ""
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [str(yaml_file), str(json_file)]


def test_validate_needs_a_file():
    result = run("validate")
    assert result.exit_code == 2
    assert "Missing argument" in result.stderr


def test_schema_prints_json_schema():
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert {"workloads", "providers", "years"} <= set(schema["properties"])
    assert schema["required"] and {"years", "workloads", "providers"} <= set(schema["required"])


# --- the installed console script -------------------------------------------------------------


def _console_script() -> str | None:
    beside = Path(sys.executable).with_name("planner")
    return str(beside) if beside.exists() else shutil.which("planner")


def test_console_script_missing_file_is_exit_2_without_traceback(tmp_path):
    exe = _console_script()
    if exe is None:
        pytest.skip("the planner console script is not installed")
    missing = tmp_path / "missing.yaml"
    proc = subprocess.run([exe, "solve", str(missing), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [f"invalid instance: {missing}: no such file"]
    assert proc.stdout == ""
    assert list(tmp_path.iterdir()) == []


# --- solve-all ----------------------------------------------------------------------------


def test_solve_all_writes_one_folder_per_instance_and_reports_the_worst(tmp_path, base):
    folder = tmp_path / "instances"
    folder.mkdir()
    write_yaml(folder, base, "small.yaml")
    base["name"] = "stuck"
    base["providers"] = {"microsoft": {"capacity": 0.0, "contracts": {"on_demand": {"term": 1, "price": 5.0}}}}
    write_yaml(folder, base, "stuck.yaml")
    (folder / "notes.txt").write_text("not an instance")
    result = run("solve-all", folder, "--out", tmp_path / "results", "--quiet")
    assert result.exit_code == 1  # the worst outcome: one infeasible instance
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["small"]
    assert (tmp_path / "results" / "small" / "finance.csv").is_file()
    assert "small.yaml" in result.stdout and "optimal" in result.stdout
    assert "stuck.yaml" in result.stdout and "infeasible" in result.stdout


def test_solve_all_refuses_two_instances_with_one_name(tmp_path, base):
    folder = tmp_path / "instances"
    folder.mkdir()
    write_yaml(folder, base, "a.yaml")
    write_yaml(folder, base, "b.yaml")  # both are named "small"
    result = run("solve-all", folder, "--out", tmp_path / "results", "--quiet")
    assert result.exit_code == 2
    assert "a.yaml" in result.stderr and "b.yaml" in result.stderr and "overwrite each other" in result.stderr
    assert not (tmp_path / "results" / "small").exists()  # neither is solved: which would win is arbitrary


@pytest.mark.parametrize("names", [("a/b", "a_b", "a:b")])
def test_solve_all_refuses_names_that_map_to_one_folder(tmp_path, base, names):
    folder = tmp_path / "instances"
    folder.mkdir()
    for i, name in enumerate(names):
        base["name"] = name
        write_yaml(folder, base, f"i{i}.yaml")
    base["name"] = "other"
    write_yaml(folder, base, "z.yaml")
    result = run("solve-all", folder, "--out", tmp_path / "sa", "--quiet")
    assert result.exit_code == 2
    assert all(f"i{i}.yaml" in result.stderr for i in range(len(names))), result.stderr
    assert "Wrote" not in result.stdout.split("other")[0] or not (tmp_path / "sa" / "a_b").exists()
    assert not (tmp_path / "sa" / "a_b").exists() and (tmp_path / "sa" / "other" / "summary.json").exists()


def test_solve_all_needs_instances(tmp_path):
    assert run("solve-all", tmp_path / "missing").exit_code == 2
    (tmp_path / "empty").mkdir()
    assert run("solve-all", tmp_path / "empty").exit_code == 2
