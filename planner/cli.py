"""The ``planner`` command line.

Exit codes (also in ``planner --help`` and the README):
0 optimal plan · 1 infeasible · 2 invalid instance or usage · 3 solver failure or time
limit · 4 internal error (a bug: please report it).
"""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .instance import InstanceError, instance_json_schema, load_instance

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


class Objective(str, Enum):
    cumulative_loss = "cumulative_loss"
    peak_cumulative_loss = "peak_cumulative_loss"


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _report_invalid(err: InstanceError) -> None:
    """One line per problem: ``invalid instance: FILE: dotted.path: what was expected``."""
    for line in err.render().splitlines():
        _err(f"invalid instance: {line}")


def _load_or_exit(path: Path):
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
) -> None:
    """Solve INSTANCE and write the optimal plan as CSV tables (MODEL.md §3)."""
    inst = _load_or_exit(instance)
    target = out if out is not None else _default_out(inst.name)
    from .results import refusal

    refused = refusal(target)
    if refused:
        _err(f"error: {refused}")
        raise typer.Exit(INVALID)
    if not quiet:
        _err(f"Solving {inst.name} ({inst.years[0]}-{inst.years[1]}, {len(inst.providers)} providers, "
             f"{len(inst.workloads)} workloads) with HiGHS...")
    from .results import ResultsError
    from .solver import SolverFailure, solve as solve_plan

    try:
        plan = solve_plan(inst, objective=objective.value if objective else None, time_limit=time_limit)
    except SolverFailure as err:
        _err(f"solver failure: {err}; no results written")
        raise typer.Exit(SOLVER_FAILED) from None
    if plan.status == "infeasible":
        _err(f"{inst.name}: infeasible: no plan satisfies every constraint; no results written.")
        raise typer.Exit(INFEASIBLE)
    try:
        written = plan.write(target)
    except ResultsError as err:
        _err(f"error: {err}")
        raise typer.Exit(INVALID) from None
    if not quiet:
        typer.echo(format_plan(plan))
    typer.echo(f"Wrote {len(plan.tables) + 1} files to {_display_path(written)}")


def format_plan(plan) -> str:
    """The compact per-year table printed by ``planner solve``."""
    inst = plan.instance
    money, cap = inst.units.money, inst.units.capacity
    capacity = plan.tables["capacity"].pivot(index="year", columns="provider", values="active")
    finance = plan.tables["finance"].set_index("year")
    providers = list(inst.providers)
    width = max(9, *(len(p) + 1 for p in providers))
    lines = [
        f"{inst.name}: optimal plan, {plan.objective} = {plan.objective_value:,.4f} {money}",
        f"active capacity in {cap}; revenue, loss and cash in {money}",
        "year " + "".join(f"{p:>{width}}" for p in providers) + f"{'revenue':>11}{'loss':>11}{'cash':>11}",
    ]
    for year in inst.year_list:
        row = f"{year:<5}" + "".join(f"{capacity.loc[year, p]:>{width}.3f}" for p in providers)
        fin = finance.loc[year]
        row += f"{fin['revenue']:>11.3f}{fin['loss']:>11.3f}{fin['cash']:>11.3f}"
        lines.append(row)
    s = plan.summary
    lines.append(
        f"cumulative loss {s['cumulative_loss']:,.3f}, peak {s['peak_cumulative_loss']:,.3f}, "
        f"final cash {s['final_cash']:,.3f}, owed after {inst.years[1]} {s['commitments_after_horizon']:,.3f} {money}"
    )
    return "\n".join(lines)


def _display_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd())) + os.sep
    except ValueError:
        return str(path) + os.sep


@app.command()
def validate(
    instances: Annotated[list[Path], typer.Argument(help="Instance files to check.", show_default=False)],
) -> None:
    """Check instance files against MODEL.md §1 without solving (exit 2 if any is invalid)."""
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
    typer.echo(json.dumps(instance_json_schema(), indent=2))


def main() -> None:
    """Console entry point: run the app; never show a traceback for a failure."""
    try:
        app(standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        _err("interrupted; no results were written")
        sys.exit(130)
    except Exception as err:  # noqa: BLE001 - the last line of defence against tracebacks
        if os.environ.get("PLANNER_DEBUG"):
            raise
        _err(f"internal error (a bug in planner, please report it): {type(err).__name__}: {err}. "
             "Set PLANNER_DEBUG=1 to see the traceback.")
        sys.exit(INTERNAL)
