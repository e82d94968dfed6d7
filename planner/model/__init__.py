"""The model layer, built from an instance: MODEL.md §2 as a Pyomo model (``lp``), the
extensive form over cases and the second stage of §5 (``stochastic``), the diagnosis
model of §4 (``elastic``), and the table of constraint families they build (``families``).
Imports only :mod:`planner.instance`."""
