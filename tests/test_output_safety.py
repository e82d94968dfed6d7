"""Output safety: a failure, a full disk, a read-only folder, Ctrl-C or a signal while
results are written leaves the earlier results intact (or the new ones complete), says
so, and leaves no temporary folder behind; two solves writing one folder take turns.

Faults are injected by monkeypatching the writes (``OSError(ENOSPC)``, ``EROFS``,
``KeyboardInterrupt``, ``signal.raise_signal``); the read-only folder is also tested with
``chmod`` where that works (not as root).
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import planner
import planner.results.folder as results
from planner.results.files import RESULT_FILES as _RESULT_FILES
from planner.cli import app

from .conftest import write_yaml

RESULT_FILES = set(_RESULT_FILES)


def run(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def leftovers(parent: Path) -> list[str]:
    """Temporary folders, retired folders and lock files the writer left beside the results."""
    return sorted(p.name for p in parent.iterdir() if any(mark in p.name for mark in (".tmp-", ".old-", ".lock")))


@pytest.fixture
def setup(tmp_path, base):
    """An instance, a second one with other figures, and an earlier results folder."""
    first = write_yaml(tmp_path, base, "small.yaml")
    base["workloads"]["inference"]["demand"] = 1.0
    second = write_yaml(tmp_path, base, "changed.yaml")
    parent = tmp_path / "results"
    parent.mkdir()
    out = parent / "small"
    assert run("solve", first, "--out", out, "-q").exit_code == 0
    return first, second, out


def fail_on_call(n: int, exc: BaseException, original):
    """A replacement for ``original`` that raises ``exc`` on its ``n``-th call (after
    writing a part of its file, as a disk filling up would)."""
    calls = {"n": 0}

    def replacement(self, path=None, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            if path is not None:
                Path(path).write_text("year,provider\n2025,")  # half a file
            raise exc
        return original(self, path, *args, **kwargs)

    return replacement


# --- a full disk ----------------------------------------------------------------------


@pytest.mark.parametrize("call", [1, 3, 6])
def test_full_disk_keeps_the_earlier_results(setup, monkeypatch, call):
    first, second, out = setup
    before = snapshot(out)
    enospc = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(results, "write_csv", fail_on_call(call, enospc, results.write_csv))

    result = run("solve", second, "--out", out, "-q")

    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "No space left on device" in lines[0]
    assert f"the earlier results in {out} are intact" in lines[0]
    assert snapshot(out) == before
    assert leftovers(out.parent) == []


def test_full_disk_on_the_summary_and_without_earlier_results(tmp_path, setup, monkeypatch):
    first, second, _ = setup
    out = tmp_path / "fresh"

    def no_space(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_text", no_space)
    result = run("solve", first, "--out", out, "-q")
    assert result.exit_code == 2
    assert "No space left on device" in result.stderr and "no results were written" in result.stderr
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_failure_during_the_swap_keeps_the_earlier_results(setup, monkeypatch):
    """The rename that puts the new folder in place fails (both ways of swapping)."""
    first, second, out = setup
    before = snapshot(out)
    monkeypatch.setattr(results, "_exchange", lambda a, b: False)  # the two-rename fallback
    real_replace = os.replace

    def replace(src, dst):
        if Path(src).name.startswith(".small.tmp-"):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_replace(src, dst)

    monkeypatch.setattr(results.os, "replace", replace)
    result = run("solve", second, "--out", out, "-q")
    assert result.exit_code == 2
    assert "earlier results" in result.stderr and "intact" in result.stderr
    assert snapshot(out) == before
    assert leftovers(out.parent) == []


# --- a read-only folder ----------------------------------------------------------------


def test_read_only_file_system_keeps_the_earlier_results(setup, monkeypatch):
    """EROFS when the temporary folder is made (works as root, where chmod does not)."""
    first, second, out = setup
    before = snapshot(out)

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(os, "mkdir", read_only)
    result = run("solve", second, "--out", out, "-q")
    assert result.exit_code == 2
    assert "Read-only file system" in result.stderr
    assert f"the earlier results in {out} are intact" in result.stderr
    assert snapshot(out) == before
    assert leftovers(out.parent) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="chmod does not stop root")
@pytest.mark.parametrize("which", ["results", "parent"])
def test_read_only_folder_is_refused_before_solving(setup, monkeypatch, which):
    first, second, out = setup
    before = snapshot(out)
    folder = out if which == "results" else out.parent
    folder.chmod(0o555)
    try:
        called = []
        monkeypatch.setattr(planner.solver.highs, "solve", lambda *a, **k: called.append(1))
        result = run("solve", second, "--out", out, "-q")
    finally:
        folder.chmod(0o755)
    assert result.exit_code == 2
    assert "read-only" in result.stderr and "intact" in result.stderr
    assert called == []
    assert snapshot(out) == before
    assert leftovers(out.parent) == []


def test_read_only_folder_is_refused_by_refusal(setup, monkeypatch):
    """What the chmod test checks, with os.access saying the folder is read-only."""
    first, second, out = setup
    monkeypatch.setattr(results.os, "access", lambda path, mode: Path(path) != out)
    refused = results.refusal(out)
    assert refused and "read-only" in refused and f"the earlier results in {out} are intact" in refused


# --- Ctrl-C and signals ------------------------------------------------------------------


def test_ctrl_c_while_writing_keeps_the_earlier_results(setup, monkeypatch):
    first, second, out = setup
    before = snapshot(out)
    monkeypatch.setattr(results, "write_csv", fail_on_call(2, KeyboardInterrupt(), results.write_csv))

    result = run("solve", second, "--out", out, "-q")

    assert result.exit_code == 130
    assert result.stderr.strip().splitlines() == [
        f"interrupted while writing results: the earlier results in {out} are intact"]
    assert snapshot(out) == before
    assert leftovers(out.parent) == []


def test_ctrl_c_through_the_api_is_still_a_keyboard_interrupt(setup, monkeypatch):
    first, second, out = setup
    before = snapshot(out)
    plan = planner.solve(second)
    monkeypatch.setattr(results, "write_csv", fail_on_call(4, KeyboardInterrupt(), results.write_csv))
    with pytest.raises(KeyboardInterrupt) as caught:
        plan.write(out)
    assert "intact" in str(caught.value)
    assert snapshot(out) == before
    assert leftovers(out.parent) == []


def test_ctrl_c_between_the_two_renames_puts_the_earlier_results_back(setup, monkeypatch):
    first, second, out = setup
    before = snapshot(out)
    monkeypatch.setattr(results, "_exchange", lambda a, b: False)
    real_replace = os.replace

    def replace(src, dst):
        if Path(src).name.startswith(".small.tmp-"):  # the old folder has just been moved aside
            assert not out.exists()
            raise KeyboardInterrupt
        return real_replace(src, dst)

    monkeypatch.setattr(results.os, "replace", replace)
    result = run("solve", second, "--out", out, "-q")
    assert result.exit_code == 130
    assert "intact" in result.stderr
    assert snapshot(out) == before
    assert leftovers(out.parent) == []


def test_ctrl_c_during_the_solve_writes_nothing(setup, monkeypatch):
    first, second, out = setup
    before = snapshot(out)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(planner.solver.highs, "solve", interrupted)
    result = run("solve", second, "--out", out, "-q")
    assert result.exit_code == 130
    assert result.stderr.strip() == f"interrupted: the earlier results in {out} are intact"
    assert snapshot(out) == before


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or sys.platform == "win32", reason="POSIX signals")
def test_sigterm_while_writing_keeps_the_earlier_results(setup, monkeypatch):
    first, second, out = setup
    if signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        pytest.skip("SIGTERM has a handler in this process")
    before = snapshot(out)
    original = results.write_csv
    calls = {"n": 0}

    def to_csv(self, path=None, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            # the writer must have made SIGTERM catchable; never kill the test process
            assert signal.getsignal(signal.SIGTERM) != signal.SIG_DFL
            signal.raise_signal(signal.SIGTERM)
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(results, "write_csv", to_csv)
    result = run("solve", second, "--out", out, "-q")
    assert result.exit_code == 128 + signal.SIGTERM
    assert result.stderr.strip() == f"interrupted while writing results: the earlier results in {out} are intact"
    assert snapshot(out) == before
    assert leftovers(out.parent) == []
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # restored


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or sys.platform == "win32", reason="POSIX signals")
def test_a_signal_during_the_swap_waits_for_it(setup, monkeypatch):
    """A signal that arrives in the middle of the swap is delivered after it: the new
    results are complete when the program's handler runs."""
    first, second, out = setup
    plan = planner.solve(second)
    seen = []

    def handler(signum, frame):
        seen.append(snapshot(out))

    previous = signal.signal(signal.SIGTERM, handler)
    real_swap = results._swap_into_place

    def swap(staging, target):
        signal.raise_signal(signal.SIGTERM)
        assert seen == []  # held until the swap ends
        real_swap(staging, target)

    monkeypatch.setattr(results, "_swap_into_place", swap)
    try:
        plan.write(out)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert len(seen) == 1
    assert seen[0] == snapshot(out)
    assert set(seen[0]) == RESULT_FILES
    service = pd.read_csv(out / "service.csv")
    assert set(service[service["workload"] == "inference"]["demand"]) == {1.0}  # the new plan
    assert leftovers(out.parent) == []


def test_no_earlier_results_and_interrupted(tmp_path, setup, monkeypatch):
    first, second, _ = setup
    out = tmp_path / "new"
    monkeypatch.setattr(results, "write_csv", fail_on_call(1, KeyboardInterrupt(), results.write_csv))
    result = run("solve", first, "--out", out, "-q")
    assert result.exit_code == 130
    assert "no results were written" in result.stderr
    assert not out.exists()
    assert leftovers(tmp_path) == []


# --- leftovers of a killed process ------------------------------------------------------


def test_a_swap_killed_half_way_is_repaired_by_the_next_write(setup):
    """kill -9 between the two renames of the fallback swap leaves the earlier results in
    ``.<name>.old-*`` and no folder: the next write puts them back, then replaces them."""
    first, second, out = setup
    stale = out.parent / ".small.old-killed"
    os.replace(out, stale)
    assert run("solve", second, "--out", out, "-q").exit_code == 0
    assert set(snapshot(out)) == RESULT_FILES
    assert leftovers(out.parent) == []


def test_a_stale_retired_folder_is_removed(setup):
    first, second, out = setup
    stale = out.parent / ".small.old-killed"
    shutil.copytree(out, stale)
    assert run("solve", second, "--out", out, "-q").exit_code == 0
    assert leftovers(out.parent) == []


# --- the lock -------------------------------------------------------------------------


def test_the_lock_file_is_beside_the_folder_and_removed(setup, monkeypatch):
    first, second, out = setup
    seen = {}
    real_swap = results._swap_into_place

    def swap(staging, target):
        seen["parent"] = sorted(p.name for p in out.parent.iterdir())
        seen["inside"] = sorted(p.name for p in out.iterdir())
        real_swap(staging, target)

    monkeypatch.setattr(results, "_swap_into_place", swap)
    assert run("solve", second, "--out", out, "-q").exit_code == 0
    assert ".small.lock" in seen["parent"]  # held during the swap, beside the folder
    assert not any(name.endswith(".lock") for name in seen["inside"])
    assert leftovers(out.parent) == []


def test_a_left_over_lock_file_is_harmless(setup):
    first, second, out = setup
    (out.parent / ".small.lock").write_text("")  # a process died holding it
    assert results.refusal(out) is None
    assert run("solve", second, "--out", out, "-q").exit_code == 0
    assert leftovers(out.parent) == []


def test_the_lock_serialises_writers_in_threads(setup, monkeypatch):
    """Threads (each its own open file description) wait for each other's swap."""
    first, second, out = setup
    plans = [planner.solve(first), planner.solve(second)]
    inside, overlaps = [], []
    real_swap = results._swap_into_place

    def slow_swap(staging, target):
        if inside:
            overlaps.append(1)
        inside.append(1)
        time.sleep(0.2)
        real_swap(staging, target)
        inside.pop()

    monkeypatch.setattr(results, "_swap_into_place", slow_swap)
    errors = []

    def write(plan):
        try:
            plan.write(out)
        except Exception as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=write, args=(plan,)) for plan in plans * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and overlaps == []
    assert set(snapshot(out)) == RESULT_FILES
    assert leftovers(out.parent) == []


def _console_script() -> str | None:
    beside = Path(sys.executable).with_name("planner")
    return str(beside) if beside.exists() else shutil.which("planner")


def test_two_processes_writing_one_folder_end_with_one_complete_set(tmp_path, setup):
    exe = _console_script()
    if exe is None:
        pytest.skip("the planner console script is not installed")
    first, second, _ = setup
    expected = {}
    for instance in (first, second):
        alone = tmp_path / f"alone-{instance.stem}"
        assert run("solve", instance, "--out", alone, "-q").exit_code == 0
        expected[instance.stem] = {name: data for name, data in snapshot(alone).items() if name.endswith(".csv")}
    assert expected["small"] != expected["changed"]
    out = tmp_path / "shared" / "plan"
    for _ in range(2):
        procs = [subprocess.Popen([exe, "solve", str(instance), "--out", str(out), "-q"], cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for instance in (first, second)]
        outputs = [proc.communicate(timeout=120) for proc in procs]
        assert [proc.returncode for proc in procs] == [0, 0], outputs
        files = snapshot(out)
        assert set(files) == RESULT_FILES
        csvs = {name: data for name, data in files.items() if name.endswith(".csv")}
        assert csvs in (expected["small"], expected["changed"])  # one run's files, not a mixture
        assert leftovers(out.parent) == []


# --- value.json -----------------------------------------------------------------------


def test_value_json_write_failure_keeps_the_earlier_file(tmp_path, monkeypatch):
    target = tmp_path / "res" / "value.json"
    results.write_text_file(target, '{"evpi": 1}\n')
    real_replace = os.replace

    def replace(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(results.os, "replace", replace)
    with pytest.raises(results.ResultsError) as caught:
        results.write_text_file(target, '{"evpi": 2}\n')
    assert "the earlier file is intact" in str(caught.value)
    monkeypatch.setattr(results.os, "replace", real_replace)
    assert target.read_text() == '{"evpi": 1}\n'
    assert sorted(p.name for p in target.parent.iterdir()) == ["value.json"]
    assert leftovers(tmp_path) == []


# --- the CSV writer writes what pandas wrote, character for character ------------------


def _pandas_text(frame) -> str:
    """What the results folder held before its own writer: pandas' ``to_csv``."""
    return results._no_negative_zero(frame).to_csv(index=False, lineterminator="\n")


def _assert_same_text(frame) -> None:
    ours, theirs = results.csv_text(frame), _pandas_text(frame)
    assert ours.splitlines() == theirs.splitlines()  # line by line first: a readable failure
    assert ours == theirs


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[1] / "instances").glob("*.yaml")),
                         ids=lambda p: p.stem)
def test_csv_files_are_pandas_text_on_the_shipped_instances(path):
    plan = planner.solve(planner.load_instance(path))
    for frame in [*plan.tables.values(), plan.duals]:
        _assert_same_text(frame)


def test_csv_files_are_pandas_text_on_a_generated_instance_with_cases():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        from scale import generate
    finally:
        sys.path.pop(0)
    plan = planner.solve(generate(providers=6, contracts=3, workloads=4, years=6, cases=3))
    assert plan.status == "optimal"
    for frame in [*plan.tables.values(), plan.duals]:
        _assert_same_text(frame)


from hypothesis import given, settings, strategies as st  # noqa: E402

_EDGE_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, 1.0, 1e16, 1e-5, 5e-324, 2.5380000000000003, 123456789012345680.0, 0.1 + 0.2]),
)
_TEXTS = st.one_of(st.none(), st.text(alphabet=st.sampled_from(list('ab ,"\n\r;\'é1.')), max_size=6))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(0, 6).flatmap(lambda n: st.tuples(
    st.lists(_EDGE_FLOATS, min_size=n, max_size=n), st.lists(_TEXTS, min_size=n, max_size=n),
    st.lists(st.one_of(st.none(), st.integers(-3, 2030)), min_size=n, max_size=n),
    st.lists(st.integers(-10**12, 10**12), min_size=n, max_size=n),
    st.lists(st.one_of(st.none(), _EDGE_FLOATS), min_size=n, max_size=n))))
def test_csv_text_is_pandas_text_on_any_table(columns):
    floats, texts, years, counts, mixed = columns
    frame = pd.DataFrame({"value": pd.Series(floats, dtype="float64"), "name, quoted": pd.Series(texts, dtype=object),
                          "year": pd.Series(years, dtype="Int64"), "count": pd.Series(counts, dtype="int64"),
                          "upfront": pd.Series(mixed, dtype=object)})
    _assert_same_text(frame)
    _assert_same_text(frame[[]])
    _assert_same_text(frame[["name, quoted"]])
    _assert_same_text(frame.iloc[0:0])
