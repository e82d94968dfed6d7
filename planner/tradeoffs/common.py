"""What the frontier and the alternatives share: their refusals, and the shares and
figures they read off a solved model."""

from __future__ import annotations

from ..instance.schema import Instance
from ..results.figures import Values, add_up

#: A year whose total active capacity is at most this has no share.
NO_CAPACITY = 1e-9


class TradeoffError(ValueError):
    """The request cannot be answered as asked; the message says what to do instead."""


def refuse_scenarios(inst: Instance, command: str) -> None:
    """Trade-offs are computed on one plan, not on MODEL.md §5's cases."""
    if inst.scenarios is not None:
        raise TradeoffError(
            f"planner {command} works on an instance without scenarios: the committed years of a "
            "scenario instance make every case's share a different ratio. Remove the scenarios block "
            "(or write one case's numbers into the instance) and run it on that; for the cases' spread, "
            "use planner sweep or planner solve on each case.")


def shares(m, inst: Instance, year: int, values: Values | None = None) -> dict[str, float | None]:
    """Each provider's share of all active capacity in ``year`` in the solved model
    (None when there is no capacity at all that year)."""
    v = values or Values()
    active = {p: v(m.active_capacity[p, year]) for p in inst.providers}
    total = add_up(active.values())
    return {p: (a / total if total > NO_CAPACITY else None) for p, a in active.items()}


def table_share(capacity, provider: str, year: int) -> float | None:
    """The provider's share of active capacity in ``year`` from capacity.csv's rows (None
    when there is no capacity that year), as :func:`shares` reads it off the model."""
    rows = capacity[capacity["year"] == year]
    total = float(rows["active"].sum())
    mine = float(rows.loc[rows["provider"] == provider, "active"].sum())
    return mine / total if total > NO_CAPACITY else None


def refuse_dotted(provider: str, command: str) -> None:
    """The cap and the varied fields are addressed by dotted paths (MODEL.md §5's)."""
    if "." in provider:
        raise TradeoffError(f"planner {command} cannot address the provider {provider!r}: its name holds a '.'; "
                            "rename it in the instance (e.g. with '_') and run it again")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, SIGTERM or SIGHUP while a trade-off is computed; ``signum`` gives the exit
    code 128 + signum."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


def signal_number(err: BaseException, default: int = 2) -> int:
    """The signal behind an interruption (2, Ctrl-C, when it does not say)."""
    return getattr(err, "signum", None) or default


class Interrupts:
    """While the points (or providers) are solved: Ctrl-C, SIGTERM and SIGHUP raise
    KeyboardInterrupt and are remembered (``signum``), so the caller keeps what is
    finished and ends with 128 + signum. HiGHS may report a stopped solve as an error
    before Python raises the interrupt: :meth:`explains` tells such a failure apart.
    In another thread than the main one (where Python runs handlers) nothing changes."""

    def __init__(self):
        self.signum: int | None = None
        self._previous: dict = {}

    def __enter__(self) -> "Interrupts":
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return self

        def interrupt(signum, frame):
            self.signum = self.signum or signum
            raise Interrupted(signum)

        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            signum = getattr(signal, name, None)
            if signum is None:
                continue
            current = signal.getsignal(signum)
            if current is signal.SIG_IGN or (name != "SIGINT" and current != signal.SIG_DFL):
                continue
            self._previous[signum] = signal.signal(signum, interrupt)
        return self

    def __exit__(self, *exc) -> None:
        import signal

        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def explains(self, err: Exception) -> bool:
        """Whether ``err`` (a failed solve) came from an interruption."""
        return self.signum is not None


def solve_each(items, solve_one, keep) -> int | None:
    """``keep(item, solve_one(item))`` for each item in turn, until an interruption
    (:class:`Interrupts`): return the signal that stopped it, None when every item is done.
    What was kept before the interruption stays kept."""
    from ..solver.highs import SolverFailure

    with Interrupts() as stop:
        try:
            for item in items:
                try:
                    done = solve_one(item)
                except SolverFailure as err:
                    if stop.explains(err):
                        raise Interrupted(stop.signum) from None
                    raise
                keep(item, done)
        except KeyboardInterrupt as err:
            return signal_number(err, stop.signum or 2)
    return None
