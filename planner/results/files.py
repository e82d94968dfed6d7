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
import math
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

#: The columns that tell one row of a table from another (scenario tables gain a leading
#: ``case``): the planner writes each key once, so a repeated key is a damaged file.
KEYS = {
    "procurement": ("year", "provider", "source"),
    "capacity": ("year", "provider"),
    "usage": ("year", "provider", "workload"),
    "service": ("year", "workload"),
    "finance": ("year",),
    "duals": ("family", "year", "provider", "workload", "contract"),
}

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


class ResultsFileError(ValueError):
    """A results file the planner cannot have written; the message is one line naming the
    file, the line and the column or key."""


#: How ``inf`` and ``nan`` may be spelt in a CSV (the planner writes neither).
_NOT_FINITE = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan", "+nan", "-nan"}


def read_table(path: str | Path, cases: bool | None = None):
    """A CSV the planner wrote, as written: :data:`NAME_COLUMNS` as text (a blank is
    ``""``), every other column as numbers (a blank is missing). Raises what pandas
    raises for a file that is not a CSV table, and :class:`ResultsFileError` for one the
    planner cannot have written: a number that is not finite (``inf``, ``nan``, ``1e999``)
    or a row whose key (:data:`KEYS`) repeats an earlier row's. ``cases``: whether the
    table must have the ``case`` column of scenario results (None: either way)."""
    import pandas as pd

    path = Path(path)
    header = pd.read_csv(path, nrows=0, dtype=str, keep_default_na=False).columns
    frame = pd.read_csv(
        path,
        dtype={column: str for column in header if column in NAME_COLUMNS},
        keep_default_na=False,
        na_values={column: [""] for column in header if column not in NAME_COLUMNS},
    )
    if cases is not None and ("case" in frame.columns) != cases:
        raise ResultsFileError(f"{path} lacks the column case (summary.json has 'cases')" if cases else
                               f"{path}: scenario results (a 'case' column, MODEL.md §5) but summary.json has no 'cases'")
    _check_finite(path, frame)
    _check_keys(path, frame)
    return frame


def _line(position: int) -> int:
    """The file's line of the frame's ``position``-th row (after the header, 1-based)."""
    return position + 2


def _check_finite(path: Path, frame) -> None:
    import numpy as np
    import pandas as pd

    for column in frame.columns:
        if column in NAME_COLUMNS:
            continue
        values = frame[column]
        numbers = pd.to_numeric(values, errors="coerce")
        spelt = values.astype(str).str.strip().str.lower().isin(_NOT_FINITE) & values.notna()
        bad = (np.isinf(numbers.to_numpy(dtype=float, na_value=np.nan)) | spelt.to_numpy())
        if bad.any():
            position = int(bad.nonzero()[0][0])
            raise ResultsFileError(f"{path}: line {_line(position)}, column {column!r}: {str(values.iloc[position])!r} "
                                   "is not a finite number (the planner writes none)")


def _same_key(frame, key: list[str], i: int, j: int) -> bool:
    """Whether rows ``i`` and ``j`` have the same key (two blanks are the same, as for
    :meth:`pandas.DataFrame.duplicated`)."""
    a, b = frame[key].iloc[i], frame[key].iloc[j]
    return all((x == y) or (x != x and y != y) for x, y in zip(a, b))


def _check_keys(path: Path, frame) -> None:
    key = KEYS.get(path.stem)
    if key is None or not set(key) <= set(frame.columns):
        return  # not a results table, or one lacking a key column (its reader says so)
    key = (("case",) if "case" in frame.columns else ()) + key
    repeated = frame.duplicated(list(key)).to_numpy()
    if repeated.any():
        again = int(repeated.nonzero()[0][0])
        first = next(i for i in range(again) if _same_key(frame, list(key), i, again))
        where = ", ".join(f"{k} {frame[k].iloc[again]}" for k in key if str(frame[k].iloc[again]) not in ("", "<NA>", "nan"))
        raise ResultsFileError(f"{path}: line {_line(again)} repeats the row of line {_line(first)} ({where}); "
                               "each row appears once in a table the planner wrote")


def finance_figures(finance) -> dict[str, float]:
    """What summary.json records of one plan's (or one case's) finance.csv rows, in year
    order: the losses' sum, the peak of the cumulative loss and the last year's cash."""
    return {
        "cumulative_loss": float(finance["loss"].sum()),
        "peak_cumulative_loss": float(finance["cumulative_loss"].max()),
        "final_cash": float(finance["cash"].iloc[-1]),
    }


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_summary(folder: str | Path, summary: dict[str, Any], finance) -> None:
    """:class:`ResultsFileError` unless ``summary`` (summary.json) describes ``finance``
    (finance.csv, its columns already numbers): the same planning years, the same cases,
    and each plan's (each case's) cumulative loss, peak and final cash recomputed from the
    rows (:func:`finance_figures`, to 1e-6). The tables do not carry the instance's name,
    so this is how a summary.json of another instance or run is told apart."""
    path = Path(folder) / SUMMARY_FILE
    other = "; it does not describe the tables beside it (a summary.json of another run?)"
    years = summary.get("years")
    if isinstance(years, list) and len(years) == 2 and all(_number(y) for y in years):
        want, have = set(range(int(years[0]), int(years[1]) + 1)), {int(y) for y in finance["year"]}
        if want != have:
            raise ResultsFileError(f"{path}: years {years[0]}-{years[1]}, but finance.csv has "
                                   f"{min(have, default='none')}-{max(have, default='none')}{other}")
    cases = summary.get("cases")
    if isinstance(cases, dict) and cases and "case" in finance.columns:
        extra = sorted(set(finance["case"]) - set(cases))
        if extra:
            raise ResultsFileError(f"{path} has no case {extra[0]!r}, but finance.csv has its rows{other}")
        plans = {f"case {n}": (f, finance[finance["case"] == n]) for n, f in cases.items() if isinstance(f, dict)}
    else:
        plans = {"the plan": (summary, finance)}
    for label, (figures, rows) in plans.items():
        if rows.empty:
            continue  # a case without rows: the reader says so
        for key, value in finance_figures(rows).items():
            if _number(figures.get(key)) and not math.isclose(figures[key], value, rel_tol=1e-6, abs_tol=1e-6):
                raise ResultsFileError(f"{path}: {label}'s {key} is {figures[key]:g}, but finance.csv gives "
                                       f"{value:g}{other}")


def read_folder(folder: str | Path) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """A results folder: ``(summary, tables, duals)``, the tables by name (:data:`TABLES`)
    read by :func:`read_table`; ``duals`` is None when duals.csv is absent."""
    folder = Path(folder)
    summary = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
    tables = {name: read_table(folder / f"{name}.csv") for name in TABLES}
    duals_path = folder / DUALS_FILE
    return summary, tables, read_table(duals_path) if duals_path.exists() else None


# --------------------------------------------------------------------------------------
# Trade-off folders: ``planner frontier`` and ``planner alternatives`` (docs/tradeoffs.md)
# --------------------------------------------------------------------------------------

#: A frontier folder: one row per point, its summary (frontier.json), its chart.
FRONTIER_CSV, FRONTIER_JSON, FRONTIER_PNG = "frontier.csv", "frontier.json", "frontier.png"
#: frontier.csv's columns; ``share_<provider>`` columns (each provider's share of active
#: capacity in the last capped year) come between ``final_cash`` and ``shadow_price``.
#: ``max_share`` is the cap ε; ``shadow_price`` how much the objective falls when the cap
#: is loosened by 1 (= 100 percentage points), as duals.csv's sign; ``cost_per_point``
#: = shadow_price / 100, what one more percentage point of independence costs.
FRONTIER_COLUMNS = ["point", "max_share", "status", "objective", "cumulative_loss", "peak_cumulative_loss",
                    "final_cash", "shadow_price", "cost_per_point"]
#: The columns before the provider shares in frontier.csv.
FRONTIER_LEADING = FRONTIER_COLUMNS[:7]
#: An alternatives folder: one row per provider, its summary, its chart.
ALTERNATIVES_CSV, ALTERNATIVES_JSON, ALTERNATIVES_PNG = "alternatives.csv", "alternatives.json", "alternatives.png"
#: alternatives.csv's columns: each provider's share of active capacity in the last
#: planning year and its total spend over the horizon, smallest and largest over every
#: plan within the slack, and the optimal plan's own values.
ALTERNATIVES_COLUMNS = ["provider", "min_share", "max_share", "min_spend", "max_spend", "optimum_share",
                        "optimum_spend"]
#: The extremes of alternatives.csv, in column order (a plan folder each, with --plans).
EXTREMES = ("min_share", "max_share", "min_spend", "max_spend")
#: The sub-folder of a trade-off folder holding one results folder per plan (--plans).
PLANS_FOLDER = "plans"
#: Every file a frontier or alternatives folder may hold (its report included).
FRONTIER_FILES = (FRONTIER_CSV, FRONTIER_JSON, FRONTIER_PNG, REPORT_HTML)
ALTERNATIVES_FILES = (ALTERNATIVES_CSV, ALTERNATIVES_JSON, ALTERNATIVES_PNG, REPORT_HTML)


def frontier_columns(providers) -> list[str]:
    """frontier.csv's header for these providers (in the instance's order)."""
    return [*FRONTIER_LEADING, *(f"share_{p}" for p in providers), *FRONTIER_COLUMNS[7:]]
