"""The smaller faults of issue 14 (item 16) that were left: ``planner report`` on a
damaged or mixed folder (a repeated row, ``inf``, another run's summary.json), the plan
table at prices of 1e12, ``-0.0`` in written CSVs, and Ctrl-C early in a command."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import planner
from planner.cli import app

from .conftest import BASE, write_yaml

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
INSTANCES = Path(__file__).resolve().parents[1] / "instances"

CASES = {**copy.deepcopy(BASE), "name": "cases", "scenarios": {"commit_years": 1, "cases": {
    "steady": {"probability": 0.6},
    "bust": {"probability": 0.4, "set": {"workloads.inference.revenue": 1.0}},
}}}


def solve_into(source, folder: Path) -> Path:
    plan = planner.solve(source)
    assert plan.status == "optimal"
    plan.write(folder)
    return folder


def report(folder: Path):
    return CliRunner().invoke(app, ["report", str(folder)])


def assert_refused(result, *words):
    """Exit 2, one line naming ``words`` (the file, the line or field), no traceback."""
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert all(word in lines[0] for word in words), lines[0]
    assert "Traceback" not in result.output


def append_line(path: Path, number: int) -> None:
    """Append a copy of the file's line ``number`` (1 = the header)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines + [lines[number - 1]]) + "\n", encoding="utf-8")


# --- planner report: a repeated row, inf, another run's summary.json ---------------------

@pytest.mark.parametrize("table", ["capacity", "usage", "service", "finance", "procurement", "duals"])
def test_a_repeated_row_is_refused_naming_the_file_and_lines(tmp_path, table):
    folder = solve_into(copy.deepcopy(BASE), tmp_path / "res")
    path = folder / f"{table}.csv"
    append_line(path, 2)  # the first row again, at the end
    last = len(path.read_text(encoding="utf-8").splitlines())
    assert_refused(report(folder), f"{table}.csv", f"line {last} repeats the row of line 2")


def test_a_repeated_row_of_scenario_results_is_refused(tmp_path):
    folder = solve_into(copy.deepcopy(CASES), tmp_path / "res")
    append_line(folder / "capacity.csv", 3)
    assert_refused(report(folder), "capacity.csv", "repeats the row of line 3", "case ")


def test_rows_of_two_cases_with_one_key_are_not_repeats(tmp_path):
    folder = solve_into(copy.deepcopy(CASES), tmp_path / "res")
    assert report(folder).exit_code == 0


@pytest.mark.parametrize("text", ["inf", "-inf", "Infinity", "nan", "1e999"])
def test_a_number_that_is_not_finite_is_refused(tmp_path, text):
    folder = solve_into(copy.deepcopy(BASE), tmp_path / "res")
    path = folder / "finance.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = ",".join(lines[2].split(",")[:-1] + [text])  # the second year's cash
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert_refused(report(folder), "finance.csv", "line 3", "'cash'", "not a finite number")


def test_another_instances_summary_is_refused(tmp_path):
    folder = solve_into(copy.deepcopy(BASE), tmp_path / "res")
    other = copy.deepcopy(BASE)  # the same years, providers and workloads; other figures
    other["name"] = "other"
    other["workloads"]["inference"]["revenue"] = 4.0
    solve_into(other, tmp_path / "other")
    (folder / "summary.json").write_bytes((tmp_path / "other" / "summary.json").read_bytes())
    assert_refused(report(folder), "summary.json", "cumulative_loss", "finance.csv", "does not describe the tables")


def test_a_summary_of_other_years_is_refused(tmp_path):
    folder = solve_into(copy.deepcopy(BASE), tmp_path / "res")
    longer = copy.deepcopy(BASE)
    longer["years"] = [2025, 2028]
    longer["workloads"]["training"]["demand"] = {2025: 1.0, "2026-2028": 2.0}
    solve_into(longer, tmp_path / "longer")
    (folder / "summary.json").write_bytes((tmp_path / "longer" / "summary.json").read_bytes())
    assert_refused(report(folder), "summary.json", "years 2025-2028", "finance.csv has 2025-2027")


def test_a_case_figure_that_disagrees_with_its_rows_is_refused(tmp_path):
    folder = solve_into(copy.deepcopy(CASES), tmp_path / "res")
    summary = json.loads((folder / "summary.json").read_text())
    summary["cases"]["bust"]["peak_cumulative_loss"] += 1.0
    (folder / "summary.json").write_text(json.dumps(summary))
    assert_refused(report(folder), "summary.json", "case bust's peak_cumulative_loss")


def test_a_summary_written_with_its_tables_is_accepted_as_written(tmp_path):
    for source in (copy.deepcopy(BASE), copy.deepcopy(CASES)):
        folder = solve_into(source, tmp_path / source["name"])
        result = report(folder)
        assert result.exit_code == 0, result.output


# --- the plan table at prices of 1e12 ----------------------------------------------------

def scaled_toy(tmp_path, factor: float) -> Path:
    """toy.yaml with every money figure times ``factor`` (the same plan, larger numbers)."""
    import yaml

    data = yaml.safe_load((INSTANCES / "toy.yaml").read_text(encoding="utf-8"))

    def times(value):
        return {k: v * factor for k, v in value.items()} if isinstance(value, dict) else value * factor

    for key in ("funding", "initial_cash", "min_cash", "other_costs"):
        data["finance"][key] = times(data["finance"][key])
    ms = data["providers"]["microsoft"]
    ms["contracts"]["on_demand"]["price"] *= factor
    ms["existing_cost"], ms["min_spend"] = times(ms["existing_cost"]), times(ms["min_spend"])
    data["providers"]["stargate"]["contracts"]["lease"]["price"] *= factor
    data["workloads"]["inference"]["revenue"] *= factor
    data["name"] = "toy-scaled"
    return write_yaml(tmp_path, data, "scaled.yaml")


def test_the_plan_tables_columns_never_run_together_at_prices_of_1e12(tmp_path):
    instance = scaled_toy(tmp_path, 1e12)
    result = CliRunner().invoke(app, ["solve", str(instance), "--out", str(tmp_path / "res")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("year "))
    header, rows = lines[start].split(), lines[start + 1:start + 4]
    assert header == ["year", "microsoft", "stargate", "revenue", "loss", "cash"]
    assert max(len(cell) for row in rows for cell in row.split()) >= 17  # figures of 1e13
    for row in rows:
        cells = row.split()
        assert len(cells) == len(header), row
        assert all(float(cell) == float(cell) for cell in cells)
        # right-aligned under its header: each figure ends where its header ends
        ends = [lines[start].index(name) + len(name) for name in header[1:]]
        assert [row.index(cell, end - len(cell)) + len(cell) for cell, end in zip(cells[1:], ends)] == ends


def test_the_scenario_table_keeps_its_columns_apart_too(tmp_path):
    import yaml

    path = scaled_toy(tmp_path, 1e12)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["scenarios"] = {"commit_years": 1, "cases": {
        "a_case_with_a_rather_long_name": {"probability": 0.5},
        "dear": {"probability": 0.5, "set": {"workloads.inference.revenue": 5e12}}}}
    result = CliRunner().invoke(app, ["solve", str(write_yaml(tmp_path, data)), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("case "))
    assert len(lines[start].split()) == 6  # case probability objective cum. loss peak
    rows = lines[start + 1:start + 3]
    assert max(len(cell) for row in rows for cell in row.split()) >= 17
    for row in rows:
        assert len(row.split()) == 5, row


def test_the_toy_plan_table_reads_as_before(tmp_path):
    result = CliRunner().invoke(app, ["solve", str(INSTANCES / "toy.yaml"), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = lines.index("year  microsoft  stargate    revenue       loss       cash")
    assert lines[start:start + 4] == [
        "year  microsoft  stargate    revenue       loss       cash",
        "2025      2.000     0.000      6.000      5.000     10.000",
        "2026      1.400     1.600     12.000      0.200      9.800",
        "2027      0.700     3.300     18.000     -5.900     15.700",
    ]


# --- -0.0 in CSVs ------------------------------------------------------------------------

def test_no_results_csv_holds_negative_zero(tmp_path):
    plan = planner.solve(copy.deepcopy(BASE))
    finance = plan.tables["finance"]
    finance["debt"] = finance["debt"].astype(float) * -1.0  # every debt 0.0 becomes -0.0
    assert str(finance["debt"].iloc[0]) == "-0.0"
    plan.duals["shadow_price"] = plan.duals["shadow_price"].astype(float) * 0.0 * -1.0
    plan.write(tmp_path / "res")
    for path in sorted((tmp_path / "res").glob("*.csv")):
        text = path.read_text(encoding="utf-8")
        assert "-0.0" not in text.replace(",", " ").split() and ",-0.0" not in text and "-0.0," not in text, path
    assert "0.0" in (tmp_path / "res" / "finance.csv").read_text().splitlines()[1].split(",")


def test_no_sweep_csv_holds_negative_zero(tmp_path):
    result = CliRunner().invoke(app, ["sweep", str(INSTANCES / "toy.yaml"), "--vary", "finance.min_cash=-0.0,1",
                                      "--out", str(tmp_path / "s"), "-q", "--no-chart"])
    assert result.exit_code == 0, result.output
    rows = (tmp_path / "s" / "sweep.csv").read_text(encoding="utf-8").splitlines()
    assert rows[1].split(",")[2] == "0.0"
    assert not any(cell == "-0.0" for row in rows for cell in row.split(","))


# --- Ctrl-C early: one line, exit 130, no traceback --------------------------------------

def child(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300)


def assert_one_interrupt_line(done: subprocess.CompletedProcess) -> None:
    assert done.returncode == 130, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and "Aborted" not in done.stderr, done.stderr
    said = [line for line in (done.stdout + done.stderr).splitlines() if "interrupted" in line]
    assert len(said) == 1 and said[0].startswith("interrupted"), (done.stdout, done.stderr)


def test_ctrl_c_while_the_cli_is_imported_is_one_line_and_130(tmp_path):
    # typer's import is most of the start-up: Ctrl-C then used to print a traceback
    code = ("import builtins, sys\nreal = builtins.__import__\n"
            "def imp(name, *a, **k):\n    if name == 'typer':\n        raise KeyboardInterrupt\n"
            "    return real(name, *a, **k)\nbuiltins.__import__ = imp\nfrom planner.cli import main\n")
    assert_one_interrupt_line(child(code, tmp_path))


def test_importing_the_cli_leaves_the_excepthook_as_it_was():
    code = "import sys\nhook = sys.excepthook\nimport planner.cli\nprint(sys.excepthook is hook)\n"
    done = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "True", done.stderr


def test_ctrl_c_while_typer_parses_the_options_is_one_line_and_130(tmp_path):
    # typer turns it into a silent exit 130 (no message at all)
    code = ("import sys, typer.core\n"
            "def stop(*a, **k):\n    raise KeyboardInterrupt\n"
            "typer.core.TyperGroup.make_context = stop\n"
            f"from planner.cli import main\nsys.argv = ['planner', 'validate', {str(INSTANCES / 'toy.yaml')!r}]\nmain()\n")
    assert_one_interrupt_line(child(code, tmp_path))


def test_an_interrupt_a_library_turns_into_another_error_is_still_an_interrupt(tmp_path):
    # numpy's import interrupted raises ImportError("initialization failed"); Pyomo, cut
    # off while it builds a component, raises its own error: both used to give exit 4
    code = ("import signal, sys\nimport planner.solver.diagnosis as m\n"
            "def broken(*a, **k):\n    try:\n        signal.raise_signal(signal.SIGINT)\n"
            "    except KeyboardInterrupt:\n        raise ImportError('initialization failed') from None\n"
            "m.diagnose = broken\n"
            f"from planner.cli import main\nsys.argv = ['planner', 'diagnose', {str(INSTANCES / 'toy.yaml')!r}]\nmain()\n")
    assert_one_interrupt_line(child(code, tmp_path))


def test_pyomos_log_of_a_component_cut_off_by_ctrl_c_is_not_shown(tmp_path):
    code = ("import logging, signal, sys\nimport pyomo.environ\nimport planner.solver.diagnosis as m\n"
            "def building(*a, **k):\n    try:\n        signal.raise_signal(signal.SIGINT)\n"
            "    except KeyboardInterrupt as err:\n"
            "        logging.getLogger('pyomo.core').error('Constructing component %s failed: %s', 'x', repr(err))\n"
            "        raise\n"
            "m.diagnose = building\n"
            f"from planner.cli import main\nsys.argv = ['planner', 'diagnose', {str(INSTANCES / 'toy.yaml')!r}]\nmain()\n")
    done = child(code, tmp_path)
    assert_one_interrupt_line(done)
    assert (done.stdout + done.stderr).strip() == "interrupted; nothing was written", (done.stdout, done.stderr)


def test_an_error_without_an_interrupt_is_still_an_internal_error(tmp_path):
    code = ("import sys\nimport planner.solver.diagnosis as m\n"
            "def broken(*a, **k):\n    raise ImportError('initialization failed')\nm.diagnose = broken\n"
            f"from planner.cli import main\nsys.argv = ['planner', 'diagnose', {str(INSTANCES / 'toy.yaml')!r}]\nmain()\n")
    done = child(code, tmp_path)
    assert done.returncode == 4 and "internal error" in done.stderr, done.stderr


def test_ctrl_c_while_the_sweep_chart_is_drawn_keeps_the_files_and_says_so(tmp_path):
    out = tmp_path / "s"
    code = ("import sys\nimport planner.sweep.chart as c\n"
            "def stop(*a, **k):\n    raise KeyboardInterrupt\nc.write_sweep_chart = stop\n"
            f"from planner.cli import main\nsys.argv = ['planner', 'sweep', {str(INSTANCES / 'toy.yaml')!r}, "
            f"'--vary', 'finance.min_cash=1,2', '--out', {str(out)!r}, '-q']\nmain()\n")
    done = child(code, tmp_path)
    assert_one_interrupt_line(done)
    assert "interrupted while drawing sweep.png" in done.stdout
    assert json.loads((out / "sweep.json").read_text())["complete"] is True
    assert not (out / "sweep.png").exists()


def test_a_variant_whose_solve_ctrl_c_stopped_is_not_kept_as_an_error_row(tmp_path):
    # HiGHS, stopped from its callback, reports "Solve error": the row must not be kept
    out = tmp_path / "s"
    code = ("import signal, sys\nimport planner.sweep.run as r\nreal = r._solve_variant\ncalls = []\n"
            "def solve(*a, **k):\n    calls.append(1)\n    if len(calls) == 2:\n        try:\n"
            "            signal.raise_signal(signal.SIGINT)\n        except KeyboardInterrupt:\n"
            "            return {'status': 'error', 'message': 'the solver stopped (Solve error)'}\n"
            "    return real(*a, **k)\n"
            "r._solve_variant = solve\n"
            f"from planner.cli import main\nsys.argv = ['planner', 'sweep', {str(INSTANCES / 'toy.yaml')!r}, "
            f"'--vary', 'finance.min_cash=1,2,3', '--out', {str(out)!r}, '-q', '--no-chart']\nmain()\n")
    done = child(code, tmp_path)
    assert done.returncode == 130, (done.stdout, done.stderr)
    rows = (out / "sweep.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 2 and ",error," not in "\n".join(rows), rows  # the header and the first variant


@pytest.mark.parametrize("command", ["solve", "diagnose", "value", "sweep"])
def test_real_ctrl_c_at_early_moments_is_one_line_and_130(tmp_path, command):
    """SIGINT sent to a real child at several early moments: each run ends either as it
    would have (exit 0 or 1) or interrupted — exit 130 and one line, never a traceback."""
    instance = {"solve": "toy.yaml", "diagnose": "infeasible/openai-2025-stargate-delayed-no-bridge.yaml",
                "value": "openai-2025-uncertain.yaml", "sweep": "toy.yaml"}[command]
    extra = {"solve": ["--out", "r", "-q"], "value": ["--out", "v.json"],
             "sweep": ["--vary", "finance.min_cash=1,2", "--out", "s", "-q"]}.get(command, [])
    entry = "import sys; from planner.cli import main; sys.argv = ['planner'] + sys.argv[1:]; main()"
    for delay in (0.1, 0.3, 0.6):
        process = subprocess.Popen([sys.executable, "-c", entry, command, str(INSTANCES / instance), *extra],
                                   cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
        done = subprocess.CompletedProcess(process.args, process.returncode, out, err)
        if process.returncode in (0, 1):
            continue  # finished before the signal
        assert_one_interrupt_line(done)


def test_a_ctrl_c_as_the_command_ends_keeps_its_exit_code(tmp_path):
    """A Ctrl-C in the instant after a command ended (its SystemExit is being handled,
    before further ones are ignored) must not turn into a traceback: the command's exit
    stands. The instant is made to happen: the handler's last step raises the interrupt."""
    code = ("import sys, planner.cli as c\n"
            "def late():\n    raise KeyboardInterrupt\n"
            "c.gc.freeze = late\n"
            f"sys.argv = ['planner', 'validate', {str(INSTANCES / 'toy.yaml')!r}]\n"
            "c.main()\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=ENV, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
