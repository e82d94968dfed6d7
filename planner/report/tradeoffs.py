"""The report of a trade-off folder: what ``planner frontier`` and ``planner alternatives``
wrote (docs/tradeoffs.md), drawn as one chart and a self-contained report.html.

A **frontier folder** (``frontier.csv``, ``frontier.json``): point ε is the best plan when
one provider's share of active capacity in each capped year may not exceed ε; point 0 is
the optimal plan's own share, and a larger point is a tighter cap. ``frontier.png``: the
objective against the cap (tighter caps to the right), the optimum, the knee and the
smallest cap marked; below it what one more percentage point of independence costs at
each point (``cost_per_point``).

An **alternatives folder** (``alternatives.csv``, ``alternatives.json``): over every plan
whose objective is within the slack of the optimum, each provider's smallest and largest
share of active capacity in the last planning year and of its spend over the horizon.
``alternatives.png``: both ranges as bars, one row per provider, the optimum marked.

The files' names and columns come from :mod:`planner.results.files`, the tables are read
by its one reader (a provider called ``NA`` stays ``NA``), and a missing or malformed
file is a :class:`~planner.report.folder.ReportError` naming it. A folder a run stopped
early (``"complete": false``: fewer rows) is drawn as far as it goes and said to be
incomplete. Charts use the one style (:mod:`planner.report.style`) on matplotlib's Agg
canvas, without pyplot; matplotlib and pandas are imported inside the functions.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path
from typing import Any, Callable

from ..results.files import (
    ALTERNATIVES_COLUMNS, ALTERNATIVES_CSV, ALTERNATIVES_JSON, ALTERNATIVES_PNG, FRONTIER_CSV, FRONTIER_JSON,
    FRONTIER_PNG, frontier_columns,
)
from .folder import ReportError, read_csv_table, read_json_object
from .style import DPI, PNG_SIZE, PROVIDER_COLOURS, RC, is_number, num, page_head, percent, tex, titles, year_list

__all__ = [
    "KINDS", "alternatives_sentences", "frontier_kind", "frontier_sentences", "load_alternatives", "load_frontier",
    "render_alternatives_chart", "render_frontier_chart", "render_tradeoff_chart", "tradeoff_report_html",
]

#: Each kind of trade-off folder: its table, its summary and its chart.
KINDS = {
    "frontier": (FRONTIER_CSV, FRONTIER_JSON, FRONTIER_PNG),
    "alternatives": (ALTERNATIVES_CSV, ALTERNATIVES_JSON, ALTERNATIVES_PNG),
}

_LINE, _OPTIMUM, _KNEE, _BAR = "#333333", "#009E73", "#D55E00", "#0072B2"
#: The colour of each marked point's label on the frontier chart.
_LABEL_COLOURS = {"optimum": _OPTIMUM, "knee": _KNEE, "smallest cap with a plan": _LINE}


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------

def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


#: What the summaries must hold: key -> (test, what it must be).
_TEXT = (lambda v: isinstance(v, str) and v != "", "a text")
_NUMBER = (is_number, "a number")
_WHOLE = (_whole, "a whole number")
_FLAG = (lambda v: isinstance(v, bool), "true or false")
_NAMES = (lambda v: isinstance(v, list) and bool(v) and all(isinstance(x, str) for x in v), "a list of names")
_YEARS = (lambda v: isinstance(v, list) and bool(v) and all(_whole(x) for x in v), "a list of years")
_MAYBE_NUMBER = (lambda v: v is None or is_number(v), "a number or null")
_MAYBE_WHOLE = (lambda v: v is None or _whole(v), "a whole number or null")
_UNITS = (lambda v: isinstance(v, dict), "an object")

_SHARED = {"instance": _TEXT, "objective": _TEXT, "objective_value": _NUMBER, "providers": _NAMES, "complete": _FLAG}
_REQUIRED = {
    "frontier": {**_SHARED, "provider": _TEXT, "years": _YEARS},
    "alternatives": {**_SHARED, "slack": _NUMBER, "bound": _NUMBER, "last_year": _WHOLE},
}
#: Keys that may be absent (read as None) but must be right when present.
_OPTIONAL = {
    "frontier": {"optimum_share": _MAYBE_NUMBER, "smallest_cap": _MAYBE_NUMBER, "tolerance": _MAYBE_NUMBER,
                 "knee": _MAYBE_WHOLE, "points": _MAYBE_WHOLE, "solves": _MAYBE_WHOLE, "seconds": _MAYBE_NUMBER,
                 "units": _UNITS},
    "alternatives": {"method": (lambda v: isinstance(v, str), "a text"), "solves": _MAYBE_WHOLE,
                     "seconds": _MAYBE_NUMBER, "units": _UNITS},
}


def frontier_kind(folder: str | Path) -> str | None:
    """``"frontier"`` or ``"alternatives"``: the kind of trade-off folder ``folder`` is
    (by which summary it holds, frontier.json first), or None for any other folder."""
    for kind, (_, summary, _) in KINDS.items():
        if (Path(folder) / summary).is_file():
            return kind
    return None


def load_frontier(folder: str | Path) -> tuple[Any, dict[str, Any]]:
    """frontier.csv (a DataFrame, one row per point, by point) and frontier.json, checked;
    :class:`ReportError` names the file that is missing or malformed."""
    folder = Path(folder)
    meta = _read_meta(folder / FRONTIER_JSON, "frontier")
    path = folder / FRONTIER_CSV
    columns = frontier_columns(meta["providers"])
    shares = [c for c in columns if c.startswith("share_")]
    table = _read_csv(path, columns, numbers=[c for c in columns if c != "status"], blanks=shares)
    _unique(path, table, "point")
    table = table.sort_values("point", kind="stable").reset_index(drop=True)
    if meta["knee"] is not None and meta["knee"] not in set(table["point"]):
        raise ReportError(f"{folder / FRONTIER_JSON}: 'knee' is point {meta['knee']}, which {FRONTIER_CSV} lacks")
    return table, meta


def load_alternatives(folder: str | Path) -> tuple[Any, dict[str, Any]]:
    """alternatives.csv (a DataFrame, one row per provider, in the file's order) and
    alternatives.json, checked; :class:`ReportError` names the file that is missing or
    malformed."""
    folder = Path(folder)
    meta = _read_meta(folder / ALTERNATIVES_JSON, "alternatives")
    path = folder / ALTERNATIVES_CSV
    shares = ["min_share", "max_share", "optimum_share"]
    table = _read_csv(path, ALTERNATIVES_COLUMNS, numbers=ALTERNATIVES_COLUMNS[1:], blanks=shares)
    _unique(path, table, "provider")
    unknown = [p for p in table["provider"] if p not in meta["providers"]]
    if unknown:
        raise ReportError(f"{path}: provider {unknown[0]!r} is not among {ALTERNATIVES_JSON}'s providers")
    return table, meta


def _read_meta(path: Path, kind: str) -> dict[str, Any]:
    """A trade-off folder's summary (``kind``'s JSON), checked; absent optional keys are None."""
    meta = read_json_object(path, kind)
    if meta.get("kind") != kind:
        raise ReportError(f"{path}: 'kind' must be {kind!r}, got {meta.get('kind')!r}")
    for key, (test, words) in _REQUIRED[kind].items():
        if key not in meta:
            raise ReportError(f"{path} has no {key!r}")
        if not test(meta[key]):
            raise ReportError(f"{path}: {key!r} must be {words}, got {meta[key]!r}")
    for key, (test, words) in _OPTIONAL[kind].items():
        if meta.setdefault(key, None) is not None and not test(meta[key]):
            raise ReportError(f"{path}: {key!r} must be {words}, got {meta[key]!r}")
    return meta


def _read_csv(path: Path, columns: list[str], numbers: list[str], blanks: list[str]):
    """The table at ``path`` by the one reader, with ``columns``; ``numbers`` as floats
    (blank only in ``blanks``). At least one row."""
    import pandas as pd

    frame = read_csv_table(path, folder_kind="trade-off")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ReportError(f"{path} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if frame.empty:
        raise ReportError(f"{path} has no rows: nothing to report")
    for column in numbers:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & (frame[column].notna() if column in blanks else True)
        if bad.any():
            line = int(bad.to_numpy().nonzero()[0][0]) + 2
            raise ReportError(f"{path}: line {line}, column {column!r} holds a "
                              f"{'non-number' if column in blanks else 'blank or non-number'}")
        frame[column] = values.astype(float)
    return frame


def _unique(path: Path, frame, column: str) -> None:
    """Each row's ``column`` appears once."""
    repeated = frame[column].duplicated().to_numpy()
    if repeated.any():
        line = int(repeated.nonzero()[0][0]) + 2
        raise ReportError(f"{path}: line {line} repeats {column} {frame[column].iloc[line - 2]!r}")


# --------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------

def _money(meta: dict[str, Any]) -> str:
    return str((meta.get("units") or {}).get("money") or "money")


def _capacity(meta: dict[str, Any]) -> str:
    return str((meta.get("units") or {}).get("capacity") or "capacity")


def _pct(share: float) -> str:
    """A share for reading (``percent``), "–" when blank."""
    return percent(share) if share is not None and math.isfinite(share) else "–"


def _pct2(share: float) -> str:
    """A share for a table: two decimals of a percentage point, "–" when blank."""
    return f"{share:.2%}" if share is not None and math.isfinite(share) else "–"


def _objective_words(meta: dict[str, Any], table=None) -> str:
    """What the objective is, in words (discounted when it differs from the cumulative loss)."""
    objective = meta["objective"]
    if objective == "peak_cumulative_loss":
        return "peak cumulative loss"
    if objective == "cumulative_loss":
        if table is not None and "cumulative_loss" in table.columns:
            first = table.iloc[0]
            if abs(first["objective"] - first["cumulative_loss"]) > 1e-6 * max(1.0, abs(first["objective"])):
                return "discounted cumulative loss"
        return "cumulative loss"
    return objective.replace("_", " ")


def _frontier_figures(table, meta: dict[str, Any]) -> dict[str, Any]:
    """What the frontier's sentences, chart and table mark: the optimum's row, the knee's
    row (or None), the last row, and whether it is the smallest cap."""
    first, last = table.iloc[0], table.iloc[-1]
    knee = None if meta["knee"] is None else table[table["point"] == meta["knee"]].iloc[0]
    return {"first": first, "knee": knee, "last": last, "smallest": meta["complete"] and len(table) > 1}


def frontier_sentences(table, meta: dict[str, Any]) -> list[str]:
    """The frontier read in 2–4 plain sentences: the optimum's share, what the tightest
    cap costs, the knee, and whether the last point is the smallest cap with a plan."""
    f = _frontier_figures(table, meta)
    p, years, money = meta["provider"], year_list(meta["years"]), _money(meta)
    first, last, knee = f["first"], f["last"], f["knee"]
    words = _objective_words(meta, table)
    optimum = first["max_share"] if meta["optimum_share"] is None else meta["optimum_share"]
    up_to = "up to " if len(meta["years"]) > 1 else ""
    out = [f"The optimal plan gives {p} {up_to}{_pct(optimum)} of active capacity in {years}; "
           f"its {words} is {num(first['objective'])} {money}."]
    if len(table) > 1:
        out.append(f"Capping {p}'s share at {_pct(last['max_share'])} in {years} costs "
                   f"{num(last['objective'] - first['objective'])} {money} more than the optimum's {_pct(optimum)} "
                   f"({words} {num(last['objective'])} against {num(first['objective'])} {money}).")
    if knee is not None and knee["point"] != first["point"]:
        after = table[table["point"] > knee["point"]]["cost_per_point"]
        out.append(f"The knee is at {_pct(knee['max_share'])} (point {int(knee['point'])}), "
                   f"{num(knee['objective'] - first['objective'])} {money} above the optimum: there one more "
                   f"percentage point of independence costs {num(knee['cost_per_point'])} {money}"
                   + (f", and past it up to {num(after.max())} {money}." if len(after) else "."))
    elif len(table) > 2:
        out.append("There is no clear knee: the cost rises without a marked bend.")
    out.append(_last_point_sentence(table, meta))
    return out


def _last_point_sentence(table, meta: dict[str, Any]) -> str:
    """Whether the frontier reaches the smallest cap with a plan, or where a stopped run ended."""
    p, last = meta["provider"], table.iloc[-1]
    smallest, tolerance = meta["smallest_cap"], meta["tolerance"] or 1e-4
    if not meta["complete"]:
        of = f" of {meta['points']}" if meta["points"] else ""
        known = f"; the smallest cap with a plan is {_pct(smallest)}" if smallest is not None else ""
        return f"The run was stopped after {len(table)}{of} points{known}, so the tighter points are missing."
    if len(table) == 1:
        if smallest is not None and abs(smallest - last["max_share"]) <= tolerance:
            return f"No tighter cap has a plan: {_pct(last['max_share'])} is already the smallest."
        return "Only the optimum's own point was computed."
    return (f"The last point, {_pct(last['max_share'])}, is the smallest cap with a plan (to within "
            f"{100 * tolerance:g} percentage points): no plan keeps {p}'s share lower.")


def alternatives_sentences(table, meta: dict[str, Any]) -> list[str]:
    """The near-optimal ranges read in 2–4 plain sentences: the widest and the narrowest
    share range, the widest spend range, and whether the run was stopped."""
    money, year = _money(meta), meta["last_year"]
    within = (f"Within {_pct(meta['slack'])} of the optimum (objective ≤ {num(meta['bound'])} {money}; "
              f"the optimum is {num(meta['objective_value'])})")
    shares = table.dropna(subset=["min_share", "max_share"])
    width = (shares["max_share"] - shares["min_share"]).to_numpy()
    out = []
    if len(shares):
        wide = shares.iloc[int(width.argmax())]
        out.append(f"{within}, {wide['provider']}'s {year} share of active capacity can range from "
                   f"{_pct(wide['min_share'])} to {_pct(wide['max_share'])} (the optimum's: "
                   f"{_pct(wide['optimum_share'])})" + (", the widest range of any provider." if len(shares) > 1 else "."))
        narrow = shares.iloc[int(width.argmin())]
        if len(shares) > 1 and narrow["provider"] != wide["provider"]:
            out.append(f"The narrowest is {narrow['provider']}'s: {_pct(narrow['min_share'])} to "
                       f"{_pct(narrow['max_share'])}.")
    else:
        out.append(f"{within}, no share of {year} can be read: these plans have no active capacity then.")
    spend = table.iloc[int((table["max_spend"] - table["min_spend"]).to_numpy().argmax())]
    out.append(f"Spend over the horizon can move the most for {spend['provider']}: from {num(spend['min_spend'])} "
               f"to {num(spend['max_spend'])} {money} (the optimum: {num(spend['optimum_spend'])}).")
    if not meta["complete"]:
        out.append(f"The run was stopped after {len(table)} of {len(meta['providers'])} providers: "
                   "the others' ranges are not known.")
    return out


# --------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------

def render_tradeoff_chart(folder: str | Path) -> tuple[str, bytes]:
    """The chart of a trade-off folder: its file name and PNG bytes (:class:`ReportError`
    when ``folder`` is not one, or a file is missing or malformed)."""
    kind = _kind(folder)
    render = render_frontier_chart if kind == "frontier" else render_alternatives_chart
    return KINDS[kind][2], render(folder)


def render_frontier_chart(folder: str | Path) -> bytes:
    """frontier.png: the objective against the cap, the optimum, knee and smallest cap
    marked; below it the cost of one more percentage point at each point."""
    table, meta = load_frontier(folder)
    return _png(lambda fig: _draw_frontier(fig, table, meta))


def render_alternatives_chart(folder: str | Path) -> bytes:
    """alternatives.png: each provider's share range and spend range within the slack,
    the optimum marked."""
    table, meta = load_alternatives(folder)
    return _png(lambda fig: _draw_alternatives(fig, table, meta))


def _png(draw: Callable[[Any], None]) -> bytes:
    """``draw(fig)`` on a new PNG_SIZE Agg figure in the one style; the PNG bytes."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(PNG_SIZE[0] / DPI, PNG_SIZE[1] / DPI), dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        draw(fig)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": "planner report (matplotlib Agg)"})
    return buffer.getvalue()


def _incomplete(meta: dict[str, Any], done: int, total: int | None, what: str) -> str:
    """The title's ending for a stopped run ("" for a complete one)."""
    if meta["complete"]:
        return ""
    return f" (incomplete: {done} of {total} {what})" if total else f" (incomplete: {done} {what})"


def _draw_frontier(fig, table, meta: dict[str, Any]) -> None:
    from matplotlib.ticker import FuncFormatter

    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    p, years, money = tex(meta["provider"]), year_list(meta["years"]), tex(_money(meta))
    x, y = 100 * table["max_share"].to_numpy(), table["objective"].to_numpy()
    top.plot(x, y, color=_LINE, linewidth=1.6, marker="o", markersize=5, zorder=3)
    _mark_frontier(top, table, meta)
    top.set_ylabel(f"{_objective_words(meta, table)}\n({money})")
    top.margins(x=0.1, y=0.25)
    title = f"{tex(meta['instance'])}: the cost of capping {p}'s share in {years}"
    knee = "; red ring: the knee" if meta["knee"] is not None else ""
    titles(fig, top, title + _incomplete(meta, len(table), meta["points"], "points"),
           f"Each point is the best plan when {p}'s share of active capacity in {years} may not exceed the cap; "
           f"the cap tightens to the right. Star: the optimum (no cap){knee}.")
    _cost_bars(bottom, x, table, meta)
    bottom.set_xlabel(f"cap on {p}'s share of active capacity in {years} (tighter to the right)")
    bottom.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.4g}%"))
    if len(x) == 1:
        bottom.set_xlim(x[0] - 5, x[0] + 5)
    fig.align_ylabels([top, bottom])
    top.invert_xaxis()


def _mark_frontier(ax, table, meta: dict[str, Any]) -> None:
    """The optimum (a star), the knee (a ring) and the smallest cap, each annotated."""
    f = _frontier_figures(table, meta)
    first, money = f["first"], tex(_money(meta))
    labels: dict[float, list[str]] = {}
    ax.plot([100 * first["max_share"]], [first["objective"]], marker="*", markersize=16, color=_OPTIMUM, zorder=4,
            linewidth=0)
    labels.setdefault(first["point"], []).append(
        ("optimum", f"optimum: {_pct(first['max_share'])}, {num(first['objective'])} {money}"))
    for row, name in ((f["knee"], "knee"), (f["last"] if f["smallest"] else None, "smallest cap with a plan")):
        if row is None or row["point"] == first["point"]:
            continue
        if name == "knee":
            ax.plot([100 * row["max_share"]], [row["objective"]], marker="o", markersize=13, markerfacecolor="none",
                    markeredgecolor=_KNEE, markeredgewidth=2, zorder=4, linewidth=0)
        more = row["objective"] - first["objective"]
        labels.setdefault(row["point"], []).append((name, f"{name}: {_pct(row['max_share'])}, +{num(more)} {money}"))
    for point, lines in labels.items():
        row = table[table["point"] == point].iloc[0]
        left = point == first["point"]
        # the objective rises as the cap tightens (to the right): below-right of the
        # optimum and above-left of a later point the curve never passes
        ax.annotate("\n".join(text for _, text in lines), (100 * row["max_share"], row["objective"]),
                    xytext=(12, -12) if left else (-10, 10), textcoords="offset points",
                    ha="left" if left else "right", va="top" if left else "bottom", fontsize=8.5,
                    color=_LABEL_COLOURS[lines[0][0]], fontweight="bold")


def _cost_bars(ax, x, table, meta: dict[str, Any]) -> None:
    """The bottom panel: cost_per_point at each point, the knee's bar in red."""
    import numpy as np

    gaps = np.diff(np.sort(x))
    gaps = gaps[gaps > 1e-9]
    width = 0.6 * gaps.min() if len(gaps) else 1.0
    cost = table["cost_per_point"].to_numpy()
    colours = [_KNEE if meta["knee"] is not None and pt == meta["knee"] else _BAR for pt in table["point"]]
    ax.bar(x, cost, width=width, color=colours, alpha=0.85)
    if len(x) <= 12:
        for xi, ci in zip(x, cost):
            ax.annotate(num(ci), (xi, ci), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)
    highest = float(np.nanmax(cost)) if np.isfinite(cost).any() else 0.0
    ax.set_ylim(0, (highest if highest > 1e-9 else 1.0) * 1.25)
    ax.set_ylabel(f"{tex(_money(meta))}\nper point")
    ax.set_title("what one more percentage point of independence costs (the cap's shadow price / 100)", loc="left",
                 fontsize=9, fontweight="normal", color="#444444")


def _draw_alternatives(fig, table, meta: dict[str, Any]) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import PercentFormatter

    share_ax, spend_ax = fig.subplots(1, 2, sharey=True)
    colours = {p: PROVIDER_COLOURS[i % len(PROVIDER_COLOURS)] for i, p in enumerate(meta["providers"])}
    rows = list(table.itertuples(index=False))
    ys = list(range(len(rows) - 1, -1, -1))  # the first provider on top
    for y, row in zip(ys, rows):
        colour = colours[row.provider]
        _range(share_ax, y, 100 * row.min_share, 100 * row.max_share, 100 * row.optimum_share, colour,
               lambda v: f"{v:.1f}%", f"no capacity in {meta['last_year']}")
        _range(spend_ax, y, row.min_spend, row.max_spend, row.optimum_spend, colour, num, "")
    share_ax.set_yticks(ys, [tex(r.provider) for r in rows])
    share_ax.set_ylim(-0.7, len(rows) - 0.3)
    share_ax.set_xlim(-3, 105)
    share_ax.xaxis.set_major_formatter(PercentFormatter(100))
    share_ax.set_title(f"share of active capacity in {meta['last_year']}", loc="left")
    spend_ax.set_title(f"spend over the horizon ({tex(_money(meta))})", loc="left")
    low = min(0.0, float(table["min_spend"].min()))
    high = max(float(table["max_spend"].max()), float(table["optimum_spend"].max()))
    spend_ax.set_xlim(low, high + 0.08 * (high - low) if high > low else low + 1.0)  # from 0: bars read as amounts
    for ax in (share_ax, spend_ax):
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", alpha=0.35)
    fig.legend(handles=[Patch(color="#888888", alpha=0.8, label=f"range over the plans within {_pct(meta['slack'])}"),
                        Line2D([], [], color="black", marker="D", linewidth=0, label="the optimal plan")],
               loc="outside lower center", ncols=2)
    title = (f"{tex(meta['instance'])}: what plans within {_pct(meta['slack'])} of the optimum can do "
             f"(objective ≤ {num(meta['bound'])} {tex(_money(meta))})")
    fig.suptitle(title + _incomplete(meta, len(rows), len(meta["providers"]), "providers"))


def _range(ax, y: float, low: float, high: float, optimum: float, colour: str, fmt, blank: str) -> None:
    """One provider's range as a horizontal bar (a tick when it is a single value), the
    optimum as a diamond, the range's ends written above it; ``blank`` when unknown."""
    if not (math.isfinite(low) and math.isfinite(high)):
        ax.text(0, y, f" {blank}", va="center", ha="left", fontsize=8.5, color="#666666")
        return
    ax.barh(y, high - low, left=low, height=0.5, color=colour, alpha=0.8)
    ax.plot([low, high], [y, y], color=colour, linewidth=0, marker="|", markersize=14)
    if math.isfinite(optimum):
        ax.plot([optimum], [y], color="black", marker="D", markersize=6, linewidth=0, zorder=4)
    ax.annotate(f"{fmt(low)} – {fmt(high)}", ((low + high) / 2, y + 0.27), ha="center", va="bottom", fontsize=8.5)


# --------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------

def tradeoff_report_html(folder: str | Path, shown_name: str | None = None, chart: bytes | None = None) -> str:
    """report.html of a frontier or alternatives folder: a heading, sentences that read
    the results, the chart (embedded as base64) and the table; self-contained.
    ``shown_name``: the folder's name as the page shows it; ``chart``: the PNG, when
    already drawn."""
    folder = Path(folder)
    kind = _kind(folder)
    load, render = ((load_frontier, render_frontier_chart) if kind == "frontier"
                    else (load_alternatives, render_alternatives_chart))
    table, meta = load(folder)
    png = render(folder) if chart is None else chart
    name = shown_name or folder.name
    if kind == "frontier":
        title, meta_line = _frontier_heading(table, meta, name)
        sentences, rows = frontier_sentences(table, meta), _frontier_table(table, meta)
    else:
        title, meta_line = _alternatives_heading(table, meta, name)
        sentences, rows = alternatives_sentences(table, meta), _alternatives_table(table, meta)
    return _page(title, meta_line, sentences, (png, _CAPTIONS[kind]), KINDS[kind], rows, meta)


#: What each chart shows, for its caption on the page.
_CAPTIONS = {
    "frontier": ("The objective of the best plan at each cap (tighter caps to the right), the optimum, the knee and "
                 "the smallest cap marked; below, what one more percentage point of independence costs there."),
    "alternatives": ("Each bar runs from the provider's smallest to its largest value over every plan within the "
                     "slack; the diamond is the optimal plan's."),
}


def _kind(folder: str | Path) -> str:
    kind = frontier_kind(folder)
    if kind is None:
        raise ReportError(f"{folder} holds neither {FRONTIER_JSON} nor {ALTERNATIVES_JSON}: not a trade-off folder")
    return kind


def _run_line(meta: dict[str, Any], name: str) -> str:
    """The end of the page's meta line: units, solves, time and the folder (HTML)."""
    e = html.escape
    solves = f" · {meta['solves']} solves" if meta["solves"] is not None else ""
    seconds = f" in {meta['seconds']:.1f} s" if meta["seconds"] is not None and solves else ""
    return (f" · money in {e(_money(meta))}, capacity in {e(_capacity(meta))}{solves}{seconds}"
            f" · folder <code>{e(name)}</code>")


def _frontier_heading(table, meta: dict[str, Any], name: str) -> tuple[str, str]:
    e = html.escape
    state = "" if meta["complete"] else " (incomplete)"
    line = (f"{e(meta['provider'])}'s share capped in {e(year_list(meta['years']))} · objective "
            f"{e(meta['objective'])} · {len(table)} point{'s' if len(table) != 1 else ''}{state}" + _run_line(meta, name))
    return f"Share frontier: {meta['instance']}, {meta['provider']}", line


def _alternatives_heading(table, meta: dict[str, Any], name: str) -> tuple[str, str]:
    e = html.escape
    state = "" if meta["complete"] else f" (incomplete: {len(table)} of {len(meta['providers'])} providers)"
    method = f" · {e(meta['method'])}" if meta["method"] else ""
    line = (f"slack {e(_pct(meta['slack']))} · objective {e(meta['objective'])} ≤ {e(num(meta['bound']))}{state}"
            f"{method}" + _run_line(meta, name))
    return f"Near-optimal alternatives: {meta['instance']}", line


def _frontier_table(table, meta: dict[str, Any]) -> str:
    """One row per point: the cap, the objective and how much above the optimum, the
    finance figures, each provider's share and the cost per point."""
    f, money = _frontier_figures(table, meta), _money(meta)
    marks = {f["first"]["point"]: "optimum"}
    if f["smallest"]:
        marks[f["last"]["point"]] = "smallest cap"
    if f["knee"] is not None:
        marks[f["knee"]["point"]] = "knee"
    columns = (["point", "cap", f"objective ({money})", f"more than the optimum ({money})", f"cumulative loss ({money})",
                f"peak cumulative loss ({money})", f"final cash ({money})"]
               + [f"share {p} {meta['years'][-1]}" for p in meta["providers"]]
               + [f"cost per point ({money} per point)"])
    base = f["first"]["objective"]
    rows = []
    for _, row in table.iterrows():
        mark = f" ({marks[row['point']]})" if row["point"] in marks else ""
        rows.append([f"{int(row['point'])}{mark}", _pct2(row["max_share"]), f"{row['objective']:,.3f}",
                     f"{row['objective'] - base:,.3f}"]
                    + [f"{row[c]:,.3f}" for c in ("cumulative_loss", "peak_cumulative_loss", "final_cash")]
                    + [_pct2(row[f"share_{p}"]) for p in meta["providers"]] + [f"{row['cost_per_point']:,.4f}"])
    return _table(columns, rows)


def _alternatives_table(table, meta: dict[str, Any]) -> str:
    """One row per provider: its share range and spend range, and the optimum's."""
    money = _money(meta)
    year = meta["last_year"]
    columns = ["provider", f"smallest share {year}", f"largest share {year}", f"optimum's share {year}",
               f"smallest spend ({money})", f"largest spend ({money})", f"optimum's spend ({money})"]
    rows = [[row.provider, _pct2(row.min_share), _pct2(row.max_share), _pct2(row.optimum_share),
             f"{row.min_spend:,.3f}", f"{row.max_spend:,.3f}", f"{row.optimum_spend:,.3f}"]
            for row in table.itertuples(index=False)]
    return _table(columns, rows)


def _table(columns: list[str], rows: list[list[str]]) -> str:
    e = html.escape
    out = ["<table><thead><tr>" + "".join(f"<th>{e(c)}</th>" for c in columns) + "</tr></thead><tbody>"]
    out += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows]
    return "\n".join(out + ["</tbody></table>"])


def _page(title: str, meta_line: str, sentences: list[str], chart: tuple[bytes, str], files: tuple[str, str, str],
          rows: str, meta: dict[str, Any]) -> str:
    """The page: heading, the sentences, the chart (PNG, caption), the table, the summary JSON."""
    e = html.escape
    table_file, summary_file, chart_file = files
    png, caption = chart
    data = base64.b64encode(png).decode("ascii")
    body = [
        "<h2>What it shows</h2>", "<p>" + " ".join(e(s) for s in sentences) + "</p>",
        "<h2>Chart</h2>",
        f'<figure id="chart"><img src="data:image/png;base64,{data}" width="{PNG_SIZE[0]}" height="{PNG_SIZE[1]}" '
        f'alt="{e(title)}"><figcaption>{e(caption)} (Also saved as <code>{e(chart_file)}</code>.)</figcaption></figure>',
        "<h2>Table</h2>", rows, f'<p class="note">As in <code>{e(table_file)}</code>; shares in percent.</p>',
        f"<details><summary>{e(summary_file)}</summary><pre>"
        + e(json.dumps(meta, indent=2, ensure_ascii=False)) + "</pre></details>",
        "</body></html>",
    ]
    return "\n".join(page_head(title, meta_line) + body) + "\n"
