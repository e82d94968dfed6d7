"""Every file the planner writes, by name and columns, and the one reader of them.

The results folder (MODEL.md §3) holds ``summary.json``, the five tables, ``duals.csv``
and, when asked for, ``value.json`` and the report (``report.html`` and its chart PNGs).
Their names and columns are defined here only; the writers (:mod:`.folder`,
``planner.report``, ``planner value``) and the readers (:mod:`.check`, the report) take
them from here. So do a sweep folder's files (``planner sweep``).

:func:`read_table` is the one way to read a table back: columns that hold names
(:data:`NAME_COLUMNS`) are read as text exactly as written, so a provider called ``NA``,
``None``, ``null``, ``nan`` or ``2025`` keeps its name (pandas' default reading would turn
the first four into missing values); the other columns are numbers, blank = missing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SUMMARY_FILE = "summary.json"
#: The five tables of MODEL.md §3, each recomputable from the decisions (results.check).
TABLES = ("procurement", "capacity", "usage", "service", "finance")
#: Shadow prices of the constraints (planner.solver.duals); not a §3 table, so not in TABLES.
DUALS_FILE = "duals.csv"
#: Written by ``planner value`` beside a scenario instance's results.
VALUE_FILE = "value.json"
#: Every file ``planner solve`` writes into a results folder.
RESULT_FILES = (SUMMARY_FILE,) + tuple(f"{name}.csv" for name in TABLES) + (DUALS_FILE,)

#: The columns of each table, in order (scenario tables gain a leading ``case``).
COLUMNS = {
    "procurement": ["year", "provider", "source", "term", "capacity", "unit_price", "upfront", "online_from"],
    "capacity": ["year", "provider", "existing", "contracted", "owned", "active", "used", "idle", "spend", "charge"],
    "usage": ["year", "provider", "workload", "capacity", "compute"],
    "service": ["year", "workload", "demand", "served", "unserved", "revenue"],
    "finance": [
        "year", "revenue", "compute_cost", "capex", "capex_expense", "other_costs", "interest",
        "loss", "cumulative_loss", "funding", "debt", "cash",
    ],
}
#: duals.csv's columns (scenario results gain a leading ``case``; blank for shared rows).
#: ``value_per_money`` is the shadow price over what one unit of its kind is worth
#: (``Instance.unit_values()``): money saved per money's worth of relaxation.
DUALS_COLUMNS = [
    "family", "year", "provider", "workload", "contract", "shadow_price", "value_per_money", "unit", "meaning",
]

#: Columns that hold names or words: read as text, whatever they look like.
NAME_COLUMNS = ("case", "provider", "workload", "source", "contract", "family", "unit", "meaning")

#: The report: its page and its charts (chart key -> PNG name), in report order.
REPORT_HTML = "report.html"
REPORT_CHARTS = {
    "cases": "report-cases.png",
    "capacity": "report-capacity.png",
    "spend": "report-spend.png",
    "finance": "report-finance.png",
    "concentration": "report-concentration.png",
    "shadow_prices": "report-shadow-prices.png",
}
#: Every file the report may write into a results folder (report.html and all charts).
REPORT_FILES = (REPORT_HTML,) + tuple(REPORT_CHARTS.values())
#: Every file the planner may leave in a results folder.
PLANNER_FILES = RESULT_FILES + REPORT_FILES + (VALUE_FILE,)

#: A sweep folder (``planner sweep``): its table, summary, Sobol' indices and chart.
SWEEP_CSV, SWEEP_JSON, SENSITIVITY_CSV, SWEEP_PNG = "sweep.csv", "sweep.json", "sensitivity.csv", "sweep.png"
#: The files a sweep folder may hold (anything else there is refused, never deleted).
SWEEP_FILES = (SWEEP_CSV, SWEEP_JSON, SENSITIVITY_CSV, SWEEP_PNG)
#: sensitivity.csv's columns.
SENSITIVITY_COLUMNS = ["output", "rank", "path", "distribution", "first_order", "first_order_low",
                       "first_order_high", "total", "total_low", "total_high"]


def read_table(path: str | Path):
    """A CSV the planner wrote, as written: :data:`NAME_COLUMNS` as text (a blank is
    ``""``), every other column as numbers (a blank is missing). Raises what pandas
    raises for a file that is not a CSV table."""
    import pandas as pd

    header = pd.read_csv(path, nrows=0, dtype=str, keep_default_na=False).columns
    return pd.read_csv(
        path,
        dtype={column: str for column in header if column in NAME_COLUMNS},
        keep_default_na=False,
        na_values={column: [""] for column in header if column not in NAME_COLUMNS},
    )


def read_folder(folder: str | Path) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """A results folder: ``(summary, tables, duals)``, the tables by name (:data:`TABLES`)
    read by :func:`read_table`; ``duals`` is None when duals.csv is absent."""
    folder = Path(folder)
    summary = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
    tables = {name: read_table(folder / f"{name}.csv") for name in TABLES}
    duals_path = folder / DUALS_FILE
    return summary, tables, read_table(duals_path) if duals_path.exists() else None
