"""The lifecycle model: one Mesa model, one replication, one month per step.

``LifecycleModel`` is a real :class:`mesa.Model` (seeded generators,
``DataCollector``, usable in Mesa's SolaraViz) whose customers live in a
vectorised :class:`~sim.population.Population`. One :meth:`~LifecycleModel.step`
is one month (ARCHITECTURE, "one month end to end"):

1. market — wealth drifts, new prospects arrive, payments are made;
2. strategies — each switched-on strategy treats its targets
   (:mod:`sim.strategy_runtime`);
3. channels — branch queues, complaints and staff cost (:mod:`sim.channels`,
   when the scenario has a ``channels`` section);
4. response — satisfaction, share of wallet, AUM;
5. lifecycle — stage transitions from the base matrix and the drivers;
6. classify — A/B/C/D segments and AUM tiers;
7. ledger — revenue and costs by kind, per customer and in total;
8. labels, then collect — one row of tidy monthly metrics (:mod:`sim.metrics`).

Steps 4-7 and the head counts of step 8 are one compiled pass over the rows
(:func:`sim.kernels.close_month`).
"""

from __future__ import annotations

from typing import Any

import mesa
import numba
import numpy as np
import pandas as pd

from sim import kernels
from sim.channels import ChannelSystem
from sim.dynamics import SEGMENTS, classify, potential_weights, wealth_walk
from sim.ledger import Ledger
from sim.lifecycle import TransitionTable
from sim.metrics import MonthlyMetrics
from sim.population import CustomerView, Population
from sim.population_draw import draw_columns, draw_customers
from sim.schema import DRIVERS, Scenario
from sim.shards import Shard
from sim.strategy_runtime import StrategyRuntime
from sim.streams import customer_ids, draw_key, stream

__all__ = ["LifecycleModel"]

#: Driver references used when the scenario does not set one.
DEFAULT_DRIVER_REFERENCE = {"satisfaction": 0.7, "share_of_wallet": 0.4, "products": 2.0}
#: Compact the table when absorbed rows exceed this share of it.
COMPACT_SHARE = 0.10
#: Rows of the initial population drawn at a time (see ``_initial_population``).
BUILD_CHUNK = 1 << 20
#: Columns kept for absorbed rows when the table is compacted.
ARCHIVED = ("id", "entry_stage", "entered_month", "absorbed_month", "is_initial")


class LifecycleModel(mesa.Model):
    """A bank's customers moving through lifecycle stages, month by month.

    Args:
        scenario: A validated scenario.
        replication: Replication number; with the scenario seed it selects the
            random streams, so replications are independent and reproducible.
        seed: Overrides ``scenario.seed`` when given.
        shard: ``(i, n)``: simulate only shard ``i`` of ``n`` of the bank, split by
            branch (:mod:`sim.shards`, which also drives the shards month by month).
            ``None`` (or ``n == 1``): the whole bank.
    """

    def __init__(self, scenario: Scenario, replication: int = 0, seed: int | None = None,
                 shard: tuple[int, int] | None = None) -> None:
        self.scenario = scenario
        self.replication = replication
        self.seed_value = scenario.seed if seed is None else seed
        super().__init__(rng=stream(self.seed_value, replication, "mesa"))
        # issue 7: one shard of the bank (sim/shards.py); None = the whole bank
        self.shard = Shard.of(scenario, *shard) if shard is not None and shard[1] > 1 else None
        self._tag = "" if self.shard is None else self.shard.tag  # shard streams differ
        self._arrivals_stream = stream(self.seed_value, replication, "market/arrivals" + self._tag)
        life = scenario.lifecycle
        self.stage_names = life.stage_names
        self.transitions = TransitionTable(life)
        roles = self.transitions.roles
        self.is_prospect_stage = roles == "prospect"
        self.is_customer_stage = roles == "customer"
        self.is_absorbing_stage = roles == "absorbing"
        #: Per stage: 0 prospect, 1 customer, 2 absorbing (for compiled loops).
        self.roles = np.where(self.is_customer_stage, 1,
                              np.where(self.is_prospect_stage, 0, 2)).astype(np.int8)
        self.wallet_share_by_stage = np.array([s.wallet_share for s in life.stages])
        self.driver_reference: dict[str, float] = dict(DEFAULT_DRIVER_REFERENCE)
        self.driver_reference.update({str(k): v for k, v in life.driver_reference.items()})
        market = scenario.market
        #: Competitor yield minus ours, in percentage points, before any strategy's bump.
        self.price_gap_points = 100.0 * (market.competitor_yield - market.bank_yield)
        self.channel_names = list(scenario.population.channel_preference)
        self.tier_names = [t.name for t in scenario.tiers]
        self.ledger = Ledger()
        self.month = 0
        self.tally: dict[str, int] = {"acquired": 0, "churned": 0, "lapsed": 0, "arrivals": 0}
        self._archive: list[dict[str, np.ndarray]] = []
        self._added: dict[tuple[int, int], int] = {}
        if scenario.market.arrival_age is not None:  # arrivals' ages (see _draw)
            self._arrival_spec = scenario.population.model_copy(
                update={"age": scenario.market.arrival_age})
        self.population = self._initial_population()
        self.labels = {name: scenario.expression(text, list(scenario.labels)[:i])
                       for i, (name, text) in enumerate(scenario.labels.items())}
        for name in self.labels:
            self.population.add_column(name, np.bool_, False)
        self.strategies = [StrategyRuntime(spec, i, self)
                           for i, spec in enumerate(scenario.strategies)]
        self.staff_minutes_left = 0.0
        self.channels = ChannelSystem(self) if scenario.channels is not None else None
        if self.channels is not None:
            self.population.add_column("contacts_failed", np.float32, 0.0)
            # activity^elasticity of branch visits, computed once per row (NaN: not yet)
            self.population.add_column("visit_weight", np.float32, np.nan)
        customers = self.is_customer()
        classify(self.population, scenario, customers, segments_due=True)
        self._evaluate_labels(customers)
        self.metrics_builder = MonthlyMetrics(self)
        self.metrics: dict[str, float] = {}
        self.datacollector = self.metrics_builder.collector()
        self._collect({}, customers)

    # ----------------------------------------------------------------- setup
    def _initial_population(self) -> Population:
        spec = self.scenario.population
        rng = stream(self.seed_value, self.replication, "population" + self._tag)
        size, prospects = spec.size, spec.prospects
        if self.shard is not None:  # issue 7: this shard's part of the bank's customers
            size, prospects = self.shard.initial_sizes(spec, self.seed_value, self.replication)
        index = {n: i for i, n in enumerate(self.stage_names)}
        names = list(spec.initial_stages)
        shares = np.array([spec.initial_stages[n] for n in names])
        stage_codes = np.array([index[n] for n in names])
        customers = stage_codes[rng.choice(len(names), size=size, p=shares / shares.sum())]
        prospect_stage = int(np.flatnonzero(self.is_prospect_stage)[0]) if prospects else -1
        stages = np.concatenate([customers, np.full(prospects, prospect_stage)])
        del customers
        # drawn in chunks of a fixed size: a 50M bank needs one chunk's temporaries, not 50M
        # rows' (the chunk size is fixed, so the draws never depend on the machine)
        pop = Population.empty(len(stages))
        for first in range(0, len(stages), BUILD_CHUNK):
            chunk = stages[first:first + BUILD_CHUNK]
            pop.fill(first, self._draw(chunk, rng, source=0, first=first), len(chunk))
        pop.is_initial = in_stages(pop.stage, self.is_customer_stage)
        pop.tenure = np.where(pop.is_initial, rng.integers(0, 120, len(pop)), 0)
        return pop

    def _arrival_stage(self) -> int:
        return self.stage_names.index(self.scenario.market.arrival_stage)

    def _draw(
        self, stages: np.ndarray, rng: np.random.Generator, source: int, arriving: bool = False,
        first: int = 0,
    ) -> dict[str, Any]:
        """New rows' columns, as :func:`~sim.population_draw.draw_columns` gives them."""
        spec = self.scenario.population
        if arriving and self.scenario.market.arrival_age is not None:
            spec = self._arrival_spec
        ids = customer_ids(self.month, source, len(stages), first)
        if self.shard is not None:  # issue 7: the shard's own branches; its number in the ids
            pop = draw_customers(spec, stages, self.wallet_share_by_stage, rng, ids, self.month)
            pop.products = np.where(in_stages(pop.stage, self.is_prospect_stage), 0, pop.products)
            self.shard.adopt(pop, rng)
            return pop.columns()
        columns = draw_columns(spec, stages, self.wallet_share_by_stage, rng, ids, self.month)
        columns["products"] = np.where(in_stages(stages, self.is_prospect_stage), 0,
                                       columns["products"])
        return columns

    def add_prospects(self, count: int, source: int, purpose: str) -> None:
        """Append ``count`` new rows in the arrival stage (market arrivals, referrals)."""
        if count <= 0:
            return
        stage = self._arrival_stage()
        first = self._added.get((self.month, source), 0)  # earlier calls this month
        self._added[(self.month, source)] = first + count
        rng = stream(self.seed_value, self.replication,
                     f"{purpose}/{self.month}/{first}{self._tag}")
        self.population.extend(
            self._draw(np.full(count, stage), rng, source, arriving=True, first=first), count)
        self.tally["arrivals"] += count

    # ----------------------------------------------------------------- helpers
    def _with_added(self, customers: np.ndarray) -> np.ndarray:
        """The customer mask extended to rows a strategy appended since it was taken.

        They arrive in the arrival stage, which may be a customer stage (e.g.
        ``four_stage.yaml``'s exploration), so their role is looked up.
        """
        n = len(customers)
        if n == len(self.population):
            return customers
        added = in_stages(self.population.stage[n:], self.is_customer_stage)
        return np.concatenate([customers, added])

    def cohort_codes(self) -> np.ndarray:
        """Every strategy's cohort column, one row each (shape strategies × rows)."""
        pop = self.population
        if not self.strategies:
            return np.zeros((0, len(pop)), np.int8)
        return np.stack([getattr(pop, s.cohort_column) for s in self.strategies])

    def is_customer(self) -> np.ndarray:
        """Mask of rows that are customers now (not prospects, not absorbed)."""
        return in_stages(self.population.stage, self.is_customer_stage)

    def customer(self, customer_id: int) -> CustomerView:
        """Read-only view of the live customer with id ``customer_id``."""
        rows = np.flatnonzero(self.population.id == customer_id)
        if rows.size == 0:
            raise KeyError(f"no live customer with id {customer_id}")
        return self.population.view(int(rows[0]))

    def _key(self, purpose: str) -> np.uint64:
        return draw_key(self.seed_value, self.replication, purpose, self.month)

    def step(self) -> None:
        """Simulate one month."""
        self.month += 1
        pop = self.population
        was_customer, customers, old_aum, aum_start, aum_after_market, was_private = self._market()
        self._reset_month()
        # strategies that opt customers out of marketing (abandon_d) act first
        for runtime in sorted(self.strategies, key=lambda r: r.respects_opt_out):
            customers = self._with_added(customers)
            runtime.act(self, customers)
        if self.channels is not None:  # stages have not changed since the market
            self.channels.serve(self, self._with_added(customers))
        if len(old_aum) < len(pop):  # rows a strategy added: their AUM is not new money
            old_aum = np.concatenate([old_aum, pop.aum[len(old_aum):]])
        flows, customers, census, tallies = self._close(
            _pad(was_customer, len(pop)), old_aum, _pad(was_private, len(pop)))
        self._evaluate_labels(customers)
        flows.update(aum_market=aum_after_market - aum_start,
                     aum_net_flow=flows.pop("aum_after_response") - aum_after_market)
        n_absorbed = int(census[0][self.is_absorbing_stage].sum())  # before collect zeroes them
        self._collect(flows, customers, census, tallies)
        self._maybe_compact(n_absorbed)

    def _market(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float, np.ndarray]:
        """New prospects arrive; wealth drifts, customers age and make payments.

        Returns:
            Per row: a customer at the start of the month, a customer now
            (arrivals included), AUM after the market (before the strategies);
            the AUM of the customers at the start, before and after the market;
            and per row whether its AUM at the start (last month's close) was at
            or above the private-banking threshold (for the month's crossings).
        """
        pop = self.population
        n_old = len(pop)
        rate = self.scenario.market.prospect_arrivals_per_month
        if self.shard is not None:  # issue 7: the shard's part of the bank's arrivals
            rate *= self.shard.parts["arrivals"]
        arrivals = int(self._arrivals_stream.poisson(rate))
        self.add_prospects(arrivals, source=1, purpose="market/arrivals")
        pop = self.population
        n = len(pop)
        was_private = pop.aum >= float(self.scenario.private_banking_threshold)
        was_customer, customers = np.empty(n, np.bool_), np.empty(n, np.bool_)
        old_aum = np.empty(n)
        mu, sigma = wealth_walk(self.scenario)
        # payments: the expected number rounded up or down at random (mean kept);
        # payments_ytd restarts with a new calendar year (DOMAIN §6 "this year")
        aum_start, aum_after = kernels.market_rows(
            pop.id, np.array([self._key("wealth"), self._key("payments")]), n_old, mu, sigma,
            pop.stage, self.is_customer_stage, pop.total_wealth, pop.age, pop.share_of_wallet,
            pop.aum, pop.activity_rate, float(self.scenario.population.activity.payment_share),
            self.month % 12 == 1, pop.payments_month, pop.payments_ytd, old_aum, was_customer,
            customers)
        return was_customer, customers, old_aum, aum_start, aum_after, was_private

    def _reset_month(self) -> None:
        pop = self.population
        for column in ("contacts", "yield_bump_bp", "cost_month", "revenue_month"):
            getattr(pop, column)[:] = 0.0
        self.staff_minutes_left = 60.0 * self.scenario.capacity.rm_hours_per_month
        if self.shard is not None:  # issue 7: the shard's part of the bank's RM hours
            self.staff_minutes_left *= self.shard.parts["rm_hours"]
        if self.channels is not None:  # the branches' RMs replace capacity.rm_hours_per_month
            self.staff_minutes_left = self.channels.start_month()
            pop.contacts_failed[:] = 0.0

    def _close(
        self, was_customer: np.ndarray, old_aum: np.ndarray, was_private: np.ndarray
    ) -> tuple[dict[str, float], np.ndarray, tuple[np.ndarray, ...], np.ndarray]:
        """Response, transitions, classes and ledger of every row, in one compiled pass.

        Per row (:func:`sim.kernels.close_month`): satisfaction, share of wallet
        and AUM respond to the month; the row moves to next month's stage (drivers
        centred by ``driver_reference``; contacts enter as log(1 + contacts));
        absorbed rows lose their AUM; customers get their AUM tier and, when
        due, their A/B/C/D segment; revenue and costs are booked (new money pays
        the channel's transaction cost); and the month's head counts and the
        strategies' cohort tallies are added up.

        Returns:
            The month's flows, the mask of customers now, the census
            (:func:`sim.kernels.census`'s arrays) and the cohort tallies.
        """
        pop, scenario = self.population, self.scenario
        r, seg, econ = scenario.response, scenario.segments, scenario.economics
        response = np.array([
            r.satisfaction_price_gap_effect, r.satisfaction_wait_effect,
            r.satisfaction_complaint_effect, r.wait_tolerance_minutes, r.satisfaction_noise,
            r.satisfaction_adjustment, r.wallet_satisfaction_effect, r.wallet_price_gap_effect,
            r.wallet_adjustment, self.driver_reference["satisfaction"]], np.float64)
        sizes = np.array([len(self.stage_names), len(SEGMENTS), len(self.tier_names),
                          len(self.channel_names)])
        cohorts = self.cohort_codes()
        customers = np.empty(len(pop), np.bool_)
        noise = np.empty(len(pop))  # the response's noise, drawn in a loop of its own
        kernels.keyed_normal_into(pop.id, self._key("satisfaction"), noise)
        reference = np.array([self.driver_reference.get(d, 0.0) for d in DRIVERS])
        flow_sums, money, by_servicing, by_transaction, *census, tallies = kernels.close_month(
            pop.id, noise, self._key("transitions"), self.month, pop.stage, self.roles,
            was_customer, old_aum, was_private,
            float(self.price_gap_points), pop.yield_bump_bp, pop.price_sensitivity,
            pop.satisfaction_base, pop.wait_minutes, pop.complaints, pop.wallet_propensity,
            np.asarray(self.wallet_share_by_stage, np.float64), pop.total_wealth, response,
            pop.satisfaction, pop.share_of_wallet, pop.aum,
            pop.contacts, pop.products, reference, *self.transitions.tables,
            pop.absorbed_month, pop.months_in_stage, pop.tenure, pop.entered_month,
            pop.entry_stage,
            np.array([t.min_aum for t in scenario.tiers], np.float64),
            self.month % seg.every_months == 0, pop.age, pop.digital_adoption,
            potential_weights(scenario), float(seg.potential_threshold),
            float(seg.current_value_threshold), pop.potential_value, pop.tier, pop.segment,
            float(scenario.private_banking_threshold),
            pop.channel,
            np.array([econ.aum_margin_annual / 12.0, float(econ.fee_per_product_month),
                      float(econ.acquisition_cost)]),
            np.array([econ.servicing_cost_per_month[c] for c in self.channel_names]),
            np.array([econ.transaction_cost_per_10k[c] for c in self.channel_names]),
            pop.revenue_month, pop.cost_month, pop.is_initial, sizes, cohorts, customers,
            numba.get_num_threads())
        flows: dict[str, float] = dict(zip(kernels.FLOW_NAMES, flow_sums.tolist(), strict=True))
        for key in ("acquired", "churned", "lapsed", "tier_up", "tier_down",
                    "private_banking_up", "private_banking_down"):
            flows[key] = int(flows[key])
        for key in ("acquired", "churned", "lapsed"):
            self.tally[key] += int(flows[key])
        # AUM entering the customer set: new customers' AUM now, plus that of new
        # customers who also left this month (it is in aum_churned too)
        flows["aum_acquired"] += flows.pop("aum_churned_new")
        self._book(money, by_servicing, by_transaction)
        return flows, customers, tuple(census), tallies

    def _evaluate_labels(self, customers: np.ndarray) -> None:
        pop = self.population
        for name, expression in self.labels.items():
            setattr(pop, name, np.asarray(expression.evaluate(pop.columns(), len(pop)), bool)
                    & customers)

    def _book(self, money: np.ndarray, by_servicing: np.ndarray,
              by_transaction: np.ndarray) -> None:
        """The month's revenue and bank costs in the ledger (``_close`` added them up)."""
        led = self.ledger
        led.book("revenue", "interest_margin", float(money[0]))
        led.book("revenue", "fees", float(money[1]))
        for kind, amounts in (("servicing", by_servicing), ("transaction", by_transaction)):
            for c, name in enumerate(self.channel_names):
                led.book("cost", f"{kind}_{name}", float(amounts[c]))
        led.book("cost", "acquisition", float(money[2]))

    def _maybe_compact(self, n_absorbed: int) -> None:
        """Drop absorbed rows once they are ``COMPACT_SHARE`` of the table (archive their ids)."""
        pop = self.population
        if n_absorbed > COMPACT_SHARE * len(pop) and len(pop) > 10_000:
            absorbed = in_stages(pop.stage, self.is_absorbing_stage)
            rows = np.flatnonzero(absorbed)  # once: a boolean mask per column took 5 ms at 1.2M
            cols = pop.columns()
            self._archive.append({k: cols[k][rows] for k in ARCHIVED})
            pop.keep(~absorbed)

    # ----------------------------------------------------------------- data
    def _collect(self, flows: dict[str, float], customers: np.ndarray,
                 census: tuple[np.ndarray, ...] | None = None,
                 tallies: np.ndarray | None = None) -> None:
        self.metrics = self.metrics_builder.collect(flows, customers, census, tallies)
        self.datacollector.collect(self)

    def monthly_frame(self) -> pd.DataFrame:
        """Monthly metrics so far, one row per month (month 0 = the start)."""
        frame = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        return frame.astype({"month": "int64"})

    def absorption_records(self) -> pd.DataFrame:
        """Every row ever simulated: id, entry stage, entry and absorption month (-1 = not yet)."""
        cols = self.population.columns()
        parts = [*self._archive, {k: cols[k] for k in ARCHIVED}]
        return pd.DataFrame({k: np.concatenate([p[k] for p in parts]) for k in ARCHIVED})


def in_stages(stage: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[stage]`` for a boolean ``table`` by stage code: whether each row's stage is in it.

    Indexing by the 8-bit codes makes NumPy convert them to 64-bit indices
    first: 1.7 ms at 1.2M rows, against 0.03 ms for each comparison here.
    """
    codes = np.flatnonzero(table)
    others = np.flatnonzero(~table)
    if len(codes) > len(others):  # fewer comparisons with the stages not in it
        return ~in_stages(stage, ~table)
    mask = np.zeros(stage.shape, np.bool_)
    for code in codes.tolist():  # Python ints: compared in the column's own type
        mask |= stage == code
    return mask


def _pad(mask: np.ndarray, length: int) -> np.ndarray:
    """Extend a row mask with ``False`` for rows appended since it was taken."""
    return mask if len(mask) == length else np.concatenate(
        [mask, np.zeros(length - len(mask), bool)])
