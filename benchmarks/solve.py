"""Benchmark: time of `planner.solve` against the lower bound, HiGHS alone on the same LP.

For every instance file given (default: instances/*.yaml) it measures, as medians over
--repeat runs: loading and validating, then the steps `planner.solve` reports in its
``timings`` (building the Pyomo model, the hand-off to HiGHS, HiGHS's solve with the
second stage, the tables and summary), and writing the results folder; then the same LP
exported as MPS and handed straight to highspy (read + solve). Prints a table with the
ratio of the planner's end-to-end time to the bare HiGHS solve. (Scenario instances are
timed the same way; their LP is the extensive form.)

    .venv/bin/python benchmarks/solve.py [INSTANCE ...] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import highspy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import planner  # noqa: E402
from planner.model.lp import build_model  # noqa: E402
from planner.solver.highs import solve  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def bare_highs(mps: Path) -> tuple[float, float, float]:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    read, _ = timed(lambda: h.readModel(str(mps)))
    run, _ = timed(h.run)
    return read, run, h.getInfo().objective_function_value


def measure(path: Path, repeat: int) -> dict:
    rows = []
    for _ in range(repeat):
        load, inst = timed(lambda: planner.load_instance(path))
        steps: dict = {}
        total, plan = timed(lambda: solve(inst, timings=steps))
        model = build_model(inst)
        with tempfile.TemporaryDirectory() as tmp:
            write, _ = timed(lambda: plan.write(Path(tmp) / "out"))
            mps = Path(tmp) / "model.mps"
            model.write(str(mps), io_options={"symbolic_solver_labels": False})
            read, run, objective = bare_highs(mps)
        rows.append({
            "load": load, "build": steps["build"], "solve": steps["handoff"] + steps["solve"],
            "tables": steps["tables"] + steps["summary"], "write": write,
            "end_to_end": load + total + write, "highs_read": read, "highs_solve": run,
            "columns": model.nvariables(), "rows": model.nconstraints(),
        })
    median = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    median["instance"] = path.stem
    median["ratio"] = median["end_to_end"] / max(median["highs_solve"], 1e-9)
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instances", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    paths = args.instances or sorted((ROOT / "instances").glob("*.yaml"))
    header = (f"{'instance':<32}{'vars':>7}{'cons':>7}{'load':>8}{'build':>8}{'solve':>8}{'tables':>8}{'write':>8}"
              f"{'total':>8}{'HiGHS':>8}{'ratio':>8}")
    print(header)
    print("-" * len(header))
    for path in paths:
        m = measure(path, args.repeat)
        print(
            f"{m['instance']:<32}{int(m['columns']):>7}{int(m['rows']):>7}"
            f"{m['load']:>8.3f}{m['build']:>8.3f}{m['solve']:>8.3f}{m['tables']:>8.3f}{m['write']:>8.3f}"
            f"{m['end_to_end']:>8.3f}{m['highs_solve']:>8.4f}{m['ratio']:>8.0f}x"
        )
    print("seconds, medians; solve = hand-off + HiGHS (both stages); tables = tables, shadow prices and summary;")
    print("total = load + planner.solve (build, solve, tables) + write;")
    print("HiGHS = highspy solving the same LP read from MPS; ratio = total / HiGHS.")


if __name__ == "__main__":
    main()
