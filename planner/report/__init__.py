"""The report layer: charts, findings and ``report.html`` of a results folder.
Imports :mod:`planner.results` (and the layers below)."""
