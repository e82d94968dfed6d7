"""One ranking of what binds: ``planner solve``'s "Most valuable to relax" lines and
report.html's "What binds" name the same limits, with the same figures, in the same
order (planner.results.binding), ranked by duals.csv's ``value_per_money``."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import planner
from planner.cli import app
from planner.report.findings import binding_constraints
from planner.report.folder import load_results
from planner.results import binding
from planner.results.files import DUALS_COLUMNS, read_table
from planner.solver import duals

ROOT = Path(__file__).resolve().parents[1]
OPENAI = ROOT / "instances" / "openai-2025.yaml"


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    out = tmp_path_factory.mktemp("binding") / "openai-2025"
    result = CliRunner().invoke(app, ["solve", str(OPENAI), "--out", str(out), "--report"])
    assert result.exit_code == 0, result.output
    return result.output, out


def cli_lines(output: str) -> list[str]:
    """The numbered lines under "Most valuable to relax", without their numbers."""
    after = output.split("Most valuable to relax (shadow prices, duals.csv):\n", 1)[1]
    return [m.group(1) for m in re.finditer(r"^  \d+\. (.*)$", after, re.M)][:3]


def test_the_report_says_what_the_cli_says(solved):
    output, out = solved
    lines = cli_lines(output)
    assert len(lines) == 3
    assert [re.findall(r"by ([\d.]+) ", line)[-1] for line in lines] == ["10.01", "3.892", "3.685"]
    sentences, _ = binding_constraints(load_results(out))
    assert sentences == lines
    page = (out / "report.html").read_text(encoding="utf-8")
    binds = page[page.index("<h2>What binds</h2>"):page.index("<h2>Charts</h2>")]
    items = [html.unescape(item) for item in re.findall(r"<li>(.*?)</li>", binds)]
    assert len(items) == 3 and all(item.startswith(line) for item, line in zip(items, lines))
    assert "inference demand" not in binds, "service_cap is the market, not a limit"


def test_duals_csv_has_value_per_money(solved):
    _, out = solved
    table = read_table(out / "duals.csv")
    assert list(table.columns) == DUALS_COLUMNS
    inst = planner.load_instance(OPENAI)
    values = inst.unit_values()
    kinds = {family: kind for family, (_, kind) in duals.FAMILIES.items()}
    want = [price / values[kinds[f]] for f, price in zip(table["family"], table["shadow_price"])]
    assert table["value_per_money"].tolist() == pytest.approx(want, rel=1e-12)


def test_ranked_is_by_value_per_money_and_limits_only(solved):
    _, out = solved
    frame = binding.ranked(read_table(out / "duals.csv"))
    assert set(frame["family"]) <= set(duals.LIMIT_FAMILIES) and (frame["shadow_price"] > 0).all()
    assert frame["value_per_money"].is_monotonic_decreasing


def test_the_limit_families_have_one_home():
    """The ranking, the solver's duals and the family table name one set of limits."""
    from planner.model import families

    assert binding.LIMIT_FAMILIES is families.LIMIT_FAMILIES is duals.LIMIT_FAMILIES
    assert set(families.LIMIT_FAMILIES) == {f.name for f in families.DUAL_FAMILIES if f.role == "limit"}
