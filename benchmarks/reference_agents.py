"""Reference model: the monthly dynamics and strategies with one ``mesa.Agent`` per customer.

This is the model a Mesa user would write first, and the yardstick for
ARCHITECTURE decision 1 (customers as a vectorised population). Every customer
and prospect is a :class:`Customer` agent in ``model.agents``; each month the
model draws the month's arrivals and calls ``model.agents.shuffle_do("step")``.
A customer's ``step`` does, with its own draws from the model's Python
``random.Random``, what :class:`sim.model.LifecycleModel` does to its row:

1. market — total wealth takes one step of its geometric random walk and age
   advances a month (prospects arriving this month start next month);
2. response — satisfaction relaxes toward the customer's baseline less the
   competitor's price gap; share of wallet relaxes toward the stage's typical
   share, raised by satisfaction and lowered by the price gap; AUM follows;
3. lifecycle — one stage transition from the scenario's base matrix, each
   move's log-odds against staying shifted by the drivers (multinomial logit,
   as in :mod:`sim.lifecycle`);
4. classify — AUM tier every month, A/B/C/D segment when the review is due;
5. ledger and census — the customer adds its revenue, servicing and
   transaction costs and its counts to the month's totals.

Customers who churn or lapse leave ``model.agents`` (``Agent.remove``). The
equations are written out again here from the scenario (not imported from
``sim``), so the agreement test in ``tests/benchmarks`` checks the vectorised
code against an independent implementation.

Strategies (the seven of ``scenarios/abc_d_playbook.yaml``) are modelled in
:mod:`benchmarks.reference_strategies`: with strategies switched on, a month
runs in three phases — every agent's ``market`` (wealth drift, this month's
contacts and yield bump back to zero), then each strategy deciding customer by
customer (targeting, hold-out, effect, budget in priority order, staff time
from ``capacity.rm_hours_per_month``), then every agent's ``live`` (steps 2-5
above). Without strategies ``step`` does both phases in one call per agent.
Channels (branches, waits, complaints) are not modelled: waits and complaints
stay at zero, and RM contacts always draw on the ``capacity`` pool.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from random import Random
from typing import Any, ClassVar

import mesa
import numpy as np

from benchmarks.reference_strategies import (
    MarketingRecord,
    ReferenceStrategy,
    build_strategies,
    strategy_metric_names,
)
from sim.schema import DRIVERS, AgeDist, Lifecycle, Scenario

__all__ = ["Customer", "ReferenceModel"]

#: Driver centring used when the scenario does not set one (as in sim.model).
DEFAULT_DRIVER_REFERENCE = {"satisfaction": 0.7, "share_of_wallet": 0.4, "products": 2.0}
SEGMENTS = ("A", "B", "C", "D")


@dataclass(frozen=True)
class Moves:
    """Transitions out of one stage.

    Attributes:
        targets: Stage index of each possible move.
        base: Base monthly probability of each move.
        stay: Base probability of staying (1 minus the row sum).
        effects: Per move, ``(driver column, beta)`` pairs with a non-zero beta:
            the change in the move's log-odds per unit of that driver
            (columns in the order of ``sim.schema.DRIVERS``).
        has_drivers: Whether any move out of the stage responds to a driver.
    """

    targets: tuple[int, ...]
    base: tuple[float, ...]
    stay: float
    effects: tuple[tuple[tuple[int, float], ...], ...]
    has_drivers: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "has_drivers", any(self.effects))


def moves_by_stage(lifecycle: Lifecycle) -> dict[int, Moves]:
    """Read the base transition matrix and driver effects of a lifecycle."""
    index = {name: i for i, name in enumerate(lifecycle.stage_names)}
    effects: dict[tuple[str, str], dict[str, float]] = {}
    for key, effect in lifecycle.driver_effects.items():
        source, _, target = key.partition("->")
        effects[(source.strip(), target.strip())] = dict(effect)
    moves = {}
    for source, row in lifecycle.transitions.items():
        items = [(target, p) for target, p in row.items() if p > 0]
        if not items:
            continue
        moves[index[source]] = Moves(
            targets=tuple(index[t] for t, _ in items),
            base=tuple(p for _, p in items),
            stay=1.0 - sum(p for _, p in items),
            effects=tuple(
                tuple(
                    (DRIVERS.index(d), beta)
                    for d, beta in effects.get((source, t), {}).items() if beta != 0.0
                )
                for t, _ in items
            ),
        )
    return moves


def _expit(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _clip(x: float, low: float, high: float) -> float:
    return low if x < low else high if x > high else x


def _beta(rnd: Random, mean: float, concentration: float) -> float:
    mean = _clip(mean, 1e-6, 1.0 - 1e-6)
    return rnd.betavariate(mean * concentration, (1.0 - mean) * concentration)


def _poisson(rnd: Random, lam: float) -> int:
    """Knuth's multiplication method (fine for the small means used here)."""
    limit, k, product = math.exp(-lam), 0, rnd.random()
    while product > limit:
        k += 1
        product *= rnd.random()
    return k


def _gumbel(rnd: Random) -> float:
    u = rnd.random()
    while u == 0.0:
        u = rnd.random()
    return -math.log(-math.log(u))


@dataclass
class MonthTotals:
    """What the customers add up during one month: flows, census and ledger bases."""

    n_stages: int
    n_channels: int
    n_tiers: int
    acquired: int = 0
    churned: int = 0
    lapsed: int = 0
    tier_up: int = 0
    tier_down: int = 0
    private_banking_up: int = 0
    private_banking_down: int = 0
    customers: int = 0
    prospects: int = 0
    initial_customers_active: int = 0
    private_banking_customers: int = 0
    aum: float = 0.0
    aum_market: float = 0.0
    aum_net_flow: float = 0.0
    aum_churned: float = 0.0
    satisfaction: float = 0.0
    share_of_wallet: float = 0.0
    products: int = 0
    contacts: float = 0.0
    n_strategies: int = 0
    stages: list[int] = field(default_factory=list)
    segments: list[int] = field(default_factory=list)
    tiers: list[int] = field(default_factory=list)
    channels: list[int] = field(default_factory=list)
    inflow: list[float] = field(default_factory=list)
    #: Per strategy, per cohort code (1 treated, 2 control): active, AUM, revenue, cost.
    uplift: list[list[list[float]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stages = [0] * self.n_stages
        self.segments = [0] * len(SEGMENTS)
        self.tiers = [0] * self.n_tiers
        self.channels = [0] * self.n_channels
        self.inflow = [0.0] * self.n_channels
        self.uplift = [[[], [0.0] * 4, [0.0] * 4] for _ in range(self.n_strategies)]


class Customer(mesa.Agent):
    """One customer or prospect, drawing its own attributes and its own monthly fate.

    Its attributes are the vectorised table's columns, bar those the
    reference does not model (payments, labels, channel waits). Keep them at
    29 or fewer, Mesa's three included: CPython 3.11 shares the keys of
    instance dicts up to that size, beyond it every agent's ``__dict__`` grows
    from about 300 to about 1,600 bytes and attribute access slows, which
    would flatter the vectorised model (``tests/benchmarks`` checks).

    Args:
        model: The reference model.
        stage: Stage index at entry.
        age: Age distribution to draw from.
        initial: Whether the customer is in the bank's book at month 0.
    """

    #: Channels are not modelled: no waits, no complaints.
    wait_minutes: ClassVar[float] = 0.0
    complaints: ClassVar[float] = 0.0

    def __init__(self, model: ReferenceModel, stage: int, age: AgeDist, initial: bool) -> None:
        super().__init__(model)
        spec = model.scenario.population
        rnd = model.random
        self.stage = stage
        self.months_in_stage = 0
        self.entered_month = model.month
        self.absorbed_month = -1
        is_customer = model.roles[stage] == "customer"
        self.is_initial = initial and is_customer
        self.tenure = rnd.randrange(120) if self.is_initial else 0
        self.age = _clip(rnd.gauss(age.mean, age.sd), age.min, age.max)
        w = spec.total_wealth
        log_median = math.log(w.median_at_30) + w.growth_per_year_of_age * (
            min(self.age, w.peak_age) - 30.0
        )
        self.total_wealth = math.exp(log_median + w.sigma * rnd.gauss(0.0, 1.0))
        d = spec.digital_adoption
        self.digital_adoption = _expit(
            d.logit_at_30 + d.age_slope * (self.age - 30.0) + d.noise_sd * rnd.gauss(0.0, 1.0)
        )
        s = spec.share_of_wallet
        wallet_mean = _expit(
            _logit(s.mean)
            + s.wealth_effect * math.log(self.total_wealth / w.median_at_30)
            + s.age_effect * (self.age - 40.0)
        )
        self.wallet_propensity = _beta(rnd, wallet_mean, s.concentration)
        utilities = [
            u.intercept + u.digital * self.digital_adoption + u.age * (self.age - 40.0)
            + _gumbel(rnd)
            for u in spec.channel_preference.values()
        ]
        self.channel = utilities.index(max(utilities))
        p = spec.price_sensitivity
        price_mean = _expit(_logit(p.mean) + p.elsewhere_effect * (0.5 - self.wallet_propensity))
        self.price_sensitivity = _beta(rnd, price_mean, p.concentration)
        self.satisfaction = self.satisfaction_base = _beta(
            rnd, spec.satisfaction.mean, spec.satisfaction.concentration
        )
        a = spec.activity
        self.activity_rate = a.base_per_month * math.exp(
            a.digital_effect * (self.digital_adoption - 0.5)
        )
        products = 1 + _poisson(rnd, max(spec.products_mean - 1.0, 0.0))
        self.products = products if model.roles[stage] != "prospect" else 0
        self.branch = rnd.randrange(spec.branches)
        self.share_of_wallet = self.wallet_propensity * model.wallet_share[stage]
        self.aum = self.total_wealth * self.share_of_wallet
        self.segment = -1
        self.tier = -1
        self.contacts = 0.0
        self.aum_market = self.aum
        self.aum_close = self.aum  # AUM at last month's close: private-banking crossings
        self.yield_bump_bp = 0.0  # basis points a strategy added to our yield this month
        self.marketing: MarketingRecord | None = None  # from the first month a strategy targets it

    # ------------------------------------------------------------ one month
    def step(self) -> None:
        """Live one month: market, response, lifecycle, classification, census."""
        self.market()
        self.live()

    def market(self) -> None:
        """The market moves wealth; this month's contacts and yield bump start at zero."""
        model = self.model
        if self.entered_month != model.month:  # arrivals join after the market moved
            self.total_wealth *= math.exp(
                model.drift_mu + model.drift_sigma * model.random.gauss(0.0, 1.0))
            self.age += 1.0 / 12.0
        aum_market = self.total_wealth * self.share_of_wallet
        if model.roles[self.stage] == "customer":
            model.totals.aum_market += aum_market - self.aum
        self.aum_close = self.aum
        self.aum = self.aum_market = aum_market
        self.contacts = self.yield_bump_bp = 0.0

    def live(self) -> None:
        """After the market (and the strategies): response, lifecycle, classification, census."""
        model = self.model
        rnd = model.random
        totals = model.totals
        was_customer = model.roles[self.stage] == "customer"
        aum_market = self.aum_market  # money strategies moved in (vouchers) is new money too
        self._respond(rnd)
        inflow = 0.0
        if was_customer:
            totals.aum_net_flow += self.aum - aum_market
            inflow = max(self.aum - aum_market, 0.0)
            totals.inflow[self.channel] += inflow
        old_tier, old_aum = self.tier, self.aum_close
        if self._transition(rnd, totals):
            if self.marketing is not None:  # a cohort member who left still cost its inflow
                self._tally_cohorts(totals, self.marketing, 0.0, inflow, live=False)
            self.remove()
            return
        if not was_customer and model.roles[self.stage] == "customer":
            inflow = self.aum  # an opening balance is new money too (0 for a converted prospect)
            totals.inflow[self.channel] += inflow
        self._classify(model.segments_due)
        self._count(totals, old_tier, old_aum, inflow)

    def _respond(self, rnd: Random) -> None:
        model = self.model
        r = model.scenario.response
        gap = (model.price_gap_points - self.yield_bump_bp / 100.0) * self.price_sensitivity
        target = self.satisfaction_base + r.satisfaction_price_gap_effect * gap
        sat = self.satisfaction
        noise = r.satisfaction_noise * rnd.gauss(0.0, 1.0)
        sat += r.satisfaction_adjustment * (target - sat) + noise
        sat = self.satisfaction = _clip(sat, 0.0, 1.0)
        wallet_target = self.wallet_propensity * model.wallet_share[self.stage]
        wallet_target *= 1.0 + r.wallet_satisfaction_effect * (sat - model.satisfaction_reference)
        if wallet_target > 0.0:
            wallet_target += r.wallet_price_gap_effect * gap
        wallet_target = _clip(wallet_target, 0.0, 1.0)
        sow = self.share_of_wallet + r.wallet_adjustment * (wallet_target - self.share_of_wallet)
        self.share_of_wallet = _clip(sow, 0.0, 1.0)
        self.aum = self.total_wealth * self.share_of_wallet

    def drivers(self) -> tuple[float, ...]:
        """Centred driver values (zero = typical), in the order of ``sim.schema.DRIVERS``."""
        model = self.model
        ref = model.driver_reference_values
        return (
            self.satisfaction - ref[0],
            self.share_of_wallet - ref[1],
            (model.price_gap_points - self.yield_bump_bp / 100.0) * self.price_sensitivity
            - ref[2],
            math.log1p(self.contacts) - ref[3],
            self.wait_minutes - ref[4],
            self.complaints - ref[5],
            self.products - ref[6],
        )

    def _next_stage(self, u: float) -> int:
        moves = self.model.moves.get(self.stage)
        if moves is None:
            return self.stage
        weights, total = moves.base, 1.0
        if moves.has_drivers:
            x = self.drivers()
            weights, total = [], moves.stay
            for p, effects in zip(moves.base, moves.effects, strict=True):
                eta = 0.0
                for column, beta in effects:
                    eta += beta * x[column]
                weight = p * math.exp(eta) if effects else p
                weights.append(weight)
                total += weight
        cumulative = 0.0
        for target, weight in zip(moves.targets, weights, strict=True):
            cumulative += weight
            if u < cumulative / total:
                return target
        return self.stage

    def _transition(self, rnd: Random, totals: MonthTotals) -> bool:
        """Move one stage (or stay); return whether the customer was absorbed."""
        model = self.model
        old = self.stage
        new = self._next_stage(rnd.random())
        old_role, new_role = model.roles[old], model.roles[new]
        self.stage = new
        if new == old:
            self.months_in_stage += 1
        else:
            self.months_in_stage = 0
            if new_role == "absorbing":
                if old_role == "customer":
                    totals.churned += 1
                    totals.aum_churned += self.aum
                elif old_role == "prospect":
                    totals.lapsed += 1
                self.aum = self.share_of_wallet = 0.0
                self.absorbed_month = model.month
                model.absorbed[(self.entered_month == 0, new)] += 1
                return True
            if old_role == "prospect" and new_role == "customer":
                totals.acquired += 1
                self.products = 1
        if new_role == "customer":
            self.tenure += 1
        return False

    def potential(self) -> float:
        """Potential-value score in [0, 1] (DOMAIN §2), as in sim.dynamics."""
        weights = self.model.scenario.segments.potential_weights
        features = {
            "youth": _clip((65.0 - self.age) / 45.0, 0.0, 1.0),
            "digital_adoption": self.digital_adoption,
            "wealth_elsewhere": _clip(
                (math.log10(1.0 + max(self.total_wealth - self.aum, 0.0)) - 4.0) / 3.0, 0.0, 1.0
            ),
        }
        return sum(w * features[name] for name, w in weights.items()) / sum(weights.values())

    def _classify(self, segments_due: bool) -> None:
        model = self.model
        if model.roles[self.stage] != "customer":
            self.tier = self.segment = -1
            return
        self.tier = bisect_right(model.tier_bounds, self.aum) - 1
        if segments_due or self.segment < 0:
            seg = model.scenario.segments
            potential = self.potential()  # not kept: nothing reads it later (29 attributes)
            high_current = self.aum >= seg.current_value_threshold
            if potential >= seg.potential_threshold:
                self.segment = 1 if high_current else 0
            else:
                self.segment = 2 if high_current else 3

    def _count(
        self, totals: MonthTotals, old_tier: int, old_aum: float, inflow: float = 0.0
    ) -> None:
        role = self.model.roles[self.stage]
        if role == "prospect":
            totals.prospects += 1
            totals.stages[self.stage] += 1
            return
        if role != "customer":
            return
        threshold = self.model.private_banking_threshold
        totals.customers += 1
        totals.stages[self.stage] += 1
        totals.segments[self.segment] += 1
        totals.tiers[self.tier] += 1
        totals.channels[self.channel] += 1
        totals.aum += self.aum
        totals.satisfaction += self.satisfaction
        totals.share_of_wallet += self.share_of_wallet
        totals.products += self.products
        totals.contacts += self.contacts
        totals.initial_customers_active += self.is_initial
        totals.private_banking_customers += self.aum >= threshold
        if old_tier >= 0:
            totals.tier_up += self.tier > old_tier
            totals.tier_down += self.tier < old_tier
            totals.private_banking_up += old_aum < threshold <= self.aum
            totals.private_banking_down += self.aum < threshold <= old_aum
        if self.marketing is not None:
            self._tally_cohorts(totals, self.marketing, self.aum, inflow, live=True)

    def _tally_cohorts(
        self, totals: MonthTotals, record: MarketingRecord, aum: float, inflow: float, live: bool
    ) -> None:
        """Add this customer's month to the uplift tallies of the strategies it is a cohort of.

        Revenue is interest margin and fees (none for a customer who left this
        month); cost is servicing and the transaction cost of new money.
        """
        model = self.model
        cost = inflow / 10_000.0 * model.transaction_per_10k[self.channel]
        revenue = 0.0
        if live:
            revenue = aum * model.margin_month + self.products * model.fee_per_product
            cost += model.servicing[self.channel]
        for strategy, code in record.cohorts.items():
            tally = totals.uplift[strategy][code]
            tally[0] += live
            tally[1] += aum
            tally[2] += revenue
            tally[3] += cost


class ReferenceModel(mesa.Model):
    """The lifecycle and its strategies with one ``mesa.Agent`` per customer.

    Args:
        scenario: A validated scenario (its ``channels`` section, if any, is ignored).
        replication: Replication number; with the seed it seeds the model's
            ``random`` and ``rng``.
        seed: Overrides ``scenario.seed`` when given.
    """

    def __init__(self, scenario: Scenario, replication: int = 0, seed: int | None = None) -> None:
        self.seed_value = scenario.seed if seed is None else seed
        state = np.random.SeedSequence([self.seed_value, replication, 0x5EF]).generate_state(1)
        super().__init__(seed=int(state[0]))
        self.scenario = scenario
        self.replication = replication
        life = scenario.lifecycle
        self.stage_names = life.stage_names
        self.roles = [s.role for s in life.stages]
        self.wallet_share = [s.wallet_share for s in life.stages]
        self.moves = moves_by_stage(life)
        self.driver_reference = {**DEFAULT_DRIVER_REFERENCE, **life.driver_reference}
        self.driver_reference_values = tuple(self.driver_reference.get(d, 0.0) for d in DRIVERS)
        self.satisfaction_reference = self.driver_reference["satisfaction"]
        self.channel_names = list(scenario.population.channel_preference)
        self.tier_names = [t.name for t in scenario.tiers]
        self.tier_bounds = [t.min_aum for t in scenario.tiers]
        self.private_banking_threshold = scenario.private_banking_threshold
        market = scenario.market
        self.price_gap_points = 100.0 * (market.competitor_yield - market.bank_yield)
        self.drift_sigma = market.wealth_volatility_annual / math.sqrt(12.0)
        self.drift_mu = math.log1p(market.wealth_growth_annual) / 12.0 - 0.5 * self.drift_sigma**2
        self.arrival_stage = self.stage_names.index(market.arrival_stage)
        self.is_customer_stage = [role == "customer" for role in self.roles]
        econ = scenario.economics
        self.margin_month = econ.aum_margin_annual / 12.0
        self.fee_per_product = econ.fee_per_product_month
        self.servicing = [econ.servicing_cost_per_month[c] for c in self.channel_names]
        self.transaction_per_10k = [econ.transaction_cost_per_10k[c] for c in self.channel_names]
        self.strategies: list[ReferenceStrategy] = build_strategies(scenario, self)
        self.staff_minutes_left = 0.0
        self.month = 0
        self.segments_due = True
        self.tally = {"acquired": 0, "churned": 0, "lapsed": 0, "arrivals": 0}
        self.absorbed: Counter[tuple[bool, int]] = Counter()
        self.totals = self._new_totals()
        self.revenue = self.cost = 0.0
        self._populate()
        self.metrics: dict[str, float] = {}
        self.datacollector = mesa.DataCollector(
            model_reporters={n: (lambda m, n=n: m.metrics[n]) for n in self._metric_names()}
        )
        self._collect()

    def _new_totals(self) -> MonthTotals:
        return MonthTotals(len(self.stage_names), len(self.channel_names), len(self.tier_names),
                           n_strategies=len(self.strategies))

    def _populate(self) -> None:
        spec = self.scenario.population
        index = {name: i for i, name in enumerate(self.stage_names)}
        names = list(spec.initial_stages)
        stages = self.random.choices(
            [index[n] for n in names], weights=[spec.initial_stages[n] for n in names], k=spec.size
        )
        for stage in stages:
            Customer(self, stage, spec.age, initial=True)
        for _ in range(spec.prospects):
            Customer(self, self.arrival_stage, spec.age, initial=True)
        for agent in self.agents:
            agent._classify(segments_due=True)
            agent._count(self.totals, -1, 0.0)

    # ---------------------------------------------------------------- month
    def step(self) -> None:
        """Simulate one month."""
        self.month += 1
        self.segments_due = self.month % self.scenario.segments.every_months == 0
        self.totals = self._new_totals()
        market = self.scenario.market
        arrivals = int(self.rng.poisson(market.prospect_arrivals_per_month))
        age = market.arrival_age or self.scenario.population.age
        for _ in range(arrivals):
            Customer(self, self.arrival_stage, age, initial=False)
        self.tally["arrivals"] += arrivals
        if self.roles[self.arrival_stage] == "customer":
            self.totals.acquired += arrivals
        if self.strategies:
            self.agents.do("market")
            self.staff_minutes_left = 60.0 * self.scenario.capacity.rm_hours_per_month
            customers = [a for a in self.agents if self.is_customer_stage[a.stage]]
            # strategies that opt customers out of marketing (abandon_d) act first
            for strategy in sorted(self.strategies, key=lambda s: s.respects_opt_out):
                strategy.act(customers)
            self.agents.shuffle_do("live")
        else:
            self.agents.shuffle_do("step")
        for key in ("acquired", "churned", "lapsed"):
            self.tally[key] += getattr(self.totals, key)
        self._collect(arrivals)

    def _ledger(self, totals: MonthTotals) -> dict[str, float]:
        econ = self.scenario.economics
        entries = {
            "revenue_interest_margin": totals.aum * econ.aum_margin_annual / 12.0,
            "revenue_fees": totals.products * econ.fee_per_product_month,
        }
        for c, name in enumerate(self.channel_names):
            entries[f"cost_servicing_{name}"] = (
                totals.channels[c] * econ.servicing_cost_per_month[name]
            )
        for c, name in enumerate(self.channel_names):
            entries[f"cost_transaction_{name}"] = (
                totals.inflow[c] / 10_000.0 * econ.transaction_cost_per_10k[name]
            )
        entries["cost_acquisition"] = totals.acquired * econ.acquisition_cost
        return entries

    def _metric_names(self) -> list[str]:
        names = ["month", "customers", "prospects", "initial_customers_active"]
        names += [f"stage_{s}" for s in self.stage_names]
        names += [f"segment_{s}" for s in SEGMENTS] + [f"tier_{t}" for t in self.tier_names]
        names += [f"channel_{c}" for c in self.channel_names]
        names += ["arrivals", "acquired", "churned", "lapsed", "tier_up", "tier_down",
                  "private_banking_up", "private_banking_down", "private_banking_customers",
                  "aum", "aum_market", "aum_net_flow", "aum_churned", "mean_satisfaction",
                  "mean_share_of_wallet", "contacts"]
        names += [*self._ledger(self._new_totals())]
        names += [n for s in self.strategies for n in strategy_metric_names(s.name, s.cost_kinds)]
        names += ["strategy_cost_total", "revenue", "cost", "profit"]
        return names

    def _collect(self, arrivals: int = 0) -> None:
        t = self.totals
        m: dict[str, float] = {"month": self.month, "arrivals": arrivals}
        for key in ("customers", "prospects", "initial_customers_active", "acquired", "churned",
                    "lapsed", "tier_up", "tier_down", "private_banking_up",
                    "private_banking_down", "private_banking_customers", "aum", "aum_market",
                    "aum_net_flow", "aum_churned", "contacts"):
            m[key] = getattr(t, key)
        for i, s in enumerate(self.stage_names):
            m[f"stage_{s}"] = t.stages[i] if self.roles[i] != "absorbing" else 0
        m.update({f"segment_{s}": t.segments[i] for i, s in enumerate(SEGMENTS)})
        m.update({f"tier_{s}": t.tiers[i] for i, s in enumerate(self.tier_names)})
        m.update({f"channel_{s}": t.channels[i] for i, s in enumerate(self.channel_names)})
        m["mean_satisfaction"] = t.satisfaction / t.customers if t.customers else 0.0
        m["mean_share_of_wallet"] = t.share_of_wallet / t.customers if t.customers else 0.0
        ledger = self._ledger(t) if self.month else dict.fromkeys(self._ledger(t), 0.0)
        m.update(ledger)
        m["revenue"] = sum(v for k, v in ledger.items() if k.startswith("revenue_"))
        m["cost"] = sum(v for k, v in ledger.items() if k.startswith("cost_"))
        for i, strategy in enumerate(self.strategies):
            m.update(strategy.metrics(t.uplift[i]))
        m["strategy_cost_total"] = sum(s.cost_month_total for s in self.strategies)
        m["cost"] += m["strategy_cost_total"]
        m["profit"] = m["revenue"] - m["cost"]
        self.metrics = m
        self.datacollector.collect(self)

    # ----------------------------------------------------------- inspection
    def final_stage_counts(self, initial: bool) -> list[int]:
        """Rows by current stage (absorbed ones included) for one entry cohort.

        Args:
            initial: ``True`` for the rows present at month 0, ``False`` for arrivals.
        """
        counts = [0] * len(self.stage_names)
        for agent in self.agents:
            if (agent.entered_month == 0) == initial:
                counts[agent.stage] += 1
        for (cohort, stage), n in self.absorbed.items():
            if cohort == initial:
                counts[stage] += n
        return counts

    def live_customers(self) -> list[Any]:
        """The agents that are customers now (not prospects, not absorbed)."""
        return [a for a in self.agents if self.roles[a.stage] == "customer"]
