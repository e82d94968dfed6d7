"""planner.report.tradeoffs: the chart and report.html of a frontier or alternatives folder.

The folders are written by hand into tmp_path (the columns of planner.results.files):
three providers, one of them called "NA" (it must stay "NA"), a frontier of five points
with a knee, and the ranges of three providers within a 5% slack. The PNGs must decode
at PNG_SIZE and not be blank; report.html must hold the sentences' numbers, the table and
the embedded chart; a stopped run (fewer rows) and a one-point frontier still draw; a
damaged file is a ReportError naming it; ``planner report DIR`` writes the page (exit 0)
or says in one line what is wrong (exit 2).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.report.folder import ReportError
from planner.report.html import write_report
from planner.report.style import PNG_SIZE
from planner.report.tradeoffs import (
    alternatives_sentences, frontier_kind, frontier_sentences, load_alternatives, load_frontier,
    render_alternatives_chart, render_frontier_chart, tradeoff_report_html,
)
from planner.results.files import (
    ALTERNATIVES_COLUMNS, ALTERNATIVES_CSV, ALTERNATIVES_JSON, ALTERNATIVES_PNG, FRONTIER_CSV, FRONTIER_JSON,
    FRONTIER_PNG, PLANS_FOLDER, REPORT_HTML, frontier_columns,
)

PROVIDERS = ["stargate", "NA", "microsoft"]
UNITS = {"money": "USD billion", "capacity": "GW"}

#: point, cap, objective, cumulative loss, peak, final cash, shares (stargate, NA, microsoft), shadow price
POINTS = [
    (0, 0.62, 100.0, 110.0, 40.0, 5.0, (0.62, 0.0, 0.38), 0.0),
    (1, 0.55, 101.0, 111.0, 40.5, 4.5, (0.55, 0.05, 0.40), 20.0),
    (2, 0.48, 103.0, 113.5, 41.0, 4.0, (0.48, 0.10, 0.42), 40.0),
    (3, 0.41, 110.0, 121.0, 43.0, 3.0, (0.41, 0.15, 0.44), 300.0),
    (4, 0.3512, 125.0, 137.0, 48.0, 1.0, (0.3512, None, 0.6488), 900.0),
]

#: provider, min share, max share, min spend, max spend, optimum share, optimum spend
RANGES = [
    ("stargate", 0.40, 0.70, 30.0, 55.0, 0.62, 50.0),
    ("NA", 0.0, 0.12, 0.0, 8.0, 0.0, 0.0),
    ("microsoft", 0.30, 0.45, 20.0, 35.0, 0.38, 25.0),
]


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in row] for row in rows])


def frontier_folder(tmp_path: Path, points=POINTS, complete: bool = True, knee: int | None = 3,
                    name: str = "frontier") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / PLANS_FOLDER).mkdir()  # a frontier folder may hold plans/: ignored
    rows = [[pt, cap, obj, cum, peak, cash, *shares, price, price / 100]
            for pt, cap, obj, cum, peak, cash, shares, price in points]
    rows = [row[:2] + ["optimal"] + row[2:] for row in rows]
    write_csv(folder / FRONTIER_CSV, frontier_columns(PROVIDERS), rows)
    meta = {"kind": "frontier", "instance": "toy", "objective": "cumulative_loss", "objective_value": points[0][2],
            "provider": "stargate", "years": [2029, 2030], "points": 5, "optimum_share": points[0][1],
            "smallest_cap": 0.3512, "tolerance": 1e-4, "knee": knee, "complete": complete, "units": UNITS,
            "providers": PROVIDERS, "solves": 17, "seconds": 2.5}
    (folder / FRONTIER_JSON).write_text(json.dumps(meta), encoding="utf-8")
    return folder


def alternatives_folder(tmp_path: Path, ranges=RANGES, complete: bool = True) -> Path:
    folder = tmp_path / "alternatives"
    folder.mkdir()
    write_csv(folder / ALTERNATIVES_CSV, ALTERNATIVES_COLUMNS, [list(r) for r in ranges])
    meta = {"kind": "alternatives", "instance": "toy", "objective": "cumulative_loss", "objective_value": 100.0,
            "slack": 0.05, "bound": 105.0, "last_year": 2030, "method": "Dinkelbach", "complete": complete,
            "units": UNITS, "providers": PROVIDERS, "solves": 24, "seconds": 3.0}
    (folder / ALTERNATIVES_JSON).write_text(json.dumps(meta), encoding="utf-8")
    return folder


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def assert_drawn(data: bytes) -> None:
    """A PNG of PNG_SIZE that is not one flat colour."""
    from matplotlib.image import imread

    assert png_size(data) == PNG_SIZE
    pixels = imread(io.BytesIO(data), format="png")
    assert pixels.std() > 0.01


def embedded_png(page: str) -> bytes:
    found = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert found, "no embedded PNG"
    return base64.b64decode(found.group(1))


# ---------------------------------------------------------------------- reading

def test_kind_by_the_summary_present(tmp_path):
    assert frontier_kind(frontier_folder(tmp_path)) == "frontier"
    assert frontier_kind(alternatives_folder(tmp_path)) == "alternatives"
    assert frontier_kind(tmp_path) is None
    assert frontier_kind(tmp_path / "absent") is None


def test_a_provider_called_NA_stays_NA(tmp_path):
    table, meta = load_alternatives(alternatives_folder(tmp_path))
    assert list(table["provider"]) == PROVIDERS
    frontier, _ = load_frontier(frontier_folder(tmp_path))
    assert "share_NA" in frontier.columns and frontier["share_NA"].iloc[1] == pytest.approx(0.05)
    assert frontier["share_NA"].isna().iloc[-1]  # a blank share is allowed


def test_the_frontier_is_read_in_point_order(tmp_path):
    folder = frontier_folder(tmp_path, points=list(reversed(POINTS)))
    table, _ = load_frontier(folder)
    assert list(table["point"]) == [0, 1, 2, 3, 4]


# ---------------------------------------------------------------------- charts

def test_the_frontier_chart_is_a_png_of_the_one_size(tmp_path):
    assert_drawn(render_frontier_chart(frontier_folder(tmp_path)))


def test_the_alternatives_chart_is_a_png_of_the_one_size(tmp_path):
    assert_drawn(render_alternatives_chart(alternatives_folder(tmp_path)))


def test_an_alternatives_chart_with_no_share_draws(tmp_path):
    blank = [(p, None, None, lo, hi, None, opt) for p, _, _, lo, hi, _, opt in RANGES]
    folder = alternatives_folder(tmp_path, ranges=blank)
    assert_drawn(render_alternatives_chart(folder))
    table, meta = load_alternatives(folder)
    assert "no share of 2030 can be read" in " ".join(alternatives_sentences(table, meta))


# ---------------------------------------------------------------------- the page

def test_the_frontier_page_reads_the_results(tmp_path):
    page = tradeoff_report_html(frontier_folder(tmp_path))
    text = re.sub(r"\s+", " ", html.unescape(page))
    assert "Capping stargate's share at 35.1% in 2029–2030 costs 25.00 USD billion more than the optimum's 62%" in text
    assert "The knee is at 41% (point 3), 10.00 USD billion above the optimum" in text
    assert "costs 3.00 USD billion, and past it up to 9.00 USD billion" in text
    assert "The last point, 35.1%, is the smallest cap with a plan" in text
    assert "discounted cumulative loss" in text  # objective 100 against cumulative loss 110
    assert "<table>" in page and "<th>share NA 2030</th>" in page and "3 (knee)" in page and "4 (smallest cap)" in page
    assert "35.12%" in page and "0 (optimum)" in page
    assert png_size(embedded_png(page)) == PNG_SIZE
    assert "http://" not in page and "https://" not in page


def test_the_alternatives_page_reads_the_results(tmp_path):
    page = tradeoff_report_html(alternatives_folder(tmp_path))
    text = re.sub(r"\s+", " ", html.unescape(page))
    assert ("Within 5% of the optimum (objective ≤ 105.00 USD billion; the optimum is 100.00), stargate's 2030 "
            "share of active capacity can range from 40% to 70% (the optimum's: 62%)") in text
    assert "The narrowest is NA's: 0% to 12%." in text
    assert "Spend over the horizon can move the most for stargate: from 30.00 to 55.00 USD billion" in text
    assert "<td>NA</td>" in page and "<td>70.00%</td>" in page and "Dinkelbach" in page
    assert png_size(embedded_png(page)) == PNG_SIZE


def test_an_incomplete_frontier_draws_and_says_so(tmp_path):
    folder = frontier_folder(tmp_path, points=POINTS[:3], complete=False, knee=None)
    assert_drawn(render_frontier_chart(folder))
    table, meta = load_frontier(folder)
    sentences = frontier_sentences(table, meta)
    assert sentences[-1].startswith("The run was stopped after 3 of 5 points")
    assert not any("smallest cap with a plan (to within" in s for s in sentences)
    page = tradeoff_report_html(folder)
    assert "(incomplete)" in page and "smallest cap)" not in page


def test_an_incomplete_alternatives_folder_draws_and_says_so(tmp_path):
    folder = alternatives_folder(tmp_path, ranges=RANGES[:2], complete=False)
    assert_drawn(render_alternatives_chart(folder))
    page = tradeoff_report_html(folder)
    assert "The run was stopped after 2 of 3 providers" in page and "incomplete: 2 of 3 providers" in page


def test_a_one_point_frontier_works(tmp_path):
    folder = frontier_folder(tmp_path, points=POINTS[:1], knee=None)
    assert_drawn(render_frontier_chart(folder))
    table, meta = load_frontier(folder)
    sentences = frontier_sentences(table, meta)
    assert len(sentences) == 2 and "62%" in sentences[0]
    assert png_size(embedded_png(tradeoff_report_html(folder))) == PNG_SIZE


# ---------------------------------------------------------------------- faults

@pytest.mark.parametrize("build, file", [(frontier_folder, FRONTIER_CSV), (alternatives_folder, ALTERNATIVES_CSV)])
def test_a_missing_column_names_the_file(tmp_path, build, file):
    folder = build(tmp_path)
    lines = (folder / file).read_text(encoding="utf-8").splitlines()
    rows = [line.split(",")[:-1] for line in lines]  # the last column dropped
    (folder / file).write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    with pytest.raises(ReportError, match=re.escape(str(folder / file)) + " lacks the column") as err:
        write_report(folder)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("change, words", [
    (lambda m: m.pop("providers"), "has no 'providers'"),
    (lambda m: m.update(kind="sweep"), "'kind' must be 'frontier'"),
    (lambda m: m.update(knee=9), "'knee' is point 9"),
    (lambda m: m.update(years=[]), "'years' must be a list of years"),
])
def test_a_malformed_summary_names_the_file(tmp_path, change, words):
    folder = frontier_folder(tmp_path)
    meta = json.loads((folder / FRONTIER_JSON).read_text(encoding="utf-8"))
    change(meta)
    (folder / FRONTIER_JSON).write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ReportError, match=re.escape(words)) as err:
        load_frontier(folder)
    assert str(folder / FRONTIER_JSON) in str(err.value)


def test_a_non_number_and_a_missing_table_name_the_file(tmp_path):
    folder = alternatives_folder(tmp_path)
    text = (folder / ALTERNATIVES_CSV).read_text(encoding="utf-8").replace("55.0", "lots")
    (folder / ALTERNATIVES_CSV).write_text(text, encoding="utf-8")
    with pytest.raises(ReportError, match=r"alternatives\.csv: line 2, column 'max_spend'"):
        load_alternatives(folder)
    (folder / ALTERNATIVES_CSV).unlink()
    with pytest.raises(ReportError, match=r"alternatives\.csv is missing"):
        load_alternatives(folder)


# ---------------------------------------------------------------------- write_report and the CLI

def test_write_report_writes_the_page_and_the_chart(tmp_path):
    folder = frontier_folder(tmp_path)
    written = write_report(folder)
    assert written == [folder / REPORT_HTML, folder / FRONTIER_PNG]
    assert_drawn((folder / FRONTIER_PNG).read_bytes())
    assert not (folder / "summary.json").exists() and not (folder / "report-capacity.png").exists()
    assert write_report(folder, "png") == [folder / FRONTIER_PNG]


def test_write_report_refuses_a_case_for_a_tradeoff_folder(tmp_path):
    with pytest.raises(ReportError, match="alternatives folder"):
        write_report(alternatives_folder(tmp_path), case="boom")


def test_planner_report_on_a_tradeoff_folder(tmp_path):
    folder = alternatives_folder(tmp_path)
    result = CliRunner().invoke(app, ["report", str(folder)])
    assert result.exit_code == 0, result.output
    assert (folder / REPORT_HTML).is_file() and (folder / ALTERNATIVES_PNG).is_file()
    assert "alternatives.png" in (folder / REPORT_HTML).read_text(encoding="utf-8")


def test_planner_report_on_a_broken_tradeoff_folder(tmp_path):
    folder = frontier_folder(tmp_path)
    (folder / FRONTIER_CSV).write_text("point,max_share\n0,0.5\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["report", str(folder)])
    assert result.exit_code == 2
    message = result.output.strip()
    assert len(message.splitlines()) == 1 and FRONTIER_CSV in message and "lacks the column" in message
    assert not (folder / REPORT_HTML).exists()
