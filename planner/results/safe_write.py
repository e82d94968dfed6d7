"""The one way the planner writes a single file: complete or not at all.

:func:`write_bytes` writes to a random staging name in the target's folder
(``tempfile.mkstemp``), flushes and fsyncs it, gives it the mode a plain ``open()``
would (``0o666`` less the umask; mkstemp makes it ``0600``) and renames it into place
with ``os.replace``. On every failure — a full disk (ENOSPC), a file-size limit
(EFBIG), Ctrl-C — the staging file is removed and the earlier file, if any, is intact.
The results folder's tables are written differently (a staging folder swapped into
place, :mod:`planner.results.folder`); everything else goes through here.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from contextlib import nullcontext
from typing import Callable, ContextManager


def umask() -> int:
    """The process's umask (read without changing it for longer than a moment)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def staging_prefix(target: str | Path) -> str:
    """The prefix of ``target``'s staging files: ``.<name>.tmp-``."""
    return f".{Path(target).name}.tmp-"


def write_bytes(target: str | Path, data: bytes, guard: Callable[[], ContextManager] | None = None) -> Path:
    """Write ``data`` to ``target`` safely (see the module doc; ``guard`` as in
    :func:`write_with`); return ``target``.

    Raises OSError (the earlier file intact, no staging file left)."""
    return write_with(target, lambda handle: handle.write(data), guard)


def write_text(target: str | Path, text: str, guard: Callable[[], ContextManager] | None = None) -> Path:
    """:func:`write_bytes` of ``text`` in UTF-8."""
    return write_bytes(target, text.encode("utf-8"), guard)


def write_with(target: str | Path, fill: Callable, guard: Callable[[], ContextManager] | None = None) -> Path:
    """Call ``fill(handle)`` on a binary handle of a new staging file beside ``target``,
    then put the complete file at ``target`` (see the module doc).

    ``guard()`` (optional) gives a context manager held around the rename (a folder
    lock, deferred signals)."""
    target = Path(os.path.abspath(target))
    fd, name = tempfile.mkstemp(prefix=staging_prefix(target), dir=target.parent)
    staging = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(staging, 0o666 & ~umask())
        with guard() if guard is not None else nullcontext():
            os.replace(staging, target)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return target


def write_by_path(target: str | Path, write: Callable[[Path], None], suffix: str = "") -> Path:
    """Like :func:`write_with`, for a writer that takes a path (``write(staging)``, e.g.
    HiGHS writing a model file; ``suffix`` ends the staging name): the file it leaves is
    fsynced, given the umask's mode and renamed onto ``target``; on any failure (``write``
    raising included) it is removed."""
    target = Path(os.path.abspath(target))
    fd, name = tempfile.mkstemp(prefix=staging_prefix(target), suffix=suffix, dir=target.parent)
    os.close(fd)
    staging = Path(name)
    try:
        write(staging)
        with open(staging, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(staging, 0o666 & ~umask())
        os.replace(staging, target)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return target
