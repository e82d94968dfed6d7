"""Yearly series and numbers of an instance file (MODEL.md §1, "Yearly series"): the
pydantic types that read one number or a mapping of years and ranges into one value per
planning year, and the checks every number passes (finite, in range, whole where it must)."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import PlainValidator, ValidationInfo, WithJsonSchema

from .errors import clip, describe, printable, show


#: Largest number a field may hold: HiGHS reads numbers from 1e15 (in the constraint
#: matrix) or 1e20 (bounds, costs) on as infinite.
MAX_NUMBER = 1e15
#: Largest whole number (term, lead_time, lifetime, depreciation_years): years run to 9999.
MAX_WHOLE = 10_000

Series = dict[int, float]
"""A resolved yearly series: one value for every planning year."""


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


def check_number(value: Any, kind: str) -> float:
    """Return ``value`` as a float or raise ValueError saying what was expected."""
    expected, ok = _KINDS[kind]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected {expected}, got {describe(value)}")
    try:
        number = float(value)
    except OverflowError:  # a whole number with hundreds of digits
        raise ValueError(f"expected {expected}, got {show(value)} (too large)") from None
    if not math.isfinite(number):
        raise ValueError(f"expected {expected}, got {show(value)} (NaN and infinity are not allowed)")
    if not ok(number):
        raise ValueError(f"expected {expected}, got {show(value)}")
    if number > MAX_NUMBER:
        raise ValueError(f"expected {expected} and at most {MAX_NUMBER:g}, got {show(value)} "
                         "(the solver reads larger numbers as infinite)")
    return number


def _year_range(key: Any) -> tuple[int, int]:
    """Parse a series key: ``2027`` or ``"2027"`` or ``"2026-2030"``."""
    if isinstance(key, bool):
        raise ValueError(f"key {show(key)} is not a year or a range like 2026-2030")
    if isinstance(key, int):
        return key, key
    match = _YEAR_KEY.match(key) if isinstance(key, str) else None
    if not match:
        raise ValueError(f"key {show(key)} is not a year or a range like 2026-2030")
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if last < first:
        raise ValueError(f"range {key!r} runs backwards (last year before first)")
    return first, last


def key_years(key: Any) -> tuple[int, int]:
    """The first and last year a series key covers (``2027`` or ``"2026-2030"``);
    ValueError for a key that is neither (``planner app`` writes variants into the base
    file's own keys)."""
    return _year_range(key)


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
                number = check_number(value, kind)
            except ValueError as err:
                raise ValueError(f"at {clip(printable(key), 40)}: {err}") from None
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
            raise ValueError(f"year(s) {years_text(doubled)} given more than once")
        if missing:
            raise ValueError(f"no value for planning year(s) {years_text(missing)}")
        given: dict[int, float] = {}
        for first, last, number in spans:  # now disjoint: at most one pass over the years
            for year in range(first, last + 1):
                given[year] = number
        return {y: given[y] for y in years}
    try:
        number = check_number(raw, kind)
    except ValueError as err:
        note = " (NaN and infinity are not allowed)" if "NaN" in str(err) else ""
        note = note or (" (too large)" if "too large" in str(err) else "")
        note = note or (f" (at most {MAX_NUMBER:g}: the solver reads larger numbers as infinite)"
                        if "at most" in str(err) else "")
        raise ValueError(
            f"expected {_KINDS[kind][0]}, or a mapping of years (2027) and ranges "
            f"(2026-2030) to such numbers; got {describe(raw)}{note}"
        ) from None
    return {y: number for y in (years or [])}


def years_text(years) -> str:
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
    return Annotated[float, PlainValidator(lambda value: check_number(value, kind)), WithJsonSchema(schema)]


def _whole_type(minimum: int):
    """A whole number >= ``minimum`` (``3.0`` and ``"3"`` are refused, as are yes/no)."""

    def validate(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"expected a whole number >= {minimum}, got {describe(value)}")
        if value > MAX_WHOLE:
            raise ValueError(f"expected a whole number from {minimum} to {MAX_WHOLE}, got {show(value)}")
        return value

    schema = {"type": "integer", "minimum": minimum, "maximum": MAX_WHOLE}
    return Annotated[int, PlainValidator(validate), WithJsonSchema(schema)]


def _year_pair(value: Any) -> tuple[int, int]:
    """``[first, last]``: two years, the last not before the first."""
    expected = "expected [first year, last year] (two whole numbers from 1 to 9999, e.g. [2025, 2030])"
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{expected}, got {describe(value)}")
    if len(value) != 2 or any(
        isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9999 for year in value
    ):
        raise ValueError(f"{expected}, got {show(list(value))}")
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
