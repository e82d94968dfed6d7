"""The results folder of MODEL.md §3: the tables of a plan and writing them safely.

Tables are read off the solved model's expressions, so every figure follows from the
decisions by the formulas of §2 (``planner.check`` recomputes them independently).
Beside the five tables, ``duals.csv`` holds the constraints' shadow prices
(``planner.duals``).
Files are written into a temporary folder beside the target and renamed into place only
when all of them are complete, so an earlier run's results are never half-replaced.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..instance.schema import Instance

#: The five tables of MODEL.md §3, each recomputable from the decisions (planner.check).
TABLES = ("procurement", "capacity", "usage", "service", "finance")
#: Shadow prices of the constraints (planner.duals); not a §3 table, so not in TABLES.
DUALS_FILE = "duals.csv"
#: Written by ``planner value`` beside a scenario instance's results.
VALUE_FILE = "value.json"
RESULT_FILES = ("summary.json",) + tuple(f"{name}.csv" for name in TABLES) + (DUALS_FILE,)

COLUMNS = {
    "procurement": ["year", "provider", "source", "term", "capacity", "unit_price", "upfront", "online_from"],
    "capacity": ["year", "provider", "existing", "contracted", "owned", "active", "used", "idle", "spend", "charge"],
    "usage": ["year", "provider", "workload", "capacity", "compute"],
    "service": ["year", "workload", "demand", "served", "unserved", "revenue"],
    "finance": [
        "year", "revenue", "compute_cost", "capex", "capex_expense", "other_costs", "interest",
        "loss", "cumulative_loss", "funding", "debt", "cash",
    ],
}


class ResultsError(Exception):
    """Results could not be written; the previous results (if any) are intact."""


@dataclass
class Plan:
    """The outcome of a solve: status, objective, tables (when optimal) and summary.

    ``duals`` (when optimal) holds the shadow prices of the constraints, one row per
    constraint with a non-zero one (``planner.duals``); it is written as duals.csv.
    """

    instance: Instance
    objective: str
    status: str
    solve_seconds: float = 0.0
    objective_value: float | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    model: Any = None
    duals: pd.DataFrame | None = None

    def __getattr__(self, name):
        # plan.finance, plan.capacity, ... as a shorthand for plan.tables[name]
        tables = self.__dict__.get("tables") or {}
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def write(self, out_dir: str | Path) -> Path:
        """Write the results folder (only for an optimal plan); return its path."""
        if self.status != "optimal":
            raise ResultsError(f"no results to write: the plan is {self.status}")
        return write_results(self, Path(out_dir))


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------


def _v(expr) -> float:
    """The value of a solved expression, with rounding noise below 1e-9 shown as 0."""
    import pyomo.environ as pyo

    return _tidy(float(pyo.value(expr)))


def _tidy(x: float) -> float:
    return 0.0 if abs(x) < 1e-9 else x


class _Values:
    """``values(expr)``: like :func:`_v`, but each named expression of the model
    (``loss[t]``, ``active_capacity[p,t]``, ...) is evaluated once, however many others
    refer to it (``cumulative_loss[t]`` sums every earlier ``loss``), with the same
    arithmetic as ``pyo.value`` in the same order, so the figures are the same to the
    last bit. Tables of a large model take time in proportion to its size."""

    def __init__(self):
        from pyomo.core.base.var import ScalarVar, VarData
        from pyomo.core.expr import numeric_expr as ne

        self._named: dict[int, float] = {}
        self._indexed: dict[int, dict] = {}
        self._var = {VarData, ScalarVar}
        self._sum = {ne.SumExpression, ne.LinearExpression}
        self._product = {ne.ProductExpression, ne.MonomialTermExpression}
        self._negation = ne.NegationExpression
        self._division = ne.DivisionExpression

    def __call__(self, expr) -> float:
        return _tidy(float(self.raw(expr)))

    def of(self, var) -> dict:
        """``{index: value}`` of every element of the indexed variable ``var`` (as
        ``values(var[index])``), read once."""
        key = id(var)
        if key not in self._indexed:
            self._indexed[key] = {index: self(element) for index, element in var.items()}
        return self._indexed[key]

    def raw(self, expr):
        cls = expr.__class__
        if cls in self._var:
            value = expr.value
            if value is None:
                raise ValueError(f"No value for uninitialized variable {expr.name}")
            return value
        if cls is float or cls is int:
            return expr
        if cls in self._sum:
            return sum([self.raw(arg) for arg in expr.args])
        if cls in self._product:
            left, right = expr.args
            return self.raw(left) * self.raw(right)
        if expr.is_variable_type():
            value = expr.value
            if value is None:
                raise ValueError(f"No value for uninitialized variable {expr.name}")
            return value
        if expr.is_named_expression_type():
            key = id(expr)
            if key not in self._named:
                self._named[key] = self.raw(expr.expr)
            return self._named[key]
        if cls is self._negation:
            return -self.raw(expr.args[0])
        if cls is self._division:
            left, right = expr.args
            return self.raw(left) / self.raw(right)
        from pyomo.core import value

        return value(expr)


def make_tables(m, inst: Instance) -> dict[str, pd.DataFrame]:
    """The five tables of §3; for a scenario instance each gains a leading ``case``
    column and holds every case's rows (shared decisions repeat in every case)."""
    if inst.scenarios is None:
        return _plan_tables(m, inst)
    per_case = {n: _plan_tables(m.case[n], case) for n, case in inst.cases.items()}
    return {
        name: pd.concat([frame[name].assign(case=n) for n, frame in per_case.items()], ignore_index=True)[
            ["case"] + COLUMNS[name]
        ]
        for name in TABLES
    }


def case_tables(tables: dict[str, pd.DataFrame], case: str) -> dict[str, pd.DataFrame]:
    """One case's rows of scenario tables, without the ``case`` column."""
    return {
        name: frame[frame["case"] == case].drop(columns="case").reset_index(drop=True)
        for name, frame in tables.items()
    }


def _plan_tables(m, inst: Instance) -> dict[str, pd.DataFrame]:
    v = _Values()
    return {
        "procurement": _procurement(m, inst, v),
        "capacity": _capacity(m, inst, v),
        "usage": _usage(m, inst, v),
        "service": _service(m, inst, v),
        "finance": _finance(m, inst, v),
    }


def _frame(name: str, columns: dict[str, list]) -> pd.DataFrame:
    """A table from its columns (lists of equal length), in the order of :data:`COLUMNS`."""
    if not columns[COLUMNS[name][0]]:
        return pd.DataFrame([], columns=COLUMNS[name])  # no rows: the same dtypes as ever (object)
    return pd.DataFrame(columns, columns=COLUMNS[name])


def _columns(name: str) -> dict[str, list]:
    return {column: [] for column in COLUMNS[name]}


def _procurement(m, inst: Instance, v: _Values) -> pd.DataFrame:
    cols = _columns("procurement")
    year, provider, source, term = cols["year"], cols["provider"], cols["source"], cols["term"]
    capacity, unit_price, upfront, online_from = cols["capacity"], cols["unit_price"], cols["upfront"], cols["online_from"]
    c, b = v.of(m.c), v.of(m.b)
    for s in inst.year_list:
        for p, prov in inst.providers.items():
            for k, contract in prov.contracts.items():
                if (signed := c.get((p, k, s), 0.0)) > 0:
                    year.append(s), provider.append(p), source.append(k), term.append(contract.term)
                    capacity.append(signed), unit_price.append(contract.price[s])
                    upfront.append(contract.upfront[s]), online_from.append(s)
            if prov.build is not None and (built := b[p, s]) > 0:
                year.append(s), provider.append(p), source.append("build"), term.append(None)
                capacity.append(built), unit_price.append(prov.build.capex[s])
                upfront.append(None), online_from.append(s + prov.build.lead_time)
    frame = _frame("procurement", cols)
    frame["term"] = frame["term"].astype("Int64")
    return frame


def _capacity(m, inst: Instance, v: _Values) -> pd.DataFrame:
    cols = _columns("capacity")
    allowed = {p: inst.allowed_workloads(p) for p in inst.providers}
    u = v.of(m.u)
    for t in inst.year_list:
        for p, prov in inst.providers.items():
            used = sum(u[p, w, t] for w in allowed[p])
            active = v(m.active_capacity[p, t])
            for column, value in (
                ("year", t), ("provider", p), ("existing", prov.existing[t]),
                ("contracted", v(m.contracted_capacity[p, t])), ("owned", v(m.owned_capacity[p, t])),
                ("active", active), ("used", used), ("idle", _tidy(active - used)),
                ("spend", v(m.spend[p, t])), ("charge", v(m.charge[p, t])),
            ):
                cols[column].append(value)
    return _frame("capacity", cols)


def _usage(m, inst: Instance, v: _Values) -> pd.DataFrame:
    cols = _columns("usage")
    year, provider, workload, capacity, compute = (cols[c] for c in COLUMNS["usage"])
    allowed = {p: inst.allowed_workloads(p) for p in inst.providers}
    u = v.of(m.u)
    for t in inst.year_list:
        for p, prov in inst.providers.items():
            efficiency = prov.efficiency[t]
            for w in allowed[p]:
                used = u[p, w, t]
                year.append(t), provider.append(p), workload.append(w)
                capacity.append(used), compute.append(efficiency * used)
    return _frame("usage", cols)


def _service(m, inst: Instance, v: _Values) -> pd.DataFrame:
    cols = _columns("service")
    for t in inst.year_list:
        for w, wl in inst.workloads.items():
            served = v(m.served[w, t])
            for column, value in (
                ("year", t), ("workload", w), ("demand", wl.demand[t]), ("served", served),
                ("unserved", _tidy(wl.demand[t] - served)), ("revenue", wl.revenue[t] * served),
            ):
                cols[column].append(value)
    return _frame("service", cols)


def _finance(m, inst: Instance, v: _Values) -> pd.DataFrame:
    fin = inst.finance
    cols = _columns("finance")
    for t in inst.year_list:
        for column, value in (
            ("year", t), ("revenue", v(m.revenue[t])), ("compute_cost", v(m.compute_cost[t])),
            ("capex", v(m.capex[t])), ("capex_expense", v(m.capex_expense[t])),
            ("other_costs", fin.other_costs[t]), ("interest", v(m.interest[t])), ("loss", v(m.loss[t])),
            ("cumulative_loss", v(m.cumulative_loss[t])), ("funding", fin.funding[t]),
            ("debt", v(m.debt[t])), ("cash", v(m.cash[t])),
        ):
            cols[column].append(value)
    return _frame("finance", cols)


def commitments_after_horizon(inst: Instance, procurement: pd.DataFrame) -> float:
    """Money still owed after the last year under contracts signed in the horizon."""
    last = inst.years[1]
    total = 0.0
    for row in procurement.itertuples():
        if row.source == "build":
            continue
        years_after = max(0, row.year + row.term - 1 - last)
        total += years_after * row.unit_price * row.capacity
    return total


def plan_figures(inst: Instance, tables: dict[str, pd.DataFrame], objective: str) -> dict[str, float]:
    """The summary figures of one plan (or one case), from its tables."""
    finance = tables["finance"]
    discounted = sum(inst.discount_factor(t) * loss for t, loss in zip(finance["year"], finance["loss"]))
    peak = float(finance["cumulative_loss"].max())
    return {
        "case_objective": peak if objective == "peak_cumulative_loss" else float(discounted),
        "cumulative_loss": float(finance["loss"].sum()),
        "peak_cumulative_loss": peak,
        "final_cash": float(finance["cash"].iloc[-1]),
        "commitments_after_horizon": commitments_after_horizon(inst, tables["procurement"]),
    }


def cvar(values: list[float], probabilities: list[float], alpha: float) -> float:
    """CVaR_α of a discrete distribution: min over η of η + Σ π (L − η)⁺ / (1 − α)
    (the minimum is at one of the values)."""
    return min(
        eta + sum(p * max(v - eta, 0.0) for v, p in zip(values, probabilities)) / (1 - alpha) for eta in values
    )


def scenario_figures(inst: Instance, tables: dict[str, pd.DataFrame], objective: str) -> dict[str, Any]:
    """MODEL.md §5's summary fields; the plain figures are probability-weighted means."""
    cases = {}
    for n, case in inst.cases.items():
        figures = plan_figures(case, case_tables(tables, n), objective)
        cases[n] = {"probability": inst.scenarios.cases[n].probability, **figures}
    probability = [c["probability"] for c in cases.values()]
    mean = lambda key: float(sum(c["probability"] * c[key] for c in cases.values()))  # noqa: E731
    out: dict[str, Any] = {
        key: mean(key) for key in ("cumulative_loss", "peak_cumulative_loss", "final_cash", "commitments_after_horizon")
    }
    out["expected_objective"] = mean("case_objective")
    out["cvar"] = cvar([c["case_objective"] for c in cases.values()], probability, inst.scenarios.risk.alpha)
    out["commit_years"] = inst.commit_years
    out["risk"] = {"alpha": inst.scenarios.risk.alpha, "weight": inst.scenarios.risk.weight}
    out["cases"] = {
        n: {"probability": c["probability"], "objective_value": c["case_objective"],
            "cumulative_loss": c["cumulative_loss"], "peak_cumulative_loss": c["peak_cumulative_loss"]}
        for n, c in cases.items()
    }
    return out


def make_summary(plan: Plan, solver: str) -> dict[str, Any]:
    inst = plan.instance
    summary: dict[str, Any] = {
        "instance": inst.name,
        "status": plan.status,
        "objective": plan.objective,
        "objective_value": plan.objective_value,
    }
    if plan.status == "optimal" and inst.scenarios is None:
        summary.update(plan_figures(inst, plan.tables, plan.objective))
        del summary["case_objective"]
    elif plan.status == "optimal":
        summary.update(scenario_figures(inst, plan.tables, plan.objective))
    if plan.status == "optimal":
        from .check import max_violation

        amount, constraint = max_violation(inst, plan.tables)
        summary.update({"max_violation": amount, "max_violation_constraint": constraint})
    from ..instance.scaling import scaling_warning

    warning = scaling_warning(inst)
    summary.update({
        "solver": solver,
        "solve_seconds": plan.solve_seconds,
        "years": list(inst.years),
        "units": {"money": inst.units.money, "capacity": inst.units.capacity},
        "warnings": [warning] if warning else [],
    })
    return summary


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


def refusal(out: Path) -> str | None:
    """Why ``out`` cannot take a results folder, or None: it must be absent, empty, or an
    earlier results folder (only the planner's own files, its report included), and
    writable; anything else is refused rather than deleted."""
    try:
        if not out.exists():
            parent = _nearest_existing(Path(os.path.abspath(out)).parent)
            if parent is not None and not os.access(parent, os.W_OK | os.X_OK):
                return f"cannot write results into {parent}: the folder is read-only"
            return None
        if not out.is_dir():
            return f"{out} exists and is not a folder"
        from ..report.html import REPORT_FILES

        ours = set(RESULT_FILES) | set(REPORT_FILES) | {VALUE_FILE}
        foreign = sorted(p.name for p in out.iterdir() if p.name not in ours and not p.name.startswith(_VALUE_STAGING))
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


def write_results(plan: Plan, out: Path) -> Path:
    """Write every file into a temporary folder beside ``out``, then swap it into place.

    ``out`` must be acceptable to :func:`refusal`. Whatever happens — a full disk, a
    read-only folder, an error, Ctrl-C, SIGTERM — ``out`` holds either the earlier
    results, untouched, or the new ones, complete, and no temporary folder is left
    behind (the exception says which). The swap itself holds a lock on
    ``<parent>/.<name>.lock`` (see :class:`FolderLock`), so two solves writing to the same
    folder at once end with one complete set of files; signals that arrive during the
    swap wait for it to finish.
    """
    out = out.resolve() if out.exists() else Path(os.path.abspath(out))
    refused = refusal(out)
    if refused:
        raise ResultsError(refused)
    intact = earlier_results_note(out)
    staging: Path | None = None
    swapped = False
    try:
        with _interruptible():
            try:
                out.parent.mkdir(parents=True, exist_ok=True)
                staging = _new_folder(out.parent, f".{out.name}.tmp-")
            except OSError as err:
                raise ResultsError(f"cannot write results next to {out}: {err.strerror or err}; {intact}") from None
            _write_files(plan, staging)
            with FolderLock(out):
                refused = refusal(out)  # another process may have changed it meanwhile
                if refused:
                    raise ResultsError(refused)
                _recover_stale(out)
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


def _write_files(plan: Plan, folder: Path) -> None:
    for name in TABLES:
        plan.tables[name].to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
    duals = plan.duals
    if duals is None:
        from ..solver.duals import empty_table

        duals = empty_table()
    duals.to_csv(folder / DUALS_FILE, index=False, lineterminator="\n")
    (folder / "summary.json").write_text(json.dumps(plan.summary, indent=2) + "\n", encoding="utf-8")


def _remove(folder: Path | None) -> None:
    if folder is not None and folder.exists():
        shutil.rmtree(folder, ignore_errors=True)


def _swap_into_place(staging: Path, out: Path) -> None:
    """Put ``staging`` at ``out``: atomically when the system can exchange two folders
    (Linux ``renameat2``), else by two renames, undoing the first if the second fails."""
    if not out.exists():
        os.replace(staging, out)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
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
    prefix = f".{out.name}.old-"
    for stale in sorted(p for p in out.parent.iterdir() if p.name.startswith(prefix) and p.is_dir()):
        if not out.exists():
            os.replace(stale, out)
        else:
            shutil.rmtree(stale, ignore_errors=True)


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


class FolderLock:
    """An exclusive lock (``fcntl.flock``) on ``<parent>/.<name>.lock`` for writing the
    folder ``<parent>/<name>``: beside the folder, never in it, and removed on release.

    A waiter that obtains the lock after its holder removed the file retries on the new
    file, so at most one process holds the lock of a folder at a time. Where ``fcntl``
    does not exist (Windows) the lock does nothing.
    """

    def __init__(self, folder: Path):
        folder = Path(os.path.abspath(folder))
        self.path = folder.parent / f".{folder.name}.lock"
        self.fd: int | None = None

    def __enter__(self) -> "FolderLock":
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return self
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
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


#: Prefix of the temporary file ``planner value`` writes beside value.json.
_VALUE_STAGING = f".{VALUE_FILE}.tmp-"


def write_text_file(target: Path, text: str) -> Path:
    """Write ``text`` to ``target`` (value.json) through a temporary file renamed into
    place, under the lock of ``target``'s folder: an interruption or a full disk leaves the
    earlier file intact and no temporary file behind. Raises ResultsError."""
    target = Path(os.path.abspath(target))
    staging = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=_VALUE_STAGING, dir=target.parent)
        staging = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        with FolderLock(target.parent), _deferred_signals():
            os.replace(staging, target)
    except OSError as err:
        if staging is not None:
            staging.unlink(missing_ok=True)
        earlier = "the earlier file is intact" if target.exists() else "nothing was written"
        raise ResultsError(f"cannot write {target}: {err.strerror or err}; {earlier}") from None
    except BaseException:
        if staging is not None:
            staging.unlink(missing_ok=True)
        raise
    return target
