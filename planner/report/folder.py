"""Reading a results folder into :class:`Results` for the report.

Tables are read by the one reader, :func:`planner.results.files.read_table` (names kept
exactly as written; no repeated row, no ``inf``), then checked: every column the report
needs is there and holds numbers where it should, and summary.json describes these tables
(:func:`planner.results.files.check_summary`); :class:`ReportError` names the file and
what is wrong.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..results.files import (
    COLUMNS, DUALS_COLUMNS, DUALS_FILE, NAME_COLUMNS, SUMMARY_FILE, TABLES, ResultsFileError, check_summary, read_table,
)
from .style import PROVIDER_COLOURS, is_number

#: summary.json's keys the report needs.
_SUMMARY_KEYS = ("objective", "objective_value", "years")
#: Columns the report does not read (hand-made or older folders may lack them).
_OPTIONAL = {"term", "unit_price", "upfront", "online_from", "contract", "value_per_money"}
#: The columns read from each file (MODEL.md §3; duals.csv from planner.solver.duals).
_NEEDED = {
    **{f"{name}.csv": [c for c in COLUMNS[name] if c not in _OPTIONAL] for name in TABLES},
    DUALS_FILE: [c for c in DUALS_COLUMNS if c not in _OPTIONAL],
}

__all__ = ["ReportError", "Results", "load_results", "most_probable", "ordered"]


class ReportError(Exception):
    """The report cannot be made (a file missing or malformed, or nothing can be written).

    The message is one line and names the file."""


@dataclass
class Results:
    """A results folder, read and checked: the tables as pandas frames."""

    folder: Path
    summary: dict[str, Any]
    tables: dict[str, Any]          # "capacity" -> DataFrame, ...
    duals: Any | None               # DataFrame, or None when duals.csv is absent
    years: list[int]
    money: str
    capacity_unit: str
    providers: list[str]
    workloads: list[str]
    colours: dict[str, str] = field(default_factory=dict)
    case: str | None = None         # scenario results: the case the per-plan charts draw
    case_finance: Any | None = None  # scenario results: finance.csv, every case's rows
    shown_name: str | None = None   # the folder's name as the page shows it (else folder.name)

    @property
    def name(self) -> str:
        return str(self.summary.get("instance") or self.folder.name)

    @property
    def cases(self) -> dict[str, dict[str, Any]]:
        """summary.json's ``cases`` (MODEL.md §5), empty for a plain plan."""
        return self.summary.get("cases") or {}

    @property
    def is_scenario(self) -> bool:
        return self.case is not None

    def pivot(self, table: str, column: str, by: str = "provider"):
        """``table``'s ``column`` as a year × provider (or workload) frame, summed, every
        planning year present (0 where a table has no row)."""
        frame = self.tables[table]
        keys = self.providers if by == "provider" else self.workloads
        wide = frame.pivot_table(index="year", columns=by, values=column, aggfunc="sum", fill_value=0.0)
        return wide.reindex(index=self.years, columns=keys, fill_value=0.0).astype(float)

    def series(self, column: str):
        """A finance.csv column indexed by year (every planning year)."""
        return self.tables["finance"].set_index("year")[column].reindex(self.years, fill_value=0.0).astype(float)


def load_results(results_dir: str | Path, case: str | None = None) -> Results:
    """Read and check a results folder; :class:`ReportError` names what is wrong.

    For scenario results the tables (and duals.csv) are cut down to one case's rows:
    ``case``, or by default the most probable case (the first of equals)."""
    folder = Path(results_dir)
    if not folder.exists():
        raise ReportError(f"results folder {folder} does not exist")
    if not folder.is_dir():
        raise ReportError(f"{folder} is not a results folder (not a folder)")
    summary = _read_summary(folder / SUMMARY_FILE)
    scenario = "cases" in summary
    tables = {name: _read_table(folder / f"{name}.csv", scenario) for name in TABLES}
    duals_path = folder / DUALS_FILE
    duals = _read_table(duals_path) if duals_path.exists() else None
    all_finance = tables["finance"]
    chosen = _check_cases(folder, summary, tables, case)
    try:
        check_summary(folder, summary, all_finance)
    except ResultsFileError as err:
        raise ReportError(str(err)) from None
    if chosen is not None:
        tables = {name: _case_rows(frame, chosen) for name, frame in tables.items()}
        duals = None if duals is None else _case_rows(duals, chosen)

    first, last = summary["years"]
    years = list(range(first, last + 1))
    units = summary.get("units") if isinstance(summary.get("units"), dict) else {}
    providers = ordered(tables["capacity"]["provider"])
    workloads = ordered(tables["service"]["workload"])
    if not providers:
        raise ReportError(f"{folder / 'capacity.csv'} has no rows")
    if not workloads:
        raise ReportError(f"{folder / 'service.csv'} has no rows")
    results = Results(
        folder=folder, summary=summary, tables=tables, duals=duals, years=years,
        money=str(units.get("money") or "money"), capacity_unit=str(units.get("capacity") or "capacity"),
        providers=providers, workloads=workloads,
        case=chosen, case_finance=all_finance if chosen is not None else None,
    )
    results.colours = {p: PROVIDER_COLOURS[i % len(PROVIDER_COLOURS)] for i, p in enumerate(providers)}
    return results


def read_json_object(path: Path, folder_kind: str = "results") -> dict[str, Any]:
    """The JSON object at ``path`` (a ``folder_kind`` folder's summary); a missing,
    unreadable or malformed file is a :class:`ReportError` naming it."""
    if not path.is_file():
        raise ReportError(f"{path} is missing: not a complete {folder_kind} folder")
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise ReportError(f"cannot read {path}: {getattr(err, 'strerror', None) or err}") from None
    except json.JSONDecodeError as err:
        raise ReportError(f"{path} is not valid JSON (line {err.lineno}: {err.msg})") from None
    if not isinstance(found, dict):
        raise ReportError(f"{path} does not hold a JSON object")
    return found


def _read_summary(path: Path) -> dict[str, Any]:
    """summary.json, checked: the keys the report needs, an optimal plan, years and objective as numbers."""
    summary = read_json_object(path)
    for key in _SUMMARY_KEYS:
        if key not in summary:
            raise ReportError(f"{path} has no {key!r}")
    cases = summary.get("cases")
    if "cases" in summary and not (
        isinstance(cases, dict) and cases
        and all(isinstance(c, dict) and is_number(c.get("probability")) for c in cases.values())
    ):
        raise ReportError(f"{path}: 'cases' must map each case to its figures, with a 'probability'")
    if summary.get("status", "optimal") != "optimal":
        raise ReportError(f"{path}: the plan is {summary.get('status')}, there is nothing to report")
    years = summary["years"]
    if not (isinstance(years, list) and len(years) == 2 and all(isinstance(y, int) and not isinstance(y, bool) for y in years)
            and years[0] <= years[1]):
        raise ReportError(f"{path}: 'years' must be [first, last] (whole numbers), got {years!r}")
    value = summary["objective_value"]
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ReportError(f"{path}: 'objective_value' must be a number, got {value!r}")
    return summary


def _read_table(path: Path, scenario: bool | None = None):
    """Read (:func:`planner.results.files.read_table`) and check a table; ``scenario``:
    whether it must have a ``case`` column (None: either way, as duals.csv)."""
    frame = read_csv_table(path, scenario)
    missing = [c for c in _NEEDED[path.name] if c not in frame.columns]
    if missing:
        raise ReportError(f"{path} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    for column in _NEEDED[path.name]:
        if column not in NAME_COLUMNS:
            frame[column] = _numbers(path, frame, column)
    return frame


def read_csv_table(path: Path, scenario: bool | None = None, folder_kind: str = "results"):
    """The table at ``path`` (of a ``folder_kind`` folder) by the one reader
    (:func:`planner.results.files.read_table`); :class:`ReportError` when it cannot be read."""
    import pandas as pd

    if not path.is_file():
        raise ReportError(f"{path} is missing: not a complete {folder_kind} folder")
    try:
        return read_table(path, cases=scenario)
    except ResultsFileError as err:
        raise ReportError(str(err)) from None
    except pd.errors.EmptyDataError:
        raise ReportError(f"{path} is empty (not even a header)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise ReportError(f"{path} is not a readable CSV table: {str(err).splitlines()[0]}") from None
    except OSError as err:
        raise ReportError(f"cannot read {path}: {err.strerror or err}") from None


def _numbers(path: Path, frame, column: str):
    """``frame[column]`` as numbers (years as whole numbers); a blank or a non-number is a
    :class:`ReportError` (duals.csv's year may be blank)."""
    import pandas as pd

    numbers = pd.to_numeric(frame[column], errors="coerce")
    bad = numbers.isna() & frame[column].notna() if (column == "year" and path.name == DUALS_FILE) else numbers.isna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0]) + 2  # + header, 1-based
        raise ReportError(f"{path}: column {column!r} holds a blank or non-number on line {row}")
    if column == "year":
        whole = numbers.dropna()
        if not (whole == whole.round()).all():
            raise ReportError(f"{path}: column 'year' holds a year that is not a whole number")
        numbers = numbers.astype("Int64")
    return numbers


def _check_cases(folder: Path, summary: dict[str, Any], tables: dict[str, Any], case: str | None) -> str | None:
    """The case to draw: ``case``, by default the most probable; None for a plain plan."""
    cases = summary.get("cases")
    if not cases:
        if case is not None:
            raise ReportError(f"{folder} holds a plain plan, not scenario results: there is no case {case!r}")
        return None
    missing = [n for n in cases if n not in set(tables["finance"]["case"])]
    if missing:
        raise ReportError(f"{folder / 'finance.csv'} has no rows for the case{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if case is None:
        return most_probable(cases)
    if case not in cases:
        raise ReportError(f"{folder / 'summary.json'} has no case {case!r} (cases: {', '.join(cases)})")
    return case


def most_probable(cases: dict[str, dict[str, Any]]) -> str:
    """The case the per-plan charts draw by default: the most probable, the first of equals."""
    return max(cases, key=lambda n: cases[n]["probability"])


def _case_rows(frame, case: str):
    """One case's rows without the ``case`` column; in duals.csv also the rows of shared
    constraints (blank case). A table without a ``case`` column is returned as is."""
    if "case" not in frame.columns:
        return frame
    return frame[frame["case"].isin([case, ""])].drop(columns="case").reset_index(drop=True)


def ordered(column) -> list[str]:
    """The distinct names of a column, in order of appearance."""
    return list(dict.fromkeys(str(v) for v in column if str(v)))


def plan_results(plan, name: str | None = None) -> Results:
    """A plain (no scenarios) optimal :class:`planner.results.tables.Plan` as the
    :class:`Results` the findings read, without writing the folder (``planner app``
    shows the findings of every variant; the tables are those write_results writes)."""
    inst = plan.instance
    summary = dict(plan.summary)
    providers, workloads = list(inst.providers), list(inst.workloads)
    results = Results(
        folder=Path(name or inst.name), summary=summary, tables=dict(plan.tables), duals=plan.duals,
        years=list(inst.year_list), money=str(inst.units.money), capacity_unit=str(inst.units.capacity),
        providers=providers, workloads=workloads,
    )
    results.colours = {p: PROVIDER_COLOURS[i % len(PROVIDER_COLOURS)] for i, p in enumerate(providers)}
    return results
