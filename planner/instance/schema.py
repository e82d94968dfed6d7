"""The schema of an instance file (MODEL.md §1 and §5's ``scenarios``), as pydantic
models, with the checks that need more than one field; :class:`Instance` also answers the
small questions every layer asks (the planning years, what is committed, the discount
factor, the yardstick that values a unit of capacity or compute in money)."""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import PrivateAttr, BaseModel, ConfigDict, Field, StrictBool, field_validator

from .errors import clip, printable, show
from .series import (
    Amount,
    AmountSeries,
    Fraction,
    FractionSeries,
    PositiveSeries,
    Probability,
    Rate,
    Whole0,
    Whole1,
    YearPair,
)


#: Longest name (instance, workload, provider, contract, case, unit label).
MAX_NAME_CHARS = 100


# ---------------------------------------------------------------------------------------
# The instance format
# ---------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, frozen=False)


class Units(_Strict):
    """Labels shown in output; they do not change any number."""

    money: str = "money"
    capacity: str = "capacity"


class Workload(_Strict):
    """A kind of compute demand (training, inference, ...)."""

    demand: AmountSeries = Field(description="compute units needed per year")
    min_served: FractionSeries = Field(1.0, description="fraction of demand that must be served")
    revenue: AmountSeries = Field(0.0, description="money earned per compute unit served")


class Debt(_Strict):
    limit: AmountSeries = Field(0.0, description="largest allowed end-of-year debt")
    rate: Amount = Field(0.0, description="interest per year on the debt at the start of the year")
    initial: Amount = Field(0.0, description="debt before the first year")


class Finance(_Strict):
    initial_cash: Amount = Field(0.0, description="cash before the first year")
    min_cash: AmountSeries = Field(0.0, description="lowest allowed end-of-year cash")
    funding: AmountSeries = Field(0.0, description="equity inflows (not revenue)")
    base_revenue: AmountSeries = Field(0.0, description="revenue that does not depend on compute")
    other_costs: AmountSeries = Field(0.0, description="costs unrelated to compute")
    debt: Debt = Field(default={})


class Contract(_Strict):
    """A way to rent capacity: signed in year s, active for ``term`` years at the year-s price."""

    term: Whole1 = Field(description="years the contract runs")
    price: AmountSeries = Field(description="money per capacity unit per year, locked at signing")
    upfront: AmountSeries = Field(0.0, description="money per capacity unit, paid in the signing year")
    available: Optional[YearPair] = Field(
        None, description="first and last year it can be signed; default all years"
    )
    max_per_year: Optional[AmountSeries] = Field(None, description="most capacity signed in one year")


class Build(_Strict):
    """Capacity the planner pays to build and then owns."""

    initial: Amount = Field(0.0, description="owned capacity online before the first year")
    lead_time: Whole0 = Field(0, description="years from paying capex to being online")
    lifetime: Optional[Whole1] = Field(None, description="years online before retiring")
    max_per_year: Optional[AmountSeries] = Field(None, description="most new build started per year")
    capex: AmountSeries = Field(description="money per capacity unit, paid when the build starts")
    opex: AmountSeries = Field(0.0, description="money per online capacity unit per year")
    depreciation_years: Whole0 = Field(
        0, description="0: capex is a loss when paid; N: straight line over N years"
    )
    capex_in_loss: StrictBool = Field(True, description="false: capex is cash only, never a loss")


class Provider(_Strict):
    """A source of capacity: a cloud, a datacenter venture."""

    capacity: Optional[AmountSeries] = Field(None, description="most active capacity per year")
    efficiency: PositiveSeries = Field(1.0, description="compute units per capacity unit")
    workloads: Optional[list[str]] = Field(None, description="workloads allowed here; default all")
    existing: AmountSeries = Field(0.0, description="capacity contracted before the horizon")
    existing_cost: AmountSeries = Field(0.0, description="what the existing capacity costs per year")
    min_spend: Optional[AmountSeries] = Field(None, description="take-or-pay minimum charge per year")
    min_capacity: Optional[AmountSeries] = Field(None, description="least active capacity per year")
    min_share: Optional[FractionSeries] = Field(None, description="least share of all active capacity")
    max_share: Optional[FractionSeries] = Field(None, description="most share of all active capacity")
    max_decline: Optional[FractionSeries] = Field(
        None, description="most fraction by which active capacity may fall in a year"
    )
    contracts: dict[str, Contract] = Field(default_factory=dict)
    build: Optional[Build] = None

    @field_validator("workloads")
    @classmethod
    def _not_empty(cls, value):
        if value is not None and not value:
            raise ValueError("expected at least one workload name (omit the key to allow all)")
        return value


class Risk(_Strict):
    """How the cases' bad tail weighs in the objective (MODEL.md §5)."""

    alpha: Rate = Field(0.9, description="CVaR level, in [0, 1)")
    weight: Fraction = Field(0.0, description="λ: 0 expected value only, 1 CVaR only")


class Case(_Strict):
    """One case: the instance with some data replaced."""

    probability: Probability = Field(description="probability of the case, > 0")
    set: dict[str, Any] = Field(
        default_factory=dict, description="dotted path -> new value, validated as in the base"
    )


class Scenarios(_Strict):
    """Cases with probabilities, a plan committed for the first years, and risk (MODEL.md §5)."""

    commit_years: Optional[Whole0] = Field(
        None, description="signings and builds in the first N planning years are shared by every case; "
        "default: all planning years"
    )
    risk: Risk = Field(default={})
    cases: dict[str, Case] = Field(min_length=1)


class Instance(_Strict):
    """A compute procurement problem (MODEL.md §1)."""

    name: Optional[str] = Field(None, description="defaults to the file's stem")
    description: Optional[str] = None
    units: Units = Field(default={})
    years: YearPair = Field(description="first and last planning year, inclusive")
    objective: Literal["cumulative_loss", "peak_cumulative_loss"] = "cumulative_loss"
    discount_rate: Rate = Field(0.0, description="weights year t by (1+r)^-(t - first year)")
    workloads: dict[str, Workload] = Field(min_length=1)
    finance: Finance = Field(default={})
    providers: dict[str, Provider] = Field(min_length=1)
    scenarios: Optional[Scenarios] = Field(None, description="cases and risk (MODEL.md §5)")

    #: the case instances (name -> Instance, each without scenarios), when scenarios are given
    _cases: dict = PrivateAttr(default_factory=dict)

    @property
    def cases(self) -> dict[str, "Instance"]:
        """Each case's instance (the base with the case's ``set`` applied)."""
        return self._cases

    @property
    def commit_years(self) -> int:
        """How many first planning years' signings and builds every case shares."""
        n = self.scenarios.commit_years if self.scenarios else None
        return len(self.year_list) if n is None else n

    @property
    def year_list(self) -> list[int]:
        return list(range(self.years[0], self.years[1] + 1))

    @property
    def last_committed_year(self) -> int:
        """The last year whose signings and builds every case shares (MODEL.md §5):
        ``t0 + commit_years − 1`` (before ``t0`` when nothing is committed)."""
        return self.years[0] + self.commit_years - 1

    def committed(self, year: int) -> bool:
        """Signings and builds in ``year`` are one decision for every case."""
        return year <= self.last_committed_year

    def discount_factor(self, t: int) -> float:
        """``(1+r)^-(t-t0)``: the weight of year ``t`` in the discounted cumulative loss."""
        return (1.0 + self.discount_rate) ** -(t - self.years[0])

    def capacity_price(self) -> float:
        """The yardstick's price of one capacity unit-year: the median of every positive
        yearly price of a capacity unit in the instance (contract prices, existing cost
        per existing unit, and build capex spread over the depreciation years (or one
        year) plus opex). 1.0 when the instance has none."""
        prices = []
        for prov in self.providers.values():
            for contract in prov.contracts.values():
                prices += list(contract.price.values())
            prices += [cost / amount for cost, amount in zip(prov.existing_cost.values(), prov.existing.values())
                       if amount > 0]
            if prov.build is not None:
                years = max(1, prov.build.depreciation_years)
                prices += [capex / years + opex for capex, opex in zip(prov.build.capex.values(), prov.build.opex.values())]
        prices = sorted(p for p in prices if p > 0)
        return prices[len(prices) // 2] if prices else 1.0

    def typical_efficiency(self) -> float:
        """The yardstick's efficiency: the median of every provider's yearly efficiency."""
        efficiencies = sorted(e for prov in self.providers.values() for e in prov.efficiency.values())
        return efficiencies[len(efficiencies) // 2] if efficiencies else 1.0

    def unit_values(self) -> dict[str, float]:
        """The yardstick: what one unit of each kind is worth in money, so that amounts in
        different units compare (the diagnosis' slack weights, the ranking of shadow
        prices). A money unit is worth 1, a capacity unit :meth:`capacity_price`, a
        compute unit that price over :meth:`typical_efficiency`."""
        price = self.capacity_price()
        return {"money": 1.0, "capacity": price, "compute": price / self.typical_efficiency()}

    def allowed_workloads(self, provider: str) -> list[str]:
        """``W_p``: workloads allowed on ``provider``, in the instance's workload order."""
        listed = self.providers[provider].workloads
        return [w for w in self.workloads if listed is None or w in listed]

    def signing_years(self, provider: str, contract: str) -> list[int]:
        """``S_k``: the years contract ``contract`` of ``provider`` can be signed."""
        window = self.providers[provider].contracts[contract].available
        years = self.year_list
        return years if window is None else [y for y in years if window[0] <= y <= window[1]]


# ---------------------------------------------------------------------------------------
# Checks that need more than one field
# ---------------------------------------------------------------------------------------


def _name_problem(name: Any, may_be_empty: bool = False) -> str | None:
    """Why ``name`` cannot name something (it is printed in tables and messages), or None."""
    if not name and not may_be_empty:
        return "expected a name, got an empty one"
    if len(name) > MAX_NAME_CHARS:
        return f"expected a name of at most {MAX_NAME_CHARS} characters, got {len(name):,}"
    if not name.isprintable():
        return f"expected a name without control characters (newlines, tabs), got {show(name)}"
    return None


def _names(inst: Instance):
    """``(path, name, may be empty)`` of every name: the labels and every mapping's keys."""
    if inst.name is not None:
        yield "name", inst.name, True
    yield "units.money", inst.units.money, True
    yield "units.capacity", inst.units.capacity, True
    for w in inst.workloads:
        yield f"workloads.{_key(w)}", w, False
    for p, prov in inst.providers.items():
        yield f"providers.{_key(p)}", p, False
        for k in prov.contracts:
            yield f"providers.{_key(p)}.contracts.{_key(k)}", k, False
    if inst.scenarios is not None:
        for n in inst.scenarios.cases:
            yield f"scenarios.cases.{_key(n)}", n, False


def _key(name: str) -> str:
    """A mapping key as it reads in a dotted path: ``''`` when empty, clipped when long."""
    return clip(printable(name), 40) if name else "''"


def cross_checks(inst: Instance) -> list[tuple[str, str]]:
    problems = [(path, problem) for path, name, empty in _names(inst) if (problem := _name_problem(name, empty))]
    first, last = inst.years
    for pname, prov in inst.providers.items():
        for w in prov.workloads or []:
            if w not in inst.workloads:
                known = ", ".join(inst.workloads)
                problems.append((f"providers.{pname}.workloads", f"unknown workload {w!r} (defined: {known})"))
        if len(set(prov.workloads or [])) != len(prov.workloads or []):
            problems.append((f"providers.{pname}.workloads", "a workload is listed more than once"))
        for kname, contract in prov.contracts.items():
            path = f"providers.{pname}.contracts.{kname}"
            if kname == "build":
                problems.append((path, "the contract name 'build' is reserved for owned capacity"))
            if contract.available is not None:
                a, b = contract.available
                if b < a:
                    problems.append((f"{path}.available", f"last year {b} is before first year {a}"))
                elif a < first or b > last:
                    problems.append(
                        (f"{path}.available", f"[{a}, {b}] is outside the planning years [{first}, {last}]")
                    )
    return problems
