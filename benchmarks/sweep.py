"""Benchmark: `planner sweep` throughput (variants per second) against HiGHS alone.

Draws --variants Monte Carlo variants of an instance (default instances/openai-2025.yaml;
four uncertain inputs: Stargate's capacity, inference revenue, funding, Microsoft's
reserved price), then:

1. runs the sweep end to end (`planner.sweep.run.run_sweep`: applying the changes and
   validating each variant, then `planner.solver.parametric.ParametricProgram` -- the model
   built once per process with the four inputs as mutable Params, each variant
   recompiling only the rows they touch and re-solving in the same HiGHS object -- the
   figures, sweep.csv) with each --jobs value, wall time including starting the worker
   processes;
2. optionally (--dask) on a 2-worker Dask LocalCluster on this machine;
3. the lower bound: the same LPs exported as MPS once per variant (outside the timing:
   build_model(...).write(...)), then highspy readModel + run in one loop, with one
   HiGHS thread as the sweep uses (HiGHS's helper threads only wait on LPs this small).

It checks that every variant's status and objective agree between the sweep and the
bare HiGHS loop, and prints a table with each path's rate and its ratio to the bound.

    .venv/bin/python benchmarks/sweep.py [--variants 1000] [--jobs 1 2] [--dask]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.instance.loading import validate_instance  # noqa: E402
from planner.sweep.run import apply_changes, load_data, make_design, parse_vary, run_sweep  # noqa: E402

VARY = [
    "providers.stargate.capacity~triangular(0.8,1,1.2)",
    "workloads.inference.revenue~uniform(0.85,1.15)",
    "finance.funding~uniform(1,1.3)",
    "providers.microsoft.contracts.reserved_3y.price~normal(1,0.05)",
]


def highs_loop(files: list[Path]) -> tuple[float, list[tuple[str, float | None]]]:
    """Read and solve every MPS file with highspy; return the seconds and each outcome."""
    import highspy

    outcomes = []
    started = time.perf_counter()
    for path in files:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.readModel(str(path))
        h.run()
        status = h.getModelStatus()
        optimal = status == highspy.HighsModelStatus.kOptimal
        outcomes.append(("optimal" if optimal else "infeasible",
                         h.getInfo().objective_function_value if optimal else None))
    return time.perf_counter() - started, outcomes


def export_lps(instance: Path, variants, folder: Path) -> list[Path]:
    from planner.model.lp import build_model

    data, _ = load_data(instance)
    files = []
    for variant in variants:
        inst = validate_instance(apply_changes(data, variant.changes), name=data["name"])
        path = folder / f"v{variant.index:06d}.mps"
        build_model(inst).write(str(path), io_options={"symbolic_solver_labels": False})
        files.append(path)
    return files


def timed_sweep(instance: Path, args, folder: Path, **where) -> tuple[float, list[dict]]:
    started = time.perf_counter()
    result = run_sweep(instance, VARY, samples=args.variants, seed=args.seed, out=folder, progress=False,
                       echo=lambda _s: None, **where)
    seconds = time.perf_counter() - started
    assert result.code == 0 and len(result.rows) == args.variants
    return seconds, result.rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", nargs="?", type=Path, default=ROOT / "instances" / "openai-2025.yaml")
    parser.add_argument("--variants", type=int, default=1000)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dask", action="store_true", help="also on a 2-worker Dask LocalCluster")
    args = parser.parse_args()

    data, inst = load_data(args.instance)
    design = make_design(inst, data, [parse_vary(v) for v in VARY], samples=args.variants, seed=args.seed)
    print(f"{inst.name}: {args.variants} Monte Carlo variants (seed {args.seed}) of {len(VARY)} inputs; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    timings: list[tuple[str, float]] = []
    reference = None
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for jobs in args.jobs:
            seconds, rows = timed_sweep(args.instance, args, tmp / f"jobs{jobs}", jobs=jobs)
            timings.append((f"planner sweep --jobs {jobs}", seconds))
            if reference is None:
                reference = rows
            else:
                assert (tmp / f"jobs{jobs}" / "sweep.csv").read_bytes() == (tmp / f"jobs{args.jobs[0]}" / "sweep.csv").read_bytes()
        if args.dask:
            from dask.distributed import LocalCluster

            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                              dashboard_address=None) as cluster:
                seconds, _ = timed_sweep(args.instance, args, tmp / "dask", scheduler=cluster.scheduler_address)
            timings.append(("planner sweep --scheduler (2-worker LocalCluster)", seconds))
        started = time.perf_counter()
        files = export_lps(args.instance, design.variants, tmp)
        export = time.perf_counter() - started
        bound, outcomes = highs_loop(files)

    statuses = {}
    worst = 0.0
    for row, (status, objective) in zip(reference, outcomes):
        assert row["status"] == status, (row["variant"], row["status"], status)
        statuses[status] = statuses.get(status, 0) + 1
        if objective is not None:
            worst = max(worst, abs(float(row["objective"]) - objective) / max(1.0, abs(objective)))
    print(f"statuses: {statuses}; largest relative objective difference sweep vs HiGHS alone: {worst:.1e}")
    print(f"(exporting the {args.variants} LPs as MPS, not timed below: {export:.1f} s)")
    n = args.variants
    header = f"{'':<52}{'seconds':>9}{'variants/s':>12}{'vs HiGHS alone':>16}"
    print(header)
    print("-" * len(header))
    print(f"{'highspy alone, one loop (readModel + run)':<52}{bound:>9.2f}{n / bound:>12.1f}{'1.0x':>16}")
    for label, seconds in timings:
        print(f"{label:<52}{seconds:>9.2f}{n / seconds:>12.1f}{seconds / bound:>15.1f}x")
    print("seconds of wall time, worker start-up included; ratio = seconds / highspy loop's seconds")


if __name__ == "__main__":
    main()
