"""The report layer: ``report.html`` and the charts of a results folder. ``style`` (the
one chart style, also sweep.png's), ``folder`` (reading a results folder into
``Results``), ``measures``, ``charts``, ``findings`` (the text; what binds) and ``html``
(the page, ``write_report``). Imports :mod:`planner.results` (and the layers below)."""
