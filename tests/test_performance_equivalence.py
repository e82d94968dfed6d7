"""The fast path builds and solves exactly the LP of before (no timings here).

``planner.model.lp`` builds its sums from precomputed lookups as flat linear expressions,
and ``planner.solver.highs.LinearProgram`` compiles the model into HiGHS itself instead of going
through Pyomo's persistent interface. The reference below is the straightforward build
those replaced — plain ``sum(...)`` rules that scan every signing and build for each
``(p, t)`` — kept here verbatim; everything the fast path did not touch (the other
constraint families, objectives, scenarios, the elastic model) is shared. Checked, on the
shipped instances and on random ones (``tests/strategies.py``), with and without cases,
for both objectives and the diagnosis model:

- the two models compile to the same LP: the same rows and columns, by name and in the
  same order, with the same coefficients and bounds (to round-off);
- the planner's optimum equals the reference model's solved the old way, through
  Pyomo's persistent HiGHS interface;
- the planner's optimum equals highspy's on the file ``planner export`` writes.
"""

from __future__ import annotations

from pathlib import Path

import highspy
import numpy as np
import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, given, settings

import planner
import planner.model.lp as fast
from planner.solver.export import export_lp
from planner.model.elastic import build_elastic_model
from planner.model.lp import _provider_years, build_model, build_online, contract_active, depreciating
from planner.solver.highs import LinearProgram

from .strategies import instances
from .test_scenarios import scenario_instances

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "instances").glob("*.yaml")) + sorted((ROOT / "instances" / "infeasible").glob("*.yaml"))
SOME = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
OBJECTIVES = ("cumulative_loss", "peak_cumulative_loss")


# --------------------------------------------------------------------------------------
# The reference: the plain rules of the first implementation
# --------------------------------------------------------------------------------------


def reference_sets(m, inst) -> None:
    years = inst.year_list
    m.T = pyo.Set(initialize=years, ordered=True)
    m.W = pyo.Set(initialize=list(inst.workloads), ordered=True)
    m.P = pyo.Set(initialize=list(inst.providers), ordered=True)
    m.SIGNINGS = pyo.Set(dimen=3, ordered=True, initialize=[
        (p, k, s) for p, prov in inst.providers.items() for k in prov.contracts for s in inst.signing_years(p, k)
    ])
    m.BUILD_PROVIDERS = pyo.Set(initialize=[p for p, prov in inst.providers.items() if prov.build is not None], ordered=True)
    m.BUILDS = pyo.Set(dimen=2, ordered=True, initialize=[(p, s) for p in m.BUILD_PROVIDERS for s in years])
    m.USES = pyo.Set(dimen=3, ordered=True, initialize=[
        (p, w, t) for p in inst.providers for w in inst.allowed_workloads(p) for t in years
    ])


def reference_expressions(m, inst) -> None:
    providers, finance = inst.providers, inst.finance
    t0 = inst.years[0]
    by_provider = {p: [] for p in providers}
    for p, k, s in m.SIGNINGS:
        by_provider[p].append((k, s))

    def owned(m, p, t):
        build = providers[p].build
        if build is None:
            return 0.0
        return build.initial + sum(m.b[p, s] for s in m.T if build_online(inst, p, s, t))

    def contracted(m, p, t):
        return sum(m.c[p, k, s] for k, s in by_provider[p] if contract_active(inst, p, k, s, t))

    def spend(m, p, t):
        contracts = providers[p].contracts
        return (
            providers[p].existing_cost[t]
            + sum(contracts[k].price[s] * m.c[p, k, s] for k, s in by_provider[p] if contract_active(inst, p, k, s, t))
            + sum(contracts[k].upfront[t] * m.c[p, k, s] for k, s in by_provider[p] if s == t)
        )

    def served(m, w, t):
        return sum(providers[p].efficiency[t] * m.u[p, w, t] for p in m.P if w in inst.allowed_workloads(p))

    def capex_expense(m, t):
        total = 0.0
        for p in m.BUILD_PROVIDERS:
            build = providers[p].build
            if not build.capex_in_loss:
                continue
            if build.depreciation_years == 0:
                total += build.capex[t] * m.b[p, t]
            else:
                total += sum(build.capex[s] * m.b[p, s] / build.depreciation_years
                             for s in m.T if depreciating(inst, p, s, t))
        return total

    def debt_before(m, t):
        return finance.debt.initial if t == t0 else m.debt[t - 1]

    m.owned_capacity = pyo.Expression(m.P, m.T, rule=owned)
    m.contracted_capacity = pyo.Expression(m.P, m.T, rule=contracted)
    m.active_capacity = pyo.Expression(m.P, m.T, rule=lambda m, p, t: providers[p].existing[t]
                                       + m.contracted_capacity[p, t] + m.owned_capacity[p, t])
    m.spend = pyo.Expression(m.P, m.T, rule=spend)
    m.served = pyo.Expression(m.W, m.T, rule=served)
    m.revenue = pyo.Expression(m.T, rule=lambda m, t: finance.base_revenue[t]
                               + sum(inst.workloads[w].revenue[t] * m.served[w, t] for w in m.W))
    m.compute_cost = pyo.Expression(m.T, rule=lambda m, t: sum(m.charge[p, t] for p in m.P)
                                    + sum(providers[p].build.opex[t] * m.owned_capacity[p, t] for p in m.BUILD_PROVIDERS))
    m.capex = pyo.Expression(m.T, rule=lambda m, t: sum(providers[p].build.capex[t] * m.b[p, t] for p in m.BUILD_PROVIDERS))
    m.capex_expense = pyo.Expression(m.T, rule=capex_expense)
    m.interest = pyo.Expression(m.T, rule=lambda m, t: finance.debt.rate * debt_before(m, t))
    m.debt_before = pyo.Expression(m.T, rule=debt_before)
    m.loss = pyo.Expression(m.T, rule=lambda m, t: m.compute_cost[t] + m.capex_expense[t] + finance.other_costs[t]
                            + m.interest[t] - m.revenue[t])
    m.cumulative_loss = pyo.Expression(m.T, rule=lambda m, t: sum(m.loss[tau] for tau in m.T if tau <= t))
    m.discounted_loss = pyo.Expression(expr=sum(inst.discount_factor(t) * m.loss[t] for t in m.T))


def reference_use_within_reach(m, inst) -> None:
    m.use_within_reach = pyo.Constraint(m.P, m.T, rule=lambda m, p, t: sum(
        m.u[p, w, t] for w in inst.allowed_workloads(p)) <= m.active_capacity[p, t])


def reference_model(inst, objective=None, elastic=False):
    """``build_model`` with the plain rules in place of the fast ones."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fast, "add_sets", reference_sets)
        patch.setattr(fast, "add_expressions", reference_expressions)
        patch.setattr(fast, "add_use_within_reach", reference_use_within_reach)
        model = build_elastic_model(inst) if elastic else build_model(inst, objective)
    assert not hasattr(model, "lookup") and (inst.scenarios is None or not hasattr(model.case[next(iter(inst.cases))], "lookup"))
    assert _provider_years is fast._provider_years  # the shared families are the same code
    return model


# --------------------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------------------


def compiled(model) -> dict:
    """The LP HiGHS holds, with the model's names."""
    lp = LinearProgram(model)
    h = lp.highs.getLp()
    a = h.a_matrix_
    start, index, value = np.array(a.start_), np.array(a.index_), np.array(a.value_)
    outer = np.repeat(np.arange(len(start) - 1), np.diff(start))
    rows, cols = (outer, index) if a.format_ == highspy.MatrixFormat.kRowwise else (index, outer)
    columns = [v.name for v in lp.columns]
    names = [c.name for c in lp.rows]
    return {
        "columns": columns, "rows": names,
        "matrix": {(names[i], columns[j]): x for i, j, x in zip(rows.tolist(), cols.tolist(), value.tolist())},
        "cost": dict(zip(columns, np.array(h.col_cost_).tolist())), "offset": h.offset_,
        "col_bounds": list(zip(np.array(h.col_lower_).tolist(), np.array(h.col_upper_).tolist())),
        "row_bounds": list(zip(np.array(h.row_lower_).tolist(), np.array(h.row_upper_).tolist())),
    }


def close(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= 1e-11 * max(1.0, abs(a), abs(b))


def assert_same_lp(inst, objective=None, elastic=False) -> None:
    new = compiled(build_elastic_model(inst) if elastic else build_model(inst, objective))
    old = compiled(reference_model(inst, objective, elastic))
    assert new["columns"] == old["columns"]
    assert new["rows"] == old["rows"]
    assert new["matrix"].keys() == old["matrix"].keys()
    assert all(close(x, old["matrix"][key]) for key, x in new["matrix"].items())
    assert all(close(x, old["cost"][name]) for name, x in new["cost"].items()) and close(new["offset"], old["offset"])
    assert new["col_bounds"] == old["col_bounds"]
    assert all(close(a, c) and close(b, d) for (a, b), (c, d) in zip(new["row_bounds"], old["row_bounds"]))


def reference_optimum(inst, objective=None):
    """The reference model solved the old way: Pyomo's persistent HiGHS interface."""
    from pyomo.contrib.solver.common.results import TerminationCondition
    from pyomo.contrib.solver.solvers.highs import Highs

    result = Highs().solve(reference_model(inst, objective), load_solutions=False, raise_exception_on_nonoptimal_result=False)
    if result.termination_condition != TerminationCondition.convergenceCriteriaSatisfied:
        return None
    return result.incumbent_objective


def assert_same_optimum(inst, objective=None) -> None:
    plan = planner.solve(inst, objective=objective)
    old = reference_optimum(inst, objective)
    if old is None:
        assert plan.status == "infeasible"
    else:
        assert plan.status == "optimal"
        assert plan.objective_value == pytest.approx(old, rel=1e-7, abs=1e-7)


# --------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_instances_build_the_same_lp_and_optimum(path):
    inst = planner.load_instance(path)
    for objective in OBJECTIVES:
        assert_same_lp(inst, objective)
        assert_same_optimum(inst, objective)
    assert_same_lp(inst, elastic=True)


@SOME
@given(data=instances())
def test_random_instances_build_the_same_lp_and_optimum(data):
    inst = planner.load_instance(data)
    assert_same_lp(inst)
    assert_same_lp(inst, "peak_cumulative_loss")
    assert_same_lp(inst, elastic=True)
    assert_same_optimum(inst)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=scenario_instances())
def test_random_scenario_instances_build_the_same_lp_and_optimum(data):
    inst = planner.load_instance(data)
    assert_same_lp(inst)
    assert_same_optimum(inst)


@pytest.mark.parametrize("name", ["openai-2025", "openai-2025-uncertain", "toy"])
@pytest.mark.parametrize("fmt", ["mps", "lp"])
def test_the_exported_file_is_the_lp_the_planner_solves(tmp_path, name, fmt):
    inst = planner.load_instance(ROOT / "instances" / f"{name}.yaml")
    for objective in OBJECTIVES:
        written = export_lp(inst, tmp_path / f"{name}-{objective}.{fmt}", objective=objective)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        assert h.readModel(str(written["path"])) == highspy.HighsStatus.kOk
        assert (h.getNumCol(), h.getNumRow(), h.getNumNz()) == (written["columns"], written["rows"], written["nonzeros"])
        h.run()
        plan = planner.solve(inst, objective=objective)
        assert h.getInfo().objective_function_value == pytest.approx(plan.objective_value, rel=1e-9, abs=1e-9)


@SOME
@given(data=instances())
def test_random_exported_files_solve_to_the_planners_optimum(tmp_path_factory, data):
    inst = planner.load_instance(data)
    written = export_lp(inst, tmp_path_factory.mktemp("export") / "lp.mps")
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(written["path"]))
    h.run()
    plan = planner.solve(inst)
    if plan.status == "optimal":
        assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        assert h.getInfo().objective_function_value == pytest.approx(plan.objective_value, rel=1e-7, abs=1e-7)
    else:
        assert h.getModelStatus() != highspy.HighsModelStatus.kOptimal


def test_export_command(tmp_path):
    """`planner export`: the file, one line saying what was written, exit 2 for bad input."""
    from typer.testing import CliRunner

    from planner.cli import app

    def run(*args):
        result = CliRunner().invoke(app, [str(a) for a in args])
        assert "Traceback" not in result.output
        return result

    toy = ROOT / "instances" / "toy.yaml"
    result = run("export", toy, "--format", "lp", "--out", tmp_path / "toy.txt")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Wrote ") and "30 columns, 41 rows, 93 non-zeros" in result.stdout
    assert (tmp_path / "toy.txt").read_text().startswith("\\ File written by HiGHS .lp file handler")
    assert run("export", toy, "--out", tmp_path / "toy.mps").exit_code == 0
    assert "ROWS" in (tmp_path / "toy.mps").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy.mps", "toy.txt"]  # no temporary file left
    bad = tmp_path / "bad.yaml"
    bad.write_text("years: [2025, 2024]\n", encoding="utf-8")
    result = run("export", bad, "--out", tmp_path / "bad.mps")
    assert result.exit_code == 2 and result.stderr.startswith("invalid instance: ")
    assert run("export", toy, "--format", "xls", "--out", tmp_path / "x").exit_code == 2
    result = run("export", toy, "--out", tmp_path)
    assert result.exit_code == 2 and "is a folder" in result.stderr
    assert not (tmp_path / "bad.mps").exists()
