"""``planner export``: the LP the planner hands to HiGHS, as an MPS or LP file.

The file holds exactly what ``planner solve`` solves first (for ``peak_cumulative_loss``
and risk-weighted scenario instances, the first stage; the second stage adds one row and
replaces the objective): the same model compiled by the same hand-off
(:class:`planner.solver.highs.LinearProgram`), written by HiGHS itself. So anyone can solve it
with another solver, or time HiGHS alone on it::

    planner export instances/openai-2025.yaml --format mps --out openai-2025.mps
    highs openai-2025.mps

Columns and rows carry the model's names (``c(stargate_lease_5y_2026)``,
``cash_balance(2027)``; a scenario's under ``case(base).``), made safe for both
formats: ``[ ]`` become ``( )``, separators and any other character outside letters,
digits and ``_ . ( )`` become ``_``, and a name that would then repeat another gets a
``_2``, ``_3``, ... suffix.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..instance.schema import Instance
from ..results import safe_write

FORMATS = ("mps", "lp")

_UNSAFE = re.compile(r"[^A-Za-z0-9_.()]")


class ExportError(Exception):
    """The file could not be written (the message says why; nothing was written)."""


def safe_names(names) -> list[str]:
    """``names`` made safe for MPS and LP files (see the module doc), unique, in order."""
    out, seen = [], set()
    for name in names:
        safe = _UNSAFE.sub("_", name.replace("[", "(").replace("]", ")").replace(", ", "_").replace(",", "_"))
        if not safe or safe[0].isdigit() or safe[0] == ".":
            safe = "_" + safe
        candidate, n = safe, 1
        while candidate in seen:
            n += 1
            candidate = f"{safe}_{n}"
        seen.add(candidate)
        out.append(candidate)
    return out


#: The last line of a complete file of each format, as HiGHS writes it.
_LAST_LINE = {"mps": b"ENDATA", "lp": b"end"}


def _write_model(highs, staging: Path, fmt: str, out) -> None:
    """HiGHS writes the model to ``staging``; a file it could not finish (HiGHS does not
    report a failed write, e.g. a full disk or a file-size limit) is an ExportError."""
    import highspy

    if highs.writeModel(str(staging)) == highspy.HighsStatus.kError:
        raise ExportError(f"HiGHS could not write {out} as {fmt}")
    if not _complete(staging, fmt):
        raise ExportError(f"cannot write {out}: the file HiGHS wrote is incomplete (a full disk or a file-size "
                          "limit?); no file was changed")


def _complete(path: Path, fmt: str) -> bool:
    """Whether ``path`` ends with the last line of a complete ``fmt`` file."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - 64))
        tail = handle.read().rstrip()
    return tail.endswith(b"\n" + _LAST_LINE[fmt]) or tail == _LAST_LINE[fmt]


def export_lp(inst: Instance, out: str | Path, fmt: str | None = None, objective: str | None = None) -> dict:
    """Build ``inst``'s model, hand it to HiGHS as ``planner solve`` does, and write it to
    ``out`` as ``fmt`` (``"mps"`` or ``"lp"``; default: ``out``'s extension, else MPS).

    The file is written beside ``out`` under a temporary name, checked to be complete
    and renamed into place (:mod:`planner.results.safe_write`), so an earlier file is
    replaced only by a complete one and a failed write leaves nothing behind. Returns the LP's ``columns``,
    ``rows``, ``nonzeros`` and the ``format``, ``path`` and ``objective``. Raises
    :class:`ExportError`.
    """
    from ..model.lp import build_model
    from .highs import LinearProgram

    out = Path(out)
    fmt = (fmt or out.suffix.lstrip(".").lower() or "mps").lower()
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    objective = objective or inst.objective
    lp = LinearProgram(build_model(inst, objective))
    highs = lp.highs
    for j, name in enumerate(safe_names(var.name for var in lp.columns)):
        highs.passColName(j, name)
    for i, name in enumerate(safe_names(con.name for con in lp.rows)):
        highs.passRowName(i, name)
    target = Path(os.path.abspath(out))
    if target.is_dir():
        raise ExportError(f"{out} is a folder; give a file name")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        safe_write.write_by_path(target, lambda staging: _write_model(highs, staging, fmt, out), suffix=f".{fmt}")
    except OSError as err:
        raise ExportError(f"cannot write {out}: {err.strerror or err}") from None
    return {
        "path": target, "format": fmt, "objective": objective, "columns": len(lp.columns), "rows": len(lp.rows),
        "nonzeros": int(highs.getNumNz()),
    }
