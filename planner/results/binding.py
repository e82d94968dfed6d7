"""The one ranking of what binds: which limits are most worth relaxing.

Used by ``planner solve``'s "Most valuable to relax" lines (through
:func:`planner.solver.duals.top_constraints`) and by report.html's "What binds", so both
name the same limits with the same figures in the same order.

A row of duals.csv ranks when its family is a limit (``limits``: the families an
instance sets and a user could loosen, ``planner.model.families.LIMIT_FAMILIES``) and its
shadow price is positive. Rows are ordered by ``value_per_money`` (the shadow price over
what one unit of its kind is worth, ``Instance.unit_values()``), largest first; ties keep
duals.csv's order. A limit that binds in several years (a service floor, a provider's
capacity) gives one sentence, at its most valuable year.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from ..model.families import LIMIT_FAMILIES

__all__ = ["LIMIT_FAMILIES", "Binding", "bindings", "ranked", "sentence"]

#: The columns that, with ``family``, name one limit across its years.
_LIMIT_KEYS = ("provider", "workload", "contract")


@dataclass(frozen=True)
class Binding:
    """One limit worth relaxing, at its most valuable year (``row``), and the other rows
    of the same limit (other years), most valuable first."""

    sentence: str
    row: dict
    others: tuple[dict, ...]


def ranked(duals, limits: Iterable[str] = LIMIT_FAMILIES):
    """The rows of ``duals`` (a duals.csv frame, with ``value_per_money``) whose family is
    in ``limits`` with a positive shadow price, by ``value_per_money`` descending
    (stable); an empty frame when there are none or ``duals`` is None."""
    import pandas as pd

    if duals is None:
        return pd.DataFrame()
    frame = duals[duals["family"].isin(list(limits)) & (duals["shadow_price"] > 0)]
    return frame.sort_values("value_per_money", ascending=False, kind="stable")


def bindings(duals, limits: Iterable[str] = LIMIT_FAMILIES, n: int = 3) -> list[Binding]:
    """The ``n`` limits most worth relaxing (see the module doc), most valuable first."""
    if n <= 0:
        return []
    groups: dict[tuple, list[dict]] = {}
    for row in ranked(duals, limits).to_dict("records"):
        groups.setdefault(limit_key(row), []).append(row)
    return [Binding(sentence(rows[0]["meaning"]), rows[0], tuple(rows[1:])) for rows in list(groups.values())[:n]]


def limit_key(row: dict) -> tuple[str, ...]:
    """``(family, provider, workload, contract)``: one limit, whatever its year. A blank
    (None, NaN or "" as read back) is ""; a name is kept as written."""
    return (str(row["family"]),) + tuple(_text(row.get(column)) for column in _LIMIT_KEYS)


def sentence(meaning) -> str:
    """duals.csv's ``meaning`` as a sentence: its first letter capitalised."""
    text = str(meaning)
    return text[:1].upper() + text[1:]


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)
