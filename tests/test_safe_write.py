"""The one safe write (planner.results.safe_write) and every writer that uses it.

Faults are made to happen, not mocked: each writer runs in a subprocess whose file-size
limit (``RLIMIT_FSIZE``) is smaller than the file, with SIGXFSZ ignored, so the write
fails with EFBIG as on a full disk. Then the earlier file must be intact, no staging file
left beside it, and the process must say so and fail; a new file gets the mode a plain
``open()`` would (the umask's, e.g. 022 -> 0644; mkstemp alone makes 0600).
"""

from __future__ import annotations

import os
import resource
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import planner
from planner.results import safe_write
from planner.results.folder import write_text_file

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "instances" / "toy.yaml"
LIMIT = 8192  # bytes: smaller than every file written below


def limited(code: str, limit: int | None = LIMIT, umask: int = 0o022) -> subprocess.CompletedProcess:
    """Run ``code`` (Python, or a ``planner`` argument list) in a subprocess with a
    file-size limit of ``limit`` bytes (None: no limit), SIGXFSZ ignored and ``umask``."""

    def setup():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        os.umask(umask)

    args = [sys.executable, "-c", code] if isinstance(code, str) else [str(Path(sys.executable).parent / "planner"), *code]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg"}
    return subprocess.run(args, preexec_fn=setup, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)


def staging_left(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --------------------------------------------------------------------------------------
# The helper itself
# --------------------------------------------------------------------------------------


def test_a_new_file_follows_the_umask(tmp_path):
    for umask, want in ((0o022, 0o644), (0o027, 0o640)):
        target = tmp_path / f"new-{umask:o}.txt"
        done = limited(f"from planner.results import safe_write; safe_write.write_text({str(target)!r}, 'hello')",
                       limit=None, umask=umask)
        assert done.returncode == 0, done.stderr
        assert target.read_text() == "hello" and mode(target) == want
    assert staging_left(tmp_path) == []


def test_a_write_error_keeps_the_earlier_file(tmp_path):
    target = tmp_path / "file.bin"
    target.write_bytes(b"earlier")
    code = (f"from planner.results import safe_write\n"
            f"try:\n    safe_write.write_bytes({str(target)!r}, b'x' * {4 * LIMIT})\n"
            "except OSError as err:\n    print(err.errno)\n")
    done = limited(code)
    assert done.returncode == 0 and done.stdout.strip() == str(__import__("errno").EFBIG), done.stderr
    assert target.read_bytes() == b"earlier" and staging_left(tmp_path) == []


def test_ctrl_c_while_writing_removes_the_staging_file(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("earlier")

    def interrupted(handle):
        handle.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        safe_write.write_with(target, interrupted)
    assert target.read_text() == "earlier" and staging_left(tmp_path) == []


# --------------------------------------------------------------------------------------
# Each writer
# --------------------------------------------------------------------------------------


def test_value_json(tmp_path):
    target = tmp_path / "value.json"
    write_text_file(target, '{"evpi": 1}\n')
    assert mode(target) == 0o666 & ~safe_write.umask()
    code = (f"from planner.results.folder import ResultsError, write_text_file\n"
            f"try:\n    write_text_file({str(target)!r}, 'x' * {4 * LIMIT})\n"
            "except ResultsError as err:\n    print(err)\n")
    done = limited(code)
    assert "the earlier file is intact" in done.stdout, done.stderr
    assert target.read_text() == '{"evpi": 1}\n' and staging_left(tmp_path) == []
    target.unlink()
    assert limited(f"from planner.results.folder import write_text_file; write_text_file({str(target)!r}, '{{}}')",
                   limit=None).returncode == 0
    assert mode(target) == 0o644


@pytest.fixture(scope="module")
def toy_results(tmp_path_factory):
    from planner.report.html import write_report

    out = planner.solve(planner.load_instance(TOY)).write(tmp_path_factory.mktemp("toy") / "toy")
    write_report(out)
    return out


def test_the_report(toy_results):
    earlier = {p.name: p.read_bytes() for p in toy_results.iterdir() if p.name.startswith("report")}
    assert "report.html" in earlier and len(earlier) >= 5
    assert all(mode(toy_results / name) == 0o666 & ~safe_write.umask() for name in earlier)
    code = (f"from planner.report.html import ReportError, write_report\n"
            f"try:\n    write_report({str(toy_results)!r})\n"
            "except ReportError as err:\n    print(err)\n")
    done = limited(code)
    assert "cannot write" in done.stdout and "File too large" in done.stdout, done.stdout + done.stderr
    assert {p.name: p.read_bytes() for p in toy_results.iterdir() if p.name.startswith("report")} == earlier
    assert staging_left(toy_results) == []


def test_the_report_through_the_cli_fails(toy_results):
    done = limited(["report", str(toy_results)])
    assert done.returncode != 0 and "cannot write" in done.stderr
    assert staging_left(toy_results) == []


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory):
    from planner.sweep.run import run_sweep

    out = tmp_path_factory.mktemp("sweep") / "sweep"
    result = run_sweep(TOY, ["workloads.inference.revenue=x0.5,x1,x1.5"], out=out, progress=False, echo=lambda _: None)
    assert result.code == 0 and (out / "sweep.png").is_file()
    return out


def test_the_sweep_files(sweep_folder):
    names = ("sweep.csv", "sweep.json", "sweep.png")
    earlier = {name: (sweep_folder / name).read_bytes() for name in names}
    assert all(mode(sweep_folder / name) == 0o666 & ~safe_write.umask() for name in names)
    big = "x" * (4 * LIMIT)
    code = f"""
import json
from pathlib import Path
from planner.sweep import run
from planner.sweep.chart import SweepChartError, write_sweep_chart
folder = Path({str(sweep_folder)!r})
failed = []
for name, write in (
    ("sweep.json", lambda: run._write_json(folder / "sweep.json", {{"big": {big!r}}})),
    ("sensitivity.csv", lambda: run._write_sensitivity(folder / "sensitivity.csv", [{{"output": {big!r}}}])),
    ("sweep.png", lambda: write_sweep_chart(folder)),
):
    try:
        write()
    except (OSError, SweepChartError):
        failed.append(name)
print(",".join(failed))
"""
    done = limited(code, limit=2048)
    assert done.stdout.strip() == "sweep.json,sensitivity.csv,sweep.png", done.stdout + done.stderr
    assert {name: (sweep_folder / name).read_bytes() for name in names} == earlier
    assert not (sweep_folder / "sensitivity.csv").exists()
    assert staging_left(sweep_folder) == []


def test_finishing_sweep_csv(sweep_folder):
    earlier = (sweep_folder / "sweep.csv").read_bytes()
    assert len(earlier) > 256
    code = f"""
import csv
from pathlib import Path
from planner.sweep import run
path = Path({str(sweep_folder)!r}) / "sweep.csv"
data, inst = run.load_data(Path({str(TOY)!r}))
design = run.make_design(inst, data, [run.parse_vary("workloads.inference.revenue=x0.5,x1,x1.5")])
columns = next(csv.reader(path.open()))
try:
    run._finish_csv(path, columns, design)
except OSError as err:
    print("failed", err.errno)
"""
    done = limited(code, limit=256)
    assert done.stdout.startswith("failed"), done.stdout + done.stderr
    assert (sweep_folder / "sweep.csv").read_bytes() == earlier and staging_left(sweep_folder) == []


@pytest.mark.parametrize("fmt", ["mps", "lp"])
def test_export(tmp_path, fmt):
    target = tmp_path / f"model.{fmt}"
    done = limited(["export", str(TOY), "--format", fmt, "--out", str(target)], limit=None)
    assert done.returncode == 0, done.stderr
    earlier = target.read_bytes()
    assert mode(target) == 0o644
    target.write_bytes(b"earlier")
    openai = ROOT / "instances" / "openai-2025.yaml"
    done = limited(["export", str(openai), "--format", fmt, "--out", str(target)], limit=16 * 1024)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().count("\n") == 0 and "cannot write" in done.stderr
    assert target.read_bytes() == b"earlier" and staging_left(tmp_path) == []
    assert earlier.rstrip().endswith(b"ENDATA" if fmt == "mps" else b"end")
