"""Limits: the time limit, the LP size refused before building, the document's size,
numbers the solver would read as infinite; and the scaling warning and ``max_violation``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pyomo.environ as pyo
import pytest
import yaml
from typer.testing import CliRunner

import planner
import planner.solver.highs
from planner.cli import app
from planner.instance.loading import MAX_CONSTRAINTS, MAX_NODES, MAX_VARIABLES, estimate_size
from planner.instance.errors import InstanceError
from planner.model.lp import build_model
from planner.instance.scaling import scaling_warning

from .conftest import write_yaml

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def generated(years: int, providers: int, workloads: int, contracts: int, first: int = 2025) -> dict:
    """A feasible instance of the given sizes."""
    return {
        "name": "generated",
        "years": [first, first + years - 1],
        "finance": {"initial_cash": 1000.0, "debt": {"limit": 100.0}},
        "workloads": {f"w{i}": {"demand": 1.0 + i % 4, "min_served": 0.5, "revenue": 3.0 + i % 5}
                      for i in range(workloads)},
        "providers": {
            f"p{j}": {
                "capacity": 5.0 + j, "efficiency": 1.0 + (j % 3) / 10,
                "contracts": {f"k{k}": {"term": 1 + k, "price": 2.0 + j % 7 + k / 3} for k in range(contracts)},
            }
            for j in range(providers)
        },
    }


# --- the time limit ------------------------------------------------------------------


def test_time_limit_ends_a_long_solve_with_exit_3(tmp_path):
    """A largish instance (~8,500 variables) cannot be solved in a millisecond."""
    instance = write_yaml(tmp_path, generated(30, 20, 10, 3), "large.yaml")
    out = tmp_path / "out"
    result = run("solve", instance, "--out", out, "--time-limit", "0.001")
    assert result.exit_code == 3, result.output
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("Solving")]
    assert lines == ["solver failure: the solver reached the time limit of 0.001 s without an optimal plan; "
                     "no results written"]
    assert not out.exists()


def test_time_limit_is_passed_to_the_solver(tmp_path, base, monkeypatch):
    """Independent of the machine's speed: the limit reaches the solver, whose time-limit
    stop is exit 3."""
    seen = []

    def stopped(inst, objective=None, time_limit=None, **kwargs):
        seen.append(time_limit)
        raise planner.solver.highs.SolverFailure("time_limit", f"the solver reached the time limit of {time_limit} s")

    monkeypatch.setattr(planner.solver.highs, "solve", stopped)
    result = run("solve", write_yaml(tmp_path, base), "--out", tmp_path / "out", "--time-limit", "2.5", "-q")
    assert result.exit_code == 3 and seen == [2.5]
    assert "time limit of 2.5 s" in result.stderr


# --- the size of the LP ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["toy", "openai-2025", "openai-2025-uncertain"])
def test_the_estimate_is_an_upper_bound_of_the_model(name):
    inst = planner.load_instance(f"instances/{name}.yaml")
    import yaml

    size = estimate_size(yaml.safe_load(open(f"instances/{name}.yaml")))
    model = build_model(inst)
    variables = sum(1 for _ in model.component_data_objects(pyo.Var))
    constraints = sum(1 for _ in model.component_data_objects(pyo.Constraint))
    assert variables <= size["variables"] <= 3 * variables
    assert constraints <= size["constraints"] <= 4 * constraints


def test_the_estimate_on_a_generated_instance():
    data = generated(5, 4, 3, 2)
    size = estimate_size(data)
    assert (size["years"], size["providers"], size["workloads"], size["contracts"], size["uses"]) == (5, 4, 3, 8, 12)
    model = build_model(planner.load_instance(data))
    assert sum(1 for _ in model.component_data_objects(pyo.Var)) <= size["variables"]
    assert sum(1 for _ in model.component_data_objects(pyo.Constraint)) <= size["constraints"]


def test_an_instance_above_the_size_limit_is_refused_before_building(tmp_path, monkeypatch):
    """9,000 years x 300 providers x 10 workloads: a small file, an LP of ~40 million
    variables. Refused in well under a second, nothing built."""
    data = generated(9000, 300, 10, 1, first=1000)
    size = estimate_size(data)
    assert size["variables"] > MAX_VARIABLES
    built = []
    monkeypatch.setattr(planner.solver.highs, "solve", lambda *a, **k: built.append(1))
    file = write_yaml(tmp_path, data)
    started = time.perf_counter()
    result = run("solve", file, "--out", tmp_path / "out")
    assert time.perf_counter() - started < 5
    assert result.exit_code == 2 and built == []
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "too large: the LP would have about" in lines[0]
    assert "9,000 years x 300 providers" in lines[0] and "10 workloads" in lines[0]
    assert f"{MAX_VARIABLES:,} variables" in lines[0] and f"{MAX_CONSTRAINTS:,} constraints" in lines[0]
    with pytest.raises(InstanceError):
        planner.load_instance(data)


def test_many_cases_count_in_the_size(base):
    base["scenarios"] = {"cases": {f"c{i}": {"probability": 1 / 5000} for i in range(5000)}}
    base["years"] = [2025, 2124]
    with pytest.raises(InstanceError) as caught:
        planner.load_instance(base)
    assert "too large" in str(caught.value) and "5,000 cases" in str(caught.value)


def test_a_document_with_too_many_values_is_refused(tmp_path, base):
    base["description"] = "x"
    text = write_yaml(tmp_path, base).read_text() + "extra: [" + ", ".join(["1"] * (MAX_NODES + 1)) + "]\n"
    file = tmp_path / "big.yaml"
    file.write_text(text)
    started = time.perf_counter()
    with pytest.raises(InstanceError) as caught:
        planner.load_instance(file)
    assert time.perf_counter() - started < 10
    assert f"more than {MAX_NODES:,} values" in str(caught.value)


def test_a_big_json_document_is_refused_too(tmp_path, base):
    base["extra"] = list(range(MAX_NODES + 1))
    file = tmp_path / "big.json"
    file.write_text(json.dumps(base))
    with pytest.raises(InstanceError) as caught:
        planner.load_instance(file)
    assert f"more than {MAX_NODES:,} values" in str(caught.value)


@pytest.mark.parametrize("value", [1e16, 1e20, 1e300, 10**400])
def test_numbers_the_solver_reads_as_infinite_are_refused(base, value):
    base["providers"]["microsoft"]["contracts"]["on_demand"]["price"] = value
    with pytest.raises(InstanceError) as caught:
        planner.load_instance(base)
    [(path, message)] = caught.value.problems
    assert path == "providers.microsoft.contracts.on_demand.price"
    assert "1e+15" in message or "too large" in message


@pytest.mark.parametrize("field", ["term", "lead_time"])
def test_whole_numbers_are_bounded(base, field):
    providers = base["providers"]
    target = providers["microsoft"]["contracts"]["on_demand"] if field == "term" else providers["stargate"]["build"]
    target[field] = 10**400
    with pytest.raises(InstanceError) as caught:
        planner.load_instance(base)
    [(path, message)] = caught.value.problems
    assert path.endswith(field) and "10000" in message


# --- scaling and the largest violation ---------------------------------------------------


def test_shipped_instances_are_well_scaled_and_satisfy_every_constraint():
    for name in ("toy", "openai-2025"):
        plan = planner.solve(f"instances/{name}.yaml")
        assert scaling_warning(plan.instance) is None
        assert plan.summary["warnings"] == []
        assert plan.summary["max_violation"] == 0.0 and plan.summary["max_violation_constraint"] is None


def test_badly_scaled_instance_gets_a_warning_naming_the_fields(tmp_path, base):
    base["workloads"]["inference"]["revenue"] = 1e-6
    base["providers"]["microsoft"]["capacity"] = 1e6
    inst = planner.load_instance(base)
    warning = scaling_warning(inst)
    assert warning == ("coefficients span 1e-06 (workloads.inference.revenue) to 1e+06 "
                       "(providers.microsoft.capacity); results may be inaccurate")
    result = run("solve", write_yaml(tmp_path, base), "--out", tmp_path / "out", "-q")
    assert result.exit_code == 0
    assert result.stderr.strip().splitlines() == [f"warning: {warning}"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["warnings"] == [warning]


def test_a_case_value_is_named_by_its_set_path(base):
    base["scenarios"] = {"cases": {"a": {"probability": 0.5},
                                   "b": {"probability": 0.5, "set": {"finance.other_costs": 1e-9}}}}
    base["finance"]["initial_cash"] = 100.0
    warning = scaling_warning(planner.load_instance(base))
    assert "1e-09 (scenarios.cases.b.set.finance.other_costs)" in warning


def test_max_violation_reports_the_worst_constraint():
    """Tables whose decisions miss a constraint: the summary field names it and its size."""
    from planner.results.check import check_tables, max_violation

    plan = planner.solve("instances/toy.yaml")
    assert max_violation(plan.instance, plan.tables) == (0.0, None)
    tables = {name: frame.copy() for name, frame in plan.tables.items()}
    usage = tables["usage"]
    row = usage.index[(usage["provider"] == "stargate") & (usage["year"] == 2027)][0]
    usage.loc[row, "capacity"] += 0.25  # uses more than is active
    amount, constraint = max_violation(plan.instance, tables)
    assert amount == pytest.approx(0.25)
    assert constraint == "use_within_reach stargate 2027"
    claimed = dict(plan.summary, max_violation=0.0)
    assert not any("max_violation" in p for p in check_tables(plan.instance, plan.tables, claimed))
    assert any("max_violation" in p for p in check_tables(plan.instance, tables, claimed))


def test_a_plan_that_misses_a_constraint_says_so(tmp_path, base, monkeypatch):
    import planner.results.check

    monkeypatch.setattr(planner.results.check, "max_violation", lambda inst, tables: (0.5, "minimum_cash 2026"))
    out = tmp_path / "out"
    result = run("solve", write_yaml(tmp_path, base), "--out", out, "-q")
    assert result.exit_code == 0
    assert result.stderr.strip() == "warning: the plan misses minimum_cash 2026 by 0.5 (max_violation in summary.json)"
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["max_violation"], summary["max_violation_constraint"]) == (0.5, "minimum_cash 2026")


def test_an_lp_the_simplex_leaves_undecided_is_decided_by_the_interior_point_method(tmp_path):
    # found by tests/test_fuzz.py: openai-2025 with Microsoft's 2027 efficiency a million
    # times smaller (1.3e-6, not badly scaled: no warning) and all of 2030's capacity
    # required at Microsoft. HiGHS's dual simplex stops with status "Unknown"; the
    # interior point method finds the LP infeasible, and the diagnosis says why.
    data = yaml.safe_load((ROOT / "instances" / "openai-2025.yaml").read_text())
    data["providers"]["microsoft"]["efficiency"] = {2025: 1.0, 2026: 1.15, 2027: 1.3e-6, 2028: 1.45, 2029: 1.6,
                                                    2030: 1.75}
    data["providers"]["microsoft"]["min_share"] = {2025: 0.6, 2026: 0.5, 2027: 0.4, 2028: 0.32, 2029: 0.26,
                                                   2030: 1.0}
    inst = planner.instance.loading.validate_instance(data)
    assert scaling_warning(inst) is None
    lp = planner.solver.highs.LinearProgram(build_model(inst))
    lp.highs.run()
    assert lp.highs.getModelStatus() == planner.solver.highs._STATUS.kUnknown  # the case this test is about
    assert planner.solve(inst).status == "infeasible"
    assert len(planner.diagnose(inst).table) > 0
    path = write_yaml(tmp_path, data, "undecided.yaml")
    result = CliRunner().invoke(app, ["solve", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and "infeasible" in result.output
