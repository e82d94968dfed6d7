"""The results layer: every file the planner writes and the one reader of them
(``files``), the plan and its tables (``tables``), summary.json (``summary``), writing a
results folder and its lock (``folder``), the one safe write of a single file
(``safe_write``), the independent check (``check``) and the one ranking of what binds
(``binding``). Imports :mod:`planner.instance` and :mod:`planner.model`."""
