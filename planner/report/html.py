"""Charts and a one-file HTML report from a results folder (``planner report``).

``write_report(folder)`` reads a results folder (MODEL.md §3, plus ``duals.csv`` when it
is there) and writes, beside those files:

* ``report-capacity.png``  active capacity by provider per year (stacked; idle capacity
  hatched), with each workload's demand as a line in capacity-equivalent units;
* ``report-spend.png``     spend by provider per year, take-or-pay shortfalls
  (charge − spend) hatched on top, and owned capacity's capex and opex;
* ``report-finance.png``   revenue, loss and cumulative loss; cash, debt, funding and
  the minimum-cash floor as far as the folder shows it;
* ``report-concentration.png``  each provider's share of active capacity and the
  largest share;
* ``report-shadow-prices.png``  the top shadow prices (only when ``duals.csv`` is present
  and has rows);
* ``report.html``          one self-contained page (the same PNGs embedded as base64,
  no network needed): the objective, key figures, three binding constraints in
  sentences, the charts and a per-year table.

Scenario results (MODEL.md §5: a ``case`` column in every table, ``cases``,
``expected_objective``, ``cvar`` and ``commit_years`` in summary.json) get, first,

* ``report-cases.png``     the cumulative loss of every case per year (probabilities in
  the legend), the committed years shaded and the probability-weighted mean dashed;

then the charts above drawn for **one case**: the most probable (the first of equals),
or ``case=`` of :func:`write_report`. Their titles and captions name it; duals.csv is cut
to that case's rows plus the shared constraints' (blank case). One case rather than small
multiples of every case: the per-plan charts are already dense (stacked providers,
demand lines, a legend and a note beside each), and four panels in one 1200×675 PNG
would leave them unreadable, while every draw function is reused unchanged; the cases
are compared in the first chart and in the HTML's table of cases. ``report.html`` then
states the expected objective, CVaR and committed years, a table of the cases
(probability, objective, cumulative loss, peak, final cash), and the drawn case's key
figures, binding constraints and per-year table. Plain results are drawn as before.

Only the results folder is read, never the instance: whatever the folder does not hold
(``min_cash``, debt limits, capacity limits, prices) is inferred and said to be so, or
comes from ``duals.csv``.

Charts are drawn with matplotlib's Agg canvas directly (``FigureCanvasAgg``; pyplot is
never imported), so no display is needed and a notebook's own backend is left alone.
matplotlib and pandas are imported inside the functions, so importing this module is
cheap and ``planner --help`` stays fast.

Adding a chart: write ``_draw_x(fig, results) -> caption`` and append a :class:`Chart`
to :data:`CHARTS` (with ``applies`` when it only makes sense for some folders, and
``per_plan=False`` when it draws every case of scenario results rather than one plan).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..model.families import with_role

__all__ = ["ReportError", "write_report", "load_results", "render_charts", "CHARTS", "REPORT_FILES", "PNG_SIZE"]


class ReportError(Exception):
    """The report cannot be made (a file missing or malformed, or nothing can be written).

    The message is one line and names the file."""


#: Width and height of every chart PNG, in pixels.
PNG_SIZE = (1200, 675)
_DPI = 120
REPORT_HTML = "report.html"
FORMATS = ("html", "png")

#: Absolute tolerance below which a figure counts as zero (the results round to 1e-9).
_TOL = 1e-7

# Colour-blind-safe provider colours (Okabe–Ito, then tab10's remaining hues), assigned
# in the order providers appear in capacity.csv (the instance's order), the same in
# every chart.
_PROVIDER_COLOURS = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#8C564B",
    "#7F7F7F", "#BCBD22", "#17BECF", "#9467BD", "#F0E442",
]
_WORKLOAD_STYLES = [("#222222", "--", "o"), ("#7A1F1F", ":", "s"), ("#3B3B98", "-.", "^"), ("#2F5F2F", (0, (5, 1, 1, 1)), "D")]
_REVENUE, _LOSS, _CUMLOSS = "#4C9F70", "#C44E52", "#333333"
_CASH, _DEBT, _FUNDING, _FLOOR = "#1F5AA6", "#B5651D", "#C9D7EA", "#C0392B"
_OPEX, _CAPEX = "#C8C8C8", "#7A7A7A"

# Families of duals.csv that are identities of the model rather than limits an instance
# sets (see planner.duals.LIMIT_FAMILIES): their shadow prices are marginal values of
# money or of a paid capacity unit, not a constraint anyone can relax. Everything else
# (including families added later) is treated as a limit.
_IDENTITY_FAMILIES = set(with_role("identity"))  # planner.model.families

# The columns read from each file (MODEL.md §3; duals.csv from planner.duals).
_NEEDED = {
    "procurement.csv": ("year", "provider", "source", "capacity"),
    "capacity.csv": ("year", "provider", "existing", "contracted", "owned", "active", "used", "idle", "spend", "charge"),
    "usage.csv": ("year", "provider", "workload", "capacity", "compute"),
    "service.csv": ("year", "workload", "demand", "served", "unserved", "revenue"),
    "finance.csv": (
        "year", "revenue", "compute_cost", "capex", "capex_expense", "other_costs", "interest", "loss",
        "cumulative_loss", "funding", "debt", "cash",
    ),
    "duals.csv": ("family", "year", "provider", "workload", "shadow_price", "unit", "meaning"),
}
_TEXT_COLUMNS = {"provider", "source", "workload", "family", "unit", "meaning", "contract", "term", "case"}
_PLAN_TABLES = ("procurement", "capacity", "usage", "service", "finance")
_SUMMARY_KEYS = ("objective", "objective_value", "years")


# ======================================================================================
# Reading the folder
# ======================================================================================


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
    import pandas as pd

    folder = Path(results_dir)
    if not folder.exists():
        raise ReportError(f"results folder {folder} does not exist")
    if not folder.is_dir():
        raise ReportError(f"{folder} is not a results folder (not a folder)")
    summary = _read_summary(folder / "summary.json")
    scenario = "cases" in summary
    tables = {name: _read_table(folder / f"{name}.csv", pd, scenario) for name in _PLAN_TABLES}
    duals_path = folder / "duals.csv"
    duals = _read_table(duals_path, pd) if duals_path.exists() else None
    all_finance = tables["finance"]
    chosen = _check_cases(folder, summary, tables, case)
    if chosen is not None:
        tables = {name: _case_rows(frame, chosen) for name, frame in tables.items()}
        duals = None if duals is None else _case_rows(duals, chosen)

    first, last = summary["years"]
    years = list(range(first, last + 1))
    units = summary.get("units") if isinstance(summary.get("units"), dict) else {}
    providers = _ordered(tables["capacity"]["provider"])
    workloads = _ordered(tables["service"]["workload"])
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
    results.colours = {p: _PROVIDER_COLOURS[i % len(_PROVIDER_COLOURS)] for i, p in enumerate(providers)}
    return results


def _read_summary(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ReportError(f"{path} is missing: not a complete results folder")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise ReportError(f"cannot read {path}: {getattr(err, 'strerror', None) or err}") from None
    except json.JSONDecodeError as err:
        raise ReportError(f"{path} is not valid JSON (line {err.lineno}: {err.msg})") from None
    if not isinstance(summary, dict):
        raise ReportError(f"{path} does not hold a JSON object")
    for key in _SUMMARY_KEYS:
        if key not in summary:
            raise ReportError(f"{path} has no {key!r}")
    cases = summary.get("cases")
    if "cases" in summary and not (
        isinstance(cases, dict) and cases
        and all(isinstance(c, dict) and _is_number(c.get("probability")) for c in cases.values())
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


def _read_table(path: Path, pd, scenario: bool | None = None):
    """Read and check a table; ``scenario``: whether it must have a ``case`` column (None:
    either way, as duals.csv)."""
    if not path.is_file():
        raise ReportError(f"{path} is missing: not a complete results folder")
    try:
        frame = pd.read_csv(path, dtype={c: "string" for c in _TEXT_COLUMNS}, keep_default_na=True)
    except pd.errors.EmptyDataError:
        raise ReportError(f"{path} is empty (not even a header)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise ReportError(f"{path} is not a readable CSV table: {str(err).splitlines()[0]}") from None
    except OSError as err:
        raise ReportError(f"cannot read {path}: {err.strerror or err}") from None
    if scenario is not None and ("case" in frame.columns) != scenario:
        raise ReportError(f"{path} lacks the column case (summary.json has 'cases')" if scenario else
                          f"{path}: scenario results (a 'case' column, MODEL.md §5) but summary.json has no 'cases'")
    if "case" in frame.columns:
        frame["case"] = frame["case"].fillna("").astype(str)
    missing = [c for c in _NEEDED[path.name] if c not in frame.columns]
    if missing:
        raise ReportError(f"{path} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    for column in _NEEDED[path.name]:
        if column in _TEXT_COLUMNS:
            frame[column] = frame[column].fillna("").astype(str)
            continue
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = numbers.isna() & frame[column].notna() if (column == "year" and path.name == "duals.csv") else numbers.isna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0]) + 2  # + header, 1-based
            raise ReportError(f"{path}: column {column!r} holds a blank or non-number on line {row}")
        if column == "year":
            whole = numbers.dropna()
            if not (whole == whole.round()).all():
                raise ReportError(f"{path}: column 'year' holds a year that is not a whole number")
            numbers = numbers.astype("Int64")
        frame[column] = numbers
    return frame


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


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _ordered(column) -> list[str]:
    return list(dict.fromkeys(str(v) for v in column if str(v)))


# ======================================================================================
# Charts
# ======================================================================================


@dataclass(frozen=True)
class Chart:
    """One chart of the report: ``draw(fig, results)`` draws it and returns its caption."""

    key: str
    filename: str
    heading: str
    draw: Callable[[Any, Results], str]
    applies: Callable[[Results], bool] = lambda results: True
    per_plan: bool = True  # draws one plan: for scenario results, the chosen case's


@dataclass
class RenderedChart:
    chart: Chart
    png: bytes
    caption: str


def render_charts(results: Results) -> list[RenderedChart]:
    """Every chart that applies to ``results``, as PNG bytes with its caption."""
    import matplotlib

    rendered = []
    with matplotlib.rc_context(_RC):
        for chart in CHARTS:
            if chart.applies(results):
                rendered.append(_render(chart, results))
    return rendered


_RC = {
    # DejaVu Sans ships inside matplotlib: the same glyphs on any headless machine, and
    # no font lookup that could warn or fail.
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "figure.titlesize": 14,
    "figure.titleweight": "bold",
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.alpha": 0.35,
    "axes.axisbelow": True,
    "axes.formatter.useoffset": False,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "text.usetex": False,
    "hatch.linewidth": 0.8,
}


def _render(chart: Chart, results: Results) -> RenderedChart:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(PNG_SIZE[0] / _DPI, PNG_SIZE[1] / _DPI), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    caption = chart.draw(fig, results)
    if results.is_scenario and chart.per_plan:
        caption = _name_the_case(fig, chart, results) + caption
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": "planner report (matplotlib Agg)"})
    return RenderedChart(chart, buffer.getvalue(), caption)


def _name_the_case(fig, chart: Chart, r: Results) -> str:
    """Add the drawn case to a per-plan chart's title; return the caption's first words."""
    probability = _percent(r.cases[r.case]["probability"])
    # on a line of its own: a longer first line would run into a legend outside the axes
    fig.suptitle(f"{fig.get_suptitle()}\ncase {_tex(r.case)} (probability {probability})")
    text = (f"Case {r.case} (probability {probability}), one of the {len(r.cases)} cases; the first chart compares "
            "them all. ")
    if chart.key == "shadow_prices":
        text += ("Shadow prices of scenario results are of the whole objective: a case's constraint is worth about its "
                 "probability (and its weight in the CVaR tail) times what it would be worth to the case alone; rows of "
                 "the shared, committed decisions are included. ")
    return text


def _percent(probability: float) -> str:
    """0.5 -> '50%', 0.125 -> '12.5%'."""
    whole = abs(probability * 100 - round(probability * 100)) < 1e-6
    return f"{probability:.0%}" if whole else f"{probability:.1%}"


def _tex(text: Any) -> str:
    """User text (names, unit labels) made safe for matplotlib: ``$`` is not math."""
    return str(text).replace("$", r"\$")


def _years_axis(ax, years: list[int]) -> None:
    from matplotlib.ticker import FixedLocator, FuncFormatter

    step = max(1, math.ceil(len(years) / 12))  # every year up to 12, then every 2nd, 3rd, ... from the first
    ax.xaxis.set_major_locator(FixedLocator(years[::step]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{int(round(v))}"))
    ax.set_xlim(years[0] - 0.6, years[-1] + 0.6)
    ax.set_xlabel("year")


def _titles(fig, ax, title: str, note: str | None = None, width: int = 110) -> None:
    """The chart's title, and a note (its reading instructions) wrapped above the axes."""
    import textwrap

    fig.suptitle(_tex(title))
    if note:
        lines = [textwrap.fill(part, width) for part in note.split("\n")]
        ax.set_title(_tex("\n".join(lines)), loc="left", fontsize=9, fontweight="normal", color="#444444")


# -- 0. cumulative loss by case (scenario results) ----------------------------------

# Case colours (Paul Tol's "bright"), distinct in hue from the provider colours' order.
_CASE_COLOURS = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB"]
_COMMITTED = "#ECECEC"


def cumulative_loss_by_case(results: Results):
    """finance.csv's cumulative loss as a year × case frame (summary.json's case order),
    and its probability-weighted mean per year."""
    import pandas as pd

    wide = results.case_finance.pivot_table(index="year", columns="case", values="cumulative_loss", aggfunc="sum")
    wide = wide.reindex(index=results.years, columns=list(results.cases), fill_value=0.0).astype(float)
    probability = pd.Series({n: float(c["probability"]) for n, c in results.cases.items()})
    return wide, wide.mul(probability, axis=1).sum(axis=1)


def committed_years(results: Results) -> list[int]:
    """The first ``commit_years`` planning years (MODEL.md §5): their signings and builds
    are one decision for every case. Every year when summary.json does not say."""
    n = results.summary.get("commit_years")
    n = len(results.years) if not _is_number(n) else max(0, min(int(n), len(results.years)))
    return results.years[:n]


def _draw_cases(fig, r: Results) -> str:
    from matplotlib.transforms import blended_transform_factory

    ax = fig.add_subplot()
    by_case, expected = cumulative_loss_by_case(r)
    committed = committed_years(r)
    if committed:
        ax.axvspan(committed[0] - 0.5, committed[-1] + 0.5, color=_COMMITTED, zorder=0)
        ax.text((committed[0] + committed[-1]) / 2, 0.97, "committed plan", ha="center", va="top", fontsize=9,
                color="#555555", fontweight="bold", transform=blended_transform_factory(ax.transData, ax.transAxes))
    for i, (n, case) in enumerate(r.cases.items()):
        ax.plot(r.years, by_case[n].to_numpy(), color=_CASE_COLOURS[i % len(_CASE_COLOURS)], marker="o", markersize=5,
                linewidth=1.8, label=f"{_tex(n)} ({_percent(case['probability'])})")
    ax.plot(r.years, expected.to_numpy(), color="black", linestyle="--", linewidth=3.2,
            label="expected\n(probability-weighted)")
    ax.axhline(0, color="#555555", linewidth=0.8)
    low, high = min(0.0, float(by_case.min().min())), max(0.0, float(by_case.max().max()))
    span = (high - low) or 1.0
    ax.set_ylim(low - 0.05 * span * (low < 0), high + 0.12 * span)  # room for the shaded band's label
    ax.set_ylabel(f"cumulative loss ({_tex(r.money)})")
    _years_axis(ax, r.years)
    years = f"{'year' if len(committed) == 1 else 'years'} {_year_list(committed)}" if committed else ""
    shared = (f"Shaded: the committed {years}, whose signings and builds are one decision shared by "
              "every case; later years adapt to each case." if committed else
              "No year is committed: every case has its own signings and builds from the first year.")
    _titles(fig, ax, f"Cumulative loss by case ({r.money})",
            f"Lines: each case's cumulative loss at the end of each year (legend: its probability); dashed: the "
            f"probability-weighted mean.\n{shared}")
    fig.legend(loc="outside right upper", frameon=False, title="case (probability)")
    last = r.years[-1]
    worst = by_case.loc[last].idxmax()
    return (f"The cumulative loss of each of the {len(r.cases)} cases at the end of each year in {r.money} (finance.csv), "
            f"and its probability-weighted mean (dashed), which ends {last} at {_num(float(expected.loc[last]))} {r.money}; "
            f"the worst case then is {worst} at {_num(float(by_case.loc[last, worst]))} {r.money}. "
            + (f"The shaded {years} {'is' if len(committed) == 1 else 'are'} the committed plan: what is signed and "
               "built there is the same in every case, so the cases differ there only through how that capacity is used and what it earns."
               if committed else "No year is committed, so each case's plan is its own."))


# -- 1. capacity ---------------------------------------------------------------------


def demand_in_capacity(results: Results):
    """Each workload's demand in capacity-equivalent units, and the (workload, year) pairs
    converted at a fallback efficiency.

    Demand is in compute units; it is divided by the efficiency (compute per capacity
    unit) at which the plan served that workload that year: Σ compute / Σ capacity over
    the providers in usage.csv. Where the plan gave the workload no capacity that year,
    the year's efficiency over all workloads is used, then the whole plan's, then 1.
    """
    usage = results.tables["usage"]
    capacity = results.pivot("usage", "capacity", by="workload")
    compute = results.pivot("usage", "compute", by="workload")
    by_year = usage.groupby("year")[["capacity", "compute"]].sum().reindex(results.years, fill_value=0.0)
    total_cap, total_compute = float(usage["capacity"].sum()), float(usage["compute"].sum())
    overall = total_compute / total_cap if total_cap > _TOL else 1.0
    demand = results.pivot("service", "demand", by="workload")
    out = demand.copy()
    fallback = set()
    for w in results.workloads:
        for t in results.years:
            if capacity.loc[t, w] > _TOL and compute.loc[t, w] > _TOL:
                eff = compute.loc[t, w] / capacity.loc[t, w]
            else:
                year_cap, year_compute = by_year.loc[t, "capacity"], by_year.loc[t, "compute"]
                eff = year_compute / year_cap if year_cap > _TOL and year_compute > _TOL else overall
                if demand.loc[t, w] > _TOL:
                    fallback.add((w, t))
            out.loc[t, w] = demand.loc[t, w] / eff
    return out, fallback


def _draw_capacity(fig, r: Results) -> str:
    import numpy as np
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ax = fig.add_subplot()
    years = np.array(r.years, dtype=float)
    used, idle = r.pivot("capacity", "used"), r.pivot("capacity", "idle").clip(lower=0.0)
    bottom = np.zeros(len(years))
    any_idle = False
    for p in r.providers:
        colour = r.colours[p]
        ax.bar(years, used[p].to_numpy(), 0.7, bottom=bottom, color=colour, edgecolor="white", linewidth=0.6)
        bottom = bottom + used[p].to_numpy()
        if (idle[p] > _TOL).any():
            any_idle = True
            ax.bar(years, idle[p].to_numpy(), 0.7, bottom=bottom, color=colour, alpha=0.35,
                   hatch="///", edgecolor=colour, linewidth=0)
            bottom = bottom + idle[p].to_numpy()
    demand, fallback = demand_in_capacity(r)
    handles = [Patch(color=r.colours[p], label=_tex(p)) for p in r.providers]
    if any_idle:
        handles.append(Patch(facecolor="#DDDDDD", edgecolor="#666666", hatch="///", linewidth=0, label="idle (paid, unused)"))
    top = bottom.max(initial=0.0)
    for i, w in enumerate(r.workloads):
        colour, style, marker = _WORKLOAD_STYLES[i % len(_WORKLOAD_STYLES)]
        ax.plot(years, demand[w].to_numpy(), color=colour, linestyle=style, marker=marker, markersize=5, linewidth=1.8)
        handles.append(Line2D([], [], color=colour, linestyle=style, marker=marker, markersize=5, label=f"demand: {_tex(w)}"))
        for w_, t in fallback:
            if w_ == w:
                ax.plot([t], [demand.loc[t, w]], marker="o", markersize=11, markerfacecolor="none", markeredgecolor=colour)
        top = max(top, float(demand[w].max()))
    if len(r.workloads) > 1:
        total = demand.sum(axis=1)
        ax.plot(years, total.to_numpy(), color="black", linewidth=2.4, marker="o", markersize=6)
        handles.append(Line2D([], [], color="black", linewidth=2.4, marker="o", markersize=6, label="demand: all workloads"))
        top = max(top, float(total.max()))
    ax.set_ylim(0, top * 1.08 if top > 0 else 1.0)
    ax.set_ylabel(f"active capacity ({_tex(r.capacity_unit)})")
    _years_axis(ax, r.years)
    cap = r.capacity_unit
    note = (f"Bars: active capacity in {cap}. Lines: demand (compute units) ÷ the compute per {cap} at which the plan "
            f"served that workload that year, i.e. demand in {cap}-equivalent.")
    if fallback:
        note += "\nCircled points: the workload got no capacity that year; the year's average efficiency is used."
    _titles(fig, ax, f"Active capacity by provider and demand ({cap})", note)
    fig.legend(handles=handles, loc="outside right upper", frameon=False)
    caption = (f"Stacked bars: each provider's active capacity per year in {cap}"
               + ("; the hatched part of a bar is idle capacity (paid for, not used)" if any_idle else "")
               + f". Demand is in compute units and capacity in {cap}, so demand is drawn in {cap}-equivalent: each "
               f"workload's demand divided by the efficiency (compute units per {cap}) at which the plan served it that "
               "year, blended over providers. Where the bars' solid part reaches a demand line, that demand is fully served.")
    if fallback:
        caption += (" For " + ", ".join(f"{w} in {t}" for w, t in sorted(fallback, key=lambda x: (x[1], x[0])))
                    + " the plan served nothing, so the year's average efficiency is used (circled).")
    return caption


# -- 2. spend -----------------------------------------------------------------------


def shortfalls(results: Results):
    """Take-or-pay shortfalls: charge − spend where positive (year × provider)."""
    gap = results.pivot("capacity", "charge") - results.pivot("capacity", "spend")
    return gap.where(gap > _TOL, 0.0)


def owned_opex(results: Results):
    """Opex of owned capacity per year: compute_cost − Σ charge (MODEL.md §2)."""
    gap = results.series("compute_cost") - results.pivot("capacity", "charge").sum(axis=1)
    return gap.where(gap > _TOL, 0.0)


def _draw_spend(fig, r: Results) -> str:
    import numpy as np
    from matplotlib.patches import Patch

    ax = fig.add_subplot()
    years = np.array(r.years, dtype=float)
    spend, short = r.pivot("capacity", "spend"), shortfalls(r)
    opex, capex = owned_opex(r), r.series("capex")
    bottom = np.zeros(len(years))
    handles = []
    for p in r.providers:
        colour = r.colours[p]
        ax.bar(years, spend[p].to_numpy(), 0.7, bottom=bottom, color=colour, edgecolor="white", linewidth=0.6)
        bottom = bottom + spend[p].to_numpy()
        handles.append(Patch(color=colour, label=_tex(p)))
        if (short[p] > 0).any():
            ax.bar(years, short[p].to_numpy(), 0.7, bottom=bottom, color="white", hatch="xxx", edgecolor=colour, linewidth=1.0)
            bottom = bottom + short[p].to_numpy()
    if (short.to_numpy() > 0).any():
        handles.append(Patch(facecolor="white", edgecolor="#444444", hatch="xxx", label="take-or-pay shortfall\n(charge − spend)"))
    for values, colour, label in ((opex, _OPEX, "owned capacity: opex"), (capex, _CAPEX, "owned capacity: build capex (cash)")):
        if (values > _TOL).any():
            ax.bar(years, values.to_numpy(), 0.7, bottom=bottom, color=colour, edgecolor="white", linewidth=0.6)
            bottom = bottom + values.to_numpy()
            handles.append(Patch(facecolor=colour, label=label))
    top = bottom.max(initial=0.0)
    for x, total in zip(years, bottom):
        if total > _TOL and len(years) <= 20:
            ax.annotate(_num(total), (x, total), xytext=(0, 3), textcoords="offset points", ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, top * 1.1 if top > 0 else 1.0)
    ax.set_ylabel(f"{_tex(r.money)} per year")
    _years_axis(ax, r.years)
    _titles(fig, ax, f"Compute spend by provider ({r.money})",
            "Spend: existing capacity and contracts (capacity.csv). Numbers: the year's total compute cash out.")
    fig.legend(handles=handles, loc="outside right upper", frameon=False)
    caption = (f"Stacked bars: what each provider's capacity costs per year in {r.money} (existing capacity and "
               "contracts, capacity.csv's spend)")
    if (short.to_numpy() > 0).any():
        caption += ("; hatched on top of a provider: its take-or-pay shortfall, the minimum charge paid beyond what the "
                    "capacity costs (charge − spend)")
    else:
        caption += "; no provider charges more than its capacity costs (no take-or-pay shortfall)"
    if (opex > _TOL).any() or (capex > _TOL).any():
        caption += "; grey: owned (built) capacity, its opex and the build capex paid that year"
    return caption + ". The number above a bar is the year's total."


# -- 3. finance ----------------------------------------------------------------------


def cash_floor(results: Results) -> tuple[dict[int, float], str]:
    """The minimum-cash floor as far as the folder shows it: ``{year: floor}`` and where
    it comes from. With duals.csv: the years whose ``minimum_cash`` row has a positive
    shadow price (the floor binds, so it equals that year's cash). Otherwise empty: the
    folder does not hold ``min_cash``."""
    duals = results.duals
    if duals is None or duals.empty:
        return {}, "none"
    rows = duals[(duals["family"] == "minimum_cash") & (duals["shadow_price"] > _TOL) & duals["year"].notna()]
    cash = results.series("cash")
    floor = {int(t): float(cash.loc[int(t)]) for t in rows["year"] if int(t) in cash.index}
    return floor, "duals"


def _draw_finance(fig, r: Results) -> str:
    import numpy as np

    left, right = fig.subplots(1, 2)
    years = np.array(r.years, dtype=float)
    revenue, loss, cumulative = r.series("revenue"), r.series("loss"), r.series("cumulative_loss")
    left.bar(years - 0.2, revenue.to_numpy(), 0.38, color=_REVENUE, label="revenue")
    left.bar(years + 0.2, loss.to_numpy(), 0.38, color=_LOSS, label="loss (below 0: profit)")
    left.plot(years, cumulative.to_numpy(), color=_CUMLOSS, marker="o", linewidth=2, label="cumulative loss")
    left.axhline(0, color="#555555", linewidth=0.8)
    left.set_title("Revenue, loss and cumulative loss", loc="left")
    left.set_ylabel(f"{_tex(r.money)}")
    _years_axis(left, r.years)
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)

    cash, debt, funding = r.series("cash"), r.series("debt"), r.series("funding")
    if (funding > _TOL).any():
        right.bar(years, funding.to_numpy(), 0.6, color=_FUNDING, label="funding (equity inflow)")
    right.plot(years, cash.to_numpy(), color=_CASH, marker="o", linewidth=2.2, label="cash (end of year)")
    if (debt > _TOL).any():
        right.plot(years, debt.to_numpy(), color=_DEBT, marker="s", linewidth=1.8, linestyle="--", label="debt (end of year)")
    floor, source = cash_floor(r)
    if floor:
        values = list(floor.values())
        if max(values) - min(values) <= _TOL * max(1.0, abs(max(values))):
            right.axhline(values[0], color=_FLOOR, linestyle=":", linewidth=1.6,
                          label=f"minimum cash {_num(values[0])}, binding in {_year_list(sorted(floor))}")
        right.scatter(list(floor), values, marker="_", s=500, linewidths=3, color=_FLOOR, zorder=5,
                      label=None if len(set(round(v, 6) for v in values)) == 1 else "minimum cash where binding")
        floor_note = "minimum-cash floor from duals.csv (the years it binds)"
    else:
        lowest = float(cash.min())
        right.axhline(lowest, color="#777777", linestyle=":", linewidth=1.4,
                      label=f"lowest cash {_num(lowest)} (min_cash is not in the results)")
        floor_note = ("min_cash is not in the results folder" + (" and no minimum_cash row of duals.csv binds"
                      if source == "duals" else "") + "; the dotted line is the plan's lowest cash")
    right.axhline(0, color="#555555", linewidth=0.8)
    right.set_title("Cash, debt and funding", loc="left")
    right.set_ylabel(f"{_tex(r.money)}")
    _years_axis(right, r.years)
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
    fig.suptitle(_tex(f"Finance per year ({r.money})"))
    return (f"Left: revenue and loss per year (loss = costs − revenue; negative is a profit) and the cumulative loss, "
            f"in {r.money}. Right: end-of-year cash and debt, the year's equity funding, and the {floor_note}.")


# -- 4. concentration ----------------------------------------------------------------


def shares(results: Results):
    """Each provider's share of the year's total active capacity (NaN when it is 0)."""
    active = results.pivot("capacity", "active")
    total = active.sum(axis=1)
    return active.div(total.where(total > _TOL), axis=0)


def _draw_concentration(fig, r: Results) -> str:
    import numpy as np
    from matplotlib.lines import Line2D
    from matplotlib.ticker import PercentFormatter

    ax = fig.add_subplot()
    years = np.array(r.years, dtype=float)
    share = shares(r)
    handles = []
    for p in r.providers:
        ax.plot(years, share[p].to_numpy(), color=r.colours[p], linewidth=1.6, marker="o", markersize=4, alpha=0.9)
        handles.append(Line2D([], [], color=r.colours[p], linewidth=1.6, marker="o", markersize=4, label=_tex(p)))
    largest = share.max(axis=1)
    leader = share.fillna(-1).idxmax(axis=1)
    ax.plot(years, largest.to_numpy(), color="black", linewidth=3, alpha=0.25, zorder=1)
    ax.plot(years, largest.to_numpy(), color="black", linewidth=0, marker="o", markersize=9,
            markerfacecolor="none", markeredgewidth=1.8, zorder=4)
    handles.append(Line2D([], [], color="black", linewidth=3, alpha=0.4, marker="o", markerfacecolor="none",
                          markersize=9, label="largest provider"))
    previous = None
    # up to 10 years every point is labelled; beyond that, where the leader changes, the
    # lowest largest share (the least dependency) and the last year
    every_year = len(r.years) <= 10
    least = largest.idxmin() if largest.notna().any() else None
    for t in r.years:
        value = largest.loc[t]
        if not np.isfinite(value):
            continue
        name = leader.loc[t]
        if name == previous and not every_year and t not in (r.years[-1], least):
            continue
        text = f"{value:.0%}" if name == previous else f"{_tex(name)} {value:.0%}"
        ax.annotate(text, (t, value), xytext=(0, 9), textcoords="offset points", ha="center", fontsize=8.5,
                    fontweight="bold", color=r.colours.get(name, "black"))
        previous = name
    ax.set_ylim(0, 1.1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("share of active capacity")
    _years_axis(ax, r.years)
    _titles(fig, ax, "Dependency: share of the largest provider",
            f"Share of the year's total active capacity ({r.capacity_unit}); labels name the largest provider.")
    fig.legend(handles=handles, loc="outside right upper", frameon=False)
    first, last = r.years[0], r.years[-1]
    text = "Each provider's share of the year's active capacity (thin lines) and the largest share (circled, labelled)"
    if np.isfinite(largest.loc[first]) and np.isfinite(largest.loc[last]):
        text += (f": from {leader.loc[first]} with {largest.loc[first]:.0%} in {first} "
                 f"to {leader.loc[last]} with {largest.loc[last]:.0%} in {last}")
    return text + "."


# -- 6. shadow prices ----------------------------------------------------------------

#: Bars in the shadow-price chart (the top rows by money-equivalent value).
TOP_SHADOW_PRICES = 12


def ranked_duals(results: Results):
    """duals.csv's limit rows with a positive shadow price, most valuable first, with
    ``value_per_money`` (money saved per money's worth of relaxation) and ``kind``.

    Shadow prices are in different units (money per money, per capacity unit, per compute
    unit). To rank them, each is divided by what one unit is worth, measured in the plan
    itself (the folder has no prices): a money unit is 1; a capacity unit the median
    price per capacity unit-year the plan pays for rented capacity (spend ÷ existing +
    contracted, capacity.csv); a compute unit that over the median efficiency
    (usage.csv). A ``value_per_money`` column in duals.csv, when there, is used as is.
    When no limit binds, the identity rows are ranked instead (``identities`` True).
    """
    import pandas as pd

    duals = results.duals
    if duals is None or duals.empty:
        return None, False
    frame = duals[duals["shadow_price"].abs() > _TOL].copy()
    limits = frame[~frame["family"].isin(_IDENTITY_FAMILIES) & (frame["shadow_price"] > 0)]
    identities = limits.empty
    frame = frame if identities else limits
    if frame.empty:
        return None, False
    frame["kind"] = [_unit_kind(u, results) for u in frame["unit"]]
    if "value_per_money" in frame.columns:
        frame["value_per_money"] = pd.to_numeric(frame["value_per_money"], errors="coerce").fillna(0.0)
    else:
        values = unit_values(results)
        frame["value_per_money"] = [p / values.get(k, 1.0) for p, k in zip(frame["shadow_price"], frame["kind"])]
    frame["magnitude"] = frame["value_per_money"].abs()
    return frame.sort_values("magnitude", ascending=False, kind="stable"), identities


def unit_values(results: Results) -> dict[str, float]:
    """Money value of one unit of each kind, measured in the plan (see :func:`ranked_duals`)."""
    import numpy as np

    cap = results.tables["capacity"]
    rented = cap["existing"] + cap["contracted"]
    prices = (cap["spend"] / rented)[rented > _TOL]
    prices = prices[prices > 0]
    price = float(np.median(prices)) if len(prices) else 1.0
    usage = results.tables["usage"]
    used = usage[(usage["capacity"] > _TOL) & (usage["compute"] > _TOL)]
    efficiency = float(np.median(used["compute"] / used["capacity"])) if len(used) else 1.0
    return {"money": 1.0, "capacity": price, "compute": price / efficiency}


def _unit_kind(unit: str, results: Results) -> str:
    per = unit.split(" per ", 1)[1].strip() if " per " in unit else unit.strip()
    if per == results.money:
        return "money"
    if per == results.capacity_unit:
        return "capacity"
    if per.startswith("compute"):
        return "compute"
    return per or "other"


def _present(value) -> bool:
    return value is not None and str(value) not in ("", "nan", "<NA>", "None")


def _dual_label(row) -> str:
    what = str(row["family"]).replace("_", " ")
    parts = [what] + [str(row[c]) for c in ("provider", "workload", "contract") if c in row.index and str(row[c]) not in ("", "nan", "<NA>")]
    year = row["year"]
    if year is not None and str(year) not in ("", "nan", "<NA>"):
        parts.append(str(int(year)))
    return " · ".join(parts)


def _has_duals(results: Results) -> bool:
    return ranked_duals(results)[0] is not None


def _draw_shadow_prices(fig, r: Results) -> str:
    frame, identities = ranked_duals(r)
    top = frame.head(TOP_SHADOW_PRICES)
    units = list(dict.fromkeys(top["unit"]))
    counts = [int((top["unit"] == u).sum()) for u in units]
    # the height of a panel's plotting area is proportional to its y span: equal bars
    axes = fig.subplots(len(units), 1, gridspec_kw={"height_ratios": [c + 0.4 for c in counts]}, squeeze=False)[:, 0]
    for ax, unit in zip(axes, units):
        rows = top[top["unit"] == unit]
        labels = [_tex(_dual_label(row)) for _, row in rows.iterrows()]
        colours = [r.colours.get(str(p), "#6F6F6F") for p in rows["provider"]]
        y = list(range(len(rows)))[::-1]
        ax.barh(y, rows["shadow_price"].to_numpy(), 0.65, color=colours)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_yticks(y, labels)
        ax.grid(axis="x", alpha=0.35)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(f"shadow price ({_tex(unit)})")
        for yy, value in zip(y, rows["shadow_price"]):
            ax.annotate(_num(value), (value, yy), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
        high = float(rows["shadow_price"].max())
        low = float(min(0.0, rows["shadow_price"].min()))
        ax.set_xlim(low * 1.15, high * 1.15 if high > 0 else 1.0)
    what = "model identities (no limit of the instance binds)" if identities else "limits of the instance"
    _titles(fig, axes[0], "Top shadow prices (duals.csv)",
            f"Top {len(top)} {what}, ranked by money saved per money's worth of relaxation; one panel per unit.")
    return (f"What relaxing a constraint by one unit is worth: how much the objective falls, from duals.csv, top {len(top)} "
            f"{what}. Shadow prices in different units are not comparable bar for bar, so each unit has its own panel; the "
            "ranking values a capacity unit at the plan's median price per capacity unit-year and a compute unit at that "
            "over the plan's median efficiency. Bars are in the provider's colour; grey: not tied to a provider.")


#: The charts, in report order. The per-plan charts draw one case of scenario results.
CHARTS: list[Chart] = [
    Chart("cases", "report-cases.png", "Cumulative loss by case", _draw_cases, lambda r: r.is_scenario, per_plan=False),
    Chart("capacity", "report-capacity.png", "Capacity and demand", _draw_capacity),
    Chart("spend", "report-spend.png", "Spend and take-or-pay", _draw_spend),
    Chart("finance", "report-finance.png", "Revenue, loss and cash", _draw_finance),
    Chart("concentration", "report-concentration.png", "Dependency on the largest provider", _draw_concentration),
    Chart("shadow_prices", "report-shadow-prices.png", "Shadow prices", _draw_shadow_prices, _has_duals),
]

#: Every file the report may write into a results folder (report.html and all charts).
REPORT_FILES = (REPORT_HTML,) + tuple(chart.filename for chart in CHARTS)


# ======================================================================================
# Text
# ======================================================================================


def _num(x: float) -> str:
    """A figure for reading: thousands separated, 2 decimals below 1000, 3 significant
    digits below 1."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if abs(x) < 5e-10:
        return "0"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.2f}"
    return f"{x:.3g}"


def _moves(start: float, end: float) -> str:
    return "grows from" if end > start + _TOL else "falls from" if end < start - _TOL else "stays the same, from"


def _year_list(years: list[int]) -> str:
    """2025, 2026, 2027, 2029 -> '2025–2027 and 2029'."""
    years = sorted(set(int(y) for y in years))
    runs, start = [], None
    for i, y in enumerate(years):
        if start is None:
            start = y
        if i + 1 == len(years) or years[i + 1] != y + 1:
            runs.append(str(start) if start == y else f"{start}–{y}")
            start = None
    return runs[0] if len(runs) == 1 else ", ".join(runs[:-1]) + " and " + runs[-1]


def objective_sentence(r: Results) -> str:
    s, money = r.summary, r.money
    value = float(s["objective_value"])
    objective = str(s["objective"])
    if objective == "peak_cumulative_loss":
        text = (f"The plan minimises the peak cumulative loss (the deepest the losses run at any year end): "
                f"the optimum is {_num(value)} {money}.")
    elif objective == "cumulative_loss":
        cumulative = s.get("cumulative_loss")
        discounted = isinstance(cumulative, (int, float)) and abs(cumulative - value) > 1e-6 * max(1.0, abs(value))
        text = (f"The plan minimises the {'discounted ' if discounted else ''}cumulative loss over "
                f"{r.years[0]}–{r.years[-1]}: the optimum is {_num(value)} {money}")
        text += (f" (later years weigh less; undiscounted it is {_num(cumulative)} {money})." if discounted else ".")
    else:
        text = f"The plan minimises {objective}: the optimum is {_num(value)} {money}."
    return text


def key_figures(r: Results) -> list[str]:
    money, cap = r.money, r.capacity_unit
    first, last = r.years[0], r.years[-1]
    out = []
    loss, cumulative = r.series("loss"), r.series("cumulative_loss")
    total = float(loss.sum())
    peak_year = int(cumulative.idxmax())
    out.append(
        (f"Losses add up to {_num(total)} {money} over {first}–{last}" if total >= 0
         else f"Over {first}–{last} the plan makes a cumulative profit of {_num(-total)} {money}")
        + f"; the cumulative loss peaks at {_num(float(cumulative.max()))} {money} at the end of {peak_year}."
    )
    profitable = [t for t in r.years if loss.loc[t] < -_TOL]
    if profitable:
        out.append(f"The first year with a profit is {profitable[0]} ({_num(-float(loss.loc[profitable[0]]))} {money}).")
    else:
        out.append("No year of the plan makes a profit.")
    revenue, capex = r.series("revenue"), float(r.series("capex").sum())
    out.append(f"Revenue {_moves(revenue.loc[first], revenue.loc[last])} {_num(float(revenue.loc[first]))} {money} in {first} "
               f"to {_num(float(revenue.loc[last]))} {money} in {last}; compute costs {_num(float(r.series('compute_cost').sum()))} "
               f"{money} in total" + (f", plus {_num(capex)} {money} of build capex." if capex > _TOL else "."))
    cash, debt, funding = r.series("cash"), r.series("debt"), r.series("funding")
    lowest = float(cash.min())
    at_lowest = [t for t in r.years if abs(cash.loc[t] - lowest) <= 1e-6 * max(1.0, abs(lowest))]
    text = (f"Cash ends {last} at {_num(float(cash.loc[last]))} {money} and is lowest at "
            f"{_num(lowest)} {money} (end of {_year_list(at_lowest)})")
    if float(funding.sum()) > _TOL:
        text += f"; funding brings in {_num(float(funding.sum()))} {money}"
    if (debt > _TOL).any():
        text += f"; debt peaks at {_num(float(debt.max()))} {money} (end of {int(debt.idxmax())})"
    out.append(text + ".")
    active = r.pivot("capacity", "active").sum(axis=1)
    share = shares(r)
    text = f"Active capacity {_moves(active.loc[first], active.loc[last])} {_num(float(active.loc[first]))} {cap} in {first} to {_num(float(active.loc[last]))} {cap} in {last}"
    if share.loc[first].notna().any() and share.loc[last].notna().any():
        text += (f"; the largest provider's share goes from {share.loc[first].max():.0%} ({share.loc[first].idxmax()}) "
                 f"to {share.loc[last].max():.0%} ({share.loc[last].idxmax()})")
    out.append(text + ".")
    service = r.tables["service"]
    demand, served = float(service["demand"].sum()), float(service["served"].sum())
    if demand > _TOL:
        out.append(f"The plan serves {served / demand:.1%} of all demand (in compute units) over the horizon.")
    procurement = r.tables["procurement"]
    if len(procurement):
        built = procurement[procurement["source"] == "build"]
        signed = procurement[procurement["source"] != "build"]
        parts = []
        if len(signed):
            parts.append(f"signs {_num(float(signed['capacity'].sum()))} {cap} of contracts")
        if len(built):
            parts.append(f"starts building {_num(float(built['capacity'].sum()))} {cap}")
        out.append("Over the horizon the plan " + " and ".join(parts) + " (procurement.csv; each signing counted once, whatever its term).")
    after = r.summary.get("commitments_after_horizon")
    if isinstance(after, (int, float)) and after > _TOL:
        out.append(f"Contracts signed in the plan still owe {_num(float(after))} {money} after {last}, which the objective does not count.")
    return out


def binding_constraints(r: Results, n: int = 3) -> tuple[list[str], str]:
    """The ``n`` constraints that bind most, as sentences, and where they come from."""
    frame, identities = ranked_duals(r)
    if frame is not None and not identities:
        # one sentence per constraint (family and provider/workload/contract), at its most
        # valuable year; the other years it binds in are named after it
        keys = [c for c in ("family", "provider", "workload", "contract") if c in frame.columns]
        groups: dict[tuple, list] = {}
        for _, row in frame.iterrows():
            groups.setdefault(tuple(str(row[c]) for c in keys), []).append(row)
        sentences = []
        for rows in list(groups.values())[:n]:
            top = rows[0]
            meaning = str(top["meaning"]).strip()
            # capitalise the sentence, unless it starts with a name (providers are lower case)
            first_word = meaning.split(" ", 1)[0].removesuffix("'s") if meaning else ""
            named = first_word in r.providers or first_word in r.workloads
            text = (meaning if named else meaning[0].upper() + meaning[1:]) if meaning else (
                f"{_dual_label(top)}: shadow price {_num(float(top['shadow_price']))} {top['unit']}")
            text = text.rstrip(".") + "."
            others = [int(row["year"]) for row in rows[1:] if _present(row["year"])]
            if others:
                prices = [float(row["shadow_price"]) for row in rows[1:]]
                spread = (f"{_num(min(prices))} {top['unit']} each" if _num(min(prices)) == _num(max(prices))
                          else f"{_num(min(prices))} to {_num(max(prices))} {top['unit']}")
                text += f" It binds in {_year_list(others)} too ({spread})."
            sentences.append(text)
        return sentences, ("From duals.csv: the limits with the largest shadow prices (one sentence per constraint, at its "
                           "largest year), ranked by money saved per money's worth of relaxation: a capacity unit is valued "
                           "at the plan's median price per capacity unit-year, a compute unit at that over the median "
                           "efficiency. The chart below shows the top rows.")
    sentences = derived_findings(r)[:n]
    if r.duals is None:
        source = ("duals.csv is not in the results folder, so these are read off the tables; the folder does not hold the "
                  "instance's limits (min_cash, debt limit, capacity limits), so where a limit binds is inferred, and said so.")
    else:
        source = ("duals.csv holds no limit with a non-zero shadow price, so these are read off the tables (the instance's "
                  "limits are not in the results folder).")
    return sentences, source


def derived_findings(r: Results) -> list[str]:
    """What the tables alone show about binding constraints, most certain first."""
    money, cap = r.money, r.capacity_unit
    out = []
    short = shortfalls(r)
    for p in r.providers:
        years = [t for t in r.years if short.loc[t, p] > 0]
        if years:
            out.append(f"{p}'s take-or-pay minimum spend binds in {_year_list(years)}: it charges "
                       f"{_num(float(short[p].sum()))} {money} in total beyond what the capacity used costs (charge − spend).")
    cash = r.series("cash")
    lowest = float(cash.min())
    at_lowest = [t for t in r.years if abs(cash.loc[t] - lowest) <= 1e-6 * max(1.0, abs(lowest))]
    if len(at_lowest) >= 2:
        out.append(f"Cash ends {_year_list(at_lowest)} at the same lowest level, {_num(lowest)} {money}: most likely the "
                   "minimum-cash floor binds there (inferred: min_cash is not in the results folder).")
    idle = r.pivot("capacity", "idle")
    for p in r.providers:
        years = [t for t in r.years if idle.loc[t, p] > _TOL]
        if years:
            out.append(f"{_num(float(idle[p].sum()))} {cap}-years of {p} capacity are paid for but idle ({_year_list(years)}): "
                       "a commitment keeps them (an earlier contract's term, existing capacity, minimum capacity, a "
                       "share floor or gradual decline).")
    debt = r.series("debt")
    if (debt > _TOL).any():
        years = [t for t in r.years if debt.loc[t] > _TOL]
        out.append(f"The plan borrows at the end of {_year_list(years)} (up to {_num(float(debt.max()))} {money}): cash and "
                   "funding alone do not cover those years (whether the debt limit binds is not in the folder).")
    service = r.tables["service"]
    unserved = service[service["unserved"] > _TOL]
    for w in _ordered(unserved["workload"]):
        rows = unserved[unserved["workload"] == w]
        out.append(f"{_num(float(rows['unserved'].sum()))} compute units of {w} demand are left unserved "
                   f"({_year_list(rows['year'].astype(int))}): serving them would cost more than they earn, or no capacity was to be had.")
    if unserved.empty:
        out.append("Every workload's demand is served in full in every year: demand, not a capacity limit, sets how much is bought.")
    return out


# ======================================================================================
# HTML
# ======================================================================================

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;max-width:1240px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.meta{color:#555;margin-top:0}.note{color:#555;font-size:.92em}
figure{margin:1.2em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#444;font-size:.92em;margin-top:.4em}
table{border-collapse:collapse;font-size:.9em;margin:.6em 0}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}
pre{background:#f7f7f7;padding:.8em;overflow:auto;font-size:.85em}
"""


def build_html(r: Results, charts: list[RenderedChart]) -> str:
    e = html.escape
    s = r.summary
    head = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Compute plan report: {e(r.name)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Compute plan report: {e(r.name)}</h1>",
        f'<p class="meta">Planning years {r.years[0]}–{r.years[-1]} · status {e(str(s.get("status", "optimal")))} · '
        f"money in {e(r.money)}, capacity in {e(r.capacity_unit)}, demand in compute units"
        + (f" · solved by {e(str(s['solver']))}" if s.get("solver") else "")
        + (f" · {len(r.cases)} cases" if r.is_scenario else "")
        + f" · results folder <code>{e(r.folder.name)}</code></p>",
    ]
    if r.is_scenario:
        body = _scenario_sections(r)
    else:
        body = ["<h2>Objective</h2>", f"<p>{e(objective_sentence(r))}</p>", "<h2>Key figures</h2>", "<ul>"]
        body += [f"<li>{e(line)}</li>" for line in key_figures(r)]
        body.append("</ul>")
    sentences, source = binding_constraints(r)
    body.append("<h2>What binds</h2>")
    if r.is_scenario:
        body.append(f'<p class="note">In case {e(r.case)}, with the shared (committed) decisions.</p>')
    if sentences:
        body += ["<ol>"] + [f"<li>{e(line)}</li>" for line in sentences] + ["</ol>"]
    else:
        body.append("<p>Nothing in the results folder shows a binding constraint.</p>")
    body.append(f'<p class="note">{e(source)}</p>')
    body.append("<h2>Charts</h2>")
    if not any(c.chart.key == "shadow_prices" for c in charts):
        body.append('<p class="note">No shadow-price chart: '
                    + ("duals.csv is not in the results folder." if r.duals is None else "duals.csv has no non-zero shadow price.")
                    + "</p>")
    for c in charts:
        data = base64.b64encode(c.png).decode("ascii")
        body.append(
            f'<figure id="{e(c.chart.key)}"><img src="data:image/png;base64,{data}" width="{PNG_SIZE[0]}" '
            f'height="{PNG_SIZE[1]}" alt="{e(c.chart.heading)}"><figcaption><b>{e(c.chart.heading)}.</b> '
            f"{e(c.caption)} (Also saved as <code>{e(c.chart.filename)}</code>.)</figcaption></figure>"
        )
    body.append("<h2>Per year</h2>")
    if r.is_scenario:
        body.append(f'<p class="note">Case {e(r.case)}.</p>')
    body.append(_year_table(r))
    body.append('<p class="note">Capacity columns: active capacity per provider; demand and served in compute units.</p>')
    body.append("<details><summary>summary.json</summary><pre>"
                + e(json.dumps(s, indent=2, ensure_ascii=False)) + "</pre></details>")
    body.append("</body></html>")
    return "\n".join(head + body) + "\n"


def _scenario_sections(r: Results) -> list[str]:
    """The objective and key figures of scenario results (MODEL.md §5): the expected
    objective, CVaR, the committed years, a table of the cases, and the drawn case's
    figures."""
    e = html.escape
    drawn = "the most probable" if r.case == most_probable(r.cases) else "the chosen case"
    body = ["<h2>Objective</h2>", f"<p>{e(scenario_objective_sentence(r))}</p>", "<h2>Key figures</h2>", "<ul>"]
    body += [f"<li>{e(line)}</li>" for line in scenario_key_figures(r)]
    body += ["</ul>", _case_table(r),
             f'<p class="note">Objective: the case\'s own objective (as in summary.json); cumulative loss, peak and final '
             f"cash in {e(r.money)}. The charts after the first and the sections below draw case {e(r.case)}, {drawn}.</p>",
             f"<h3>Case {e(r.case)}</h3>", "<ul>"]
    body += [f"<li>{e(line)}</li>" for line in key_figures(r)]
    return body + ["</ul>"]


def _risk(summary: dict[str, Any]) -> tuple[Any, Any]:
    """summary.json's risk weight λ (0 when not given) and α."""
    risk = summary.get("risk") if isinstance(summary.get("risk"), dict) else {}
    return risk.get("weight", 0.0), risk.get("alpha")


def scenario_objective_sentence(r: Results) -> str:
    s, money = r.summary, r.money
    weight, alpha = _risk(s)
    if s["objective"] == "peak_cumulative_loss":
        each = "peak cumulative loss"
    elif s["objective"] == "cumulative_loss":
        discounted = any(_is_number(c.get("objective_value")) and _is_number(c.get("cumulative_loss"))
                         and abs(c["objective_value"] - c["cumulative_loss"]) > 1e-6 * max(1.0, abs(c["cumulative_loss"]))
                         for c in r.cases.values())
        each = f"{'discounted ' if discounted else ''}cumulative loss over {r.years[0]}–{r.years[-1]}"
    else:
        each = str(s["objective"])
    value = f"{_num(float(s['objective_value']))} {money}"
    if _is_number(weight) and weight > 0:
        return (f"One plan for {len(r.cases)} cases minimises (1 − λ) × the expected case objective + λ × its CVaR at "
                f"α = {alpha:g} (λ = {weight:g}), a case's objective being its {each}: the optimum is {value}.")
    return (f"One plan for {len(r.cases)} cases minimises the expected (probability-weighted) {each}: "
            f"the optimum is {value}.")


def scenario_key_figures(r: Results) -> list[str]:
    s, money = r.summary, r.money
    weight, alpha = _risk(s)
    out = []
    if _is_number(s.get("expected_objective")):
        out.append(f"Expected objective: {_num(float(s['expected_objective']))} {money}, the probability-weighted mean of "
                   "the cases' objectives.")
    if _is_number(s.get("cvar")):
        tail = f" at α = {alpha:g}, the mean case objective over the worst {_percent(1 - alpha)} of probability" if _is_number(alpha) else ""
        out.append(f"CVaR{tail}: {_num(float(s['cvar']))} {money}; "
                   + (f"it weighs {weight:g} in the objective." if _is_number(weight) and weight > 0
                      else "reported only (risk weight 0: the objective is the expected value)."))
    committed = committed_years(r)
    if not committed:
        out.append("Committed years: none; every case has its own signings and builds from the first year.")
    else:
        out.append(f"Committed years: {_year_list(committed)} (commit_years {len(committed)}); their signings and builds "
                   "are one decision shared by every case" + ("." if committed == r.years else "; later years adapt to each case."))
    return out


def case_figures(r: Results) -> list[dict[str, Any]]:
    """Per case: probability, objective, cumulative loss and peak (summary.json), final
    cash (summary.json, else finance.csv's last year)."""
    finance = r.case_finance
    rows = []
    for n, c in r.cases.items():
        cash = finance[finance["case"] == n].sort_values("year")["cash"]
        rows.append({
            "case": n, "probability": float(c["probability"]),
            **{key: float(c[key]) if _is_number(c.get(key)) else math.nan
               for key in ("objective_value", "cumulative_loss", "peak_cumulative_loss")},
            "final_cash": float(c["final_cash"]) if _is_number(c.get("final_cash")) else float(cash.iloc[-1]),
        })
    return rows


def _case_table(r: Results) -> str:
    e = html.escape
    rows = case_figures(r)
    keys = ("objective_value", "cumulative_loss", "peak_cumulative_loss", "final_cash")
    mean = {k: sum(row["probability"] * row[k] for row in rows) for k in keys}
    columns = ["case", "probability", "objective", "cumulative loss", "peak cumulative loss", "final cash"]
    out = ["<table><thead><tr>" + "".join(f"<th>{e(c)}</th>" for c in columns) + "</tr></thead><tbody>"]
    for name, probability, values in [(row["case"], _percent(row["probability"]), row) for row in rows] + [
            ("expected (probability-weighted)", "100%", mean)]:
        cells = [name, probability] + [f"{values[k]:,.2f}" if math.isfinite(values[k]) else "–" for k in keys]
        out.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _year_table(r: Results) -> str:
    e = html.escape
    active = r.pivot("capacity", "active")
    demand, served = r.pivot("service", "demand", by="workload"), r.pivot("service", "served", by="workload")
    columns = (
        ["year"] + [f"{p} ({r.capacity_unit})" for p in r.providers] + [f"total ({r.capacity_unit})"]
        + [f"{w} demand" for w in r.workloads] + ["served (share of demand)"]
        + [f"{name} ({r.money})" for name in ("revenue", "loss", "cumulative loss", "cash", "debt")]
    )
    rows = ["<table><thead><tr>" + "".join(f"<th>{e(c)}</th>" for c in columns) + "</tr></thead><tbody>"]
    for t in r.years:
        total_demand = float(demand.loc[t].sum())
        cells = [str(t)] + [f"{active.loc[t, p]:,.3f}" for p in r.providers] + [f"{active.loc[t].sum():,.3f}"]
        cells += [f"{demand.loc[t, w]:,.3f}" for w in r.workloads]
        cells.append(f"{float(served.loc[t].sum()) / total_demand:.1%}" if total_demand > _TOL else "–")
        cells += [f"{r.series(c).loc[t]:,.2f}" for c in ("revenue", "loss", "cumulative_loss", "cash", "debt")]
        rows.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>")
    rows.append("</tbody></table>")
    return "\n".join(rows)


# ======================================================================================
# Writing
# ======================================================================================


def write_report(results_dir: Path, fmt: str = "html", case: str | None = None) -> list[Path]:
    """Write the report into ``results_dir``; return the written paths.

    ``fmt="html"``: ``report.html`` (self-contained) and the chart PNGs; ``"png"``: only
    the PNGs. Each file is written under a temporary name and renamed into place. A chart
    PNG of an earlier report that no longer applies (the shadow prices, when duals.csv
    has gone) is removed so the folder is not left with a stale chart. Raises
    :class:`ReportError` (one line, naming the file) for a missing or malformed file, an
    unknown format, or a folder that cannot be written. ``case``: the case of scenario
    results the per-plan charts draw (default: the most probable, see :func:`load_results`).
    """
    if fmt not in FORMATS:
        raise ReportError(f"unknown report format {fmt!r}: expected one of {', '.join(FORMATS)}")
    results = load_results(results_dir, case)
    folder = results.folder
    charts = render_charts(results)
    outputs = [(folder / c.chart.filename, c.png) for c in charts]
    if fmt == "html":
        outputs.append((folder / REPORT_HTML, build_html(results, charts).encode("utf-8")))
    for path, data in outputs:
        _write_atomically(path, data)
    produced = {c.chart.filename for c in charts}
    for chart in CHARTS:
        stale = folder / chart.filename
        if chart.filename not in produced and stale.is_file():
            try:
                stale.unlink()
            except OSError as err:
                raise ReportError(f"cannot remove the stale chart {stale}: {err.strerror or err}") from None
    paths = [path for path, _ in outputs]
    return paths[-1:] + paths[:-1] if fmt == "html" else paths


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        # os.open with 0o666 honours the umask (mkstemp would make the report 0600)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except OSError as err:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise ReportError(f"cannot write {path}: {err.strerror or err}") from None
