"""The sweep layer: many variants of one instance, solved in parallel, summarised and
charted. Imports :mod:`planner.solver`, :mod:`planner.report` and the layers below."""
