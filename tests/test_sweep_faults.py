"""Faults of `planner sweep` made to happen (issue 14, items 4, 5, 8, 10, 14): two real
sweeps racing on one folder, a fake TCP service as --scheduler, SIGKILL/SIGTERM of a real
`sweep -j 2`, a file-size limit. Every one ends in exit 2 (or 128 + the signal) with one
message, no traceback, no orphan process and nothing half-written."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
OPENAI = ROOT / "instances" / "openai-2025.yaml"
TOY = ROOT / "instances" / "toy.yaml"
PLANNER = [sys.executable, "-c", "import sys; from planner.cli import main; sys.argv[0] = 'planner'; main()"]


def planner(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([*PLANNER, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=kwargs.pop("cwd", None), **kwargs)


def finish(process: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    assert "Traceback" not in out + err, err
    return process.returncode, out, err


def one_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


# -- item 14: usage errors are refused up front ---------------------------------------


@pytest.mark.parametrize("args, words", [
    (["--samples", "5", "--seed", "-1"], "--seed must be"),
    (["--sobol", "2097152"], "more than 1,000,000"),
    (["--samples", "5", "--seed", str(2**64)], "--seed must be"),
])
def test_bad_options_are_usage_errors(tmp_path, args, words):
    started = time.monotonic()
    code, _, err = finish(planner("sweep", OPENAI, "--vary", "finance.funding~uniform(0.8,1.2)", *args,
                                  "--out", tmp_path / "s", "-q"))
    assert code == 2 and words in one_error(err)
    assert time.monotonic() - started < 20  # refused before the design is built
    assert not (tmp_path / "s").exists()


# -- item 5: two sweeps into one folder ----------------------------------------------


def test_a_second_sweep_into_the_same_folder_is_refused_while_the_first_runs(tmp_path):
    out = tmp_path / "s"
    vary = ["--vary", "finance.funding~uniform(0.8,1.2)", "--samples", "4000", "--no-chart", "-q", "--out", out]
    first = planner("sweep", OPENAI, *vary, "--seed", "1")
    deadline = time.monotonic() + 60
    while not (out / "sweep.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.poll() is None, "the first sweep ended before the second could start"
    code, _, err = finish(planner("sweep", OPENAI, *vary, "--seed", "2"))
    assert code == 2 and "in use by another sweep" in one_error(err)
    assert first.poll() is None, "the first sweep ended before the second was refused"
    code, _, err = finish(first, 300)
    assert code == 0, err
    summary = json.loads((out / "sweep.json").read_text())
    assert summary["complete"] and summary["seed"] == 1 and summary["rows"] == 4000
    assert len((out / "sweep.csv").read_text().splitlines()) == 4001
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # the lock is gone
    code, _, err = finish(planner("sweep", OPENAI, *vary, "--seed", "1"))  # a later run resumes
    assert code == 0, err


# -- item 10: I/O errors --------------------------------------------------------------


def _limited(limit: int):
    def preexec():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


def test_a_file_size_limit_is_a_usage_error_and_nothing_is_half_written(tmp_path):
    """RLIMIT_FSIZE bites root too: sweep.csv cannot grow past 2 KB."""
    out = tmp_path / "s"
    code, _, err = finish(planner("sweep", TOY, "--vary", "finance.funding=1:3:60", "--no-chart", "-q", "--out", out,
                                  preexec_fn=_limited(2048)))
    assert code == 2 and "cannot write" in one_error(err) and "File too large" in err
    raw = (out / "sweep.csv").read_bytes()
    assert raw.endswith(b"\n") and len(raw) <= 2048
    assert sorted(p.name for p in out.iterdir()) == ["sweep.csv"]  # no staging file, no sweep.json
    rows = raw.decode().splitlines()
    assert all(len(row.split(",")) == len(rows[0].split(",")) for row in rows)
    code, _, err = finish(planner("sweep", TOY, "--vary", "finance.funding=1:3:60", "--no-chart", "-q", "--out", out))
    assert code == 0, err  # the rows kept resume
    assert len((out / "sweep.csv").read_text().splitlines()) == 61


def test_a_limit_hit_by_sweep_json_is_a_usage_error(tmp_path):
    out = tmp_path / "s"
    code, _, err = finish(planner("sweep", TOY, "--vary", "finance.funding=1,2", "--no-chart", "-q", "--out", out,
                                  preexec_fn=_limited(1024)))
    assert code == 2 and "cannot write" in one_error(err)
    assert not (out / "sweep.json").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores chmod; the RLIMIT_FSIZE tests cover root")
def test_a_read_only_folder_and_csv_are_usage_errors(tmp_path):
    out = tmp_path / "s"
    code, _, err = finish(planner("sweep", TOY, "--vary", "finance.funding=1,2", "--no-chart", "-q", "--out", out))
    assert code == 0, err
    (out / "sweep.csv").chmod(0o444)
    code, _, err = finish(planner("sweep", TOY, "--vary", "finance.funding=1,2,3", "--no-chart", "-q", "--out", out))
    assert code == 2 and "cannot write" in one_error(err)
    out.chmod(0o555)
    try:
        code, _, err = finish(planner("sweep", TOY, "--vary", "finance.funding=1,2,3", "-q", "--out", out))
        assert code == 2 and one_error(err)
    finally:
        out.chmod(0o755)


# -- item 4: --scheduler at something that is not Dask ----------------------------------


class FakeService:
    """A TCP server in a thread: ``http`` answers anything with an HTTP 400; ``silent``
    accepts and never says a word."""

    def __init__(self, mode: str):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.mode == "http":
                threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def answer(self, conn):
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            pass

    def close(self):
        self.sock.close()
        for conn in self.conns:
            conn.close()


@pytest.mark.parametrize("mode", ["http", "silent"])
def test_a_scheduler_that_is_not_dask_is_a_usage_error_within_the_timeout(tmp_path, mode):
    from planner.sweep import run

    service = FakeService(mode)
    try:
        started = time.monotonic()
        code, _, err = finish(planner("sweep", TOY, "--vary", "finance.funding=1,2", "-q", "--out", tmp_path / "s",
                                      "--scheduler", f"tcp://127.0.0.1:{service.port}"), timeout=60)
        elapsed = time.monotonic() - started
    finally:
        service.close()
    assert code == 2 and "not answer like a Dask scheduler" in one_error(err)
    assert elapsed < run.CONNECT_TIMEOUT + 10
    assert not (tmp_path / "s").exists()


def test_a_scheduler_address_where_nothing_listens(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    code, _, err = finish(planner("sweep", TOY, "--vary", "finance.funding=1,2", "-q", "--out", tmp_path / "s",
                                  "--scheduler", f"tcp://127.0.0.1:{port}"))
    assert code == 2 and "cannot reach" in one_error(err)


# -- item 8: SIGKILL / SIGTERM of sweep -j 2 -------------------------------------------


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _start_parallel_sweep(out: Path) -> tuple[subprocess.Popen, list[psutil.Process]]:
    process = planner("sweep", OPENAI, "--vary", "finance.funding~uniform(0.8,1.2)", "--samples", "20000", "-j", "2",
                      "--no-chart", "-q", "--out", out, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        csv = out / "sweep.csv"
        if csv.exists() and len(csv.read_bytes().splitlines()) > 5:
            break
        time.sleep(0.1)
    assert process.poll() is None
    children = _descendants(process.pid)
    assert len(children) >= 2, children
    return process, children


def _none_survive(children: list[psutil.Process], timeout: float = 15) -> list:
    gone, alive = psutil.wait_procs(children, timeout=timeout)
    for child in alive:  # clean up before failing
        child.kill()
    return alive


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killing_a_parallel_sweep_leaves_no_process_behind(tmp_path, signum):
    out = tmp_path / "s"
    process, children = _start_parallel_sweep(out)
    os.kill(process.pid, signum)
    code, _, err = finish(process, 60)
    assert _none_survive(children) == []
    assert code == 128 + signum if signum == signal.SIGTERM else code == -signal.SIGKILL
    if signum == signal.SIGTERM:  # handled as Ctrl-C: the rows kept, sweep.json says how far it got
        summary = json.loads((out / "sweep.json").read_text())
        assert summary["complete"] is False and 0 < summary["rows"] < 20000
        assert "interrupted" in err or "interrupted" in _
