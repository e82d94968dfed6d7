"""``sweep.png``: the chart of a sweep folder (planner.sweep.chart).

Real sweep folders are made with :func:`planner.sweep.run.run_sweep` on the small instance of
``conftest.py`` (a few dozen variants, well under a second each); the edge cases that a
real sweep rarely gives (NaN cells, Sobol' indices outside [0, 1]) are written by hand.
Every PNG must decode at 1200×675 and have something drawn in both halves.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from planner.report.style import PNG_SIZE
from planner.sweep.run import run_sweep
from planner.sweep.chart import SWEEP_PNG, SweepChartError, spearman, write_sweep_chart

from .conftest import BASE, write_yaml

QUIET = dict(progress=False, echo=lambda _msg: None)


@pytest.fixture
def small(tmp_path):
    return write_yaml(tmp_path, BASE, "small.yaml")


def statuses(folder: Path) -> list[str]:
    with (folder / "sweep.csv").open(newline="") as handle:
        return [row["status"] for row in csv.DictReader(handle)]


def assert_good_chart(folder: Path) -> None:
    """sweep.png decodes at PNG_SIZE, has many colours, and both halves hold a drawing."""
    import matplotlib.image
    import numpy as np

    path = write_sweep_chart(folder)
    assert path == folder / SWEEP_PNG and path.is_file()
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]  # no temporary file left
    image = matplotlib.image.imread(path)
    assert image.shape[:2] == (PNG_SIZE[1], PNG_SIZE[0]), image.shape
    rgb = np.round(image[..., :3] * 255).astype(np.uint32)
    colours = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    assert len(np.unique(colours)) > 20
    middle = PNG_SIZE[0] // 2
    for half in (colours[:, :middle], colours[:, middle:]):
        drawn = half != 0xFFFFFF
        assert drawn.mean() > 0.01, "a half of the chart is blank"
        assert len(np.unique(half)) > 10


# ---------------------------------------------------------------------------------------
# Real sweeps
# ---------------------------------------------------------------------------------------


def test_grid_sweep(small, tmp_path):
    out = tmp_path / "grid"
    run_sweep(small, ["workloads.inference.revenue=x0.5,x1,x1.5"], out=out, **QUIET)
    assert statuses(out) == ["optimal"] * 3
    assert_good_chart(out)


def test_monte_carlo_sweep_with_infeasible_variants(small, tmp_path):
    out = tmp_path / "mc"
    run_sweep(small, ["workloads.inference.revenue~uniform(0.6,1.4)", "providers.microsoft.capacity~uniform(0.02,0.3)"],
              samples=20, out=out, **QUIET)
    assert {"optimal", "infeasible"} <= set(statuses(out))  # below 1 GW in 2025 training is unserved
    assert_good_chart(out)


def test_sobol_sweep_draws_the_indices(small, tmp_path):
    out = tmp_path / "sobol"
    run_sweep(small, ["finance.initial_cash~uniform(0.5,1.5)", "workloads.inference.revenue~uniform(0.8,1.2)"],
              sobol=8, out=out, **QUIET)
    assert (out / "sensitivity.csv").is_file()
    assert_good_chart(out)


def test_every_variant_infeasible(small, tmp_path):
    out = tmp_path / "none"
    run_sweep(small, ["workloads.training.demand=50,60"], out=out, **QUIET)
    assert set(statuses(out)) == {"infeasible"}
    assert_good_chart(out)


def test_redrawing_replaces_the_chart(small, tmp_path):
    out = tmp_path / "again"
    run_sweep(small, ["workloads.training.demand=1,50"], out=out, **QUIET)  # one optimal, one infeasible
    first = write_sweep_chart(out).read_bytes()
    assert write_sweep_chart(out).read_bytes() == first
    assert_good_chart(out)


# ---------------------------------------------------------------------------------------
# Edge cases, by hand
# ---------------------------------------------------------------------------------------

HEADER = "variant,variant_id,a.b,c.d[x],e[+y],status,objective,message\n"


def write_folder(folder: Path, rows: str, sensitivity: str | None = None, summary: dict | None = None) -> Path:
    folder.mkdir()
    (folder / "sweep.csv").write_text(HEADER + rows, encoding="utf-8")
    if sensitivity is not None:
        (folder / "sensitivity.csv").write_text(
            "output,rank,path,distribution,first_order,first_order_low,first_order_high,total,total_low,total_high\n"
            + sensitivity, encoding="utf-8")
    if summary is not None:
        (folder / "sweep.json").write_text(json.dumps(summary), encoding="utf-8")
    return folder


@pytest.mark.parametrize("rows", [
    # one optimal variant; an input with a single value; NaN and empty cells; other statuses
    "0,i0,1,0.5,0,optimal,5.0,\n1,i1,1,,1,optimal,,\n2,i2,1,nan,2,time_limit,,\n3,i3,1,0.9,,error,,boom\n"
    "4,i4,1,1.1,4,invalid,,bad\n",
    # every objective equal
    "0,i0,1,0.5,0,optimal,-3,\n1,i1,2,0.6,1,optimal,-3,\n2,i2,3,0.7,2,optimal,-3,\n",
    # a huge objective with a tiny spread
    "0,i0,1,0.5,0,optimal,1e12,\n1,i1,2,0.6,1,optimal,1.0000000000001e12,\n",
    # no variants at all (a sweep interrupted before its first row)
    "",
])
def test_edge_cases_still_draw(tmp_path, rows):
    folder = write_folder(tmp_path / "edge", rows, summary={"mode": "grid", "units": {"money": "$bn"}})
    path = write_sweep_chart(folder)
    import matplotlib.image

    assert matplotlib.image.imread(path).shape[:2] == (PNG_SIZE[1], PNG_SIZE[0])


def test_sobol_indices_outside_zero_one_and_nan(tmp_path):
    rows = "".join(f"{i},i{i},{i},{i / 10},{i % 3},optimal,{i * i},\n" for i in range(8))
    sensitivity = ("objective,1,c.d,\"uniform(1,2)\",1.05,0.9,1.3,1.1,0.95,1.4\n"
                   "objective,2,a.b,\"uniform(1,2)\",-0.02,-0.1,0.05,-0.01,-0.08,0.04\n"
                   "objective,3,e,\"normal(1,2)\",nan,nan,nan,,,\n"
                   "cumulative_loss,1,c.d,\"uniform(1,2)\",1,1,1,1,1,1\n")
    folder = write_folder(tmp_path / "sobol", rows, sensitivity, summary={"mode": "sobol"})
    assert_good_chart(folder)


def test_many_inputs_show_the_four_most_correlated(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    inputs = [f"p{i}" for i in range(6)]
    lines = [",".join(["variant", "variant_id", *inputs, "status", "objective", "message"])]
    for v in range(12):
        values = [v, -v, v % 2, v % 3, 5, (v * 7) % 12]
        lines.append(",".join(map(str, [v, f"i{v}", *values, "optimal" if v % 4 else "infeasible",
                                        v * 2.0 if v % 4 else "", ""])))
    (folder / "sweep.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert_good_chart(folder)


def test_spearman():
    import numpy as np

    x = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
    assert spearman(x, np.array([10.0, 20.0, 25.0, 100.0, 1.0])) == pytest.approx(1.0)
    assert spearman(x, np.array([4.0, 3.0, 2.0, 1.0, 0.0])) == pytest.approx(-1.0)
    assert np.isnan(spearman(np.ones(5), np.arange(5.0)))  # an input with a single value
    assert np.isnan(spearman(np.arange(2.0), np.arange(2.0)))  # too few points


# ---------------------------------------------------------------------------------------
# Refusals and import cost
# ---------------------------------------------------------------------------------------


def test_missing_sweep_csv_is_a_clear_error(tmp_path):
    with pytest.raises(SweepChartError, match=r"sweep\.csv is missing"):
        write_sweep_chart(tmp_path)
    with pytest.raises(SweepChartError, match=r"sweep\.csv is missing"):
        write_sweep_chart(tmp_path / "no-such-folder")
    assert not (tmp_path / SWEEP_PNG).exists()


@pytest.mark.parametrize("name, text, message", [
    ("sweep.csv", "a,b,c\n1,2,3\n", "has no variant_id, status, objective column"),
    ("sweep.csv", "", "is empty"),
    ("sweep.json", "{not json", "cannot read"),
])
def test_malformed_files_are_clear_errors(tmp_path, name, text, message):
    folder = write_folder(tmp_path / "bad", "0,i0,1,1,0,optimal,1,\n")
    (folder / name).write_text(text, encoding="utf-8")
    with pytest.raises(SweepChartError, match=message) as caught:
        write_sweep_chart(folder)
    assert name in str(caught.value)


def test_importing_the_module_does_not_import_matplotlib():
    code = ("import sys, planner.sweep.chart; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'numpy'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
