"""The instance layer: the instance file's schema, its yearly series, dotted paths into
it, and loading (MODEL.md §1, §5's ``set``). Imports nothing else of the planner."""
