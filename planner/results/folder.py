"""Writing the results folder safely, and the lock of a folder.

Files are written into a temporary folder beside the target and swapped into place only
when all of them are complete, so an earlier run's results are never half-replaced
(:func:`write_results`); a single file beside them (``value.json``) goes through
:mod:`planner.results.safe_write` under the folder's lock (:func:`write_text_file`).
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
import signal
import stat
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import safe_write
from .files import DUALS_COLUMNS, DUALS_FILE, PLANNER_FILES, SUMMARY_FILE, TABLES

__all__ = [
    "FolderBusy", "FolderLock", "ResultsError", "ResultsInterrupted", "earlier_results_note", "refusal",
    "remove_leftovers", "write_folder", "write_plan_files", "write_results",
    "write_text_file",
]


class ResultsError(Exception):
    """Results could not be written; the previous results (if any) are intact."""


def refusal(out: Path, files: tuple[str, ...] = PLANNER_FILES, folders: tuple[str, ...] = ()) -> str | None:
    """Why ``out`` cannot take a results folder, or None: it must be absent, empty, or an
    earlier results folder (only the planner's own files, its report included), and
    writable; anything else is refused rather than deleted. ``files`` and ``folders``:
    the names such a folder may hold (a frontier folder's, with its ``plans`` folder)."""
    try:
        if not out.exists():
            parent = _nearest_existing(Path(os.path.abspath(out)).parent)
            if parent is not None and not parent.is_dir():
                return f"cannot write results into {out}: {parent} is not a folder"
            if parent is not None and not os.access(parent, os.W_OK | os.X_OK):
                return f"cannot write results into {parent}: the folder is read-only"
            return None
        if not out.is_dir():
            return f"{out} exists and is not a folder"
        foreign = sorted(p.name for p in out.iterdir()
                         if not (_ours(p.name, files) or (p.name in folders and p.is_dir() and not p.is_symlink())))
        foreign += [f"{name}/{inner}" for name in folders for inner in _foreign_in_plans(out / name)]
        if not foreign:
            parent = Path(os.path.abspath(out)).parent
            for folder in (out, parent):
                if not os.access(folder, os.W_OK | os.X_OK):
                    return f"cannot write results to {out}: {folder} is read-only; {earlier_results_note(out)}"
    except OSError as err:
        return f"cannot use {out}: {err.strerror or err}"
    if foreign:
        shown = ", ".join(_short_name(name) for name in foreign[:5])
        more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        return f"{out} holds files the planner did not write ({shown}{more}); choose another --out folder"
    return None


def _foreign_in_plans(folder: Path) -> list[str]:
    """What an allowed sub-folder (a trade-off folder's ``plans``) holds besides results
    folders of the planner's own files: the swap would delete it with the folder."""
    if not folder.is_dir() or folder.is_symlink():
        return []
    found = []
    for plan in sorted(folder.iterdir()):
        if not plan.is_dir() or plan.is_symlink():
            found.append(plan.name)
        else:
            found.extend(f"{plan.name}/{p.name}" for p in sorted(plan.iterdir()) if not _ours(p.name))
    return found


def _ours(name: str, files: tuple[str, ...] = PLANNER_FILES) -> bool:
    """A file the planner writes into a results folder (``files``), or one's staging file."""
    return name in files or (safe_write.is_staging_name(name) and safe_write.staged_name(name) in files)


def _short_name(name: str) -> str:
    name = name if name.isprintable() else repr(name)
    return name if len(name) <= 40 else name[:37] + "..."


def _nearest_existing(path: Path) -> Path | None:
    for folder in (path, *path.parents):
        if folder.exists():
            return folder
    return None


def earlier_results_note(out: Path) -> str:
    """What became of ``out`` when a write failed (nothing of it was changed)."""
    out = Path(out)
    try:
        if out.is_dir() and any(out.iterdir()):
            return f"the earlier results in {out} are intact"
    except OSError:
        pass
    return "no results were written"


class ResultsInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM/SIGHUP) while results were being written; the message says
    what is in the results folder: the earlier results, intact, or the new ones, complete."""

    def __init__(self, message: str, signum: int = signal.SIGINT):
        super().__init__(message)
        self.message = message
        self.signum = signum

    def __str__(self) -> str:
        return self.message


def write_results(plan, out: Path, extra=None) -> Path:
    """Write every file of ``plan`` (and ``extra(staging)``'s: the report) into a
    temporary folder beside ``out``, then swap it into place (:func:`write_folder`)."""

    def fill(staging: Path) -> None:
        write_plan_files(plan, staging)
        if extra is not None:
            extra(staging)

    return write_folder(out, fill)


def write_folder(out: Path, fill, files: tuple[str, ...] = PLANNER_FILES, folders: tuple[str, ...] = ()) -> Path:
    """Let ``fill(staging)`` write every file into a temporary folder beside ``out``, then
    swap it into place.

    ``out`` must be acceptable to :func:`refusal` (with ``files`` and ``folders``, the
    names the folder may hold). Whatever happens — a full disk, a
    read-only folder, an error, Ctrl-C, SIGTERM — ``out`` holds either the earlier
    results, untouched, or the new ones, complete, and no temporary folder is left
    behind (the exception says which). The swap itself holds a lock on
    ``<parent>/.<name>.lock`` (see :class:`FolderLock`), so two solves writing to the same
    folder at once end with one complete set of files; signals that arrive during the
    swap wait for it to finish.
    """
    out = out.resolve() if out.exists() else Path(os.path.abspath(out))
    refused = refusal(out, files, folders)
    if refused:
        raise ResultsError(refused)
    intact = earlier_results_note(out)
    staging: Path | None = None
    swapped = False
    try:
        with _interruptible():
            try:
                out.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise ResultsError(f"cannot write results next to {out}: {err.strerror or err}; {intact}") from None
            with FolderLock(out):
                refused = refusal(out, files, folders)  # another process may have changed it meanwhile
                if refused:
                    raise ResultsError(refused)
                _recover_stale(out)
                intact = earlier_results_note(out)
                try:
                    staging = _new_folder(out.parent, safe_write.staging_folder_prefix(out))
                except OSError as err:
                    raise ResultsError(f"cannot write results next to {out}: {err.strerror or err}; {intact}") from None
                fill(staging)
                with _deferred_signals():
                    _swap_into_place(staging, out)
                    swapped = True
    except ResultsError:
        _remove(staging)
        raise
    except OSError as err:
        _remove(staging)
        if swapped:  # only releasing the lock failed: the new results are in place
            return out
        note = earlier_results_note(out)
        raise ResultsError(f"cannot write results to {out}: {err.strerror or err}; {note}") from None
    except KeyboardInterrupt as err:
        _remove(staging)
        signum = getattr(err, "signum", signal.SIGINT)
        if swapped:
            raise ResultsInterrupted(f"interrupted after the results were written: {out} is complete", signum) from None
        raise ResultsInterrupted(f"interrupted while writing results: {intact}", signum) from None
    except BaseException:
        _remove(staging)
        raise
    return out


def _new_folder(parent: Path, prefix: str) -> Path:
    """A new folder ``<parent>/<prefix><random>`` with the usual permissions (the umask's;
    ``tempfile.mkdtemp`` would make it private to the user)."""
    for _ in range(100):
        folder = parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            os.mkdir(folder)
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(parent / prefix))


def write_plan_files(plan, folder: Path) -> None:
    """The tables, duals.csv and summary.json of ``plan`` (a :class:`~.tables.Plan`)."""
    import pandas as pd

    for name in TABLES:
        write_csv(plan.tables[name], folder / f"{name}.csv")
    duals = plan.duals if plan.duals is not None else pd.DataFrame(columns=DUALS_COLUMNS)
    write_csv(duals, folder / DUALS_FILE)
    (folder / SUMMARY_FILE).write_text(json.dumps(plan.summary, indent=2) + "\n", encoding="utf-8")


def write_csv(frame, path: Path) -> None:
    """Write one table of a results folder (:func:`csv_text`)."""
    with open(path, "w", encoding="utf-8", newline="") as file:
        file.write(csv_text(frame))


def csv_text(frame) -> str:
    """``frame`` as ``frame.to_csv(index=False, lineterminator="\\n")`` writes it after
    :func:`_no_negative_zero`, character for character (``tests/test_output_safety.py``
    compares them), about twice as fast on a large table and without copying it.

    What pandas writes, column by column: a float64 column's numbers as numpy's ``str``,
    which is Python's ``repr`` (the shortest text that reads back to the same bits), -0.0
    as 0.0 and NaN blank; an integer column's as ``str``; any other column's values as
    ``str``, missing ones (None, NaN, pandas' NA) blank; a field holding a comma, a
    quote or a line break quoted as the csv module does (``QUOTE_MINIMAL``).
    pyarrow's CSV writer is not used: it writes 0.0 as ``0`` and quotes every text field.
    """
    if len(frame.columns) < 2 or any(dtype.kind == "f" and dtype != "float64" for dtype in frame.dtypes):
        # float32 and the like, and a lone column (the csv module quotes a lone empty
        # field): pandas' own writer
        return _no_negative_zero(frame).to_csv(index=False, lineterminator="\n")
    header = ",".join(_csv_field(str(name)) for name in frame.columns)
    columns = [_csv_column(frame[name]) for name in frame.columns]
    lines = [header, *map(",".join, zip(*columns))]
    return "\n".join(lines) + "\n"


def _quoted_by_csv(ch: str) -> bool:
    """Whether pandas' writer (the csv module, ``lineterminator="\\n"``) quotes a field
    holding ``ch`` (for ``\\r`` it depends on Python's version)."""
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([f"a{ch}b", "c"])
    return buffer.getvalue().startswith('"')


_CSV_SPECIAL = tuple(ch for ch in (",", '"', "\n", "\r") if _quoted_by_csv(ch))


def _csv_field(text: str) -> str:
    if any(ch in text for ch in _CSV_SPECIAL):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_column(column) -> list[str]:
    import numpy as np
    import pandas as pd

    plain = isinstance(column.dtype, np.dtype) and column.dtype.kind in "fiub"
    if plain and column.dtype.kind == "f":  # float64 (csv_text leaves other floats to pandas)
        values = column.to_numpy(dtype=np.float64) + 0.0  # -0.0 is written 0.0
        text = list(map(repr, values.tolist()))
        for i in np.flatnonzero(np.isnan(values)).tolist():
            text[i] = ""
        return text
    if plain:
        return list(map(str, column.tolist()))
    values = column.tolist()
    if all(value.__class__ is str for value in values):
        return values if not any(ch in "".join(values) for ch in _CSV_SPECIAL) else list(map(_csv_field, values))
    return ["" if value is None or value is pd.NA or (isinstance(value, float) and value != value)
            else _csv_field(str(value)) for value in values]


def _no_negative_zero(frame):
    """``frame`` with -0.0 written as 0.0 (adding 0.0 turns -0.0 into 0.0, nothing else)."""
    floats = frame.select_dtypes("float").columns
    if len(floats) == 0:
        return frame
    frame = frame.copy()
    frame[floats] = frame[floats] + 0.0
    return frame


def _remove(folder: Path | None) -> None:
    if folder is not None and folder.exists():
        shutil.rmtree(folder, ignore_errors=True)


def _swap_into_place(staging: Path, out: Path) -> None:
    """Put ``staging`` at ``out``: atomically when the system can exchange two folders
    (Linux ``renameat2``), else by two renames, undoing the first if the second fails."""
    if not out.exists():
        os.replace(staging, out)
        return
    retired = Path(tempfile.mkdtemp(prefix=safe_write.retired_prefix(out), dir=out.parent))
    os.rmdir(retired)
    if _exchange(staging, out):
        try:  # staging now holds the earlier results; from here on nothing may fail
            os.replace(staging, retired)
        except OSError:
            retired = staging
    else:
        os.replace(out, retired)
        try:
            os.replace(staging, out)
        except BaseException:
            os.replace(retired, out)
            raise
    shutil.rmtree(retired, ignore_errors=True)


def _recover_stale(out: Path) -> None:
    """Earlier results a killed swap left beside ``out`` (``.<name>.old-*``, only ever made
    under the lock): put back when ``out`` is missing, else removed."""
    prefix = safe_write.retired_prefix(out)
    for stale in sorted(p for p in out.parent.iterdir() if p.name.startswith(prefix) and p.is_dir()):
        if not out.exists():
            os.replace(stale, out)
        else:
            shutil.rmtree(stale, ignore_errors=True)
    remove_leftovers(out)


def remove_leftovers(out: Path) -> None:
    """Remove what a killed run left: staging folders beside ``out`` and staging files in
    it (:func:`planner.results.safe_write.is_staging_name`). Call only under ``out``'s
    :class:`FolderLock`: every staging name is made under it, so none is a live one."""
    folder_prefix = safe_write.staging_folder_prefix(out)
    try:
        beside = [p for p in out.parent.iterdir() if p.name.startswith(folder_prefix) and p.is_dir()
                  and not p.is_symlink()]
        inside = [p for p in out.iterdir() if safe_write.is_staging_name(p.name) and p.is_file()] \
            if out.is_dir() and not out.is_symlink() else []
    except OSError:
        return
    for stale in beside:
        shutil.rmtree(stale, ignore_errors=True)
    for stale in inside:
        try:
            stale.unlink()
        except OSError:
            pass


_RENAMEAT2: Any = False  # not looked up yet


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False when the
    system or file system cannot, so the caller falls back to two renames."""
    global _RENAMEAT2
    if _RENAMEAT2 is False:
        _RENAMEAT2 = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                libc = ctypes.CDLL(None, use_errno=True)
                _RENAMEAT2 = libc.renameat2
                _RENAMEAT2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
            except (OSError, AttributeError):
                _RENAMEAT2 = None
    if _RENAMEAT2 is None:
        return False
    import ctypes

    at_fdcwd, rename_exchange = -100, 2
    if _RENAMEAT2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV):
        return False
    raise OSError(code, os.strerror(code), str(b))


class FolderBusy(BlockingIOError):
    """A :class:`FolderLock` entered with ``wait=False`` is held by another process."""


class FolderLock:
    """An exclusive lock (``fcntl.flock``) on ``<parent>/.<name>.lock`` for writing the
    folder ``<parent>/<name>``: beside the folder, never in it, and removed on release.

    A waiter that obtains the lock after its holder removed the file retries on the new
    file, so at most one process holds the lock of a folder at a time. Where ``fcntl``
    does not exist (Windows) the lock does nothing.

    ``wait=False`` (a sweep folder, held for the whole sweep): when another process holds
    the lock, entering raises :class:`FolderBusy` at once instead of waiting.
    """

    def __init__(self, folder: Path, wait: bool = True):
        folder = Path(os.path.abspath(folder))
        self.path = folder.parent / safe_write.short_name(folder.name, ".lock")
        self.fd: int | None = None
        self.wait = wait

    def __enter__(self) -> "FolderLock":
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return self
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
            except OSError as err:
                if err.errno == errno.ELOOP:
                    raise OSError(errno.ELOOP, f"the lock file {self.path} is a symbolic link (refused)",
                                  str(self.path)) from None
                raise
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise OSError(errno.EINVAL, f"the lock file {self.path} is not a regular file (refused)", str(self.path))
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX if self.wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise FolderBusy(errno.EWOULDBLOCK, "another process is writing this folder",
                                     str(self.path)) from None
                held = os.fstat(fd)
                try:
                    current = os.stat(self.path)
                except FileNotFoundError:
                    current = None
            except BaseException:
                os.close(fd)
                raise
            if current is not None and (current.st_dev, current.st_ino) == (held.st_dev, held.st_ino):
                self.fd = fd
                return self
            os.close(fd)  # the holder before us removed the file: lock the new one

    def __exit__(self, *exc) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(self.fd)  # closing releases the lock
        self.fd = None


#: Signals that end the program: Ctrl-C, ``kill``, a closed terminal.
_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextmanager
def _interruptible():
    """Make SIGTERM and SIGHUP raise KeyboardInterrupt (as Ctrl-C does) while results are
    written, so the temporary folder is removed; only where they would end the program
    (their default action) and only in the main thread (where Python runs handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise ResultsInterrupted("interrupted", signum)

    replaced = {}
    for signum in _SIGNALS:
        if signum != signal.SIGINT and signal.getsignal(signum) == signal.SIG_DFL:
            replaced[signum] = signal.signal(signum, interrupt)
    try:
        yield
    finally:
        for signum, handler in replaced.items():
            signal.signal(signum, handler)


@contextmanager
def _deferred_signals():
    """Hold Ctrl-C, SIGTERM and SIGHUP until the block ends, then deliver the first one."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, frame: received.append(signum)) for signum in _SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if received:
            signal.raise_signal(received[0])


def write_text_file(target: Path, text: str) -> Path:
    """Write ``text`` to ``target`` (value.json) with :mod:`.safe_write`, renamed into
    place under the lock of ``target``'s folder: an interruption or a full disk leaves the
    earlier file intact and no temporary file behind. Raises ResultsError."""
    target = Path(os.path.abspath(target))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with FolderLock(target.parent):
            if target.parent.is_dir():
                remove_leftovers(target.parent)
            safe_write.write_text(target, text, guard=_deferred_signals)
    except OSError as err:
        earlier = "the earlier file is intact" if target.exists() else "nothing was written"
        raise ResultsError(f"cannot write {target}: {err.strerror or err}; {earlier}") from None
    return target


@contextmanager
def _locked(folder: Path):
    """The folder's lock, with signals held until the block ends."""
    with FolderLock(folder), _deferred_signals():
        yield
