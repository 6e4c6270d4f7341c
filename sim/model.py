"""The lifecycle model: one Mesa model, one replication, one month per step.

``LifecycleModel`` is a real :class:`mesa.Model` (seeded generators,
``DataCollector``, usable in Mesa's SolaraViz) whose customers live in a
vectorised :class:`~sim.population.Population`. One :meth:`~LifecycleModel.step`
is one month (ARCHITECTURE, "one month end to end"):

1. market — wealth drifts, new prospects arrive;
2. strategies — each switched-on strategy acts on the population;
3. channels — branch and contact capacity (a later issue; no-op for now);
4. response — satisfaction, share of wallet, AUM;
5. lifecycle — stage transitions from the base matrix and the drivers;
6. classify — A/B/C/D segments and AUM tiers;
7. ledger — revenue and costs by kind;
8. collect — one row of tidy monthly metrics.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np
import pandas as pd

from sim.dynamics import SEGMENTS, classify, drift_wealth, price_gap_points, respond
from sim.ledger import Ledger
from sim.lifecycle import TransitionTable
from sim.population import CustomerView, Population, draw_customers
from sim.schema import DRIVERS, Scenario
from sim.streams import customer_ids, keyed_normal, keyed_uniform, stream
from strategies import registry

__all__ = ["LifecycleModel"]

#: Driver references used when the scenario does not set one.
DEFAULT_DRIVER_REFERENCE = {"satisfaction": 0.7, "share_of_wallet": 0.4}
#: Compact the table when absorbed rows exceed this share of it.
COMPACT_SHARE = 0.25
#: Columns kept for absorbed rows when the table is compacted.
ARCHIVED = ("id", "entry_stage", "entered_month", "absorbed_month", "is_initial")


class LifecycleModel(mesa.Model):
    """A bank's customers moving through lifecycle stages, month by month.

    Args:
        scenario: A validated scenario.
        replication: Replication number; with the scenario seed it selects the
            random streams, so replications are independent and reproducible.
        seed: Overrides ``scenario.seed`` when given.
    """

    def __init__(self, scenario: Scenario, replication: int = 0, seed: int | None = None) -> None:
        self.scenario = scenario
        self.replication = replication
        self.seed_value = scenario.seed if seed is None else seed
        super().__init__(rng=stream(self.seed_value, replication, "mesa"))
        self._arrivals_stream = stream(self.seed_value, replication, "market/arrivals")
        life = scenario.lifecycle
        self.stage_names = life.stage_names
        self.transitions = TransitionTable(life)
        roles = self.transitions.roles
        self.is_prospect_stage = roles == "prospect"
        self.is_customer_stage = roles == "customer"
        self.is_absorbing_stage = roles == "absorbing"
        self.wallet_share_by_stage = np.array([s.wallet_share for s in life.stages])
        self.driver_reference: dict[str, float] = dict(DEFAULT_DRIVER_REFERENCE)
        self.driver_reference.update({str(k): v for k, v in life.driver_reference.items()})
        self.channel_names = list(scenario.population.channel_preference)
        self.tier_names = [t.name for t in scenario.tiers]
        self.ledger = Ledger()
        self.strategies = [registry.build(s.name, dict(s.params)) for s in scenario.strategies]
        self.month = 0
        self.tally: dict[str, int] = {"acquired": 0, "churned": 0, "lapsed": 0, "arrivals": 0}
        self._archive: list[dict[str, np.ndarray]] = []
        self.population = self._initial_population()
        classify(self.population, scenario, self.is_customer(), segments_due=True)
        self.metrics: dict[str, float] = {}
        self._flows: dict[str, float] = {}
        self.datacollector = mesa.DataCollector(model_reporters=self._reporters())
        self._collect({})

    # ----------------------------------------------------------------- setup
    def _initial_population(self) -> Population:
        spec = self.scenario.population
        rng = stream(self.seed_value, self.replication, "population")
        index = {n: i for i, n in enumerate(self.stage_names)}
        names = list(spec.initial_stages)
        shares = np.array([spec.initial_stages[n] for n in names])
        stage_codes = np.array([index[n] for n in names])
        customers = stage_codes[rng.choice(len(names), size=spec.size, p=shares / shares.sum())]
        prospect_stage = self._arrival_stage() if self.is_prospect_stage.any() else -1
        stages = np.concatenate([customers, np.full(spec.prospects, prospect_stage)])
        pop = self._draw(stages, rng, source=0)
        pop.is_initial = self.is_customer_stage[pop.stage]
        pop.tenure = np.where(pop.is_initial, rng.integers(0, 120, len(pop)), 0)
        return pop

    def _arrival_stage(self) -> int:
        return self.stage_names.index(self.scenario.market.arrival_stage)

    def _draw(
        self, stages: np.ndarray, rng: np.random.Generator, source: int, arriving: bool = False
    ) -> Population:
        spec = self.scenario.population
        if arriving and self.scenario.market.arrival_age is not None:
            spec = spec.model_copy(update={"age": self.scenario.market.arrival_age})
        pop = draw_customers(
            spec, stages, self.wallet_share_by_stage, rng,
            ids=customer_ids(self.month, source, len(stages)), month=self.month,
        )
        pop.products = np.where(self.is_prospect_stage[pop.stage], 0, pop.products)
        return pop

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

    def drivers(self) -> dict[str, np.ndarray]:
        """Centred driver values per customer (see :mod:`sim.lifecycle`)."""
        pop = self.population
        ref = self.driver_reference
        raw = {
            "satisfaction": pop.satisfaction,
            "share_of_wallet": pop.share_of_wallet,
            "price_gap": price_gap_points(self.scenario) * pop.price_sensitivity,
            "contact": pop.contacts,
            "wait": pop.wait_minutes,
            "complaints": pop.complaints,
        }
        used = self.transitions.drivers_used
        return {d: raw[d] - ref.get(d, 0.0) for d in DRIVERS if d in used}

    def keyed_uniform(self, purpose: str) -> np.ndarray:
        """One U(0, 1) draw per row this month, keyed by customer id (see :mod:`sim.streams`)."""
        return keyed_uniform(
            self.seed_value, self.replication, purpose, self.month, self.population.id
        )

    def keyed_normal(self, purpose: str) -> np.ndarray:
        """One N(0, 1) draw per row this month, keyed by customer id."""
        return keyed_normal(
            self.seed_value, self.replication, purpose, self.month, self.population.id
        )

    # ----------------------------------------------------------------- month
    def step(self) -> None:
        """Simulate one month."""
        self.month += 1
        pop = self.population
        was_customer = self.is_customer()
        aum_start = float(pop.aum[was_customer].sum())
        self._market()
        was_customer = np.concatenate([was_customer, np.zeros(len(pop) - len(was_customer), bool)])
        aum_after_market = float(pop.aum[was_customer].sum())
        pop.contacts[:] = 0.0
        for strategy in self.strategies:
            strategy.apply(self)
        old_aum = pop.aum.copy()
        respond(pop, self.scenario, self.wallet_share_by_stage,
                self.driver_reference["satisfaction"], self.keyed_normal("satisfaction"))
        inflow = np.maximum(pop.aum - old_aum, 0.0) * was_customer
        aum_after_response = float(pop.aum[was_customer].sum())
        old_tier, old_aum = pop.tier.copy(), pop.aum.copy()
        flows = self._transitions()
        classify(pop, self.scenario, self.is_customer(),
                 segments_due=self.month % self.scenario.segments.every_months == 0)
        flows.update(self._migrations(old_tier, old_aum))
        flows.update(
            aum_market=aum_after_market - aum_start,
            aum_net_flow=aum_after_response - aum_after_market,
        )
        self._book(inflow, flows["acquired"])
        self._collect(flows)
        self._maybe_compact()

    def _market(self) -> None:
        pop = self.population
        drift_wealth(pop, self.scenario, self.keyed_normal("wealth"))
        np.multiply(pop.total_wealth, pop.share_of_wallet, out=pop.aum)
        rate = self.scenario.market.prospect_arrivals_per_month
        arrivals = int(self._arrivals_stream.poisson(rate))
        self.tally["arrivals"] += arrivals
        if arrivals:
            stage = self._arrival_stage()
            rng = stream(self.seed_value, self.replication, f"market/arrivals/{self.month}")
            new = self._draw(np.full(arrivals, stage), rng, source=1, arriving=True)
            pop.append(new)
            if self.is_customer_stage[stage]:
                self._arrived_as_customers = arrivals
                return
        self._arrived_as_customers = 0

    def _transitions(self) -> dict[str, Any]:
        pop = self.population
        old = pop.stage
        uniforms = self.keyed_uniform("transitions")
        new = self.transitions.step(old, self.drivers(), uniforms)
        moved = new != old
        from_prospect = self.is_prospect_stage[old]
        to_customer = self.is_customer_stage[new]
        to_absorbing = self.is_absorbing_stage[new] & moved
        acquired_mask = from_prospect & to_customer
        churned_mask = self.is_customer_stage[old] & to_absorbing
        lapsed_mask = from_prospect & to_absorbing
        aum_churned = float(pop.aum[churned_mask].sum())
        pop.aum[to_absorbing] = 0.0
        pop.share_of_wallet[to_absorbing] = 0.0
        pop.absorbed_month[to_absorbing] = self.month
        pop.products[acquired_mask] = 1
        pop.stage = new
        pop.months_in_stage = np.where(moved, 0, pop.months_in_stage + 1)
        pop.tenure += self.is_customer_stage[new]
        acquired = int(acquired_mask.sum()) + self._arrived_as_customers
        churned, lapsed = int(churned_mask.sum()), int(lapsed_mask.sum())
        for key, value in (("acquired", acquired), ("churned", churned), ("lapsed", lapsed)):
            self.tally[key] += value
        return {"acquired": acquired, "churned": churned, "lapsed": lapsed,
                "aum_churned": aum_churned}

    def _migrations(self, old_tier: np.ndarray, old_aum: np.ndarray) -> dict[str, int]:
        pop = self.population
        stay = self.is_customer() & (old_tier >= 0)
        threshold = self.scenario.private_banking_threshold
        n_new = len(pop) - len(old_tier)
        if n_new:  # rows appended this month have no previous tier
            stay[-n_new:] = False
            old_tier = np.concatenate([old_tier, np.full(n_new, -1)])
            old_aum = np.concatenate([old_aum, np.zeros(n_new)])
        return {
            "tier_up": int((stay & (pop.tier > old_tier)).sum()),
            "tier_down": int((stay & (pop.tier < old_tier)).sum()),
            "private_banking_up": int(
                (stay & (old_aum < threshold) & (pop.aum >= threshold)).sum()
            ),
            "private_banking_down": int(
                (stay & (old_aum >= threshold) & (pop.aum < threshold)).sum()
            ),
        }

    def _book(self, inflow: np.ndarray, acquired: int) -> None:
        pop, econ, led = self.population, self.scenario.economics, self.ledger
        cust = self.is_customer()
        led.book("revenue", "interest_margin",
                 float(pop.aum[cust].sum()) * econ.aum_margin_annual / 12.0)
        led.book("revenue", "fees", float(pop.products[cust].sum()) * econ.fee_per_product_month)
        n_channels = len(self.channel_names)
        users = np.bincount(pop.channel[cust], minlength=n_channels)
        inflow_by_channel = np.bincount(pop.channel, weights=inflow, minlength=n_channels)
        for c, name in enumerate(self.channel_names):
            led.book("cost", f"servicing_{name}",
                     users[c] * econ.servicing_cost_per_month[name])
            led.book("cost", f"transaction_{name}",
                     inflow_by_channel[c] / 10_000.0 * econ.transaction_cost_per_10k[name])
        led.book("cost", "acquisition", acquired * econ.acquisition_cost)

    def _maybe_compact(self) -> None:
        pop = self.population
        absorbed = self.is_absorbing_stage[pop.stage]
        if absorbed.sum() > COMPACT_SHARE * len(pop) and len(pop) > 10_000:
            cols = pop.columns()
            self._archive.append({k: cols[k][absorbed] for k in ARCHIVED})
            pop.keep(~absorbed)

    # ----------------------------------------------------------------- data
    def _ledger_columns(self) -> list[str]:
        cols = ["revenue_interest_margin", "revenue_fees"]
        cols += [f"cost_servicing_{c}" for c in self.channel_names]
        cols += [f"cost_transaction_{c}" for c in self.channel_names]
        cols += ["cost_acquisition"] + [f"cost_strategy_{s.name}" for s in self.strategies]
        return cols

    def _metric_names(self) -> list[str]:
        names = ["month", "customers", "prospects", "initial_customers_active"]
        names += [f"stage_{s}" for s in self.stage_names]
        names += [f"segment_{s}" for s in SEGMENTS] + [f"tier_{t}" for t in self.tier_names]
        names += [f"channel_{c}" for c in self.channel_names]
        names += ["arrivals", "acquired", "churned", "lapsed", "tier_up", "tier_down",
                  "private_banking_up", "private_banking_down", "private_banking_customers",
                  "aum", "aum_market", "aum_net_flow", "aum_churned", "mean_satisfaction",
                  "mean_share_of_wallet"]
        names += [*self._ledger_columns(), "revenue", "cost", "profit"]
        return names

    def _reporters(self) -> dict[str, Any]:
        return {name: (lambda m, n=name: m.metrics[n]) for name in self._metric_names()}

    def _collect(self, flows: dict[str, Any]) -> None:
        pop = self.population
        cust = self.is_customer()
        m: dict[str, float] = dict.fromkeys(self._metric_names(), 0.0)
        m["month"] = self.month
        m["customers"] = int(cust.sum())
        m["prospects"] = int(self.is_prospect_stage[pop.stage].sum())
        m["initial_customers_active"] = int((cust & pop.is_initial).sum())
        stage_counts = np.bincount(pop.stage, minlength=len(self.stage_names))
        stage_counts[self.is_absorbing_stage] = 0
        for i, s in enumerate(self.stage_names):
            m[f"stage_{s}"] = int(stage_counts[i])
        seg_counts = np.bincount(pop.segment[cust], minlength=4)
        tier_counts = np.bincount(pop.tier[cust], minlength=len(self.tier_names))
        chan_counts = np.bincount(pop.channel[cust], minlength=len(self.channel_names))
        m.update({f"segment_{s}": int(seg_counts[i]) for i, s in enumerate(SEGMENTS)})
        m.update({f"tier_{t}": int(tier_counts[i]) for i, t in enumerate(self.tier_names)})
        m.update({f"channel_{c}": int(chan_counts[i]) for i, c in enumerate(self.channel_names)})
        m["churned"] = 0
        m.update({k: v for k, v in flows.items() if k in m})
        m["arrivals"] = self.tally["arrivals"] - getattr(self, "_arrivals_seen", 0)
        self._arrivals_seen = self.tally["arrivals"]
        m["private_banking_customers"] = int(
            (cust & (pop.aum >= self.scenario.private_banking_threshold)).sum())
        m["aum"] = float(pop.aum[cust].sum())
        m["mean_satisfaction"] = float(pop.satisfaction[cust].mean()) if cust.any() else 0.0
        m["mean_share_of_wallet"] = float(pop.share_of_wallet[cust].mean()) if cust.any() else 0.0
        for (side, kind, owner), amount in self.ledger.close_month().items():
            key = f"{side}_{kind}" if owner == "bank" else f"cost_strategy_{owner}"
            m[key] = m.get(key, 0.0) + amount
        ledger_cols = self._ledger_columns()
        m["revenue"] = sum(m[c] for c in ledger_cols if c.startswith("revenue_"))
        m["cost"] = sum(m[c] for c in ledger_cols if c.startswith("cost_"))
        m["profit"] = m["revenue"] - m["cost"]
        self.metrics = m
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
