"""The solver layer: the hand-off to HiGHS, the second stage, shadow prices, the
infeasibility diagnosis, the value of information, parametric re-solves and LP export.
Imports :mod:`planner.instance`, :mod:`planner.model` and :mod:`planner.results`."""
