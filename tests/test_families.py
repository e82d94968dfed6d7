"""The table of constraint families (planner.model.families) against the model and its words.

(a) Every constraint component the model builds — plain, with the peak objective and its
    second stage, a scenario instance with a risk weight > 0, the diagnosis model — has a
    row, and every row is built (non-empty) by some instance; the table's order is the
    model's.
(b) Every hard family's diagnosis names what gave in exact words: one small infeasible
    instance per hard family (those of tests/test_diagnose.py), its label and message
    written out by hand here, not read from the table.
(c) Every family of duals.csv has its sentence checked, exactly, on a small instance where
    it binds (the instances of tests/test_duals.py, whose shadow prices are worked out
    there, and three more worked out below).
"""

from __future__ import annotations

from pathlib import Path

import pyomo.core as pyo
import pytest

import planner
from planner.model.elastic import build_elastic_model
from planner.model.families import DUAL_FAMILIES, FAMILIES, HARD_FAMILIES, with_role
from planner.model.lp import build_model
from planner.solver.duals import FAMILIES as DUALS_FAMILIES
from planner.solver.duals import LIMIT_FAMILIES


from .test_diagnose import CASES as INFEASIBLE

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "instances" / "toy.yaml"
UNCERTAIN = ROOT / "instances" / "openai-2025-uncertain.yaml"
UNITS = {"money": "USD billion", "capacity": "GW"}
AMPLE = {"initial_cash": 100}


def constraint_components(model) -> dict[str, int]:
    """``{name: number of rows}`` of every constraint component, in every block."""
    return {c.local_name: len(c) for c in model.component_objects(pyo.Constraint, descend_into=True)}


# ======================================================================================
# Small instances where each family of duals.csv binds
# ======================================================================================

#: name -> instance data. Their shadow prices are worked out in tests/test_duals.py (A to F,
#: the same instances) and in the docstring of test_every_dual_sentence (G, H, I).
BINDING = {
    "A": {"years": [2025, 2025], "units": UNITS, "finance": AMPLE, "workloads": {"w": {"demand": 3}},
          "providers": {"cheap": {"capacity": 1, "contracts": {"od": {"term": 1, "price": 1}}},
                        "dear": {"efficiency": 2, "contracts": {"od": {"term": 1, "price": 3}}}}},
    "B": {"years": [2025, 2026], "units": UNITS, "workloads": {"w": {"demand": {2025: 0, 2026: 1}}},
          "finance": {"initial_cash": 0, "funding": {2025: 0, 2026: 10},
                      "debt": {"limit": {2025: 1, 2026: 0}, "rate": 0.1}},
          "providers": {"m": {"contracts": {
              "od": {"term": 1, "price": 5},
              "pre": {"term": 2, "price": 0, "upfront": 2, "available": [2025, 2025]}}}}},
    "C": {"years": [2025, 2026], "units": UNITS, "finance": AMPLE, "workloads": {"w": {"demand": {2025: 0, 2026: 1}}},
          "providers": {"m": {"min_spend": {2025: 0, 2026: 3}, "contracts": {"od": {"term": 1, "price": 2}}}}},
    "D": {"years": [2025, 2025], "units": UNITS, "finance": AMPLE, "workloads": {"w": {"demand": 2}},
          "providers": {"a": {
              "contracts": {"cheap": {"term": 1, "price": 1, "max_per_year": 0.5}, "od": {"term": 1, "price": 3}},
              "build": {"capex": 1.5, "lead_time": 0, "max_per_year": 0.5}}}},
    "E": {"years": [2025, 2025], "units": UNITS, "finance": AMPLE,
          "workloads": {"inf": {"demand": 1, "min_served": 0, "revenue": 5}},
          "providers": {"m": {"efficiency": 2, "min_capacity": 2, "contracts": {"od": {"term": 1, "price": 2}}}}},
    "F": {"years": [2025, 2027], "units": UNITS, "objective": "peak_cumulative_loss",
          "workloads": {"w": {"demand": {2025: 1, 2026: 1, 2027: 1}}},
          "finance": {"initial_cash": 100, "base_revenue": {2025: 0, 2026: 0, 2027: 10}},
          "providers": {"m": {"contracts": {"od": {"term": 1, "price": {2025: 1, 2026: 3, 2027: 2}}}}}},
    "G": {"years": [2025, 2025], "units": UNITS, "finance": AMPLE, "workloads": {"w": {"demand": 2}},
          "providers": {"cheap": {"contracts": {"od": {"term": 1, "price": 1}}},
                        "dear": {"min_share": 0.5, "contracts": {"od": {"term": 1, "price": 3}}}}},
    "H": {"years": [2025, 2025], "units": UNITS, "finance": AMPLE, "workloads": {"w": {"demand": 2}},
          "providers": {"cheap": {"max_share": 0.5, "contracts": {"od": {"term": 1, "price": 1}}},
                        "dear": {"contracts": {"od": {"term": 1, "price": 3}}}}},
    "I": {"years": [2025, 2026], "units": UNITS, "finance": AMPLE, "workloads": {"w": {"demand": 0}},
          "providers": {"m": {"existing": {2025: 2, 2026: 0}, "max_decline": 0.5,
                              "contracts": {"od": {"term": 1, "price": 2}}}}},
}

LOWERS = "lowers the cumulative loss by"

#: family -> (instance, the row's index as in duals.csv, its meaning, word for word)
SENTENCES = {
    "contract_max_per_year": ("D", {"year": 2025, "provider": "a", "contract": "cheap"},
                              f"1 more GW of a's cheap contract allowed to be signed in 2025 {LOWERS} 2 USD billion"),
    "build_max_per_year": ("D", {"year": 2025, "provider": "a"},
                           f"1 more GW of a build allowed to start in 2025 {LOWERS} 1.5 USD billion"),
    "debt_limit": ("B", {"year": 2025}, f"1 USD billion more debt allowed at the end of 2025 {LOWERS} 1.4 USD billion"),
    "minimum_cash": ("B", {"year": 2025},
                     f"a minimum cash 1 USD billion lower at the end of 2025 {LOWERS} 1.5 USD billion"),
    "use_within_reach": ("A", {"year": 2025, "provider": "dear"},
                         f"1 more GW of dear capacity usable in 2025 at no cost {LOWERS} 3 USD billion"),
    "provider_capacity": ("A", {"year": 2025, "provider": "cheap"},
                          f"1 more GW of cheap capacity in 2025 {LOWERS} 0.5 USD billion"),
    "service_floor": ("A", {"year": 2025, "workload": "w"},
                      f"a w service floor 1 compute unit lower in 2025 {LOWERS} 1.5 USD billion"),
    "service_cap": ("E", {"year": 2025, "workload": "inf"},
                    f"1 more compute unit of inf demand in 2025 {LOWERS} 5 USD billion"),
    "minimum_capacity": ("E", {"year": 2025, "provider": "m"},
                         f"a m minimum capacity 1 GW lower in 2025 {LOWERS} 2 USD billion"),
    "min_share": ("G", {"year": 2025, "provider": "dear"},
                  f"dear's minimum share loosened by 1 GW in 2025 {LOWERS} 2 USD billion"),
    "max_share": ("H", {"year": 2025, "provider": "cheap"},
                  f"cheap's maximum share loosened by 1 GW in 2025 {LOWERS} 2 USD billion"),
    "gradual_decline": ("I", {"year": 2026, "provider": "m"},
                        f"letting m's active capacity fall 1 GW further in 2026 {LOWERS} 2 USD billion"),
    "cash_balance": ("B", {"year": 2025}, f"1 USD billion more cash (funding) in 2025 {LOWERS} 1.5 USD billion"),
    "charge_covers_spend": ("B", {"year": 2025, "provider": "m"},
                            f"m charging 1 USD billion less in 2025 {LOWERS} 2.5 USD billion"),
    "take_or_pay": ("C", {"year": 2026, "provider": "m"},
                    f"a m minimum spend 1 USD billion lower in 2026 {LOWERS} 1 USD billion"),
    "peak_bound": ("F", {"year": 2026},
                   "1 USD billion less cumulative loss by the end of 2026 lowers the peak cumulative loss by 1 USD billion"),
}


@pytest.fixture(scope="module")
def binding_plans():
    return {name: planner.solve(data, keep_model=True) for name, data in BINDING.items()}


# ======================================================================================
# (a) The table against the model
# ======================================================================================


def test_every_constraint_component_has_a_row_and_every_row_is_built(binding_plans):
    built: dict[str, int] = {}

    def seen(model):
        found = constraint_components(model)
        assert set(found) <= set(FAMILIES), set(found) - set(FAMILIES)
        for name, rows in found.items():
            built[name] = built.get(name, 0) + rows

    for objective in ("cumulative_loss", "peak_cumulative_loss"):
        plan = planner.solve(TOY, objective, keep_model=True)  # the model after the second stage, for the peak
        seen(plan.model)
    uncertain = planner.load_instance(UNCERTAIN)
    assert uncertain.scenarios.risk.weight > 0  # η, ξ and the tail rows are built
    seen(planner.solve(uncertain, keep_model=True).model)  # its second stage too
    for plan in binding_plans.values():
        seen(plan.model)
    for path in (TOY, UNCERTAIN):
        inst = planner.load_instance(path)
        seen(build_elastic_model(inst))
        seen(build_elastic_model(inst.model_copy(update={"objective": "peak_cumulative_loss"})))
    assert {name for name, rows in built.items() if rows} == set(FAMILIES)


def test_the_table_is_in_the_models_order():
    inst = planner.load_instance(TOY)
    model = build_model(inst, "peak_cumulative_loss")
    beyond_a_plan = ("nonanticipativity_signing", "nonanticipativity_build", "tail", "hold_first_stage")
    assert list(constraint_components(model)) == [name for name in FAMILIES if name not in beyond_a_plan]
    scenario = build_model(planner.load_instance(UNCERTAIN))
    top = [c.local_name for c in scenario.component_objects(pyo.Constraint, descend_into=False)]
    assert top == ["nonanticipativity_signing", "nonanticipativity_build", "tail"]


def test_the_diagnosis_model_relaxes_the_hard_families_and_drops_the_objectives_rows():
    inst = planner.load_instance(UNCERTAIN).model_copy(update={"objective": "peak_cumulative_loss"})
    model = build_elastic_model(inst)
    assert not model.tail.active
    for n in model.CASES:
        block = model.case[n]
        assert block.relaxed_families == [f.name for f in HARD_FAMILIES]
        assert not block.peak_bound.active
        for family in HARD_FAMILIES:
            rows = block.component(family.relaxed_in or family.name)
            slack = block.component(f"slack_{family.name}")
            assert list(slack) == list(block.component(family.name))
            for index, var in slack.items():
                assert any(v is var for v in _variables(rows[index].body)), (family.name, index)


def _variables(expr):
    from pyomo.core.expr.visitor import identify_variables

    return identify_variables(expr, include_fixed=False)


def test_the_plain_rules_carry_no_slack():
    model = build_model(planner.load_instance(TOY))
    assert not [v.local_name for v in model.component_objects(pyo.Var) if v.local_name.startswith("slack")]


def test_duals_and_report_read_the_table():
    assert list(DUALS_FAMILIES) == [f.name for f in DUAL_FAMILIES]
    assert all(DUALS_FAMILIES[f.name] == (f.index, f.unit) for f in DUAL_FAMILIES)
    assert LIMIT_FAMILIES == (
        "contract_max_per_year", "build_max_per_year", "debt_limit", "minimum_cash",
        "provider_capacity", "service_floor", "minimum_capacity",
        "min_share", "max_share", "gradual_decline", "take_or_pay",
    )
    assert set(with_role("identity")) >= {"cash_balance", "charge_covers_spend", "use_within_reach", "peak_bound"}
    assert with_role("market") == ("service_cap",)
    assert {f.name for f in HARD_FAMILIES} == set(INFEASIBLE)  # MODEL.md §4's list


def test_the_checks_residuals_are_named_after_families():
    from planner.results.check import recompute, residuals

    for path in (TOY, ROOT / "instances" / "openai-2025.yaml"):
        inst = planner.load_instance(path)
        plan = planner.solve(inst)
        found = residuals(inst, recompute(inst, plan.tables), plan.tables)
        assert found and {r.family for r in found} <= set(FAMILIES)


# ======================================================================================
# (b) The diagnosis's words, per hard family
# ======================================================================================

#: family -> (year, label, message) of the first row of its diagnosis, word for word.
DIAGNOSED = {
    "service_floor": (2027, "training demand", "short by 0.50 compute units (capacity: cloud 1.5)"),
    "minimum_cash": (2025, "minimum cash", "short by 3.00 USD billion"),
    "debt_limit": (2025, "debt limit", "over by 2.00 USD billion"),
    "provider_capacity": (2025, "cloud capacity", "over by 1.00 GW"),
    "minimum_capacity": (2026, "cloud minimum capacity", "short by 0.75 GW"),
    "min_share": (2025, "new minimum share", "short by 1.00 GW (share 0.250, at least 0.500 required)"),
    "max_share": (2025, "old maximum share", "over by 1.00 GW (share 0.750, at most 0.500 allowed)"),
    "gradual_decline": (2026, "cloud gradual decline", "falls 1.00 GW too far (4 to 1, a 75.0% fall)"),
    "contract_max_per_year": (2025, "cloud reserved max per year", "over by 1.00 GW"),
    "build_max_per_year": (2025, "cloud build max per year", "over by 1.00 GW"),
}


def test_every_hard_family_has_a_worded_case():
    assert set(DIAGNOSED) == {f.name for f in HARD_FAMILIES}


@pytest.mark.parametrize("family", list(DIAGNOSED))
def test_diagnosis_label_and_message(family):
    data, _ = INFEASIBLE[family]
    diagnosis = planner.diagnose(data)
    first = diagnosis.table.iloc[0]
    year, label, message = DIAGNOSED[family]
    assert (first["family"], first["year"], first["label"], first["message"]) == (family, year, label, message)
    assert f"  {year}  {label}  {message}" in diagnosis.render()


# ======================================================================================
# (c) The shadow prices' sentences, per family
# ======================================================================================


def test_every_dual_family_has_a_sentence_checked():
    assert set(SENTENCES) == {f.name for f in DUAL_FAMILIES}
    assert set(LIMIT_FAMILIES) <= set(SENTENCES)


@pytest.mark.parametrize("family", list(SENTENCES))
def test_every_dual_sentence(family, binding_plans):
    """The meaning of one binding row per family. G, H and I (the others: tests/test_duals.py):

    G  demand 2 served by ``cheap`` (1 per GW) and ``dear`` (3 per GW), dear holding at
       least half: 1 GW each, 4. Loosening dear's minimum share by 1 GW moves 1 GW from
       dear to cheap: saves 2.
    H  the same with cheap holding at most half: loosening it by 1 GW saves 2 likewise.
    I  ``m`` holds 2 GW in 2025 and nothing after; it may lose at most half a year, so 1 GW
       must be rented in 2026 at 2 although nothing needs it: a fall 1 GW further saves 2.
    """
    name, where, meaning = SENTENCES[family]
    duals = binding_plans[name].duals
    rows = duals[duals["family"] == family]
    for column, value in where.items():
        rows = rows[rows[column] == value]
    assert rows["meaning"].tolist() == [meaning], duals
