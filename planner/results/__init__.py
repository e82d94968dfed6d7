"""The results layer: the plan's tables and summary, the files of a results folder, the
independent check. Imports :mod:`planner.instance` and :mod:`planner.model`."""
