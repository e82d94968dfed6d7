"""Faults of `planner frontier` and `planner alternatives` made to happen: SIGINT and
SIGTERM of a real frontier among its points and during its bisection, a folder holding
someone else's files, a file-size limit (RLIMIT_FSIZE, which bites root too), bad
inputs, an infeasible instance. Each ends with its exit code and one message, never a
traceback, and an earlier folder is never half-replaced.

Every command runs as ``python -m planner`` in a child process (cwd: the repository),
as a user runs it, so the signals and limits reach the real program."""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .test_frontier import TOY

ROOT = Path(__file__).resolve().parents[1]
OPENAI = ROOT / "instances" / "openai-2025.yaml"
UNCERTAIN = ROOT / "instances" / "openai-2025-uncertain.yaml"
PLANNER = [sys.executable, "-m", "planner"]
#: click's usage block around its own "Error: ..." line (an option out of its range).
CLICK_USAGE = ("Usage: ", "Try '")


def start(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([*PLANNER, *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)


def finish(process: subprocess.Popen, timeout: float = 60) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    assert "Traceback" not in out + err, err
    return process.returncode, out, err


def run(*args, **kwargs) -> tuple[int, str, str]:
    return finish(start(*args, **kwargs))


def one_line(err: str) -> str:
    """The one message of stderr (click's usage block around its "Error:" line aside)."""
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(CLICK_USAGE)]
    assert len(lines) == 1, err
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def hidden_beside(folder: Path) -> list[str]:
    """Staging folders, retired folders and lock files left beside ``folder``."""
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith("."))


def _ctrl_c_as_at_a_terminal() -> None:
    """SIGINT's default action in the child, whatever the test run inherited: a shell
    ignores it for a background job (``pytest &``), and an ignored Ctrl-C is rightly
    left ignored by the planner, which would make the signal tests skip."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Watched:
    """A child whose stderr a thread reads line by line as it comes (the child flushes
    each progress line) and whose stdout goes to a file, so that neither pipe can fill
    up and stall it while the test waits for a line."""

    def __init__(self, tmp_path: Path, *args):
        self.stdout_path = tmp_path / f"stdout-{time.monotonic_ns()}"
        with open(self.stdout_path, "w") as stdout:
            self.process = subprocess.Popen([*PLANNER, *map(str, args)], cwd=ROOT, stdout=stdout,
                                            stderr=subprocess.PIPE, text=True, preexec_fn=_ctrl_c_as_at_a_terminal)
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()
        with self.changed:
            self.lines.append(None)  # the end
            self.changed.notify_all()

    def wait_for(self, done, timeout: float) -> bool:
        """Wait until ``done(lines so far)``; False when stderr ended or the time ran out first."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                lines = [line for line in self.lines if line is not None]
                if done(lines):
                    return True
                left = deadline - time.monotonic()
                if None in self.lines or left <= 0:
                    return False
                self.changed.wait(left)

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        self.reader.join(10)
        err = "".join(line for line in self.lines if line is not None)
        out = self.stdout_path.read_text()
        assert "Traceback" not in out + err, err
        return code, out, err


def interrupted_frontier(tmp_path: Path, signum: int, points: int) -> tuple[int, str, str, Path] | None:
    """A frontier of ``points`` points sent ``signum`` once two points are finished; None
    when it finished (or never got there) before the signal."""
    out = tmp_path / f"f{points}"
    child = Watched(tmp_path, "frontier", OPENAI, "--share", "stargate", "--points", points, "--out", out)
    reached = child.wait_for(lambda lines: sum(line.startswith("point ") for line in lines) >= 2, 30)
    if reached:
        child.process.send_signal(signum)
    code, stdout, err = child.finish()
    if not reached or code == 0:
        return None
    return code, stdout, err, out


# -- 1. a signal among the points keeps the finished ones ----------------------------


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_among_the_points_keeps_the_finished_points(tmp_path, signum, code):
    for points in (400, 4000):  # ~1.3 ms a point: 400 leave about half a second to signal in
        outcome = interrupted_frontier(tmp_path, signum, points)
        if outcome is not None:
            break
    else:
        pytest.skip("the frontier finished every point before the signal reached it, even with 4000 points")
    got, stdout, err, out = outcome
    assert got == code, err
    stopped = [line for line in err.splitlines() if line.startswith("interrupted")]
    assert len(stopped) == 1 and stopped[0].startswith("interrupted: kept the ") and " finished in " in stopped[0], err
    rows = (out / "frontier.csv").read_text().splitlines()[1:]
    assert 1 <= len(rows) < points
    assert f"kept the {len(rows)} point" in stopped[0]
    finished = [line for line in err.splitlines() if line.startswith("point ")]
    # a point is kept, then its line written: a signal between the two keeps one more
    assert len(finished) >= 2 and len(rows) in (len(finished), len(finished) + 1)
    meta = json.loads((out / "frontier.json").read_text())
    assert meta["complete"] is False and meta["points"] == points
    assert (out / "frontier.png").read_bytes().startswith(b"\x89PNG")
    assert f"Wrote {len(rows)} point" in stdout
    assert hidden_beside(out) == []


# -- 2. Ctrl-C in the bisection writes nothing ----------------------------------------


def _slow_bisection_instance(tmp_path: Path) -> Path:
    """A generated instance (benchmarks/scale.py) whose 14 bisection solves take ~0.7 s,
    a window a signal cannot miss (openai-2025's take 20 ms); its p12 has 55 % of 2042."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from scale import generate
    finally:
        sys.path.pop(0)
    path = tmp_path / "generated.json"
    path.write_text(json.dumps(generate(providers=24, contracts=3, workloads=10, years=18, cases=1)))
    return path


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_in_the_bisection_writes_nothing(tmp_path, signum, code):
    instance = _slow_bisection_instance(tmp_path)
    expected = code
    for attempt in range(2):
        out = tmp_path / f"f{attempt}"
        child = Watched(tmp_path, "frontier", instance, "--share", "p12", "--out", out)
        reached = child.wait_for(lambda lines: any("finding the smallest cap" in line for line in lines), 30)
        if reached:
            child.process.send_signal(signum)
        code, _, err = child.finish()
        assert reached, err
        if "the smallest cap with a plan is" not in err:  # the signal came during the bisection
            break
    else:
        pytest.skip("the bisection ended before the signal reached it, twice")
    assert code == expected, err
    lines = err.splitlines()  # the progress line, then one line for the interruption
    assert len(lines) == 2 and "finding the smallest cap" in lines[0], err
    assert lines[1] == "interrupted; nothing was written"
    assert not out.exists()
    assert hidden_beside(out) == []


# -- 3. an earlier folder survives a failed write -------------------------------------


@pytest.mark.parametrize("command", [["frontier", "--share", "stargate"], ["alternatives", "--slack", "0.05"]],
                         ids=["frontier", "alternatives"])
def test_a_folder_holding_a_foreign_file_is_refused_and_kept(tmp_path, command):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    name, *options = command
    code, _, err = run(name, OPENAI, *options, "--out", out, "-q")
    assert code == 2 and "did not write (notes.txt)" in one_line(err)
    assert snapshot(out) == {"notes.txt": b"mine"}


def test_a_foreign_file_inside_plans_is_refused_not_deleted(tmp_path):
    """A rerun replaces the whole folder, plans/ included: a file of someone else's in
    plans/ (or in one plan's folder) must stop it, as one beside frontier.csv does."""
    out = tmp_path / "f"
    code, _, err = run("frontier", OPENAI, "--share", "stargate", "--points", 2, "--plans", "--out", out, "-q")
    assert code == 0, err
    (out / "plans" / "notes.txt").write_text("mine")
    (out / "plans" / "point-00" / "notes.txt").write_text("mine too")
    before = snapshot(out)
    code, _, err = run("frontier", OPENAI, "--share", "stargate", "--points", 3, "--out", out, "-q")
    assert code == 2 and "plans/notes.txt, plans/point-00/notes.txt" in one_line(err)
    assert snapshot(out) == before


def _limited(limit: int):
    def preexec():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


@pytest.mark.parametrize("fails", ["csv", "png"])
def test_a_full_disk_keeps_the_earlier_frontier_folder(tmp_path, fails):
    """RLIMIT_FSIZE: no file may grow past the limit (Python ignores SIGXFSZ, so the
    write fails with EFBIG, "File too large"). The earlier folder is another frontier,
    so that a half-replaced one would show."""
    out = tmp_path / "f"
    code, _, err = run("frontier", OPENAI, "--share", "stargate@2029-2030", "--points", 3, "--out", out, "-q")
    assert code == 0, err
    before = snapshot(out)
    # the new frontier's files: frontier.csv ~12 KB (50 rows), frontier.json < 1 KB, frontier.png ~80 KB
    limit = 1024 if fails == "csv" else 40_000
    code, _, err = run("frontier", OPENAI, "--share", "stargate", "--points", 50, "--out", out, "-q",
                       preexec_fn=_limited(limit))
    assert code == 2, err
    line = one_line(err)
    assert line.startswith(f"error: cannot write results to {out}") and "File too large" in line
    assert line.endswith(f"the earlier results in {out} are intact")
    assert snapshot(out) == before
    assert hidden_beside(out) == []
    # the same run without the limit: which file the limit stopped (csv, else png)
    code, _, err = run("frontier", OPENAI, "--share", "stargate", "--points", 50, "--out", tmp_path / "free", "-q")
    assert code == 0, err
    sizes = {p.suffix: p.stat().st_size for p in (tmp_path / "free").iterdir()}
    if fails == "csv":
        assert sizes[".csv"] > limit
    else:
        assert max(sizes[".csv"], sizes[".json"]) <= limit < sizes[".png"]


def test_a_full_disk_with_no_earlier_folder_leaves_nothing(tmp_path):
    out = tmp_path / "a"
    code, _, err = run("alternatives", OPENAI, "--slack", "0.05", "--out", out, "-q", preexec_fn=_limited(256))
    assert code == 2 and "File too large" in one_line(err) and "no results were written" in one_line(err)
    assert not out.exists() and hidden_beside(out) == []


# -- 4. bad inputs are usage errors ------------------------------------------------------


@pytest.mark.parametrize("args, words", [
    (["frontier", OPENAI, "--share", "stargate", "--points", "1"], "'--points'"),
    (["frontier", OPENAI, "--share", "stargate", "--points", "99999999999999999999"], "is more than 100,000"),
    (["frontier", OPENAI, "--share", "google"], "unknown provider 'google'"),
    (["frontier", OPENAI, "--share", "stargate@1999"], "within the planning years 2025-2030"),
    (["frontier", OPENAI, "--share", "stargate@soon"], "expected PROVIDER@YEAR"),
    (["alternatives", OPENAI, "--slack", "-0.1"], "'--slack'"),
    (["alternatives", OPENAI, "--slack", "nan"], "'--slack'"),
    (["alternatives", OPENAI, "--slack", "inf"], "expected a fraction from 0 to 1000"),
    (["alternatives", OPENAI, "--slack", "1e300"], "expected a fraction from 0 to 1000"),
    (["frontier", UNCERTAIN, "--share", "stargate"], "without scenarios"),
    (["alternatives", UNCERTAIN, "--slack", "0.05"], "without scenarios"),
    (["frontier", ROOT / "instances" / "missing.yaml", "--share", "stargate"], "no such file"),
    (["alternatives", ROOT / "instances" / "missing.yaml", "--slack", "0.05"], "no such file"),
], ids=["points-1", "points-huge", "unknown-provider", "year-1999", "years-text", "slack-negative", "slack-nan",
        "slack-inf", "slack-huge", "frontier-scenarios", "alternatives-scenarios", "frontier-missing", "alternatives-missing"])
def test_bad_inputs_are_one_line_and_exit_2(tmp_path, args, words):
    out = tmp_path / "out"
    code, stdout, err = run(*args, "--out", out)
    assert code == 2, err
    assert words in one_line(err)
    assert stdout == "" and not out.exists() and hidden_beside(out) == []


# -- 5. an infeasible instance ---------------------------------------------------------


@pytest.mark.parametrize("command", [["frontier", "--share", "a"], ["alternatives", "--slack", "0.05", "-q"]],
                         ids=["frontier", "alternatives"])
def test_an_infeasible_instance_is_exit_1_and_writes_nothing(tmp_path, command):
    infeasible = json.loads(json.dumps(TOY))
    infeasible["providers"]["a"]["capacity"] = 1.0  # 1 + 6 units for a demand of 10
    path = tmp_path / "no.json"
    path.write_text(json.dumps(infeasible))
    out = tmp_path / "out"
    name, *options = command
    code, stdout, err = run(name, path, *options, "--out", out)
    assert code == 1, err
    assert "two: infeasible: no plan satisfies every constraint; no results written." in err.splitlines()
    assert not out.exists() and hidden_beside(out) == []
