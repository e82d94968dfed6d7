"""One malloc heap for a process that solves one LP at a time.

glibc gives a new thread its own heap (an "arena") on its first allocation, so HiGHS's
solver thread (``planner.solver.highs``, which solves in a thread so that Ctrl-C stops
it) would not reuse the memory the Pyomo model freed just before the solve: 60 MB more
at a million non-zeros (``benchmarks/scale.py``). :func:`share_the_heap` sets
``mallopt(M_ARENA_MAX, 1)``, for the whole process and for good (glibc cannot undo it),
so the process decides, not the solve: the command line does, for every command but
``planner app``, whose threads solve side by side and are better off with a heap each.
A script may call it first too. Only ``ctypes``: the command line imports this before
anything heavy.
"""

from __future__ import annotations

import ctypes

_M_ARENA_MAX = -8  # glibc's malloc.h


def share_the_heap() -> None:
    """``mallopt(M_ARENA_MAX, 1)``: one malloc heap for every thread of this process from
    now on; nothing where the C library has no ``mallopt`` (not glibc)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # TypeError: Windows has no CDLL(None)
        return
    mallopt(_M_ARENA_MAX, 1)
