"""``planner app``: a what-if explorer in the browser (Dash), the layer above report,
solver and sweep; nothing below imports it. docs/app.md says why Dash and how it is safe."""
