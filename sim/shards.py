"""One bank split by branch into shards, stepped month by month together (issue 7).

A population too large for one machine is split into ``n`` shards. Each shard
is an ordinary :class:`~sim.model.LifecycleModel` that owns a block of whole
branches — its customers, prospects, queues and relationship managers — and
simulates a month on its own. Like departments of one bank that meet at the
month-end close, the shards exchange a few numbers once a month; a driver
(:func:`sim.shard_run.run_sharded`) runs the meeting:

1. it tells every shard its part of what the bank shares (:class:`Coupling`):
   each strategy's budget this month, the RM hours (without branches), the
   online platform's capacity, the share of the market's arrivals, and the
   state of the bank's one complaint desk;
2. every shard steps one month (on its own Dask worker, or in this process);
3. each returns a small :class:`ShardReport` — customers, what each strategy
   wanted to spend and spent, complaints by day, online sessions — from which
   the driver (:class:`Coordinator`) sets the next month's couplings.

At the end the shards' monthly frames are combined into the frame an
unsharded run writes (:func:`sim.shard_metrics.combine_frames`): counts and money add up, means
are re-weighted, the bank-wide queues (call centre, online platform) are
recomputed from the combined load. ``docs/scaling.md`` explains the design,
what is exact and what is approximate.

**Shards by branch.** Shard ``i`` of ``n`` owns the contiguous block
``numpy.array_split(range(branches), n)[i]``. A customer's branch is drawn
uniformly and independently of everything else, so the initial customers and
prospects are split by a multinomial draw with the branches' shares (from the
stream ``population/split``, the same in every shard, so the parts add up to
the scenario's sizes exactly); each shard then draws its own customers from
its own streams (``population/shard{i}``, ...) with branches uniform over its
block. Market arrivals are Poisson with the rate times the shard's share of
branches: the shards' arrivals add up to the bank's Poisson stream.

**Ids.** ``customer_ids`` packs month (bits 40-50, months < 2048), source
(bits 32-39) and position (bits 0-31). A shard sets its number in bits 51-62
(:data:`SHARD_ID_SHIFT`), so ids are unique across shards; shard 0's ids are
the unsharded ones. Keyed per-customer draws are keyed by id, so they stay
per customer and independent across shards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.channels import complaint_desk, desk_capacity_per_day
from sim.streams import stream

if TYPE_CHECKING:
    from sim.model import LifecycleModel
    from sim.population import Population
    from sim.schema import Population as PopulationSpec
    from sim.schema import Scenario

__all__ = [
    "MAX_SHARDS",
    "SHARD_ID_SHIFT",
    "Coordinator",
    "Coupling",
    "Shard",
    "ShardError",
    "ShardReport",
    "ShardWorker",
    "check_shards",
    "shard_branches",
]

#: Bit of a customer id where the shard number starts (above the month's bits 40-50).
SHARD_ID_SHIFT = 51
#: Most shards the ids can tell apart (bits 51-62 of a non-negative int64).
MAX_SHARDS = 1 << 12
#: Bank-wide capacities a shard gets a part of each month (:attr:`Coupling.parts`).
PARTS = ("arrivals", "rm_hours", "online_capacity")
#: Weight of last month's smoothed demand in this month's (budget shares follow demand);
#: a modelling default: shares follow a shift in demand within a few months.
DEMAND_MEMORY = 0.8

class ShardError(ValueError):
    """A number of shards the scenario cannot be split into."""


def check_shards(scenario: Scenario, shards: int) -> None:
    """Raise :class:`ShardError` unless ``scenario`` can be split into ``shards`` shards."""
    branches = scenario.population.branches
    if shards < 1:
        raise ShardError(f"--shards: got {shards}; expected an integer >= 1")
    if shards > min(branches, MAX_SHARDS) and shards > 1:
        raise ShardError(
            f"--shards {shards}: scenario {scenario.name!r} has {branches} branch(es); a shard "
            f"is a set of whole branches, so expected at most {min(branches, MAX_SHARDS)} shards")


def shard_branches(branches: int, index: int, count: int) -> np.ndarray:
    """The branches shard ``index`` of ``count`` owns: a contiguous block."""
    return np.array_split(np.arange(branches), count)[index]


def branch_shares(n_branches: int, count: int) -> np.ndarray:
    """Each of ``count`` shards' share of the bank's ``n_branches`` branches."""
    return np.array([len(shard_branches(n_branches, i, count))
                     for i in range(count)]) / n_branches


@dataclass
class Shard:
    """What a :class:`~sim.model.LifecycleModel` knows of being one shard of a bank.

    Attributes:
        index: This shard's number, ``0 <= index < count``.
        count: Number of shards.
        branches: The branches it owns.
        n_branches: The bank's branches.
        parts: This month's share of each bank-wide capacity (:data:`PARTS`), set
            by the driver; until then, the share of branches.
        desk: The bank's complaint backlog at the start of the month and the other
            shards' complaints a working day (:class:`Coordinator`).
    """

    index: int
    count: int
    branches: np.ndarray
    n_branches: int
    parts: dict[str, float] = field(default_factory=dict)
    desk: tuple[float, float] = (0.0, 0.0)

    @classmethod
    def of(cls, scenario: Scenario, index: int, count: int) -> Shard:
        """Shard ``index`` of ``count`` of ``scenario``'s bank."""
        check_shards(scenario, count)
        if not 0 <= index < count:
            raise ShardError(f"shard index {index}: expected 0..{count - 1}")
        n = scenario.population.branches
        shard = cls(index, count, shard_branches(n, index, count), n)
        shard.parts = dict.fromkeys(PARTS, shard.branch_share)
        return shard

    @property
    def branch_share(self) -> float:
        """Share of the bank's branches this shard owns."""
        return len(self.branches) / self.n_branches

    @property
    def tag(self) -> str:
        """Suffix of this shard's stream purposes: its draws differ from other shards'."""
        return f"/shard{self.index}"

    def owns(self, n_branches: int) -> np.ndarray:
        """Boolean mask over the bank's branches: those of this shard."""
        mask = np.zeros(n_branches, bool)
        mask[self.branches] = True
        return mask

    def initial_sizes(self, spec: PopulationSpec, seed: int, replication: int) -> tuple[int, int]:
        """This shard's initial customers and prospects: its part of a multinomial split.

        The split is drawn from one stream that does not depend on the shard, so
        every shard sees the same split and the parts add up to the sizes.
        """
        rng = stream(seed, replication, "population/split")
        shares = branch_shares(self.n_branches, self.count)
        customers = rng.multinomial(spec.size, shares)
        prospects = rng.multinomial(spec.prospects, shares)
        return int(customers[self.index]), int(prospects[self.index])

    def adopt(self, pop: Population, rng: np.random.Generator) -> None:
        """Make new rows this shard's: a branch of its own (uniform), its number in the id."""
        pop.branch = self.branches[rng.integers(0, len(self.branches), len(pop))]
        pop.id = pop.id | (self.index << SHARD_ID_SHIFT)


@dataclass(frozen=True)
class Coupling:
    """What the driver tells a shard before a month: its parts of the bank's shared things.

    Attributes:
        budgets: Strategy name -> CNY it may spend this month (None: unlimited).
        parts: Share of each bank-wide capacity (:data:`PARTS`) this month.
        desk: The bank's complaint backlog and the other shards' complaints a day.
    """

    budgets: dict[str, float | None]
    parts: dict[str, float]
    desk: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class ShardReport:
    """What a shard tells the driver after a month (a few numbers, whatever its size).

    Attributes:
        customers: Live customers at the end of the month.
        demand: Strategy name -> CNY its strategy wanted to spend this month.
        spent_total: Strategy name -> CNY spent so far in this shard.
        complaints_by_day: Complaints received on each working day this month.
        online_sessions: Online sessions this month.
        units: Strategy name -> CNY its first purchase needed this month (inf: none wanted).
    """

    customers: float
    demand: dict[str, float]
    spent_total: dict[str, float]
    complaints_by_day: list[float]
    online_sessions: float
    units: dict[str, float] = field(default_factory=dict)


class ShardWorker:
    """One shard's model where it lives: a Dask actor on a worker, or in this process.

    Args:
        scenario: The whole bank's scenario.
        replication: Replication number.
        index: Shard number.
        count: Number of shards.
    """

    def __init__(self, scenario: Scenario, replication: int, index: int, count: int) -> None:
        from sim.model import LifecycleModel  # sim.model imports this module

        self.model: LifecycleModel = LifecycleModel(scenario, replication, shard=(index, count))

    def report(self) -> ShardReport:
        """This month's report (month 0 right after building)."""
        m = self.model
        return ShardReport(
            customers=float(m.metrics["customers"]),
            demand={s.name: s.demand_month for s in m.strategies},
            spent_total={s.name: s.spent_total for s in m.strategies},
            complaints_by_day=[] if m.channels is None else m.channels.complaint_arrivals.tolist(),
            online_sessions=float(m.metrics.get("channels_online_sessions", 0.0)),
            units={s.name: s.unit_month for s in m.strategies},
        )

    def step(self, coupling: Coupling) -> ShardReport:
        """Take this month's coupling, simulate the month, report."""
        m = self.model
        assert m.shard is not None  # built with count > 1
        m.shard.parts.update(coupling.parts)
        m.shard.desk = coupling.desk
        for runtime in m.strategies:
            runtime.shard_budget = coupling.budgets[runtime.name]
        m.step()
        return self.report()

    def monthly_frame(self) -> pd.DataFrame:
        """The shard's monthly metrics so far."""
        return self.model.monthly_frame()

    def ids(self) -> np.ndarray:
        """Ids of every row the shard ever simulated (for checks)."""
        return self.model.absorption_records()["id"].to_numpy()


def _shares(values: Sequence[float] | np.ndarray,
            fallback: Sequence[float] | np.ndarray) -> np.ndarray:
    """``values`` as shares of their sum; ``fallback`` when they sum to zero."""
    v = np.asarray(values, float)
    total = v.sum()
    return v / total if total > 0 else np.asarray(fallback, float)


class Coordinator:
    """The driver's side of the monthly exchange: the bank's shared budgets, desk and capacities.

    From the shards' reports of one month it makes each shard's coupling for the
    next (:meth:`plan`):

    * **Budgets.** A strategy's money for the month is its monthly budget, capped by
      what is left of its total budget bank-wide (the shards' spending added up).
      It is divided in proportion to each shard's recent demand — what its
      strategy wanted to spend, smoothed over months (:data:`DEMAND_MEMORY`) — or
      to customers while there has been none (month 1). The parts add up to the
      bank's budget and a shard never spends more than its part, so the bank never
      overspends; what one shard leaves unspent another cannot use that month.
      A part too small to buy the shard's first purchase (a 500 CNY voucher from a
      part of 240) would buy nothing: such parts are pooled and given out in whole
      purchases, to shards drawn in proportion to their parts (systematic sampling),
      so each still gets its part on average (:meth:`_whole_purchases`).
    * **RM hours** (``capacity.rm_hours_per_month``, without branches) by customers.
      With branches each branch's RMs are local to its shard.
    * **Online platform capacity** by last month's sessions (customers in month 1):
      each shard's platform then has the bank's load per session of capacity.
    * **Complaint desk.** The bank has one desk (first come, first served). Each
      shard is told the bank's backlog at the start of the month and the other
      shards' complaints a day last month, and queues its own complaints behind
      both; after the month the coordinator runs the bank's queue on all shards'
      complaints by day, which gives the next month's backlog (:attr:`backlogs`).
    * **Arrivals** by share of branches (a customer's branch is uniform). This is
      where word of mouth would couple the shards: the model has no bank-wide
      word-of-mouth signal (referrals are per customer, inside a shard), so the
      share is constant.

    Args:
        scenario: The bank's scenario.
        shards: Number of shards.
    """

    def __init__(self, scenario: Scenario, shards: int, replication: int = 0) -> None:
        self.scenario = scenario
        self.rng = stream(scenario.seed, replication, "shards/budgets")
        #: Strategy name -> per shard, what its first purchase needed when last reported.
        self.units = {spec.name: np.full(shards, np.inf) for spec in scenario.strategies}
        n = scenario.population.branches
        self.branch_shares = branch_shares(n, shards)
        self.demand = {spec.name: np.zeros(shards) for spec in scenario.strategies}
        self.backlog = 0.0
        #: The bank's complaint backlog at the end of each month, from month 0.
        self.backlogs: list[float] = [0.0]
        self.others_per_day = np.zeros(shards)

    def plan(self, reports: Sequence[ShardReport]) -> list[Coupling]:
        """Each shard's coupling for the next month, from the reports of the last one."""
        customers = _shares([r.customers for r in reports], self.branch_shares)
        parts = {
            "arrivals": self.branch_shares,
            "rm_hours": customers,
            "online_capacity": _shares([r.online_sessions for r in reports], customers),
        }
        budgets: dict[str, list[float | None]] = {}
        for spec in self.scenario.strategies:
            b, name = spec.budget, spec.name
            if b.monthly is None and b.total is None:
                budgets[name] = [None] * len(reports)
                continue
            available = np.inf if b.monthly is None else b.monthly
            if b.total is not None:
                spent = sum(r.spent_total[name] for r in reports)
                available = min(available, max(b.total - spent, 0.0))
            parts_of_budget = available * _shares(self.demand[name], customers)
            if np.isfinite(available):
                parts_of_budget = self._whole_purchases(parts_of_budget, self.units[name])
            budgets[name] = [float(p) for p in parts_of_budget]
        return [Coupling(budgets={name: b[i] for name, b in budgets.items()},
                         parts={k: float(v[i]) for k, v in parts.items()},
                         desk=(self.backlog, float(self.others_per_day[i])))
                for i in range(len(reports))]

    def _whole_purchases(self, parts: np.ndarray, units: np.ndarray) -> np.ndarray:
        """``parts`` with those too small to buy anything pooled and given out in purchases.

        A shard whose part is below ``units`` (its first purchase, when last reported)
        would spend nothing. Those parts are pooled; the pool buys ``count`` whole
        purchases of the largest such unit, each given to the shard whose stretch of the
        pool a systematic sample point falls in (stretches as long as the parts), so a
        shard's expected money is its part less the pool's remainder below one unit.
        The total never exceeds the pool: the bank still never overspends.
        """
        short = (parts > 0) & (parts < units) & np.isfinite(units)  # inf: nothing wanted yet
        if not short.any():
            return parts
        pool, unit = float(parts[short].sum()), float(units[short].max())
        out = np.where(short, 0.0, parts)
        count = int(pool // unit)
        if count > 0:
            points = (self.rng.random() + np.arange(count)) * (pool / count)
            taker = np.searchsorted(np.cumsum(parts[short]), points, side="right")
            taker = np.minimum(taker, short.sum() - 1)  # a point on the pool's end (rounding)
            out[np.flatnonzero(short)] += np.bincount(taker, minlength=short.sum()) * unit
        return out

    def close_month(self, reports: Sequence[ShardReport]) -> None:
        """Take in a month's reports: smooth the demand, run the bank's complaint desk."""
        for name, smoothed in self.demand.items():
            smoothed *= DEMAND_MEMORY
            smoothed += [r.demand[name] for r in reports]
            reported = np.array([r.units.get(name, np.inf) for r in reports])
            self.units[name] = np.where(np.isfinite(reported), reported, self.units[name])
        spec = self.scenario.channels
        if spec is None:
            return
        by_day = np.array([r.complaints_by_day for r in reports])
        _, self.backlog = complaint_desk(self.backlog, by_day.sum(axis=0),
                                         desk_capacity_per_day(spec))  # the bank's one desk
        self.backlogs.append(self.backlog)
        month = by_day.sum(axis=1)
        self.others_per_day = (month.sum() - month) / spec.days_per_month
