"""planner app without the browser: its controls, the variants they make, the plan of
each (against a fresh ``planner solve`` of the variant file), refusals, a failed solve,
and the downloads. The browser tests are tests/test_app_browser.py."""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from planner.app.controls import ControlError, changes, controls_from_vary, default_controls
from planner.app.session import Explorer
from planner.cli import app as cli_app
from planner.instance.loading import load_instance
from planner.instance.paths import field_value
from planner.solver.highs import solve
from planner.sweep.run import SweepError

ROOT = Path(__file__).resolve().parents[1]
OPENAI = ROOT / "instances" / "openai-2025.yaml"


@pytest.fixture(scope="module")
def explorer() -> Explorer:
    return Explorer(OPENAI)


def test_default_controls_come_from_the_instance(explorer):
    keys = {c.key for c in explorer.controls}
    assert "workloads.inference.demand[scale]" in keys
    assert "workloads.inference.revenue[scale]" in keys
    assert "workloads.training.revenue[scale]" not in keys  # zero: scaling it changes nothing
    assert "providers.stargate.capacity[shift]" in keys
    assert "providers.microsoft.contracts.reserved_3y.price[scale]" in keys
    assert "providers.stargate.build.capex[scale]" in keys
    assert {"finance.funding[scale]", "finance.other_costs[scale]"} <= keys
    assert all(explorer.base_values()[c.key] == c.base for c in explorer.controls)


def test_base_view_is_the_plan_of_the_base_file(explorer):
    fresh = solve(load_instance(OPENAI))
    assert explorer.base.status == "optimal"
    assert explorer.base.plan.objective_value == pytest.approx(fresh.objective_value, rel=1e-9)


def _solved_file(tmp_path: Path, text: str):
    path = tmp_path / "variant.yaml"
    path.write_text(text, encoding="utf-8")
    return solve(load_instance(path))


def test_a_variant_has_the_plan_of_its_file(explorer, tmp_path):
    values = {**explorer.base_values(), "finance.funding[scale]": 0.95, "providers.stargate.capacity[scale]": 0.9,
              "workloads.inference.revenue[scale]": 1.1}
    view = explorer.view(values)
    assert view.status == "optimal"
    _, text = explorer.variant_file(values)
    fresh = _solved_file(tmp_path, text)
    assert fresh.status == "optimal"
    assert view.plan.objective_value == pytest.approx(fresh.objective_value, rel=1e-9)
    assert view.plan.objective_value != pytest.approx(explorer.base.plan.objective_value, rel=1e-6)
    for name, table in fresh.tables.items():
        pd.testing.assert_frame_equal(view.plan.tables[name], table, check_exact=False, rtol=1e-7, atol=1e-7)
    pd.testing.assert_frame_equal(view.plan.duals, fresh.duals, check_exact=False, rtol=1e-6, atol=1e-7)


def test_the_variant_file_keeps_the_base_comments(explorer):
    values = {**explorer.base_values(), "finance.funding[scale]": 0.5, "providers.stargate.capacity[shift]": 1}
    _, text = explorer.variant_file(values)
    base = OPENAI.read_text(encoding="utf-8")
    assert "# S4: first tranche of the $40B round" in text
    assert "2025: 5.0                  # S4: first tranche" in text
    assert "capacity: {2025: 0.2, 2026: 0.2, 2027: 1.2, 2028: 2.2, 2029: 4.0, 2030: 6.5}" in text
    changed = [(a, b) for a, b in zip(base.splitlines(), text.splitlines()) if a != b]
    assert len(base.splitlines()) == len(text.splitlines())
    assert len(changed) == 5  # four funding years and stargate's capacity; 2029-2030 stays 0.0


def test_a_scaling_of_a_range_key_is_written_into_it(explorer, tmp_path):
    values = {**explorer.base_values(), "providers.coreweave.capacity[scale]": 0.5}
    _, text = explorer.variant_file(values)
    assert "capacity: {2025: 0.15, 2026: 0.3, 2027: 0.45, 2028-2030: 0.6}" in text


@settings(max_examples=25, deadline=None)
@given(funding=st.sampled_from([0.0, 0.35, 1.0, 1.45, 2.0]), shift=st.integers(-2, 3),
       capacity=st.floats(0.0, 2.0, allow_nan=False))
def test_the_variant_file_holds_the_variant(explorer, tmp_path_factory, funding, shift, capacity):
    values = {**explorer.base_values(), "finance.funding[scale]": funding,
              "providers.microsoft.capacity[shift]": shift, "providers.microsoft.capacity[scale]": capacity}
    _, text = explorer.variant_file(values)
    path = tmp_path_factory.mktemp("v") / "v.yaml"
    path.write_text(text, encoding="utf-8")
    written = load_instance(path)
    variant, _ = explorer.variant(explorer.checked(values))
    base = explorer.instance
    for p in ("finance.funding", "providers.microsoft.capacity", "workloads.inference.demand"):
        assert field_value(written, p) == field_value(variant, p)
    years = base.year_list
    capacity_base = field_value(base, "providers.microsoft.capacity")
    for t in years:  # shifted later by `shift` years (the ends repeat), then scaled
        source = min(max(t - shift, years[0]), years[-1])
        assert math.isclose(field_value(written, "providers.microsoft.capacity")[t], capacity_base[source] * capacity,
                            rel_tol=1e-12, abs_tol=1e-15)


def test_out_of_range_and_non_numbers_are_refused(explorer):
    for bad in (7, -0.5, "abc", None, float("nan")):
        view = explorer.view({**explorer.base_values(), "finance.funding[scale]": bad})
        assert view.status == "refused"
        assert "finance.funding" in view.message
    view = explorer.view({**explorer.base_values(), "providers.stargate.capacity[shift]": 1.5})
    assert view.status == "refused" and "whole number" in view.message


def test_no_plan_gives_the_diagnosis(explorer):
    view = explorer.view({**explorer.base_values(), "finance.funding[scale]": 0.0})
    assert view.status == "infeasible"
    assert "minimum cash  short by" in view.message
    assert "raise funding in 2025 by" in view.message


def test_a_failed_solve_is_a_message_and_the_next_one_works(explorer, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("HiGHS fell over")

    monkeypatch.setattr(explorer.program, "plan", broken)
    view = explorer.view({**explorer.base_values(), "finance.funding[scale]": 0.9})
    assert view.status == "error" and "HiGHS fell over" in view.message and "keeps running" in view.message
    monkeypatch.undo()
    assert explorer.view({**explorer.base_values(), "finance.funding[scale]": 0.9}).status == "optimal"
    assert not explorer.lock.locked()


def test_results_zip_is_the_results_folder(explorer):
    values = {**explorer.base_values(), "finance.other_costs[scale]": 0.9}
    name, data = explorer.results_zip(values)
    assert name == "openai-2025-variant.zip"
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = set(archive.namelist())
    assert {"openai-2025-variant/summary.json", "openai-2025-variant/finance.csv", "openai-2025-variant/duals.csv"} <= names
    summary = json.loads(archive.read("openai-2025-variant/summary.json"))
    assert summary["objective_value"] == pytest.approx(explorer.view(values).plan.objective_value, rel=1e-12)
    with pytest.raises(ValueError, match="minimum cash  short by"):
        explorer.results_zip({**explorer.base_values(), "finance.funding[scale]": 0.0})
    with pytest.raises(ControlError):
        explorer.variant_file({**explorer.base_values(), "finance.funding[scale]": 3})


def test_vary_chooses_the_controls(explorer):
    inst = explorer.instance
    controls = controls_from_vary(inst, ["finance.funding", "providers.stargate.capacity=+0y,+1y,+2y",
                                         "finance.min_cash=0:10:11"])
    assert [(c.key, c.low, c.high, c.base) for c in controls] == [
        ("finance.funding[scale]", 0.0, 2.0, 1.0), ("providers.stargate.capacity[shift]", 0.0, 2.0, 0),
        ("finance.min_cash[value]", 0.0, 10.0, 5.0)]
    assert changes(inst, controls, {"finance.min_cash[value]": 3.0}) == [("finance.min_cash", 3.0)]
    with pytest.raises(SweepError, match="distribution"):
        controls_from_vary(inst, ["finance.funding~uniform(0.5,1)"])
    with pytest.raises(SweepError, match="years"):
        controls_from_vary(inst, ["years=1,2"])
    assert default_controls(inst)  # the defaults without --vary


def test_the_command_refuses_bad_input(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli_app, ["app", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2 and "no such file" in result.output
    result = runner.invoke(cli_app, ["app", str(OPENAI), "--vary", "discount_rate=x1"])
    assert result.exit_code == 2 and "cannot vary" in result.output
    result = runner.invoke(cli_app, ["app", "--help"])
    assert result.exit_code == 0 and "--vary" in result.output and "127.0.0.1" in result.output


def test_the_command_serves_and_ctrl_c_stops_it_with_130():
    """`planner app` prints its address, serves the page there, and Ctrl-C ends it with
    one line and exit 130 (werkzeug's server swallows the interrupt; the CLI must not
    report success)."""
    import signal
    import subprocess
    import sys
    import urllib.request

    child = subprocess.Popen([sys.executable, "-m", "planner", "app", "instances/toy.yaml", "--port", "0"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        assert line.startswith("planner app: http://127.0.0.1:"), line
        url = line.split()[2]
        with urllib.request.urlopen(url, timeout=30) as page:
            assert page.status == 200 and b"planner app: toy" in page.read()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 130
    assert err.strip() == "stopped"
