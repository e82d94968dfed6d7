"""Benchmark: the planner from ~10k to ~1M non-zeros, against HiGHS alone on the same LP.

For each size (``--sizes``, default S M L) it generates a valid instance (:func:`generate`:
providers, contracts, workloads, years and scenario cases), writes it as YAML, and
measures, as medians over ``--repeat`` runs, each in a fresh process:

- the planner's steps (``planner.solver.highs.solve(..., timings=...)``): load (read and
  validate), build (the Pyomo model), hand-off (compiling it into HiGHS), solve (HiGHS),
  tables (the result tables and shadow prices, then the summary) and write (the results
  folder);
- end to end: the wall time of ``planner solve FILE --out DIR -q``, interpreter start and
  imports included, and its peak memory (maximum resident set size);
- the lower bound: ``planner export`` writes the same LP as MPS, and highspy reads it and
  solves it alone (the "HiGHS" column is the solve only, reading excluded);
- ratio = end to end / HiGHS.

``--handoff SIZE`` instead compares the ways Pyomo can hand a model to HiGHS, each in its
own process on the same model: Pyomo's persistent ``contrib.solver`` interface (what the
planner used before), ``appsi_highs``, the standard-form compiler
(``pyomo.repn.plugins.standard_form``) passed to highspy as a matrix, and the planner's
``LinearProgram``.

    .venv/bin/python benchmarks/scale.py [--sizes S M L] [--repeat 3]
    .venv/bin/python benchmarks/scale.py --handoff M
    .venv/bin/python benchmarks/scale.py --write DIR [--sizes L]   # only the instance files

The full table takes about five minutes on a 2-core machine, most of it HiGHS on size L.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRST_YEAR = 2025

#: The benchmark's sizes: ~12k, ~130k and ~1M non-zeros. The expected-value objective
#: (no CVaR term) keeps one LP per solve, the one ``planner export`` writes.
SIZES = {
    "S": dict(providers=16, contracts=3, workloads=8, years=12, cases=1),
    "M": dict(providers=24, contracts=4, workloads=12, years=20, cases=2),
    "L": dict(providers=50, contracts=4, workloads=30, years=25, cases=4),
}


# --------------------------------------------------------------------------------------
# Instances
# --------------------------------------------------------------------------------------


def _series(rng: random.Random, years: list[int], low: float, high: float, growth: float = 0.0) -> dict:
    """A per-year mapping (one key per year, 3 decimals), growing by ``growth`` a year."""
    base = rng.uniform(low, high)
    return {y: round(base * (1 + growth) ** i * rng.uniform(0.95, 1.05), 3) for i, y in enumerate(years)}


def generate(
    providers: int = 10,
    contracts: int = 3,
    workloads: int = 5,
    years: int = 10,
    cases: int = 1,
    seed: int = 0,
    objective: str = "cumulative_loss",
    risk_weight: float = 0.0,
) -> dict:
    """A valid, feasible instance document (a dict, as a YAML file reads) of the given
    sizes; ``cases > 1`` adds a ``scenarios`` block (MODEL.md §5).

    Every feature of MODEL.md §1-§2 is in use: capacity limits, existing capacity and its
    cost, take-or-pay minimums, minimum capacity, minimum and maximum shares, gradual
    decline, contracts with terms, upfront payments, signing windows and
    ``max_per_year``, builds with lead times, lifetimes and depreciation, workloads
    restricted to some providers, a credit facility; the cases change demand, revenue and
    a provider's capacity, with two committed years (``risk_weight`` > 0 adds a CVaR term,
    and with it a second stage). Feasible by construction: provider ``p0`` rents any
    amount for every workload every year, cash is ample, and the other providers' limits
    leave room for what they already have. The same arguments give the same document.
    """
    if min(providers, contracts, workloads, years, cases) < 1:
        raise ValueError("every size must be at least 1")
    rng = random.Random(seed)
    ys = list(range(FIRST_YEAR, FIRST_YEAR + years))
    last = ys[-1]
    names_w = [f"w{i}" for i in range(workloads)]

    wls = {}
    for i, w in enumerate(names_w):
        wl = {"demand": _series(rng, ys, 0.5, 5.0, growth=0.15)}
        if i % 3 == 0:
            wl["min_served"] = 1.0  # mandatory work (training-like), no revenue
        else:
            wl["min_served"] = round(rng.uniform(0.0, 0.5), 3)
            wl["revenue"] = _series(rng, ys, 10.0, 20.0, growth=-0.05)
        wls[w] = wl

    provs: dict = {}
    for j in range(providers):
        p = f"p{j}"
        prov: dict = {"efficiency": _series(rng, ys, 0.8, 2.0, growth=0.08)}
        ks: dict = {}
        for k in range(contracts):
            contract: dict = {"term": 1 if k == 0 else rng.randint(1, 5), "price": _series(rng, ys, 10.0, 15.0, growth=-0.02)}
            if k > 0:  # k0 is always available and unlimited
                if rng.random() < 0.3:
                    contract["upfront"] = round(rng.uniform(0.5, 3.0), 3)
                if rng.random() < 0.3 and years > 1:
                    first = rng.randint(FIRST_YEAR, last)
                    contract["available"] = [first, rng.randint(first, last)]
                if rng.random() < 0.3:
                    contract["max_per_year"] = round(rng.uniform(0.5, 3.0), 3)
            ks[f"k{k}"] = contract
        prov["contracts"] = ks
        if j == 0:  # the fallback: every workload, no limits of its own
            provs[p] = prov
            continue
        if rng.random() < 0.5:
            prov["workloads"] = sorted(rng.sample(names_w, max(1, workloads // 2)), key=names_w.index)
        existing = round(rng.uniform(0.0, 1.0), 3)
        if existing > 0.3:
            prov["existing"] = {y: (existing if i < max(1, years // 2) else 0.0) for i, y in enumerate(ys)}
            prov["existing_cost"] = {y: round(v * 13.0, 3) for y, v in prov["existing"].items()}
        role = rng.random()
        if role < 0.6:  # a limited provider, perhaps with a minimum, a decline limit, a cap on its share
            prov["capacity"] = {y: round(existing + c, 3) for y, c in _series(rng, ys, 1.0, 3.0, growth=0.2).items()}
            if rng.random() < 0.3:
                prov["min_capacity"] = round(rng.uniform(0.0, 0.5), 3)
            if rng.random() < 0.3:
                prov["max_decline"] = round(rng.uniform(0.2, 0.6), 3)
            if rng.random() < 0.2:
                prov["max_share"] = round(rng.uniform(0.6, 0.9), 3)
        elif role < 0.7 and j < 6:  # a few unlimited providers with a small minimum share
            prov["min_share"] = round(rng.uniform(0.01, 0.03), 3)
        if rng.random() < 0.3:
            prov["min_spend"] = round(rng.uniform(1.0, 5.0), 3)
        if rng.random() < 0.3:
            build: dict = {
                "capex": round(rng.uniform(30.0, 60.0), 3),
                "opex": round(rng.uniform(0.5, 2.0), 3),
                "lead_time": rng.randint(0, 2),
                "depreciation_years": rng.randint(0, 6),
                "capex_in_loss": rng.random() < 0.8,
            }
            if rng.random() < 0.5:
                build["lifetime"] = rng.randint(3, 8)
            if rng.random() < 0.5:
                build["max_per_year"] = round(rng.uniform(0.2, 2.0), 3)
            prov["build"] = build
        provs[p] = prov

    # Cash: enough to rent every unit of demand at a dear price, every year.
    need = round(sum(max(wl["demand"].values()) for wl in wls.values()) * 40.0, 3)
    doc: dict = {
        "name": f"scale-{providers}p{contracts}k{workloads}w{years}y{cases}c",
        "description": "generated by benchmarks/scale.py",
        "years": [FIRST_YEAR, last],
        "objective": objective,
        "discount_rate": 0.05,
        "workloads": wls,
        "finance": {
            "initial_cash": need,
            "min_cash": round(need * 0.05, 3),
            "funding": need,
            "other_costs": round(need * 0.02, 3),
            "debt": {"limit": round(need * 0.5, 3), "rate": 0.07, "initial": 0.0},
        },
        "providers": provs,
    }
    if cases > 1:
        scen: dict = {}
        limited = [p for p, prov in provs.items() if "capacity" in prov]
        earning = [w for w in names_w if "revenue" in wls[w]]
        for i in range(cases):
            case: dict = {"probability": round(1.0 / cases, 12)}
            if i > 0:
                w = names_w[rng.randrange(workloads)]
                factor = rng.uniform(0.7, 1.4)
                sets = {f"workloads.{w}.demand": {y: round(v * factor, 3) for y, v in wls[w]["demand"].items()}}
                if earning:
                    r = earning[rng.randrange(len(earning))]
                    scale = rng.uniform(0.8, 1.1)
                    sets[f"workloads.{r}.revenue"] = {y: round(v * scale, 3) for y, v in wls[r]["revenue"].items()}
                if limited:
                    p = limited[rng.randrange(len(limited))]
                    existing = provs[p].get("existing", {})
                    sets[f"providers.{p}.capacity"] = {
                        y: round(max(v * 0.8, existing.get(y, 0.0)), 3) for y, v in provs[p]["capacity"].items()
                    }
                case["set"] = sets
            scen[f"c{i}"] = case
        scen[f"c{cases - 1}"]["probability"] = round(1.0 - (cases - 1) * round(1.0 / cases, 12), 12)
        doc["scenarios"] = {"commit_years": min(2, years), "risk": {"alpha": 0.8, "weight": risk_weight}, "cases": scen}
    return doc


def write_instance(size: str, folder: Path) -> Path:
    import yaml

    path = folder / f"scale-{size}.yaml"
    path.write_text(yaml.safe_dump(generate(**SIZES[size]), sort_keys=False), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------
# Measuring (each in a fresh process)
# --------------------------------------------------------------------------------------


def _run(args: list[str]) -> tuple[float, str]:
    """Run a command; return its wall seconds and stdout (raise if it fails)."""
    started = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return seconds, proc.stdout


def _timed_child(args: list[str]) -> tuple[float, float]:
    """The wall seconds and peak resident memory (MB) of the command ``args``, measured by
    this script's ``--peak`` wrapper around it alone."""
    out = _run([sys.executable, __file__, "--peak", *args])[1]
    fields = dict(line.split(" ", 1) for line in out.splitlines() if line.startswith(("PEAK_MB ", "WALL_S ")))
    return float(fields["WALL_S"]), float(fields["PEAK_MB"])


def peak_wrapper(args: list[str]) -> None:
    """``--peak CMD...``: run CMD (its output discarded); print its wall time and peak memory."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    print(f"WALL_S {seconds:.6f}\nPEAK_MB {usage.ru_maxrss / 1024:.1f}", flush=True)
    sys.exit(os.waitstatus_to_exitcode(status))


def stages_worker(path: str, out: str) -> None:
    """``--stages FILE OUT``: the planner's steps, timed; prints one JSON line."""
    started = time.perf_counter()
    from planner.instance.loading import load_instance
    from planner.solver.highs import solve

    timings: dict = {"imports": time.perf_counter() - started}
    t = time.perf_counter()
    inst = load_instance(path)
    timings["load"] = time.perf_counter() - t
    plan = solve(inst, timings=timings)
    assert plan.status == "optimal", plan.status
    t = time.perf_counter()
    plan.write(out)
    timings["write"] = time.perf_counter() - t
    print(json.dumps({**timings, "objective": plan.objective_value}))


def highs_worker(mps: str) -> None:
    """``--highs FILE``: highspy alone reads and solves the MPS file; prints one JSON line."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    t = time.perf_counter()
    h.readModel(mps)
    read = time.perf_counter() - t
    t = time.perf_counter()
    h.run()
    run = time.perf_counter() - t
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal, h.getModelStatus()
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the whole process, reading included
    print(json.dumps({"read": read, "solve": run, "peak_mb": peak, "objective": h.getInfo().objective_function_value,
                      "columns": h.getNumCol(), "rows": h.getNumRow(), "nonzeros": h.getNumNz()}))


def _json(out: str) -> dict:
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def planner_command() -> list[str]:
    script = Path(sys.executable).with_name("planner")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from planner.cli import main; main()"]


def measure(size: str, folder: Path, repeat: int) -> dict:
    path = write_instance(size, folder)
    mps = folder / f"scale-{size}.mps"
    export_seconds, _ = _run([*planner_command(), "export", str(path), "--out", str(mps)])
    runs: dict[str, list[float]] = {}
    for i in range(repeat):
        steps = _json(_run([sys.executable, __file__, "--stages", str(path), str(folder / f"stages-{i}")])[1])
        e2e, peak = _timed_child([*planner_command(), "solve", str(path), "--out", str(folder / f"e2e-{i}"), "-q"])
        highs = _json(_run([sys.executable, __file__, "--highs", str(mps)])[1])
        for key, value in {**{k: v for k, v in steps.items() if k != "objective"}, "end_to_end": e2e, "peak_mb": peak,
                           "highs_read": highs["read"], "highs_solve": highs["solve"],
                           "highs_peak_mb": highs["peak_mb"]}.items():
            runs.setdefault(key, []).append(value)
        if abs(steps["objective"] - highs["objective"]) > 1e-6 * max(1.0, abs(highs["objective"])):
            raise RuntimeError(f"{size}: the planner's objective {steps['objective']} differs from HiGHS's {highs['objective']}")
    median = {key: statistics.median(values) for key, values in runs.items()}
    median.update(size=size, columns=highs["columns"], rows=highs["rows"], nonzeros=highs["nonzeros"],
                  export=export_seconds, ratio=median["end_to_end"] / median["highs_solve"])
    median["tables"] = median["tables"] + median["summary"]
    # the planner's own steps, imports (and HiGHS) excluded
    median["own"] = sum(median[key] for key in ("load", "build", "handoff", "tables", "write"))
    median["memory_ratio"] = median["peak_mb"] / median["highs_peak_mb"]
    return median


def print_table(rows: list[dict]) -> None:
    header = (f"{'size':<5}{'columns':>9}{'rows':>8}{'non-zeros':>11}{'load':>7}{'build':>7}{'hand-off':>9}"
              f"{'solve':>8}{'tables':>8}{'write':>7}{'own':>7}{'end to end':>11}{'HiGHS':>8}{'ratio':>7}"
              f"{'peak MB':>9}{'HiGHS MB':>9}{'ratio':>7}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['size']:<5}{r['columns']:>9,}{r['rows']:>8,}{r['nonzeros']:>11,}{r['load']:>7.2f}{r['build']:>7.2f}"
              f"{r['handoff']:>9.2f}{r['solve']:>8.2f}{r['tables']:>8.2f}{r['write']:>7.2f}{r['own']:>7.2f}"
              f"{r['end_to_end']:>11.2f}{r['highs_solve']:>8.2f}{r['ratio']:>6.2f}x"
              f"{r['peak_mb']:>9.0f}{r['highs_peak_mb']:>9.0f}{r['memory_ratio']:>6.2f}x")
    print("seconds, medians; tables = result tables, shadow prices and summary; own = load + build + hand-off +")
    print("tables + write (the planner's own steps, imports excluded); end to end = `planner solve -q`, interpreter")
    print("and imports included; HiGHS = highspy solving the exported MPS alone; ratio = end to end / HiGHS;")
    print("peak MB = end to end's maximum resident set; HiGHS MB = highspy's whole process (reading included).")
    per_nnz = ", ".join(f"{r['size']} {1e6 * r['build'] / r['nonzeros']:.2f}" for r in rows)
    print(f"build time per non-zero (µs): {per_nnz}")


# --------------------------------------------------------------------------------------
# Hand-off comparison
# --------------------------------------------------------------------------------------

HANDOFFS = ("persistent", "appsi", "standard_form", "planner")


def handoff_worker(path: str, method: str) -> None:
    """``--handoff-worker FILE METHOD``: build the model, hand it to HiGHS by METHOD, solve."""
    from planner.instance.loading import load_instance
    from planner.model.lp import build_model

    model = build_model(load_instance(path))
    extra: dict = {}
    if method == "persistent":
        from pyomo.contrib.solver.solvers.highs import Highs

        solver = Highs()
        t = time.perf_counter()
        solver.set_instance(model)
        handoff = time.perf_counter() - t
        t = time.perf_counter()
        result = solver.solve(model, load_solutions=False)
        result.solution_loader.load_vars()
        duals = result.solution_loader.get_duals()
        solve = time.perf_counter() - t
        objective = result.incumbent_objective
    elif method == "appsi":
        from pyomo.contrib.appsi.solvers.highs import Highs

        solver = Highs()
        t = time.perf_counter()
        solver.set_instance(model)
        handoff = time.perf_counter() - t
        t = time.perf_counter()
        result = solver.solve(model)
        result.solution_loader.load_vars()
        duals = result.solution_loader.get_duals()
        solve = time.perf_counter() - t
        objective = result.best_feasible_objective
    elif method == "standard_form":
        import numpy as np
        import highspy

        t = time.perf_counter()
        import scipy.sparse  # noqa: F401  (the compiler's own dependency)
        from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

        extra["scipy_import"] = time.perf_counter() - t
        t = time.perf_counter()
        info = LinearStandardFormCompiler().write(model, mixed_form=True)
        a = info.A.tocsc()
        kind = np.array([sign for _, sign in info.rows])
        rhs = np.asarray(info.rhs, dtype=float)
        lower = np.where(kind <= 0, rhs, -highspy.kHighsInf)  # 0: equality, -1: lower bound, 1: upper bound
        upper = np.where(kind >= 0, rhs, highspy.kHighsInf)
        bounds = np.array([v.bounds for v in info.columns], dtype=float)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        n = len(info.columns)
        h.passModel(n, a.shape[0], a.nnz, 1, 1, float(info.c_offset[0]), info.c.toarray().ravel(),
                    np.nan_to_num(bounds[:, 0], nan=-highspy.kHighsInf), np.nan_to_num(bounds[:, 1], nan=highspy.kHighsInf),
                    lower, upper, a.indptr.astype(np.int32), a.indices.astype(np.int32), a.data, np.zeros(n, dtype=np.int32))
        handoff = time.perf_counter() - t
        t = time.perf_counter()
        h.run()
        values = h.getSolution().col_value
        for var, x in zip(info.columns, values):
            var.set_value(x, skip_validation=True)
        duals = dict(zip((con for con, _ in info.rows), h.getSolution().row_dual))
        solve = time.perf_counter() - t
        objective = h.getInfo().objective_function_value
    else:
        from planner.solver.highs import LinearProgram

        t = time.perf_counter()
        lp = LinearProgram(model)
        handoff = time.perf_counter() - t
        t = time.perf_counter()
        _, objective = lp.solve()
        duals = lp.duals()
        solve = time.perf_counter() - t
    print(json.dumps({"handoff": handoff, "solve": solve, "objective": objective, "duals": len(duals), **extra}))


def compare_handoffs(size: str, folder: Path, repeat: int) -> None:
    path = write_instance(size, folder)
    print(f"size {size} ({', '.join(f'{k} {v}' for k, v in SIZES[size].items())}); seconds, medians of {repeat}")
    print(f"{'hand-off':<16}{'hand-off s':>12}{'solve s':>10}{'objective':>16}{'duals':>8}")
    for method in HANDOFFS:
        results = [_json(_run([sys.executable, __file__, "--handoff-worker", str(path), method])[1]) for _ in range(repeat)]
        handoff = statistics.median(r["handoff"] for r in results)
        solve = statistics.median(r["solve"] for r in results)
        note = f"  (+ {statistics.median(r['scipy_import'] for r in results):.2f} s to import SciPy)" if method == "standard_form" else ""
        print(f"{method:<16}{handoff:>12.2f}{solve:>10.2f}{results[0]['objective']:>16.6f}{results[0]['duals']:>8}{note}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--peak":
        peak_wrapper(sys.argv[2:])
    if len(sys.argv) > 1 and sys.argv[1] == "--stages":
        return stages_worker(sys.argv[2], sys.argv[3])
    if len(sys.argv) > 1 and sys.argv[1] == "--highs":
        return highs_worker(sys.argv[2])
    if len(sys.argv) > 1 and sys.argv[1] == "--handoff-worker":
        return handoff_worker(sys.argv[2], sys.argv[3])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--handoff", choices=list(SIZES), help="compare Pyomo's hand-offs to HiGHS at this size")
    parser.add_argument("--write", type=Path, help="only write the instance files into this folder")
    args = parser.parse_args()
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
        for size in args.sizes:
            print(write_instance(size, args.write))
        return
    with tempfile.TemporaryDirectory() as tmp:
        if args.handoff:
            compare_handoffs(args.handoff, Path(tmp), args.repeat)
            return
        rows = []
        for size in args.sizes:
            rows.append(measure(size, Path(tmp), args.repeat))
        print_table(rows)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
