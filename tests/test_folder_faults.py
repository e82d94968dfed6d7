"""Faults of results folders made to happen (issue 14): two real processes racing on one
folder with --report, SIGINT in the report phase, a child SIGKILLed mid-write, a FIFO, a
symlink, a planted lock symlink, a path under a regular file, a 250-character name."""

from __future__ import annotations

import html
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from planner.results import safe_write
from planner.results.folder import ResultsError, write_text_file

from .conftest import write_yaml

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def planner(*args, cwd, **kw):
    code = "import sys; from planner.cli import main; sys.argv = ['planner'] + sys.argv[1:]; main()"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=300, **kw)


def child(code: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300)


def staging_left(parent: Path) -> list[str]:
    return sorted(str(p.relative_to(parent)) for p in parent.rglob("*") if ".tmp-" in p.name or p.name.endswith(".lock"))


@pytest.fixture
def two(tmp_path, base):
    base["name"] = "first"
    a = write_yaml(tmp_path, base, "first.yaml")
    base["name"] = "second"
    base["workloads"]["inference"]["demand"] = 1.0
    b = write_yaml(tmp_path, base, "second.yaml")
    return a, b


@pytest.mark.parametrize("offset", [0.0, 0.1, 0.4])
def test_two_solves_with_report_racing_leave_one_plan_and_its_report(tmp_path, two, offset):
    out = tmp_path / "shared"
    code = "import sys; from planner.cli import main; sys.argv = ['planner'] + sys.argv[1:]; main()"
    procs = []
    for instance in two:
        procs.append(subprocess.Popen([sys.executable, "-c", code, "solve", str(instance), "--out", str(out), "-q",
                                       "--report"], cwd=tmp_path, env=ENV, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
        time.sleep(offset)
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    summary = json.loads((out / "summary.json").read_text())
    page = (out / "report.html").read_text()
    assert f"Compute plan report: {summary['instance']}" in page
    assert html.escape(json.dumps(summary, indent=2, ensure_ascii=False)) in page  # this very run's summary
    assert f"results folder <code>{out.name}</code>" in page and ".tmp-" not in page
    assert staging_left(tmp_path) == []


def test_sigint_in_the_report_phase_keeps_the_earlier_results(tmp_path, two):
    out = tmp_path / "res"
    assert planner("solve", two[0], "--out", out, "-q", "--report", cwd=tmp_path).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code = ("import os, signal, sys, time\n"
            "import planner.report.html as h\n"
            "real = h.render_charts\n"
            "def slow(r):\n    os.kill(os.getpid(), signal.SIGINT); time.sleep(5); return real(r)\n"
            "h.render_charts = slow\n"
            "from planner.cli import main\n"
            f"sys.argv = ['planner', 'solve', {str(two[1])!r}, '--out', {str(out)!r}, '-q', '--report']\nmain()\n")
    done = child(code, tmp_path)
    assert done.returncode == 130, done.stderr
    assert "the earlier results in" in done.stderr and "intact" in done.stderr and "Traceback" not in done.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the message is true
    assert staging_left(tmp_path) == []


def test_a_report_killed_mid_write_does_not_block_the_next_solve(tmp_path, two):
    out = tmp_path / "res"
    assert planner("solve", two[0], "--out", out, "-q", cwd=tmp_path).returncode == 0
    code = ("import os, signal\nimport planner.results.safe_write as s\n"
            "s.os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n"
            f"from planner.report.html import write_report\nwrite_report({str(out)!r})\n")
    assert child(code, tmp_path).returncode == -signal.SIGKILL
    left = [p.name for p in out.iterdir() if safe_write.is_staging_name(p.name)]
    assert left, "the kill left no staging file: the test did not make the fault happen"
    done = planner("solve", two[1], "--out", out, "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert staging_left(tmp_path) == []


def test_a_solve_killed_mid_write_leaves_a_staging_folder_the_next_one_removes(tmp_path, two):
    out = tmp_path / "res"
    code = ("import os, signal, sys\nimport planner.results.folder as f\n"
            "f.write_plan_files = lambda plan, folder: os.kill(os.getpid(), signal.SIGKILL)\n"
            f"from planner.cli import main\nsys.argv = ['planner', 'solve', {str(two[0])!r}, '--out', {str(out)!r}, '-q']\n"
            "main()\n")
    assert child(code, tmp_path).returncode == -signal.SIGKILL
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".res.tmp-")]
    assert planner("solve", two[0], "--out", out, "-q", cwd=tmp_path).returncode == 0
    assert staging_left(tmp_path) == []


@pytest.mark.parametrize("kind", ["fifo", "symlink", "folder"])
def test_safe_write_refuses_a_target_that_is_not_a_regular_file(tmp_path, kind):
    target = tmp_path / "value.json"
    aim = tmp_path / "aim"
    aim.write_text("kept")
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "symlink":
        target.symlink_to(aim)
    else:
        target.mkdir()
    with pytest.raises(OSError, match="not a regular file"):
        safe_write.write_text(target, "new")
    with pytest.raises(ResultsError, match="not a regular file"):
        write_text_file(target, "new")
    assert aim.read_text() == "kept"
    assert (kind != "symlink" or target.is_symlink()) and (kind != "fifo" or target.is_fifo())
    assert staging_left(tmp_path) == []


def test_value_out_refuses_a_device(tmp_path, char_device):
    done = child("import sys\nfrom planner.results.folder import write_text_file, ResultsError\n"
                 f"try:\n    write_text_file({str(char_device)!r}, '{{}}')\nexcept ResultsError as err:\n    print(err)\n", tmp_path)
    assert "not a regular file" in done.stdout, done.stdout + done.stderr
    assert char_device.is_char_device()


def test_value_json_follows_the_umask(tmp_path):
    target = tmp_path / "res" / "value.json"
    write_text_file(target, "{}\n")
    assert target.stat().st_mode & 0o777 == 0o666 & ~safe_write.umask()


def test_a_planted_lock_symlink_is_refused_and_its_target_not_created(tmp_path, two):
    (tmp_path / ".res.lock").symlink_to(tmp_path / "planted")
    done = planner("solve", two[0], "--out", tmp_path / "res", "-q", cwd=tmp_path)
    assert done.returncode == 2 and "symbolic link" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "planted").exists()


def test_a_path_under_a_regular_file_is_not_a_folder(tmp_path, two):
    (tmp_path / "afile").write_text("x")
    done = planner("solve", two[0], "--out", tmp_path / "afile" / "sub", "-q", cwd=tmp_path)
    assert done.returncode == 2 and "is not a folder" in done.stderr and "read-only" not in done.stderr


def test_a_250_character_out_name_is_written(tmp_path, two):
    out = tmp_path / ("x" * 250)
    for instance in two:  # the second swaps over the first: staging, retired and lock names all fit
        done = planner("solve", instance, "--out", out, "-q", "--report", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    assert (out / "report.html").exists() and staging_left(tmp_path) == []
    assert all(len(safe_write.short_name("y" * n, ".lock")) + 8 <= 255 for n in (1, 200, 255))


def test_ctrl_c_early_in_diagnose_and_value_is_one_line_and_130(tmp_path, two):
    for module, name, command in [("planner.solver.diagnosis", "diagnose", "diagnose"),
                                  ("planner.instance.loading", "load_instance", "solve")]:
        code = (f"import sys\nimport {module} as m\n"
                f"def stop(*a, **k):\n    raise KeyboardInterrupt\nm.{name} = stop\n"
                f"from planner.cli import main\nsys.argv = ['planner', {command!r}, {str(two[0])!r}]\nmain()\n")
        done = child(code, tmp_path)
        assert done.returncode == 130 and done.stderr.strip().startswith("interrupted"), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Aborted" not in done.stderr
