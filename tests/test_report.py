"""planner.report.html: the charts and the self-contained HTML report of a results folder.

Folders are solved into tmp_path (never results/). Every PNG must decode at the stated
pixel size and not be blank; the HTML must hold the objective value and every year and
load nothing from the network; a folder missing a file is a ReportError naming it;
duals.csv present (hand-made here, since another module writes it) gives the
shadow-price chart, absent gives none and nothing breaks. Scenario results (MODEL.md §5)
get the cumulative-loss-by-case chart first, the other charts for one case, and the
expected objective, CVaR and a table of the cases in the HTML.
"""

from __future__ import annotations

import base64
import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import planner
from planner.report import findings, measures, style
from planner.report.folder import load_results
from planner.cli import app
from planner.report.html import CHARTS, PNG_SIZE, REPORT_FILES, ReportError, write_report

from .conftest import BASE, write_yaml

ROOT = Path(__file__).resolve().parent.parent
SHADOW = "report-shadow-prices.png"
CASES = "report-cases.png"
BASE_CHARTS = [c.filename for c in CHARTS if c.key not in ("shadow_prices", "cases")]
TABLE_FILES = ["summary.json", "procurement.csv", "capacity.csv", "usage.csv", "service.csv", "finance.csv"]

#: Hand-made duals.csv in the columns the brief names (no ``contract`` column): two
#: limits in different units, a cash floor, and an identity row that is not a limit.
HAND_DUALS = """family,year,provider,workload,shadow_price,unit,meaning
minimum_cash,2026,,,0.5,USD billion per USD billion,a minimum cash 1 USD billion lower at the end of 2026 lowers the cumulative loss by 0.5 USD billion
provider_capacity,2027,stargate,,3.0,USD billion per GW,1 more GW of stargate capacity in 2027 lowers the cumulative loss by 3 USD billion
service_cap,2026,,inference,4.0,USD billion per compute unit,1 more compute unit of inference demand in 2026 lowers the cumulative loss by 4 USD billion
use_within_reach,2025,microsoft,,5.0,USD billion per GW,1 more GW of microsoft capacity usable in 2025 at no cost lowers the cumulative loss by 5 USD billion
"""

#: A small plan with a take-or-pay shortfall, idle capacity, a build (capex and opex),
#: unserved demand, a workload some years served by nothing, and a "$" in a unit label.
SHORTFALL = {
    "name": "shortfall",
    "units": {"money": "$bn", "capacity": "MW"},
    "years": [2025, 2029],
    "workloads": {
        "training": {"demand": 1.0, "min_served": 1.0},
        "inference": {"demand": {"2025-2026": 3.0, "2027-2029": 0.5}, "min_served": 0.0, "revenue": 3.0},
        "research": {"demand": 0.5, "min_served": 0.0, "revenue": 0.5},
    },
    "finance": {"initial_cash": 90.0, "min_cash": 60.0},
    "providers": {
        "microsoft": {
            "capacity": {"2025-2026": 5.0, 2027: 3.0, "2028-2029": 1.2},
            "existing": {"2025-2027": 3.0, "2028-2029": 0.0},
            "existing_cost": {"2025-2027": 6.0, "2028-2029": 0.0},
            "min_spend": {"2025-2026": 0.0, "2027-2029": 9.0},
            "contracts": {"on_demand": {"term": 1, "price": 5.0}},
        },
        "stargate": {
            "efficiency": 2.0,
            "capacity": {2025: 0.0, "2026-2029": 4.0},
            "contracts": {"lease": {"term": 2, "price": 4.0}},
            "build": {"capex": 8.0, "lead_time": 1, "opex": 0.5, "max_per_year": 0.5},
        },
    },
}


def solve_into(source, folder: Path, duals: str | None = "keep") -> Path:
    """Solve ``source`` into ``folder``; ``duals``: "keep" what the solver wrote, None to
    remove duals.csv, or the text of a hand-made one."""
    plan = planner.solve(source)
    assert plan.status == "optimal"
    plan.write(folder)
    if duals is None:
        (folder / "duals.csv").unlink(missing_ok=True)
    elif duals != "keep":
        (folder / "duals.csv").write_text(duals, encoding="utf-8")
    return folder


def has_dual_rows(folder: Path) -> bool:
    path = folder / "duals.csv"
    return path.exists() and len(path.read_text(encoding="utf-8").strip().splitlines()) > 1


def read_png(path: Path):
    import matplotlib.image

    return matplotlib.image.imread(path)


def assert_good_png(path: Path) -> None:
    import numpy as np

    image = read_png(path)
    assert image.shape[:2] == (PNG_SIZE[1], PNG_SIZE[0]), (path.name, image.shape)
    assert float(image.var()) > 0, f"{path.name} is blank"
    rgb = np.round(image[..., :3] * 255).astype(np.uint32)
    colours = np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2])
    assert len(colours) > 20, f"{path.name} has only {len(colours)} colours"


def html_of(folder: Path) -> str:
    return (folder / "report.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------
# The shipped instances, end to end
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["toy", "openai-2025"])
def shipped(request, tmp_path_factory):
    folder = solve_into(ROOT / "instances" / f"{request.param}.yaml", tmp_path_factory.mktemp(request.param) / "out")
    return folder, write_report(folder)


def test_every_file_is_written_and_returned(shipped):
    folder, written = shipped
    expected = ["report.html"] + BASE_CHARTS + ([SHADOW] if has_dual_rows(folder) else [])
    assert [p.name for p in written] == expected
    assert all(p.parent == folder and p.is_file() for p in written)
    # written under a temporary name and renamed: nothing half-written is left behind
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_every_png_decodes_at_its_size_and_is_not_blank(shipped):
    _, written = shipped
    pngs = [p for p in written if p.suffix == ".png"]
    assert len(pngs) >= 4
    for path in pngs:
        assert_good_png(path)


def test_html_holds_objective_and_every_year(shipped):
    folder, _ = shipped
    import json

    summary = json.loads((folder / "summary.json").read_text())
    page = html_of(folder)
    value = summary["objective_value"]
    assert f"the optimum is {style.num(value)} {summary['units']['money']}" in page
    assert repr(value) in page  # full precision, in the embedded summary
    first, last = summary["years"]
    for year in range(first, last + 1):
        assert f"<td>{year}</td>" in page, year
    for section in ("Objective", "Key figures", "What binds", "Per year"):
        assert f"<h2>{section}</h2>" in page
    assert page.count("<li>", page.index("What binds"), page.index("<h2>Charts")) == 3


def test_html_is_self_contained(shipped):
    folder, written = shipped
    page = html_of(folder)
    assert not re.search(r"https?://", page), "the report must not load anything from the network"
    assert not re.search(r"<(script|link|iframe)\b", page, re.I)
    sources = re.findall(r'<img src="([^"]*)"', page)
    pngs = [p for p in written if p.suffix == ".png"]
    assert len(sources) == len(pngs)
    for source, path in zip(sources, pngs):
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.split(",", 1)[1]) == path.read_bytes()


def test_png_format_writes_only_the_charts(tmp_path):
    folder = solve_into(ROOT / "instances" / "toy.yaml", tmp_path / "toy", duals=None)
    written = write_report(folder, fmt="png")
    assert [p.name for p in written] == BASE_CHARTS
    assert not (folder / "report.html").exists()
    for path in written:
        assert_good_png(path)


# --------------------------------------------------------------------------------------
# duals.csv: present, absent, empty, malformed
# --------------------------------------------------------------------------------------


def test_hand_made_duals_give_the_shadow_price_chart_and_the_binding_sentences(tmp_path):
    folder = solve_into(ROOT / "instances" / "toy.yaml", tmp_path / "toy", duals=HAND_DUALS)
    written = write_report(folder)
    assert SHADOW in [p.name for p in written]
    assert_good_png(folder / SHADOW)
    page = html_of(folder)
    binds = page[page.index("What binds"):page.index("<h2>Charts")]
    # limits only (neither the identity row use_within_reach nor service_cap, the
    # market, is one), one sentence each
    assert "inference demand" not in binds
    assert "1 more GW of stargate capacity in 2027" in binds
    assert "A minimum cash 1 USD billion lower at the end of 2026" in binds
    assert "usable in 2025 at no cost" not in binds
    assert "From duals.csv" in binds
    # the minimum-cash row puts the floor on the finance chart
    floor, source = measures.cash_floor(load_results(folder))
    assert source == "duals" and list(floor) == [2026]


def test_without_duals_there_is_no_shadow_price_chart_and_nothing_breaks(tmp_path):
    folder = solve_into(ROOT / "instances" / "toy.yaml", tmp_path / "toy", duals=HAND_DUALS)
    write_report(folder)
    assert (folder / SHADOW).exists()
    (folder / "duals.csv").unlink()
    written = write_report(folder)
    assert SHADOW not in [p.name for p in written]
    assert not (folder / SHADOW).exists(), "the earlier report's shadow-price chart is stale and must go"
    page = html_of(folder)
    assert "duals.csv is not in the results folder" in page
    assert page.count('<img src="data:image/png', 0) == len(BASE_CHARTS)


def test_duals_with_no_rows_give_no_chart(tmp_path):
    folder = solve_into(ROOT / "instances" / "toy.yaml", tmp_path / "toy",
                        duals="family,year,provider,workload,contract,shadow_price,unit,meaning\n")
    written = write_report(folder)
    assert SHADOW not in [p.name for p in written]
    assert "duals.csv has no non-zero shadow price" in html_of(folder)


def test_malformed_duals_is_an_error_naming_it(tmp_path):
    folder = solve_into(ROOT / "instances" / "toy.yaml", tmp_path / "toy", duals="family,year\nminimum_cash,2026\n")
    with pytest.raises(ReportError, match=r"duals\.csv lacks the columns provider, workload, shadow_price"):
        write_report(folder)


# --------------------------------------------------------------------------------------
# Broken folders
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def toy_folder(tmp_path_factory):
    return solve_into(ROOT / "instances" / "toy.yaml", tmp_path_factory.mktemp("toy") / "toy")


@pytest.mark.parametrize("missing", TABLE_FILES)
def test_a_missing_file_is_named(toy_folder, tmp_path, missing):
    folder = tmp_path / "broken"
    shutil.copytree(toy_folder, folder)
    (folder / missing).unlink()
    with pytest.raises(ReportError) as caught:
        write_report(folder)
    message = str(caught.value)
    assert missing in message and "missing" in message and "\n" not in message
    assert not [p for p in folder.iterdir() if p.name in REPORT_FILES], "nothing is written for a broken folder"


@pytest.mark.parametrize(
    ("filename", "edit", "pattern"),
    [
        ("finance.csv", lambda text: text.replace(",cash\n", ",money\n", 1), r"finance\.csv lacks the column cash"),
        ("capacity.csv", lambda text: text.replace("microsoft,1.0", "microsoft,lots", 1), r"capacity\.csv: column 'existing'"),
        ("summary.json", lambda text: text[:-5], r"summary\.json is not valid JSON"),
        ("service.csv", lambda text: "", r"service\.csv is empty"),
        ("usage.csv", lambda text: "case," + text, r"usage\.csv: scenario results"),
    ],
)
def test_malformed_files_are_named(toy_folder, tmp_path, filename, edit, pattern):
    folder = tmp_path / "broken"
    shutil.copytree(toy_folder, folder)
    path = folder / filename
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(ReportError, match=pattern):
        write_report(folder)


def test_not_a_folder_and_unknown_format(tmp_path, toy_folder):
    with pytest.raises(ReportError, match="does not exist"):
        write_report(tmp_path / "nowhere")
    with pytest.raises(ReportError, match="unknown report format 'pdf'"):
        write_report(toy_folder, fmt="pdf")


# --------------------------------------------------------------------------------------
# What the charts and sentences show
# --------------------------------------------------------------------------------------


def test_demand_in_capacity_equivalent_matches_used_capacity_when_all_is_served(tmp_path):
    """openai-2025 serves all demand and its providers differ in efficiency: each
    workload's demand ÷ its served efficiency is exactly the capacity it uses."""
    folder = solve_into(ROOT / "instances" / "openai-2025.yaml", tmp_path / "oa")
    results = load_results(folder)
    demand, fallback = measures.demand_in_capacity(results)
    used = results.pivot("usage", "capacity", by="workload")
    assert not fallback
    assert (abs(demand - used) <= 1e-9 * (1 + used.abs())).all().all()
    # and it differs from the demand in compute units (efficiencies are not 1)
    assert (abs(demand - results.pivot("service", "demand", by="workload")) > 1e-3).any().any()


def test_shortfall_idle_build_and_unserved_are_shown(tmp_path):
    folder = solve_into(copy.deepcopy(SHORTFALL), tmp_path / "shortfall", duals=None)
    results = load_results(folder)
    short = measures.shortfalls(results)
    assert short["microsoft"].loc[2027] == pytest.approx(3.0) and short["stargate"].sum() == 0
    assert measures.owned_opex(results).sum() > 0
    demand, fallback = measures.demand_in_capacity(results)
    assert ("research", 2025) in fallback  # served by nothing: converted at the year's efficiency
    written = write_report(folder)
    for path in written[1:]:
        assert_good_png(path)
    page = html_of(folder)
    binds = page[page.index("What binds"):page.index("<h2>Charts")]
    assert "microsoft&#x27;s take-or-pay minimum spend binds in 2027–2029" in binds
    assert "paid for but idle (2027)" in binds
    assert "duals.csv is not in the results folder" in binds
    assert "take-or-pay shortfall" in page  # the spend chart's caption
    assert "$bn" in page


def test_provider_colours_are_fixed_by_order(toy_folder):
    results = load_results(toy_folder)
    assert results.providers == ["microsoft", "stargate"]
    assert results.colours == {"microsoft": style.PROVIDER_COLOURS[0], "stargate": style.PROVIDER_COLOURS[1]}


def test_year_list_and_numbers():
    assert style.year_list([2029, 2025, 2026, 2027]) == "2025–2027 and 2029"
    assert style.year_list([2030]) == "2030"
    assert style.num(83.27175) == "83.27" and style.num(-0.7) == "-0.7" and style.num(357589.2) == "357,589"


def test_lazy_import_and_headless(toy_folder, tmp_path):
    """Importing planner.report.html loads neither matplotlib nor pandas; the report renders
    with no display and whatever MPLBACKEND says (pyplot is never imported)."""
    folder = tmp_path / "toy"
    shutil.copytree(toy_folder, folder)
    code = (
        "import sys; import planner.report.html as r\n"
        "assert not [m for m in sys.modules if m.startswith(('matplotlib', 'pandas'))], 'eager import'\n"
        f"r.write_report(r.Path({str(folder)!r}))\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["MPLBACKEND"] = "TkAgg"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (folder / "report.html").exists()


def test_a_value_per_money_column_in_duals_sets_the_ranking(tmp_path):
    """When duals.csv carries planner.solver.duals' own ranking yardstick, it is used as is."""
    lines = HAND_DUALS.strip().splitlines()
    ranked_text = "\n".join([lines[0] + ",value_per_money"] + [lines[1] + ",9.0"] + [line + ",0.1" for line in lines[2:]]) + "\n"
    folder = solve_into(ROOT / "instances" / "toy.yaml", tmp_path / "toy", duals=ranked_text)
    sentences, _ = findings.binding_constraints(load_results(folder))
    assert sentences[0].startswith("A minimum cash 1 USD billion lower at the end of 2026")


# --------------------------------------------------------------------------------------
# Scenario results (MODEL.md §5)
# --------------------------------------------------------------------------------------


def with_cases(data: dict, cases: dict, commit_years: int | None = 1, weight: float = 0.3) -> dict:
    data = copy.deepcopy(data)
    data["scenarios"] = {"risk": {"alpha": 0.8, "weight": weight}, "cases": cases}
    if commit_years is not None:
        data["scenarios"]["commit_years"] = commit_years
    return data


#: conftest's BASE with two cases: inference demand booms, or earns less.
SMALL_CASES = with_cases(BASE, {
    "steady": {"probability": 0.6},
    "bust": {"probability": 0.4, "set": {"workloads.inference.revenue": 1.0,
                                         "workloads.inference.demand": {2025: 3.0, "2026-2027": 1.0}}},
})


@pytest.fixture(scope="module", params=["small", "openai-2025-uncertain"])
def scenario(request, tmp_path_factory):
    source = copy.deepcopy(SMALL_CASES) if request.param == "small" else ROOT / "instances" / f"{request.param}.yaml"
    folder = solve_into(source, tmp_path_factory.mktemp(request.param) / "out")
    return folder, write_report(folder)


def test_scenario_report_writes_the_cases_chart_first_then_the_plan_charts(scenario):
    folder, written = scenario
    assert [p.name for p in written] == ["report.html", CASES] + BASE_CHARTS + ([SHADOW] if has_dual_rows(folder) else [])
    for path in written[1:]:
        assert_good_png(path)
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_scenario_html_states_every_case_cvar_expected_objective_and_commit_years(scenario):
    import json

    folder, written = scenario
    summary = json.loads((folder / "summary.json").read_text())
    money = summary["units"]["money"]
    page = html_of(folder)
    for name, case in summary["cases"].items():
        assert f"<td>{name}</td>" in page, name
        assert f"<td>{case['objective_value']:,.2f}</td>" in page
    assert f"Expected objective: {style.num(summary['expected_objective'])} {money}" in page
    assert "CVaR at α = 0.8" in page and f"{style.num(summary['cvar'])} {money}" in page
    assert f"the optimum is {style.num(summary['objective_value'])} {money}" in page
    first = summary["years"][0]
    committed = style.year_list(range(first, first + summary["commit_years"]))
    assert f"Committed years: {committed} (commit_years {summary['commit_years']})" in page
    for section in ("Objective", "Key figures", "What binds", "Charts", "Per year"):
        assert f"<h2>{section}</h2>" in page
    # self-contained, and every chart embedded as written
    assert not re.search(r"https?://", page) and not re.search(r"<(script|link|iframe)\b", page, re.I)
    sources = re.findall(r'<img src="data:image/png;base64,([^"]*)"', page)
    assert [base64.b64decode(s) for s in sources] == [p.read_bytes() for p in written[1:]]


def test_the_plan_charts_draw_the_most_probable_case(scenario):
    folder, _ = scenario
    results = load_results(folder)
    cases = results.cases
    assert results.case == max(cases, key=lambda n: cases[n]["probability"])
    assert "case" not in results.tables["finance"].columns
    assert results.duals is None or "case" not in results.duals.columns
    assert f"<h3>Case {results.case}</h3>" in html_of(folder)
    assert f"Case {results.case} (probability " in html_of(folder)  # the per-plan charts' captions


def test_cumulative_loss_by_case_and_its_expected_value(scenario):
    folder, _ = scenario
    results = load_results(folder)
    by_case, expected = measures.cumulative_loss_by_case(results)
    assert list(by_case.columns) == list(results.cases) and list(by_case.index) == results.years
    last = results.years[-1]
    for name, case in results.cases.items():
        assert by_case.loc[last, name] == pytest.approx(case["cumulative_loss"], abs=1e-6)
    assert expected.loc[last] == pytest.approx(results.summary["cumulative_loss"], abs=1e-6)
    assert measures.committed_years(results) == results.years[:results.summary["commit_years"]]


def test_another_case_can_be_drawn_and_an_unknown_case_is_an_error(tmp_path):
    folder = solve_into(copy.deepcopy(SMALL_CASES), tmp_path / "small")
    written = write_report(folder, case="bust")
    assert "<h3>Case bust</h3>" in html_of(folder) and "the chosen case" in html_of(folder)
    for path in written[1:]:
        assert_good_png(path)
    with pytest.raises(ReportError, match="has no case 'boom' \\(cases: steady, bust\\)"):
        write_report(folder, case="boom")


def test_no_committed_year_and_one_case(tmp_path):
    """commit_years 0: nothing shaded; one case of probability 1 is still scenario results."""
    data = with_cases(BASE, {"only": {"probability": 1.0}}, commit_years=0, weight=0.0)
    folder = solve_into(data, tmp_path / "one")
    written = write_report(folder)
    assert [p.name for p in written][:2] == ["report.html", CASES]
    for path in written[1:]:
        assert_good_png(path)
    page = html_of(folder)
    assert "No year is committed" in page and "Committed years: none" in page
    assert "reported only (risk weight 0" in page


def test_cases_in_summary_but_not_in_a_table_is_an_error(tmp_path):
    folder = solve_into(copy.deepcopy(SMALL_CASES), tmp_path / "small")
    path = folder / "service.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(line.split(",", 1)[1] for line in lines) + "\n", encoding="utf-8")
    with pytest.raises(ReportError, match=r"service\.csv lacks the column case \(summary\.json has 'cases'\)"):
        write_report(folder)
    assert not (folder / "report.html").exists()


def test_a_case_without_rows_is_named(tmp_path):
    folder = solve_into(copy.deepcopy(SMALL_CASES), tmp_path / "small")
    path = folder / "finance.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(line for line in lines if not line.startswith("bust,")) + "\n", encoding="utf-8")
    with pytest.raises(ReportError, match=r"finance\.csv has no rows for the case bust"):
        write_report(folder)


def test_plain_results_get_no_cases_chart(toy_folder, tmp_path):
    folder = tmp_path / "toy"
    shutil.copytree(toy_folder, folder)
    (folder / CASES).write_bytes(b"stale")
    written = write_report(folder)
    assert CASES not in [p.name for p in written]
    assert not (folder / CASES).exists(), "a stale cases chart of earlier scenario results must go"
    with pytest.raises(ReportError, match="holds a plain plan"):
        write_report(folder, case="base")


def test_solve_with_report_writes_the_scenario_report(tmp_path):
    instance = write_yaml(tmp_path, SMALL_CASES, "small.yaml")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["solve", str(instance), "--out", str(out), "--report", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "Wrote the report" in result.output and "no report for scenario" not in result.output
    assert (out / "report.html").is_file() and (out / CASES).is_file()


def test_report_command_draws_the_case_asked_for(tmp_path):
    folder = solve_into(copy.deepcopy(SMALL_CASES), tmp_path / "small")
    result = CliRunner().invoke(app, ["report", str(folder), "--case", "bust"])
    assert result.exit_code == 0, result.output
    assert "<h3>Case bust</h3>" in html_of(folder)
    result = CliRunner().invoke(app, ["report", str(folder), "--case", "boom"])
    assert result.exit_code == 2 and "has no case 'boom'" in result.output
