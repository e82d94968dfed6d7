"""Benchmark: how fast the `planner` command starts, against Python and its imports.

Wall time (medians of --repeat runs, each a fresh process) of:

- ``python -c pass`` (the interpreter alone);
- ``planner --help``, ``planner validate``, ``planner schema`` against importing what they
  need (typer, pydantic, PyYAML);
- ``planner solve instances/openai-2025.yaml -q`` against importing the solve's
  dependencies (Pyomo's ``pyomo.environ``, highspy, pandas, typer, pydantic, PyYAML).

The goals: --help and validate within 0.3 s; solve within 1.5x its dependencies' import.
Which modules a command loads: ``.venv/bin/python -X importtime .venv/bin/planner --help
2>&1 | sort -t'|' -k2 -n | tail``.

    .venv/bin/python benchmarks/cli.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTANCE = ROOT / "instances" / "openai-2025.yaml"

SOLVE_DEPENDENCIES = "import pyomo.environ, highspy, pandas, typer, pydantic, yaml"
LIGHT_DEPENDENCIES = "import typer, pydantic, yaml"


def planner_command() -> list[str]:
    script = Path(sys.executable).with_name("planner")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from planner.cli import main; main()"]


def wall(args: list[str], repeat: int) -> float:
    """Median wall seconds of ``args`` (after one warm-up run that fills the file cache)."""
    times = []
    for i in range(repeat + 1):
        started = time.perf_counter()
        proc = subprocess.run(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
        if i:
            times.append(elapsed)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    planner = planner_command()
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        rows = [
            ("python -c pass", wall([python, "-c", "pass"], args.repeat), None),
            (f"python -c '{LIGHT_DEPENDENCIES}'", wall([python, "-c", LIGHT_DEPENDENCIES], args.repeat), None),
            (f"python -c '{SOLVE_DEPENDENCIES}'", wall([python, "-c", SOLVE_DEPENDENCIES], args.repeat), None),
        ]
        light, heavy = rows[1][1], rows[2][1]
        rows += [
            ("planner --help", wall([*planner, "--help"], args.repeat), light),
            ("planner validate openai-2025", wall([*planner, "validate", str(INSTANCE)], args.repeat), light),
            ("planner schema", wall([*planner, "schema"], args.repeat), light),
            ("planner solve openai-2025 -q",
             wall([*planner, "solve", str(INSTANCE), "--out", str(Path(tmp) / "out"), "-q"], args.repeat), heavy),
        ]
    width = max(len(name) for name, _, _ in rows) + 2
    print(f"{'command':<{width}}{'seconds':>9}{'x imports':>11}")
    print("-" * (width + 20))
    for name, seconds, base in rows:
        ratio = f"{seconds / base:>10.2f}x" if base else ""
        print(f"{name:<{width}}{seconds:>9.3f}{ratio}")
    print(f"medians of {args.repeat} runs; x imports = against importing what the command needs "
          "(typer, pydantic, yaml; for solve also pyomo.environ, highspy, pandas)")


if __name__ == "__main__":
    main()
