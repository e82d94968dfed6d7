"""The extremes of a ratio of two linear functions over an LP's feasible set, exactly:
the Charnes–Cooper transformation (``planner alternatives``' shares).

Over ``X = {x : row_lower ≤ A x ≤ row_upper, column_lower ≤ x ≤ column_upper}`` with a
denominator ``D(x) = d·x + d0 > 0`` on all of X, the largest ratio ``N(x)/D(x)`` (``N(x) =
n·x + n0``) is the optimum of the LP in ``(y, t)``, ``y = t·x``, ``t = 1/D(x)``::

    maximise  n·y + n0·t
    subject to  row_lower·t ≤ A y ≤ row_upper·t      (each finite side a row)
                column_lower·t ≤ y ≤ column_upper·t  (a row where the bound is not 0 or ∞)
                d·y + d0·t = 1,  t ≥ 0

A solution with ``t > 0`` gives the plan ``x = y/t`` that attains the extreme; ``t = 0``
means X is unbounded and the extreme is a supremum, approached by plans ever further
along a ray of X and attained by none (e.g. capacity that costs nothing). The smallest
ratio is the same LP minimised. One transformed LP serves every numerator over the same
denominator: only its objective changes, and each solve starts from the last basis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .highs import INF, LPArrays, SolverFailure, new_highs

#: A solution whose t is at most this relative to its largest |y| (and to 1) is a ray:
#: the extreme is approached, not attained (x = y/t would be numerically meaningless).
RAY = 1e-9


@dataclass
class Extreme:
    """The extreme ratio and, when a plan attains it, that plan's columns (else None)."""

    value: float
    x: np.ndarray | None


class FractionalProgram:
    """The Charnes–Cooper LP of ``arrays`` (plus ``extra``: rows ``(coefficients, upper)``
    meaning ``coefficients·x ≤ upper``) with the denominator ``(d, d0)``."""

    def __init__(self, arrays: LPArrays, denominator: tuple[np.ndarray, float],
                 extra: list[tuple[np.ndarray, float]] = ()):
        self.n = len(arrays.cost)
        rows, cols, vals, lower, upper = _transformed_rows(arrays, denominator, extra)
        self.highs = new_highs()  # threads as the process's pool has them (HiGHS sizes it once)
        n = self.n + 1
        column_lower = np.append(np.where(arrays.column_lower == 0, 0.0, -INF), 0.0)
        column_upper = np.append(np.where(arrays.column_upper == 0, 0.0, INF), INF)
        order = np.argsort(rows, kind="stable")
        starts = np.searchsorted(rows[order], np.arange(len(lower)), side="left").astype(np.int32)
        self.highs.passModel(
            n, len(lower), len(order), 2, 1, 0.0, np.zeros(n), column_lower, column_upper, lower, upper,
            starts, cols[order].astype(np.int32), vals[order], np.zeros(n, dtype=np.int32))

    def extreme(self, numerator: tuple[np.ndarray, float], largest: bool, time_limit: float | None = None) -> Extreme:
        """The largest (or smallest) ``N/D``; raises SolverFailure when HiGHS stops
        without it (``time_limit`` seconds, or numerical trouble)."""
        import highspy

        n, n0 = numerator
        sign = -1.0 if largest else 1.0
        cost = sign * np.append(np.asarray(n, dtype=np.float64), n0)
        self.highs.changeColsCost(self.n + 1, np.arange(self.n + 1, dtype=np.int32), cost)
        self.highs.setOptionValue("time_limit", INF if time_limit is None else max(time_limit, 0.0))
        self.highs.run_interruptibly()  # Ctrl-C stops a long solve at once
        status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kTimeLimit:
            raise SolverFailure("time_limit", f"the solver reached the time limit of {time_limit} s on a share's extreme")
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolverFailure("error", "the share's extreme was not found "
                                f"({self.highs.modelStatusToString(status)})")
        solution = np.asarray(self.highs.getSolution().col_value, dtype=np.float64)
        y, t = solution[:-1], float(solution[-1])
        value = sign * float(self.highs.getInfo().objective_function_value)
        attained = t > RAY * max(1.0, float(np.max(np.abs(y), initial=0.0)))
        return Extreme(value, y / t if attained else None)


def _transformed_rows(a: LPArrays, denominator, extra):
    """The rows of the transformed LP as coordinates ``(row, column, value)`` and bounds."""
    t = len(a.cost)  # the column of t
    counts = np.diff(a.starts)
    row_of_entry = np.repeat(np.arange(len(a.row_lower)), counts)
    rows, cols, vals, lower, upper = [], [], [], [], []

    def add(selected: np.ndarray, bound: np.ndarray, low: float | None, high: float | None):
        """One transformed row per selected original row: its entries and −bound·t."""
        first = sum(len(x) for x in lower)
        new_index = np.full(len(a.row_lower), -1)
        new_index[selected] = first + np.arange(len(selected))
        keep = new_index[row_of_entry] >= 0
        rows.append(new_index[row_of_entry[keep]])
        cols.append(a.index[keep])
        vals.append(a.value[keep])
        rows.append(first + np.arange(len(selected)))
        cols.append(np.full(len(selected), t))
        vals.append(-bound[selected])
        lower.append(np.full(len(selected), -INF if low is None else low))
        upper.append(np.full(len(selected), INF if high is None else high))

    equal = (a.row_lower == a.row_upper)
    add(np.flatnonzero(equal), a.row_lower, 0.0, 0.0)
    add(np.flatnonzero(~equal & (a.row_lower > -INF)), a.row_lower, 0.0, None)
    add(np.flatnonzero(~equal & (a.row_upper < INF)), a.row_upper, None, 0.0)
    first = sum(len(x) for x in lower)
    bounded = []  # column bounds that are neither 0 nor infinite: y_j − bound·t ≥ 0 / ≤ 0
    for j in np.flatnonzero((a.column_lower != 0) & (a.column_lower > -INF)):
        bounded.append((j, a.column_lower[j], 0.0, INF))
    for j in np.flatnonzero((a.column_upper != 0) & (a.column_upper < INF)):
        bounded.append((j, a.column_upper[j], -INF, 0.0))
    for coefficients, bound in extra:
        bounded.append((coefficients, bound, -INF, 0.0))
    d, d0 = denominator
    bounded.append((np.asarray(d, dtype=np.float64), -d0, 1.0, 1.0))  # d·y + d0·t = 1
    for k, (what, bound, low, high) in enumerate(bounded):
        if isinstance(what, np.ndarray):
            nonzero = np.flatnonzero(what)
            rows.append(np.full(len(nonzero) + 1, first + k))
            cols.append(np.append(nonzero, t))
            vals.append(np.append(what[nonzero], -bound))
        else:
            rows.append(np.full(2, first + k))
            cols.append(np.array([what, t]))
            vals.append(np.array([1.0, -bound]))
    lower.append(np.array([b[2] for b in bounded]))
    upper.append(np.array([b[3] for b in bounded]))
    rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals).astype(np.float64)
    kept = vals != 0  # a bound of 0 gives no t entry
    return (rows[kept], cols[kept], vals[kept], np.concatenate(lower).astype(np.float64),
            np.concatenate(upper).astype(np.float64))
