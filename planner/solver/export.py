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

Portable by construction: every common reader (HiGHS, GLPK's ``glpsol --freemps`` and
``glpsol --lp``, CBC, CLP) takes the file the same way, because it avoids the three
places where they disagree:

* **No objective constant.** MODEL.md's objective has a constant term (90.23 in
  openai-2025); MPS readers disagree on the sign of an objective row's RHS and LP
  readers drop it, subtract it or refuse it. The file has instead a column
  ``objective_constant``, fixed at 1 (bounds ``[1, 1]``), whose objective coefficient is
  the constant. It is the last column, there only when needed (a constant or an empty row).
* **No empty rows.** A row without a single non-zero (``provider_capacity(stargate_2025):
  <= +0`` in an LP file, which GLPK refuses) gets the harmless form
  ``objective_constant`` in ``[lower + 1, upper + 1]``: true exactly when the empty row
  was. Every row keeps its name and place.
* **No empty sections.** The LP file has no empty ``bin``/``gen``/``semi`` headers (CBC
  reads them as variables).

The MPS file is free-format MPS (names are longer than fixed MPS's 8 characters).
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


#: The name of the column that carries the objective's constant (fixed at 1).
CONSTANT_COLUMN = "objective_constant"


def _make_portable(highs, names: list[str]) -> None:
    """Move the objective's constant into a column fixed at 1 (named
    :data:`CONSTANT_COLUMN`, made unique against ``names``) and give every empty row a
    coefficient 1 on it, its bounds moved up by 1 (see the module doc); nothing when the
    constant is 0 and no row is empty."""
    import highspy
    import numpy as np

    lp = highs.getLp()
    offset = float(lp.offset_)
    matrix = lp.a_matrix_
    counts = np.zeros(lp.num_row_, dtype=int)
    values = np.asarray(matrix.value_, dtype=float)
    index = np.asarray(matrix.index_, dtype=int)[:len(values)]
    if matrix.format_ == highspy.MatrixFormat.kRowwise:
        index = np.repeat(np.arange(lp.num_row_), np.diff(np.asarray(matrix.start_, dtype=int)))[:len(values)]
    np.add.at(counts, index[values != 0], 1)
    empty = [i for i in range(lp.num_row_) if counts[i] == 0]
    if offset == 0 and not empty:
        return  # a column in no row and not in the objective: CBC warns about it
    name = safe_names([*names, CONSTANT_COLUMN])[-1]
    j = lp.num_col_
    highs.changeObjectiveOffset(0.0)
    highs.addCol(offset, 1.0, 1.0, len(empty), np.asarray(empty, dtype=np.int32), np.ones(len(empty)))
    highs.passColName(j, name)
    inf = highs.getInfinity()
    for i in empty:
        lower, upper = float(lp.row_lower_[i]), float(lp.row_upper_[i])
        highs.changeRowBounds(i, lower + 1.0 if lower > -inf else lower, upper + 1.0 if upper < inf else upper)


#: Section headers of an LP file (HiGHS writes them at the start of a line; the lines
#: of a section begin with a space).
_LP_SECTIONS = {b"bounds", b"bin", b"binary", b"binaries", b"gen", b"general", b"generals", b"semi",
                b"semi-continuous", b"semis", b"sos"}


def _drop_empty_sections(path: Path) -> None:
    """Remove the empty section headers at the end of an LP file (``bin``, ``gen``,
    ``semi`` with nothing under them, before ``end``)."""
    with open(path, "rb+") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        start = max(0, size - 4096)
        handle.seek(start)
        tail = handle.read()
        lines = tail.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        if not lines or lines[-1].strip() != b"end":
            return  # incomplete: _complete says so
        k = len(lines) - 1
        while k - 1 >= (1 if start else 0) and lines[k - 1].strip() in _LP_SECTIONS and not lines[k - 1][:1].isspace():
            k -= 1
        if k == len(lines) - 1:
            return
        cut = start + sum(len(line) + 1 for line in lines[:k])
        handle.seek(cut)
        handle.write(b"end\n")
        handle.truncate()


#: The last line of a complete file of each format, as HiGHS writes it.
_LAST_LINE = {"mps": b"ENDATA", "lp": b"end"}


def _write_model(highs, staging: Path, fmt: str, out) -> None:
    """HiGHS writes the model to ``staging``; a file it could not finish (HiGHS does not
    report a failed write, e.g. a full disk or a file-size limit) is an ExportError."""
    import highspy

    if highs.writeModel(str(staging)) == highspy.HighsStatus.kError:
        raise ExportError(f"HiGHS could not write {out} as {fmt}")
    if fmt == "lp":
        _drop_empty_sections(staging)
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


def _not_a_file(target: Path, out) -> str | None:
    """Why ``target`` may not be replaced: it exists and is not a regular file (a device,
    a FIFO, a socket, a symlink: replacing it by a file would destroy it)."""
    import stat

    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return None
    except OSError as err:
        return f"cannot write {out}: {err.strerror or err}"
    if stat.S_ISREG(mode):
        return None
    kind = ("a symbolic link" if stat.S_ISLNK(mode) else "a FIFO" if stat.S_ISFIFO(mode) else
            "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "not a regular file")
    return f"{out} exists and is {kind}, not a regular file; give the name of a new or regular file"


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
    column_names = safe_names(var.name for var in lp.columns)
    for j, name in enumerate(column_names):
        highs.passColName(j, name)
    for i, name in enumerate(safe_names(con.name for con in lp.rows)):
        highs.passRowName(i, name)
    _make_portable(highs, column_names)
    target = Path(os.path.abspath(out))
    if target.is_dir():
        raise ExportError(f"{out} is a folder; give a file name")
    refused = _not_a_file(target, out)
    if refused:
        raise ExportError(refused)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        safe_write.write_by_path(target, lambda staging: _write_model(highs, staging, fmt, out), suffix=f".{fmt}")
    except OSError as err:
        raise ExportError(f"cannot write {out}: {err.strerror or err}") from None
    return {
        "path": target, "format": fmt, "objective": objective, "columns": int(highs.getNumCol()), "rows": int(highs.getNumRow()),
        "nonzeros": int(highs.getNumNz()),
    }
