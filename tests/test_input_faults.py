"""Hostile input files and numbers (issue 14, items 3, 12, 13 and 16): each ends in exit 2
with one message naming what is wrong, never a hang, unbounded memory, a traceback, or a
feasible instance called infeasible."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from planner.instance.errors import InstanceError
from planner.instance.loading import MAX_FILE_BYTES, PIPE_WAIT_SECONDS, load_instance, parse_text

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "instances" / "toy.yaml"
PLANNER = [sys.executable, "-c", "import sys; from planner.cli import main; sys.argv[0] = 'planner'; main()"]


def run(*args, stdin=None, input=None, timeout=60):
    return subprocess.run(PLANNER + [str(a) for a in args], stdin=stdin, input=input, capture_output=True,
                          timeout=timeout, cwd=ROOT)


def one_message(result) -> str:
    assert "Traceback" not in result.stderr.decode() + result.stdout.decode()
    return result.stderr.decode() + result.stdout.decode()


# --- item 3: files that are not regular files ---------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_dev_zero_is_refused_quickly():
    start = time.monotonic()
    result = run("validate", "/dev/zero", timeout=30)
    assert result.returncode == 2
    assert time.monotonic() - start < 20
    assert "is a device, not an instance file" in one_message(result)


def test_fifo_without_writer_is_refused_not_waited_for(tmp_path):
    fifo = tmp_path / "instance.yaml"
    os.mkfifo(fifo)
    start = time.monotonic()
    result = run("validate", fifo, timeout=PIPE_WAIT_SECONDS + 30)
    assert result.returncode == 2
    assert time.monotonic() - start < PIPE_WAIT_SECONDS + 20
    assert "a pipe with no writer" in one_message(result)


def test_pipe_on_stdin_is_read():
    with open(TOY, "rb") as handle:
        text = handle.read()
    result = run("validate", "/dev/stdin", input=text)
    assert result.returncode == 0, one_message(result)
    assert "valid (toy" in one_message(result)


def test_pipe_on_stdin_larger_than_the_limit_is_refused():
    big = b"# " + b"x" * (MAX_FILE_BYTES + 10) + b"\n"
    result = run("validate", "/dev/stdin", input=big)
    assert result.returncode == 2
    assert f"larger than {MAX_FILE_BYTES} bytes" in one_message(result)


def test_named_pipe_with_a_writer_is_read(tmp_path):
    fifo = tmp_path / "instance.yaml"
    os.mkfifo(fifo)
    proc = subprocess.Popen(PLANNER + ["validate", str(fifo)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with open(fifo, "wb") as writer:  # blocks until the planner opens it
        writer.write(TOY.read_bytes())
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()


def test_regular_file_over_the_limit_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(InstanceError, match="larger than"):
        load_instance(path)


# --- items 12 and 13: numbers HiGHS cannot keep ------------------------------------------------


def _toy() -> dict:
    return yaml.safe_load(TOY.read_text())


def _write(tmp_path, data) -> Path:
    path = tmp_path / "instance.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_tiny_efficiency_is_refused_not_called_infeasible(tmp_path):
    data = _toy()
    data["providers"]["microsoft"]["efficiency"] = 1e-9
    data["providers"]["microsoft"]["contracts"]["on_demand"]["price"] = 1e-6
    data["workloads"]["training"]["demand"] = 1e-3
    result = run("solve", _write(tmp_path, data), "--out", tmp_path / "res")
    assert result.returncode == 2
    message = one_message(result)
    assert "providers.microsoft.efficiency: 1e-09 in 2025 is below 1e-06" in message
    assert "rescale the units" in message
    assert not (tmp_path / "res").exists()


@pytest.mark.parametrize("path, value", [
    (("providers", "microsoft", "contracts", "on_demand", "price"), 1e-8),
    (("providers", "microsoft", "max_decline"), 1 - 1e-8),
    (("providers", "microsoft", "max_share"), 1e-8),
    (("workloads", "inference", "revenue"), 1e-7),
])
def test_other_tiny_coefficients_are_refused(tmp_path, path, value):
    data = _toy()
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(InstanceError, match="below 1e-06") as err:
        load_instance(_write(tmp_path, data))
    assert err.value.problems[0][0] == ".".join(path)


def test_coefficients_at_the_floor_are_accepted(tmp_path):
    data = _toy()
    data["providers"]["microsoft"]["efficiency"] = 1e-6
    data["providers"]["microsoft"]["contracts"]["on_demand"]["price"] = 1e-6
    data["workloads"]["inference"]["revenue"] = 1.0
    load_instance(_write(tmp_path, data))


def test_tiny_case_probability_is_refused(tmp_path):
    data = _toy()
    data["scenarios"] = {"cases": {
        "likely": {"probability": 1 - 1e-12},
        "rare": {"probability": 1e-12, "set": {"finance.other_costs": 3.0}},
    }}
    result = run("solve", _write(tmp_path, data), "--out", tmp_path / "res")
    assert result.returncode == 2
    message = one_message(result)
    assert "scenarios.cases.rare.probability: 1e-12 is below 1e-06" in message
    assert not (tmp_path / "res").exists()


# --- item 16: YAML 1.1's surprises ----------------------------------------------------------


@pytest.mark.parametrize("text", ["010", "08", "-007", "1:30", "1:30.5", "00"])
def test_ambiguous_yaml_numbers_are_refused(text):
    with pytest.raises(InstanceError) as err:
        parse_text(f"a:\n  b: {text}\n")
    path, message = err.value.problems[0]
    assert path == "a.b"
    assert "is ambiguous" in message and "plain decimal" in message and "line 2" in message


@pytest.mark.parametrize("text, value", [
    ("1e308", 1e308), ("1e3", 1000.0), ("1.0e3", 1000.0), ("1E-3", 0.001), ("-2e2", -200.0),
    ("10", 10), ("0", 0), ("0.5", 0.5), ("1_000", 1000), ("0x10", 16), ("'010'", "010"), ("2026-2030", "2026-2030"),
])
def test_yaml_numbers_read_as_written(text, value):
    assert parse_text(f"a: {text}\n") == {"a": value}


def test_term_written_with_a_leading_zero_is_refused(tmp_path):
    path = tmp_path / "instance.yaml"
    path.write_text(TOY.read_text().replace("term: 1, price: 5.0", "term: 010, price: 5.0"))
    result = run("validate", path)
    assert result.returncode == 2
    assert "providers.microsoft.contracts.on_demand.term: '010'" in one_message(result)


def test_exponent_without_a_dot_is_a_number(tmp_path):
    path = tmp_path / "instance.yaml"
    path.write_text(TOY.read_text().replace("term: 1, price: 5.0", "term: 1, price: 1e308"))
    with pytest.raises(InstanceError, match="at most 1e"):
        load_instance(path)
    path.write_text(TOY.read_text().replace("term: 1, price: 5.0", "term: 1, price: 5e0"))
    assert load_instance(path).providers["microsoft"].contracts["on_demand"].price[2025] == 5.0


@pytest.mark.parametrize("years", [[0, 2027], [2025, 10000], [-5, 2027]])
def test_years_out_of_range_state_the_rule(tmp_path, years):
    data = _toy()
    data["years"] = years
    with pytest.raises(InstanceError, match="from 1 to 9999"):
        load_instance(_write(tmp_path, data))
