"""A variant as an instance file: the base file's text with the changed fields written
into it, its comments kept (ruamel.yaml's round trip; PyYAML drops every comment).

A series is written into the base file's own keys where it can be (a year, or a range
like ``2029-2030`` whose years all take the same new value), so the comment beside each
year stays; otherwise the field becomes one mapping of every planning year. A JSON base
file is written as YAML (JSON is YAML; its numbers and names read the same).
"""

from __future__ import annotations

import io
from typing import Any, Sequence

from ..instance.schema import Instance
from ..instance.series import key_years


def variant_yaml(base_text: str, changed: Sequence[tuple[str, Any]], inst: Instance) -> str:
    """``base_text`` with each ``(path, value)`` of ``changed`` set (a value resolved per
    planning year for a series, or one number)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    yaml = YAML()  # round trip: comments, key order and flow style kept
    yaml.width = 4096
    document = yaml.load(base_text)
    for path, value in changed:
        parts = path.split(".")
        parent = document
        for part in parts[:-1]:
            if part not in parent or parent[part] is None:
                parent[part] = CommentedMap()
            parent = parent[part]
        last = parts[-1]
        current = parent.get(last)
        if isinstance(value, dict):
            if not _fill_in_place(current, value, inst.year_list):
                series = CommentedMap((int(t), float(x)) for t, x in sorted(value.items()))
                series.fa.set_flow_style()
                parent[last] = series
        else:
            parent[last] = float(value)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def _fill_in_place(current, value: dict, years: list[int]) -> bool:
    """Write ``value`` into the keys of the series mapping ``current`` when each key's
    years take one value and the keys cover every planning year; False (nothing
    changed) otherwise."""
    if not hasattr(current, "items"):
        return False
    new, covered = {}, set()
    for key in list(current.keys()):
        try:
            first, last = key_years(key)
        except ValueError:
            return False
        inside = [t for t in years if first <= t <= last]
        numbers = {float(value[t]) for t in inside}
        if len(numbers) > 1:
            return False
        if numbers:
            new[key] = numbers.pop()
        covered.update(inside)
    if covered != set(years):
        return False
    for key, number in new.items():
        current[key] = number
    return True
