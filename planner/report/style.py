"""The one style of the planner's charts and pages (report.html's charts and sweep.png).

Size, resolution and rcParams, colours, number and year formatting, user text made safe
for matplotlib, and the look of a report page (its CSS and head). Nothing here imports
matplotlib or pandas at import time.
"""

from __future__ import annotations

import html
import math
from typing import Any

__all__ = [
    "DPI", "PAGE_CSS", "PNG_SIZE", "PROVIDER_COLOURS", "RC", "TOL", "is_number", "num", "page_head", "percent",
    "tex", "titles", "year_list", "years_axis",
]

#: Width and height of every chart PNG, in pixels.
PNG_SIZE = (1200, 675)
#: Dots per inch of every chart PNG.
DPI = 120

#: Absolute tolerance below which a figure counts as zero (the results round to 1e-9).
TOL = 1e-7


# Colour-blind-safe provider colours (Okabe–Ito, then tab10's remaining hues), assigned
# in the order providers appear in capacity.csv (the instance's order), the same in
# every chart.
PROVIDER_COLOURS = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#8C564B",
    "#7F7F7F", "#BCBD22", "#17BECF", "#9467BD", "#F0E442",
]


RC = {
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


#: The CSS of every report page (report.html of a results folder or a trade-off folder).
PAGE_CSS = """
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


def page_head(title: str, meta: str) -> list[str]:
    """The first lines of a report page, up to its heading: ``title`` (plain text, escaped
    here) as the page's title and heading, ``meta`` (HTML) as the line below it."""
    e = html.escape
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title>",
        f"<style>{PAGE_CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f'<p class="meta">{meta}</p>',
    ]


def num(x: float) -> str:
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


def percent(probability: float) -> str:
    """0.5 -> '50%', 0.125 -> '12.5%'."""
    whole = abs(probability * 100 - round(probability * 100)) < 1e-6
    return f"{probability:.0%}" if whole else f"{probability:.1%}"


def tex(text: Any) -> str:
    """User text (names, unit labels) made safe for matplotlib: ``$`` is not math."""
    return str(text).replace("$", r"\$")


def titles(fig, ax, title: str, note: str | None = None, width: int = 110) -> None:
    """The chart's title, and a note (its reading instructions) wrapped above the axes."""
    import textwrap

    fig.suptitle(tex(title))
    if note:
        lines = [textwrap.fill(part, width) for part in note.split("\n")]
        ax.set_title(tex("\n".join(lines)), loc="left", fontsize=9, fontweight="normal", color="#444444")


def years_axis(ax, years: list[int]) -> None:
    """The x axis of a per-year chart: one tick a year (up to 12), whole-number labels."""
    from matplotlib.ticker import FixedLocator, FuncFormatter

    step = max(1, math.ceil(len(years) / 12))  # every year up to 12, then every 2nd, 3rd, ... from the first
    ax.xaxis.set_major_locator(FixedLocator(years[::step]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{int(round(v))}"))
    ax.set_xlim(years[0] - 0.6, years[-1] + 0.6)
    ax.set_xlabel("year")


def year_list(years: list[int]) -> str:
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


def is_number(value) -> bool:
    """A finite int or float, not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
