"""Badly scaled instances: numbers whose magnitudes span too many orders.

An LP solver works to absolute tolerances of about 1e-7 on a scaled copy of the model;
when an instance's coefficients (prices, capacities, demands, efficiencies, money
amounts, fractions) span more than about nine orders of magnitude, that scaling cannot
make them all comparable and the plan may miss constraints by more than round-off.
:func:`scaling_warning` says so before the solve, naming the smallest and the largest
non-zero number and the fields they come from; ``summary.json``'s ``max_violation``
reports afterwards how far the plan actually misses (``planner.results.check.max_violation``).
"""

from __future__ import annotations

from typing import Iterator

from pydantic import BaseModel

from .schema import Instance

#: Non-zero magnitudes spanning more than this factor get a warning.
SPAN_LIMIT = 1e9

#: Numbers that are not coefficients of the LP: ``discount_rate`` only weighs the years
#: by (1 + r)^-(t - t0), and whole numbers (terms, lead times) shape the model's structure.
_NOT_COEFFICIENTS = {"discount_rate"}


def coefficients(inst: Instance) -> Iterator[tuple[str, float]]:
    """``(field path, value)`` for every non-zero number of the instance that enters the
    LP as a coefficient or a bound, a case's numbers included (under the case's ``set``
    path when the case sets that field)."""
    yield from _walk(inst, "")
    if inst.scenarios is not None:
        for name, case in inst.scenarios.cases.items():
            yield f"scenarios.cases.{name}.probability", case.probability
        risk = inst.scenarios.risk
        if risk.weight > 0:  # CVaR weighs the tail by probability / (1 - alpha)
            yield "scenarios.risk.alpha (as 1 / (1 - alpha))", 1 / (1 - risk.alpha)
    for name, case in inst.cases.items():
        set_paths = sorted(map(str, inst.scenarios.cases[name].set), key=len, reverse=True)
        for path, value in _walk(case, ""):
            owner = next((p for p in set_paths if path == p or path.startswith(p + ".")), None)
            if owner:
                yield f"scenarios.cases.{name}.set.{path}", value


def _walk(model: BaseModel, prefix: str) -> Iterator[tuple[str, float]]:
    for field in type(model).model_fields:
        if field in _NOT_COEFFICIENTS or field == "scenarios":
            continue
        value = getattr(model, field)
        path = f"{prefix}{field}"
        yield from _values(value, path)


def _values(value, path: str) -> Iterator[tuple[str, float]]:
    if isinstance(value, BaseModel):
        yield from _walk(value, path + ".")
    elif isinstance(value, dict):
        if all(isinstance(key, int) for key in value):  # a resolved yearly series
            for number in value.values():
                if isinstance(number, float) and number != 0:
                    yield path, abs(number)
        else:
            for key, child in value.items():
                yield from _values(child, f"{path}.{key}")
    elif isinstance(value, float) and value != 0:
        yield path, abs(value)


#: The last instance measured and its span: ``planner solve`` warns before solving and
#: ``summary.json`` records the warning after, for the same (unchanging) instance.
_LAST_SPAN: list = []


def coefficient_span(inst: Instance) -> tuple[float, str, float, str] | None:
    """``(smallest, its field, largest, its field)`` of the non-zero magnitudes, or None."""
    if _LAST_SPAN and _LAST_SPAN[0] is inst:
        return _LAST_SPAN[1]
    span = _span(inst)
    _LAST_SPAN[:] = [inst, span]
    return span


def _span(inst: Instance) -> tuple[float, str, float, str] | None:
    smallest = largest = None
    for path, value in coefficients(inst):
        if smallest is None or value < smallest[0]:
            smallest = (value, path)
        if largest is None or value > largest[0]:
            largest = (value, path)
    if smallest is None:
        return None
    return smallest[0], smallest[1], largest[0], largest[1]


def scaling_warning(inst: Instance, limit: float = SPAN_LIMIT) -> str | None:
    """A one-line warning when the instance's non-zero numbers span more than ``limit``."""
    span = coefficient_span(inst)
    if span is None:
        return None
    small, small_at, large, large_at = span
    if large <= small * limit:
        return None
    return (f"coefficients span {small:.3g} ({small_at}) to {large:.3g} ({large_at}); "
            "results may be inaccurate")


#: The smallest non-zero number that may enter the LP's matrix (or weigh a case in the
#: objective). HiGHS drops matrix entries of 1e-9 and less and works to tolerances of
#: 1e-7: a coefficient below 1e-6 can be lost or swamped, and a feasible instance be
#: called infeasible (or a case's constraints be missed). Such numbers are refused.
MIN_COEFFICIENT = 1e-6

_RESCALE = "rescale the units (e.g. count compute or capacity in units of 1000)"


def _first_tiny(series: dict, value=lambda x: x) -> tuple[int, float] | None:
    for year, number in series.items():
        coefficient = value(number)
        if 0 < coefficient < MIN_COEFFICIENT:
            return year, coefficient
    return None


_DROPPED = "the smallest coefficient HiGHS keeps reliably (it drops matrix entries of 1e-9 and less)"


def _tiny(path: str, series: dict, what: str = "", value=lambda x: x, hint: str = _RESCALE,
          reason: str = _DROPPED):
    found = _first_tiny(series, value)
    if found is None:
        return None
    year, coefficient = found
    where = f" in {year}" if len(series) > 1 else ""
    return path, f"{what}{coefficient:.3g}{where} is below {MIN_COEFFICIENT:g}, {reason}; {hint}"


def tiny_coefficients(inst: Instance) -> list[tuple[str, str]]:
    """``(path, message)`` for every number of ``inst`` that would enter the LP's matrix
    as a non-zero coefficient below :data:`MIN_COEFFICIENT` (efficiencies, prices,
    upfront, capex, opex, revenue per compute unit times efficiency, the debt rate,
    shares and one minus a share or a decline), and every case probability below it."""
    problems = []
    for pname, prov in inst.providers.items():
        at = f"providers.{pname}"
        problems.append(_tiny(f"{at}.efficiency", prov.efficiency))
        for kname, contract in prov.contracts.items():
            problems.append(_tiny(f"{at}.contracts.{kname}.price", contract.price))
            problems.append(_tiny(f"{at}.contracts.{kname}.upfront", contract.upfront))
        if prov.build is not None:
            build = prov.build
            problems.append(_tiny(f"{at}.build.capex", build.capex))
            if build.depreciation_years > 1:
                problems.append(_tiny(f"{at}.build.capex", build.capex,
                                      f"capex / depreciation_years = ", lambda x: x / build.depreciation_years))
            problems.append(_tiny(f"{at}.build.opex", build.opex))
        keep = "write 0 or 1 exactly, or a number at least 1e-06 away from them"
        for field in ("min_share", "max_share", "max_decline"):
            series = getattr(prov, field)
            if series is None:
                continue
            problems.append(_tiny(f"{at}.{field}", series, hint=keep))
            problems.append(_tiny(f"{at}.{field}", series, f"1 - {field} = ", lambda x: 1 - x, hint=keep))
    for wname, work in inst.workloads.items():
        found = _tiny(f"workloads.{wname}.revenue", work.revenue)
        for pname in inst.providers:
            if found is not None or wname not in inst.allowed_workloads(pname):
                continue
            eff = inst.providers[pname].efficiency
            found = _tiny(f"workloads.{wname}.revenue",
                          {year: work.revenue[year] * eff[year] for year in work.revenue},
                          f"revenue x providers.{pname}.efficiency = ")
        problems.append(found)
    if 0 < inst.finance.debt.rate < MIN_COEFFICIENT:
        problems.append(_tiny("finance.debt.rate", {0: inst.finance.debt.rate}, hint="write 0 or a larger rate"))
    if inst.scenarios is not None:
        for name, case in inst.scenarios.cases.items():
            problems.append(_tiny(f"scenarios.cases.{name}.probability", {0: case.probability},
                                  reason="the smallest probability the solver weighs reliably (its "
                                         "tolerances are 1e-7: the plan may break the case's constraints)",
                                  hint="drop the case or merge it into another"))
    return [problem for problem in problems if problem is not None]
