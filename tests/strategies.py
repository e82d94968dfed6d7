"""Hypothesis strategies: random valid instances (as plain dicts, the way a file reads)."""

from __future__ import annotations

from hypothesis import strategies as st

money = st.floats(min_value=0.0, max_value=20.0, allow_nan=False).map(lambda x: round(x, 3))
small = st.floats(min_value=0.0, max_value=5.0, allow_nan=False).map(lambda x: round(x, 3))
fraction = st.floats(min_value=0.0, max_value=1.0, allow_nan=False).map(lambda x: round(x, 3))


@st.composite
def series(draw, years, values=money, optional=False):
    """A yearly series: a number, or a mapping using single years and ranges."""
    if optional and draw(st.booleans()):
        return None
    if draw(st.booleans()):
        return draw(values)
    first, last = years
    mapping, year = {}, first
    while year <= last:
        end = draw(st.integers(min_value=year, max_value=last))
        key = year if end == year else f"{year}-{end}"
        mapping[key] = draw(values)
        year = end + 1
    return mapping


@st.composite
def rare(draw, strategy):
    """``strategy``'s value one time in four, else None (keeps most instances feasible)."""
    return draw(strategy) if draw(st.integers(0, 3)) == 0 else None


def _put(target: dict, key: str, value) -> None:
    if value is not None:
        target[key] = value


@st.composite
def contract(draw, years):
    first, last = years
    c = {"term": draw(st.integers(min_value=1, max_value=4)), "price": draw(series(years, money))}
    _put(c, "upfront", draw(series(years, small, optional=True)))
    _put(c, "max_per_year", draw(series(years, small, optional=True)))
    if draw(st.booleans()):
        a = draw(st.integers(min_value=first, max_value=last))
        c["available"] = [a, draw(st.integers(min_value=a, max_value=last))]
    return c


@st.composite
def build(draw, years):
    b = {
        "capex": draw(series(years, money)),
        "lead_time": draw(st.integers(min_value=0, max_value=2)),
        "depreciation_years": draw(st.integers(min_value=0, max_value=3)),
        "capex_in_loss": draw(st.booleans()),
    }
    _put(b, "initial", draw(st.one_of(st.none(), small)))
    _put(b, "lifetime", draw(st.one_of(st.none(), st.integers(min_value=1, max_value=3))))
    _put(b, "max_per_year", draw(series(years, small, optional=True)))
    _put(b, "opex", draw(series(years, small, optional=True)))
    return b


@st.composite
def provider(draw, years, workload_names, fallback=False):
    """``fallback``: a provider that can always rent capacity for every workload."""
    p: dict = {}
    if not fallback:
        _put(p, "capacity", draw(series(years, st.floats(min_value=0, max_value=30).map(lambda x: round(x, 3)), optional=True)))
    _put(p, "efficiency", draw(series(years, st.floats(min_value=0.25, max_value=4).map(lambda x: round(x, 3)), optional=True)))
    if not fallback and draw(st.booleans()):
        p["workloads"] = draw(st.lists(st.sampled_from(workload_names), min_size=1, unique=True))
    _put(p, "existing", draw(series(years, small, optional=True)))
    _put(p, "existing_cost", draw(series(years, money, optional=True)))
    _put(p, "min_spend", draw(rare(series(years, money))))
    _put(p, "min_capacity", draw(rare(series(years, st.floats(0, 2).map(lambda x: round(x, 3))))))
    _put(p, "min_share", draw(rare(series(years, st.floats(0, 0.4).map(lambda x: round(x, 3))))))
    _put(p, "max_share", draw(rare(series(years, st.floats(0.5, 1).map(lambda x: round(x, 3))))))
    _put(p, "max_decline", draw(rare(series(years, fraction))))
    names = draw(st.lists(st.sampled_from(["spot", "reserved", "lease"]), min_size=0, max_size=3, unique=True))
    if names:
        p["contracts"] = {name: draw(contract(years)) for name in names}
    if fallback:
        p.setdefault("contracts", {})["on_demand"] = {"term": 1, "price": draw(series(years, money))}
    if draw(st.booleans()):
        p["build"] = draw(build(years))
    return p


@st.composite
def instances(draw):
    first = draw(st.integers(min_value=2025, max_value=2027))
    years = (first, first + draw(st.integers(min_value=0, max_value=3)))
    workload_names = draw(st.lists(st.sampled_from(["training", "inference", "research"]), min_size=1, max_size=3, unique=True))
    workloads = {}
    for w in workload_names:
        wl = {"demand": draw(series(years, small))}
        _put(wl, "min_served", draw(series(years, fraction, optional=True)))
        _put(wl, "revenue", draw(series(years, money, optional=True)))
        workloads[w] = wl
    provider_names = draw(st.lists(st.sampled_from(["microsoft", "stargate", "oracle"]), min_size=1, max_size=3, unique=True))
    finance = {
        "initial_cash": draw(st.floats(50, 300).map(lambda x: round(x, 2))),
        "debt": {
            "limit": draw(series(years, money)),
            "rate": draw(st.floats(0, 0.2).map(lambda x: round(x, 3))),
            "initial": draw(small),
        },
    }
    _put(finance, "min_cash", draw(rare(series(years, small))))
    _put(finance, "funding", draw(series(years, money, optional=True)))
    _put(finance, "base_revenue", draw(series(years, small, optional=True)))
    _put(finance, "other_costs", draw(series(years, small, optional=True)))
    return {
        "name": "random",
        "years": list(years),
        "objective": draw(st.sampled_from(["cumulative_loss", "peak_cumulative_loss"])),
        "discount_rate": draw(st.sampled_from([0.0, 0.05, 0.1])),
        "workloads": workloads,
        "finance": finance,
        "providers": {
            p: draw(provider(years, workload_names, fallback=(i == 0))) for i, p in enumerate(provider_names)
        },
    }
