"""The report's charts: each drawn on matplotlib's Agg canvas (pyplot is never imported)
from a :class:`~.folder.Results`, as PNG bytes with a caption.

Adding a chart: write ``_draw_x(fig, results) -> caption``, name its PNG in
:data:`planner.results.files.REPORT_CHARTS` and append a :class:`Chart` to
:data:`CHARTS` (with ``applies`` when it only makes sense for some folders, and
``per_plan=False`` when it draws every case of scenario results rather than one plan).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Callable

from ..results.files import REPORT_CHARTS
from .folder import Results
from .measures import (
    cash_floor, committed_years, cumulative_loss_by_case, demand_in_capacity, dual_label, owned_opex, ranked_duals,
    shares, shortfalls,
)
from .style import DPI, PNG_SIZE, RC, TOL, num, percent, tex, titles, year_list, years_axis

__all__ = ["CHARTS", "Chart", "RenderedChart", "render_charts"]


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
    with matplotlib.rc_context(RC):
        for chart in CHARTS:
            if chart.applies(results):
                rendered.append(_render(chart, results))
    return rendered


def _render(chart: Chart, results: Results) -> RenderedChart:
    """Draw ``chart`` on a new 1200×675 Agg figure; its PNG bytes and caption."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(PNG_SIZE[0] / DPI, PNG_SIZE[1] / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    caption = chart.draw(fig, results)
    if results.is_scenario and chart.per_plan:
        caption = _name_the_case(fig, chart, results) + caption
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": "planner report (matplotlib Agg)"})
    return RenderedChart(chart, buffer.getvalue(), caption)


def _name_the_case(fig, chart: Chart, r: Results) -> str:
    """Add the drawn case to a per-plan chart's title; return the caption's first words."""
    probability = percent(r.cases[r.case]["probability"])
    # on a line of its own: a longer first line would run into a legend outside the axes
    fig.suptitle(f"{fig.get_suptitle()}\ncase {tex(r.case)} (probability {probability})")
    text = (f"Case {r.case} (probability {probability}), one of the {len(r.cases)} cases; the first chart compares "
            "them all. ")
    if chart.key == "shadow_prices":
        text += ("Shadow prices of scenario results are of the whole objective: a case's constraint is worth about its "
                 "probability (and its weight in the CVaR tail) times what it would be worth to the case alone; rows of "
                 "the shared, committed decisions are included. ")
    return text


_WORKLOAD_STYLES = [("#222222", "--", "o"), ("#7A1F1F", ":", "s"), ("#3B3B98", "-.", "^"), ("#2F5F2F", (0, (5, 1, 1, 1)), "D")]
_REVENUE, _LOSS, _CUMLOSS = "#4C9F70", "#C44E52", "#333333"
_CASH, _DEBT, _FUNDING, _FLOOR = "#1F5AA6", "#B5651D", "#C9D7EA", "#C0392B"
_OPEX, _CAPEX = "#C8C8C8", "#7A7A7A"


# Case colours (Paul Tol's "bright"), distinct in hue from the provider colours' order.
_CASE_COLOURS = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB"]


_COMMITTED = "#ECECEC"


def _draw_cases(fig, r: Results) -> str:
    """Scenario results: every case's cumulative loss per year and the expected one."""
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
                linewidth=1.8, label=f"{tex(n)} ({percent(case['probability'])})")
    ax.plot(r.years, expected.to_numpy(), color="black", linestyle="--", linewidth=3.2,
            label="expected\n(probability-weighted)")
    ax.axhline(0, color="#555555", linewidth=0.8)
    low, high = min(0.0, float(by_case.min().min())), max(0.0, float(by_case.max().max()))
    span = (high - low) or 1.0
    ax.set_ylim(low - 0.05 * span * (low < 0), high + 0.12 * span)  # room for the shaded band's label
    ax.set_ylabel(f"cumulative loss ({tex(r.money)})")
    years_axis(ax, r.years)
    years = f"{'year' if len(committed) == 1 else 'years'} {year_list(committed)}" if committed else ""
    shared = (f"Shaded: the committed {years}, whose signings and builds are one decision shared by "
              "every case; later years adapt to each case." if committed else
              "No year is committed: every case has its own signings and builds from the first year.")
    titles(fig, ax, f"Cumulative loss by case ({r.money})",
            f"Lines: each case's cumulative loss at the end of each year (legend: its probability); dashed: the "
            f"probability-weighted mean.\n{shared}")
    fig.legend(loc="outside right upper", frameon=False, title="case (probability)")
    last = r.years[-1]
    worst = by_case.loc[last].idxmax()
    return (f"The cumulative loss of each of the {len(r.cases)} cases at the end of each year in {r.money} (finance.csv), "
            f"and its probability-weighted mean (dashed), which ends {last} at {num(float(expected.loc[last]))} {r.money}; "
            f"the worst case then is {worst} at {num(float(by_case.loc[last, worst]))} {r.money}. "
            + (f"The shaded {years} {'is' if len(committed) == 1 else 'are'} the committed plan: what is signed and "
               "built there is the same in every case, so the cases differ there only through how that capacity is used and what it earns."
               if committed else "No year is committed, so each case's plan is its own."))


def _draw_capacity(fig, r: Results) -> str:
    """Active capacity by provider (idle hatched) and demand in capacity-equivalent units."""
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
        if (idle[p] > TOL).any():
            any_idle = True
            ax.bar(years, idle[p].to_numpy(), 0.7, bottom=bottom, color=colour, alpha=0.35,
                   hatch="///", edgecolor=colour, linewidth=0)
            bottom = bottom + idle[p].to_numpy()
    demand, fallback = demand_in_capacity(r)
    handles = [Patch(color=r.colours[p], label=tex(p)) for p in r.providers]
    if any_idle:
        handles.append(Patch(facecolor="#DDDDDD", edgecolor="#666666", hatch="///", linewidth=0, label="idle (paid, unused)"))
    top = bottom.max(initial=0.0)
    for i, w in enumerate(r.workloads):
        colour, style, marker = _WORKLOAD_STYLES[i % len(_WORKLOAD_STYLES)]
        ax.plot(years, demand[w].to_numpy(), color=colour, linestyle=style, marker=marker, markersize=5, linewidth=1.8)
        handles.append(Line2D([], [], color=colour, linestyle=style, marker=marker, markersize=5, label=f"demand: {tex(w)}"))
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
    ax.set_ylabel(f"active capacity ({tex(r.capacity_unit)})")
    years_axis(ax, r.years)
    cap = r.capacity_unit
    note = (f"Bars: active capacity in {cap}. Lines: demand (compute units) ÷ the compute per {cap} at which the plan "
            f"served that workload that year, i.e. demand in {cap}-equivalent.")
    if fallback:
        note += "\nCircled points: the workload got no capacity that year; the year's average efficiency is used."
    titles(fig, ax, f"Active capacity by provider and demand ({cap})", note)
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


def _draw_spend(fig, r: Results) -> str:
    """Spend by provider, take-or-pay shortfalls, and owned capacity's opex and capex."""
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
        handles.append(Patch(color=colour, label=tex(p)))
        if (short[p] > 0).any():
            ax.bar(years, short[p].to_numpy(), 0.7, bottom=bottom, color="white", hatch="xxx", edgecolor=colour, linewidth=1.0)
            bottom = bottom + short[p].to_numpy()
    if (short.to_numpy() > 0).any():
        handles.append(Patch(facecolor="white", edgecolor="#444444", hatch="xxx", label="take-or-pay shortfall\n(charge − spend)"))
    for values, colour, label in ((opex, _OPEX, "owned capacity: opex"), (capex, _CAPEX, "owned capacity: build capex (cash)")):
        if (values > TOL).any():
            ax.bar(years, values.to_numpy(), 0.7, bottom=bottom, color=colour, edgecolor="white", linewidth=0.6)
            bottom = bottom + values.to_numpy()
            handles.append(Patch(facecolor=colour, label=label))
    top = bottom.max(initial=0.0)
    for x, total in zip(years, bottom):
        if total > TOL and len(years) <= 20:
            ax.annotate(num(total), (x, total), xytext=(0, 3), textcoords="offset points", ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, top * 1.1 if top > 0 else 1.0)
    ax.set_ylabel(f"{tex(r.money)} per year")
    years_axis(ax, r.years)
    titles(fig, ax, f"Compute spend by provider ({r.money})",
            "Spend: existing capacity and contracts (capacity.csv). Numbers: the year's total compute cash out.")
    fig.legend(handles=handles, loc="outside right upper", frameon=False)
    caption = (f"Stacked bars: what each provider's capacity costs per year in {r.money} (existing capacity and "
               "contracts, capacity.csv's spend)")
    if (short.to_numpy() > 0).any():
        caption += ("; hatched on top of a provider: its take-or-pay shortfall, the minimum charge paid beyond what the "
                    "capacity costs (charge − spend)")
    else:
        caption += "; no provider charges more than its capacity costs (no take-or-pay shortfall)"
    if (opex > TOL).any() or (capex > TOL).any():
        caption += "; grey: owned (built) capacity, its opex and the build capex paid that year"
    return caption + ". The number above a bar is the year's total."


def _draw_finance(fig, r: Results) -> str:
    """Revenue, loss and cumulative loss; cash, debt, funding and the cash floor."""
    import numpy as np

    left, right = fig.subplots(1, 2)
    years = np.array(r.years, dtype=float)
    revenue, loss, cumulative = r.series("revenue"), r.series("loss"), r.series("cumulative_loss")
    left.bar(years - 0.2, revenue.to_numpy(), 0.38, color=_REVENUE, label="revenue")
    left.bar(years + 0.2, loss.to_numpy(), 0.38, color=_LOSS, label="loss (below 0: profit)")
    left.plot(years, cumulative.to_numpy(), color=_CUMLOSS, marker="o", linewidth=2, label="cumulative loss")
    left.axhline(0, color="#555555", linewidth=0.8)
    left.set_title("Revenue, loss and cumulative loss", loc="left")
    left.set_ylabel(f"{tex(r.money)}")
    years_axis(left, r.years)
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)

    cash, debt, funding = r.series("cash"), r.series("debt"), r.series("funding")
    if (funding > TOL).any():
        right.bar(years, funding.to_numpy(), 0.6, color=_FUNDING, label="funding (equity inflow)")
    right.plot(years, cash.to_numpy(), color=_CASH, marker="o", linewidth=2.2, label="cash (end of year)")
    if (debt > TOL).any():
        right.plot(years, debt.to_numpy(), color=_DEBT, marker="s", linewidth=1.8, linestyle="--", label="debt (end of year)")
    floor, source = cash_floor(r)
    if floor:
        values = list(floor.values())
        if max(values) - min(values) <= TOL * max(1.0, abs(max(values))):
            right.axhline(values[0], color=_FLOOR, linestyle=":", linewidth=1.6,
                          label=f"minimum cash {num(values[0])}, binding in {year_list(sorted(floor))}")
        right.scatter(list(floor), values, marker="_", s=500, linewidths=3, color=_FLOOR, zorder=5,
                      label=None if len(set(round(v, 6) for v in values)) == 1 else "minimum cash where binding")
        floor_note = "minimum-cash floor from duals.csv (the years it binds)"
    else:
        lowest = float(cash.min())
        right.axhline(lowest, color="#777777", linestyle=":", linewidth=1.4,
                      label=f"lowest cash {num(lowest)} (min_cash is not in the results)")
        floor_note = ("min_cash is not in the results folder" + (" and no minimum_cash row of duals.csv binds"
                      if source == "duals" else "") + "; the dotted line is the plan's lowest cash")
    right.axhline(0, color="#555555", linewidth=0.8)
    right.set_title("Cash, debt and funding", loc="left")
    right.set_ylabel(f"{tex(r.money)}")
    years_axis(right, r.years)
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
    fig.suptitle(tex(f"Finance per year ({r.money})"))
    return (f"Left: revenue and loss per year (loss = costs − revenue; negative is a profit) and the cumulative loss, "
            f"in {r.money}. Right: end-of-year cash and debt, the year's equity funding, and the {floor_note}.")


def _draw_concentration(fig, r: Results) -> str:
    """Each provider's share of active capacity and the largest share."""
    import numpy as np
    from matplotlib.lines import Line2D
    from matplotlib.ticker import PercentFormatter

    ax = fig.add_subplot()
    years = np.array(r.years, dtype=float)
    share = shares(r)
    handles = []
    for p in r.providers:
        ax.plot(years, share[p].to_numpy(), color=r.colours[p], linewidth=1.6, marker="o", markersize=4, alpha=0.9)
        handles.append(Line2D([], [], color=r.colours[p], linewidth=1.6, marker="o", markersize=4, label=tex(p)))
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
        text = f"{value:.0%}" if name == previous else f"{tex(name)} {value:.0%}"
        ax.annotate(text, (t, value), xytext=(0, 9), textcoords="offset points", ha="center", fontsize=8.5,
                    fontweight="bold", color=r.colours.get(name, "black"))
        previous = name
    ax.set_ylim(0, 1.1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("share of active capacity")
    years_axis(ax, r.years)
    titles(fig, ax, "Dependency: share of the largest provider",
            f"Share of the year's total active capacity ({r.capacity_unit}); labels name the largest provider.")
    fig.legend(handles=handles, loc="outside right upper", frameon=False)
    first, last = r.years[0], r.years[-1]
    text = "Each provider's share of the year's active capacity (thin lines) and the largest share (circled, labelled)"
    if np.isfinite(largest.loc[first]) and np.isfinite(largest.loc[last]):
        text += (f": from {leader.loc[first]} with {largest.loc[first]:.0%} in {first} "
                 f"to {leader.loc[last]} with {largest.loc[last]:.0%} in {last}")
    return text + "."


#: Bars in the shadow-price chart (the top rows by money-equivalent value).
TOP_SHADOW_PRICES = 12


def _has_duals(results: Results) -> bool:
    """Whether duals.csv has rows to chart."""
    return ranked_duals(results)[0] is not None


def _draw_shadow_prices(fig, r: Results) -> str:
    """The top shadow prices, ranked, one panel per unit."""
    frame, identities = ranked_duals(r)
    top = frame.head(TOP_SHADOW_PRICES)
    units = list(dict.fromkeys(top["unit"]))
    counts = [int((top["unit"] == u).sum()) for u in units]
    # the height of a panel's plotting area is proportional to its y span: equal bars
    axes = fig.subplots(len(units), 1, gridspec_kw={"height_ratios": [c + 0.4 for c in counts]}, squeeze=False)[:, 0]
    for ax, unit in zip(axes, units):
        rows = top[top["unit"] == unit]
        labels = [tex(dual_label(row)) for _, row in rows.iterrows()]
        colours = [r.colours.get(str(p), "#6F6F6F") for p in rows["provider"]]
        y = list(range(len(rows)))[::-1]
        ax.barh(y, rows["shadow_price"].to_numpy(), 0.65, color=colours)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_yticks(y, labels)
        ax.grid(axis="x", alpha=0.35)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(f"shadow price ({tex(unit)})")
        for yy, value in zip(y, rows["shadow_price"]):
            ax.annotate(num(value), (value, yy), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
        high = float(rows["shadow_price"].max())
        low = float(min(0.0, rows["shadow_price"].min()))
        ax.set_xlim(low * 1.15, high * 1.15 if high > 0 else 1.0)
    what = "model identities (no limit of the instance binds)" if identities else "limits of the instance"
    titles(fig, axes[0], "Top shadow prices (duals.csv)",
            f"Top {len(top)} {what}, ranked by money saved per money's worth of relaxation; one panel per unit.")
    return (f"What relaxing a constraint by one unit is worth: how much the objective falls, from duals.csv, top {len(top)} "
            f"{what}. Shadow prices in different units are not comparable bar for bar, so each unit has its own panel; the "
            "ranking is duals.csv's value_per_money: the shadow price over what one unit is worth (a capacity unit at "
            "the instance's typical price per capacity unit-year, a compute unit at that over its typical efficiency). Bars are in the provider's colour; grey: not tied to a provider.")


#: The charts, in report order. The per-plan charts draw one case of scenario results.
CHARTS: list[Chart] = [
    Chart("cases", REPORT_CHARTS["cases"], "Cumulative loss by case", _draw_cases, lambda r: r.is_scenario, per_plan=False),
    Chart("capacity", REPORT_CHARTS["capacity"], "Capacity and demand", _draw_capacity),
    Chart("spend", REPORT_CHARTS["spend"], "Spend and take-or-pay", _draw_spend),
    Chart("finance", REPORT_CHARTS["finance"], "Revenue, loss and cash", _draw_finance),
    Chart("concentration", REPORT_CHARTS["concentration"], "Dependency on the largest provider", _draw_concentration),
    Chart("shadow_prices", REPORT_CHARTS["shadow_prices"], "Shadow prices", _draw_shadow_prices, _has_duals),
]
