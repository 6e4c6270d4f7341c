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
6. classify — A/B/C/D segments, AUM tiers and labels;
7. ledger — revenue and costs by kind, per customer and in total;
8. collect — one row of tidy monthly metrics (:mod:`sim.metrics`).
"""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd

from sim import kernels
from sim.channels import ChannelSystem
from sim.dynamics import classify, respond, wealth_walk
from sim.ledger import Ledger
from sim.lifecycle import TransitionTable
from sim.metrics import MonthlyMetrics
from sim.population import CustomerView, Population, draw_customers
from sim.schema import Scenario
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
        customers = self.is_customer()
        classify(self.population, scenario, customers, segments_due=True)
        self._evaluate_labels(customers)
        self.metrics_builder = MonthlyMetrics(self)
        self.metrics: dict[str, float] = {}
        self.datacollector = mesa.DataCollector(model_reporters=self.metrics_builder.reporters())
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
            pop.fill(first, self._draw(chunk, rng, source=0, first=first))
        pop.is_initial = self.is_customer_stage[pop.stage]
        pop.tenure = np.where(pop.is_initial, rng.integers(0, 120, len(pop)), 0)
        return pop

    def _arrival_stage(self) -> int:
        return self.stage_names.index(self.scenario.market.arrival_stage)

    def _draw(
        self, stages: np.ndarray, rng: np.random.Generator, source: int, arriving: bool = False,
        first: int = 0,
    ) -> Population:
        spec = self.scenario.population
        if arriving and self.scenario.market.arrival_age is not None:
            spec = spec.model_copy(update={"age": self.scenario.market.arrival_age})
        pop = draw_customers(
            spec, stages, self.wallet_share_by_stage, rng,
            ids=customer_ids(self.month, source, len(stages), first), month=self.month,
        )
        pop.products = np.where(self.is_prospect_stage[pop.stage], 0, pop.products)
        if self.shard is not None:  # issue 7: the shard's own branches; its number in the ids
            self.shard.adopt(pop, rng)
        return pop

    def add_prospects(self, count: int, source: int, purpose: str) -> None:
        """Append ``count`` new rows in the arrival stage (market arrivals, referrals)."""
        if count <= 0:
            return
        stage = self._arrival_stage()
        first = self._added.get((self.month, source), 0)  # earlier calls this month
        self._added[(self.month, source)] = first + count
        rng = stream(self.seed_value, self.replication,
                     f"{purpose}/{self.month}/{first}{self._tag}")
        self.population.append(
            self._draw(np.full(count, stage), rng, source, arriving=True, first=first))
        self.tally["arrivals"] += count

    # ----------------------------------------------------------------- helpers
    def is_customer(self) -> np.ndarray:
        """Mask of rows that are customers now (not prospects, not absorbed)."""
        return self.is_customer_stage[self.population.stage]

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
        was_customer = self.is_customer()
        aum_start = kernels.masked_sum(pop.aum, was_customer)
        self._market()
        self._reset_month()
        aum_after_market = kernels.masked_sum(pop.aum, _pad(was_customer, len(pop)))
        # money strategies move in (vouchers) is new money too: snapshot before they act
        old_aum = pop.aum.copy()
        # strategies that opt customers out of marketing (abandon_d) act first
        customers = self.is_customer()
        for runtime in sorted(self.strategies, key=lambda r: r.respects_opt_out):
            customers = _pad(customers, len(pop))  # rows a strategy added are prospects
            runtime.act(self, customers)
        if self.channels is not None:
            self.channels.serve(self)
        was_customer = _pad(was_customer, len(pop))
        old_aum = np.concatenate([old_aum, pop.aum[len(old_aum):]])
        respond(pop, self.scenario, self.wallet_share_by_stage, self.price_gap_points,
                self.driver_reference["satisfaction"], self._key("satisfaction"))
        inflow = np.maximum(pop.aum - old_aum, 0.0) * was_customer
        aum_after_response = kernels.masked_sum(pop.aum, was_customer)
        old_tier, old_aum = pop.tier.copy(), pop.aum.copy()
        flows, acquired, churn_aum_new = self._transitions(was_customer)
        customers = self.is_customer()
        classify(pop, self.scenario, customers,
                 segments_due=self.month % self.scenario.segments.every_months == 0)
        self._evaluate_labels(customers)
        flows.update(self._migrations(old_tier, old_aum, customers))
        flows.update(aum_market=aum_after_market - aum_start,
                     aum_net_flow=aum_after_response - aum_after_market,
                     # AUM entering the customer set: new customers' AUM now, plus that of
                     # new customers who also left this month (it is in aum_churned too)
                     aum_acquired=(kernels.masked_sum(pop.aum, customers & ~was_customer)
                                   + churn_aum_new))
        self._book(inflow, acquired, customers)
        self._collect(flows, customers)
        self._maybe_compact()

    def _market(self) -> None:
        pop = self.population
        mu, sigma = wealth_walk(self.scenario)
        kernels.drift_rows(pop.id, self._key("wealth"), mu, sigma, pop.total_wealth, pop.age,
                           pop.share_of_wallet, pop.aum)
        rate = self.scenario.market.prospect_arrivals_per_month
        if self.shard is not None:  # issue 7: the shard's part of the bank's arrivals
            rate *= self.shard.parts["arrivals"]
        arrivals = int(self._arrivals_stream.poisson(rate))
        self.add_prospects(arrivals, source=1, purpose="market/arrivals")
        # payments this month: the expected number, rounded up or down at random (mean kept)
        # (payments_ytd restarts with a new calendar year: DOMAIN §6 "this year")
        pop = self.population
        kernels.payments_rows(
            pop.id, self._key("payments"), pop.stage, self.is_customer_stage, pop.activity_rate,
            float(self.scenario.population.activity.payment_share), self.month % 12 == 1,
            pop.payments_month, pop.payments_ytd)

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

    def _transitions(self, was_customer: np.ndarray) -> tuple[dict[str, float], np.ndarray, float]:
        """Move every row to next month's stage.

        Returns:
            Flow counts and churned AUM, the mask of rows acquired this month,
            and the churned AUM of rows that were not customers at the start.
        """
        pop = self.population
        old = pop.stage
        # drivers per row inside the sampler (see sim.lifecycle): centred by driver_reference;
        # contacts enter as log(1 + contacts), each extra contact mattering less
        new = self.transitions.step_columns(
            old, (pop.id, self._key("transitions")), pop.columns(), self.price_gap_points,
            self.driver_reference)
        acquired = np.empty(len(pop), np.bool_)
        n_acquired, churned, lapsed, aum_churned, aum_churned_new = kernels.settle_transitions(
            old, new, self.roles, self.month, was_customer, pop.aum, pop.share_of_wallet,
            pop.absorbed_month, pop.products, pop.months_in_stage, pop.tenure,
            pop.entered_month, pop.entry_stage, acquired)
        pop.stage = new
        counts = {"acquired": n_acquired, "churned": churned, "lapsed": lapsed}
        for key, value in counts.items():
            self.tally[key] += value
        return {**counts, "aum_churned": aum_churned}, acquired, aum_churned_new


    def _migrations(
        self, old_tier: np.ndarray, old_aum: np.ndarray, customers: np.ndarray
    ) -> dict[str, int]:
        pop = self.population
        stay = customers & (old_tier >= 0)
        threshold = self.scenario.private_banking_threshold
        up = (old_aum < threshold) & (pop.aum >= threshold)
        down = (old_aum >= threshold) & (pop.aum < threshold)
        return {
            "tier_up": int((stay & (pop.tier > old_tier)).sum()),
            "tier_down": int((stay & (pop.tier < old_tier)).sum()),
            "private_banking_up": int((stay & up).sum()),
            "private_banking_down": int((stay & down).sum()),
        }

    def _evaluate_labels(self, customers: np.ndarray) -> None:
        pop = self.population
        for name, expression in self.labels.items():
            setattr(pop, name, np.asarray(expression.evaluate(pop.columns(), len(pop)), bool)
                    & customers)

    def _book(self, inflow: np.ndarray, acquired: np.ndarray, customers: np.ndarray) -> None:
        """Revenue and bank costs per customer, then in total in the ledger (one pass)."""
        pop, econ, led = self.population, self.scenario.economics, self.ledger
        servicing = np.array([econ.servicing_cost_per_month[c] for c in self.channel_names])
        per_10k = np.array([econ.transaction_cost_per_10k[c] for c in self.channel_names])
        interest, fees, acquisition, by_servicing, by_transaction = kernels.book_rows(
            customers, pop.aum, inflow, pop.products, pop.channel, acquired,
            econ.aum_margin_annual / 12.0, float(econ.fee_per_product_month), servicing,
            per_10k, float(econ.acquisition_cost), pop.revenue_month, pop.cost_month)
        led.book("revenue", "interest_margin", interest)
        led.book("revenue", "fees", fees)
        for kind, amounts in (("servicing", by_servicing), ("transaction", by_transaction)):
            for c, name in enumerate(self.channel_names):
                led.book("cost", f"{kind}_{name}", float(amounts[c]))
        led.book("cost", "acquisition", acquisition)

    def _maybe_compact(self) -> None:
        pop = self.population
        absorbed = self.is_absorbing_stage[pop.stage]
        if absorbed.sum() > COMPACT_SHARE * len(pop) and len(pop) > 10_000:
            cols = pop.columns()
            self._archive.append({k: cols[k][absorbed] for k in ARCHIVED})
            pop.keep(~absorbed)

    # ----------------------------------------------------------------- data
    def _collect(self, flows: dict[str, float], customers: np.ndarray) -> None:
        self.metrics = self.metrics_builder.collect(flows, customers)
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


def _pad(mask: np.ndarray, length: int) -> np.ndarray:
    """Extend a row mask with ``False`` for rows appended since it was taken."""
    return mask if len(mask) == length else np.concatenate(
        [mask, np.zeros(length - len(mask), bool)])
