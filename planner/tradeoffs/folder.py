"""Writing a frontier or alternatives folder: its table, summary, chart and (``--plans``)
one results folder per plan, all staged beside the target and swapped into place at once
(:func:`planner.results.folder.write_folder`), so an earlier folder survives any failure."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..results.files import (
    ALTERNATIVES_CSV, ALTERNATIVES_FILES, ALTERNATIVES_JSON, ALTERNATIVES_PNG, FRONTIER_CSV, FRONTIER_FILES,
    FRONTIER_JSON, FRONTIER_PNG, PLANS_FOLDER,
)
from ..results.folder import csv_text, write_folder, write_plan_files


def write_frontier(result, out: Path, chart: bool = True) -> Path:
    """frontier.csv, frontier.json, frontier.png and plans/point-NN/ (when kept)."""

    def fill(staging: Path) -> None:
        _write_table(staging, FRONTIER_CSV, FRONTIER_JSON, result.table, result.meta)
        for row, plan in zip(result.rows, result.plans):
            _write_plan(staging, f"point-{row['point']:02d}", plan)
        if chart:
            from ..report.tradeoffs import render_frontier_chart

            (staging / FRONTIER_PNG).write_bytes(render_frontier_chart(staging))

    return write_folder(out, fill, FRONTIER_FILES, (PLANS_FOLDER,))


def write_alternatives(result, out: Path, chart: bool = True) -> Path:
    """alternatives.csv, alternatives.json, alternatives.png and
    plans/<provider>-<extreme>/ (when kept)."""
    names = plan_names(result.meta.get("providers", []))

    def fill(staging: Path) -> None:
        _write_table(staging, ALTERNATIVES_CSV, ALTERNATIVES_JSON, result.table, result.meta)
        for (provider, extreme), plan in result.plans.items():
            _write_plan(staging, f"{names[provider]}-{extreme}", plan)
        if chart:
            from ..report.tradeoffs import render_alternatives_chart

            (staging / ALTERNATIVES_PNG).write_bytes(render_alternatives_chart(staging))

    return write_folder(out, fill, ALTERNATIVES_FILES, (PLANS_FOLDER,))


def plan_names(providers) -> dict[str, str]:
    """Each provider's name as one safe, distinct folder-name part."""
    names: dict[str, str] = {}
    for i, p in enumerate(providers):
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", p).strip(".") or "provider"
        names[p] = safe if safe not in names.values() else f"{safe}-{i + 1}"
    return names


def _write_table(staging: Path, csv_name: str, json_name: str, table, meta: dict) -> None:
    with open(staging / csv_name, "w", encoding="utf-8", newline="") as file:
        file.write(csv_text(table))
    (staging / json_name).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def _write_plan(staging: Path, name: str, plan) -> None:
    folder = staging / PLANS_FOLDER / name
    folder.mkdir(parents=True)
    write_plan_files(plan, folder)
