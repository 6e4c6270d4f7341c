"""Typed schema of a scenario file.

Each section of a scenario YAML is a frozen pydantic model with
``extra="forbid"``, so an unknown key is an error naming its path. Field
descriptions say what a number means; the numbers themselves, and their
sources, live in ``scenarios/baseline.yaml``. See ``docs/scenario.md`` for a
walk through every key.
"""

from __future__ import annotations

import functools
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator

from sim.channel_schema import Channels
from sim.expressions import Expression, ExpressionError
from sim.population import FIELDS
from sim.population import Population as _PopulationTable

#: Names a label may not take: the population table's own attributes.
RESERVED_NAMES = frozenset(dir(_PopulationTable))

__all__ = [
    "DRIVERS",
    "Channels",
    "Economics",
    "Lifecycle",
    "Market",
    "Population",
    "Response",
    "Scenario",
    "Segments",
    "Stage",
    "StrategySpec",
    "Tier",
]

#: Most customers, prospects or arrivals a month a scenario may have.
MAX_PEOPLE = 1_000_000_000
#: Most branches (the largest banks have about 16,000).
MAX_BRANCHES = 100_000

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
#: Whole numbers: ``true`` is not 1 and ``"3"`` is not 3.
Count = Annotated[int, Strict()]

#: Drivers that may shift a transition's log-odds (ARCHITECTURE decision 2).
#: Each is centred so that zero means "typical": see :mod:`sim.lifecycle`.
DRIVERS = (
    "satisfaction", "share_of_wallet", "price_gap", "contact", "wait", "complaints", "products"
)
DriverName = Literal[
    "satisfaction", "share_of_wallet", "price_gap", "contact", "wait", "complaints", "products"
]
SEGMENT_NAMES = ("A", "B", "C", "D")


@functools.lru_cache(maxsize=1024)
def _expression(text: str, names: frozenset[str],
                categories: tuple[tuple[str, tuple[str, ...]], ...]) -> Expression:
    """An expression, parsed and checked once per text and names (an expression is immutable).

    A sweep validates the same labels at each of its points: parsing them was half the
    cost of checking a point. A refused expression is not kept: it raises each time.
    """
    return Expression(text, names, dict(categories))


class _Section(BaseModel):
    # Python's regular expressions, as sim.scenario.default_name uses: the default engine's
    # \w differs from Python's on some letters (², ½), so a name made from a file name
    # could be refused
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False,
                              regex_engine="python-re")


class Stage(_Section):
    """One lifecycle stage (DOMAIN §1)."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    label: str = ""
    role: Literal["prospect", "customer", "absorbing"]
    wallet_share: Probability = Field(
        1.0, description="fraction of a customer's propensity share of wallet held in this stage"
    )


class Lifecycle(_Section):
    """Stages, the base monthly transition matrix and driver effects."""

    stages: list[Stage] = Field(min_length=2, max_length=100)
    transitions: dict[str, dict[str, Probability]]
    driver_effects: dict[str, dict[DriverName, float]] = Field(default_factory=dict)
    driver_reference: dict[DriverName, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> Lifecycle:
        names = [s.name for s in self.stages]
        problems = []
        if len(set(names)) != len(names):
            problems.append(f"stages: names must be unique, got {names}")
        roles = {s.name: s.role for s in self.stages}
        if "absorbing" not in roles.values():
            problems.append("stages: at least one stage must have role 'absorbing'")
        if "customer" not in roles.values():
            problems.append("stages: at least one stage must have role 'customer'")
        for src, row in self.transitions.items():
            if src not in roles:
                problems.append(f"transitions.{src}: unknown stage; expected one of {names}")
                continue
            if roles[src] == "absorbing" and any(p > 0 for p in row.values()):
                problems.append(f"transitions.{src}: an absorbing stage cannot be left")
            for dst in row:
                if dst not in roles:
                    problems.append(
                        f"transitions.{src}.{dst}: unknown stage; expected one of {names}"
                    )
                elif dst == src:
                    problems.append(
                        f"transitions.{src}.{dst}: staying is implied (1 - sum of the row); omit it"
                    )
            total = sum(row.values())
            if total > 1.0 + 1e-12:
                problems.append(
                    f"transitions.{src}: probabilities sum to {total:.4g}; expected <= 1"
                )
        for key, effects in self.driver_effects.items():
            src, sep, dst = key.partition("->")
            src, dst = src.strip(), dst.strip()
            if not sep or src not in roles or dst not in roles:
                problems.append(
                    f"driver_effects.{key}: expected 'from->to' with stage names from {names}"
                )
            elif self.transitions.get(src, {}).get(dst, 0.0) <= 0.0 and any(effects.values()):
                problems.append(
                    f"driver_effects.{key}: transition has zero base probability; "
                    "driver effects shift log-odds and cannot create a transition"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def stage_names(self) -> list[str]:
        """Stage names in order."""
        return [s.name for s in self.stages]


class AgeDist(_Section):
    """Age in years: a normal distribution clipped to ``[min, max]``."""

    mean: float = Field(ge=0, le=120)
    sd: NonNegative
    min: float = Field(18.0, ge=0)
    max: float = Field(90.0, le=120)


class WealthDist(_Section):
    """Total financial wealth (all banks), lognormal; the log-median rises with age."""

    median_at_30: Positive
    growth_per_year_of_age: float = Field(0.0, ge=-1, le=1)
    peak_age: float = Field(60.0, ge=18, le=120)
    sigma: NonNegative


class BetaDist(_Section):
    """A beta-distributed share in (0, 1): mean and concentration (a + b)."""

    mean: float = Field(gt=0, lt=1)
    concentration: Positive


class ShareOfWalletDist(BetaDist):
    """Share of wallet propensity; wealthier customers spread across more banks."""

    wealth_effect: float = Field(0.0, description="change in logit(mean) per log of wealth/median")
    age_effect: float = Field(0.0, description="change in logit(mean) per year of age above 40")


class DigitalDist(_Section):
    """Digital adoption in (0, 1): logistic in age with individual noise."""

    logit_at_30: float
    age_slope: float
    noise_sd: NonNegative = 1.0


class ChannelUtility(_Section):
    """Multinomial-logit utility of preferring a channel."""

    intercept: float
    digital: float = 0.0
    age: float = Field(0.0, description="utility per year of age above 40")


class PriceSensitivityDist(BetaDist):
    """Price sensitivity in (0, 1); rises with the share of wealth held elsewhere."""

    elsewhere_effect: float = 0.0


class ActivityDist(_Section):
    """Monthly transactions: mean rate rises with digital adoption."""

    base_per_month: NonNegative
    digital_effect: float = 0.0
    payment_share: Probability = Field(
        0.5, description="share of transactions that are payments (for labels, DOMAIN §6)"
    )


class Population(_Section):
    """Initial customers and prospects, with attribute distributions (DOMAIN §2)."""

    # upper bounds: NumPy's sizes and draws are 64-bit (10**20 customers was an
    # OverflowError traceback); a billion is twenty times the largest bank measured
    size: Count = Field(ge=1, le=MAX_PEOPLE,
                        description="customers (non-prospect, non-absorbing) at month 0")
    prospects: Count = Field(0, ge=0, le=MAX_PEOPLE,
                             description="prospects in the prospect stage at month 0")
    initial_stages: dict[str, Probability]
    age: AgeDist
    total_wealth: WealthDist
    share_of_wallet: ShareOfWalletDist
    digital_adoption: DigitalDist
    channel_preference: dict[str, ChannelUtility] = Field(min_length=1)
    price_sensitivity: PriceSensitivityDist
    satisfaction: BetaDist
    activity: ActivityDist
    branches: Count = Field(1, ge=1, le=MAX_BRANCHES)
    products_mean: NonNegative = 1.5

    @model_validator(mode="after")
    def _check(self) -> Population:
        total = sum(self.initial_stages.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"initial_stages: shares sum to {total:.4g}; expected 1")
        if self.age.min > self.age.max:
            raise ValueError("age.min: must not exceed age.max")
        return self


class Market(_Section):
    """The market around the bank: prospects, wealth drift and competitor prices."""

    prospect_arrivals_per_month: NonNegative = Field(le=MAX_PEOPLE)  # a Poisson mean
    arrival_stage: str
    arrival_age: AgeDist | None = Field(
        None, description="age of arriving prospects; defaults to population.age"
    )
    wealth_growth_annual: float = Field(ge=-0.5, le=0.5)
    wealth_volatility_annual: float = Field(ge=0, le=2)
    bank_yield: float = Field(ge=0, le=1)
    competitor_yield: float = Field(ge=0, le=1)


class Response(_Section):
    """How satisfaction and share of wallet respond each month."""

    satisfaction_adjustment: Probability
    satisfaction_noise: NonNegative
    satisfaction_price_gap_effect: float = 0.0
    wallet_adjustment: Probability
    wallet_satisfaction_effect: float = 0.0
    wallet_price_gap_effect: float = 0.0
    satisfaction_wait_effect: float = Field(
        0.0, description="change in target satisfaction per minute of wait above tolerance")
    wait_tolerance_minutes: NonNegative = Field(
        5.0, description="waits up to this cost no satisfaction (REF: 3-5 minutes acceptable)")
    satisfaction_complaint_effect: float = Field(
        0.0, description="change in target satisfaction per complaint (late ones count more)")


class Segments(_Section):
    """A/B/C/D classes on current value (AUM) × potential value (DOMAIN §2)."""

    every_months: Count = Field(1, ge=1)
    current_value_threshold: NonNegative
    potential_threshold: Probability
    potential_weights: dict[Literal["youth", "digital_adoption", "wealth_elsewhere"], NonNegative]

    @model_validator(mode="after")
    def _check(self) -> Segments:
        if sum(self.potential_weights.values()) <= 0:
            raise ValueError("potential_weights: expected at least one positive weight")
        return self


class Tier(_Section):
    """An AUM tier with its lower bound in CNY (DOMAIN §3)."""

    name: str
    min_aum: NonNegative


class Economics(_Section):
    """Revenue and cost parameters in CNY (DOMAIN §2, §4)."""

    aum_margin_annual: float = Field(ge=0, le=1)
    fee_per_product_month: NonNegative
    servicing_cost_per_month: dict[str, NonNegative]
    transaction_cost_per_10k: dict[str, NonNegative]
    acquisition_cost: NonNegative


class Target(_Section):
    """Who a strategy may treat: every condition given must hold (DOMAIN §6 IDIC).

    Within a list any item will do (``segments: [A, B]`` means A or B).
    ``where`` is an expression over customer attributes and labels, see
    :mod:`sim.expressions`.
    """

    stages: list[str] | None = None
    segments: list[Literal["A", "B", "C", "D"]] | None = None
    tiers: list[str] | None = None
    labels: list[str] | None = None
    channels: list[str] | None = None
    where: str | None = None


PRIORITIES = ("highest_value", "lowest_value", "random", "least_satisfied")


class Budget(_Section):
    """Spending limits in CNY; customers are served in ``priority`` order until it runs out.

    A plain number in YAML is a total budget.
    """

    monthly: NonNegative | None = None
    total: NonNegative | None = None
    priority: Literal["highest_value", "lowest_value", "random", "least_satisfied"] = (
        "highest_value"
    )
    when_short: Literal["stop", "skip"] = Field(
        "stop", description="when the next customer in priority order costs more than is "
        "left: stop there (nobody after them is paid for), or skip them and pay for the "
        "later ones that still fit")

    @model_validator(mode="before")
    @classmethod
    def _number_is_total(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"total": value}
        return value


class StrategySpec(_Section):
    """A strategy switched on in a scenario; see ``strategies/``."""

    name: str
    params: dict[str, object] = Field(default_factory=dict)
    target: Target = Field(default_factory=Target)
    budget: Budget = Field(default_factory=Budget)
    holdout: Probability = Field(0.0, description="share of targets kept untreated as control")


class Capacity(_Section):
    """Staff capacity for contacts until the channels model serves them (issue 4)."""

    rm_hours_per_month: NonNegative = Field(
        description="relationship-manager hours a month available for outreach, all branches"
    )


class Scenario(_Section):
    """A complete, validated scenario."""

    # letters of any script (a Chinese bank's scenario may be named in Chinese), digits,
    # _ . - ; no spaces or separators: the name is a folder under results/
    name: str = Field(pattern=r"^\w[\w.-]*$")
    description: str = ""
    seed: Count = Field(0, ge=0, le=2**63 - 1)  # written to monthly.parquet as an int64
    horizon_months: Count = Field(ge=1, le=1200)
    replications: Count = Field(1, ge=1, le=10_000)
    population: Population
    lifecycle: Lifecycle
    market: Market
    response: Response
    segments: Segments
    tiers: list[Tier] = Field(min_length=1)
    private_banking_threshold: NonNegative
    economics: Economics
    capacity: Capacity = Field(default_factory=lambda: Capacity(rm_hours_per_month=0.0))
    channels: Channels | None = Field(
        None, description="branches, call centre, complaints (issue 4); None: no queues")
    labels: dict[str, str] = Field(
        default_factory=dict, description="label name -> expression (DOMAIN §6)"
    )
    strategies: list[StrategySpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cross_check(self) -> Scenario:
        roles = {s.name: s.role for s in self.lifecycle.stages}
        problems = []
        for stage in self.population.initial_stages:
            if roles.get(stage) != "customer":
                problems.append(
                    f"population.initial_stages.{stage}: expected a stage with role 'customer' "
                    f"(one of {[n for n, r in roles.items() if r == 'customer']})"
                )
        if roles.get(self.market.arrival_stage, "absorbing") == "absorbing":
            problems.append(
                f"market.arrival_stage: got {self.market.arrival_stage!r}; expected a "
                "non-absorbing stage"
            )
        if self.population.prospects and "prospect" not in roles.values():
            problems.append("population.prospects: the lifecycle has no 'prospect' stage")
        channels = set(self.population.channel_preference)
        for key in ("servicing_cost_per_month", "transaction_cost_per_10k"):
            missing = channels - set(getattr(self.economics, key))
            if missing:
                problems.append(f"economics.{key}: missing channel(s) {sorted(missing)}")
        if self.channels is not None:
            for key in (*self.channels.visits_per_customer_month, *self.channels.machine_users):
                if key not in channels:
                    problems.append(f"channels: unknown channel {key!r}; expected one of "
                                    f"{sorted(channels)}")
            for index in self.channels.branches:
                if not 0 <= index < self.population.branches:
                    problems.append(f"channels.branches.{index}: no such branch; expected "
                                    f"0..{self.population.branches - 1}")
        tier_names = [t.name for t in self.tiers]
        if len(set(tier_names)) != len(tier_names):
            problems.append(f"tiers: names must be unique, got {tier_names}")
        bounds = [t.min_aum for t in self.tiers]
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds) or bounds[0] != 0:
            problems.append("tiers: min_aum must start at 0 and strictly increase")
        problems += self._check_labels_and_targets()
        if problems:
            raise ValueError("; ".join(problems))
        from strategies import registry  # local: strategies never import sim

        for i, spec in enumerate(self.strategies):
            registry.check_spec(spec.name, spec.params, where=f"strategies.{i}")
            try:
                registry.build(spec.name, dict(spec.params)).check_scenario(self)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"strategies.{i}.params: {exc}") from None
        return self

    def categories(self) -> dict[str, tuple[str, ...]]:
        """Names of the categorical columns' codes, for expressions."""
        return {
            "stage": tuple(self.lifecycle.stage_names),
            "entry_stage": tuple(self.lifecycle.stage_names),
            "segment": SEGMENT_NAMES,
            "tier": tuple(t.name for t in self.tiers),
            "channel": tuple(self.population.channel_preference),
        }

    def expression(self, text: str, labels: list[str] | None = None) -> Expression:
        """Parse an expression over customer attributes and (earlier) labels."""
        names = frozenset(FIELDS) | frozenset(labels if labels is not None else self.labels)
        return _expression(text, names, tuple(self.categories().items()))

    def _check_labels_and_targets(self) -> list[str]:
        problems = []
        earlier: list[str] = []
        for name, text in self.labels.items():
            reserved = (name in FIELDS or name in RESERVED_NAMES or name.startswith("cohort_")
                        or "__" in name or name.startswith("_"))
            if not name.isidentifier() or reserved:
                problems.append(f"labels.{name}: expected a new identifier for the label name "
                                "(not a customer column, not cohort_*, no '__')")
            try:
                self.expression(text, earlier)
            except ExpressionError as exc:
                problems.append(f"labels.{name}: {exc}")
            earlier.append(name)
        cats = self.categories()
        seen: set[str] = set()
        for i, spec in enumerate(self.strategies):
            if spec.name in seen:
                problems.append(f"strategies.{i}.name: {spec.name!r} is switched on twice; "
                                "expected each strategy once (combine their targets)")
            seen.add(spec.name)
            t = spec.target
            for key, valid in (("stages", cats["stage"]), ("tiers", cats["tier"]),
                               ("channels", cats["channel"]), ("labels", tuple(self.labels))):
                for item in getattr(t, key) or []:
                    if item not in valid:
                        problems.append(f"strategies.{i}.target.{key}: got {item!r}; "
                                        f"expected one of {list(valid)}")
            if t.where is not None:
                try:
                    self.expression(t.where)
                except ExpressionError as exc:
                    problems.append(f"strategies.{i}.target.where: {exc}")
        return problems
