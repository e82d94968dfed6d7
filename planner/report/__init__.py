"""The report layer: ``report.html`` and the charts of a results folder. ``style`` (the
one chart style, also sweep.png's), ``folder`` (reading a results folder into
``Results``), ``measures``, ``charts``, ``findings`` (the text; what binds), ``html``
(the page, ``write_report``) and ``tradeoffs`` (a frontier or alternatives folder's
chart and page). Imports :mod:`planner.results` (and the layers below)."""
