"""Sensitivity sweeps: many variants of one instance, solved locally or on a Dask cluster.

``planner sweep INSTANCE --vary PATH=SPEC ...`` (see docs/sweeps.md).

Variants
    A *grid* (every ``--vary PATH=SPEC`` gives a list of values, of scalings of the
    instance's series, or of shifts of it by whole years; several make the cross product), *Monte Carlo* draws
    (``--samples N`` over ``PATH~uniform(a,b)`` / ``normal(mu,sigma)`` /
    ``triangular(a,m,b)``, scalings of the series, reproducible with ``--seed``), or a
    *Sobol'* design (``--sobol N``: SALib's Saltelli/Sobol' sampling, then first-order and
    total indices with confidence intervals in ``sensitivity.csv``).

    Every variant is a tuple of *changes* ``(path, value)`` with explicit values: a
    scaling is turned into a ``{year: value}`` mapping of the instance's resolved series
    when the design is made, so a worker needs only the raw instance data and the
    changes. PATHs are the dotted paths a case's ``set`` may replace (MODEL.md §5),
    checked with :func:`planner.instance.paths.settable_target`.

Solving
    :func:`solve_variant` is the single place one variant is solved: it applies the
    changes to a deep copy of the raw data and validates the result as any instance,
    then solves it with the process's :class:`planner.solver.parametric.ParametricProgram`
    (the model built once, with the varied fields as mutable Params; each variant
    recompiles only the rows those fields touch and re-solves in the same HiGHS object)
    or, where that cannot be used, with a fresh :func:`planner.solve`.

    Variants are solved in this process (``jobs=1``), spread over local processes
    (``ProcessPoolExecutor``: the instance is sent once per worker through the
    initializer, variants go in batches), or sent to a Dask distributed cluster
    (``scheduler="tcp://host:8786"``: the instance is scattered once to every worker,
    variants go in batches).

Output (``--out``, default ``results/<name>-sweep/``)
    ``sweep.csv``: one row per variant (``variant``, ``variant_id``, the varied values,
    ``status``, ``objective``, ``cumulative_loss``, ``peak_cumulative_loss``,
    ``final_cash``, ``share_<provider>`` in the last planning year, ``message``).
    Rows are appended as batches finish, so an interrupted sweep keeps them; rerunning
    the same command resumes (variants whose ``variant_id`` is already in the file are
    skipped). When the sweep stops, the file is rewritten in variant order, so the same
    sweep gives the same file however it was run. ``sweep.json`` summarises the
    distribution of every output (mean, p5, p50, p95, ...); ``sensitivity.csv`` holds
    the Sobol' indices.
"""

from __future__ import annotations

import copy
import os
import csv
import hashlib
import itertools
import json
import math
import io
import re
import signal
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from ..instance.errors import InstanceError
from ..instance.loading import validate_instance
from ..instance.paths import field_value, set_along, settable_target
from ..instance.schema import Instance
from ..results import safe_write
from ..results.files import SENSITIVITY_COLUMNS, SENSITIVITY_CSV, SWEEP_CSV, SWEEP_FILES, SWEEP_JSON, SWEEP_PNG
from ..results.figures import add_up

#: Outputs of each variant, in sweep.csv's order (then one share column per provider).
OUTPUTS = ("objective", "cumulative_loss", "peak_cumulative_loss", "final_cash")
#: Outputs whose Sobol' indices go into sensitivity.csv.
SOBOL_OUTPUTS = ("objective", "cumulative_loss")
DISTRIBUTIONS = {"uniform": 2, "normal": 2, "triangular": 3}
#: Largest shift of a series, in years (a horizon longer than this is not planned).
MAX_SHIFT = 100
#: Largest design accepted (a grid is a cross product and grows fast).
MAX_VARIANTS = 1_000_000

EXIT_OK, EXIT_NO_SENSITIVITY, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class SweepError(Exception):
    """A sweep that cannot start: a bad ``--vary``, option, instance or output folder."""


# ---------------------------------------------------------------------------------------
# Specs: PATH=SPEC (grid) and PATH~dist(...) (Monte Carlo, Sobol')
# ---------------------------------------------------------------------------------------


#: What a grid's numbers are: the values themselves, scalings of the instance's series
#: (``x0.7``), or shifts of it by whole years (``+1y``); the column suffix in sweep.csv.
VALUE, SCALE, SHIFT = "value", "scale", "shift"
_SUFFIX = {VALUE: "", SCALE: "[x]", SHIFT: "[+y]"}


@dataclass(frozen=True)
class GridSpec:
    """``PATH=SPEC``: a list of values, of scalings (``x0.7``) of the instance's series, or
    of shifts (``+1y``: every year's value arrives a year later)."""

    text: str
    path: str
    kind: str  # VALUE, SCALE or SHIFT
    values: tuple[float, ...]

    @property
    def scale(self) -> bool:
        return self.kind == SCALE

    @property
    def column(self) -> str:
        return self.path + _SUFFIX[self.kind]


@dataclass(frozen=True)
class DistSpec:
    """``PATH~name(params)``: a distribution of the scaling factor of PATH's series."""

    text: str
    path: str
    name: str
    params: tuple[float, ...]
    kind: str = SCALE
    scale: bool = True

    @property
    def column(self) -> str:
        return f"{self.path}[x]"

    def draw(self, rng) -> float:
        if self.name == "uniform":
            return float(rng.uniform(*self.params))
        if self.name == "normal":
            return float(rng.normal(*self.params))
        return float(rng.triangular(*self.params))

    def ppf(self, u):
        """The inverse CDF at ``u`` in (0, 1): maps Sobol' points onto the distribution."""
        import numpy as np
        from scipy import stats

        u = np.clip(np.asarray(u, dtype=float), 1e-12, 1 - 1e-12)
        if self.name == "uniform":
            a, b = self.params
            return a + u * (b - a)
        if self.name == "normal":
            mu, sigma = self.params
            return stats.norm.ppf(u, loc=mu, scale=sigma)
        a, m, b = self.params
        return stats.triang.ppf(u, c=(m - a) / (b - a), loc=a, scale=b - a)


_NUMBER_WORDS = {"nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity"}


def _number(text: str, spec: str, what: str = "value") -> float:
    item = text.strip()
    try:
        if item.lower() in _NUMBER_WORDS:
            raise ValueError
        number = float(item)
    except ValueError:
        raise SweepError(f"--vary {spec}: {what} {item!r} is not a number") from None
    if not math.isfinite(number):
        raise SweepError(f"--vary {spec}: {what} {item!r} is not a finite number")
    return number


def _nice(x: float) -> float:
    """Round range points to 12 significant digits (0.6, not 0.6000000000000001)."""
    return float(f"{x:.12g}")


def _item(item: str, spec: str) -> tuple[str, float]:
    """One item of a list: ``(VALUE, number)``, ``(SCALE, factor)`` for ``x0.7``, or
    ``(SHIFT, years)`` for ``+1y`` / ``-1y``."""
    item = item.strip()
    if item[:1] in ("x", "X"):
        factor = _number(item[1:], spec, "scaling")
        if factor < 0:
            raise SweepError(f"--vary {spec}: scaling {item!r} is negative; a scaling multiplies the series "
                             "and must be >= 0")
        return SCALE, factor
    if item[-1:] in ("y", "Y"):
        match = re.fullmatch(r"([+-]?)\s*(\d+)\s*[yY]", item)
        if not match:
            raise SweepError(f"--vary {spec}: shift {item!r} is not a whole number of years (+1y, -2y, +0y)")
        years = int(match.group(2))
        if years > MAX_SHIFT:
            raise SweepError(f"--vary {spec}: shift {item!r} is more than {MAX_SHIFT} years")
        return SHIFT, float(-years if match.group(1) == "-" else years)
    return VALUE, _number(item, spec)


def parse_vary(text: str) -> GridSpec | DistSpec:
    """Parse one ``--vary`` argument; raise :class:`SweepError` naming the problem.

    ``PATH=1,2,3`` values; ``PATH=0.5:1.5:11`` a range (first:last:count, inclusive);
    ``PATH=x0.7,x1.0,x1.3`` scalings of the series (``PATH=x0.5:1.5:11`` a range of them);
    ``PATH=+0y,+1y,+2y`` the series shifted later by whole years (``-1y``: earlier);
    ``PATH~uniform(a,b)``, ``PATH~normal(mu,sigma)``, ``PATH~triangular(a,m,b)``
    distributions of the scaling factor.
    """
    text = text.strip()
    match = re.match(r"^([^=~]*)([=~])(.*)$", text, re.S)
    if not match:
        raise SweepError(f"--vary {text}: expected PATH=SPEC (values, a range first:last:count, or scalings "
                         "x0.7,x1.3) or PATH~DISTRIBUTION (uniform(a,b), normal(mu,sigma), triangular(a,m,b))")
    path, sign, spec = match.group(1).strip(), match.group(2), match.group(3).strip()
    if not path:
        raise SweepError(f"--vary {text}: no PATH before {sign!r} (e.g. providers.stargate.capacity)")
    if not re.fullmatch(r"[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*", path):
        raise SweepError(f"--vary {text}: {path!r} is not a dotted path (e.g. finance.funding)")
    if not spec:
        raise SweepError(f"--vary {text}: nothing after {sign!r}")
    if sign == "~":
        return _parse_distribution(text, path, spec)
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) != 3:
            raise SweepError(f"--vary {text}: a range is first:last:count (e.g. 0.5:1.5:11), got {spec!r}")
        first_kind, first = _item(parts[0], text)
        last_kind, last = _item(parts[1], text)
        if SHIFT in (first_kind, last_kind):
            raise SweepError(f"--vary {text}: list shifts one by one (+0y,+1y,+2y), not as a range")
        if last_kind == SCALE and first_kind != SCALE:
            raise SweepError(f"--vary {text}: a range of scalings starts with x (x0.5:1.5:11)")
        first_scale = first_kind == SCALE
        count = parts[2].strip()
        if not re.fullmatch(r"\d+", count) or int(count) < 1:
            raise SweepError(f"--vary {text}: the count of a range must be a whole number >= 1, got {count!r}")
        n = int(count)
        if n > MAX_VARIANTS:
            raise SweepError(f"--vary {text}: {n} points is more than {MAX_VARIANTS}")
        if n == 1 and first != last:
            raise SweepError(f"--vary {text}: a range of 1 point needs first == last")
        step = 0.0 if n == 1 else (last - first) / (n - 1)
        values = [_nice(first + i * step) for i in range(n)]
        if first_scale and min(values) < 0:
            raise SweepError(f"--vary {text}: scalings must be >= 0")
        return GridSpec(text, path, first_kind, tuple(values))
    items = spec.split(",")
    if any(not item.strip() for item in items):
        raise SweepError(f"--vary {text}: an empty item in the list {spec!r}")
    parsed = [_item(item, text) for item in items]
    kinds = {kind for kind, _ in parsed}
    if len(kinds) > 1:
        raise SweepError(f"--vary {text}: the list mixes values, scalings (x...) and shifts (+1y); "
                         "use one kind per --vary")
    values = list(dict.fromkeys(value for _, value in parsed))  # a repeated value is one variant
    return GridSpec(text, path, kinds.pop(), tuple(values))


def _parse_distribution(text: str, path: str, spec: str) -> DistSpec:
    match = re.fullmatch(r"([A-Za-z_]+)\s*\((.*)\)", spec, re.S)
    known = "uniform(a,b), normal(mu,sigma) or triangular(a,m,b)"
    if not match:
        raise SweepError(f"--vary {text}: expected a distribution {known}, got {spec!r}")
    name = match.group(1).lower()
    if name not in DISTRIBUTIONS:
        raise SweepError(f"--vary {text}: unknown distribution {match.group(1)!r}; expected {known}")
    args = [a for a in match.group(2).split(",")]
    if len(args) != DISTRIBUTIONS[name] or any(not a.strip() for a in args):
        raise SweepError(f"--vary {text}: {name} takes {DISTRIBUTIONS[name]} numbers, got {match.group(2)!r}")
    params = tuple(_number(a.strip().lstrip("xX"), text, "parameter") for a in args)
    if name == "uniform":
        a, b = params
        if not 0 <= a < b:
            raise SweepError(f"--vary {text}: uniform(a,b) needs 0 <= a < b (scalings of the series)")
    elif name == "normal":
        mu, sigma = params
        if sigma <= 0:
            raise SweepError(f"--vary {text}: normal(mu,sigma) needs sigma > 0")
        if mu <= 0:
            raise SweepError(f"--vary {text}: normal(mu,sigma) needs mu > 0 (a scaling of the series)")
    else:
        a, m, b = params
        if not (0 <= a <= m <= b and a < b):
            raise SweepError(f"--vary {text}: triangular(a,m,b) needs 0 <= a <= m <= b and a < b")
    return DistSpec(text, path, name, params)


# ---------------------------------------------------------------------------------------
# Variants and applying them
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    index: int
    id: str
    values: tuple[float, ...]  # what sweep.csv shows: a value, a scaling factor or a shift in years per spec
    changes: tuple[tuple[str, Any], ...]  # (path, explicit value) set on the raw data


def check_path(inst: Instance, spec: GridSpec | DistSpec) -> None:
    """Refuse a path a sweep may not vary (MODEL.md §5's ``set`` rules) or scale."""
    _, reason = settable_target(inst, spec.path)
    if reason:
        raise SweepError(f"--vary {spec.text}: cannot vary {spec.path}: {reason}")
    if spec.kind == SCALE and field_value(inst, spec.path) is None:
        raise SweepError(f"--vary {spec.text}: cannot scale {spec.path}: the instance does not give it; "
                         f"give values instead ({spec.path}=1,2)")
    if spec.kind == SHIFT:
        current = field_value(inst, spec.path)
        if not isinstance(current, dict):
            raise SweepError(f"--vary {spec.text}: cannot shift {spec.path}: "
                             + ("the instance does not give it" if current is None else "it is one number, not a series"))


def explicit_value(inst: Instance, spec, value: float):
    """What to set at ``spec.path`` for ``value``: the number itself; the instance's
    resolved series (or plain number) multiplied by the scaling ``value``; or, for a
    shift of ``value`` years, the series moved later by that many years (earlier when
    negative), the first (last) year's value repeated where it has no earlier (later)
    year: ``shifted[t] = series[clamp(t - value, first year, last year)]``."""
    if spec.kind == VALUE:
        return value
    base = field_value(inst, spec.path)
    if spec.kind == SHIFT:
        return shifted(base, int(value))
    if isinstance(base, dict):
        return {year: float(v) * value for year, v in base.items()}
    return float(base) * value


def shifted(series: dict, years: int) -> dict:
    """``series`` moved ``years`` later (earlier when negative); the ends repeat."""
    first, last = min(series), max(series)
    return {t: float(series[min(max(t - years, first), last)]) for t in sorted(series)}


def apply_changes(instance_data: dict, changes: Iterable[tuple[str, Any]]) -> dict:
    """The raw instance data with each ``(path, value)`` set, ``instance_data`` left as it
    was: the mappings along each path are copied, the rest is shared (validation only
    reads it)."""
    data = dict(instance_data)
    for path, value in changes:
        set_along(data, path.split("."), copy.deepcopy(value))
    return data


def _variant_id(fingerprint: str, specs, values) -> str:
    marks = {VALUE: "=", SCALE: "x", SHIFT: "+y"}
    key = json.dumps([fingerprint, [[s.path, marks[s.kind], repr(float(v))] for s, v in zip(specs, values)]])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def fingerprint(data: dict) -> str:
    """A hash of the instance's content (not its comments or layout)."""

    def canonical(value):
        if isinstance(value, dict):
            return {str(k): canonical(v) for k, v in value.items()}
        if isinstance(value, list):
            return [canonical(v) for v in value]
        return value

    text = json.dumps(canonical(data), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Design:
    mode: str  # grid | monte_carlo | sobol
    specs: list
    variants: list[Variant]
    sobol_rows: list[str] | None = None  # the variant id of every row of the Sobol' design
    seed: int | None = None
    samples: int | None = None

    @property
    def columns(self) -> list[str]:
        return [s.column for s in self.specs]


def make_design(inst: Instance, data: dict, specs: Sequence, samples: int | None = None,
                sobol: int | None = None, seed: int = 0) -> Design:
    """The variants of a sweep (in order), each with its id and explicit changes."""
    if not specs:
        raise SweepError("give at least one --vary PATH=SPEC (or PATH~DISTRIBUTION with --samples / --sobol)")
    if samples is not None and sobol is not None:
        raise SweepError("--samples (Monte Carlo) and --sobol (sensitivity indices) are two kinds of sweep; give one")
    seen: set[str] = set()
    for spec in specs:
        if spec.path in seen:
            raise SweepError(f"--vary {spec.text}: {spec.path} is varied twice; give it once")
        seen.add(spec.path)
        check_path(inst, spec)
    grid = [s for s in specs if isinstance(s, GridSpec)]
    dists = [s for s in specs if isinstance(s, DistSpec)]
    random_mode = samples is not None or sobol is not None
    if random_mode and grid:
        raise SweepError(f"--vary {grid[0].text}: with --samples or --sobol every --vary is a distribution "
                         f"(e.g. {grid[0].path}~uniform(0.8,1.2)), not a list of values")
    if not random_mode and dists:
        raise SweepError(f"--vary {dists[0].text}: a distribution needs --samples N (Monte Carlo) or --sobol N "
                         "(sensitivity indices)")
    fp = fingerprint(data)
    if grid:
        _check_values_alone(inst, data, grid)
        size = math.prod(len(s.values) for s in grid)
        if size > MAX_VARIANTS:
            raise SweepError(f"the grid has {size:,} variants, more than {MAX_VARIANTS:,}; vary fewer values")
        rows = list(itertools.product(*(s.values for s in grid)))
        design = Design("grid", list(specs), [])
    elif samples is not None:
        if samples > MAX_VARIANTS:
            raise SweepError(f"--samples {samples} is more than {MAX_VARIANTS:,}")
        import numpy as np

        rng = np.random.default_rng(seed)
        # drawn variant by variant, so a larger --samples with the same seed extends the
        # same draws (and a rerun resumes them)
        rows = [tuple(d.draw(rng) for d in dists) for _ in range(samples)]
        design = Design("monte_carlo", list(specs), [], seed=seed, samples=samples)
    else:
        rows = _sobol_rows(dists, sobol, seed)
        design = Design("sobol", list(specs), [], seed=seed, samples=sobol)
    by_id: dict[str, Variant] = {}
    ids = []
    for values in rows:
        vid = _variant_id(fp, specs, values)
        ids.append(vid)
        if vid not in by_id:
            changes = tuple((s.path, explicit_value(inst, s, v)) for s, v in zip(specs, values))
            by_id[vid] = Variant(len(by_id), vid, tuple(float(v) for v in values), changes)
    design.variants = list(by_id.values())
    if design.mode == "sobol":
        design.sobol_rows = ids
    return design


def _check_values_alone(inst: Instance, data: dict, grid: list[GridSpec]) -> None:
    """Each grid value must make a valid instance on its own (else the spec is wrong)."""
    for spec in grid:
        for value in spec.values:
            changed = apply_changes(data, [(spec.path, explicit_value(inst, spec, value))])
            try:
                validate_instance(changed, name=inst.name)
            except InstanceError as err:
                shown = {VALUE: f"{value:g}", SCALE: f"x{value:g}", SHIFT: f"{value:+g}y"}[spec.kind]
                path, message = err.problems[0]
                raise SweepError(f"--vary {spec.text}: {shown} makes the instance invalid: "
                                 f"{path + ': ' if path else ''}{message}") from None


def _sobol_rows(dists: list[DistSpec], n: int, seed: int) -> list[tuple[float, ...]]:
    from SALib.sample import sobol as sobol_sample

    problem = _sobol_problem(dists)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "N should be a power of 2": said in --help instead
        unit = sobol_sample.sample(problem, n, calc_second_order=False, seed=seed)
    if len(unit) > MAX_VARIANTS:
        raise SweepError(f"--sobol {n} needs {len(unit):,} variants, more than {MAX_VARIANTS:,}")
    columns = [d.ppf(unit[:, i]) for i, d in enumerate(dists)]
    return [tuple(float(col[r]) for col in columns) for r in range(len(unit))]


def _sobol_problem(dists: list[DistSpec]) -> dict:
    # sampled on the unit cube and mapped through each distribution's inverse CDF: the
    # indices of Y(F⁻¹(U)) over U are those over the inputs (a one-to-one map per input)
    return {"num_vars": len(dists), "names": [d.path for d in dists], "bounds": [[0.0, 1.0]] * len(dists)}


# ---------------------------------------------------------------------------------------
# Solving one variant -- the single place a faster path plugs in
# ---------------------------------------------------------------------------------------


#: Ctrl-Cs received while this process solves variants (see _terminate_as_interrupt).
_INTERRUPTS: list[int] = []


def solve_variant(instance_data: dict, changes: Sequence[tuple[str, Any]], time_limit: float | None = None) -> dict:
    """:func:`_solve_variant`; a variant during which Ctrl-C arrived raises KeyboardInterrupt
    instead of giving a row: HiGHS, stopped by the interrupt from its callback, reports a
    "Solve error", which would otherwise be kept as the variant's outcome."""
    outcome = _solve_variant(instance_data, changes, time_limit)
    if _INTERRUPTS:
        raise KeyboardInterrupt
    return outcome


def _solve_variant(instance_data: dict, changes: Sequence[tuple[str, Any]], time_limit: float | None = None) -> dict:
    """Solve one variant: ``instance_data`` (the raw, parsed instance) with ``changes``.

    Returns the outcome: ``status`` (``optimal``, ``infeasible``, ``invalid``,
    ``time_limit``, ``error``), and when optimal ``objective``, ``cumulative_loss``,
    ``peak_cumulative_loss``, ``final_cash`` and ``shares`` ({provider: active share in
    the last planning year}); ``message`` says why a variant has no plan.

    The variant is validated as a whole instance, then solved by this process's
    :class:`planner.solver.parametric.ParametricProgram` of ``instance_data`` with the changed
    paths as mutable Params (built on the first variant, kept for the next ones), or by a
    fresh :func:`planner.solve` where that cannot be used (:func:`_solve_fresh`). Both
    give the same rows (``tests/test_parametric.py``).
    """
    from ..solver.highs import SolverFailure

    try:
        # the size check passed when the sweep loaded the instance; a variant changes
        # numbers only (a value, or a {year: value} over the same years)
        inst = validate_instance(apply_changes(instance_data, changes), name=instance_data.get("name"),
                                 check_size=False)
    except InstanceError as err:
        return {"status": "invalid", "message": _one_line(err.render())}
    try:
        outcome = None
        program = _program(instance_data, tuple(path for path, _ in changes))
        if program is not None:
            from ..solver.parametric import NotParametric

            try:
                outcome = program.solve(inst, time_limit)
            except NotParametric:
                outcome = None
        if outcome is None:
            outcome = _solve_fresh(inst, time_limit)
    except SolverFailure as err:
        return {"status": err.status, "message": _one_line(str(err))}
    except KeyboardInterrupt:
        raise
    except Exception as err:  # noqa: BLE001 - one variant's failure must not end the sweep
        return {"status": "error", "message": _one_line(f"{type(err).__name__}: {err}")}
    if outcome["status"] == "infeasible":
        return {"status": "infeasible", "message": "no plan satisfies every constraint (planner diagnose tells why)"}
    return outcome


def _solve_fresh(inst: Instance, time_limit: float | None) -> dict:
    """One variant through :func:`planner.solver.highs.solve`: a new model, the full plan."""
    from ..solver.highs import solve

    plan = solve(inst, time_limit=time_limit)
    return plan_outcome(plan) if plan.status == "optimal" else {"status": plan.status, "message": ""}


#: This process's parametric programs: ``(fingerprint of the instance data, varied
#: paths, program or None)``, the latest first (a program is built once per instance
#: content and set of paths; a changed instance gets a new one).
_PROGRAMS: list[tuple[str, tuple[str, ...], Any]] = []
#: Whether solve_variant may use a parametric program (tests turn it off to compare).
USE_PARAMETRIC = True


def _program(instance_data: dict, paths: tuple[str, ...]):
    """The parametric program of ``instance_data`` varying ``paths`` (None: solve each
    variant afresh, e.g. the instance does not give a varied field)."""
    if not USE_PARAMETRIC:
        return None
    key = fingerprint(instance_data)  # ~0.1 ms for openai-2025, against ~5 ms a variant
    for known_key, known_paths, program in _PROGRAMS:
        if known_key == key and known_paths == paths:
            return program
    from ..solver.parametric import NotParametric, ParametricProgram

    try:
        program = ParametricProgram(validate_instance(instance_data, name=instance_data.get("name")), paths)
    except (NotParametric, InstanceError):
        program = None
    _PROGRAMS.insert(0, (key, paths, program))
    del _PROGRAMS[4:]
    return program


def plan_outcome(plan) -> dict:
    """The figures of an optimal plan that sweep.csv records."""
    s = plan.summary
    capacity = plan.tables["capacity"]
    last = capacity[capacity["year"] == plan.instance.years[1]]
    active = dict(zip(last["provider"], last["active"].astype(float)))
    total = add_up(active.values())
    shares = {p: (active.get(p, 0.0) / total if total > 1e-12 else None) for p in plan.instance.providers}
    return {
        "status": "optimal",
        "objective": float(plan.objective_value),
        "cumulative_loss": float(s["cumulative_loss"]),
        "peak_cumulative_loss": float(s["peak_cumulative_loss"]),
        "final_cash": float(s["final_cash"]),
        "shares": shares,
    }


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())


# Worker side: the instance arrives once per worker (the pool's initializer, or Dask's
# scatter) and batches of (index, changes) arrive per task.

_WORKER: dict = {}
#: Serialises solves inside one process (a Dask worker may run several threads; Pyomo and
#: the HiGHS interface are not meant to be used from several threads at once).
_SOLVE_LOCK = threading.Lock()


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP during a sweep: handled as Ctrl-C (the finished rows are kept,
    sweep.json says how far the sweep got); ``signum`` gives the exit code 128 + signum."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


@contextmanager
def _terminate_as_interrupt():
    """SIGTERM and SIGHUP raise :class:`Terminated` while variants are solved (main
    thread only, and only where they would end the program: their default action);
    Ctrl-C raises KeyboardInterrupt, as ever, and is remembered (:func:`solve_variant`)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise Terminated(signum)

    def interrupt(signum, frame):
        _INTERRUPTS.append(signum)
        if callable(previous_interrupt):  # Python's own handler, or the CLI's (which remembers it too)
            previous_interrupt(signum, frame)
        raise KeyboardInterrupt

    _INTERRUPTS.clear()
    replaced = {}
    previous_interrupt = signal.getsignal(signal.SIGINT)
    if previous_interrupt is not signal.SIG_IGN:
        replaced[signal.SIGINT] = signal.signal(signal.SIGINT, interrupt)
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) == signal.SIG_DFL:
            replaced[signum] = signal.signal(signum, stop)
    try:
        yield
    finally:
        for signum, handler in replaced.items():
            signal.signal(signum, handler)


#: How often a worker process checks that the sweep that started it still runs (s).
PARENT_POLL = 0.5


def _sweep_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (not gone, not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except FileNotFoundError:
        return False
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            pass
        return True


def _watch_parent(pid: int) -> None:
    """End this worker when the sweep process ``pid`` is gone (SIGKILL leaves no chance
    to stop the workers; a forkserver's children are not the sweep's own)."""
    def watch():
        while _sweep_alive(pid):
            time.sleep(PARENT_POLL)
        os._exit(1)

    threading.Thread(target=watch, name="planner-parent-watch", daemon=True).start()


def _init_worker(instance_data: dict, time_limit: float | None, parent: int | None = None) -> None:
    """ProcessPoolExecutor initializer: keep the instance; leave Ctrl-C to the parent;
    end with the sweep process ``parent``; SIGTERM ends the worker at once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if parent is not None:
        _watch_parent(parent)
    _WORKER["data"] = instance_data
    _WORKER["time_limit"] = time_limit


def _solve_batch(batch: list[tuple[int, tuple]]) -> list[tuple[int, dict]]:
    """A process-pool task: solve a batch with the instance the initializer stored."""
    return [(index, solve_variant(_WORKER["data"], changes, _WORKER["time_limit"])) for index, changes in batch]


def _solve_batch_with(payload: dict, batch: list[tuple[int, tuple]]) -> list[tuple[int, dict]]:
    """A Dask task: ``payload`` is the instance scattered to every worker once."""
    out = []
    for index, changes in batch:
        with _SOLVE_LOCK:
            out.append((index, solve_variant(payload["data"], changes, payload["time_limit"])))
    return out


# ---------------------------------------------------------------------------------------
# Running a sweep
# ---------------------------------------------------------------------------------------


@dataclass
class SweepResult:
    code: int
    out: Path
    design: Design
    rows: list[dict] = field(default_factory=list)  # sweep.csv's rows, in variant order
    summary: dict = field(default_factory=dict)
    sensitivity: list[dict] | None = None
    interrupted: bool = False
    solved_now: int = 0
    seconds: float = 0.0
    chart: Path | None = None  # sweep.png, when drawn


def header(design: Design, providers: Sequence[str]) -> list[str]:
    return ["variant", "variant_id", *design.columns, "status", *OUTPUTS,
            *(f"share_{p}" for p in providers), "message"]


def _csv_row(variant: Variant, outcome: dict, providers) -> list:
    shares = outcome.get("shares") or {}
    return [_no_negative_zero(v) for v in (
        variant.index, variant.id, *variant.values, outcome["status"],
        *(outcome.get(k) for k in OUTPUTS), *(shares.get(p) for p in providers), outcome.get("message", ""))]


def _no_negative_zero(value):
    """-0.0 written as 0.0, as in the results tables (adding 0.0 changes nothing else)."""
    return value + 0.0 if isinstance(value, float) else value


def load_data(path: Path) -> tuple[dict, Instance]:
    """Read the instance file once; return its raw data (with ``name``) and the Instance."""
    from ..instance.loading import load_document

    document = load_document(path)  # raises InstanceError naming the file and fields
    return dict(document.data), document.instance


#: The largest --seed (NumPy's and SciPy's generators take any seed in 0 .. 2**63 - 1).
MAX_SEED = 2**63 - 1


def check_options(*, samples=None, sobol=None, seed=0, jobs=1, batch_size=None, time_limit=None) -> None:
    """Refuse options out of range before anything is read or built (SweepError)."""
    if not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise SweepError(f"--seed must be a whole number from 0 to {MAX_SEED}, got {seed}")
    for name, number in (("--samples", samples), ("--sobol", sobol), ("--jobs", jobs), ("--batch-size", batch_size)):
        if number is not None and number < 1:
            raise SweepError(f"{name} must be at least 1, got {number}")
    if samples is not None and samples > MAX_VARIANTS:
        raise SweepError(f"--samples {samples} is more than {MAX_VARIANTS:,}")
    if sobol is not None and sobol * 3 > MAX_VARIANTS:  # N*(D+2) variants, D >= 1
        raise SweepError(f"--sobol {sobol} needs at least {sobol * 3:,} variants (N*(D+2)), more than {MAX_VARIANTS:,}")
    if time_limit is not None and not (time_limit >= 0 and math.isfinite(time_limit)):
        raise SweepError(f"--time-limit must be a finite number of seconds >= 0, got {time_limit}")


def run_sweep(
    instance: str | Path,
    vary: Sequence[str],
    *,
    samples: int | None = None,
    sobol: int | None = None,
    seed: int = 0,
    jobs: int = 1,
    scheduler: str | None = None,
    out: str | Path | None = None,
    batch_size: int | None = None,
    time_limit: float | None = None,
    progress: bool = True,
    echo: Callable[[str], None] = print,
    chart: bool = True,
) -> SweepResult:
    """Run a sweep (see the module docstring); raise :class:`SweepError` for bad usage and
    :class:`planner.InstanceError` for an invalid instance file.

    The returned result's ``code`` is 0 when every variant has a row, 130 when the sweep
    was interrupted (the rows finished so far are kept; run it again to resume), 1 when
    the Sobol' indices could not be computed (some variant has no objective).
    """
    started = time.perf_counter()
    check_options(samples=samples, sobol=sobol, seed=seed, jobs=jobs, batch_size=batch_size, time_limit=time_limit)
    path = Path(instance)
    data, inst = load_data(path)
    if inst.scenarios is not None:
        raise SweepError(f"{path} has a scenarios block; a sweep varies a plain instance (MODEL.md §1). "
                         "Sweep the instance without its scenarios block, with each case's changes as --vary")
    specs = [parse_vary(v) for v in vary]
    if sobol is not None and sobol * (len(specs) + 2) > MAX_VARIANTS:
        raise SweepError(f"--sobol {sobol} needs {sobol * (len(specs) + 2):,} variants (N*(D+2) for {len(specs)} "
                         f"--vary), more than {MAX_VARIANTS:,}")
    design = make_design(inst, data, specs, samples=samples, sobol=sobol, seed=seed)
    providers = list(inst.providers)
    columns = header(design, providers)
    target = Path(out) if out is not None else Path("results") / f"{_safe(inst.name)}-sweep"
    if scheduler:
        check_scheduler(scheduler)  # before the folder is touched
    with _sweep_lock(target):
        return _run_in(target, inst, path, data, design, vary, columns, providers, scheduler, jobs, batch_size,
                       time_limit, progress, echo, chart, seed, started)


def _run_in(target, inst, path, data, design, vary, columns, providers, scheduler, jobs, batch_size, time_limit,
            progress, echo, chart, seed, started) -> SweepResult:
    """The sweep into ``target``, whose lock this process holds."""
    done = _prepare_out(target, columns, design)
    todo = [v for v in design.variants if v.id not in done]
    by_index = {v.index: v for v in design.variants}
    result = SweepResult(EXIT_OK, target, design)
    where = "this process" if jobs == 1 and not scheduler else (
        f"the Dask cluster at {scheduler}" if scheduler else f"{jobs} local processes")
    echo_err = _stderr if progress else (lambda _msg: None)
    echo_err(f"Sweep of {inst.name}: {len(design.variants)} variants ({design.mode}), "
             f"{len(done)} already in {target / SWEEP_CSV}, {len(todo)} to solve in {where}")

    csv_path = target / SWEEP_CSV
    kept = "the rows solved before are kept in it; run the same command again to resume"
    try:
        new_file = not csv_path.exists()
        fd = os.open(csv_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        good = [os.fstat(fd).st_size]  # the end of the last complete row
    except OSError as err:
        raise SweepError(f"cannot write {csv_path}: {err.strerror or err}") from None

    def append(rows: list[list]) -> None:
        """Whole rows or none: a write cut short (a full disk, a file-size limit) is cut
        back to the last complete row."""
        text = io.StringIO(newline="")
        csv.writer(text, lineterminator="\n").writerows(rows)
        data_ = memoryview(text.getvalue().encode("utf-8"))
        try:
            while data_:
                data_ = data_[os.write(fd, data_):]
            good[0] = os.fstat(fd).st_size
        except OSError as err:
            try:
                os.ftruncate(fd, good[0])
            except OSError:
                pass  # a partial row is dropped when the sweep is resumed (_drop_partial_line)
            raise SweepError(f"cannot write {csv_path}: {err.strerror or err}; {kept}") from None

    if new_file:
        try:
            append([columns])
        except SweepError:
            os.close(fd)
            csv_path.unlink(missing_ok=True)
            raise

    def record(pairs: list[tuple[int, dict]]) -> None:
        append([_csv_row(by_index[index], outcome, providers) for index, outcome in pairs])
        result.solved_now += len(pairs)

    payload = {"data": data, "time_limit": time_limit}
    try:
        with _terminate_as_interrupt(), _progress_bar(progress, len(todo), inst.name) as advance:
            def on_rows(pairs):
                record(pairs)
                advance(len(pairs))

            if not todo:
                pass
            elif scheduler:
                _run_dask(scheduler, payload, todo, batch_size, on_rows)
            elif jobs == 1:
                for variant in todo:
                    on_rows([(variant.index, solve_variant(data, variant.changes, time_limit))])
            else:
                _run_processes(jobs, payload, todo, batch_size, on_rows)
    except KeyboardInterrupt as err:
        result.interrupted = True
        result.code = 128 + int(getattr(err, "signum", signal.SIGINT))
    finally:
        os.close(fd)
    try:
        _finish(result, target, csv_path, columns, design, inst, path, data, vary, providers, seed, echo, started)
    except OSError as err:
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        raise SweepError(f"cannot write the sweep's files in {target}{where}: {err.strerror or err}; "
                         f"{SWEEP_CSV} keeps every row solved; run the same command again to finish") from None
    except KeyboardInterrupt as err:  # each file is written whole (safe_write) or not at all
        echo(f"interrupted while writing {SWEEP_JSON}: {csv_path} keeps every row solved; "
             "run the same command again to finish")
        result.code = 128 + int(getattr(err, "signum", signal.SIGINT))
        return result
    result.chart = _draw_chart(target, echo, result) if chart else _drop_chart(target)
    echo(render_summary(result, inst))
    return result


def _finish(result, target, csv_path, columns, design, inst, path, data, vary, providers, seed, echo, started):
    """sweep.csv in variant order, sensitivity.csv and sweep.json (OSError on a failed write)."""
    result.rows = _finish_csv(csv_path, columns, design)
    result.seconds = time.perf_counter() - started
    complete = len(result.rows) == len(design.variants)
    if design.mode == "sobol" and complete:
        result.sensitivity, problem = sobol_indices(design, result.rows, seed)
        if result.sensitivity is None:
            result.code = EXIT_NO_SENSITIVITY
            echo(f"no {SENSITIVITY_CSV}: {problem}")
        else:
            _write_sensitivity(target / SENSITIVITY_CSV, result.sensitivity)
    result.summary = summarise(inst, path, data, design, vary, result, complete, providers)
    _write_json(target / SWEEP_JSON, result.summary)


def _draw_chart(target: Path, echo: Callable[[str], None], result: SweepResult) -> Path | None:
    """Draw ``sweep.png`` (:mod:`planner.sweep.chart`); a chart that cannot be drawn is
    said, and the sweep's files stand. Ctrl-C while it is drawn (importing matplotlib
    alone takes a while) leaves no chart (an earlier one, of other rows, is removed) and
    makes the exit code 130; sweep.csv and sweep.json are complete by then."""
    try:
        from .chart import SweepChartError, write_sweep_chart

        try:
            return write_sweep_chart(target)
        except (SweepChartError, OSError) as err:
            echo(f"no {SWEEP_PNG}: {err}")
            return None
    except KeyboardInterrupt as err:
        _drop_chart(target)
        echo(f"interrupted while drawing {SWEEP_PNG}: no chart; {SWEEP_CSV} and {SWEEP_JSON} are written")
        result.code = 128 + int(getattr(err, "signum", signal.SIGINT))
        return None


def _drop_chart(target: Path) -> None:
    """Without a chart, an earlier run's ``sweep.png`` (of other rows) is removed."""
    (target / SWEEP_PNG).unlink(missing_ok=True)
    return None


def _safe(name: str) -> str:
    safe = "".join("_" if ch in '/\\:' or not ch.isprintable() else ch for ch in name).strip()
    return safe if safe.strip(".") else "instance"


def _stderr(message: str) -> None:
    import sys

    print(message, file=sys.stderr, flush=True)


def _batches(variants: list[Variant], size: int) -> list[list[tuple[int, tuple]]]:
    return [[(v.index, v.changes) for v in variants[i:i + size]] for i in range(0, len(variants), size)]


def _batch_size(n: int, workers: int, given: int | None) -> int:
    if given:
        return given
    # about 8 tasks per worker (even load, a fine progress bar, little lost on Ctrl-C),
    # at most 16 variants per task
    return max(1, min(16, math.ceil(n / (workers * 8))))


def _run_processes(jobs: int, payload: dict, todo: list[Variant], batch_size: int | None, on_rows) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    try:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["planner.sweep.run", "planner.solver.highs", "planner.solver.parametric"])
    except ValueError:  # no forkserver on this platform
        context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker,
                               initargs=(payload["data"], payload["time_limit"], os.getpid()))
    futures = [pool.submit(_solve_batch, batch) for batch in _batches(todo, _batch_size(len(todo), jobs, batch_size))]
    try:
        for future in as_completed(futures):
            on_rows(future.result())
    except BaseException:
        # finish now; the rows of finished batches are written. The futures are not
        # cancelled: the pool's thread fails every pending one when it sees the workers
        # gone, and failing a cancelled one raises in that thread (InvalidStateError)
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=False)
        raise
    pool.shutdown(wait=True)


#: Seconds to reach a Dask scheduler and hear its handshake.
CONNECT_TIMEOUT = 15.0
#: A Dask handshake is a few hundred bytes; its first 8 bytes give its length.
_MAX_HANDSHAKE = 1 << 24


def check_scheduler(address: str, timeout: float | None = None) -> None:
    """Refuse (SweepError, within ``timeout``) a ``tcp://`` address where no Dask
    scheduler answers: nothing listens, the service accepts and stays silent, or it
    speaks another protocol (HTTP). A Dask scheduler sends its handshake as soon as it
    accepts a connection: 8 bytes giving the length of a small message. Other schemes
    (``tls://``, ``ws://``, ``inproc://``) are left to Dask."""
    import socket
    import struct

    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    match = re.fullmatch(r"(?:tcp://)?\[?([^\[\]/]+?)\]?:(\d+)/?", address.strip())
    if "://" in address and not address.startswith("tcp://"):
        return
    if not match:
        raise SweepError(f"--scheduler {address}: expected tcp://HOST:PORT (e.g. tcp://127.0.0.1:8786)")
    host, port = match.group(1), int(match.group(2))
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            head = b""
            while len(head) < 8:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                sock.settimeout(left)
                chunk = sock.recv(8 - len(head))
                if not chunk:
                    raise SweepError(f"--scheduler {address}: the service there closed the connection without "
                                     "a Dask handshake; is it a Dask scheduler?")
                head += chunk
    except (TimeoutError, socket.timeout):
        raise SweepError(f"--scheduler {address}: no Dask handshake within {timeout:g} s (the service there "
                         "accepts connections but does not answer like a Dask scheduler)") from None
    except OSError as err:
        raise SweepError(f"--scheduler {address}: cannot reach the Dask scheduler: {err.strerror or err}") from None
    (length,) = struct.unpack("<Q", head)
    if not 0 < length <= _MAX_HANDSHAKE:
        raise SweepError(f"--scheduler {address}: the service there is not a Dask scheduler (it answered "
                         f"{head!r}...)")


def _run_dask(address: str, payload: dict, todo: list[Variant], batch_size: int | None, on_rows) -> None:
    try:
        from dask.distributed import Client, as_completed
    except ImportError:  # pragma: no cover - a dependency of planner
        raise SweepError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
    try:
        client = Client(address, timeout=f"{CONNECT_TIMEOUT}s", set_as_default=False)
    except Exception as err:  # noqa: BLE001 - whatever answered is not a usable scheduler
        raise SweepError(f"--scheduler {address}: cannot reach the Dask scheduler: {type(err).__name__}: "
                         f"{_one_line(str(err)) or 'no detail'}") from None
    futures = []
    try:
        workers = max(1, sum(client.nthreads().values()))
        shipped = client.scatter(payload, broadcast=True, hash=False)  # the instance, once per worker
        futures = [client.submit(_solve_batch_with, shipped, batch, pure=False)
                   for batch in _batches(todo, _batch_size(len(todo), workers, batch_size))]
        for future in as_completed(futures, loop=client.loop):
            on_rows(future.result())
    except BaseException:
        if futures:
            client.cancel(futures)
        raise
    finally:
        client.close()


class _progress_bar:
    """A rich progress bar with rate and time left (or nothing when ``enabled`` is false)."""

    def __init__(self, enabled: bool, total: int, name: str):
        self.enabled, self.total, self.name = enabled and total > 0, total, name
        self.progress = None

    def __enter__(self):
        if not self.enabled:
            return lambda n: None
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)
        from rich.text import Text

        class Rate(ProgressColumn):
            def render(self, task):
                speed = task.finished_speed or task.speed
                return Text("    ? /s" if speed is None else f"{speed:6.1f}/s")

        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(bar_width=24), MofNCompleteColumn(), Rate(),
            TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
            console=Console(stderr=True), refresh_per_second=4,
        )
        self.progress.__enter__()
        task = self.progress.add_task("variants", total=self.total)
        return lambda n: self.progress.advance(task, n)

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.__exit__(*exc)
        return False


# ---------------------------------------------------------------------------------------
# The output folder: refusal, resume, final order
# ---------------------------------------------------------------------------------------


def _ours(name: str) -> bool:
    return name in SWEEP_FILES or name.startswith(".sweep")


@contextmanager
def _sweep_lock(out: Path):
    """The results folder's lock (:class:`planner.results.folder.FolderLock`) on the sweep
    folder, held for the whole sweep: a second sweep into the same folder is refused at
    once (SweepError) instead of mixing its rows into the first one's sweep.csv."""
    from ..results.folder import FolderBusy, FolderLock

    lock = FolderLock(out, wait=False)
    try:
        Path(os.path.abspath(out)).parent.mkdir(parents=True, exist_ok=True)
        lock.__enter__()
    except FolderBusy:
        raise SweepError(f"--out {out} is in use by another sweep running now; wait for it to end or choose "
                         "another --out folder") from None
    except OSError as err:
        raise SweepError(f"--out {out}: cannot lock the folder: {err.strerror or err}") from None
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def _prepare_out(out: Path, columns: list[str], design: Design) -> set[str]:
    """Make sure ``out`` can take this sweep; return the variant ids already in its sweep.csv."""
    try:
        if out.exists() and not out.is_dir():
            raise SweepError(f"--out {out} exists and is not a folder")
        if out.exists():
            foreign = sorted(p.name for p in out.iterdir() if not _ours(p.name))
            if foreign:
                raise SweepError(f"--out {out} holds files a sweep did not write ({', '.join(foreign[:5])}); "
                                 "choose another --out folder")
        out.mkdir(parents=True, exist_ok=True)
        csv_path = out / SWEEP_CSV
        if not csv_path.exists():
            return set()
        _drop_partial_line(csv_path)
        with csv_path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except OSError as err:
        raise SweepError(f"--out {out}: {err.strerror or err}") from None
    if not rows:
        csv_path.unlink()
        return set()
    if rows[0] != columns:
        raise SweepError(f"--out {out} holds a sweep of other columns ({', '.join(rows[0][2:5])}, ...); "
                         "resuming needs the same --vary paths: choose another --out folder")
    ids = [row[1] for row in rows[1:] if len(row) == len(columns)]
    wanted = {v.id for v in design.variants}
    stray = [i for i in ids if i not in wanted]
    if stray:
        raise SweepError(f"--out {out} holds {len(stray)} variant(s) that are not in this sweep (another "
                         "instance, --vary values, --seed or --samples?); choose another --out folder")
    return set(ids)


def _drop_partial_line(path: Path) -> None:
    """A row cut short by a hard kill (no newline at the end) is dropped; it is solved again."""
    raw = path.read_bytes()
    if raw and not raw.endswith(b"\n"):
        with path.open("r+b") as handle:
            handle.truncate(raw.rfind(b"\n") + 1)


def _finish_csv(path: Path, columns: list[str], design: Design) -> list[dict]:
    """Rewrite sweep.csv in variant order (one row per variant id); return its rows."""
    index = {v.id: v.index for v in design.variants}
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in list(csv.reader(handle))[1:] if len(row) == len(columns)]
    unique = {}
    for row in rows:
        unique.setdefault(row[1], row)
    ordered = sorted(unique.values(), key=lambda row: index[row[1]])
    for row in ordered:
        row[0] = str(index[row[1]])
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(ordered)
    safe_write.write_text(path, text.getvalue())
    return [dict(zip(columns, row)) for row in ordered]


def _write_json(path: Path, content: dict) -> None:
    """sweep.json, by the one safe write."""
    safe_write.write_text(path, json.dumps(content, indent=2, allow_nan=False) + "\n")


# ---------------------------------------------------------------------------------------
# Summaries: sweep.json and sensitivity.csv
# ---------------------------------------------------------------------------------------


def _float(text: str) -> float | None:
    return float(text) if text not in ("", None) else None


def distribution(values: list[float]) -> dict:
    """count, mean, std, min, p5, p50, p95, max of ``values`` (linear percentiles)."""
    import numpy as np

    if not values:
        return {"count": 0}
    array = np.asarray(values, dtype=float)
    p5, p50, p95 = np.percentile(array, [5, 50, 95])
    return {"count": len(values), "mean": float(array.mean()), "std": float(array.std(ddof=0)),
            "min": float(array.min()), "p5": float(p5), "p50": float(p50), "p95": float(p95),
            "max": float(array.max())}


def summarise(inst, path, data, design, vary, result: SweepResult, complete: bool, providers) -> dict:
    rows = result.rows
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    optimal = [row for row in rows if row["status"] == "optimal"]
    outputs = {}
    for name in [*OUTPUTS, *(f"share_{p}" for p in providers)]:
        outputs[name] = distribution([v for v in (_float(row[name]) for row in optimal) if v is not None])
    inputs = {}
    for spec in design.specs:
        inputs[spec.column] = distribution([float(row[spec.column]) for row in rows])
    summary = {
        "instance": inst.name,
        "instance_file": str(path),
        "instance_sha256": fingerprint(data),
        "mode": design.mode,
        "vary": list(vary),
        "seed": design.seed,
        "samples" if design.mode == "monte_carlo" else "sobol_n": design.samples,
        "variants": len(design.variants),
        "rows": len(rows),
        "complete": complete,
        "status_counts": dict(sorted(counts.items())),
        "objective_name": inst.objective,
        "units": {"money": inst.units.money, "capacity": inst.units.capacity},
        "outputs": outputs,
        "inputs": inputs,
        "note": "outputs summarise the optimal variants only; shares are of active capacity in the last planning year",
    }
    if design.mode != "monte_carlo":
        summary.pop("samples", None)
    if design.mode != "sobol":
        summary.pop("sobol_n", None)
    if design.mode == "grid":
        summary.pop("seed")
    if result.sensitivity is not None:
        summary["sensitivity"] = SENSITIVITY_CSV
    return summary


def sobol_indices(design: Design, rows: list[dict], seed: int) -> tuple[list[dict] | None, str]:
    """SALib's Sobol' analysis of each output in :data:`SOBOL_OUTPUTS`: first-order and
    total indices with 95 % confidence intervals, ranked by the total index."""
    import numpy as np
    from SALib.analyze import sobol as sobol_analyze

    by_id = {row["variant_id"]: row for row in rows}
    missing = [r for r in design.sobol_rows if by_id[r]["status"] != "optimal"]
    if missing:
        bad = sorted({by_id[r]["status"] for r in missing})
        return None, (f"{len(set(missing))} of {len(by_id)} variants have no objective ({', '.join(bad)}); "
                      "Sobol' indices need every variant of the design: narrow the distributions")
    problem = _sobol_problem(design.specs)
    table = []
    for output in SOBOL_OUTPUTS:
        y = np.array([float(by_id[r][output]) for r in design.sobol_rows])
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            # SALib draws its bootstrap unseeded when seed is 0 ("if seed:"): seed + 1
            si = sobol_analyze.analyze(problem, y, calc_second_order=False, conf_level=0.95,
                                       num_resamples=200, seed=seed + 1)
        entries = []
        for i, spec in enumerate(design.specs):
            s1, s1c, st, stc = (float(si[k][i]) for k in ("S1", "S1_conf", "ST", "ST_conf"))
            entries.append({
                "output": output, "path": spec.path, "distribution": spec.text.split("~", 1)[1].strip(),
                "first_order": s1, "first_order_low": s1 - s1c, "first_order_high": s1 + s1c,
                "total": st, "total_low": st - stc, "total_high": st + stc,
            })
        entries.sort(key=lambda e: -e["total"] if math.isfinite(e["total"]) else math.inf)
        for rank, entry in enumerate(entries, 1):
            table.append({"output": output, "rank": rank, **{k: v for k, v in entry.items() if k != "output"}})
    return table, ""



def _write_sensitivity(path: Path, table: list[dict]) -> None:
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=SENSITIVITY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: _no_negative_zero(value) for key, value in row.items()} for row in table)
    safe_write.write_text(path, text.getvalue())


def render_summary(result: SweepResult, inst: Instance) -> str:
    s = result.summary
    money = inst.units.money
    counts = ", ".join(f"{n} {status}" for status, n in s["status_counts"].items()) or "none"
    lines = []
    if result.interrupted:
        lines.append(f"interrupted: kept {s['rows']} of {s['variants']} variants in {result.out / SWEEP_CSV}; "
                     "run the same command again to resume")
    else:
        rate = result.solved_now / result.seconds if result.seconds > 0 else 0.0
        now = (f"solved {result.solved_now} now in {result.seconds:.1f} s ({rate:.1f} variants/s)"
               if result.solved_now else "nothing left to solve")
        lines.append(f"{inst.name}: {s['variants']} variants ({counts}); {now}")
    objective = s["outputs"]["objective"]
    if objective.get("count"):
        lines.append(f"objective ({s['objective_name']}) in {money} over {objective['count']} optimal variants: "
                     f"mean {objective['mean']:,.3f}, p5 {objective['p5']:,.3f}, p50 {objective['p50']:,.3f}, "
                     f"p95 {objective['p95']:,.3f}")
    if result.sensitivity:
        lines.append("What drives the objective (Sobol' total index, 95% interval; first-order):")
        width = max(len(entry["path"]) for entry in result.sensitivity)
        for entry in result.sensitivity:
            if entry["output"] == "objective":
                lines.append(f"  {entry['rank']}. {entry['path']:<{width}}  total {entry['total']:.3f} "
                             f"[{entry['total_low']:.3f}, {entry['total_high']:.3f}]; "
                             f"first-order {entry['first_order']:.3f}")
    files = [SWEEP_CSV, SWEEP_JSON] + ([SENSITIVITY_CSV] if result.sensitivity else []) + (
        [SWEEP_PNG] if result.chart else [])
    lines.append(f"Wrote {', '.join(files)} to {result.out}")
    return "\n".join(lines)
