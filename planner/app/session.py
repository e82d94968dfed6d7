"""What the app computes, without the page: one instance, its controls, and the plan of
each variant (``planner app``).

:class:`Explorer` loads the instance once, builds one
:class:`planner.solver.parametric.ParametricProgram` with every control's field as a
mutable Param, and solves each variant on it (a fresh :func:`planner.solver.highs.solve`
where a variant cannot be solved in place). One solve runs at a time (a lock); a variant
with no plan gets :func:`planner.solver.diagnosis.diagnose`'s words; a solve that fails
in any other way gives a message, never an exception out of :meth:`Explorer.view`.
"""

from __future__ import annotations

import io
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..instance.errors import InstanceError
from ..instance.loading import load_document, validate_instance
from ..instance.schema import Instance
from ..sweep.run import apply_changes
from .controls import Control, ControlError, changes, controls_from_vary, default_controls
from .variant_file import variant_yaml

#: Seconds one variant's solve may take (the diagnosis of a variant with no plan too).
TIME_LIMIT = 30.0


@dataclass
class View:
    """One variant as the page shows it: ``status`` optimal / infeasible / refused /
    error; the plan when optimal; ``message`` (the diagnosis, the refusal, the error)."""

    status: str
    values: dict[str, float]
    plan: Any = None
    message: str = ""
    seconds: float = 0.0
    changed: list[tuple[str, Any]] = field(default_factory=list)


class Explorer:
    """The instance at ``path`` and its controls (``vary``: ``--vary`` texts; none: the
    defaults of :func:`planner.app.controls.default_controls`)."""

    def __init__(self, path: Path, vary: Sequence[str] = ()):
        self.path = Path(path)
        document = load_document(self.path)
        self.data, self.instance, self.text = dict(document.data), document.instance, document.text
        if self.instance.scenarios is not None:
            raise InstanceError([("scenarios", "planner app explores an instance without scenarios; "
                                  "remove the scenarios block or pick one case's numbers")], source=str(self.path))
        self.controls: list[Control] = (controls_from_vary(self.instance, vary) if vary
                                        else default_controls(self.instance))
        self.lock = threading.Lock()
        self.program = self._build_program()
        self.base = self.view(self.base_values())

    def _build_program(self):
        from ..solver.parametric import NotParametric, ParametricProgram

        paths = list(dict.fromkeys(c.path for c in self.controls))
        try:
            return ParametricProgram(self.instance, paths)
        except NotParametric:
            return None

    @property
    def name(self) -> str:
        return self.instance.name

    def base_values(self) -> dict[str, float]:
        return {c.key: c.base for c in self.controls}

    def checked(self, values: dict[str, Any]) -> dict[str, float]:
        """Every control's value, checked against its range (:class:`ControlError`)."""
        return {c.key: c.check(values.get(c.key, c.base)) for c in self.controls}

    def variant(self, values: dict[str, float]) -> tuple[Instance, list]:
        """The validated variant instance of ``values`` and its changes."""
        changed = changes(self.instance, self.controls, values)
        inst = validate_instance(apply_changes(self.data, changed), name=self.name, check_size=False)
        return inst, changed

    def view(self, values: dict[str, Any]) -> View:
        """Solve the variant of ``values`` (one solve at a time) and say what came of it."""
        started = time.perf_counter()
        try:
            checked = self.checked(values)
        except ControlError as err:
            return View("refused", dict(values), message=str(err))
        with self.lock:
            try:
                inst, changed = self.variant(checked)
                view = self._solve(inst, checked, changed)
            except InstanceError as err:
                view = View("refused", checked, message="This variant is not a valid instance: " + err.render())
            except Exception as err:  # noqa: BLE001 - one failed solve must not end the app
                view = View("error", checked, message=f"The solve failed ({type(err).__name__}: {err}); "
                            "the app keeps running: change a control to try again.")
        view.seconds = time.perf_counter() - started
        return view

    def _solve(self, inst: Instance, values: dict[str, float], changed: list) -> View:
        from ..solver.diagnosis import diagnose
        from ..solver.highs import solve
        from ..solver.parametric import NotParametric

        plan = None
        if self.program is not None:
            try:
                plan = self.program.plan(inst, TIME_LIMIT)
            except NotParametric:
                plan = None
        if plan is None:
            plan = solve(inst, time_limit=TIME_LIMIT)
        if plan.status == "optimal":
            return View("optimal", values, plan=plan, changed=changed)
        if plan.status == "infeasible":
            return View("infeasible", values, changed=changed, message=diagnose(inst, TIME_LIMIT).render())
        return View("error", values, changed=changed, message=f"No plan: the solver says {plan.status}.")

    # -- downloads ----------------------------------------------------------------------

    def variant_file(self, values: dict[str, Any]) -> tuple[str, str]:
        """``(file name, YAML text)`` of the variant: the base file with the changed fields."""
        checked = self.checked(values)
        changed = changes(self.instance, self.controls, checked)
        return f"{self.name}-variant.yaml", variant_yaml(self.text, changed, self.instance)

    def results_zip(self, values: dict[str, Any]) -> tuple[str, bytes]:
        """``(file name, zip bytes)`` of the variant's results folder, written by the
        results writer into a temporary folder. ControlError / ValueError when no plan."""
        view = self.view(values)
        if view.status != "optimal":
            raise ValueError(view.message or f"no plan ({view.status})")
        name = f"{self.name}-variant"
        with tempfile.TemporaryDirectory(prefix="planner-app-") as tmp:
            folder = view.plan.write(Path(tmp) / name)
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for file in sorted(folder.rglob("*")):
                    if file.is_file():
                        archive.write(file, f"{name}/{file.relative_to(folder).as_posix()}")
        return f"{name}.zip", buffer.getvalue()
