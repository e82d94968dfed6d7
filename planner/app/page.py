"""The page of ``planner app`` (Dash): controls on the left, the variant's plan beside
the base plan on the right, re-solved on every change (:class:`planner.app.session.Explorer`).

Everything the browser sends is a control's number or a button press: the files the app
reads (the instance) and writes (downloads, made in memory or a temporary folder) are
fixed on the command line, never named by the page.
"""

from __future__ import annotations

from html import escape
from typing import Any

from ..report.findings import binding_constraints, key_figures, objective_sentence
from ..report.folder import plan_results
from ..report.style import PROVIDER_COLOURS, num
from .session import Explorer, View

#: The key figures: summary.json's key, and how the page names it.
FIGURES = [
    ("objective_value", "objective"),
    ("cumulative_loss", "cumulative loss"),
    ("peak_cumulative_loss", "peak cumulative loss"),
    ("final_cash", "final cash"),
    ("commitments_after_horizon", "owed after the horizon"),
]
#: The per-year table's finance columns.
YEAR_COLUMNS = ["revenue", "compute_cost", "loss", "cumulative_loss", "cash", "debt"]
GHOST = "rgba(120,120,120,0.55)"


def make_app(explorer: Explorer):
    """The Dash app of ``explorer`` (not yet serving)."""
    import dash
    from dash import ALL, MATCH, Input, Output, State, dcc, html

    app = dash.Dash(__name__, title=f"planner app: {explorer.name}", update_title=None,
                    serve_locally=True)
    app.layout = _layout(explorer, dcc, html)
    keys = [c.key for c in explorer.controls]
    counter = {"n": 0}

    def values_of(raw) -> dict[str, Any]:
        return dict(zip(keys, raw))

    @app.callback(
        Output("status", "children"), Output("status", "className"), Output("message", "children"),
        Output("figures", "children"), Output("capacity-chart", "figure"), Output("finance-chart", "figure"),
        Output("year-table", "children"), Output("binds", "children"), Output("solve-info", "children"),
        Input({"type": "control", "key": ALL}, "value"),
    )
    def update(raw):
        counter["n"] += 1
        view = explorer.view(values_of(raw))
        return _render(explorer, view, counter["n"])

    @app.callback(Output({"type": "control", "key": MATCH}, "value"),
                  Input({"type": "reset", "key": MATCH}, "n_clicks"), prevent_initial_call=True)
    def reset_one(_):
        key = dash.ctx.triggered_id["key"]
        return next(c.base for c in explorer.controls if c.key == key)

    @app.callback(Output({"type": "control", "key": ALL}, "value", allow_duplicate=True),
                  Input("reset-all", "n_clicks"), prevent_initial_call=True)
    def reset_all(_):
        return [c.base for c in explorer.controls]

    @app.callback(Output("download", "data"), Output("download-message", "children"),
                  Input("download-yaml", "n_clicks"), Input("download-zip", "n_clicks"),
                  State({"type": "control", "key": ALL}, "value"), prevent_initial_call=True)
    def download(_yaml, _zip, raw):
        try:
            if dash.ctx.triggered_id == "download-yaml":
                name, text = explorer.variant_file(values_of(raw))
                return dict(content=text, filename=name), ""
            name, data = explorer.results_zip(values_of(raw))
            return dcc.send_bytes(data, name), ""
        except Exception as err:  # noqa: BLE001 - a refused download is a message, the app runs on
            return dash.no_update, f"Nothing to download: {err}"

    @app.callback(Output("saved", "data"), Input("save", "n_clicks"),
                  State({"type": "control", "key": ALL}, "value"), State("saved", "data"),
                  prevent_initial_call=True)
    def save(_, raw, saved):
        view = explorer.view(values_of(raw))
        row = {"name": f"variant {len(saved or []) + 1}", "status": view.status,
               "changed": _changed_text(explorer, view.values)}
        if view.plan is not None:
            row.update({key: view.plan.summary.get(key) for key, _ in FIGURES})
        return (saved or []) + [row]

    @app.callback(Output("saved-table", "children"), Input("saved", "data"))
    def show_saved(saved):
        return _saved_table(explorer, saved or [], html)

    return app


# -- layout -----------------------------------------------------------------------------


def _layout(explorer: Explorer, dcc, html):
    controls = [
        html.Div([
            html.Label(c.label),
            dcc.Input(id={"type": "control", "key": c.key}, type="number", value=c.base, step=c.step,
                      debounce=True, className="control", name=c.key),
            html.Button("reset", id={"type": "reset", "key": c.key}, className="reset"),
            html.Small(f" base {c.base:g}, {c.low:g} to {c.high:g}", className="range"),
        ], className="control-row")
        for c in explorer.controls
    ]
    return html.Div([
        html.H2(f"What if — {explorer.name}"),
        html.P(objective_sentence(plan_results(explorer.base.plan)) if explorer.base.plan else "", className="base-note"),
        html.Div([
            html.Div([
                html.H3("Assumptions"),
                *controls,
                html.Div([
                    html.Button("Reset all", id="reset-all"),
                    html.Button("Save variant", id="save"),
                    html.Button("Download variant YAML", id="download-yaml"),
                    html.Button("Download results (zip)", id="download-zip"),
                ], className="buttons"),
                html.Div(id="download-message", className="message"),
                dcc.Download(id="download"),
            ], className="controls"),
            html.Div([
                html.Div(id="status"),
                html.Pre(id="message", className="message"),
                dcc.Markdown(id="figures", dangerously_allow_html=True),
                dcc.Graph(id="capacity-chart", config={"displaylogo": False}),
                dcc.Graph(id="finance-chart", config={"displaylogo": False}),
                html.H3("Per year (variant, and Δ against the base plan)"),
                html.Div(id="year-table"),
                html.H3("What binds"),
                dcc.Markdown(id="binds", dangerously_allow_html=True),
                html.H3("Saved variants"),
                html.Div(id="saved-table"),
                html.Small(id="solve-info"),
            ], className="plan"),
        ], className="columns"),
        dcc.Store(id="saved", data=[]),
    ])


# -- one variant ------------------------------------------------------------------------


def _render(explorer: Explorer, view: View, n: int):
    base = explorer.base.plan
    plan = view.plan
    info = f"variant #{n}: {view.status} in {view.seconds * 1000:.0f} ms"
    if plan is None:
        title = {"infeasible": "No plan: this variant is infeasible",
                 "refused": "Refused", "error": "The solve failed"}.get(view.status, view.status)
        return (title, view.status, view.message, _figures(base, None),
                _capacity_figure(explorer, base, None), _finance_figure(base, None),
                "", "", info)
    results = plan_results(plan)
    sentences, _ = binding_constraints(results, 3)
    binds = "<ul>" + "".join(f"<li>{escape(s)}</li>" for s in sentences) + "</ul>"
    note = " ".join(key_figures(results)[:1])
    return ("Optimal plan", "optimal", note, _figures(base, plan),
            _capacity_figure(explorer, base, plan), _finance_figure(base, plan),
            _year_table(base, plan), binds, info)


def _figures(base, plan) -> str:
    """The key figures as one HTML table (rendered by dcc.Markdown: one component instead
    of a tree of them, which the browser draws faster on every change)."""
    rows = [_tr(["figure", "variant", "base", "Δ"], "th")]
    for key, label in FIGURES:
        b = base.summary.get(key)
        v = None if plan is None else plan.summary.get(key)
        rows.append("<tr>" + _td(label)
                    + _td("—" if v is None else num(v), id=f"figure-{key}", title="" if v is None else repr(float(v)))
                    + _td(num(b), title=repr(float(b))) + _td("" if v is None else _delta(v - b)) + "</tr>")
    return f'<table class="figures">{"".join(rows)}</table>'


def _td(text: str, tag: str = "td", **attributes: str) -> str:
    """One cell of an HTML table, its text and attributes escaped."""
    extra = "".join(f' {name}="{escape(value)}"' for name, value in attributes.items())
    return f"<{tag}{extra}>{escape(str(text))}</{tag}>"


def _tr(cells, tag: str = "td") -> str:
    return "<tr>" + "".join(_td(c, tag) for c in cells) + "</tr>"


def _delta(x: float) -> str:
    return "0" if abs(x) < 5e-4 else ("+" if x > 0 else "−") + num(abs(x))


def _capacity_figure(explorer: Explorer, base, plan) -> dict:
    traces = []
    for i, provider in enumerate(explorer.instance.providers):
        colour = PROVIDER_COLOURS[i % len(PROVIDER_COLOURS)]
        for which, p, style in (("base", base, dict(dash="dot", color=GHOST)), ("variant", plan, dict(color=colour))):
            if p is None:
                continue
            frame = p.tables["capacity"]
            rows = frame[frame["provider"] == provider]
            traces.append(dict(type="scatter", mode="lines+markers", x=rows["year"].tolist(), y=rows["active"].tolist(),
                               name=f"{provider} ({which})", line=style,
                               hovertemplate=f"{provider} {which} %{{x}}: %{{y:.3f}}<extra></extra>"))
    unit = explorer.instance.units.capacity
    return dict(data=traces, layout=dict(title=dict(text=f"Active capacity by provider ({unit}); base dotted grey"), height=320,
                                         margin=dict(l=50, r=10, t=40, b=30), xaxis=dict(dtick=1)))


def _finance_figure(base, plan) -> dict:
    traces = []
    colours = {"cumulative_loss": "#c0392b", "cash": "#2471a3", "loss": "#e67e22"}
    for column, colour in colours.items():
        for which, p, style in (("base", base, dict(dash="dot", color=GHOST)), ("variant", plan, dict(color=colour))):
            if p is None:
                continue
            frame = p.tables["finance"]
            traces.append(dict(type="scatter", mode="lines+markers", x=frame["year"].tolist(), y=frame[column].tolist(),
                               name=f"{column} ({which})", line=style,
                               hovertemplate=f"{column} {which} %{{x}}: %{{y:.3f}}<extra></extra>"))
    money = base.instance.units.money
    return dict(data=traces, layout=dict(title=dict(text=f"Loss, cumulative loss and cash ({money}); base dotted grey"), height=320,
                                         margin=dict(l=50, r=10, t=40, b=30), xaxis=dict(dtick=1)))


def _year_table(base, plan):
    """The per-year table as Dash components, one ``Td`` per cell: its text is the
    variant's number and, on a second line (``white-space: pre-line``), the Δ against
    the base plan (the stylesheet sets the second line smaller)."""
    from dash import html

    b = base.tables["finance"].set_index("year")
    v = plan.tables["finance"].set_index("year")
    bc = base.tables["capacity"].pivot_table(index="year", columns="provider", values="active", aggfunc="sum")
    vc = plan.tables["capacity"].pivot_table(index="year", columns="provider", values="active", aggfunc="sum")
    providers = list(plan.instance.providers)
    rows = [html.Tr([html.Th("year")] + [html.Th(f"{c}\nΔ") for c in providers + YEAR_COLUMNS])]
    for year in v.index:
        cells = [html.Td(str(year))]
        cells += [_cell(float(vc.loc[year, p]), float(bc.loc[year, p])) for p in providers]
        cells += [_cell(float(v.loc[year, c]), float(b.loc[year, c]), id=f"year-{year}-{c}",
                        title=repr(float(v.loc[year, c]))) for c in YEAR_COLUMNS]
        rows.append(html.Tr(cells))
    return html.Table(rows, className="years")


def _cell(x: float, y: float, **attributes):
    from dash import html

    return html.Td(f"{num(x)}\n{_delta(x - y)}", **attributes)


def _changed_text(explorer: Explorer, values: dict) -> str:
    parts = [f"{c.path} {'x' if c.kind == 'scale' else '+' if c.kind == 'shift' else '='}{values.get(c.key, c.base):g}"
             + ("y" if c.kind == "shift" else "")
             for c in explorer.controls if values.get(c.key, c.base) != c.base]
    return "; ".join(parts) or "the base instance"


def _saved_table(explorer: Explorer, saved: list[dict], html):
    if not saved:
        return html.P("Save a variant to compare it here.")
    base = {"name": "base", "status": "optimal", "changed": "the base instance",
            **{key: explorer.base.plan.summary.get(key) for key, _ in FIGURES}}
    columns = [base] + saved
    rows = [html.Tr([html.Th("")] + [html.Th(c["name"]) for c in columns])]
    rows.append(html.Tr([html.Td("changes")] + [html.Td(c["changed"]) for c in columns]))
    rows.append(html.Tr([html.Td("status")] + [html.Td(c["status"]) for c in columns]))
    for key, label in FIGURES:
        rows.append(html.Tr([html.Td(label)] + [html.Td("—" if c.get(key) is None else num(c[key])) for c in columns]))
    return html.Table(rows, className="saved", id="saved-variants")
