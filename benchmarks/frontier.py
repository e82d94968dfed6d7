"""Benchmark: `planner frontier` and `planner alternatives` per solve, against a plain
solve and against HiGHS alone.

On one instance (default instances/openai-2025.yaml), in this process, medians over
--repeat runs (after one unmeasured warm-up run of each, so imports and first-call
set-up are not counted):

1. plain solve: ``planner.solve(inst)`` (build the model, hand it to HiGHS, solve, result
   tables, shadow prices, summary: what ``planner solve`` does before writing);
2. for each --share: ``planner.tradeoffs.frontier.frontier(inst, share, points)``, the
   computation of ``planner frontier`` without writing the folder. Its solves are the base
   solve (a plain solve, to find the optimum's share), the bisection's feasibility solves
   and one per point, the last two in one parametric model, each warm-started from the
   previous basis. Split by its progress lines into set-up (the base solve and building the
   parametric model), bisection and points;
3. ``alternatives(inst, slack)``: the base solve, then 4 LPs per provider (smallest and
   largest share by Charnes-Cooper, smallest and largest spend);
4. the lower bound: ``planner export`` writes the instance's LP as MPS, and highspy reads it
   and solves it alone, cold, one thread (as the frontier's parametric model runs), only
   ``run()`` timed; likewise each point's capped LP (the instance with the point's cap in
   its max_share), cold: what HiGHS alone needs for the very LPs the frontier solves.

Ratios: per solve / plain solve, and per solve / HiGHS on the instance's LP. Every
frontier's objective at each point is checked against HiGHS alone on that point's LP.

    .venv/bin/python benchmarks/frontier.py [INSTANCE] [--share stargate@2029-2030 microsoft@2030]
                                            [--points 11] [--slack 0.05] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import planner  # noqa: E402
from planner.solver.export import export_lp  # noqa: E402
from planner.solver.highs import solve as highs_solve  # noqa: E402
from planner.tradeoffs.alternatives import alternatives  # noqa: E402
from planner.tradeoffs.frontier import Caps, frontier, parse_share, with_caps  # noqa: E402


def note(text: str) -> None:
    print(textwrap.fill(text, 110))


def quiet_highs():
    """A ``highspy.Highs`` without the banner its first construction prints to stdout."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    h.setOptionValue("output_flag", False)
    return h


def highs_alone(path: Path, repeat: int) -> tuple[float, float]:
    """Median seconds of highspy's ``run()`` on the MPS file (cold, one thread), and the objective."""
    import highspy

    runs, objective = [], None
    for _ in range(repeat):
        h = quiet_highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.readModel(str(path))
        started = time.perf_counter()
        h.run()
        runs.append(time.perf_counter() - started)
        assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal, (path, h.getModelStatus())
        objective = h.getInfo().objective_function_value
    return statistics.median(runs), objective


def timed_frontier(inst, share: str, points: int) -> dict:
    """One frontier run: its total seconds, the seconds of each phase, its result."""
    marks: list[float] = []
    started = time.perf_counter()
    result = frontier(inst, share, points=points, progress=lambda _line: marks.append(time.perf_counter()))
    total = time.perf_counter() - started
    assert result.status == "optimal" and result.complete
    setup_end, bisection_end = marks[0], marks[1]  # "finding the smallest cap...", "the smallest cap is..."
    return {"total": total, "setup": setup_end - started, "bisection": bisection_end - setup_end,
            "points": started + total - bisection_end, "result": result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", nargs="?", type=Path, default=ROOT / "instances" / "openai-2025.yaml")
    parser.add_argument("--share", nargs="+", default=["stargate@2029-2030", "microsoft@2030"])
    parser.add_argument("--points", type=int, default=11)
    parser.add_argument("--slack", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    inst = planner.load_instance(args.instance)
    print(f"{inst.name}: {args.repeat} repeats (medians), {args.points} points, slack {args.slack}; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")

    # 1. plain solve
    highs_solve(inst)  # warm-up
    plain_runs, plain_highs = [], []
    for _ in range(args.repeat):
        timings: dict = {}
        started = time.perf_counter()
        plan = highs_solve(inst, timings=timings)
        plain_runs.append(time.perf_counter() - started)
        plain_highs.append(timings["solve"])
        assert plan.status == "optimal"
    plain = statistics.median(plain_runs)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # 4a. the instance's LP, alone
        mps = tmp / "instance.mps"
        lp = export_lp(inst, mps)
        bound, objective = highs_alone(mps, args.repeat)
        assert abs(objective - plan.objective_value) <= 1e-7 * max(1.0, abs(objective)), (objective, plan.objective_value)

        # 2. the frontiers
        frontiers = []
        for share in args.share:
            timed_frontier(inst, share, args.points)  # warm-up
            runs = [timed_frontier(inst, share, args.points) for _ in range(args.repeat)]
            result = runs[-1]["result"]
            # 4b. each point's LP, alone
            provider, years = parse_share(share, inst)
            caps = Caps(inst, provider, years)
            point_runs, worst = [], 0.0
            for row in result.rows:
                path = tmp / f"{provider}-{row['point']:03d}.mps"
                export_lp(with_caps(inst, provider, caps.at(row["max_share"])), path)
                seconds, value = highs_alone(path, args.repeat)
                point_runs.append(seconds)
                worst = max(worst, abs(value - row["objective"]) / max(1.0, abs(value)))
            frontiers.append({
                "share": share, "points": len(result.rows), "solves": result.meta["solves"] + 1,  # + the base solve
                "bisection": result.meta["solves"] - len(result.rows), "worst": worst,
                "point_lp": statistics.median(point_runs),
                "total": statistics.median(r["total"] for r in runs),
                "setup_s": statistics.median(r["setup"] for r in runs),
                "bisection_s": statistics.median(r["bisection"] for r in runs),
                "points_s": statistics.median(r["points"] for r in runs),
            })

    # 3. alternatives
    alternatives(inst, args.slack)  # warm-up
    alt_runs = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        alt = alternatives(inst, args.slack)
        alt_runs.append(time.perf_counter() - started)
        assert alt.status == "optimal" and alt.complete
    alt_total = statistics.median(alt_runs)
    alt_solves = alt.meta["solves"] + 1  # + the base solve

    print(f"LP: {lp['columns']:,} columns, {lp['rows']:,} rows, {lp['nonzeros']:,} non-zeros")
    header = f"{'':<44}{'solves':>7}{'total s':>10}{'ms/solve':>10}{'ms/point':>10}{'vs plain':>10}{'vs HiGHS':>10}"
    print(header)
    print("-" * len(header))
    print(f"{'highspy alone, the instance LP (run only)':<44}{1:>7}{bound:>10.4f}{bound * 1e3:>10.2f}{'':>10}"
          f"{bound / plain:>9.2f}x{'1.00x':>10}")
    print(f"{'planner.solve (plain solve)':<44}{1:>7}{plain:>10.4f}{plain * 1e3:>10.2f}{'':>10}{'1.00x':>10}"
          f"{plain / bound:>9.1f}x")
    for f in frontiers:
        per_solve = f["total"] / f["solves"]
        label = f"frontier --share {f['share']}"
        print(f"{label:<44}{f['solves']:>7}{f['total']:>10.4f}{per_solve * 1e3:>10.2f}"
              f"{f['total'] / f['points'] * 1e3:>10.2f}{per_solve / plain:>9.2f}x{per_solve / bound:>9.1f}x")
    label = f"alternatives --slack {args.slack}"
    per_solve = alt_total / alt_solves
    print(f"{label:<44}{alt_solves:>7}{alt_total:>10.4f}{per_solve * 1e3:>10.2f}{'':>10}"
          f"{per_solve / plain:>9.2f}x{per_solve / bound:>9.1f}x")
    print()
    header = (f"{'frontier --share':<22}{'points':>7}{'bisect':>7}{'set-up ms':>11}{'bisect ms':>11}"
              f"{'ms/bisect':>11}{'ms/point':>10}{'HiGHS ms':>10}{'vs HiGHS':>10}")
    print(header)
    print("-" * len(header))
    for f in frontiers:
        per_bisect = f["bisection_s"] / f["bisection"] if f["bisection"] else float("nan")
        per_point = f["points_s"] / f["points"]
        print(f"{f['share']:<22}{f['points']:>7}{f['bisection']:>7}{f['setup_s'] * 1e3:>11.1f}"
              f"{f['bisection_s'] * 1e3:>11.1f}{per_bisect * 1e3:>11.2f}{per_point * 1e3:>10.2f}"
              f"{f['point_lp'] * 1e3:>10.2f}{per_point / f['point_lp']:>9.1f}x")
    for f in frontiers:
        if f["points"] == 1:
            print(f"({f['share']}: the smallest cap with a plan is the optimal plan's own share, so the frontier is "
                  f"one point; its {f['bisection']} bisection solves found that)")
    worst = max(f["worst"] for f in frontiers)
    print(f"(the frontiers' objectives vs HiGHS alone on each point's LP: largest relative difference {worst:.1e})")
    note("First table: seconds in this process, medians of --repeat runs after a warm-up; solves = every LP the "
          "command solved, its base solve (a plain solve) included; ms/solve = total / solves; ms/point = total / "
          "points (everything included); vs plain = ms/solve / planner.solve's seconds; vs HiGHS = ms/solve / "
          "highspy's run() alone on the instance's exported MPS (cold, one thread, reading excluded).")
    note("Second table: the frontier split by its progress lines: set-up = base solve + building the parametric "
          "model; ms/bisect = bisection ms / its solves; ms/point = points phase / points (solve, figures, shadow "
          "price); HiGHS ms = median over the points of highspy's run() alone on that point's capped LP (cold); "
          f"vs HiGHS = ms/point / HiGHS ms. planner.solve's own HiGHS time: {statistics.median(plain_highs) * 1e3:.2f} ms "
          "(threads as the process's pool).")


if __name__ == "__main__":
    main()
