"""The app's controls: which assumptions a slider moves, their ranges, and the variant
they make (the sweep's ``x0.8`` scalings and ``+1y`` shifts, :mod:`planner.sweep.run`).

A control is one number: a scaling of the series (or number) at a dotted path
(``providers.stargate.capacity``, MODEL.md §5's ``set`` paths), a shift of a series in
whole years, or a plain value. Several controls on one path combine: the series is
shifted first, then scaled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ..instance.paths import field_value
from ..instance.schema import Instance
from ..sweep.run import SCALE, SHIFT, VALUE, GridSpec, SweepError, check_path, parse_vary, shifted

#: The default range of a scaling (x0 .. x2) and of a shift (whole years).
SCALE_RANGE = (0.0, 2.0, 0.05)
SHIFT_RANGE = (-2, 3, 1)


class ControlError(Exception):
    """A control's value the app refuses (out of range, not a number); the message says why."""


@dataclass(frozen=True)
class Control:
    """One slider: ``kind`` (scale, shift or value) of the field at ``path``."""

    path: str
    kind: str
    low: float
    high: float
    step: float
    base: float  # the value that gives the base instance (x1, +0y, or the instance's number)

    @property
    def key(self) -> str:
        return f"{self.path}[{self.kind}]"

    @property
    def label(self) -> str:
        what = {SCALE: "× scale", SHIFT: "shift (years later)", VALUE: "value"}[self.kind]
        return f"{self.path} {what}"

    def check(self, value: Any) -> float:
        """``value`` as a number in range, or :class:`ControlError` naming the range."""
        if value is None or value == "":
            raise ControlError(f"{self.label}: enter a number ({self._range()})")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ControlError(f"{self.label}: {value!r} is not a number ({self._range()})") from None
        if not number == number or not self.low - 1e-12 <= number <= self.high + 1e-12:
            raise ControlError(f"{self.label}: {value!r} is outside {self._range()}")
        if self.kind == SHIFT and number != int(number):
            raise ControlError(f"{self.label}: a shift is a whole number of years, got {value!r}")
        return number

    def _range(self) -> str:
        return f"from {self.low:g} to {self.high:g}"


def default_controls(inst: Instance) -> list[Control]:
    """Scalings of each workload's demand and revenue, each provider's capacity and
    prices (contracts, build capex), funding and other costs, and a shift of each
    provider's capacity series: the fields the instance gives with something non-zero."""
    paths = []
    for name in inst.workloads:
        paths += [f"workloads.{name}.demand", f"workloads.{name}.revenue"]
    shifts = []
    for name, provider in inst.providers.items():
        paths.append(f"providers.{name}.capacity")
        if isinstance(field_value(inst, f"providers.{name}.capacity"), dict):
            shifts.append(f"providers.{name}.capacity")
        paths += [f"providers.{name}.contracts.{c}.price" for c in provider.contracts]
        if provider.build is not None:
            paths.append(f"providers.{name}.build.capex")
    paths += ["finance.funding", "finance.other_costs"]
    controls = [Control(p, SCALE, *SCALE_RANGE, base=1.0) for p in paths if _nonzero(field_value(inst, p))]
    controls += [Control(p, SHIFT, *SHIFT_RANGE, base=0) for p in shifts]
    return controls


def controls_from_vary(inst: Instance, texts: Sequence[str]) -> list[Control]:
    """The controls ``--vary`` names: ``PATH`` (a scaling, x0..x2), or ``PATH=SPEC`` as
    ``planner sweep`` reads it, whose first and last values are the control's range."""
    controls = []
    for text in texts:
        spec = parse_vary(text if "=" in text or "~" in text else f"{text.strip()}=x1")
        if not isinstance(spec, GridSpec):
            raise SweepError(f"--vary {text}: the app takes PATH or PATH=SPEC (a range or list), not a distribution")
        check_path(inst, spec)
        if "=" not in text:
            low, high, step = SCALE_RANGE
        else:
            low, high = min(spec.values), max(spec.values)
            step = 1 if spec.kind == SHIFT else ((high - low) / 20 or 1.0)
        base = {SCALE: 1.0, SHIFT: 0}.get(spec.kind)
        if base is None:
            current = field_value(inst, spec.path)
            numbers = set(current.values()) if isinstance(current, dict) else {current}
            if len(numbers) != 1 or not isinstance(next(iter(numbers)), (int, float)):
                raise SweepError(f"--vary {text}: {spec.path} changes from year to year; vary it by scalings "
                                 "(x0.5:1.5:11) or shifts (+0y,+1y)")
            base = float(numbers.pop())
        low, high = min(low, base), max(high, base)
        controls.append(Control(spec.path, spec.kind, low, high, step, base))
    return controls


def changes(inst: Instance, controls: Sequence[Control], values: dict[str, float]) -> list[tuple[str, Any]]:
    """``(path, value)`` for each path whose controls are not all at their base: the
    instance's series shifted, then scaled (or the value set)."""
    by_path: dict[str, dict[str, float]] = {}
    for control in controls:
        value = values.get(control.key, control.base)
        if value != control.base:
            by_path.setdefault(control.path, {})[control.kind] = value
    out = []
    for path, kinds in by_path.items():
        current = field_value(inst, path)
        if VALUE in kinds:
            current = kinds[VALUE]
        if SHIFT in kinds:
            current = shifted(current, int(kinds[SHIFT]))
        if SCALE in kinds:
            factor = kinds[SCALE]
            current = ({t: float(x) * factor for t, x in current.items()} if isinstance(current, dict)
                       else float(current) * factor)
        out.append((path, current))
    return out


def _nonzero(value) -> bool:
    if isinstance(value, dict):
        return any(float(x) != 0 for x in value.values())
    return isinstance(value, (int, float)) and float(value) != 0
