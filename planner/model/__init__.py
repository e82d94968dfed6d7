"""The model layer: MODEL.md §2 as a Pyomo model (``lp``), built from an instance.
Imports only :mod:`planner.instance`."""
