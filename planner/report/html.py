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

A trade-off folder (``planner frontier``'s or ``planner alternatives``', told apart by
:func:`planner.report.tradeoffs.frontier_kind`) gets its own chart (``frontier.png`` or
``alternatives.png``) and report.html instead, drawn by :mod:`planner.report.tradeoffs`.

Only the results folder is read, never the instance: whatever the folder does not hold
(``min_cash``, debt limits, capacity limits, prices) is inferred and said to be so, or
comes from ``duals.csv``.

Charts are drawn with matplotlib's Agg canvas directly (``FigureCanvasAgg``; pyplot is
never imported), so no display is needed and a notebook's own backend is left alone.
matplotlib and pandas are imported inside the functions, so importing this module is
cheap and ``planner --help`` stays fast.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path

from ..results import safe_write
from ..results.files import REPORT_FILES, REPORT_HTML
from ..results.figures import add_up
from .charts import CHARTS, RenderedChart, render_charts
from .findings import (
    RANKED_SOURCE, also_binds, binding_constraints, bindings, case_figures, key_figures, objective_sentence, scenario_key_figures,
    scenario_objective_sentence,
)
from .folder import ReportError, Results, load_results, most_probable
from .style import PNG_SIZE, TOL, page_head, percent
from .tradeoffs import frontier_kind, render_tradeoff_chart, tradeoff_report_html

__all__ = ["CHARTS", "FORMATS", "PNG_SIZE", "REPORT_FILES", "ReportError", "build_html", "load_results", "render_charts",
           "write_report"]

FORMATS = ("html", "png")


def build_html(r: Results, charts: list[RenderedChart]) -> str:
    """report.html: one self-contained page (the charts embedded as base64)."""
    e = html.escape
    s = r.summary
    head = page_head(
        f"Compute plan report: {r.name}",
        f'Planning years {r.years[0]}–{r.years[-1]} · status {e(str(s.get("status", "optimal")))} · '
        f"money in {e(r.money)}, capacity in {e(r.capacity_unit)}, demand in compute units"
        + (f" · solved by {e(str(s['solver']))}" if s.get("solver") else "")
        + (f" · {len(r.cases)} cases" if r.is_scenario else "")
        + f" · results folder <code>{e(r.shown_name or r.folder.name)}</code>",
    )
    if r.is_scenario:
        body = _scenario_sections(r)
    else:
        body = ["<h2>Objective</h2>", f"<p>{e(objective_sentence(r))}</p>", "<h2>Key figures</h2>", "<ul>"]
        body += [f"<li>{e(line)}</li>" for line in key_figures(r)]
        body.append("</ul>")
    body += _what_binds(r)
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


def _what_binds(r: Results) -> list[str]:
    """The "What binds" section: the limits most worth relaxing, as ``planner solve`` lists
    them (each followed by the other years it binds in), else what the tables show."""
    e = html.escape
    body = ["<h2>What binds</h2>"]
    if r.is_scenario:
        body.append(f'<p class="note">In case {e(r.case)}, with the shared (committed) decisions.</p>')
    ranked = bindings(r)
    if ranked:
        items = [" ".join(filter(None, (e(b.sentence.rstrip(".")) + ".", e(also_binds(b))))) for b in ranked]
        source = RANKED_SOURCE
    else:
        lines, source = binding_constraints(r)
        items = [e(line) for line in lines]
    if items:
        body += ["<ol>"] + [f"<li>{item}</li>" for item in items] + ["</ol>"]
    else:
        body.append("<p>Nothing in the results folder shows a binding constraint.</p>")
    return body + [f'<p class="note">{e(source)}</p>']


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


def _case_table(r: Results) -> str:
    """The table of cases and their probability-weighted mean."""
    e = html.escape
    rows = case_figures(r)
    keys = ("objective_value", "cumulative_loss", "peak_cumulative_loss", "final_cash")
    mean = {k: add_up(row["probability"] * row[k] for row in rows) for k in keys}
    columns = ["case", "probability", "objective", "cumulative loss", "peak cumulative loss", "final cash"]
    out = ["<table><thead><tr>" + "".join(f"<th>{e(c)}</th>" for c in columns) + "</tr></thead><tbody>"]
    for name, probability, values in [(row["case"], percent(row["probability"]), row) for row in rows] + [
            ("expected (probability-weighted)", "100%", mean)]:
        cells = [name, probability] + [f"{values[k]:,.2f}" if math.isfinite(values[k]) else "–" for k in keys]
        out.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _year_table(r: Results) -> str:
    """The per-year table: active capacity by provider, demand, served, finance."""
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
        cells.append(f"{float(served.loc[t].sum()) / total_demand:.1%}" if total_demand > TOL else "–")
        cells += [f"{r.series(c).loc[t]:,.2f}" for c in ("revenue", "loss", "cumulative_loss", "cash", "debt")]
        rows.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>")
    rows.append("</tbody></table>")
    return "\n".join(rows)


def write_report(results_dir: Path, fmt: str = "html", case: str | None = None, locked: bool = True,
                 shown_as: Path | None = None) -> list[Path]:
    """Write the report into ``results_dir``; return the written paths.

    ``fmt="html"``: ``report.html`` (self-contained) and the chart PNGs; ``"png"``: only
    the PNGs. Each file is written by :mod:`planner.results.safe_write` (complete or not at
    all, the umask's mode). A chart
    PNG of an earlier report that no longer applies (the shadow prices, when duals.csv
    has gone) is removed so the folder is not left with a stale chart. Raises
    :class:`ReportError` (one line, naming the file) for a missing or malformed file, an
    unknown format, or a folder that cannot be written. ``case``: the case of scenario
    results the per-plan charts draw (default: the most probable, see :func:`load_results`).

    The whole read and write holds the results folder's lock
    (:class:`planner.results.folder.FolderLock`), so a solve cannot swap other results in
    half-way; ``locked=False`` for a staging folder whose writer already holds the lock
    (``planner solve --report``), ``shown_as`` the folder the page then names.

    A frontier or alternatives folder (:func:`~planner.report.tradeoffs.frontier_kind`)
    gets its chart and (``"html"``) report.html, written the same way under the same lock.
    """
    if fmt not in FORMATS:
        raise ReportError(f"unknown report format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if not locked:
        return _write_report(Path(results_dir), fmt, case, shown_as)
    from ..results.folder import FolderLock, remove_leftovers

    folder = Path(results_dir)
    lock = FolderLock(folder)
    try:
        lock.__enter__()
    except OSError as err:
        raise ReportError(f"cannot lock {folder}: {err.strerror or err}") from None
    try:
        if folder.is_dir():
            remove_leftovers(folder)
        return _write_report(folder, fmt, case, shown_as)
    finally:
        lock.__exit__(None, None, None)


def _write_report(results_dir: Path, fmt: str, case: str | None, shown_as: Path | None) -> list[Path]:
    kind = frontier_kind(results_dir)
    if kind is not None:
        return _write_tradeoff_report(Path(results_dir), kind, fmt, case, shown_as)
    results = load_results(results_dir, case)
    if shown_as is not None:
        results.shown_name = Path(shown_as).name
    folder = results.folder
    charts = render_charts(results)
    outputs = [(folder / c.chart.filename, c.png) for c in charts]
    if fmt == "html":
        outputs.append((folder / REPORT_HTML, build_html(results, charts).encode("utf-8")))
    for path, data in outputs:
        _write(path, data)
    _remove_stale(folder, {c.chart.filename for c in charts})
    paths = [path for path, _ in outputs]
    return paths[-1:] + paths[:-1] if fmt == "html" else paths


def _write_tradeoff_report(folder: Path, kind: str, fmt: str, case: str | None, shown_as: Path | None) -> list[Path]:
    """A frontier or alternatives folder (:mod:`planner.report.tradeoffs`): its chart and,
    for ``fmt="html"``, report.html (first in the returned paths)."""
    if case is not None:
        raise ReportError(f"{folder} is a {kind} folder, not scenario results: it has no case {case!r}")
    name, png = render_tradeoff_chart(folder)
    outputs = [(folder / name, png)]
    if fmt == "html":
        page = tradeoff_report_html(folder, Path(shown_as).name if shown_as is not None else None, chart=png)
        outputs.insert(0, (folder / REPORT_HTML, page.encode("utf-8")))
    for path, data in outputs:
        _write(path, data)
    return [path for path, _ in outputs]


def _write(path: Path, data: bytes) -> None:
    """:func:`planner.results.safe_write.write_bytes`, failing with a :class:`ReportError`."""
    try:
        safe_write.write_bytes(path, data)
    except OSError as err:
        raise ReportError(f"cannot write {path}: {err.strerror or err}") from None


def _remove_stale(folder: Path, produced: set[str]) -> None:
    """Remove an earlier report's chart that no longer applies (not in ``produced``)."""
    for chart in CHARTS:
        stale = folder / chart.filename
        if chart.filename not in produced and stale.is_file():
            try:
                stale.unlink()
            except OSError as err:
                raise ReportError(f"cannot remove the stale chart {stale}: {err.strerror or err}") from None
