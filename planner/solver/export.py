"""``planner export``: the LP the planner hands to HiGHS, as an MPS or LP file.

The file holds exactly what ``planner solve`` solves first (for ``peak_cumulative_loss``
and risk-weighted scenario instances, the first stage; the second stage adds one row and
replaces the objective): the same model compiled by the same hand-off
(:class:`planner.solver.LinearProgram`), written by HiGHS itself. So anyone can solve it
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
import tempfile
from pathlib import Path

from ..instance.schema import Instance

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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def export_lp(inst: Instance, out: str | Path, fmt: str | None = None, objective: str | None = None) -> dict:
    """Build ``inst``'s model, hand it to HiGHS as ``planner solve`` does, and write it to
    ``out`` as ``fmt`` (``"mps"`` or ``"lp"``; default: ``out``'s extension, else MPS).

    The file is written beside ``out`` under a temporary name and renamed into place, so
    an earlier file is replaced only by a complete one. Returns the LP's ``columns``,
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
    staging = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.tmp-", suffix=f".{fmt}", dir=target.parent)
        os.close(fd)
        staging = Path(name)
        import highspy

        if highs.writeModel(str(staging)) == highspy.HighsStatus.kError or staging.stat().st_size == 0:
            raise ExportError(f"HiGHS could not write {out} as {fmt}")
        os.chmod(staging, 0o666 & ~_umask())  # as a plain open() would (mkstemp makes it private)
        os.replace(staging, target)
        staging = None
    except OSError as err:
        raise ExportError(f"cannot write {out}: {err.strerror or err}") from None
    finally:
        if staging is not None:
            staging.unlink(missing_ok=True)
    return {
        "path": target, "format": fmt, "objective": objective, "columns": len(lp.columns), "rows": len(lp.rows),
        "nonzeros": int(highs.getNumNz()),
    }
