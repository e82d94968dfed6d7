"""Every kind of bad instance: exit 2, one clear line naming the field, no traceback, no files.

Each case builds a bad file from the valid :data:`tests.conftest.BASE` (by mutating the
dict, or by editing its YAML/JSON text where the flaw cannot be expressed as a dict), and
names the exact dotted path the error must carry and a fragment of what was expected.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import planner
from planner.cli import app

from .conftest import BASE, write_yaml

MS = "providers.microsoft"
R3 = f"{MS}.contracts.reserved_3y"

# Words that mean a pydantic (or Python) message leaked through instead of a clean one.
JARGON = ("Input should", "Value error", "validation error", "pydantic", "[key]", "type=", "Traceback",
          "Dictionary should", "Tuple should", "Field required")


# --- makers: (folder, base dict) -> path of the file to check ---------------------------


def mutated(change, suffix=".yaml"):
    def make(folder: Path, data: dict) -> Path:
        change(data)
        if suffix == ".json":
            path = folder / "instance.json"
            path.write_text(json.dumps(data), encoding="utf-8")
            return path
        return write_yaml(folder, data)

    return make


def edited(change, *replacements, suffix=".yaml"):
    """Dump the (changed) base, then replace text in it: for flaws a dict cannot hold."""

    def make(folder: Path, data: dict) -> Path:
        change(data)
        text = json.dumps(data) if suffix == ".json" else yaml.safe_dump(data, sort_keys=False)
        for old, new in replacements:
            assert text.count(old) == 1, (old, text)
            text = text.replace(old, new)
        path = folder / f"instance{suffix}"
        path.write_text(text, encoding="utf-8")
        return path

    return make


def raw(content: str | bytes, name: str = "instance.yaml"):
    def make(folder: Path, data: dict) -> Path:
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return make


def missing_file(folder: Path, data: dict) -> Path:
    return folder / "nowhere.yaml"


def a_folder(folder: Path, data: dict) -> Path:
    path = folder / "folder.yaml"
    path.mkdir()
    return path


def nothing(data):
    pass


def put(*keys_and_value):
    """put("a", "b", 1): data["a"]["b"] = 1."""
    *keys, last, value = keys_and_value

    def change(data):
        for key in keys:
            data = data[key]
        data[last] = value

    return change


def drop(*keys):
    def change(data):
        for key in keys[:-1]:
            data = data[key]
        del data[keys[-1]]

    return change


# --- the cases: id, maker, exact dotted path ("" for the file itself), message fragment ---

CASES = [
    ("unknown-key-top", mutated(put("colour", "red")), "colour",
     "unknown key; expected one of: name, description, units, years, objective, discount_rate, workloads"),
    ("unknown-key-nested", mutated(put("providers", "microsoft", "contracts", "reserved_3y", "foo", 1)), f"{R3}.foo",
     "unknown key; expected one of: term, price, upfront, available, max_per_year"),
    ("unknown-key-build", mutated(put("providers", "stargate", "build", "capex_per_gw", 1)),
     "providers.stargate.build.capex_per_gw", "expected one of: initial, lead_time, lifetime"),
    ("negative-series-number", mutated(put("workloads", "inference", "demand", -1)), "workloads.inference.demand",
     "expected a number >= 0, or a mapping of years (2027) and ranges (2026-2030) to such numbers; got -1"),
    ("negative-in-mapping",
     mutated(put("providers", "microsoft", "contracts", "on_demand", "price", {2025: 1.0, "2026-2027": -2})),
     f"{MS}.contracts.on_demand.price", "at 2026-2027: expected a number >= 0, got -2"),
    ("negative-plain-number", mutated(put("finance", "initial_cash", -5)), "finance.initial_cash",
     "expected a number >= 0, got -5"),
    ("fraction-above-1", mutated(put("workloads", "training", "min_served", 1.5)), "workloads.training.min_served",
     "expected a number in [0, 1]"),
    ("fraction-below-0", mutated(put("providers", "microsoft", "max_share", -0.1)), f"{MS}.max_share",
     "expected a number in [0, 1]"),
    ("efficiency-zero", mutated(put("providers", "microsoft", "efficiency", 0)), f"{MS}.efficiency",
     "expected a number > 0"),
    ("discount-rate-1", mutated(put("discount_rate", 1)), "discount_rate", "expected a number >= 0 and < 1, got 1"),
    ("year-missing", mutated(put("workloads", "training", "demand", {2025: 1.0, 2026: 2.0})),
     "workloads.training.demand", "no value for planning year(s) 2027"),
    ("year-twice-overlap", mutated(put("workloads", "training", "demand", {2025: 1.0, "2025-2027": 2.0})),
     "workloads.training.demand", "year(s) 2025 given more than once"),
    ("year-twice-quoted", mutated(put("workloads", "training", "demand", {2025: 1.0, "2025": 2.0, "2026-2027": 2.0})),
     "workloads.training.demand", "year(s) 2025 given more than once"),
    ("year-twice-duplicate-yaml-key", edited(nothing, ("      2025: 1.0\n", "      2025: 1.0\n      2025: 4.0\n")),
     "workloads.training.demand", "key 2025 given twice in the same mapping"),
    ("key-twice-top-level", edited(nothing, ("years:\n", "years: [2025, 2026]\nyears:\n")), "years",
     "given twice in the same mapping (lines"),
    ("unknown-workload", mutated(put("providers", "microsoft", "workloads", ["training", "gaming"])),
     f"{MS}.workloads", "unknown workload 'gaming' (defined: training, inference)"),
    ("empty-workload-list", mutated(put("providers", "microsoft", "workloads", [])), f"{MS}.workloads",
     "expected at least one workload name"),
    ("term-0", mutated(put("providers", "microsoft", "contracts", "reserved_3y", "term", 0)), f"{R3}.term",
     "expected a whole number >= 1, got 0"),
    ("term-fraction", mutated(put("providers", "microsoft", "contracts", "reserved_3y", "term", 2.5)), f"{R3}.term",
     "expected a whole number >= 1, got 2.5"),
    ("lead-time-negative", mutated(put("providers", "stargate", "build", "lead_time", -1)),
     "providers.stargate.build.lead_time", "expected a whole number >= 0, got -1"),
    ("years-reversed", mutated(put("years", [2030, 2025])), "years", "last year 2025 is before first year 2030"),
    ("years-one-item", mutated(put("years", [2025])), "years", "expected [first year, last year]"),
    ("years-text", mutated(put("years", "2025-2027")), "years", "expected [first year, last year]"),
    ("not-yaml", raw("years: [2025, 2027\nworkloads: {training: {demand: 1}}\n"), "", "not valid YAML at line 2"),
    ("nan", edited(put("workloads", "inference", "demand", "NAN_HERE"), ("NAN_HERE", ".nan")),
     "workloads.inference.demand", "NaN and infinity are not allowed"),
    ("inf", edited(put("providers", "microsoft", "contracts", "on_demand", "price", "INF_HERE"), ("INF_HERE", ".inf")),
     f"{MS}.contracts.on_demand.price", "NaN and infinity are not allowed"),
    ("inf-plain-number", edited(put("finance", "initial_cash", "INF_HERE"), ("INF_HERE", "-.inf")),
     "finance.initial_cash", "NaN and infinity are not allowed"),
    ("text-for-number", mutated(put("providers", "microsoft", "capacity", "lots")), f"{MS}.capacity",
     "expected a number >= 0, or a mapping of years (2027) and ranges (2026-2030) to such numbers; got text 'lots'"),
    ("quoted-number", mutated(put("workloads", "inference", "revenue", "5")), "workloads.inference.revenue",
     "got text '5'"),
    ("yes-for-number", mutated(put("workloads", "inference", "demand", True)), "workloads.inference.demand",
     "got true"),
    ("text-for-yes-no", mutated(put("providers", "stargate", "build", "capex_in_loss", "yes")),
     "providers.stargate.build.capex_in_loss", "expected true or false, got text 'yes'"),
    ("list-for-mapping", mutated(put("workloads", ["training", "inference"])), "workloads",
     "expected a mapping (key: value), got a list"),
    ("list-for-contract", mutated(put("providers", "microsoft", "contracts", "on_demand", [1, 5.0])),
     f"{MS}.contracts.on_demand", "expected a mapping (key: value), got a list"),
    ("null-for-mapping", mutated(put("finance", None)), "finance", "expected a mapping (key: value), got nothing"),
    ("text-for-list", mutated(put("providers", "microsoft", "workloads", "training")), f"{MS}.workloads",
     "expected a list, got text 'training'"),
    ("number-for-text", mutated(put("name", 5)), "name", "expected text, got 5"),
    ("bad-objective", mutated(put("objective", "cheapest")), "objective",
     "expected 'cumulative_loss' or 'peak_cumulative_loss', got 'cheapest'"),
    ("yes-as-a-name", edited(nothing, ("  inference:\n", "  yes:\n")), "workloads",
     "expected names (text) as keys, got the key true"),
    ("empty-workloads", mutated(put("workloads", {})), "workloads", "expected at least one workload"),
    ("empty-providers", mutated(put("providers", {})), "providers", "expected at least one provider"),
    ("available-outside-years",
     mutated(put("providers", "microsoft", "contracts", "reserved_3y", "available", [2024, 2026])),
     f"{R3}.available", "[2024, 2026] is outside the planning years [2025, 2027]"),
    ("available-reversed",
     mutated(put("providers", "microsoft", "contracts", "reserved_3y", "available", [2027, 2026])),
     f"{R3}.available", "last year 2026 is before first year 2027"),
    ("missing-contract-price", mutated(drop("providers", "microsoft", "contracts", "reserved_3y", "price")),
     f"{R3}.price", "required field is missing (money per capacity unit per year"),
    ("missing-years", mutated(drop("years")), "years", "required field is missing"),
    ("missing-demand", mutated(drop("workloads", "training", "demand")), "workloads.training.demand",
     "required field is missing"),
    ("missing-file", missing_file, "", "no such file"),
    ("folder-not-file", a_folder, "", "is a folder, not an instance file"),
    ("not-utf8", raw(b"name: caf\xe9\nyears: [2025, 2027]\n"), "", "not a text file (not UTF-8)"),
    ("empty-file", raw(""), "", "expected a mapping of keys (name, years, workloads, ...), got nothing"),
    ("list-document", raw("- 2025\n- 2027\n"), "", "expected a mapping of keys (name, years, workloads, ...), got a list"),
    ("json-not-json", raw('{"years": [2025, 2027], "workloads": }', "instance.json"), "", "not valid JSON"),
    ("json-duplicate-key", edited(nothing, ('"demand": 3.0', '"demand": 3.0, "demand": 4.0'), suffix=".json"),
     "workloads.inference", "key 'demand' given twice in the same object"),
    ("json-bad-field", mutated(put("providers", "microsoft", "contracts", "reserved_3y", "term", 0), suffix=".json"),
     f"{R3}.term", "expected a whole number >= 1, got 0"),
    ("json-nan", edited(put("workloads", "inference", "demand", "NAN_HERE"), ('"NAN_HERE"', "NaN"), suffix=".json"),
     "workloads.inference.demand", "NaN and infinity are not allowed"),
    ("scenarios-without-cases", mutated(put("scenarios", {"cases": {}})), "scenarios.cases", "at least one"),
]
IDS = [case[0] for case in CASES]


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """``in`` holds the instance, ``cwd`` is the working folder, ``out`` must stay absent."""
    (tmp_path / "in").mkdir()
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    return tmp_path


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("command", ["solve", "validate"])
@pytest.mark.parametrize("case_id, make, path, expected", CASES, ids=IDS)
def test_cli_reports_bad_instance_in_one_line(folders, base, command, case_id, make, path, expected):
    file = make(folders / "in", base)
    before = listing(folders)
    out = folders / "out"
    args = [command, str(file)] + (["--out", str(out)] if command == "solve" else [])

    result = CliRunner().invoke(app, args)

    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # exited on purpose, no uncaught exception
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    where = f"invalid instance: {file}: " + (f"{path}: " if path else "")
    assert lines[0].startswith(where), (lines[0], where)
    assert expected in lines[0]
    assert not any(word in result.output for word in JARGON), result.output
    assert not out.exists()
    assert listing(folders) == before  # nothing written anywhere (no results/, no temp files)


@pytest.mark.parametrize("case_id, make, path, expected", CASES, ids=IDS)
def test_load_instance_names_the_path(tmp_path, base, case_id, make, path, expected):
    file = make(tmp_path, base)
    with pytest.raises(planner.InstanceError) as caught:
        planner.load_instance(file)
    err = caught.value
    assert len(err.problems) == 1, err.problems  # one problem, not one per union branch
    (got_path, message), = err.problems
    assert got_path == path
    assert expected in message
    assert err.source == str(file)
    assert str(file) in str(err)


def test_base_instance_is_valid(tmp_path, base):
    """The cases above fail because of their one flaw, not because the base is broken."""
    inst = planner.load_instance(write_yaml(tmp_path, base))
    assert inst.name == "small"
    assert inst.workloads["training"].demand == {2025: 1.0, 2026: 2.0, 2027: 2.0}
    assert inst.providers["microsoft"].contracts["reserved_3y"].available == (2025, 2026)


def test_unknown_key_lists_every_allowed_key():
    data = {**BASE, "providers": {"microsoft": {"contracts": {"on_demand": {"term": 1, "price": 1, "foo": 1}}}}}
    with pytest.raises(planner.InstanceError) as caught:
        planner.load_instance(data)
    (path, message), = caught.value.problems
    assert path == f"{MS}.contracts.on_demand.foo"
    listed = message.split("expected one of:")[1]
    assert [k.strip() for k in listed.split(",")] == ["term", "price", "upfront", "available", "max_per_year"]


@pytest.mark.parametrize("field, value", [
    ("capacity", "lots"),          # optional series (None or number or mapping)
    ("max_share", [0.5]),          # optional fraction series, a list is neither form
    ("existing", {2025: "a"}),     # required-with-default series, bad value inside a mapping
    ("min_spend", {"soon": 1.0}),  # bad key inside a mapping
])
def test_series_fields_give_one_error_not_one_per_form(base, field, value):
    base["providers"]["microsoft"][field] = value
    with pytest.raises(planner.InstanceError) as caught:
        planner.load_instance(base)
    assert [path for path, _ in caught.value.problems] == [f"{MS}.{field}"]


def test_several_problems_each_get_their_own_line(base):
    base["colour"] = "red"
    base["providers"]["microsoft"]["contracts"]["reserved_3y"]["term"] = 0
    base["workloads"]["training"]["min_served"] = 2
    with pytest.raises(planner.InstanceError) as caught:
        planner.load_instance(base)
    paths = sorted(path for path, _ in caught.value.problems)
    assert paths == ["colour", f"{R3}.term", "workloads.training.min_served"]
    assert len(caught.value.render().splitlines()) == 3


@pytest.mark.parametrize("change", [
    put("workloads", "training", "demand", {2024: 9.0, "2025-2027": 1.0, "2028-2030": 9.0}),  # outside: ignored
    put("providers", "stargate", "build", "capex_in_loss", False),
    put("discount_rate", 0.05),
    put("workloads", "inference", "revenue", {"2025 - 2026": 1.0, "2027": 2.0}),  # spaced range, quoted year
])
def test_valid_variants_are_accepted(base, change):
    change(base)
    assert isinstance(planner.load_instance(base), planner.Instance)


def test_json_and_yaml_with_byte_order_mark_are_accepted(tmp_path, base):
    json_file = tmp_path / "instance.json"
    json_file.write_bytes(b"\xef\xbb\xbf" + json.dumps(base).encode())
    yaml_file = tmp_path / "instance.yaml"
    yaml_file.write_bytes(b"\xef\xbb\xbf" + yaml.safe_dump(base).encode())
    assert planner.load_instance(json_file).workloads["training"].demand[2026] == 2.0
    assert planner.load_instance(yaml_file).workloads["training"].demand[2026] == 2.0


def test_yaml_merge_keys_may_be_overridden(tmp_path, base):
    """``<<: *defaults`` then the same key again is YAML's override, not a duplicate."""
    text = yaml.safe_dump(base, sort_keys=False).replace(
        "  inference:\n", "  inference:\n    <<: {revenue: 1.0, min_served: 0.0}\n", 1
    )
    inst = planner.load_instance(write_text(tmp_path / "merge.yaml", text))
    assert inst.workloads["inference"].revenue[2025] == 5.0  # the explicit key wins


def test_recursive_yaml_is_an_error_not_a_crash(tmp_path):
    file = write_text(tmp_path / "loop.yaml", "years: [2025, 2026]\nworkloads: &w {t: *w}\nproviders: {p: {}}\n")
    with pytest.raises(planner.InstanceError) as caught:
        planner.load_instance(file)
    assert all(path.startswith("workloads.t") for path, _ in caught.value.problems)


def test_planning_years_resolve_every_series(base):
    inst = planner.load_instance(base)
    assert inst.year_list == [2025, 2026, 2027]
    for series in (inst.workloads["inference"].demand, inst.providers["microsoft"].capacity,
                   inst.providers["stargate"].build.capex, inst.finance.min_cash):
        assert sorted(series) == [2025, 2026, 2027]
        assert all(math.isfinite(v) for v in series.values())


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
