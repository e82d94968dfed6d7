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

import errno
import os
import re
import stat
import tempfile
from pathlib import Path
from contextlib import nullcontext
from typing import Callable, ContextManager


def umask() -> int:
    """The process's umask (read without changing it for longer than a moment)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: A name the planner makes beside a file or folder (staging, retired, lock) fits NAME_MAX.
NAME_MAX = 255
#: The tag of a staging name (file or folder): ``.<name>.tmp-<random>``.
STAGING_TAG = ".tmp-"
#: mkstemp's random part is 8 characters; a staging folder's is 8 hex digits.
_RANDOM = 8


def short_name(name: str, tag: str) -> str:
    """``.<name><tag>`` such that it plus a random part fits NAME_MAX: a long name is cut
    and given a hash of the whole name (``.<start>~<hash><tag>``)."""
    room = NAME_MAX - _RANDOM - len(tag) - 1
    if len(os.fsencode(name)) > room:
        import hashlib

        digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:12]
        cut = name
        while len(os.fsencode(cut)) > room - 13:
            cut = cut[:-1]
        name = f"{cut}~{digest}"
    return f".{name}{tag}"


def staging_prefix(target: str | Path) -> str:
    """The prefix of ``target``'s staging files: ``.<name>.tmp-`` (see :func:`short_name`)."""
    return short_name(Path(target).name, STAGING_TAG)


def staging_folder_prefix(folder: str | Path) -> str:
    """The prefix of a results folder's staging folder beside it (the same pattern)."""
    return staging_prefix(folder)


def retired_prefix(folder: str | Path) -> str:
    """The prefix of earlier results being swapped out: ``.<name>.old-``."""
    return short_name(Path(folder).name, ".old-")


_STAGING = re.compile(r"^\.(?P<name>.+)" + re.escape(STAGING_TAG) + r"[A-Za-z0-9_]{%d}$" % _RANDOM)


def is_staging_name(name: str) -> bool:
    """Whether ``name`` is one of the planner's staging names (``.<name>.tmp-<8 random>``)."""
    return _STAGING.match(name) is not None


def staged_name(name: str) -> str | None:
    """The file a staging name was for (None when not a staging name)."""
    match = _STAGING.match(name)
    return match.group("name") if match else None


class NotRegularFile(OSError):
    """The target exists and is not a regular file (a device, a FIFO, a symlink, a folder)."""


def refuse_non_regular(target: Path) -> None:
    """Raise :class:`NotRegularFile` when ``target`` exists and is not a regular file:
    the planner replaces only its own regular files, never a device, FIFO or symlink."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        kind = ("a symbolic link" if stat.S_ISLNK(st.st_mode) else "a folder" if stat.S_ISDIR(st.st_mode)
                else "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode)
                or stat.S_ISBLK(st.st_mode) else "not a regular file")
        raise NotRegularFile(errno.EEXIST, f"it exists and is {kind}, not a regular file (refused)", str(target))


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
    refuse_non_regular(target)
    fd, name = tempfile.mkstemp(prefix=staging_prefix(target), dir=target.parent)
    staging = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(staging, 0o666 & ~umask())
        with guard() if guard is not None else nullcontext():
            refuse_non_regular(target)
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
    refuse_non_regular(target)
    fd, name = tempfile.mkstemp(prefix=staging_prefix(target), suffix=suffix, dir=target.parent)
    os.close(fd)
    staging = Path(name)
    try:
        write(staging)
        with open(staging, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(staging, 0o666 & ~umask())
        refuse_non_regular(target)
        os.replace(staging, target)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return target
