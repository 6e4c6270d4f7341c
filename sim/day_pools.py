"""Simulated branch days pooled by desk and cached by load (issue 4, for :mod:`sim.channels`).

Each branch-month's load (visits a business day and the share going to
machines) selects a :class:`~sim.branch_day.BranchDay`; its ``sampled_days``
days are simulated in SimPy and their visits pooled by desk
(:func:`simulate_pool`). :class:`DayPools` caches the pools by (branch
staffing, load bucket, machine share): the load is rounded to a geometric
grid of relative width ``load_bucket``, so branches and months with the same
staffing and nearly the same load share simulated days (``docs/channels.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.branch_day import BranchDay, day_totals, draw_visits, simulate_visits
from sim.day_sampling import month_ratios
from sim.streams import stream

if TYPE_CHECKING:
    from sim.channel_schema import BranchConfig, Channels

__all__ = ["CACHE_LIMIT", "FIGURES", "DayPool", "DayPools", "pooled_visits", "simulate_pool"]

#: Most simulated day sets kept in the cache.
CACHE_LIMIT = 20_000
#: A pool's figures that do not depend on the month's visits (:attr:`DayPool.figures`).
FIGURES = ("mean_wait", "p90_wait", "share_wait_over_5", "share_wait_over_10", "balk_rate",
           "renege_rate", "teller_utilisation", "machine_utilisation")


@dataclass(frozen=True)
class DayPool:
    """The simulated days of one (branch configuration, load bucket): visits by desk and ratios."""

    wait: tuple[np.ndarray, np.ndarray]  #: teller, machine: minutes queued (0 if balked)
    balked: tuple[np.ndarray, np.ndarray]
    reneged: tuple[np.ndarray, np.ndarray]
    ratios: dict[str, float]  #: :data:`sim.day_sampling.RATIOS`, 0 where undefined
    p90_wait: float
    #: :data:`FIGURES` in order (the ratios and the 90th-percentile wait), for the metrics
    figures: np.ndarray = field(init=False, repr=False, compare=False)
    #: the teller's then the machines' visits in one array each (waits, balks), and the
    #: two desks' numbers of visits: :func:`pooled_visits` joins 67 of these a month, not
    #: 134 desks (at 1M customers, one thread: 0.239 -> 0.164 ms a month)
    joined_wait: np.ndarray = field(init=False, repr=False, compare=False)
    joined_balked: np.ndarray = field(init=False, repr=False, compare=False)
    desk_sizes: tuple[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        values = {**self.ratios, "p90_wait": self.p90_wait}
        object.__setattr__(self, "figures",
                           np.array([values[name] for name in FIGURES], np.float64))
        object.__setattr__(self, "joined_wait", np.concatenate(self.wait).astype(np.float64))
        object.__setattr__(self, "joined_balked", np.concatenate(self.balked).astype(np.bool_))
        object.__setattr__(self, "desk_sizes", (len(self.wait[0]), len(self.wait[1])))


def simulate_pool(config: BranchDay, sampled_days: int, days_per_month: int,
                  rng: np.random.Generator) -> DayPool:
    """Simulate ``sampled_days`` days of ``config`` and pool their visits by desk."""
    if not 1 <= sampled_days <= days_per_month:  # as estimate_from_days checked it
        raise ValueError(f"sampled_days must be 1 to {days_per_month}, got {sampled_days}")
    rows, wait, balked, reneged, machine = [], [], [], [], []
    for day_rng in rng.spawn(sampled_days):
        visits = draw_visits(config, day_rng)
        records = simulate_visits(config, visits)
        rows.append(day_totals(config, records))
        wait.append(np.nan_to_num(records.wait, nan=0.0))
        balked.append(records.balked)
        reneged.append(records.reneged)
        machine.append(visits.to_machine)
    ratios = month_ratios(np.array(rows))
    w, b, r, m = (np.concatenate(x) for x in (wait, balked, reneged, machine))
    joined = w[~b]
    return DayPool(
        wait=(w[~m], w[m]), balked=(b[~m], b[m]), reneged=(r[~m], r[m]),
        ratios={k: float(np.nan_to_num(v)) for k, v in ratios.items()},
        p90_wait=float(np.quantile(joined, 0.9)) if joined.size else 0.0,
    )


class DayPools:
    """The cached pools of a model run's branches (:meth:`month` picks this month's).

    Args:
        spec: The scenario's channels section.
        configs: Each branch's configuration.
        seed: The model's seed and replication (the days' random streams).
    """

    def __init__(self, spec: Channels, configs: list[BranchConfig], seed: tuple[int, int]):
        self.spec, self.configs, self.seed = spec, configs, seed
        self.days_simulated = 0
        self._cache: dict[tuple[int, int, float], tuple[BranchDay, DayPool]] = {}
        # what a branch's key and machine share take from its configuration, once: a staffing
        # is known by its number (hashing its pydantic service times cost half the look-up)
        self.staffings: dict[tuple[Any, ...], int] = {}
        self._staffing = [self.staffings.setdefault(
            (c.opening_hour, c.closing_hour, c.tellers, c.vtms, c.teller_service,
             c.vtm_service, c.balk_queue_length, c.patience_minutes), len(self.staffings))
            for c in configs]
        self._route = np.array([c.simple_share * c.routing_share * (c.lobby_managers > 0)
                                for c in configs], np.float64)
        self._has_vtm = np.array([c.vtms > 0 for c in configs])
        self._bucket_width = np.log1p(spec.load_bucket)

    def month(self, staff_visits: np.ndarray, machine_visits: np.ndarray) -> list[DayPool | None]:
        """Each branch's pool at this month's load (None: no visits), simulated if not cached.

        ``staff_visits`` and ``machine_visits``: each branch's visits to the staff
        and to the machines. The shares and loads are element-wise array
        arithmetic, the same operations (and floats) as branch by branch.
        """
        total = staff_visits + machine_visits
        with np.errstate(divide="ignore", invalid="ignore"):  # no visits: no pool
            to_machine = np.where(self._has_vtm,
                                  (staff_visits * self._route + machine_visits) / total, 0.0)
        per_day = total / self.spec.days_per_month
        # the logarithms of the whole array (elementwise NumPy's log of each branch's, bit
        # for bit; a branch without visits, log 0, is skipped), the branches' figures as
        # Python floats: at 67 branches, one thread, 0.210 -> 0.186 ms a month
        with np.errstate(divide="ignore"):
            buckets = (np.log(per_day) / self._bucket_width).tolist()
        shares = to_machine.tolist()
        pools: list[DayPool | None] = []
        for b, visits in enumerate(total.tolist()):
            if visits <= 0:
                pools.append(None)
                continue
            bucket = round(buckets[b])
            share = round(shares[b], 2)
            # the day is known by its staffing, bucket and machine share: look it up before
            # building (and validating) a BranchDay, which costs more than the lookup
            cached = self._cache.get((self._staffing[b], bucket, share))
            pools.append(cached[1] if cached is not None else self._simulate(b, bucket, share))
        return pools

    def _simulate(self, b: int, bucket: int, share: float) -> DayPool:
        """Simulate and cache branch ``b``'s days at load ``bucket`` and machine ``share``."""
        config, spec = self.configs[b], self.spec
        day = BranchDay(
            opening_hour=config.opening_hour, closing_hour=config.closing_hour,
            visits_per_day=float(np.exp(bucket * self._bucket_width)),
            arrival_profile=spec.arrival_profile, tellers=config.tellers, machines=config.vtms,
            simple_share=share, routing_share=1.0,
            teller_service=config.teller_service, machine_service=config.vtm_service,
            balk_queue_length=config.balk_queue_length, patience_minutes=config.patience_minutes,
        )
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        # the days depend on the load, not on the staffing: common random numbers
        rng = stream(*self.seed, f"channels/days/{bucket}/{day.simple_share:.2f}")
        pool = simulate_pool(day, spec.sampled_days, spec.days_per_month, rng)
        self._cache[(self._staffing[b], bucket, share)] = (day, pool)
        self.days_simulated += spec.sampled_days
        return pool


def pooled_visits(pools: list[DayPool | None]) -> tuple[np.ndarray, ...]:
    """The branches' pooled visits in one array per field, segment ``2 b + desk`` at a time.

    Returns:
        Waits, balks, and each segment's offset and size (a branch without
        visits has empty segments).
    """
    present = [pool for pool in pools if pool is not None]
    sizes = np.array([pool.desk_sizes if pool is not None else (0, 0) for pool in pools],
                     np.int64).reshape(-1)
    offsets = np.zeros(sizes.size, np.int64)
    np.cumsum(sizes[:-1], out=offsets[1:])
    wait = np.concatenate([pool.joined_wait for pool in present] + [np.zeros(0)])
    balked = np.concatenate([pool.joined_balked for pool in present] + [np.zeros(0, np.bool_)])
    return wait, balked, offsets, sizes
