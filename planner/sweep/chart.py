"""One chart of a sweep folder: ``sweep.png`` (1200×675 px), beside ``sweep.csv``.

``write_sweep_chart(folder)`` reads what ``planner sweep`` wrote (:mod:`planner.sweep`:
``sweep.csv``, ``sweep.json`` and, for a Sobol' sweep, ``sensitivity.csv``) and draws:

Left: how the objective is spread
    A histogram of the objective over the *optimal* variants (the only ones with a plan),
    with dashed lines at its 5th, 50th and 95th percentiles (labelled with their values,
    linear percentiles as in ``sweep.json``). The note above it says how many of the
    variants are optimal and how many ended in each other status (infeasible, invalid,
    time_limit, error); when none has a plan the panel says so.

Right: what moves it
    * Sobol' sweeps with a ``sensitivity.csv``: one bar per varied input, ranked (rank 1
      on top). The bar is the *total* index (the share of the objective's variance the
      input explains, alone and through its interactions) with its 95 % confidence
      interval as an error bar; the diamond is the *first-order* index (its effect alone).
      A large gap between the two means the input acts through interactions. The
      estimates are sampled: an index slightly below 0 or above 1 is noise (drawn at 0;
      the axis widens past 1 when an interval does).
    * Otherwise: the objective against each varied input, in up to four panels, the
      inputs with the largest absolute Spearman rank correlation with the objective first
      (ρ in each panel's title). Blue dots are optimal variants; red ``x`` marks along the
      bottom edge are the variants without a plan, at their input value, so the reader
      sees where plans stop existing. An axis is named by its sweep.csv column:
      ``PATH`` for values, ``PATH[x]`` for a scaling of the series, ``PATH[+y]`` for a
      shift in years.

Drawn in the report's style (:mod:`planner.report.style`: its size, DPI, rcParams and
titles, on matplotlib's Agg canvas without pyplot) and written by the one safe write
(:mod:`planner.results.safe_write`); matplotlib and numpy are imported inside the
functions, so importing this module stays cheap.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ..results import safe_write
from ..results.files import SENSITIVITY_CSV, SWEEP_CSV, SWEEP_JSON, SWEEP_PNG
from ..report.style import DPI, PNG_SIZE, RC, num, tex, titles

__all__ = ["SWEEP_PNG", "SweepChartError", "write_sweep_chart"]

#: At most this many scatter panels (the inputs most rank-correlated with the objective).
MAX_SCATTERS = 4
_OPTIMAL = "optimal"
_BAR, _DOT, _NO_PLAN, _LINE, _FIRST = "#0072B2", "#1F5AA6", "#C0392B", "#333333", "#E69F00"
_MODES = {"grid": "grid", "monte_carlo": "Monte Carlo", "sobol": "Sobol'"}


class SweepChartError(Exception):
    """The chart cannot be made (a file missing or malformed, or the folder not writable).

    The message is one line and names the file."""


@dataclass
class SweepData:
    """What the chart needs from a sweep folder (NaN where a cell is empty or unreadable)."""

    folder: Path
    inputs: list[str]  # the varied columns of sweep.csv, in its order
    values: dict[str, Any]  # column -> numpy array of the input's values, one per variant
    statuses: list[str]
    objective: Any  # numpy array, one per variant
    summary: dict  # sweep.json ({} when absent)
    sensitivity: list[dict] | None  # the objective's rows of sensitivity.csv, by rank

    @cached_property
    def has_plan(self):
        """Per variant: optimal with a finite objective (the variants drawn as dots)."""
        import numpy as np

        return np.array([s == _OPTIMAL for s in self.statuses], dtype=bool) & np.isfinite(self.objective)


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------


def _number(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    if not path.is_file():
        raise SweepChartError(f"{path} is missing: run planner sweep into {path.parent} first")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            table = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise SweepChartError(f"cannot read {path}: {getattr(err, 'strerror', None) or err}") from None
    if not table:
        raise SweepChartError(f"{path} is empty: it has no header row")
    header = table[0]
    return header, [row for row in table[1:] if len(row) == len(header)]  # a row cut short is skipped


def _read_summary(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise SweepChartError(f"cannot read {path}: {getattr(err, 'strerror', None) or err}") from None
    if not isinstance(summary, dict):
        raise SweepChartError(f"{path} is not a sweep summary (expected a JSON object)")
    return summary


def _read_sensitivity(path: Path) -> list[dict] | None:
    """The objective's rows of sensitivity.csv, by rank (None: no such file or rows)."""
    if not path.is_file():
        return None
    header, rows = _read_rows(path)
    missing = [c for c in ("output", "path", "total") if c not in header]
    if missing:
        raise SweepChartError(f"{path} has no {', '.join(missing)} column")
    entries = [dict(zip(header, row)) for row in rows]
    entries = [e for e in entries if e["output"] == "objective"]
    entries.sort(key=_rank)
    return entries or None


def _rank(entry: dict) -> float:
    rank = _number(entry.get("rank"))
    return rank if math.isfinite(rank) else math.inf


def load_sweep(folder: Path) -> SweepData:
    """Read a sweep folder; raise :class:`SweepChartError` naming a missing or bad file."""
    import numpy as np

    folder = Path(folder)
    path = folder / SWEEP_CSV
    header, rows = _read_rows(path)
    missing = [c for c in ("variant_id", "status", "objective") if c not in header]
    if missing:
        raise SweepChartError(f"{path} has no {', '.join(missing)} column: is it a planner sweep file?")
    status_at = header.index("status")
    inputs = header[header.index("variant_id") + 1:status_at]
    columns = {name: [row[i] for row in rows] for i, name in enumerate(header)}
    return SweepData(
        folder=folder,
        inputs=inputs,
        values={c: np.array([_number(v) for v in columns[c]], dtype=float) for c in inputs},
        statuses=[s.strip() for s in columns["status"]],
        objective=np.array([_number(v) for v in columns["objective"]], dtype=float),
        summary=_read_summary(folder / SWEEP_JSON),
        sensitivity=_read_sensitivity(folder / SENSITIVITY_CSV),
    )


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------


def write_sweep_chart(folder: Path) -> Path:
    """Draw ``sweep.png`` into the sweep folder ``folder`` and return its path.

    Written by :func:`planner.results.safe_write.write_bytes` (a staging file renamed
    into place; nothing is left behind when the write fails). Raises
    :class:`SweepChartError` (one line, naming the file) when ``sweep.csv`` is missing or
    malformed, ``sweep.json`` or ``sensitivity.csv`` is malformed, or the folder cannot
    be written.
    """
    data = load_sweep(Path(folder))
    path = data.folder / SWEEP_PNG
    try:
        safe_write.write_bytes(path, render_sweep_chart(data))
    except OSError as err:
        raise SweepChartError(f"cannot write {path}: {err.strerror or err}") from None
    return path


def render_sweep_chart(data: SweepData) -> bytes:
    """The chart of ``data`` as PNG bytes."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(PNG_SIZE[0] / DPI, PNG_SIZE[1] / DPI), dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        left, right = fig.subfigures(1, 2, wspace=0.03, width_ratios=[1.0, 1.15])
        _draw_histogram(fig, left, data)
        if data.sensitivity:
            _draw_sensitivity(right, data)
        else:
            _draw_scatters(right, data)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": "planner sweep (matplotlib Agg)"})
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------
# Left: the objective's histogram
# ---------------------------------------------------------------------------------------


def _objective_label(summary: dict) -> str:
    name = summary.get("objective_name")
    units = summary.get("units")
    money = units.get("money") if isinstance(units, dict) else None
    label = f"objective: {str(name).replace('_', ' ')}" if name else "objective"
    return f"{label} ({money})" if money else label


def _short_label(summary: dict) -> str:
    units = summary.get("units")
    money = units.get("money") if isinstance(units, dict) else None
    return f"objective ({money})" if money else "objective"


def _status_line(statuses: list[str], plans: int) -> str:
    counts = Counter(s or "no status" for s in statuses)
    others = sorted(((n, s) for s, n in counts.items() if s != _OPTIMAL), key=lambda p: (-p[0], p[1]))
    line = f"{plans} optimal of {len(statuses)} variants"
    if counts[_OPTIMAL] > plans:
        line += f" ({counts[_OPTIMAL] - plans} without an objective value)"
    return line + "".join(f"; {n} {s}" for n, s in others)


def _title(data: SweepData) -> str:
    s = data.summary
    name = s.get("instance")
    mode = _MODES.get(s.get("mode"), s.get("mode"))
    title = f"Sweep of {name}" if name else "Sweep"
    title += f": the objective over {len(data.statuses)} variants" + (f" ({mode})" if mode else "")
    if isinstance(s.get("variants"), int) and s["variants"] > len(data.statuses):
        title += f", {s['variants'] - len(data.statuses)} not solved yet"
    return title


def _bin_edges(values):
    """Histogram bins over ``values``; one bin around the value when all are equal."""
    import numpy as np

    lo, hi = float(values.min()), float(values.max())
    if hi - lo <= 1e-9 * max(abs(lo), abs(hi), 1.0):
        half = 0.05 * max(abs(lo), abs(hi)) or 0.5
        return np.array([lo - half, hi + half])
    bins = int(min(40, max(5, math.ceil(math.sqrt(len(values))))))
    return np.linspace(lo, hi, bins + 1)


def _draw_histogram(fig, sub, data: SweepData) -> None:
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    ax = sub.subplots()
    values = data.objective[data.has_plan]
    note = _status_line(data.statuses, len(values))
    if len(values) == 0:
        _empty(ax, "no variant has a plan")
    else:
        ax.hist(values, bins=_bin_edges(values), color=_BAR, edgecolor="white", linewidth=0.6)
        _percentile_lines(ax, np.percentile(values, [5, 50, 95]))
        ax.set_ylabel("variants")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        # few x ticks: long labels (1e12 plus a little) must not run into each other
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
        ax.set_xlabel(tex(_objective_label(data.summary)))
        note += "\nobjective of the optimal variants; dashed lines: p5, p50, p95"
        if float(values.max()) == float(values.min()):
            note += f"\nevery optimal variant has the same objective, {num(float(values[0]))}"
    titles(fig, ax, _title(data), note, width=62)


def _percentile_lines(ax, quantiles) -> None:
    from matplotlib.transforms import blended_transform_factory

    on_x = blended_transform_factory(ax.transData, ax.transAxes)
    low, high = ax.get_xlim()
    for (name, q), height in zip(zip(("p5", "p50", "p95"), quantiles), (0.95, 0.86, 0.77)):
        ax.axvline(q, color=_LINE, linestyle="--", linewidth=1.3)
        right_side = high > low and (q - low) / (high - low) > 0.6  # label left of the line, inside the axes
        label = f"{name} {num(float(q))} " if right_side else f" {name} {num(float(q))}"
        text = ax.text(q, height, label, transform=on_x, ha="right" if right_side else "left", va="top", fontsize=8.5,
                       bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
        text.set_in_layout(False)


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", fontsize=14, color=_NO_PLAN)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


# ---------------------------------------------------------------------------------------
# Right, Sobol': total and first-order indices
# ---------------------------------------------------------------------------------------


def _draw_sensitivity(sub, data: SweepData) -> None:
    import numpy as np

    ax = sub.subplots()
    entries = data.sensitivity
    total, low, high, first = (np.array([_number(e.get(key)) for e in entries], dtype=float)
                               for key in ("total", "total_low", "total_high", "first_order"))
    y = np.arange(len(entries))
    shown = np.where(np.isfinite(total), np.clip(total, 0.0, None), 0.0)
    errors = np.nan_to_num(np.clip([shown - low, high - shown], 0.0, None), nan=0.0)
    ax.barh(y, shown, xerr=errors, color=_BAR, height=0.5, error_kw={"ecolor": _LINE, "capsize": 4, "linewidth": 1.2},
            label="total index (bar), 95% interval")
    ax.plot(np.clip(first, 0.0, None), y, "D", color=_FIRST, markeredgecolor=_LINE, markersize=7, clip_on=False,
            linestyle="none", label="first-order index")
    finite = [v for v in (*total, *high, *first) if math.isfinite(v)]
    ax.set_xlim(0.0, max([1.0, *finite]))
    ax.set_yticks(y, [tex(_sensitivity_label(e)) for e in entries], fontsize=8.5)
    ax.invert_yaxis()  # rank 1 on top
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", visible=True)
    ax.set_xlabel("Sobol' index of the objective")
    # the note says what the marks are (a legend would cover the lowest-ranked bars)
    note = "bar: total index, with its 95% interval\ndiamond: first-order index"
    if any(v < 0 for v in (*total, *first) if math.isfinite(v)):
        note += "\n(estimates below 0 are drawn at 0)"
    ax.set_title(note, loc="right", fontsize=9, fontweight="normal", color="#444444")
    sub.suptitle("What drives the objective (Sobol', rank 1 on top)", fontsize=11, fontweight="bold")


def _sensitivity_label(entry: dict) -> str:
    label = f"{entry.get('rank', '')}. {entry['path']}".lstrip(". ")
    total = _number(entry.get("total"))
    label += f"\ntotal {total:.2f}" if math.isfinite(total) else "\ntotal n/a"
    return label + (f", {entry['distribution']}" if entry.get("distribution") else "")


# ---------------------------------------------------------------------------------------
# Right, grid and Monte Carlo: the objective against the inputs
# ---------------------------------------------------------------------------------------


def _ranks(values):
    """Average ranks (ties share their mean rank), as Spearman's correlation needs."""
    import numpy as np

    order = np.argsort(values, kind="mergesort")
    position = np.empty(len(values), dtype=np.intp)
    position[order] = np.arange(len(values))
    ordered = values[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    group = starts.cumsum()[position]  # 1-based index of each value's group of ties
    bounds = np.r_[np.nonzero(starts)[0], len(values)]
    return 0.5 * (bounds[group] + bounds[group - 1] + 1)


def spearman(x, y) -> float:
    """Spearman's rank correlation of the finite pairs; NaN when either side is constant
    or fewer than three pairs are left."""
    import numpy as np

    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    rx, ry = _ranks(x), _ranks(y)
    return float(np.corrcoef(rx, ry)[0, 1])


def _ranked_inputs(data: SweepData) -> list[tuple[str, float]]:
    """The inputs with their ρ, the largest |ρ| first (an undefined ρ last)."""
    plans = data.has_plan
    pairs = [(c, spearman(data.values[c][plans], data.objective[plans])) for c in data.inputs]
    return sorted(pairs, key=lambda p: -abs(p[1]) if math.isfinite(p[1]) else math.inf)


def _scatter_axes(sub, n: int) -> list:
    if n <= 2:
        axes = list(sub.subplots(n, 1, squeeze=False)[:, 0])
    else:
        mosaic = sub.subplot_mosaic([[0, 1], [2, 2 if n == 3 else 3]])
        axes = [mosaic[i] for i in range(n)]
    for ax in axes[1:]:
        ax.sharey(axes[0])
    return axes


def _draw_scatters(sub, data: SweepData) -> None:
    ranked = _ranked_inputs(data)
    if not ranked or not data.statuses:
        _empty(sub.subplots(), "no varied inputs in sweep.csv" if not ranked else "sweep.csv has no variants")
        sub.suptitle("Objective against the varied inputs", fontsize=11, fontweight="bold")
        return
    shown = ranked[:MAX_SCATTERS]
    axes = _scatter_axes(sub, len(shown))
    for ax, (column, rho) in zip(axes, shown):
        _scatter(ax, data, column, rho)
    legend = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    if legend:
        sub.legend(legend.values(), legend.keys(), loc="outside lower center", fontsize=8.5, frameon=False,
                   ncols=2 if sum(len(label) for label in legend) < 70 else 1)
    for ax in axes:
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel(tex(_short_label(data.summary)) if data.has_plan.any() else "")
    title = "Objective against the varied inputs"
    if len(ranked) > 1:
        title += f"\n(largest |ρ| first; {len(shown)} of {len(ranked)} shown)" if len(ranked) > len(shown) else \
            "\n(largest |ρ| first)"
    sub.suptitle(title, fontsize=11, fontweight="bold")


def _scatter(ax, data: SweepData, column: str, rho: float) -> None:
    import numpy as np

    x, plans = data.values[column], data.has_plan
    dots, crosses = plans & np.isfinite(x), ~plans & np.isfinite(x)
    n = int(dots.sum() + crosses.sum())
    alpha = float(min(0.9, max(0.25, 12 / math.sqrt(max(n, 1)))))
    ax.margins(y=0.15)  # a strip along the bottom for the variants without a plan
    if dots.any():
        ax.scatter(x[dots], data.objective[dots], s=22 if n < 200 else 10, color=_DOT, alpha=alpha,
                   edgecolors="none", label="optimal variant")
    elif not plans.any():
        ax.set_yticks([])  # the panels share their y axis: only when none has a dot
        ax.text(0.5, 0.55, "no variant has a plan", transform=ax.transAxes, ha="center", color=_NO_PLAN)
    if crosses.any():
        _no_plan_marks(ax, x[crosses], _no_plan_label(data), max(alpha, 0.6))
    if n == 0:
        ax.text(0.5, 0.45, "no readable values", transform=ax.transAxes, ha="center", color="#444444")
    ax.set_xlabel(tex(column), fontsize=9)
    ax.set_title("Spearman ρ " + (f"{rho:+.2f}" if math.isfinite(rho) else "n/a"), loc="left", fontsize=9,
                 fontweight="normal", color="#444444")


def _no_plan_marks(ax, x, label: str, alpha: float) -> None:
    """Red x marks at ``x`` in a faint strip along the bottom edge of ``ax``."""
    import numpy as np
    from matplotlib.patches import Rectangle
    from matplotlib.transforms import blended_transform_factory

    ax.add_patch(Rectangle((0, 0), 1, 0.07, transform=ax.transAxes, color=_NO_PLAN, alpha=0.07, linewidth=0))
    ax.plot(x, np.full(len(x), 0.03), "x", color=_NO_PLAN, markersize=7, mew=1.6, alpha=alpha, linestyle="none",
            transform=blended_transform_factory(ax.transData, ax.transAxes), clip_on=False, label=tex(label))


def _no_plan_label(data: SweepData) -> str:
    statuses = {s if s != _OPTIMAL else "optimal without objective"
                for s, plan in zip(data.statuses, data.has_plan) if not plan}
    return f"no plan ({', '.join(sorted(statuses))})"
