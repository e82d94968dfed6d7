"""Instance files: the schema of MODEL.md §1, loading from YAML or JSON, and validation.

An instance is validated in one pass by pydantic. Yearly series are resolved during
that pass into a mapping ``{year: value}`` that covers every planning year exactly once,
so the model never sees the shorthand forms (one number, ``2026-2030`` ranges).

Every problem is reported as an :class:`InstanceError` holding ``(path, message)``
pairs, where ``path`` is the dotted path of the field in the file
(``providers.microsoft.contracts.reserved_3y.term``).
"""

from __future__ import annotations

import datetime
import json
import math
import re
import reprlib
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import yaml
from pydantic import (
    PrivateAttr,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

#: Largest instance file the loader reads, in bytes.
MAX_FILE_BYTES = 10_000_000
#: Most values (scalars, lists and mappings) a document may hold, YAML aliases counted at
#: their expanded size; a "billion laughs" document fails as soon as it passes this.
MAX_NODES = 200_000
#: Most problems an :class:`InstanceError` shows (the rest are counted), and the longest
#: line it prints: an error message always fits on a screen.
MAX_SHOWN_PROBLEMS = 10
MAX_LINE_CHARS = 300
MAX_MESSAGE_CHARS = 1500
#: Longest name (instance, workload, provider, contract, case, unit label).
MAX_NAME_CHARS = 100
#: Largest number a field may hold: HiGHS reads numbers from 1e15 (in the constraint
#: matrix) or 1e20 (bounds, costs) on as infinite.
MAX_NUMBER = 1e15
#: Largest whole number (term, lead_time, lifetime, depreciation_years): years run to 9999.
MAX_WHOLE = 10_000

Series = dict[int, float]
"""A resolved yearly series: one value for every planning year."""


class InstanceError(Exception):
    """An instance that cannot be used; ``problems`` lists ``(path, message)`` pairs."""

    def __init__(self, problems: list[tuple[str, str]], source: str | None = None):
        self.problems = problems
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        """One line per problem, control characters escaped, each at most
        :data:`MAX_LINE_CHARS` long after the file name; at most :data:`MAX_SHOWN_PROBLEMS`
        lines and :data:`MAX_MESSAGE_CHARS` characters, then how many more: an error
        always fits on a screen."""
        where = f"{_clip(_printable(self.source), 200)}: " if self.source else ""
        lines: list[str] = []
        for path, msg in self.problems[:MAX_SHOWN_PROBLEMS]:
            field = ".".join(_clip(_printable(part), 40) for part in str(path).split(".")) if path else ""
            line = where + _clip(f"{field}: {_printable(msg)}" if path else _printable(msg), MAX_LINE_CHARS)
            if lines and sum(len(shown) + 1 for shown in lines) + len(line) > MAX_MESSAGE_CHARS:
                break
            lines.append(line)
        hidden = len(self.problems) - len(lines)
        if hidden > 0:
            lines.append(f"{where}... and {hidden} more problem{'s' if hidden > 1 else ''}")
        return "\n".join(lines)


def _printable(text: Any) -> str:
    """``text`` on one line: control characters (newlines, tabs, ...) escaped."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


# ---------------------------------------------------------------------------------------
# Numbers and yearly series
# ---------------------------------------------------------------------------------------

_KINDS = {
    # kind: (what is expected, in words; the test a finite number must pass)
    "amount": ("a number >= 0", lambda x: x >= 0),
    "fraction": ("a number in [0, 1]", lambda x: 0 <= x <= 1),
    "positive": ("a number > 0", lambda x: x > 0),
    "rate": ("a number >= 0 and < 1", lambda x: 0 <= x < 1),
    # round-off allowed, as in the sum of the probabilities (1 ± 1e-9)
    "probability": ("a number > 0 and <= 1", lambda x: 0 < x <= 1 + 1e-9),
}
_YEAR_KEY = re.compile(r"^\s*(\d{4})\s*(?:-\s*(\d{4})\s*)?$")


def _check_number(value: Any, kind: str) -> float:
    """Return ``value`` as a float or raise ValueError saying what was expected."""
    expected, ok = _KINDS[kind]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected {expected}, got {_describe(value)}")
    try:
        number = float(value)
    except OverflowError:  # a whole number with hundreds of digits
        raise ValueError(f"expected {expected}, got {_show(value)} (too large)") from None
    if not math.isfinite(number):
        raise ValueError(f"expected {expected}, got {_show(value)} (NaN and infinity are not allowed)")
    if not ok(number):
        raise ValueError(f"expected {expected}, got {_show(value)}")
    if number > MAX_NUMBER:
        raise ValueError(f"expected {expected} and at most {MAX_NUMBER:g}, got {_show(value)} "
                         "(the solver reads larger numbers as infinite)")
    return number


def _describe(value: Any) -> str:
    """How a value of the wrong type reads in an error message (in YAML's terms)."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no value)"
    if isinstance(value, str):
        return f"text {_show(value)}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return f"the date {value.isoformat()}"
    return _show(value)


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 3, 80, 80, 40
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = _REPR.maxdict = 8


def _show(value: Any) -> str:
    """A short repr: never walks a whole large (or alias-shared) structure."""
    try:
        text = _REPR.repr(value)
    except Exception:  # noqa: BLE001 - e.g. a whole number too long to print
        text = f"a {type(value).__name__}"
    return _clip(_printable(text), 60)


def _year_range(key: Any) -> tuple[int, int]:
    """Parse a series key: ``2027`` or ``"2027"`` or ``"2026-2030"``."""
    if isinstance(key, bool):
        raise ValueError(f"key {_show(key)} is not a year or a range like 2026-2030")
    if isinstance(key, int):
        return key, key
    match = _YEAR_KEY.match(key) if isinstance(key, str) else None
    if not match:
        raise ValueError(f"key {_show(key)} is not a year or a range like 2026-2030")
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if last < first:
        raise ValueError(f"range {key!r} runs backwards (last year before first)")
    return first, last


def resolve_series(raw: Any, kind: str, years: list[int] | None) -> Series:
    """Expand a number or a mapping of years/ranges into ``{year: value}`` for ``years``.

    Raises ValueError with a message naming the offending key or years. The work is
    linear in the number of keys plus the planning years (ranges are clipped to the
    planning years and counted, not walked), so no mapping, however many keys it has,
    makes validation slow. Without ``years`` (they are invalid: an error is reported
    for them) the keys and numbers are checked and an empty series is returned.
    """
    if isinstance(raw, dict):
        spans: list[tuple[int, int, float]] = []
        first_year, last_year = (years[0], years[-1]) if years else (0, -1)
        for key, value in raw.items():
            first, last = _year_range(key)
            try:
                number = _check_number(value, kind)
            except ValueError as err:
                raise ValueError(f"at {_clip(_printable(key), 40)}: {err}") from None
            first, last = max(first, first_year), min(last, last_year)
            if first <= last:
                spans.append((first, last, number))
        if not years:
            return {}
        # how many keys cover each planning year: a difference array over the horizon
        cover = [0] * (len(years) + 1)
        for first, last, _ in spans:
            cover[first - first_year] += 1
            cover[last - first_year + 1] -= 1
        doubled, missing, running = [], [], 0
        for i, year in enumerate(years):
            running += cover[i]
            if running > 1:
                doubled.append(year)
            elif running == 0:
                missing.append(year)
        if doubled:
            raise ValueError(f"year(s) {_years_text(doubled)} given more than once")
        if missing:
            raise ValueError(f"no value for planning year(s) {_years_text(missing)}")
        given: dict[int, float] = {}
        for first, last, number in spans:  # now disjoint: at most one pass over the years
            for year in range(first, last + 1):
                given[year] = number
        return {y: given[y] for y in years}
    try:
        number = _check_number(raw, kind)
    except ValueError as err:
        note = " (NaN and infinity are not allowed)" if "NaN" in str(err) else ""
        note = note or (" (too large)" if "too large" in str(err) else "")
        note = note or (f" (at most {MAX_NUMBER:g}: the solver reads larger numbers as infinite)"
                        if "at most" in str(err) else "")
        raise ValueError(
            f"expected {_KINDS[kind][0]}, or a mapping of years (2027) and ranges "
            f"(2026-2030) to such numbers; got {_describe(raw)}{note}"
        ) from None
    return {y: number for y in (years or [])}


def _years_text(years) -> str:
    """``2025, 2027-2030``: consecutive years as ranges, at most six parts."""
    parts, run = [], []
    for year in sorted(years):
        if run and year == run[-1] + 1:
            run.append(year)
            continue
        if run:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)))
        run = [year]
    if run:
        parts.append(f"{run[0]}-{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)))
    text = ", ".join(parts).split(", ")
    return ", ".join(text) if len(text) <= 6 else ", ".join(text[:6]) + f" and {len(text) - 6} more"


def _series_schema(kind: str) -> dict:
    number: dict[str, Any] = {"type": "number", "minimum": 0}
    if kind == "fraction":
        number["maximum"] = 1
    if kind == "positive":
        number = {"type": "number", "exclusiveMinimum": 0}
    return {
        "anyOf": [
            number,
            {
                "type": "object",
                "description": "keys: a year (2027) or an inclusive range (2026-2030)",
                "propertyNames": {"pattern": r"^\d{4}(-\d{4})?$"},
                "additionalProperties": number,
            },
        ]
    }


def _series_type(kind: str):
    def validate(raw: Any, info: ValidationInfo) -> Series:
        years = (info.context or {}).get("years")
        return resolve_series(raw, kind, years)

    return Annotated[Series, PlainValidator(validate), WithJsonSchema(_series_schema(kind))]


AmountSeries = _series_type("amount")
FractionSeries = _series_type("fraction")
PositiveSeries = _series_type("positive")


def _number_type(kind: str):
    """A plain (not per-year) number of ``kind``, checked like a series' numbers."""
    schema = {"amount": {"type": "number", "minimum": 0},
              "fraction": {"type": "number", "minimum": 0, "maximum": 1},
              "probability": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
              "rate": {"type": "number", "minimum": 0, "exclusiveMaximum": 1}}[kind]
    return Annotated[float, PlainValidator(lambda value: _check_number(value, kind)), WithJsonSchema(schema)]


def _whole_type(minimum: int):
    """A whole number >= ``minimum`` (``3.0`` and ``"3"`` are refused, as are yes/no)."""

    def validate(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"expected a whole number >= {minimum}, got {_describe(value)}")
        if value > MAX_WHOLE:
            raise ValueError(f"expected a whole number from {minimum} to {MAX_WHOLE}, got {_show(value)}")
        return value

    schema = {"type": "integer", "minimum": minimum, "maximum": MAX_WHOLE}
    return Annotated[int, PlainValidator(validate), WithJsonSchema(schema)]


def _year_pair(value: Any) -> tuple[int, int]:
    """``[first, last]``: two years, the last not before the first."""
    expected = "expected [first year, last year] (two whole numbers, e.g. [2025, 2030])"
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{expected}, got {_describe(value)}")
    if len(value) != 2 or any(
        isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9999 for year in value
    ):
        raise ValueError(f"{expected}, got {_show(list(value))}")
    first, last = value
    if last < first:
        raise ValueError(f"last year {last} is before first year {first}")
    return first, last


Amount = _number_type("amount")
Rate = _number_type("rate")
Fraction = _number_type("fraction")
Probability = _number_type("probability")
Whole0 = _whole_type(0)
Whole1 = _whole_type(1)
YearPair = Annotated[
    tuple[int, int],
    PlainValidator(_year_pair),
    WithJsonSchema({"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}),
]


# ---------------------------------------------------------------------------------------
# The instance format
# ---------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, frozen=False)


class Units(_Strict):
    """Labels shown in output; they do not change any number."""

    money: str = "money"
    capacity: str = "capacity"


class Workload(_Strict):
    """A kind of compute demand (training, inference, ...)."""

    demand: AmountSeries = Field(description="compute units needed per year")
    min_served: FractionSeries = Field(1.0, description="fraction of demand that must be served")
    revenue: AmountSeries = Field(0.0, description="money earned per compute unit served")


class Debt(_Strict):
    limit: AmountSeries = Field(0.0, description="largest allowed end-of-year debt")
    rate: Amount = Field(0.0, description="interest per year on the debt at the start of the year")
    initial: Amount = Field(0.0, description="debt before the first year")


class Finance(_Strict):
    initial_cash: Amount = Field(0.0, description="cash before the first year")
    min_cash: AmountSeries = Field(0.0, description="lowest allowed end-of-year cash")
    funding: AmountSeries = Field(0.0, description="equity inflows (not revenue)")
    base_revenue: AmountSeries = Field(0.0, description="revenue that does not depend on compute")
    other_costs: AmountSeries = Field(0.0, description="costs unrelated to compute")
    debt: Debt = Field(default={})


class Contract(_Strict):
    """A way to rent capacity: signed in year s, active for ``term`` years at the year-s price."""

    term: Whole1 = Field(description="years the contract runs")
    price: AmountSeries = Field(description="money per capacity unit per year, locked at signing")
    upfront: AmountSeries = Field(0.0, description="money per capacity unit, paid in the signing year")
    available: Optional[YearPair] = Field(
        None, description="first and last year it can be signed; default all years"
    )
    max_per_year: Optional[AmountSeries] = Field(None, description="most capacity signed in one year")


class Build(_Strict):
    """Capacity the planner pays to build and then owns."""

    initial: Amount = Field(0.0, description="owned capacity online before the first year")
    lead_time: Whole0 = Field(0, description="years from paying capex to being online")
    lifetime: Optional[Whole1] = Field(None, description="years online before retiring")
    max_per_year: Optional[AmountSeries] = Field(None, description="most new build started per year")
    capex: AmountSeries = Field(description="money per capacity unit, paid when the build starts")
    opex: AmountSeries = Field(0.0, description="money per online capacity unit per year")
    depreciation_years: Whole0 = Field(
        0, description="0: capex is a loss when paid; N: straight line over N years"
    )
    capex_in_loss: StrictBool = Field(True, description="false: capex is cash only, never a loss")


class Provider(_Strict):
    """A source of capacity: a cloud, a datacenter venture."""

    capacity: Optional[AmountSeries] = Field(None, description="most active capacity per year")
    efficiency: PositiveSeries = Field(1.0, description="compute units per capacity unit")
    workloads: Optional[list[str]] = Field(None, description="workloads allowed here; default all")
    existing: AmountSeries = Field(0.0, description="capacity contracted before the horizon")
    existing_cost: AmountSeries = Field(0.0, description="what the existing capacity costs per year")
    min_spend: Optional[AmountSeries] = Field(None, description="take-or-pay minimum charge per year")
    min_capacity: Optional[AmountSeries] = Field(None, description="least active capacity per year")
    min_share: Optional[FractionSeries] = Field(None, description="least share of all active capacity")
    max_share: Optional[FractionSeries] = Field(None, description="most share of all active capacity")
    max_decline: Optional[FractionSeries] = Field(
        None, description="most fraction by which active capacity may fall in a year"
    )
    contracts: dict[str, Contract] = Field(default_factory=dict)
    build: Optional[Build] = None

    @field_validator("workloads")
    @classmethod
    def _not_empty(cls, value):
        if value is not None and not value:
            raise ValueError("expected at least one workload name (omit the key to allow all)")
        return value


class Risk(_Strict):
    """How the cases' bad tail weighs in the objective (MODEL.md §5)."""

    alpha: Rate = Field(0.9, description="CVaR level, in [0, 1)")
    weight: Fraction = Field(0.0, description="λ: 0 expected value only, 1 CVaR only")


class Case(_Strict):
    """One case: the instance with some data replaced."""

    probability: Probability = Field(description="probability of the case, > 0")
    set: dict[str, Any] = Field(
        default_factory=dict, description="dotted path -> new value, validated as in the base"
    )


class Scenarios(_Strict):
    """Cases with probabilities, a plan committed for the first years, and risk (MODEL.md §5)."""

    commit_years: Optional[Whole0] = Field(
        None, description="signings and builds in the first N planning years are shared by every case; "
        "default: all planning years"
    )
    risk: Risk = Field(default={})
    cases: dict[str, Case] = Field(min_length=1)


class Instance(_Strict):
    """A compute procurement problem (MODEL.md §1)."""

    name: Optional[str] = Field(None, description="defaults to the file's stem")
    description: Optional[str] = None
    units: Units = Field(default={})
    years: YearPair = Field(description="first and last planning year, inclusive")
    objective: Literal["cumulative_loss", "peak_cumulative_loss"] = "cumulative_loss"
    discount_rate: Rate = Field(0.0, description="weights year t by (1+r)^-(t - first year)")
    workloads: dict[str, Workload] = Field(min_length=1)
    finance: Finance = Field(default={})
    providers: dict[str, Provider] = Field(min_length=1)
    scenarios: Optional[Scenarios] = Field(None, description="cases and risk (MODEL.md §5)")

    #: the case instances (name -> Instance, each without scenarios), when scenarios are given
    _cases: dict = PrivateAttr(default_factory=dict)

    @property
    def cases(self) -> dict[str, "Instance"]:
        """Each case's instance (the base with the case's ``set`` applied)."""
        return self._cases

    @property
    def commit_years(self) -> int:
        """How many first planning years' signings and builds every case shares."""
        n = self.scenarios.commit_years if self.scenarios else None
        return len(self.year_list) if n is None else n

    @property
    def year_list(self) -> list[int]:
        return list(range(self.years[0], self.years[1] + 1))

    @property
    def last_committed_year(self) -> int:
        """The last year whose signings and builds every case shares (MODEL.md §5):
        ``t0 + commit_years − 1`` (before ``t0`` when nothing is committed)."""
        return self.years[0] + self.commit_years - 1

    def committed(self, year: int) -> bool:
        """Signings and builds in ``year`` are one decision for every case."""
        return year <= self.last_committed_year

    def discount_factor(self, t: int) -> float:
        """``(1+r)^-(t-t0)``: the weight of year ``t`` in the discounted cumulative loss."""
        return (1.0 + self.discount_rate) ** -(t - self.years[0])

    def capacity_price(self) -> float:
        """The yardstick's price of one capacity unit-year: the median of every positive
        yearly price of a capacity unit in the instance (contract prices, existing cost
        per existing unit, and build capex spread over the depreciation years (or one
        year) plus opex). 1.0 when the instance has none."""
        prices = []
        for prov in self.providers.values():
            for contract in prov.contracts.values():
                prices += list(contract.price.values())
            prices += [cost / amount for cost, amount in zip(prov.existing_cost.values(), prov.existing.values())
                       if amount > 0]
            if prov.build is not None:
                years = max(1, prov.build.depreciation_years)
                prices += [capex / years + opex for capex, opex in zip(prov.build.capex.values(), prov.build.opex.values())]
        prices = sorted(p for p in prices if p > 0)
        return prices[len(prices) // 2] if prices else 1.0

    def typical_efficiency(self) -> float:
        """The yardstick's efficiency: the median of every provider's yearly efficiency."""
        efficiencies = sorted(e for prov in self.providers.values() for e in prov.efficiency.values())
        return efficiencies[len(efficiencies) // 2] if efficiencies else 1.0

    def unit_values(self) -> dict[str, float]:
        """The yardstick: what one unit of each kind is worth in money, so that amounts in
        different units compare (the diagnosis' slack weights, the ranking of shadow
        prices). A money unit is worth 1, a capacity unit :meth:`capacity_price`, a
        compute unit that price over :meth:`typical_efficiency`."""
        price = self.capacity_price()
        return {"money": 1.0, "capacity": price, "compute": price / self.typical_efficiency()}

    def allowed_workloads(self, provider: str) -> list[str]:
        """``W_p``: workloads allowed on ``provider``, in the instance's workload order."""
        listed = self.providers[provider].workloads
        return [w for w in self.workloads if listed is None or w in listed]

    def signing_years(self, provider: str, contract: str) -> list[int]:
        """``S_k``: the years contract ``contract`` of ``provider`` can be signed."""
        window = self.providers[provider].contracts[contract].available
        years = self.year_list
        return years if window is None else [y for y in years if window[0] <= y <= window[1]]


# ---------------------------------------------------------------------------------------
# Checks that need more than one field
# ---------------------------------------------------------------------------------------


def _name_problem(name: Any, may_be_empty: bool = False) -> str | None:
    """Why ``name`` cannot name something (it is printed in tables and messages), or None."""
    if not name and not may_be_empty:
        return "expected a name, got an empty one"
    if len(name) > MAX_NAME_CHARS:
        return f"expected a name of at most {MAX_NAME_CHARS} characters, got {len(name):,}"
    if not name.isprintable():
        return f"expected a name without control characters (newlines, tabs), got {_show(name)}"
    return None


def _names(inst: Instance):
    """``(path, name, may be empty)`` of every name: the labels and every mapping's keys."""
    if inst.name is not None:
        yield "name", inst.name, True
    yield "units.money", inst.units.money, True
    yield "units.capacity", inst.units.capacity, True
    for w in inst.workloads:
        yield f"workloads.{_key(w)}", w, False
    for p, prov in inst.providers.items():
        yield f"providers.{_key(p)}", p, False
        for k in prov.contracts:
            yield f"providers.{_key(p)}.contracts.{_key(k)}", k, False
    if inst.scenarios is not None:
        for n in inst.scenarios.cases:
            yield f"scenarios.cases.{_key(n)}", n, False


def _key(name: str) -> str:
    """A mapping key as it reads in a dotted path: ``''`` when empty, clipped when long."""
    return _clip(_printable(name), 40) if name else "''"


def _cross_checks(inst: Instance) -> list[tuple[str, str]]:
    problems = [(path, problem) for path, name, empty in _names(inst) if (problem := _name_problem(name, empty))]
    first, last = inst.years
    for pname, prov in inst.providers.items():
        for w in prov.workloads or []:
            if w not in inst.workloads:
                known = ", ".join(inst.workloads)
                problems.append((f"providers.{pname}.workloads", f"unknown workload {w!r} (defined: {known})"))
        if len(set(prov.workloads or [])) != len(prov.workloads or []):
            problems.append((f"providers.{pname}.workloads", "a workload is listed more than once"))
        for kname, contract in prov.contracts.items():
            path = f"providers.{pname}.contracts.{kname}"
            if kname == "build":
                problems.append((path, "the contract name 'build' is reserved for owned capacity"))
            if contract.available is not None:
                a, b = contract.available
                if b < a:
                    problems.append((f"{path}.available", f"last year {b} is before first year {a}"))
                elif a < first or b > last:
                    problems.append(
                        (f"{path}.available", f"[{a}, {b}] is outside the planning years [{first}, {last}]")
                    )
    return problems


#: What a case's ``set`` may replace (MODEL.md §5), by where the field sits.
SETTABLE = {
    "workloads": {"demand", "min_served", "revenue"},
    "finance": {"initial_cash", "min_cash", "funding", "base_revenue", "other_costs"},
    "debt": {"limit", "rate", "initial"},
    "providers": {"capacity", "efficiency", "existing", "existing_cost", "min_spend", "min_capacity",
                  "min_share", "max_share", "max_decline"},
    "contracts": {"price", "upfront", "max_per_year"},
    "build": {"initial", "max_per_year", "capex", "opex"},
}
FIXED_ACROSS_CASES = {"years", "objective", "discount_rate", "term", "available", "workloads", "lead_time",
                      "lifetime", "depreciation_years", "capex_in_loss", "name", "description", "units",
                      "scenarios", "contracts", "build"}


def settable_target(inst: Instance, path: str) -> tuple[list[str], str | None]:
    """Check a ``set`` path against the base; return its parts, or a reason it is refused."""
    parts = path.split(".")
    last = parts[-1]
    if last in FIXED_ACROSS_CASES or parts[0] in FIXED_ACROSS_CASES - {"workloads"}:
        return parts, f"{last!r} may not change between cases (MODEL.md §5)"
    head = parts[0]
    if head == "workloads" and len(parts) == 3:
        if parts[1] not in inst.workloads:
            return parts, f"unknown workload {parts[1]!r}: a case may not add workloads"
        return parts, None if last in SETTABLE["workloads"] else f"{last!r} is not a workload field a case can set"
    if head == "finance" and len(parts) == 2:
        return parts, None if last in SETTABLE["finance"] else f"{last!r} is not a finance field a case can set"
    if head == "finance" and len(parts) == 3 and parts[1] == "debt":
        return parts, None if last in SETTABLE["debt"] else f"{last!r} is not a debt field a case can set"
    if head == "providers" and len(parts) >= 3:
        prov = inst.providers.get(parts[1])
        if prov is None:
            return parts, f"unknown provider {parts[1]!r}: a case may not add providers"
        if len(parts) == 3:
            return parts, None if last in SETTABLE["providers"] else f"{last!r} is not a provider field a case can set"
        if len(parts) == 5 and parts[2] == "contracts":
            if parts[3] not in prov.contracts:
                return parts, f"unknown contract {parts[3]!r} of {parts[1]}: a case may not add contracts"
            return parts, None if last in SETTABLE["contracts"] else f"{last!r} is not a contract field a case can set"
        if len(parts) == 4 and parts[2] == "build":
            if prov.build is None:
                return parts, f"{parts[1]} has no build: a case may not add one"
            return parts, None if last in SETTABLE["build"] else f"{last!r} is not a build field a case can set"
    return parts, "not a field a case can set (expected e.g. workloads.inference.demand, finance.funding, " \
                  "providers.stargate.capacity, providers.microsoft.contracts.on_demand.price)"


def field_value(inst: Instance, path: str) -> Any:
    """The resolved value at a dotted ``path`` (as a case's ``set`` takes) of a validated
    instance: a series ``{year: number}``, a number, or None when the instance does not
    give it."""
    obj: Any = inst
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def set_along(data: dict, parts: list[str], value: Any) -> None:
    """Set ``value`` at the path ``parts`` of ``data`` (a copy of a document's top level),
    copying each mapping on the way down: the document ``data`` was copied from stays as
    it was, and what the path does not reach is shared with it."""
    target = data
    for part in parts[:-1]:
        child = target.get(part)
        target[part] = dict(child) if isinstance(child, dict) else {}
        target = target[part]
    target[parts[-1]] = value


def _scenario_checks(inst: Instance, data: dict) -> list[tuple[str, str]]:
    """Probabilities, commit_years and every case's ``set``; builds ``inst.cases``."""
    scen = inst.scenarios
    problems = []
    total = sum(case.probability for case in scen.cases.values())
    if abs(total - 1.0) > 1e-9:
        problems.append(("scenarios.cases", f"probabilities must sum to 1 (±1e-9), they sum to {total:.12g}"))
    if scen.commit_years is not None and scen.commit_years > len(inst.year_list):
        problems.append(("scenarios.commit_years",
                         f"expected at most {len(inst.year_list)} (the planning years), got {scen.commit_years}"))
    base = {key: value for key, value in data.items() if key != "scenarios"}
    for name, case in scen.cases.items():
        where = f"scenarios.cases.{name}.set"
        case_data = dict(base)  # copied along each set path only: the rest is shared, never changed
        refused = False
        for path, value in case.set.items():
            parts, reason = settable_target(inst, str(path))
            if reason:
                problems.append((f"{where}.{path}", reason))
                refused = True
                continue
            set_along(case_data, parts, value)
        if refused:
            continue
        case_data["name"] = f"{inst.name or 'instance'}[{name}]"
        try:
            inst._cases[name] = _validate_document(case_data)
        except InstanceError as err:
            set_paths = sorted(map(str, case.set), key=len, reverse=True)
            for path, message in err.problems:
                owner = next((p for p in set_paths if path == p or path.startswith(p + ".")), None)
                problems.append((f"{where}.{path}" if owner else f"scenarios.cases.{name}: {path}", message))
    return problems


def _years_context(data: dict) -> list[int] | None:
    years = data.get("years")
    if (
        isinstance(years, (list, tuple))
        and len(years) == 2
        and all(isinstance(y, int) and not isinstance(y, bool) and 1 <= y <= 9999 for y in years)
        and years[0] <= years[1]
    ):
        return list(range(years[0], years[1] + 1))
    return None


def validate_instance(data: Any, name: str | None = None, source: str | None = None,
                      check_size: bool = True) -> Instance:
    """Validate a parsed instance document; raise :class:`InstanceError` on any problem.

    A document larger than the limits (:data:`MAX_NODES` values, an LP above
    :data:`MAX_VARIABLES` variables or :data:`MAX_CONSTRAINTS` constraints, see
    :func:`estimate_size`) is refused before anything is expanded or built.
    ``check_size=False`` skips that check, for a document known to be the size of one
    that passed it (a sweep's variant: other numbers, the same years and names)."""
    if not isinstance(data, dict):
        raise InstanceError(
            [("", f"expected a mapping of keys (name, years, workloads, ...), got {_describe(data)}")], source
        )
    too_large = _size_problem(data) if check_size else None
    if too_large:
        raise InstanceError([too_large], source)
    return _validate_document(data, name, source)


def _validate_document(data: dict, name: str | None = None, source: str | None = None) -> Instance:
    try:
        inst = Instance.model_validate(data, context={"years": _years_context(data)})
    except ValidationError as err:
        raise InstanceError(_explain(err), source) from None
    problems = _cross_checks(inst)
    if inst.scenarios is not None and not problems:
        problems = _scenario_checks(inst, data)
    if problems:
        raise InstanceError(problems, source)
    if inst.name is None:
        inst.name = name or "instance"
    return inst


# ---------------------------------------------------------------------------------------
# Size limits
# ---------------------------------------------------------------------------------------

#: The largest LP the planner builds: an instance whose estimate (:func:`estimate_size`)
#: is above either limit is refused before anything is built. At these sizes the model
#: takes a few GB of memory and minutes to build.
MAX_VARIABLES = 5_000_000
MAX_CONSTRAINTS = 5_000_000
#: Most values validated in all: a scenario instance validates the whole base once per case.
MAX_CASE_VALUES = 5_000_000


def count_nodes(data: Any, limit: int = MAX_NODES) -> int:
    """How many values (scalars, lists, mappings; keys included) ``data`` holds, shared
    parts counted each time they appear (a cycle once); counting stops just past ``limit``."""
    count, stack, on_path = 0, [(data, False)], set()
    while stack and count <= limit:
        value, leaving = stack.pop()
        if leaving:
            on_path.discard(id(value))
            continue
        count += 1
        if not isinstance(value, (dict, list, tuple, set, frozenset)) or id(value) in on_path:
            continue
        on_path.add(id(value))
        stack.append((value, True))
        if isinstance(value, dict):
            count += len(value)
            stack.extend((child, False) for child in value.values())
        else:
            stack.extend((child, False) for child in value)
    return count


def estimate_size(data: Any) -> dict[str, int]:
    """An upper estimate of the LP of a parsed instance document, from its sizes alone.

    Returns ``years``, ``providers``, ``workloads``, ``contracts`` (over all providers),
    ``builds`` (providers that build), ``uses`` (provider-workload pairs), ``cases`` and
    the estimated ``variables`` and ``constraints``: per case and year, one variable per
    contract, build, use and provider (its charge) plus cash and debt; one constraint per
    contract and build (``max_per_year``), eight per provider (reach, capacity, minimum
    capacity, two shares, decline, two for take-or-pay), two per workload (service floor
    and cap) and five for the year (cash balance, minimum cash, debt limit, peak, spare).
    Parts that are malformed count as empty (validation reports them).
    """
    data = data if isinstance(data, dict) else {}
    years = data.get("years")
    n_years = 0
    if isinstance(years, (list, tuple)) and len(years) == 2 and all(
        isinstance(y, int) and not isinstance(y, bool) for y in years
    ):
        n_years = max(0, min(years[1], 9999) - max(years[0], 1) + 1)
    workloads = data.get("workloads")
    n_workloads = len(workloads) if isinstance(workloads, dict) else 0
    providers = data.get("providers")
    providers = providers if isinstance(providers, dict) else {}
    contracts = builds = uses = 0
    for prov in providers.values():
        if not isinstance(prov, dict):
            continue
        if isinstance(prov.get("contracts"), dict):
            contracts += len(prov["contracts"])
        builds += prov.get("build") is not None
        listed = prov.get("workloads")
        uses += min(len(listed), n_workloads) if isinstance(listed, list) else n_workloads
    scenarios = data.get("scenarios")
    cases = scenarios.get("cases") if isinstance(scenarios, dict) else None
    n_cases = max(1, len(cases)) if isinstance(cases, dict) else 1
    n_providers = len(providers)
    per_year_vars = contracts + builds + uses + n_providers + 2
    per_year_cons = contracts + builds + 8 * n_providers + 2 * n_workloads + 5
    return {
        "years": n_years, "providers": n_providers, "workloads": n_workloads, "contracts": contracts,
        "builds": builds, "uses": uses, "cases": n_cases,
        "variables": n_cases * (n_years * per_year_vars + 2),
        "constraints": n_cases * n_years * per_year_cons,
    }


def _size_problem(data: dict) -> tuple[str, str] | None:
    """Why ``data`` is too large to validate or build, or None."""
    nodes = count_nodes(data)
    if nodes > MAX_NODES:
        return "", f"too large: the document holds more than {MAX_NODES:,} values; not read"
    size = estimate_size(data)
    sizes = (f"{size['years']:,} years x {size['providers']:,} providers x {size['workloads']:,} workloads"
             + (f" x {size['cases']:,} cases" if size["cases"] > 1 else "")
             + f", {size['contracts']:,} contracts")
    if size["variables"] > MAX_VARIABLES or size["constraints"] > MAX_CONSTRAINTS:
        return "", (f"too large: the LP would have about {size['variables']:,} variables and "
                    f"{size['constraints']:,} constraints ({sizes}); the limit is {MAX_VARIABLES:,} variables "
                    f"and {MAX_CONSTRAINTS:,} constraints")
    base = count_nodes({key: value for key, value in data.items() if key != "scenarios"})
    if size["cases"] > 1 and size["cases"] * base > MAX_CASE_VALUES:
        return "scenarios.cases", (f"too large: {size['cases']:,} cases x {base:,} values to validate is more "
                                   f"than {MAX_CASE_VALUES:,}")
    return None


#: What a mapping holds, by the name of the field (for "expected at least one ...").
_ENTRY_NOUN = {"workloads": "workload", "providers": "provider", "contracts": "contract"}


def _explain(err: ValidationError) -> list[tuple[str, str]]:
    """Turn pydantic's errors into ``(dotted path, what was expected)`` pairs, one per problem."""
    problems = []
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        kind = e["type"]
        value = e.get("input")
        if (loc and loc[-1] == "[key]") or kind == "invalid_key":
            # a mapping key that is not text (YAML reads `2025:` as a number, `yes:` as true):
            # name the mapping that holds it
            loc = loc[:-2] if loc and loc[-1] == "[key]" else loc[:-1]
            msg = f"expected names (text) as keys, got the key {_describe(value)}; put it in quotes"
        elif kind == "extra_forbidden":
            allowed = _allowed_keys(loc)
            msg = "unknown key" + (f"; expected one of: {', '.join(allowed)}" if allowed else "")
        elif kind == "missing":
            description = _field_description(loc)
            msg = "required field is missing" + (f" ({description})" if description else "")
        elif kind in ("dict_type", "model_type", "model_attributes_type"):
            msg = f"expected a mapping (key: value), got {_describe(value)}"
        elif kind in ("list_type", "tuple_type"):
            msg = f"expected a list, got {_describe(value)}"
        elif kind == "too_short" and isinstance(value, dict):
            noun = _ENTRY_NOUN.get(str(loc[-1]) if loc else "", "entry")
            msg = f"expected at least one {noun}, got none"
        elif kind == "string_type":
            msg = f"expected text, got {_describe(value)}"
        elif kind == "bool_type":
            msg = f"expected true or false, got {_describe(value)}"
        elif kind == "literal_error":
            msg = f"expected {e.get('ctx', {}).get('expected', 'one of the listed values')}, got {_show(value)}"
        elif kind == "value_error":
            msg = e["msg"].removeprefix("Value error, ")
        else:
            msg = e["msg"]
            if not isinstance(value, (dict, list)):
                msg += f" (got {_show(value)})"
        path = ".".join(str(part) for part in loc)
        problems.append((path, msg))
    return problems


def _field_description(loc: tuple) -> str | None:
    """The description of the field at ``loc`` (for "required field is missing")."""
    owner = _walk_type(tuple(loc[:-1]))
    if isinstance(owner, type) and issubclass(owner, BaseModel) and loc and str(loc[-1]) in owner.model_fields:
        return owner.model_fields[str(loc[-1])].description
    return None


def _unwrap(annotation):
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else annotation
    if origin is dict:
        return _DictOf(_unwrap(typing.get_args(annotation)[1]))
    return annotation


class _DictOf:
    def __init__(self, value):
        self.value = value


def _walk_type(loc: tuple):
    model: Any = Instance
    i = 0
    while i < len(loc):
        if isinstance(model, _DictOf):
            model = model.value
            i += 1
            continue
        if isinstance(model, type) and issubclass(model, BaseModel) and str(loc[i]) in model.model_fields:
            model = _unwrap(model.model_fields[str(loc[i])].annotation)
            i += 1
            continue
        return None
    return model


def _allowed_keys(loc: tuple) -> list[str]:
    """Field names of the model that owns the unknown key at ``loc``."""
    owner = _walk_type(tuple(loc[:-1]))
    if isinstance(owner, type) and issubclass(owner, BaseModel):
        return list(owner.model_fields)
    return []


# ---------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------


def _duplicate_yaml_key(loader, node, path: tuple = (), seen: set | None = None) -> tuple[str, str] | None:
    """The first key given twice in one mapping of a composed YAML document, as a problem.

    Walks the node tree (each node once, so aliases and cycles cost nothing extra);
    keys brought in by a merge (``<<: *base``) may be overridden, as YAML allows.
    """
    seen = set() if seen is None else seen
    if id(node) in seen:
        return None
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_seen: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = _scalar_key(loader, key_node)
            if key is not None:
                if key in first_seen:
                    line1, line2 = first_seen[key], key_node.start_mark.line + 1
                    where = f"lines {line1} and {line2}" if line1 != line2 else f"twice on line {line1}"
                    if not path:
                        return str(key), f"given twice in the same mapping ({where})"
                    field = ".".join(str(p) for p in path)
                    return field, f"key {key!r} given twice in the same mapping ({where})"
                first_seen[key] = key_node.start_mark.line + 1
            found = _duplicate_yaml_key(loader, value_node, path + ((key if key is not None else "?"),), seen)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found = _duplicate_yaml_key(loader, item, path + (index,), seen)
            if found:
                return found
    return None


def _scalar_key(loader, node) -> Any:
    """A mapping key's value, for comparison (None for complex keys)."""
    if not isinstance(node, yaml.ScalarNode):
        return None
    try:
        key = loader.construct_object(node)  # a scalar: constructed alone, cached for later
    except yaml.YAMLError:
        return node.value
    try:
        hash(key)
    except TypeError:
        return None
    return key


class _Pairs(dict):
    """A JSON object that remembers the keys it was given more than once."""

    repeated: list


def _keep_pairs(pairs):
    out = _Pairs()
    out.repeated = []
    for key, value in pairs:
        if key in out:
            out.repeated.append(key)
        out[key] = value
    return out


def _duplicate_json_key(value: Any, path: tuple = ()) -> tuple[str, str] | None:
    if isinstance(value, _Pairs) and value.repeated:
        key = value.repeated[0]
        if not path:
            return str(key), "given twice in the same object"
        return ".".join(str(p) for p in path), f"key {key!r} given twice in the same object"
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        found = _duplicate_json_key(child, path + (key,))
        if found:
            return found
    return None


def _plain(value: Any) -> Any:
    """``value`` with every :class:`_Pairs` turned back into a plain dict."""
    if isinstance(value, dict):
        return {key: _plain(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_plain(child) for child in value]
    return value


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser when installed: 50x faster
    """PyYAML's safe loader: plain data only (no ``!!python/...`` tags). A value that
    cannot be constructed (a date that does not exist, a number with thousands of
    digits) is a YAML error at its line instead of an exception from deep inside."""

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as err:
            value = node.value if isinstance(node.value, str) else ""
            reason = "a number with too many digits" if "digits" in str(err) else _clip(str(err), 80)
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {_show(value)}: {reason}", node.start_mark
            ) from None


def _check_yaml_size(text: str) -> None:
    """Count the document's values from the parser's events, each alias at the size of
    what it stands for, and stop past :data:`MAX_NODES`: an alias bomb ("billion laughs")
    or a huge document fails after at most that many events, before anything is built."""
    events = _Loader(text)
    sizes: dict[str, int] = {}  # anchor -> size of the value it names, aliases expanded
    open_: list[list] = []  # the collections being read: [size so far, anchor]

    def add(size: int, event) -> None:
        running = open_[-1][0] + size if open_ else size
        if open_:
            open_[-1][0] = running
        if running > MAX_NODES:
            raise InstanceError([("", f"too large: the document holds more than {MAX_NODES:,} values "
                                      f"(aliases counted at their expanded size) by line "
                                      f"{event.start_mark.line + 1}; not read")])

    try:
        while events.check_event():
            event = events.get_event()
            if isinstance(event, yaml.ScalarEvent):
                if event.anchor:
                    sizes[event.anchor] = 1
                add(1, event)
            elif isinstance(event, yaml.AliasEvent):
                add(sizes.get(event.anchor, 1), event)  # an anchor still open is a cycle: 1
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                open_.append([1, event.anchor])
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                size, anchor = open_.pop()
                if anchor:
                    sizes[anchor] = size
                add(size, event)
    finally:
        events.dispose()


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > 300:
        raise _JSONNumberError(text)
    return int(text)


class _JSONNumberError(ValueError):
    pass


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeError:
        return False
    return True


def parse_text(text: str, fmt: str = "yaml") -> Any:
    """Parse instance text (``fmt`` is ``yaml`` or ``json``); raise InstanceError if unreadable.

    A key given twice in one mapping is an error naming its dotted path.
    """
    if fmt == "json":
        try:
            data = json.loads(text, object_pairs_hook=_keep_pairs, parse_int=_json_int)
            duplicate = _duplicate_json_key(data)
            if duplicate:
                raise InstanceError([duplicate])
            return _plain(data)
        except json.JSONDecodeError as err:
            raise InstanceError([("", f"not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}")]) from None
        except _JSONNumberError as err:
            problem = f"not usable JSON: the number {_show(str(err))} has more than 300 digits"
            raise InstanceError([("", problem)]) from None
        except RecursionError:
            raise InstanceError([("", "not usable JSON: nested too deeply")]) from None
    if not _encodable(text):
        raise InstanceError([("", "not valid text: it holds a lone surrogate (not UTF-8)")])
    try:
        _check_yaml_size(text)
    except yaml.YAMLError:
        pass  # reported with its line below, by the loader
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        duplicate = _duplicate_yaml_key(loader, node)
        if duplicate:
            raise InstanceError([duplicate])
        return loader.construct_document(node)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise InstanceError([("", f"not valid YAML{where}: {problem}")]) from None
    except RecursionError:
        raise InstanceError([("", "not usable YAML: nested too deeply")]) from None
    finally:
        loader.dispose()


def load_instance(source: str | Path | dict) -> Instance:
    """Load and validate an instance from a file path (YAML or JSON) or a parsed mapping.

    Raises :class:`InstanceError` with the file name and the path of each problem.
    """
    if isinstance(source, dict):
        return validate_instance(source)
    path = Path(source)
    label = str(path)
    try:
        if not path.exists():
            raise InstanceError([("", "no such file")], label)
        if path.is_dir():
            raise InstanceError([("", "is a folder, not an instance file")], label)
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InstanceError([("", f"larger than {MAX_FILE_BYTES} bytes; not read")], label)
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")  # a byte order mark is not part of the text
    except InstanceError:
        raise
    except UnicodeDecodeError:
        raise InstanceError([("", "not a text file (not UTF-8)")], label) from None
    except OSError as err:
        raise InstanceError([("", f"cannot be read: {err.strerror or err}")], label) from None
    fmt = "json" if path.suffix.lower() == ".json" else "yaml"
    try:
        data = parse_text(text, fmt)
        return validate_instance(data, name=path.stem, source=label)
    except InstanceError as err:
        err.source = label
        raise InstanceError(err.problems, label) from None


def instance_json_schema() -> dict:
    """The JSON Schema of the instance format, for editors."""
    schema = Instance.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "planner instance (MODEL.md §1)"
    return schema
