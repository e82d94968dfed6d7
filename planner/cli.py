"""The ``planner`` command line.

Exit codes (also in ``planner --help`` and the README):
0 optimal plan · 1 infeasible · 2 invalid instance or usage · 3 solver failure or time
limit · 4 internal error (a bug: please report it).
"""

from __future__ import annotations

import os
import sys

_PREVIOUS_EXCEPTHOOK = sys.excepthook


def _interrupted_while_starting(kind, value, traceback):
    """Ctrl-C while this module is imported (typer alone takes ~50 ms): one line and
    exit 130, no traceback. Installed only while the module is imported (its last line
    puts the previous hook back), so that a program importing it keeps its own hook."""
    if not issubclass(kind, KeyboardInterrupt):
        return _PREVIOUS_EXCEPTHOOK(kind, value, traceback)
    sys.stderr.write("interrupted; nothing was written\n")
    sys.stderr.flush()
    os._exit(130)


sys.excepthook = _interrupted_while_starting

import gc  # noqa: E402 - after the hook above, which covers every import below
import json  # noqa: E402
import math  # noqa: E402
from enum import Enum  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated, Optional  # noqa: E402

import typer  # noqa: E402

# planner.instance (pydantic, YAML), Pyomo, HiGHS and pandas are imported inside the
# commands that need them, so that `planner --help` starts fast (benchmarks/cli.py).

OPTIMAL, INFEASIBLE, INVALID, SOLVER_FAILED, INTERNAL = 0, 1, 2, 3, 4

EXIT_CODES = (
    "Exit codes: 0 optimal plan; 1 infeasible (no plan satisfies the constraints); "
    "2 invalid instance or usage (file missing, unreadable, not YAML/JSON, fails validation); "
    "3 solver failure or time limit; 4 internal error (a bug)."
)

app = typer.Typer(
    help="Plan compute procurement across providers so that cumulative losses are as small "
    "as possible while capacity, contracts and cash hold.\n\n" + EXIT_CODES,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _one_process(ctx: typer.Context) -> None:
    # Every command but the app solves one LP at a time: one malloc heap for the whole
    # process, so HiGHS's thread reuses the memory the model frees (planner.solver.heap).
    if ctx.invoked_subcommand != "app":
        from .solver.heap import share_the_heap

        share_the_heap()


class Objective(str, Enum):
    cumulative_loss = "cumulative_loss"
    peak_cumulative_loss = "peak_cumulative_loss"


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _interrupt_exits(command):
    """Ctrl-C anywhere in ``command`` ends it with one line and exit 130 (as ``sweep``
    does), never click's "Aborted!" with exit 1 (which would read as "infeasible")."""
    import functools

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt:
            _err("interrupted; nothing was written")
            raise typer.Exit(130) from None

    return run


def _report_invalid(err: InstanceError) -> None:
    """One line per problem: ``invalid instance: FILE: dotted.path: what was expected``."""
    for line in err.render().splitlines():
        _err(f"invalid instance: {line}")


def _load_or_exit(path: Path):
    from .instance.errors import InstanceError
    from .instance.loading import load_instance

    try:
        return load_instance(path)
    except InstanceError as err:
        _report_invalid(err)
        raise typer.Exit(INVALID) from None


def _default_out(name: str) -> Path:
    """``results/<name>``, with the name made safe as one folder name (never ``..`` or ``/x``)."""
    safe = "".join("_" if ch in '/\\:' or not ch.isprintable() else ch for ch in name).strip()
    if not safe.strip("."):
        safe = "instance"
    return Path("results") / safe


@app.command()
@_interrupt_exits
def solve(
    instance: Annotated[Path, typer.Argument(help="Instance file (YAML or JSON).", show_default=False)],
    out: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", help="Results folder. Default: results/<instance name>.", show_default=False),
    ] = None,
    objective: Annotated[
        Optional[Objective],
        typer.Option(help="Override the instance's objective.", show_default=False),
    ] = None,
    time_limit: Annotated[
        Optional[float],
        typer.Option("--time-limit", min=0.0, help="Stop the solver after this many seconds (exit 3).", show_default=False),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only where the files went.")] = False,
    report: Annotated[
        bool, typer.Option("--report", help="Also write report.html and the charts (PNG) into the results folder.")
    ] = False,
) -> None:
    """Solve INSTANCE and write the optimal plan as CSV tables (MODEL.md §3)."""
    inst = _load_or_exit(instance)
    code, _ = _solve_to_folder(inst, out, objective, time_limit, quiet, report)
    raise typer.Exit(code)


def _solve_to_folder(inst, out, objective, time_limit, quiet, report=False) -> tuple[int, str]:
    """Solve a loaded instance and write its results folder.

    Returns the exit code and a one-line outcome (for ``solve-all``); messages about
    failures go to stderr, the plan table (unless ``quiet``) and the "Wrote" line to stdout.
    Ctrl-C (or SIGTERM) ends the program with exit 128 + the signal's number, saying what
    is in the results folder (the earlier results, intact, unless the new ones were complete).
    """
    from .results.folder import ResultsInterrupted, earlier_results_note

    target = out if out is not None else _default_out(inst.name)
    try:
        return _solve_and_write(inst, target, objective, time_limit, quiet, report)
    except KeyboardInterrupt as err:
        _err(str(err) if isinstance(err, ResultsInterrupted) else f"interrupted: {earlier_results_note(target)}")
        raise typer.Exit(128 + int(getattr(err, "signum", 2))) from None


def _solve_and_write(inst, target, objective, time_limit, quiet, report) -> tuple[int, str]:
    from .results.folder import ResultsError, refusal
    from .instance.scaling import scaling_warning

    refused = refusal(target)
    if refused:
        _err(f"error: {refused}")
        return INVALID, "results folder refused"
    warning = scaling_warning(inst)
    if warning:
        _err(f"warning: {warning}")
    if not quiet:
        _err(f"Solving {inst.name} ({inst.years[0]}-{inst.years[1]}, {len(inst.providers)} providers, "
             f"{len(inst.workloads)} workloads) with HiGHS...")
    from .solver.highs import SolverFailure, solve as solve_plan

    try:
        plan = solve_plan(inst, objective=objective.value if objective else None, time_limit=time_limit)
    except SolverFailure as err:
        _err(f"solver failure: {err}; no results written")
        return SOLVER_FAILED, f"solver failure ({err.status})"
    if plan.status == "infeasible":
        _err(infeasible_line(inst.name))
        if not quiet:
            _print_diagnosis(inst, time_limit)
        return INFEASIBLE, "infeasible"
    from .report.html import ReportError

    drawn: list = []

    def draw_report(staging):  # into the staging folder: swapped in with the tables, under their lock
        from .report.html import write_report

        drawn.extend(write_report(staging, "html", locked=False, shown_as=target))

    try:
        written = plan.write(target, draw_report if report else None)
    except ResultsError as err:
        _err(f"error: {err}")
        return INVALID, "results not written"
    except ReportError as err:
        from .results.folder import earlier_results_note

        _err(f"error: the report failed: {err}; no results were written, {earlier_results_note(target)}")
        return INVALID, "optimal, but the report failed"
    if plan.summary.get("max_violation", 0) > 1e-6:
        _err(f"warning: the plan misses {plan.summary['max_violation_constraint']} by "
             f"{plan.summary['max_violation']:.3g} (max_violation in summary.json)")
    if not quiet:
        typer.echo(format_plan(plan))
    from .results.files import RESULT_FILES

    typer.echo(f"Wrote {len(RESULT_FILES)} files to {_display_path(written)}")
    if report:
        from .results.files import REPORT_HTML

        typer.echo(f"Wrote the report ({len(drawn)} files) to {_display_path(written)}: "
                   f"open {_display_path(written / REPORT_HTML).rstrip(os.sep)}")
    money = inst.units.money
    return OPTIMAL, f"optimal, {plan.objective} = {plan.objective_value:,.4f} {money}"


def infeasible_line(name: str) -> str:
    """What every command says of an instance without a plan."""
    return f"{name}: infeasible: no plan satisfies every constraint; no results written."


def _print_diagnosis(inst, time_limit) -> None:
    from .solver.diagnosis import diagnose as diagnose_instance
    from .solver.highs import SolverFailure

    try:
        _err(diagnose_instance(inst, time_limit=time_limit).render())
    except SolverFailure as err:
        _err(f"the diagnosis failed too: {err}")


@app.command()
@_interrupt_exits
def diagnose(
    instance: Annotated[Path, typer.Argument(help="Instance file (YAML or JSON).", show_default=False)],
    time_limit: Annotated[
        Optional[float],
        typer.Option("--time-limit", min=0.0, help="Stop the solver after this many seconds (exit 3).", show_default=False),
    ] = None,
) -> None:
    """Explain why INSTANCE has no plan: which constraints must give, and by how much.

    Relaxes every hard constraint (MODEL.md §4) and prints each one that had to give,
    with the change to the instance that makes it feasible. Exit 1 when the instance is
    infeasible, 0 when it is feasible.
    """
    inst = _load_or_exit(instance)
    from .solver.diagnosis import diagnose as diagnose_instance
    from .solver.highs import SolverFailure

    try:
        result = diagnose_instance(inst, time_limit=time_limit)
    except SolverFailure as err:
        _err(f"solver failure: {err}")
        raise typer.Exit(SOLVER_FAILED) from None
    typer.echo(result.render())
    raise typer.Exit(OPTIMAL if result.status == "feasible" else INFEASIBLE)


def _write_report(folder: Path, fmt: str, case: str | None = None) -> int:
    from .report.html import ReportError, write_report

    try:
        written = write_report(folder, fmt, case=case)
    except ReportError as err:
        _err(f"error: {err}")
        return INVALID
    typer.echo(f"Wrote the report ({len(written)} files) to {_display_path(folder)}"
               + (f": open {_display_path(written[0]).rstrip(os.sep)}" if fmt == "html" else ""))
    return OPTIMAL


class ReportFormat(str, Enum):
    html = "html"
    png = "png"


@app.command("report")
@_interrupt_exits
def report_command(
    results_dir: Annotated[Path, typer.Argument(help="A results folder written by planner solve, or a frontier or alternatives folder.", show_default=False)],
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help="html: report.html and the charts; png: only the charts.")
    ] = ReportFormat.html,
    case: Annotated[
        Optional[str],
        typer.Option("--case", help="Scenario results: the case the per-plan charts draw (default: the most probable).",
                     show_default=False),
    ] = None,
) -> None:
    """Draw the charts of a results folder and write a one-file HTML report beside them.

    For scenario results (MODEL.md §5) the first chart compares the cases' cumulative
    losses, the report lists every case, and the other charts draw one case."""
    raise typer.Exit(_write_report(results_dir, fmt.value, case))


@app.command()
@_interrupt_exits
def value(
    instance: Annotated[Path, typer.Argument(help="Instance file with scenarios (MODEL.md §5).", show_default=False)],
    out: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", help="Where to write value.json. Default: results/<instance name>/value.json.",
                     show_default=False),
    ] = None,
    time_limit: Annotated[
        Optional[float],
        typer.Option("--time-limit", min=0.0, help="Time limit per solve, in seconds (exit 3).", show_default=False),
    ] = None,
) -> None:
    """The value of perfect information (EVPI) and of the stochastic solution (VSS).

    Re-solves the instance with nothing committed (wait and see) and with the committed
    plan of the expected case, prints the figures and writes them to value.json.
    """
    inst = _load_or_exit(instance)
    if inst.scenarios is None:
        _err(f"error: {instance} has no scenarios block; value compares plans across cases (MODEL.md §5)")
        raise typer.Exit(INVALID)
    from .results.files import VALUE_FILE
    from .solver.highs import SolverFailure
    from .solver.value import value_of_information

    _err(f"Solving {inst.name} three ways ({len(inst.cases)} cases) with HiGHS...")
    try:
        figures = value_of_information(inst, time_limit=time_limit)
    except SolverFailure as err:
        _err(f"solver failure: {err}")
        raise typer.Exit(SOLVER_FAILED) from None
    if figures.get("status") == "infeasible":
        _err(f"{inst.name}: infeasible; run planner diagnose {instance}")
        raise typer.Exit(INFEASIBLE)
    money = inst.units.money
    rows = [
        ("stochastic plan (RP)", figures["recourse_problem"]),
        ("wait and see (WS)", figures["wait_and_see"]),
        ("expected case alone (EV)", figures["expected_value_problem"]),
        ("expected case's plan in every case (EEV)", figures["expected_value_solution"]),
        ("EVPI = RP - WS", figures["evpi"]),
        ("VSS = EEV - RP", figures["vss"]),
    ]
    typer.echo(f"{inst.name}: {figures['objective']} in {money}, {figures['commit_years']} committed year(s)")
    for label, number in rows:
        typer.echo(f"  {label:<42}{number:>14,.4f}")
    if figures["expected_value_solution_status"] != "optimal":
        typer.echo(f"  ({figures['expected_value_solution_status']})")
    target = out if out is not None else _default_out(inst.name) / VALUE_FILE
    from .results.folder import ResultsError, write_text_file

    try:
        finite = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in figures.items()}
        write_text_file(target, json.dumps(finite, indent=2, allow_nan=False) + "\n")
    except ResultsError as err:
        _err(f"error: {err}")
        raise typer.Exit(INVALID) from None
    typer.echo(f"Wrote {_display_path(target).rstrip(os.sep)}")


INSTANCE_SUFFIXES = (".yaml", ".yml", ".json")


@app.command("solve-all")
@_interrupt_exits
def solve_all(
    folder: Annotated[Path, typer.Argument(help="Folder of instance files (*.yaml, *.yml, *.json; not sub-folders).")] = Path("instances"),
    out: Annotated[Path, typer.Option("--out", "-o", help="Parent folder: each plan goes to OUT/<instance name>/.")] = Path("results"),
    objective: Annotated[
        Optional[Objective],
        typer.Option(help="Override every instance's objective.", show_default=False),
    ] = None,
    time_limit: Annotated[
        Optional[float],
        typer.Option("--time-limit", min=0.0, help="Time limit per instance, in seconds.", show_default=False),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only one line per instance.")] = False,
    report: Annotated[bool, typer.Option("--report", help="Also write each plan's report.html and charts.")] = False,
) -> None:
    """Solve every instance in FOLDER into OUT/<name>/ (how results/ is made).

    Goes on after a failure; exits with the worst exit code of all instances.
    """
    if not folder.is_dir():
        _err(f"error: {folder} is not a folder")
        raise typer.Exit(INVALID)
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in INSTANCE_SUFFIXES and p.is_file())
    if not paths:
        _err(f"error: no instance files (*.yaml, *.yml, *.json) in {folder}")
        raise typer.Exit(INVALID)
    from .instance.errors import InstanceError
    from .instance.loading import load_instance

    worst, outcomes, loaded = OPTIMAL, {}, []
    for path in paths:
        try:
            loaded.append((path, load_instance(path)))
        except InstanceError as err:
            _report_invalid(err)
            worst = max(worst, INVALID)
            outcomes[path] = "invalid instance"
    # Names that map to one folder (a/b, a_b, a:b; or equal names) would overwrite each
    # other's results: refuse every one of them, before solving anything.
    by_folder: dict[str, list] = {}
    for path, inst in loaded:
        by_folder.setdefault(_default_out(inst.name).name, []).append((path, inst))
    for folder_name, group in by_folder.items():
        if len(group) > 1:
            files = ", ".join(f"{path} ({inst.name!r})" for path, inst in group)
            _err(f"error: {files} would all write {out / folder_name}; their results would overwrite "
                 "each other: give each instance its own name")
            worst = max(worst, INVALID)
            for path, _ in group:
                outcomes[path] = "refused: its results folder collides with another instance's"
    for path, inst in loaded:
        if path in outcomes:
            continue
        code, outcome = _solve_to_folder(inst, out / _default_out(inst.name).name, objective, time_limit, quiet, report)
        worst = max(worst, code)
        outcomes[path] = outcome
    outcomes = [(path.name, outcomes[path]) for path in paths]
    width = max(len(name) for name, _ in outcomes)
    typer.echo(f"\n{len(paths)} instances from {folder}:")
    for name, outcome in outcomes:
        typer.echo(f"  {name:<{width}}  {outcome}")
    raise typer.Exit(worst)


def format_plan(plan) -> str:
    """The compact per-year table printed by ``planner solve``."""
    inst = plan.instance
    if inst.scenarios is not None:
        return format_scenario_plan(plan)
    money, cap = inst.units.money, inst.units.capacity
    capacity = plan.tables["capacity"].pivot(index="year", columns="provider", values="active")
    finance = plan.tables["finance"].set_index("year")
    providers = list(inst.providers)
    years = inst.year_list
    width = max(9, *(len(p) + 1 for p in providers))  # the providers' columns alike
    columns = {p: (width, [f"{capacity.loc[year, p]:.3f}" for year in years]) for p in providers}
    columns |= {c: (11, [f"{finance.loc[year, c]:.3f}" for year in years]) for c in ("revenue", "loss", "cash")}
    lines = [
        f"{inst.name}: optimal plan, {plan.objective} = {plan.objective_value:,.4f} {money}",
        f"active capacity in {cap}; revenue, loss and cash in {money}",
        *_aligned(["year"] + list(columns), [[str(year)] for year in years], columns, first=5),
    ]
    s = plan.summary
    lines.append(
        f"cumulative loss {s['cumulative_loss']:,.3f}, peak {s['peak_cumulative_loss']:,.3f}, "
        f"final cash {s['final_cash']:,.3f}, owed after {inst.years[1]} {s['commitments_after_horizon']:,.3f} {money}"
    )
    from .solver.duals import bindings

    binding = bindings(plan, 3)
    if binding:
        lines.append("Most valuable to relax (shadow prices, duals.csv):")
        lines += [f"  {i}. {b.sentence}" for i, b in enumerate(binding, 1)]
    return "\n".join(lines)


def _aligned(header: list[str], first_cells: list[list[str]], columns: dict, first: int) -> list[str]:
    """A table's lines: the first column left-aligned in ``first`` characters, then each
    of ``columns`` (header -> (least width, its cells)) right-aligned, as wide as its
    widest cell plus one, so that columns never run together (prices of 1e12 give
    17-character figures)."""
    first = max(first, *(len(row[0]) + 1 for row in [header[:1], *first_cells]))
    widths = {name: max(least, len(name) + 1, *(len(cell) + 1 for cell in cells)) for name, (least, cells) in columns.items()}
    lines = [f"{header[0]:<{first}}" + "".join(f"{name:>{widths[name]}}" for name in columns)]
    for i, row in enumerate(first_cells):
        lines.append(f"{row[0]:<{first}}" + "".join(f"{cells[i]:>{widths[name]}}" for name, (_, cells) in columns.items()))
    return lines


def format_scenario_plan(plan) -> str:
    """For a scenario instance: one line per case, then the committed plan."""
    inst, s = plan.instance, plan.summary
    money, cap = inst.units.money, inst.units.capacity
    risk = inst.scenarios.risk
    first, last_committed = inst.years[0], inst.last_committed_year
    lines = [
        f"{inst.name}: optimal plan, {plan.objective} = {plan.objective_value:,.4f} {money} "
        f"({1 - risk.weight:.0%} expected value, {risk.weight:.0%} CVaR at alpha {risk.alpha:g})",
        f"expected objective {s['expected_objective']:,.3f}, CVaR {s['cvar']:,.3f} {money}",
    ]
    cases = s["cases"].values()
    columns = {label: (12, [f"{case[key]:.3f}" for case in cases]) for label, key in (
        ("probability", "probability"), ("objective", "objective_value"), ("cum. loss", "cumulative_loss"),
        ("peak", "peak_cumulative_loss"))}
    lines += _aligned(["case"] + list(columns), [[name] for name in s["cases"]], columns, first=16)
    if inst.commit_years == 0:
        lines.append("Nothing is committed (commit_years: 0): every case has its own plan.")
    else:
        span = f"{first}" if last_committed == first else f"{first}-{last_committed}"
        procurement = plan.tables["procurement"]
        committed = procurement[(procurement["case"] == next(iter(inst.cases))) & (procurement["year"] <= last_committed)]
        lines.append(f"Committed plan ({span}, shared by every case), capacity in {cap}:")
        if committed.empty:
            lines.append("  nothing signed or built")
        for row in committed.itertuples():
            term = "build" if row.source == "build" else f"{row.source}, {row.term} year{'s' if row.term != 1 else ''}"
            lines.append(f"  {row.year}  {row.provider:<12} {term:<24} {row.capacity:>9.3f} at {row.unit_price:g}")
    return "\n".join(lines)


def _display_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd())) + os.sep
    except ValueError:
        return str(path) + os.sep


@app.command()
def sweep(
    instance: Annotated[Path, typer.Argument(help="Instance file (YAML or JSON), without scenarios.", show_default=False)],
    vary: Annotated[
        list[str],
        typer.Option("--vary", help="PATH=SPEC: values 1,2,3; a range first:last:count (0.5:1.5:11); scalings of the "
                     "series x0.7,x1.3; the series shifted by whole years +1y,+2y (a year late, two years late). "
                     "Several make a grid. With --samples/--sobol: PATH~uniform(a,b), "
                     "PATH~normal(mu,sigma) or PATH~triangular(a,m,b), scalings of the series. PATH as in "
                     "MODEL.md §5 (e.g. providers.stargate.capacity, finance.funding).", show_default=False),
    ],
    samples: Annotated[Optional[int], typer.Option("--samples", min=1, help="Monte Carlo: draw N variants from the ~ distributions.", show_default=False)] = None,
    sobol: Annotated[Optional[int], typer.Option("--sobol", min=1, help="Sobol' sensitivity: N base samples (a power of 2), N*(D+2) variants; writes sensitivity.csv.", show_default=False)] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of --samples and --sobol (the same seed gives the same variants).")] = 0,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Local processes solving variants.")] = 1,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="Dask scheduler address (tcp://host:8786): solve on that cluster instead of --jobs.", show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Sweep folder (sweep.csv, sweep.json, sweep.png). Default: results/<name>-sweep. Rerun with the same folder to resume.", show_default=False)] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", min=1, help="Variants per task (default: about 8 tasks per worker, at most 16).", show_default=False)] = None,
    time_limit: Annotated[Optional[float], typer.Option("--time-limit", min=0.0, help="Time limit per variant, in seconds (the variant's row says time_limit).", show_default=False)] = None,
    chart: Annotated[bool, typer.Option("--chart/--no-chart", help="Draw sweep.png: the objective's distribution and what moves it.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Solve many variants of INSTANCE (a grid, Monte Carlo draws or a Sobol' design) into sweep.csv.

    One row per variant (the varied values, status, objective, cumulative loss, peak,
    final cash, each provider's final-year share), sweep.json (mean, p5, p50, p95) and
    the chart sweep.png.
    Infeasible variants are rows with their status. Ctrl-C keeps the finished rows (exit
    130); rerunning the same command resumes. Exit 0 when every variant has its row.
    """
    from .instance.errors import InstanceError
    from .sweep.run import SweepError, run_sweep

    try:
        result = run_sweep(instance, vary, samples=samples, sobol=sobol, seed=seed, jobs=jobs, scheduler=scheduler,
                           out=out, batch_size=batch_size, time_limit=time_limit, progress=not quiet, echo=typer.echo,
                           chart=chart)
    except InstanceError as err:
        _report_invalid(err)
        raise typer.Exit(INVALID) from None
    except SweepError as err:
        _err(f"error: {err}")
        raise typer.Exit(INVALID) from None
    raise typer.Exit(result.code)


@app.command("frontier")
def frontier_command(
    instance: Annotated[Path, typer.Argument(help="Instance file (YAML or JSON), without scenarios.", show_default=False)],
    share: Annotated[str, typer.Option("--share", help="PROVIDER[@YEARS]: whose share of all active capacity is capped, "
                                       "in which years (2030, or an inclusive range 2028-2030; all planning years "
                                       "without @).", show_default=False)],
    points: Annotated[int, typer.Option("--points", "-n", min=2, help="Points of the frontier, from the optimal plan's "
                                        "own share down to the smallest cap that still has a plan.")] = 11,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Frontier folder (frontier.csv, frontier.json, "
                                                "frontier.png). Default: results/<name>-frontier.",
                                                show_default=False)] = None,
    plans: Annotated[bool, typer.Option("--plans", help="Also write each point's results folder into plans/.")] = False,
    time_limit: Annotated[Optional[float], typer.Option("--time-limit", min=0.0, help="Time limit per solve, in seconds "
                                                        "(exit 3).", show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """The price of independence: the optimum as PROVIDER's share is capped ever tighter.

    Point ε is the instance with PROVIDER's share of each capped year's total active
    capacity at most ε (MODEL.md §2.5's max_share, min(given, ε)). One row per point in
    frontier.csv: the cap, the objective, cumulative and peak loss, final cash, every
    provider's share in the last capped year, and the cap's shadow price (cost_per_point:
    what one more percentage point of independence costs). Ctrl-C keeps the finished
    points (exit 130). docs/tradeoffs.md says how the grid is found.
    """
    from .results.files import FRONTIER_FILES

    inst = _load_or_exit(instance)
    target = out if out is not None else _default_out(f"{inst.name}-frontier")
    _refuse_folder(target, FRONTIER_FILES)

    def run(progress):
        from .tradeoffs.frontier import frontier

        return frontier(inst, share, points=points, plans=plans, time_limit=time_limit, progress=progress)

    def write(result):
        from .tradeoffs.folder import write_frontier

        return write_frontier(result, target)

    result = _run_tradeoff(inst, instance, run, quiet)
    written = _write_tradeoff(result, write, target)
    typer.echo(_frontier_lines(result))
    _say_written(result, written, _count(len(result.rows), "point"), plans)


@app.command("alternatives")
def alternatives_command(
    instance: Annotated[Path, typer.Argument(help="Instance file (YAML or JSON), without scenarios.", show_default=False)],
    slack: Annotated[float, typer.Option("--slack", min=0.0, help="How far from the optimum a plan may be, as a fraction "
                                         "of the optimum's size (0.05: within 5 %).", show_default=False)],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Alternatives folder (alternatives.csv, "
                                                "alternatives.json, alternatives.png). Default: "
                                                "results/<name>-alternatives.", show_default=False)] = None,
    plans: Annotated[bool, typer.Option("--plans", help="Also write each extreme plan's results folder into plans/.")] = False,
    time_limit: Annotated[Optional[float], typer.Option("--time-limit", min=0.0, help="Time limit per solve, in seconds "
                                                        "(exit 3).", show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """How different near-optimal plans can be: each provider's range within the slack.

    Among every plan whose objective is at most optimum + SLACK·|optimum|, the smallest
    and largest share of each provider in the last planning year (exact, by Dinkelbach's
    method) and of its total spend over the horizon, beside the optimal plan's own.
    Ctrl-C keeps the finished providers (exit 130). docs/tradeoffs.md says how.
    """
    from .results.files import ALTERNATIVES_FILES

    inst = _load_or_exit(instance)
    target = out if out is not None else _default_out(f"{inst.name}-alternatives")
    _refuse_folder(target, ALTERNATIVES_FILES)

    def run(progress):
        from .tradeoffs.alternatives import alternatives

        return alternatives(inst, slack, plans=plans, time_limit=time_limit, progress=progress)

    def write(result):
        from .tradeoffs.folder import write_alternatives

        return write_alternatives(result, target)

    result = _run_tradeoff(inst, instance, run, quiet)
    written = _write_tradeoff(result, write, target)
    typer.echo(_alternatives_lines(result))
    _say_written(result, written, _count(len(result.rows), "provider"), plans)


def _refuse_folder(target: Path, files) -> None:
    from .results.files import PLANS_FOLDER
    from .results.folder import refusal

    refused = refusal(target, files, (PLANS_FOLDER,))
    if refused:
        _err(f"error: {refused}")
        raise typer.Exit(INVALID)


def _run_tradeoff(inst, path: Path, run, quiet: bool):
    """Run a frontier or alternatives computation; exit 1/2/3 as ``solve`` does."""
    from .solver.highs import SolverFailure
    from .tradeoffs.common import Interrupts, TradeoffError, signal_number

    try:
        with Interrupts():  # SIGTERM and SIGHUP end it as Ctrl-C does, with one line
            result = run(None if quiet else _err)
    except KeyboardInterrupt as err:
        _err("interrupted; nothing was written")
        raise typer.Exit(128 + signal_number(err)) from None
    except TradeoffError as err:
        _err(f"error: {err}")
        raise typer.Exit(INVALID) from None
    except SolverFailure as err:
        _err(f"solver failure: {err}; nothing was written")
        raise typer.Exit(SOLVER_FAILED) from None
    if result.status != "optimal":
        _err(infeasible_line(inst.name))
        if not quiet:
            _print_diagnosis(inst, None)
        raise typer.Exit(INFEASIBLE)
    return result


def _write_tradeoff(result, write, target: Path) -> Path:
    from .results.folder import ResultsError, ResultsInterrupted, earlier_results_note

    if not result.rows:  # interrupted before the first point or provider was finished
        _err("interrupted; nothing was written")
        raise typer.Exit(128 + (result.signum or 2))

    try:
        return write(result)
    except ResultsError as err:
        _err(f"error: {err}")
        raise typer.Exit(INVALID) from None
    except KeyboardInterrupt as err:
        _err(str(err) if isinstance(err, ResultsInterrupted) else f"interrupted: {earlier_results_note(target)}")
        raise typer.Exit(128 + int(getattr(err, "signum", 2))) from None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _say_written(result, written: Path, what: str, plans: bool) -> None:
    extra = " and their plans" if plans and result.rows else ""
    typer.echo(f"Wrote {what}{extra} to {_display_path(written)}")
    if not result.complete:
        _err(f"interrupted: kept the {what} finished in {_display_path(written)} (incomplete: rerun to finish)")
        raise typer.Exit(128 + (result.signum or 2))


def _frontier_lines(result) -> str:
    """The frontier as a table: cap, objective, its rise over the optimum, cost a point."""
    meta = result.meta
    money = meta["units"]["money"]
    base = meta["objective_value"]
    from .report.style import year_list

    lines = [f"{meta['provider']}'s share capped in {year_list(meta['years'])} ({meta['objective']}, {money}):",
             f"{'cap':>8} {'objective':>14} {'+ vs optimum':>14} {'per point':>11}"]
    for row in result.rows:
        mark = "  knee" if row["point"] == meta.get("knee") else ""
        rise = row["objective"] - base
        rise = 0.0 if abs(rise) < 1e-9 * max(1.0, abs(base)) else rise
        lines.append(f"{row['max_share']:>8.2%} {row['objective']:>14,.4f} {rise:>14,.4f} "
                     f"{row['cost_per_point']:>11,.4f}{mark}")
    lines.append(f"The smallest cap with a plan is {meta['smallest_cap']:.2%} (to {meta['tolerance']:.0e}).")
    return "\n".join(lines)


def _alternatives_lines(result) -> str:
    meta = result.meta
    money = meta["units"]["money"]

    def pct(x):
        return "–" if x is None else f"{x:.2%}"

    lines = [f"Plans with {meta['objective']} ≤ {meta['bound']:,.4f} {money} (optimum {meta['objective_value']:,.4f}, "
             f"slack {meta['slack']:.2%}):",
             f"{'provider':<16} {'share ' + str(meta['last_year']):>24} {'optimum':>8} {'spend':>26} {'optimum':>10}"]
    for row in result.rows:
        share = f"{pct(row['min_share'])} to {pct(row['max_share'])}"
        spend = f"{row['min_spend']:,.2f} to {row['max_spend']:,.2f}"
        lines.append(f"{row['provider'][:16]:<16} {share:>24} {pct(row['optimum_share']):>8} {spend:>26} "
                     f"{row['optimum_spend']:>10,.2f}")
    if meta.get("note"):
        lines.append(f"Note: {meta['note']}.")
    return "\n".join(lines)


@app.command()
def validate(
    instances: Annotated[list[Path], typer.Argument(help="Instance files to check.", show_default=False)],
) -> None:
    """Check instance files against MODEL.md §1 without solving (exit 2 if any is invalid)."""
    from .instance.errors import InstanceError
    from .instance.loading import load_instance

    failed = 0
    for path in instances:
        try:
            inst = load_instance(path)
        except InstanceError as err:
            failed += 1
            _report_invalid(err)
            continue
        typer.echo(f"{path}: valid ({inst.name}, {inst.years[0]}-{inst.years[1]}, "
                   f"{len(inst.providers)} providers, {len(inst.workloads)} workloads)")
    if failed:
        raise typer.Exit(INVALID)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the instance format (for editors)."""
    from .instance.loading import instance_json_schema

    typer.echo(json.dumps(instance_json_schema(), indent=2))


class ExportFormat(str, Enum):
    mps = "mps"
    lp = "lp"


@app.command()
def export(
    instance: Annotated[Path, typer.Argument(help="Instance file (YAML or JSON).", show_default=False)],
    fmt: Annotated[
        Optional[ExportFormat],
        typer.Option("--format", help="mps or lp. Default: the extension of --out, else mps.", show_default=False),
    ] = None,
    out: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", help="File to write. Default: <instance name>.<format> here.", show_default=False),
    ] = None,
    objective: Annotated[
        Optional[Objective],
        typer.Option(help="Override the instance's objective.", show_default=False),
    ] = None,
) -> None:
    """Write the LP that planner solve hands to HiGHS (its first stage) as an MPS or LP file.

    The same rows, columns and coefficients, with the model's names, so that the plan can
    be checked with another solver or HiGHS timed alone (highs FILE).
    """
    inst = _load_or_exit(instance)
    from .solver.export import ExportError, export_lp

    fmt_name = fmt.value if fmt else None
    target = out if out is not None else Path(f"{_default_out(inst.name).name}.{fmt_name or 'mps'}")
    try:
        written = export_lp(inst, target, fmt_name, objective.value if objective else None)
    except ExportError as err:
        _err(f"error: {err}")
        raise typer.Exit(INVALID) from None
    typer.echo(f"Wrote {_display_path(written['path']).rstrip(os.sep)} ({written['format']}, {written['objective']}): "
               f"{written['columns']:,} columns, {written['rows']:,} rows, {written['nonzeros']:,} non-zeros")


@app.command("app")
def app_command(
    instance: Annotated[Path, typer.Argument(help="Instance file (YAML or JSON), without scenarios.", show_default=False)],
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free port).")] = 8050,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; the default is this machine only.")] = "127.0.0.1",
    vary: Annotated[
        Optional[list[str]],
        typer.Option("--vary", help="A control instead of the defaults: PATH (a scaling x0..x2) or PATH=SPEC as in "
                     "sweep (x0.5:1.5:11 scalings, +0y,+1y,+2y shifts, 1:10:10 values; first and last are the "
                     "range). Repeat for more.", show_default=False),
    ] = None,
) -> None:
    """Start the what-if explorer of INSTANCE in the browser and print its address.

    Controls scale each workload's demand and revenue, each provider's capacity and
    prices, funding and other costs, and shift each provider's capacity series by whole
    years; the plan is solved again on every change and shown beside the base plan.
    Ctrl-C stops the app. See docs/app.md.
    """
    from .instance.errors import InstanceError
    from .sweep.run import SweepError

    try:
        from .app.serve import address, is_loopback, make_server
    except ImportError as err:
        _err(f"error: planner app needs Dash ({err}); install with: pip install -e .")
        raise typer.Exit(INVALID) from None
    try:
        server, _ = make_server(instance, vary or (), host, port)
    except InstanceError as err:
        _report_invalid(err)
        raise typer.Exit(INVALID) from None
    except SweepError as err:
        _err(f"error: {err}")
        raise typer.Exit(INVALID) from None
    except OSError as err:
        _err(f"error: cannot listen on {host}:{port}: {err.strerror or err}")
        raise typer.Exit(INVALID) from None
    if not is_loopback(host):
        _err(f"warning: listening on {host}: anyone who can reach this address can use the app")
    typer.echo(f"planner app: {address(server)} (Ctrl-C stops it)", )
    try:
        server.serve_forever()  # werkzeug's returns on Ctrl-C (it catches the interrupt)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    _err("stopped")
    raise typer.Exit(130)


def _typer_caught_an_interrupt(exit_: SystemExit) -> bool:
    """Whether typer turned a Ctrl-C outside our commands' own handling (while it parses
    the options, say) into a silent exit 130: ``Exit(130)`` raised from the interrupt."""
    return exit_.code == 130 and isinstance(getattr(exit_.__context__, "__cause__", None), KeyboardInterrupt)


#: Ctrl-Cs received since main() started (see _note_interrupt).
_INTERRUPTS: list[int] = []


def _note_interrupt(signum, frame):
    """Ctrl-C as Python's own handler does (KeyboardInterrupt), remembered: a library
    interrupted in the middle of its work (numpy's import, a Pyomo component) may turn the
    interrupt into another error, which must still end as an interruption, not a bug."""
    _INTERRUPTS.append(signum)
    raise KeyboardInterrupt


def main() -> None:
    """Console entry point: run the app; never show a traceback for a failure."""
    import signal

    try:
        _main()
    except KeyboardInterrupt as late:
        # a Ctrl-C in the instant between the command's end (SystemExit) and the handler
        # below ignoring further ones: the command was over, so its exit stands
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        ended = late.__context__
        if not isinstance(ended, SystemExit):
            _err("interrupted; no results were written")
            sys.exit(130)
        if _typer_caught_an_interrupt(ended):
            _err("interrupted; nothing was written")
        raise ended from None


def _main() -> None:
    import signal

    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _note_interrupt)
        # Pyomo logs "Constructing component ... failed: KeyboardInterrupt" before passing
        # the interrupt on: after a Ctrl-C the one line is ours
        import logging

        logging.getLogger("pyomo.core").addFilter(lambda record: not _INTERRUPTS)
    try:
        app(standalone_mode=True)
    except SystemExit as exit_:
        # the command is over: a Ctrl-C from now on (Python's shutdown restores the
        # default action, which would kill the process silently) changes nothing
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if _typer_caught_an_interrupt(exit_):
            _err("interrupted; nothing was written")
        # The process ends now: spare it a last garbage collection over the solved
        # model's objects (0.5 s at a million non-zeros); the system frees the memory.
        gc.freeze()
        raise
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C while saying so
        _err("interrupted; no results were written")
        sys.exit(130)
    except Exception as err:  # noqa: BLE001 - the last line of defence against tracebacks
        if os.environ.get("PLANNER_DEBUG"):
            raise
        if _INTERRUPTS:  # the error followed a Ctrl-C: the interrupt is what happened
            _err("interrupted; nothing was written")
            sys.exit(130)
        _err(f"internal error (a bug in planner, please report it): {type(err).__name__}: {err}. "
             "Set PLANNER_DEBUG=1 to see the traceback.")
        sys.exit(INTERNAL)


if sys.excepthook is _interrupted_while_starting:  # imported: the hook's work is done
    sys.excepthook = _PREVIOUS_EXCEPTHOOK
