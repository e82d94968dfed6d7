"""planner app in a real headless browser (Debian's chromium through Playwright): move
a control and get the figures of ``planner solve`` of the same variant file, download
the variant and its results, see the diagnosis of a variant with no plan.

Skipped, with the reason, where chromium or playwright is missing (``.ci/run`` installs
chromium). ``PLANNER_APP_SCREENSHOT=docs/app.png`` also saves the README's screenshot.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from planner.report.style import num
from tests.browser import browser_page, figure, missing, running_app, set_control

ROOT = Path(__file__).resolve().parents[1]
OPENAI = ROOT / "instances" / "openai-2025.yaml"
FIGURES = ("objective_value", "cumulative_loss", "peak_cumulative_loss", "final_cash", "commitments_after_horizon")

pytestmark = [pytest.mark.browser, pytest.mark.skipif(missing() is not None, reason=str(missing()))]


@pytest.fixture(scope="module")
def page():
    with running_app(OPENAI) as (url, _), browser_page(url) as page:
        yield page


def _reset(page):
    info = page.locator("#solve-info").text_content()
    page.click("#reset-all")
    page.wait_for_function("([el, old]) => el.textContent !== old", arg=[page.locator("#solve-info").element_handle(), info])
    page.wait_for_function("el => el.textContent.includes('optimal')", arg=page.locator("#solve-info").element_handle())


def _solve_cli(path: Path, out: Path) -> dict:
    run = subprocess.run([str(Path(sys.executable).with_name("planner")), "solve", str(path), "--out", str(out), "--quiet"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads((out / "summary.json").read_text())


def test_moving_a_control_gives_the_plan_of_the_variant_file(page, tmp_path):
    _reset(page)
    base = {key: figure(page, key) for key in FIGURES}
    set_control(page, "finance.funding[scale]", 0.95)
    line = set_control(page, "providers.stargate.capacity[scale]", 0.9)
    assert "optimal" in line
    shown = {key: figure(page, key) for key in FIGURES}
    assert shown["objective_value"] != pytest.approx(base["objective_value"], rel=1e-6)
    with page.expect_download() as download:
        page.click("#download-yaml")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert "# S4: first tranche" in path.read_text()  # the base file's comments
    summary = _solve_cli(path, tmp_path / "solved")
    for key in FIGURES:
        assert shown[key] == pytest.approx(summary[key], rel=1e-9, abs=1e-9), key
    last = summary["years"][1]  # [first, last] planning year
    cell = page.locator(f"#year-{last}-cumulative_loss")  # the per-year table is drawn, with the variant's figures
    assert cell.is_visible()
    assert float(cell.get_attribute("title")) == pytest.approx(summary["cumulative_loss"], rel=1e-9)
    assert cell.text_content().startswith(num(summary["cumulative_loss"]))
    page.wait_for_selector("#capacity-chart .main-svg")  # the Plotly charts are drawn
    if os.environ.get("PLANNER_APP_SCREENSHOT"):
        page.screenshot(path=os.environ["PLANNER_APP_SCREENSHOT"], full_page=True)


def test_the_results_zip_holds_the_shown_plan(page, tmp_path):
    _reset(page)
    set_control(page, "finance.other_costs[scale]", 1.1)
    objective = figure(page, "objective_value")
    with page.expect_download() as download:
        page.click("#download-zip")
    path = tmp_path / "results.zip"
    download.value.save_as(path)
    with zipfile.ZipFile(path) as archive:
        summary = json.loads(archive.read("openai-2025-variant/summary.json"))
        assert "openai-2025-variant/capacity.csv" in archive.namelist()
    assert summary["objective_value"] == pytest.approx(objective, rel=1e-12)


def test_a_variant_with_no_plan_shows_the_diagnosis(page):
    _reset(page)
    line = set_control(page, "finance.funding[scale]", 0)
    assert "infeasible" in line
    assert "No plan" in page.locator("#status").text_content()
    message = page.locator("#message").text_content()
    assert "minimum cash  short by" in message and "raise funding" in message
    line = set_control(page, "finance.funding[scale]", 1)  # and back: the app goes on
    assert "optimal" in line


def test_out_of_range_is_refused_with_a_message(page):
    _reset(page)
    set_control(page, "finance.funding[scale]", 5)
    assert page.locator("#status").text_content() == "Refused"
    assert "outside from 0 to 2" in page.locator("#message").text_content()


def test_reset_and_saved_variants(page):
    _reset(page)
    base = figure(page, "objective_value")
    set_control(page, "workloads.inference.revenue[scale]", 0.8)
    page.click("#save")
    page.wait_for_selector("#saved-variants")
    table = page.locator("#saved-variants").text_content()
    assert "variant 1" in table and "workloads.inference.revenue x0.8" in table
    info = page.locator("#solve-info").text_content()
    row = page.locator(".control-row", has=page.locator('input[name="workloads.inference.revenue[scale]"]'))
    row.locator("button.reset").click()
    page.wait_for_function("([el, old]) => el.textContent !== old", arg=[page.locator("#solve-info").element_handle(), info])
    assert figure(page, "objective_value") == pytest.approx(base, rel=1e-12)
