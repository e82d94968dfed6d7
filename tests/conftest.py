"""Shared helpers for the validation and CLI tests: a small valid instance and a writer.

Hypothesis draws the same examples on every run (profile ``repeatable``), so that the
suite passes or fails for the code, not for the draw; ``HYPOTHESIS_PROFILE=explore``
draws new ones each run, to look for new failures (see docs/development.md, "Tests").
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import settings

settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

#: A small valid, feasible instance (3 years, 2 workloads, a rented and a built provider).
BASE = {
    "name": "small",
    "years": [2025, 2027],
    "finance": {"initial_cash": 100.0},
    "workloads": {
        "training": {"demand": {2025: 1.0, "2026-2027": 2.0}, "min_served": 1.0},
        "inference": {"demand": 3.0, "min_served": 0.0, "revenue": 5.0},
    },
    "providers": {
        "microsoft": {
            "capacity": 10.0,
            "workloads": ["training", "inference"],
            "contracts": {
                "on_demand": {"term": 1, "price": 5.0},
                "reserved_3y": {"term": 3, "price": 3.5, "available": [2025, 2026]},
            },
        },
        "stargate": {"build": {"capex": 10.0, "lead_time": 1, "opex": 1.0}},
    },
}


@pytest.fixture
def base() -> dict:
    """A fresh deep copy of :data:`BASE`, free to mutate."""
    return copy.deepcopy(BASE)


def write_yaml(folder: Path, data, name: str = "instance.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def char_device(tmp_path) -> Path:
    """A character device of the test's own (a copy of /dev/null's numbers made with
    mknod in ``tmp_path``), so a test that must not replace a device never risks the
    system's /dev/null. Skipped where mknod is not allowed (not root, no CAP_MKNOD)."""
    import os
    import stat

    node = tmp_path / "device"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, OSError) as err:
        pytest.skip(f"cannot make a device node here ({err.strerror or err})")
    return node
