"""Names that look like missing values survive every file and the report.

pandas' default CSV reading turns ``NA``, ``None``, ``null``, ``nan``, ``N/A``, ``NaN``,
``#N/A``, ``<NA>`` and the like into missing values. Validation allows them as names
(any printable, non-empty name), so a provider, contract or workload may be called so:
every table read back (:func:`planner.results.files.read_table`), every chart's input
(the report's :class:`Results` and its pivots) and report.html must keep each name.
"""

from __future__ import annotations

import html

import pytest

import planner
from planner.report import measures
from planner.report.folder import load_results
from planner.report.html import write_report
from planner.results.files import DUALS_FILE, TABLES, read_table

from .conftest import write_yaml

#: Names pandas reads as missing by default (its STR_NA_VALUES), and a few more.
WORKLOADS = {"null": (16.0, 1.0, 0.0), "N/A": (2.0, 0.0, 5.0), "''": (1.0, 0.0, 4.0)}
PROVIDERS = ["NA", "None", "nan", "NaN", "#N/A", "<NA>"]
CONTRACTS = {"NA": "None", "None": "null", "nan": "N/A", "NaN": "NA", "#N/A": "-nan", "<NA>": "#NA"}


def _instance() -> dict:
    """Three capacity units a provider (six for ``nan``), 16 compute units of ``null``
    demand to serve: every provider is used, ``nan`` (the dearest) only for its minimum
    share, which binds."""
    workloads = {w: {"demand": d, "min_served": m, "revenue": r} for w, (d, m, r) in WORKLOADS.items()}
    providers = {
        p: {"capacity": 3.0, "contracts": {CONTRACTS[p]: {"term": 1, "price": 1.0 + 0.1 * i}}}
        for i, p in enumerate(PROVIDERS)
    }
    providers["nan"].update(capacity=6.0, min_share=0.3)
    providers["nan"]["contracts"]["N/A"]["price"] = 2.0
    return {"name": "names", "years": [2025, 2026], "finance": {"initial_cash": 50.0},
            "workloads": workloads, "providers": providers}


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("names")
    inst = planner.load_instance(write_yaml(folder, _instance()))
    assert list(inst.providers) == PROVIDERS and list(inst.workloads) == list(WORKLOADS)
    plan = planner.solve(inst)
    assert plan.status == "optimal"
    out = plan.write(folder / "results")
    write_report(out)
    return plan, out


def test_every_table_reads_back_with_its_names(solved):
    plan, out = solved
    for name in TABLES:
        table, expected = read_table(out / f"{name}.csv"), plan.tables[name]
        for column in ("provider", "workload", "source"):
            if column in expected.columns:
                assert table[column].tolist() == expected[column].tolist(), f"{name}.csv {column}"
    sources = set(read_table(out / "procurement.csv")["source"])
    assert set(CONTRACTS.values()) <= sources, "every contract is signed"
    duals = read_table(out / DUALS_FILE)
    for column in ("provider", "workload", "contract"):
        assert duals[column].tolist() == [v if isinstance(v, str) else "" for v in plan.duals[column]], column
    assert "nan" in set(duals["provider"])


def test_the_charts_input_keeps_every_name(solved):
    _, out = solved
    r = load_results(out)
    assert r.providers == PROVIDERS and r.workloads == list(WORKLOADS)
    assert list(r.colours) == PROVIDERS
    for table, column, by in (("capacity", "active", "provider"), ("capacity", "spend", "provider"),
                              ("service", "demand", "workload"), ("usage", "capacity", "workload")):
        wide = r.pivot(table, column, by)
        assert list(wide.columns) == (PROVIDERS if by == "provider" else list(WORKLOADS))
        assert wide.to_numpy().sum() > 0
    assert (r.pivot("capacity", "active").sum() > 0).all(), "every provider has capacity in the chart"
    assert list(measures.shares(r).columns) == PROVIDERS
    assert list(measures.demand_in_capacity(r)[0].columns) == list(WORKLOADS)
    frame, _ = measures.ranked_duals(r)
    assert any("nan" in measures.dual_label(row) for _, row in frame.iterrows())


def test_the_report_names_every_name(solved):
    _, out = solved
    page = (out / "report.html").read_text(encoding="utf-8")
    table = page[page.index("<h2>Per year</h2>"):]
    for name in PROVIDERS:
        assert f"<th>{html.escape(name)} (capacity)</th>" in table, name
    for name in WORKLOADS:
        assert f"<th>{html.escape(name)} demand</th>" in table, name
    binds = page[page.index("<h2>What binds</h2>"):page.index("<h2>Charts</h2>")]
    assert "nan&#x27;s minimum share" in binds or "Nan&#x27;s minimum share" in binds
