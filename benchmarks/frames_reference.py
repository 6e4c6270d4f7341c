"""The lifecycle and the playbook's strategies on mesa-frames: one polars DataFrame of customers.

This is :mod:`benchmarks.reference_agents` — the same market, response,
lifecycle, classification and ledger, and with ``--scenario
scenarios/abc_d_playbook.yaml`` the strategies of
:mod:`benchmarks.reference_strategies` — written the way a mesa-frames user
would: a :class:`mesa_frames.ModelDF` holding one
:class:`mesa_frames.AgentSetPolars` whose agents are the rows of a polars
DataFrame, and whose ``step`` is a handful of vectorised polars expressions
(one lazy query per month, then one aggregation). It exists to measure
clmsim against mesa-frames on the same model (issue 7); ``benchmarks/frames.py``
runs it in a subprocess and compares.

**Its own environment.** mesa-frames 0.1.0a0 (the release on the registry)
requires ``numpy~=1.26``, while clmsim's environment has numpy 2 and pyarrow
26 (which refuses numpy 1.26). So this file runs in a separate virtual
environment and imports nothing from ``sim`` or the ``benchmarks`` package:
``import sim.scenario`` there fails with ``ModuleNotFoundError: No module
named 'mesa'`` (``sim/__init__`` imports the model, hence Mesa, SciPy and
SimPy). It reads the scenario with PyYAML through the sibling module
``frames_scenario.py`` (standard library and PyYAML only): ``extends:``
merged as ``sim.scenario`` merges it, the bank scaled, and the strategies'
parameter defaults restated there in one marked place —
``benchmarks/frames.py`` checks them against the plugins' own before it
compares or times anything. It uses the schema's defaults for keys the file
leaves out::

    python -m venv .venv-mf
    .venv-mf/bin/pip install -r benchmarks/requirements-mesa-frames.txt
    .venv-mf/bin/python benchmarks/frames_reference.py --size 100000 --months 24

**Same bank, same counting as** ``benchmarks/engine.py``: a size of ``N``
customers scales the scenario's prospects, monthly arrivals, RM hours
(``capacity``) and every strategy's monthly and total budget by
``N / population.size`` to three significant figures; a customer-month is a
live row (customer or prospect, not absorbed) processed by a month's step —
the rows live at the start of the month plus the month's arrivals; the rate is
customer-months per second inside ``model.step()``.

**What the model does each month** (as ``reference_agents.Customer.step``):
arrivals join in the arrival stage (they skip this month's market move);
total wealth takes a step of its geometric random walk and age advances;
satisfaction relaxes toward the customer's baseline less the price gap, share
of wallet toward the stage's share, AUM follows; one stage transition by the
multinomial logit of :mod:`sim.lifecycle` (drivers: satisfaction, share of
wallet, price gap, log(1 + contacts), wait, complaints, products, centred as
in the scenario); tiers every month, segments when the review is due; the
census and ledger of ``ReferenceModel`` (same metric names). Absorbed rows
(churned customers, lapsed prospects) leave the DataFrame, as agents leave
``model.agents`` in the reference; counts of them by entry cohort and stage
are kept for the agreement check.

**Strategies** (``--scenario scenarios/abc_d_playbook.yaml``: abandon_d,
cross_sell, voucher, pricing_subsidy, outreach, decline_response,
tiered_service; no others, no channels, no target ``labels`` or ``where``).
The month's lazy query is cut after the market: the frame is collected with
this month's ``contacts`` and ``yield_bump_bp`` at zero and AUM at its
market value, each strategy acts on it in the scenario's order (those that
ignore the marketing opt-out, abandon_d, first), then the response — whose
price gap now subtracts the customer's yield bump — and the rest of the
month run as a second lazy query. A strategy (:class:`FramesStrategy`) is
polars operations over the whole frame: its target is one boolean
expression (customer, stage, segment, tier, channel; not opted out by
abandon_d); a customer targeted for the first time joins the hold-out
(``cohort_<i>`` = 2) with probability ``holdout``, one draw kept for good,
else the treated group (1); the effect is the plugin's equations on
boolean masks (``when/then`` updates of the rows concerned); every payment
goes through :meth:`FramesStrategy.fund`: if the wanted rows' costs exceed
what is left of the monthly or total budget, they are filtered out with
their row number, sorted by the budget's priority (stable) and the prefix
whose cumulative sum fits is paid. Calls and visits first draw on the
month's RM minutes (``capacity.rm_hours_per_month``, shared by the
strategies in order) the same way. Costs are booked per strategy and kind;
counts (targeted, hold-out, treated, funded, contacts) and the cohorts'
uplift tallies use clmsim's metric names. Per-customer memory (the month
of the last voucher, rescue, service fix) is a column per item.

Differences that favour mesa-frames: the model is not shuffled (customers do
not interact, and clmsim does not shuffle either); payments, labels and
per-customer revenue/cost columns, which clmsim's step also computes, are
not computed (the reference does not have them); absorbed rows are dropped by
assigning the filtered DataFrame (``AgentSetPolars.agents = ...``, the pattern
of mesa-frames' own docstring) and marking all rows active (``select()``)
rather than by ``AgentSetPolars.remove(ids)``, which goes through
``model.agents`` and costs several hash joins a month (``--drop remove``
measures that way). Per-stage constants are looked up with ``gather`` on the
stage column, not a ``when/then`` chain per stage (five times slower at 1M
rows). Random draws come from the model's numpy generator
(``ModelDF.random``), three arrays a month, and with strategies one array a
decision for just the rows that need it (hold-out newcomers, movers,
offers accepted...). With strategies, clmsim also keeps per-row revenue and
cost columns and tracks the prospects a strategy brings in (``referral``,
not in the playbook: its tallies stay zero); this model does neither — it
sums the cohorts' uplift tallies straight from the month's frame.

Polars runs expressions on a thread pool (``POLARS_MAX_THREADS``, default one
thread per core); the JSON output records its size.

Usage::

    python benchmarks/frames_reference.py --size 100000 --months 24
    python benchmarks/frames_reference.py --size 20000 --seeds 11 12 --detail --out f.json
    python benchmarks/frames_reference.py --scenario scenarios/abc_d_playbook.yaml

Prints (or writes to ``--out``) one JSON document: the scaling, the timing of
each seed's run, and with ``--detail`` the monthly metrics and the end state
used by the agreement check in ``benchmarks/frames.py``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from mesa_frames import AgentSetPolars, ModelDF

if str(Path(__file__).resolve().parent) not in sys.path:  # frames_scenario sits beside us
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from frames_scenario import read_scenario, scaling_summary
from frames_strategies import FRAMES_STRATEGIES, NEVER, UPLIFT, FramesStrategy, build_strategies

__all__ = ["FRAMES_STRATEGIES", "Customers", "FramesModel", "FramesStrategy", "main",
           "read_baseline", "run"]

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
#: Drivers in the order of ``sim.schema.DRIVERS``.
DRIVERS = ("satisfaction", "share_of_wallet", "price_gap", "contact", "wait", "complaints",
           "products")
#: Driver centring when the scenario does not set one (as in sim.model and the reference).
DEFAULT_DRIVER_REFERENCE = {"satisfaction": 0.7, "share_of_wallet": 0.4, "products": 2.0}
SEGMENTS = ("A", "B", "C", "D")


# ------------------------------------------------------------------ scenario
def read_baseline(path: Path, size: int, months: int) -> dict[str, Any]:
    """Read the scenario YAML and scale it to ``size`` customers, as ``baseline_overrides`` does.

    ``extends`` is merged, budgets, RM hours and strategy defaults filled in
    by :func:`frames_scenario.read_scenario`. Keys the file leaves out take the
    defaults of ``sim/schema.py`` where this model reads them (age min/max
    18/90, channel utilities' ``digital`` and ``age`` 0, ``population.branches``
    1, ``products_mean`` 1.5, the response effects 0, ``segments.every_months``
    1, ``market.arrival_age`` = ``population.age``).
    """
    return read_scenario(path, size, months)


def _age(spec: dict[str, float]) -> dict[str, float]:
    return {"mean": spec["mean"], "sd": spec["sd"], "min": spec.get("min", 18.0),
            "max": spec.get("max", 90.0)}


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _clip(expr: pl.Expr) -> pl.Expr:
    return expr.clip(0.0, 1.0)


# ------------------------------------------------------------------ agents
class Customers(AgentSetPolars):
    """Every customer and prospect: one row of a polars DataFrame each."""

    def __init__(self, model: FramesModel) -> None:
        super().__init__(model)
        self.fmodel = model

    # ----------------------------------------------------------- drawing
    def draw(self, stages: np.ndarray, age: dict[str, float], initial: bool) -> pl.DataFrame:
        """New rows in ``stages`` with the scenario's attribute distributions (vectorised)."""
        m = self.fmodel
        rng, spec, n = m.random, m.data["population"], len(stages)
        ages = np.clip(rng.normal(age["mean"], age["sd"], n), age["min"], age["max"])
        w = spec["total_wealth"]
        log_median = math.log(w["median_at_30"]) + w.get("growth_per_year_of_age", 0.0) * (
            np.minimum(ages, w.get("peak_age", 60.0)) - 30.0)
        wealth = np.exp(log_median + w["sigma"] * rng.standard_normal(n))
        d = spec["digital_adoption"]
        digital = _expit(d["logit_at_30"] + d["age_slope"] * (ages - 30.0)
                         + d.get("noise_sd", 1.0) * rng.standard_normal(n))
        s = spec["share_of_wallet"]
        wallet_mean = _expit(_logit(s["mean"])
                             + s.get("wealth_effect", 0.0) * np.log(wealth / w["median_at_30"])
                             + s.get("age_effect", 0.0) * (ages - 40.0))
        propensity = self._beta(wallet_mean, s["concentration"], n)
        utilities = np.column_stack([
            u["intercept"] + u.get("digital", 0.0) * digital + u.get("age", 0.0) * (ages - 40.0)
            for u in spec["channel_preference"].values()
        ]) + rng.gumbel(size=(n, len(m.channel_names)))
        p = spec["price_sensitivity"]
        price_mean = _expit(_logit(p["mean"]) + p.get("elsewhere_effect", 0.0)
                            * (0.5 - propensity))
        satisfaction = self._beta(spec["satisfaction"]["mean"],
                                  spec["satisfaction"]["concentration"], n)
        a = spec["activity"]
        products = 1 + rng.poisson(max(spec.get("products_mean", 1.5) - 1.0, 0.0), n)
        is_customer = m.is_customer_stage[stages]
        is_prospect = m.is_prospect_stage[stages]
        share = propensity * m.wallet_share[stages]
        first = m.next_id
        m.next_id += n
        return pl.DataFrame({
            "unique_id": np.arange(first, first + n, dtype=np.int64),
            "stage": stages.astype(np.int8),
            "entry_stage": stages.astype(np.int8),
            "months_in_stage": np.zeros(n, np.int16),
            "tenure": np.where(initial & is_customer, rng.integers(0, 120, n), 0).astype(np.int16),
            "entered_month": np.full(n, m.month, np.int16),
            "is_initial": initial & is_customer,
            "age": ages,
            "total_wealth": wealth,
            "wallet_propensity": propensity,
            "share_of_wallet": share,
            "aum": wealth * share,
            "satisfaction": satisfaction,
            "satisfaction_base": satisfaction,
            "digital_adoption": digital,
            "channel": utilities.argmax(axis=1).astype(np.int8),
            "price_sensitivity": self._beta(price_mean, p["concentration"], n),
            "activity_rate": a["base_per_month"] * np.exp(a.get("digital_effect", 0.0)
                                                          * (digital - 0.5)),
            "branch": rng.integers(0, spec.get("branches", 1), n).astype(np.int16),
            "products": np.where(is_prospect, 0, products).astype(np.int16),
            "potential_value": np.zeros(n),
            "segment": np.full(n, -1, np.int8),
            "tier": np.full(n, -1, np.int8),
            "contacts": np.zeros(n),
            "wait_minutes": np.zeros(n),
            "complaints": np.zeros(n),
            **m.strategy_columns(n),
        })

    def _beta(self, mean: np.ndarray | float, concentration: float, n: int) -> np.ndarray:
        mean = np.clip(np.broadcast_to(mean, (n,)), 1e-6, 1.0 - 1e-6)
        return self.fmodel.random.beta(mean * concentration, (1.0 - mean) * concentration)

    # ----------------------------------------------------------- one month
    def step(self) -> None:
        """Market, response, lifecycle and classification of every row: one lazy query.

        With strategies the query is cut after the market: the frame is
        collected, the strategies act on it (:meth:`FramesModel.run_strategies`),
        and the rest of the month is a second lazy query.
        """
        m = self.fmodel
        rng, n = m.random, len(self)
        col = pl.col
        shocks = pl.DataFrame({
            "_z_wealth": rng.standard_normal(n),
            "_z_satisfaction": rng.standard_normal(n),
            "_u": rng.random(n),
        })
        arrived = col("entered_month") == m.month
        stage = col("stage")
        was = stage.cast(pl.Int32)
        plan = (
            pl.concat([self.agents, shocks], how="horizontal").lazy()
            .with_columns(  # market: arrivals join after it moved
                total_wealth=col("total_wealth") * pl.when(arrived).then(1.0).otherwise(
                    (m.drift_mu + m.drift_sigma * col("_z_wealth")).exp()),
                age=col("age") + pl.when(arrived).then(0.0).otherwise(1.0 / 12.0),
                _was_customer=was.is_in(m.customer_codes),
                _was_prospect=was.is_in(m.prospect_codes),
                _aum_start=col("aum"),
                _old_tier=col("tier"),
            )
            .with_columns(_aum_market=col("total_wealth") * col("share_of_wallet"))
        )
        if m.strategies:  # the market's AUM; this month's contacts and yield bumps start at 0
            frame = plan.with_columns(aum=col("_aum_market"), contacts=0.0,
                                      yield_bump_bp=0.0).collect()
            plan = m.run_strategies(frame).lazy()
            gap = (m.price_gap_points - col("yield_bump_bp") / 100.0) * col("price_sensitivity")
        else:
            gap = m.price_gap_points * col("price_sensitivity")
        plan = (
            plan
            .with_columns(_gap=gap)
            .with_columns(
                satisfaction=_clip(col("satisfaction") + m.response["satisfaction_adjustment"] * (
                    col("satisfaction_base")
                    + m.response["satisfaction_price_gap_effect"] * col("_gap")
                    - col("satisfaction"))
                    + m.response["satisfaction_noise"] * col("_z_satisfaction")),
            )
            .with_columns(_wallet_target=col("wallet_propensity")
                          * pl.lit(pl.Series(m.wallet_share)).gather(stage)
                          * (1.0 + m.response["wallet_satisfaction_effect"]
                             * (col("satisfaction") - m.satisfaction_reference)))
            .with_columns(_wallet_target=_clip(
                pl.when(col("_wallet_target") > 0.0)
                .then(col("_wallet_target") + m.response["wallet_price_gap_effect"] * col("_gap"))
                .otherwise(col("_wallet_target"))))
            .with_columns(share_of_wallet=_clip(
                col("share_of_wallet")
                + m.response["wallet_adjustment"] * (col("_wallet_target")
                                                     - col("share_of_wallet"))))
            .with_columns(aum=col("total_wealth") * col("share_of_wallet"))
        )
        for columns in m.transition_steps():
            plan = plan.with_columns(**columns)
        plan = (
            plan
            .with_columns(
                _moved=col("_new_stage") != was,
                _absorbed=col("_new_stage").is_in(m.absorbing_codes),
                _is_customer=col("_new_stage").is_in(m.customer_codes),
                _aum_response=col("aum"),
            )
            .with_columns(
                _churned=col("_was_customer") & col("_absorbed"),
                _lapsed=col("_was_prospect") & col("_absorbed"),
                _acquired=col("_was_prospect") & col("_is_customer"),
            )
            .with_columns(
                stage=col("_new_stage").cast(pl.Int8),
                months_in_stage=pl.when(col("_moved")).then(0)
                .otherwise(col("months_in_stage") + 1).cast(pl.Int16),
                tenure=(col("tenure") + col("_is_customer").cast(pl.Int16)),
                products=pl.when(col("_acquired")).then(1).otherwise(col("products"))
                .cast(pl.Int16),
                aum=pl.when(col("_absorbed")).then(0.0).otherwise(col("aum")),
                share_of_wallet=pl.when(col("_absorbed")).then(0.0)
                .otherwise(col("share_of_wallet")),
            )
            .with_columns(m.classify_exprs())
        )
        frame = plan.collect()
        m.account(frame)
        if m.drop == "remove":  # mesa-frames' removal by id, through model.agents
            self.agents = frame.select(self.agents.columns)  # same rows: the mask stays valid
            self.remove(frame.filter(col("_absorbed"))["unique_id"])
        else:  # assign the live rows, then mark every row active (resets the mask)
            self.agents = frame.filter(~col("_absorbed")).select(self.agents.columns)
            self.select()


class FramesModel(ModelDF):
    """The lifecycle, and the scenario's strategies if it has some, on mesa-frames.

    Args:
        data: The scenario mapping from :func:`read_baseline`.
        seed: Seeds ``ModelDF.random`` (numpy) together with ``replication``.
        replication: Replication number.
        drop: How absorbed rows leave: ``"filter"`` assigns the filtered
            DataFrame (``AgentSetPolars.agents = ...``) and marks all rows
            active (``select()``); ``"remove"`` calls ``AgentSetPolars.remove(ids)``,
            which goes through ``model.agents`` and costs several hash joins.
    """

    def __init__(self, data: dict[str, Any], seed: int, replication: int = 0,
                 drop: str = "filter") -> None:
        state = np.random.SeedSequence([seed, replication, 0xF4A]).generate_state(1)
        super().__init__(seed=int(state[0]))
        self.data = data
        self.drop = drop
        life = data["lifecycle"]
        self.stage_names = [s["name"] for s in life["stages"]]
        roles = np.array([s["role"] for s in life["stages"]])
        self.roles = list(roles)
        self.is_customer_stage = roles == "customer"
        self.is_prospect_stage = roles == "prospect"
        self.customer_codes = [i for i, r in enumerate(roles) if r == "customer"]
        self.prospect_codes = [i for i, r in enumerate(roles) if r == "prospect"]
        self.absorbing_codes = [i for i, r in enumerate(roles) if r == "absorbing"]
        self.wallet_share = np.array([s.get("wallet_share", 1.0) for s in life["stages"]])
        reference = {**DEFAULT_DRIVER_REFERENCE, **life.get("driver_reference", {})}
        self.driver_reference = {d: reference.get(d, 0.0) for d in DRIVERS}
        self.satisfaction_reference = reference["satisfaction"]
        self.response = {"satisfaction_price_gap_effect": 0.0, "wallet_satisfaction_effect": 0.0,
                         "wallet_price_gap_effect": 0.0, **data["response"]}
        market = data["market"]
        self.price_gap_points = 100.0 * (market["competitor_yield"] - market["bank_yield"])
        self.drift_sigma = market["wealth_volatility_annual"] / math.sqrt(12.0)
        self.drift_mu = (math.log1p(market["wealth_growth_annual"]) / 12.0
                         - 0.5 * self.drift_sigma**2)
        self.arrival_stage = self.stage_names.index(market["arrival_stage"])
        self.arrival_age = _age(market.get("arrival_age") or data["population"]["age"])
        self.channel_names = list(data["population"]["channel_preference"])
        self.tier_names = [t["name"] for t in data["tiers"]]
        self.tier_bounds = [float(t["min_aum"]) for t in data["tiers"]]
        self.private_banking_threshold = float(data["private_banking_threshold"])
        self.segments_spec = {"every_months": 1, **data["segments"]}
        self.econ = data["economics"]
        self.month = 0
        self.next_id = 0
        self.segments_due = True
        self.tally = {"acquired": 0, "churned": 0, "lapsed": 0, "arrivals": 0}
        #: Absorbed rows by (entered at month 0, stage): they leave the DataFrame.
        self.absorbed: dict[tuple[bool, int], int] = {}
        self.monthly: list[dict[str, float]] = []
        self.rm_minutes = 60.0 * data["capacity"]["rm_hours_per_month"]
        self.staff_minutes_left = 0.0
        self.strategies = build_strategies(data.get("strategies") or [], self)
        self.customers = Customers(self)
        self._populate()
        self.agents += self.customers

    def _populate(self) -> None:
        spec = self.data["population"]
        names = list(spec["initial_stages"])
        shares = np.array([spec["initial_stages"][n] for n in names], dtype=float)
        codes = np.array([self.stage_names.index(n) for n in names])
        stages = codes[self.random.choice(len(names), size=spec["size"], p=shares / shares.sum())]
        stages = np.concatenate([stages, np.full(spec["prospects"], self.arrival_stage)])
        frame = self.customers.draw(stages, _age(spec["age"]), initial=True)
        self.customers.add(frame.with_columns(self.classify_exprs(
            is_customer=pl.col("stage").cast(pl.Int32).is_in(self.customer_codes))))
        self._census(self.customers.agents, {}, ledger=False)

    # ----------------------------------------------------------- strategies
    def strategy_columns(self, n: int) -> dict[str, np.ndarray]:
        """New rows' strategy columns: yield bump, opt-out, cohorts, strategies' memory."""
        if not self.strategies:
            return {}
        columns: dict[str, np.ndarray] = {"yield_bump_bp": np.zeros(n),
                                          "opt_out": np.zeros(n, bool)}
        for strategy in self.strategies:
            columns[strategy.cohort] = np.zeros(n, np.int8)
            for name in strategy.memory.values():  # the month it last happened
                columns[name] = np.full(n, NEVER, np.int16)
        return columns

    def run_strategies(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Each strategy acts on the frame after the market; returns the changed frame.

        The RM minutes of the month (``capacity.rm_hours_per_month``) are
        shared in order; strategies that ignore the opt-out (abandon_d) act
        first, so the opt-out they set holds this month (as clmsim).
        """
        self.staff_minutes_left = self.rm_minutes
        frame = frame.with_columns(
            _customer=pl.col("stage").cast(pl.Int32).is_in(self.customer_codes))
        for strategy in sorted(self.strategies, key=lambda s: s.respects_opt_out):
            frame = strategy.act(frame)
        return frame

    def uniform(self, mask: pl.Series) -> pl.Series:
        """U(0, 1) draws for the rows of ``mask`` (1.0 elsewhere), from ``ModelDF.random``."""
        chosen = mask.to_numpy()
        u = np.ones(len(chosen))
        u[chosen] = self.random.random(int(chosen.sum()))
        return pl.Series(u)

    # ----------------------------------------------------------- expressions
    def _driver(self, name: str) -> pl.Expr:
        col, ref = pl.col, self.driver_reference[name]
        raw = {
            "satisfaction": col("satisfaction"),
            "share_of_wallet": col("share_of_wallet"),
            "price_gap": col("_gap"),
            "contact": col("contacts").log1p(),
            "wait": col("wait_minutes"),
            "complaints": col("complaints"),
            "products": col("products").cast(pl.Float64),
        }[name]
        return raw - ref if ref else raw

    def transition_steps(self) -> list[dict[str, pl.Expr]]:
        """The new stage of every row: multinomial logit against staying (as sim.lifecycle).

        For a row in stage ``i`` the k-th move's weight is ``w_k = P_ik·exp(β_ik·x)``
        and staying weighs ``P_ii``; the move is the first ``k`` with
        ``u·(P_ii + Σ w) < w_1 + … + w_k``, else the row stays. Per-stage
        constants (``P_ik``, ``β_ik``, targets) are looked up by ``gather`` on
        the stage column, so a month costs one ``exp`` per move slot whatever
        the number of stages. Returns the ``with_columns`` steps in order.
        """
        life = self.data["lifecycle"]
        n_stages = len(self.stage_names)
        effects: dict[tuple[str, str], dict[str, float]] = {}
        for key, effect in life.get("driver_effects", {}).items():
            source, _, target = key.partition("->")
            effects[(source.strip(), target.strip())] = effect
        moves = {self.stage_names.index(source): [(t, p) for t, p in row.items() if p > 0]
                 for source, row in life["transitions"].items()}
        slots = max((len(items) for items in moves.values()), default=0)
        stay = [1.0] * n_stages
        base = [[0.0] * n_stages for _ in range(slots)]
        target = [list(range(n_stages)) for _ in range(slots)]
        beta = {d: [[0.0] * n_stages for _ in range(slots)] for d in DRIVERS}
        for code, items in moves.items():
            stay[code] = 1.0 - sum(p for _, p in items)
            for k, (name, p) in enumerate(items):
                base[k][code] = p
                target[k][code] = self.stage_names.index(name)
                for d, b in effects.get((self.stage_names[code], name), {}).items():
                    beta[d][k][code] = b
        stage = pl.col("stage")

        def by_stage(values: list[float] | list[int]) -> pl.Expr:
            return pl.lit(pl.Series(values)).gather(stage)

        weights = {}
        for k in range(slots):
            eta = [by_stage(beta[d][k]) * self._driver(d) for d in DRIVERS
                   if any(beta[d][k])]
            weight = by_stage(base[k])
            weights[f"_w{k}"] = weight * pl.sum_horizontal(eta).exp() if eta else weight
        total = {"_total": by_stage(stay) + pl.sum_horizontal(
            [pl.col(f"_w{k}") for k in range(slots)])}
        draw = pl.col("_u") * pl.col("_total")
        chain: Any = None
        cumulative: pl.Expr = pl.lit(0.0)
        for k in range(slots):
            cumulative = cumulative + pl.col(f"_w{k}")
            value = by_stage(target[k]).cast(pl.Int32)
            chain = (pl.when(draw < cumulative) if chain is None
                     else chain.when(draw < cumulative)).then(value)
        new = stage.cast(pl.Int32) if chain is None else chain.otherwise(stage.cast(pl.Int32))
        return [weights, total, {"_new_stage": new}]

    def classify_exprs(self, is_customer: pl.Expr | None = None) -> list[pl.Expr]:
        """Tier (monthly) and segment (when due, or when a customer has none)."""
        col = pl.col
        customer = col("_is_customer") if is_customer is None else is_customer
        tier = pl.sum_horizontal([(col("aum") >= b).cast(pl.Int8) for b in self.tier_bounds]) - 1
        seg = self.segments_spec
        weights = seg["potential_weights"]
        features = {
            "youth": ((65.0 - col("age")) / 45.0).clip(0.0, 1.0),
            "digital_adoption": col("digital_adoption"),
            "wealth_elsewhere": (
                ((col("total_wealth") - col("aum")).clip(lower_bound=0.0) + 1.0).log10() - 4.0
            ).truediv(3.0).clip(0.0, 1.0),
        }
        potential = pl.sum_horizontal([w * features[k] for k, w in weights.items()]) / sum(
            weights.values())
        review = customer if self.segments_due else customer & (col("segment") < 0)
        high_current = col("aum") >= seg["current_value_threshold"]
        high_potential = potential >= seg["potential_threshold"]
        # quadrant: A low/high, B high/high, C high/low, D low/low (codes 0..3)
        code = (pl.when(high_potential).then(pl.when(high_current).then(1).otherwise(0))
                .otherwise(pl.when(high_current).then(2).otherwise(3)))
        return [
            pl.when(customer).then(tier).otherwise(-1).cast(pl.Int8).alias("tier"),
            pl.when(review).then(potential).otherwise(col("potential_value"))
            .alias("potential_value"),
            pl.when(~customer).then(-1).when(review).then(code).otherwise(col("segment"))
            .cast(pl.Int8).alias("segment"),
        ]

    # ----------------------------------------------------------- month
    def step(self) -> None:
        """Simulate one month: arrivals, then every row's step, then the census and ledger."""
        self.month += 1
        self.segments_due = self.month % self.segments_spec["every_months"] == 0
        arrivals = int(self.random.poisson(self.data["market"]["prospect_arrivals_per_month"]))
        if arrivals:
            self.customers.add(self.customers.draw(
                np.full(arrivals, self.arrival_stage), self.arrival_age, initial=False))
        self.tally["arrivals"] += arrivals
        self._arrivals = arrivals
        self.agents.step()

    def account(self, frame: pl.DataFrame) -> None:
        """Flows of the month from the collected frame; absorbed rows still in it."""
        col = pl.col
        was = col("_was_customer")
        change = col("_aum_response") - col("_aum_market")
        exprs = [
            ((col("_aum_market") - col("_aum_start")) * was).sum().alias("aum_market"),
            ((col("_aum_response") - col("_aum_market")) * was).sum().alias("aum_net_flow"),
            *[((change.clip(lower_bound=0.0)) * (was & (col("channel") == c))).sum()
              .alias(f"_inflow_{c}") for c in range(len(self.channel_names))],
            col("_churned").sum().alias("churned"),
            col("_lapsed").sum().alias("lapsed"),
            col("_acquired").sum().alias("acquired"),
            (col("_aum_response") * col("_churned")).sum().alias("aum_churned"),
        ]
        for cohort in (True, False):
            initial = col("entered_month") == 0
            in_cohort = initial if cohort else ~initial
            for code in self.absorbing_codes:
                exprs.append((col("_absorbed") & in_cohort & (col("_new_stage") == code)).sum()
                             .alias(f"_absorbed_{int(cohort)}_{code}"))
        flows = frame.select(exprs).row(0, named=True)
        if self.strategies:
            flows["uplift"] = self._uplift(frame, change.clip(lower_bound=0.0) * was)
        for cohort in (True, False):
            for code in self.absorbing_codes:
                key = (cohort, code)
                self.absorbed[key] = self.absorbed.get(key, 0) + flows.pop(
                    f"_absorbed_{int(cohort)}_{code}")
        if self.is_customer_stage[self.arrival_stage]:
            flows["acquired"] += self._arrivals
        for key in ("acquired", "churned", "lapsed"):
            self.tally[key] += flows[key]
        self._census(frame, flows)

    def _uplift(self, frame: pl.DataFrame, inflow: pl.Expr) -> list[dict[tuple[int, str], float]]:
        """Each strategy's cohort tallies (as the reference's ``_tally_cohorts``).

        Per cohort (treated, control): members still customers, their AUM,
        revenue (interest margin and fees) and cost (servicing, and the
        transaction cost of new money, which members who left this month pay
        too). The four per-row quantities are computed once, then summed by
        each strategy's cohort column with a ``group_by``.
        """
        col, econ = pl.col, self.econ
        channel = col("channel")
        servicing = pl.lit(pl.Series([float(econ["servicing_cost_per_month"][c])
                                      for c in self.channel_names])).gather(channel)
        per_10k = pl.lit(pl.Series([float(econ["transaction_cost_per_10k"][c])
                                    for c in self.channel_names])).gather(channel)
        live = col("_is_customer")
        rows = frame.select(
            *(col(s.cohort) for s in self.strategies),
            active=live.cast(pl.Float64),
            aum=col("aum"),
            revenue=(col("aum") * (econ["aum_margin_annual"] / 12.0)
                     + col("products").cast(pl.Float64) * econ["fee_per_product_month"]) * live,
            cost=inflow / 10_000.0 * per_10k + servicing * live,
        )
        tallies = []
        for strategy in self.strategies:
            sums = (rows.filter(col(strategy.cohort) > 0).group_by(strategy.cohort)
                    .agg(col(q).sum() for q in UPLIFT))
            tallies.append({(int(row[strategy.cohort]), q): row[q]
                            for row in sums.iter_rows(named=True) for q in UPLIFT})
        return tallies

    def _census(self, frame: pl.DataFrame, flows: dict[str, Any], ledger: bool = True) -> None:
        """Counts, sums and the ledger of the live rows: one ``select``.

        Absorbed rows may still be in ``frame``: their stage is neither a
        customer's nor a prospect's, so every count and sum below skips them.
        """
        col = pl.col
        stage = col("stage").cast(pl.Int32)
        customer = stage.is_in(self.customer_codes)
        prospect = stage.is_in(self.prospect_codes)
        threshold = self.private_banking_threshold
        exprs = [
            customer.sum().alias("customers"),
            prospect.sum().alias("prospects"),
            (customer & col("is_initial")).sum().alias("initial_customers_active"),
            (customer & (col("aum") >= threshold)).sum().alias("private_banking_customers"),
            *[(stage == i).sum().alias(f"stage_{s}") for i, s in enumerate(self.stage_names)
              if self.roles[i] != "absorbing"],
            *[(customer & (col("segment") == i)).sum().alias(f"segment_{s}")
              for i, s in enumerate(SEGMENTS)],
            *[(customer & (col("tier") == i)).sum().alias(f"tier_{t}")
              for i, t in enumerate(self.tier_names)],
            *[(customer & (col("channel") == i)).sum().alias(f"channel_{c}")
              for i, c in enumerate(self.channel_names)],
            (col("aum") * customer).sum().alias("aum"),
            (col("satisfaction") * customer).sum().alias("_satisfaction"),
            (col("share_of_wallet") * customer).sum().alias("_share_of_wallet"),
            (col("products").cast(pl.Int64) * customer).sum().alias("_products"),
        ]
        if self.strategies:
            exprs.append((col("contacts") * customer).sum().alias("contacts"))
        if "_old_tier" in frame.columns:
            stay = customer & (col("_old_tier") >= 0)
            old_aum = col("_aum_start")  # last month's close: private-banking crossings
            exprs += [
                (stay & (col("tier") > col("_old_tier"))).sum().alias("tier_up"),
                (stay & (col("tier") < col("_old_tier"))).sum().alias("tier_down"),
                (stay & (old_aum < threshold) & (col("aum") >= threshold)).sum()
                .alias("private_banking_up"),
                (stay & (col("aum") < threshold) & (old_aum >= threshold)).sum()
                .alias("private_banking_down"),
            ]
        t = frame.select(exprs).row(0, named=True)
        metrics: dict[str, float] = {"month": self.month, "arrivals": getattr(self, "_arrivals", 0)}
        for key in ("acquired", "churned", "lapsed", "tier_up", "tier_down",
                    "private_banking_up", "private_banking_down", "aum_market", "aum_net_flow",
                    "aum_churned"):
            metrics[key] = flows.get(key, t.get(key, 0))
        for key, value in t.items():
            if not key.startswith("_"):
                metrics[key] = value
        for i, s in enumerate(self.stage_names):
            if self.roles[i] == "absorbing":
                metrics[f"stage_{s}"] = 0
        n = t["customers"]
        metrics["mean_satisfaction"] = t["_satisfaction"] / n if n else 0.0
        metrics["mean_share_of_wallet"] = t["_share_of_wallet"] / n if n else 0.0
        econ = self.econ
        entries = {
            "revenue_interest_margin": t["aum"] * econ["aum_margin_annual"] / 12.0,
            "revenue_fees": t["_products"] * econ["fee_per_product_month"],
        }
        for name in self.channel_names:
            entries[f"cost_servicing_{name}"] = (metrics[f"channel_{name}"]
                                                 * econ["servicing_cost_per_month"][name])
        for c, name in enumerate(self.channel_names):
            entries[f"cost_transaction_{name}"] = (flows.get(f"_inflow_{c}", 0.0) / 10_000.0
                                                   * econ["transaction_cost_per_10k"][name])
        entries["cost_acquisition"] = metrics["acquired"] * econ["acquisition_cost"]
        if not ledger:
            entries = dict.fromkeys(entries, 0.0)
        metrics.update(entries)
        metrics["revenue"] = sum(v for k, v in entries.items() if k.startswith("revenue_"))
        metrics["cost"] = sum(v for k, v in entries.items() if k.startswith("cost_"))
        if self.strategies:
            uplift = flows.get("uplift") or [{}] * len(self.strategies)
            for strategy, tallies in zip(self.strategies, uplift, strict=True):
                metrics.update(strategy.metrics(tallies))
            metrics["strategy_cost_total"] = sum(s.cost_month_total for s in self.strategies)
            metrics["cost"] += metrics["strategy_cost_total"]
        metrics["profit"] = metrics["revenue"] - metrics["cost"]
        self.monthly.append(metrics)

    # ----------------------------------------------------------- inspection
    def end_state(self) -> dict[str, Any]:
        """What the agreement check compares: stages by cohort, segments, customer state sums."""
        frame = self.customers.agents
        n_stages = len(self.stage_names)
        stage = frame["stage"].to_numpy().astype(np.int64)
        initial = frame["entered_month"].to_numpy() == 0
        state: dict[str, Any] = {}
        for name, cohort in (("initial_stages", initial), ("arrival_stages", ~initial)):
            counts = np.bincount(stage[cohort], minlength=n_stages)
            for (is_initial, code), count in self.absorbed.items():
                if is_initial == (name == "initial_stages"):
                    counts[code] += count
            state[name] = counts.tolist()
        customer = self.is_customer_stage[stage]
        state["segments"] = np.bincount(
            frame["segment"].to_numpy()[customer].astype(np.int64), minlength=4).tolist()
        for key, values in (("satisfaction", frame["satisfaction"].to_numpy()[customer]),
                            ("share_of_wallet", frame["share_of_wallet"].to_numpy()[customer]),
                            ("log_wealth", np.log(frame["total_wealth"].to_numpy()[customer]))):
            state[key] = {"n": int(values.size), "sum": float(values.sum()),
                          "sum_squares": float((values**2).sum())}
        return state


# ------------------------------------------------------------------ measuring
def _machine_busy_seconds() -> float | None:
    """CPU seconds all processes have used since boot (``/proc/stat``), else None."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def run(data: dict[str, Any], months: int, seed: int, detail: bool,
        drop: str = "filter") -> dict[str, Any]:
    """Build and step one model, timing as ``benchmarks/engine.py`` does."""
    start = time.perf_counter()
    model = FramesModel(data, seed=seed, drop=drop)
    build = time.perf_counter() - start
    customer_months, seconds = 0, 0.0
    busy, own, wall = _machine_busy_seconds(), time.process_time(), time.perf_counter()
    for _ in range(months):
        live, arrivals = len(model.customers), model.tally["arrivals"]
        start = time.perf_counter()
        model.step()
        seconds += time.perf_counter() - start
        customer_months += live + model.tally["arrivals"] - arrivals
    busy_after, own_cpu = _machine_busy_seconds(), time.process_time() - own
    elapsed = time.perf_counter() - wall
    background = None
    if busy is not None and busy_after is not None:
        background = max((busy_after - busy) - own_cpu, 0.0) / elapsed
    result: dict[str, Any] = {
        "seed": seed, "customer_months": customer_months, "build_seconds": build,
        "step_seconds": seconds, "rate": customer_months / seconds,
        "cpu_seconds": own_cpu, "cores_used": own_cpu / elapsed,
        "background_cores": background, "rows_at_end": len(model.customers),
    }
    if detail:
        result["monthly"] = model.monthly
        result["end_state"] = model.end_state()
    return result


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="customers at month 0")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seeds", type=int, nargs="+", default=[20201],
                        help="one run per seed (default: the baseline's seed)")
    parser.add_argument("--scenario", type=Path, default=BASELINE)
    parser.add_argument("--detail", action="store_true",
                        help="include monthly metrics and the end state (agreement check)")
    parser.add_argument("--drop", choices=("filter", "remove"), default="filter",
                        help="how absorbed rows leave (see FramesModel; default filter, faster)")
    parser.add_argument("--out", type=Path, help="write the JSON here instead of stdout")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print or write the JSON result."""
    args = parse_args(argv)
    data = read_baseline(args.scenario, args.size, args.months)
    runs = [run(data, args.months, seed, args.detail, args.drop) for seed in args.seeds]
    document = {
        "engine": "mesa-frames",
        "customers": args.size,
        **scaling_summary(data),
        "months": args.months,
        "drop": args.drop,
        "runs": runs,
        "versions": {name: version(name) for name in
                     ("mesa-frames", "polars", "numpy", "pyarrow", "pandas")},
        "python": sys.version.split()[0],
        "polars_threads": pl.thread_pool_size(),
        "POLARS_MAX_THREADS": os.environ.get("POLARS_MAX_THREADS"),
    }
    text = json.dumps(document, indent=1)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
