"""Dotted paths into an instance (``providers.stargate.capacity``): which ones a case's
``set`` or a sweep's ``--vary`` may change (MODEL.md §5), the value at one, and setting one."""

from __future__ import annotations

from typing import Any

from .schema import Instance


#: What a case's ``set`` may replace (MODEL.md §5), by where the field sits.
SETTABLE = {
    "workloads": {"demand", "min_served", "revenue"},
    "finance": {"initial_cash", "min_cash", "funding", "base_revenue", "other_costs"},
    "debt": {"limit", "rate", "initial"},
    "providers": {"capacity", "efficiency", "existing", "existing_cost", "min_spend", "min_capacity",
                  "min_share", "max_share", "max_decline"},
    "contracts": {"price", "upfront", "max_per_year"},
    "build": {"initial", "max_per_year", "capex", "opex"},
}
FIXED_ACROSS_CASES = {"years", "objective", "discount_rate", "term", "available", "workloads", "lead_time",
                      "lifetime", "depreciation_years", "capex_in_loss", "name", "description", "units",
                      "scenarios", "contracts", "build"}


def settable_target(inst: Instance, path: str) -> tuple[list[str], str | None]:
    """Check a ``set`` path against the base; return its parts, or a reason it is refused."""
    parts = path.split(".")
    last = parts[-1]
    if last in FIXED_ACROSS_CASES or parts[0] in FIXED_ACROSS_CASES - {"workloads"}:
        return parts, f"{last!r} may not change between cases (MODEL.md §5)"
    head = parts[0]
    if head == "workloads" and len(parts) == 3:
        if parts[1] not in inst.workloads:
            return parts, f"unknown workload {parts[1]!r}: a case may not add workloads"
        return parts, None if last in SETTABLE["workloads"] else f"{last!r} is not a workload field a case can set"
    if head == "finance" and len(parts) == 2:
        return parts, None if last in SETTABLE["finance"] else f"{last!r} is not a finance field a case can set"
    if head == "finance" and len(parts) == 3 and parts[1] == "debt":
        return parts, None if last in SETTABLE["debt"] else f"{last!r} is not a debt field a case can set"
    if head == "providers" and len(parts) >= 3:
        prov = inst.providers.get(parts[1])
        if prov is None:
            return parts, f"unknown provider {parts[1]!r}: a case may not add providers"
        if len(parts) == 3:
            return parts, None if last in SETTABLE["providers"] else f"{last!r} is not a provider field a case can set"
        if len(parts) == 5 and parts[2] == "contracts":
            if parts[3] not in prov.contracts:
                return parts, f"unknown contract {parts[3]!r} of {parts[1]}: a case may not add contracts"
            return parts, None if last in SETTABLE["contracts"] else f"{last!r} is not a contract field a case can set"
        if len(parts) == 4 and parts[2] == "build":
            if prov.build is None:
                return parts, f"{parts[1]} has no build: a case may not add one"
            return parts, None if last in SETTABLE["build"] else f"{last!r} is not a build field a case can set"
    return parts, "not a field a case can set (expected e.g. workloads.inference.demand, finance.funding, " \
                  "providers.stargate.capacity, providers.microsoft.contracts.on_demand.price)"


def field_value(inst: Instance, path: str) -> Any:
    """The resolved value at a dotted ``path`` (as a case's ``set`` takes) of a validated
    instance: a series ``{year: number}``, a number, or None when the instance does not
    give it."""
    obj: Any = inst
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def set_along(data: dict, parts: list[str], value: Any) -> None:
    """Set ``value`` at the path ``parts`` of ``data`` (a copy of a document's top level),
    copying each mapping on the way down: the document ``data`` was copied from stays as
    it was, and what the path does not reach is shared with it."""
    target = data
    for part in parts[:-1]:
        child = target.get(part)
        target[part] = dict(child) if isinstance(child, dict) else {}
        target = target[part]
    target[parts[-1]] = value
