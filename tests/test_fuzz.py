"""Fuzzing: mutated instance files never crash, hang or flood the screen.

Valid instances (the tests' small one and the shipped ones) are mutated — keys dropped,
renamed or given twice, values of the wrong type, extreme numbers (1e-12 .. 1e12, and
beyond), NaN and infinity, huge and empty series, deep nesting, YAML alias bombs
("billion laughs"), tags such as ``!!python/object`` — and each file is run through the
API and through the CLI (Typer's CliRunner on ``planner.cli.app``). Every outcome must be
one of:

- an optimal plan whose tables pass the recomputation check (``planner.check_plan``);
- an infeasibility whose diagnosis works (exit 1);
- exit 2 with a short message (at most 20 lines and 2000 characters) naming the file
  and the field;

never a traceback or a hang (each example has a 60 s alarm). An instance whose numbers
span more than 1e9 (``planner.instance.scaling``) gets a warning, and only such an instance may
also end in a solver failure (exit 3) or a plan that misses a constraint, which
``summary.json``'s ``max_violation`` then reports.

The budget is about 100 examples in all (a minute or so); ``FUZZ_EXAMPLES=1000`` in the
environment runs ten times as many of each.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import signal
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import planner
from planner.results.check import check_folder
from planner.cli import app
from planner.results.files import RESULT_FILES
from planner.instance.scaling import scaling_warning
from planner.solver.highs import SolverFailure

from .conftest import BASE

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {"small": BASE} | {
    name: yaml.safe_load((ROOT / "instances" / f"{name}.yaml").read_text())
    for name in ("toy", "openai-2025", "openai-2025-uncertain")
}
SCALE = int(os.environ.get("FUZZ_EXAMPLES", "100")) / 100
def fuzz(examples: int):
    """The fuzz tests' settings: ``examples`` (scaled by FUZZ_EXAMPLES), no deadline."""
    return settings(max_examples=max(1, int(examples * SCALE)), deadline=None,
                    suppress_health_check=list(HealthCheck), print_blob=True)

MAX_LINES, MAX_CHARS = 20, 2000

WRONG_TYPES = [None, True, False, "text", "", [], {}, [1, 2], {"a": 1}, "2025-2026", -1, 0, 1.5, "3", [2025]]
EXTREMES = [1e-12, 1e12, 1e-9, 1e9, 1e-6, 1e6, 1e15, 3e14, 1e16, 1e300, 5e-324, -1e12, -0.0,
            math.nan, math.inf, -math.inf, 10**30, 2**63]
NAMES = ["", "x" * 500, "a\nb", "a.b", "é", "2025", "build", "\t", " ", "-", "on_demand", "training"]
TAGS = ["!!python/object/apply:os.system ['echo pwned']", "!!python/name:os.system", "!!python/object:object {}",
        "!!binary aGk=", "!!timestamp 2025-01-01", "!!set {a, b}", "!custom 3", "!!omap [{a: 1}]", "2025-02-30",
        "0x1F", "1_000", "9" * 5000, "~", ".inf", ".NaN", "!!float 1e999", "!!int 1e3"]
BOMB = "lol0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"lol{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 10)
)


# --- mutations ----------------------------------------------------------------------------


def _paths(node, prefix=()):
    if prefix:
        yield prefix
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _paths(child, prefix + (key,))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _paths(child, prefix + (index,))


def _at(node, path):
    for part in path:
        node = node[part]
    return node


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _scaled(value, factor):
    if isinstance(value, dict):
        return {key: _scaled(child, factor) for key, child in value.items()}
    return value * factor if _is_number(value) else value


OPS = ["drop", "rename", "wrong_type", "extreme", "extreme", "scale", "huge_series", "empty", "deep", "years"]


@st.composite
def mutation(draw, data):
    """Mutate ``data`` in place once; return a description."""
    op = draw(st.sampled_from(OPS))
    paths = list(_paths(data))
    if op in ("extreme", "scale"):
        numbers = [p for p in paths if _is_number(_at(data, p)) and p[0] != "years"]
        paths = numbers or paths
    path = draw(st.sampled_from(paths))
    parent, key = _at(data, path[:-1]), path[-1]
    if op == "drop" and isinstance(parent, dict):
        del parent[key]
    elif op == "rename" and isinstance(parent, dict):
        parent[draw(st.sampled_from(NAMES) | st.text(max_size=30))] = parent.pop(key)
    elif op == "wrong_type":
        parent[key] = draw(st.sampled_from(WRONG_TYPES))
    elif op == "extreme":
        parent[key] = draw(st.sampled_from(EXTREMES) | st.floats(1e-12, 1e12))
    elif op == "scale":
        parent[key] = _scaled(parent[key], draw(st.sampled_from([1e-9, 1e-6, 1e6, 1e9, 1e12])))
    elif op == "huge_series":
        kind = draw(st.sampled_from(["many", "range", "spaced"]))
        parent[key] = (
            {str(1000 + i): 1.0 for i in range(draw(st.sampled_from([100, 5000, 20000])))} if kind == "many"
            else {"1-9999": 2.0} if kind == "range"
            else {f"{' ' * i}2025-2030": 1.0 for i in range(draw(st.integers(1, 3000)))}
        )
    elif op == "empty":
        parent[key] = draw(st.sampled_from([{}, [], ""]))
    elif op == "deep":
        parent[key] = f"__DEEP_{draw(st.sampled_from([20, 200, 900, 3000]))}__"
    elif op == "years":
        data["years"] = draw(st.sampled_from([[1, 9999], [2025, 2024], [2025, 2025], [2025, 2125], [0, 1],
                                              [2025.0, 2026], "2025-2030", [2025, 10**400]]))
    return f"{op} {'.'.join(map(str, path))}"


@st.composite
def mutated_files(draw):
    """(file name, text, description) of a mutated instance, YAML or JSON."""
    source = draw(st.sampled_from(sorted(SOURCES)))
    data = copy.deepcopy(SOURCES[source])
    done = [draw(mutation(data)) for _ in range(draw(st.integers(1, 3)))]
    fmt = draw(st.sampled_from(["yaml", "yaml", "yaml", "json"]))
    if fmt == "json":
        text = json.dumps(data, default=str)
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        extra = draw(st.sampled_from(["none", "none", "duplicate", "tag", "bomb"]))
        lines = text.splitlines()
        if extra == "duplicate":  # a key given twice
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
        elif extra == "tag":
            scalars = [i for i, line in enumerate(lines) if re.search(r":\s+[-\d.e+]+\s*$", line)]
            if scalars:
                i = draw(st.sampled_from(scalars))
                lines[i] = lines[i].rsplit(":", 1)[0] + ": " + draw(st.sampled_from(TAGS))
        elif extra == "bomb":  # a field set to 9^9 "lol"s through aliases
            fields = [i for i, line in enumerate(lines) if re.match(r"^\s*\w+:\s+\S", line)]
            i = draw(st.sampled_from(fields))
            lines[i] = lines[i].split(":", 1)[0] + ": *a9"
            lines = BOMB.splitlines() + lines
        done.append(extra)
        text = "\n".join(lines) + "\n"
    text = re.sub(r'"?__DEEP_(\d+)__"?', lambda m: "[" * int(m.group(1)) + "1" + "]" * int(m.group(1)), text)
    return f"fuzz.{fmt}", text, f"{source}: {', '.join(done)}"


# --- the outcomes ---------------------------------------------------------------------------


@contextmanager
def time_limit(seconds: int):
    """Fail (instead of hanging) when the block takes longer than ``seconds``."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def hang(signum, frame):
        raise TimeoutError(f"no outcome within {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def assert_short(text: str, what: str) -> None:
    assert text.strip(), f"{what}: empty message"
    assert len(text.splitlines()) <= MAX_LINES and len(text) <= MAX_CHARS, f"{what}: too long:\n{text[:3000]}"


def api_outcome(file: Path) -> str:
    """Load, solve, check (or diagnose) through the Python API; return the outcome."""
    try:
        inst = planner.load_instance(file)
    except planner.InstanceError as err:
        assert_short(err.render(), "InstanceError")
        assert all(isinstance(path, str) and isinstance(message, str) for path, message in err.problems)
        assert str(file) in err.render()
        return "invalid"
    warned = scaling_warning(inst) is not None
    try:
        plan = planner.solve(inst)
    except SolverFailure as err:
        assert warned, f"solver failure on a well-scaled instance: {err}"
        return "solver failure (badly scaled)"
    if plan.status == "optimal":
        problems = planner.check_plan(plan)
        if problems:
            assert warned, f"a well-scaled plan fails the check: {problems[:5]}"
            assert plan.summary["max_violation"] > 0, problems[:5]
            return "optimal, inaccurate (badly scaled)"
        return "optimal"
    assert plan.status == "infeasible"
    try:
        diagnosis = planner.diagnose(inst)
    except SolverFailure as err:
        assert warned, f"the diagnosis failed on a well-scaled instance: {err}"
        return "infeasible, diagnosis failed (badly scaled)"
    assert diagnosis.render().strip()
    return "infeasible"


def cli_outcome(file: Path, out: Path) -> int:
    """``planner solve FILE --out OUT`` through CliRunner; return the exit code."""
    result = CliRunner().invoke(app, ["solve", str(file), "--out", str(out)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    code, err = result.exit_code, result.stderr
    warned = "warning: coefficients span" in err
    assert code in (0, 1, 2, 3), (code, err[-2000:])
    if code == 2:
        assert_short(err, "exit 2")
        assert all(line.startswith(("invalid instance: ", "error: ", "warning: ", "Solving "))
                   for line in err.splitlines()), err
        assert str(file) in err
        assert not out.exists()
    elif code == 3:
        assert warned, f"exit 3 on a well-scaled instance: {err}"
        assert not out.exists()
    elif code == 1:
        assert "infeasible" in err and not out.exists()
    else:
        assert_short(err, "exit 0 stderr")
        assert {p.name for p in out.iterdir()} == set(RESULT_FILES)
        problems = check_folder(planner.load_instance(file), out)
        summary = json.loads((out / "summary.json").read_text())
        assert not problems or (warned and summary["max_violation"] > 0), problems[:5]
    return code


# --- the tests ------------------------------------------------------------------------------


@fuzz(60)
@given(case=mutated_files())
@example(case=("fuzz.yaml", "years: [2025, 2026]\nname: " + "9" * 5000 + "\n", "a number with 5000 digits"))
@example(case=("fuzz.json", '{"years": [2025, ' + "9" * 400 + "]}", "a JSON number with 400 digits"))
@example(case=("fuzz.yaml", BOMB + "years: *a9\n", "billion laughs in years"))
@example(case=("fuzz.yaml", "years: [2025-02-30, 2026]\n", "a date that does not exist"))
def test_mutated_instances_through_api_and_cli(case):
    name, text, description = case
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / name
        file.write_text(text, encoding="utf-8")
        with time_limit(60):
            outcome = api_outcome(file)
            code = cli_outcome(file, Path(folder) / "out")
    event(outcome)  # pytest --hypothesis-show-statistics: how often each outcome is reached
    expected = {"invalid": 2, "optimal": 0, "infeasible": 1}
    if outcome in expected:
        assert code == expected[outcome], (description, outcome, code)


def _valid_variant(data: dict, draw) -> dict:
    """``data`` with one or two numbers replaced by extreme (but valid) magnitudes."""
    numbers = [p for p in _paths(data) if _is_number(_at(data, p)) and p[0] != "years"
               and not any(str(part) in ("term", "lead_time", "lifetime", "depreciation_years") for part in p)]
    for path in draw(st.lists(st.sampled_from(numbers), min_size=1, max_size=2, unique=True)):
        parent, key = _at(data, path[:-1]), path[-1]
        bounded = any(str(part) in ("min_served", "min_share", "max_share", "max_decline", "rate", "probability",
                                    "discount_rate") for part in path)
        factor = draw(st.sampled_from([1e-12, 1e-9, 1e-6, 1e6, 1e9, 1e12]))
        parent[key] = min(parent[key] * factor, 1.0 if bounded else 1e15) if parent[key] else factor
    return data


@fuzz(25)
@given(data=st.data())
def test_extreme_but_valid_numbers(data):
    """Numbers from 1e-12 to 1e12 times their usual size: valid, so the outcome is a
    checked plan or an infeasibility, unless the instance is badly scaled (warned)."""
    source = data.draw(st.sampled_from(["small", "toy", "openai-2025"]))
    variant = _valid_variant(copy.deepcopy(SOURCES[source]), data.draw)
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "extreme.yaml"
        file.write_text(yaml.safe_dump(variant, sort_keys=False), encoding="utf-8")
        with time_limit(60):
            outcome = api_outcome(file)
            code = cli_outcome(file, Path(folder) / "out")
    event(outcome)
    assert outcome != "invalid" or code == 2


@fuzz(15)
@given(fan=st.integers(2, 12), depth=st.integers(2, 12), where=st.sampled_from(
    ["years", "name", "description", "objective", "workloads", "providers.x", "finance.funding", "units"]))
def test_alias_bombs_fail_fast_with_exit_2(fan, depth, where):
    """Aliases that expand to fan ** depth values: refused (or validated) in well under a
    second, whatever their size, with one short message."""
    lines = [f"l0: &a0 [{', '.join(['lol'] * fan)}]"]
    lines += [f"l{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan)}]" for i in range(1, depth)]
    head, _, tail = where.partition(".")
    value = f"*a{depth - 1}"
    lines.append(f"{head}: {{{tail}: {value}}}" if tail else f"{head}: {value}")
    text = "\n".join(lines) + "\n"
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "bomb.yaml"
        file.write_text(text)
        with time_limit(20):
            with pytest.raises(planner.InstanceError) as caught:
                planner.load_instance(file)
            assert_short(caught.value.render(), "bomb")
            if fan ** depth > planner.instance.loading.MAX_NODES:
                assert "too large" in caught.value.render()
            assert cli_outcome(file, Path(folder) / "out") == 2


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system ['touch PWNED']", "!!python/name:os.system",
                                 "!!python/object/new:os.system [ls]", "!!python/module:os"])
def test_python_tags_are_refused(tmp_path, base, tag, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = yaml.safe_dump(base, sort_keys=False).replace("name: small", f"name: {tag}")
    file = tmp_path / "tagged.yaml"
    file.write_text(text)
    with pytest.raises(planner.InstanceError) as caught:
        planner.load_instance(file)
    assert "could not determine a constructor" in str(caught.value)
    assert not (tmp_path / "PWNED").exists()


def test_many_problems_are_summarised(base):
    for i in range(50):
        base[f"unknown{i}"] = 1
    with pytest.raises(planner.InstanceError) as caught:
        planner.load_instance(base)
    text = caught.value.render()
    assert len(caught.value.problems) == 50
    assert text.splitlines()[-1] == "... and 40 more problems"
    assert_short(text, "50 problems")


def test_many_long_problems_fit_on_a_screen(tmp_path, base):
    """Found by fuzzing: ten lines of "unknown key; expected one of: ..." under a long
    file name passed 2000 characters."""
    for i in range(12):
        base["providers"]["microsoft"][f"{1000 + i}"] = 1.0
    file = tmp_path / ("a-long-folder-name-" * 4) / "instance.yaml"
    file.parent.mkdir()
    file.write_text(yaml.safe_dump(base))
    with pytest.raises(planner.InstanceError) as caught:
        planner.load_instance(file)
    text = caught.value.render()
    assert_short(text, "long problems")
    assert text.splitlines()[-1].endswith("more problems")
    result = CliRunner().invoke(app, ["validate", str(file)])
    assert result.exit_code == 2
    assert_short(result.stderr, "validate")


@pytest.mark.parametrize("name", ["x" * 5000, "a\nb\nc", "tab\there"])
def test_names_must_be_short_and_printable(base, name):
    base["providers"][name] = base["providers"].pop("stargate")
    with pytest.raises(planner.InstanceError) as caught:
        planner.load_instance(base)
    text = caught.value.render()
    assert_short(text, "name")
    assert len(text.splitlines()) == 1 and text.startswith("providers.")


def test_a_series_with_many_overlapping_ranges_is_fast(base):
    """30,000 spellings of one range: clipped and counted, not walked year by year."""
    base["years"] = [1000, 9999]
    spellings = {f"{' ' * (i % 50)}1000{' ' * (i // 50 % 50)}-{' ' * (i // 2500)}9999" for i in range(30_000)}
    assert len(spellings) == 30_000
    base["workloads"]["training"]["demand"] = dict.fromkeys(spellings, 1.0)
    with time_limit(20):
        with pytest.raises(planner.InstanceError) as caught:
            planner.load_instance(base)
    assert "given more than once" in str(caught.value)
    assert_short(str(caught.value), "overlaps")
