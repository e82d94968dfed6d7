"""The exported MPS and LP files are read the same way by every common solver (issue 14,
item 15): GLPK (``glpsol --freemps`` / ``glpsol --lp``) and CBC give the planner's
optimum, and highspy still reads them back to it.

GLPK and CBC come from Debian (``glpk-utils``, ``coinor-cbc``): installed with apt-get
when missing and possible, else the test skips saying why.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import highspy
import pytest

import planner
import planner.model.lp
import planner.solver.highs
from planner.solver.export import CONSTANT_COLUMN, export_lp

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "instances").glob("*.yaml"))
OBJECTIVES = ("cumulative_loss", "peak_cumulative_loss")


def _tools() -> str | None:
    """Why GLPK and CBC are not available (None: they are)."""
    if shutil.which("glpsol") and shutil.which("cbc"):
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "glpsol/cbc missing and apt-get cannot be run here (not root or no apt-get)"
    try:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, timeout=300, check=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "glpk-utils", "coinor-cbc"], capture_output=True,
                       timeout=600, check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    except (subprocess.SubprocessError, OSError) as err:
        return f"glpsol/cbc missing and apt-get install glpk-utils coinor-cbc failed: {err}"
    if shutil.which("glpsol") and shutil.which("cbc"):
        return None
    return "apt-get installed glpk-utils and coinor-cbc but glpsol/cbc are not on PATH"


@pytest.fixture(scope="module")
def solvers():
    reason = _tools()
    if reason:
        pytest.skip(reason)


def _glpk(path: Path, fmt: str, tmp: Path) -> float:
    report = tmp / f"{path.name}.glpk.txt"
    flag = "--freemps" if fmt == "mps" else "--lp"
    done = subprocess.run(["glpsol", flag, str(path), "-o", str(report)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    text = report.read_text()
    assert "OPTIMAL" in text, text[:500]
    return float(re.search(r"Objective:\s+\S+\s+=\s+(\S+)", text).group(1))


def _cbc(path: Path) -> float:
    done = subprocess.run(["cbc", str(path), "solve"], capture_output=True, text=True, timeout=120)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "does not appear" not in out, out  # an empty section read as a variable
    match = re.search(r"Optimal - objective value\s+(\S+)", out)
    assert match, out
    return float(match.group(1))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_glpk_and_cbc_give_the_planners_optimum(solvers, tmp_path, path):
    inst = planner.load_instance(path)
    for objective in OBJECTIVES:
        plan = planner.solve(inst, objective=objective)
        assert plan.status == "optimal"
        # the first stage of peak_cumulative_loss is what the file holds (module doc of export)
        expected = plan.objective_value if objective == "cumulative_loss" else None
        values = {}
        for fmt in ("mps", "lp"):
            written = export_lp(inst, tmp_path / f"{path.stem}-{objective}.{fmt}", objective=objective)
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
            assert h.readModel(str(written["path"])) == highspy.HighsStatus.kOk
            h.run()
            values[f"highs-{fmt}"] = h.getInfo().objective_function_value
            values[f"glpk-{fmt}"] = _glpk(written["path"], fmt, tmp_path)
            values[f"cbc-{fmt}"] = _cbc(written["path"])
        reference = expected if expected is not None else values["highs-mps"]
        for name, value in values.items():
            # CBC prints 8 significant digits
            assert value == pytest.approx(reference, rel=1e-6, abs=1e-6), (objective, name, values)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_the_files_have_no_constant_no_empty_row_no_empty_section(tmp_path, path):
    inst = planner.load_instance(path)
    for objective in OBJECTIVES:
        lp_file = export_lp(inst, tmp_path / "x.lp", objective=objective)["path"]
        mps_file = export_lp(inst, tmp_path / "x.mps", objective=objective)["path"]
        lines = lp_file.read_text().splitlines()
        headers = [line for line in lines if line and not line[0].isspace() and not line.startswith("\\")]
        for header, following in zip(headers, headers[1:]):
            assert not (header in ("bounds", "bin", "gen", "semi") and lines[lines.index(header) + 1] == following)
        assert lines[-1] == "end" and "bin" not in headers and "gen" not in headers
        assert not any(re.search(r":\s*(<=|>=|=)", line) for line in lines), "an empty row"
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.passModel(planner.solver.highs.LinearProgram(planner.model.lp.build_model(inst, objective)).highs.getLp())
        if h.getLp().offset_ != 0:
            assert f" {CONSTANT_COLUMN} = 1" in lines
        mps = mps_file.read_text()
        assert not re.search(r"^\s+RHS\S*\s+Obj\s", mps, re.M), "the objective constant as the RHS of the objective"
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.readModel(str(mps_file))
        assert h.getLp().offset_ == 0


@pytest.mark.parametrize("kind", ["fifo", "symlink", "device"])
def test_export_refuses_a_target_that_is_not_a_regular_file(tmp_path, kind, request):
    """Issue 14, item 9: `--out /dev/full` turned the device into a file (as root)."""
    from typer.testing import CliRunner

    from planner.cli import app

    if kind == "fifo":
        target = tmp_path / "pipe.mps"
        os.mkfifo(target)
    elif kind == "symlink":
        real = tmp_path / "real.mps"
        real.write_text("keep\n")
        target = tmp_path / "link.mps"
        target.symlink_to(real)
    else:
        target = request.getfixturevalue("char_device")
    before = os.lstat(target)
    result = CliRunner().invoke(app, ["export", str(ROOT / "instances" / "toy.yaml"), "--out", str(target)])
    assert result.exit_code == 2, result.output
    assert "not a regular file" in result.stderr and "Traceback" not in result.output
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    if kind == "symlink":
        assert (tmp_path / "real.mps").read_text() == "keep\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({target.name, "real.mps"} & {
        p.name for p in tmp_path.iterdir()})
