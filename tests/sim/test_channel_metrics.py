"""The channels' metrics and day-pool keys, assembled from arrays, against the definitions
branch by branch (as ``sim.channels`` computed them before), bit for bit."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from sim.channels import BRANCH_COUNTS, ChannelSystem
from sim.day_sampling import RATIOS
from sim.model import LifecycleModel
from tests.sim.util import SCENARIOS, scaled


def _bits(value: Any) -> bytes:
    return struct.pack("<d", float(value))


def _branch_by_branch(cs: ChannelSystem, pools: list, totals: np.ndarray,
                      complaint_branch: np.ndarray) -> dict[str, Any]:
    m: dict[str, Any] = {}
    filed = np.bincount(complaint_branch, minlength=cs.n_branches)
    for b, pool in enumerate(pools):
        r = pool.ratios if pool else dict.fromkeys(RATIOS, 0.0)
        p = f"branch{b}_"
        m[p + "visits"] = float(totals[b])
        m[p + "mean_wait"] = r["mean_wait"]
        m[p + "p90_wait"] = pool.p90_wait if pool else 0.0
        m[p + "share_wait_over_5"] = r["share_wait_over_5"]
        m[p + "share_wait_over_10"] = r["share_wait_over_10"]
        m[p + "balks"] = r["balk_rate"] * totals[b]
        m[p + "reneges"] = r["renege_rate"] * totals[b]
        m[p + "teller_utilisation"] = r["teller_utilisation"]
        m[p + "machine_utilisation"] = r["machine_utilisation"]
        m[p + "complaints"] = float(filed[b])
        capacity = cs.rm_minutes_by_branch[b]
        m[p + "rm_utilisation"] = 1.0 - cs.rm_left[b] / capacity if capacity > 0 else 0.0
        m[p + "contacts_requested"] = float(cs.contacts_requested[b])
        m[p + "contacts_delivered"] = float(cs.contacts_delivered[b])
    n = cs.n_branches
    visits = np.array([m[f"branch{b}_visits"] for b in range(n)])
    total = max(visits.sum(), 1e-12)
    for name in ("mean_wait", "share_wait_over_5", "share_wait_over_10"):
        m[f"channels_{name}"] = float(sum(m[f"branch{b}_{name}"] * visits[b]
                                          for b in range(n)) / total)
    for name in BRANCH_COUNTS[1:]:
        m[f"channels_{name}"] = float(sum(m[f"branch{b}_{name}"] for b in range(n)))
    minutes = [60.0 * (c.closing_hour - c.opening_hour) for c in cs.configs]
    tellers = np.array([c.tellers * t for c, t in zip(cs.configs, minutes, strict=True)])
    vtms = np.array([c.vtms * t for c, t in zip(cs.configs, minutes, strict=True)])
    util = np.array([m[f"branch{b}_teller_utilisation"] for b in range(n)])
    vutil = np.array([m[f"branch{b}_machine_utilisation"] for b in range(n)])
    m["channels_visits"] = float(visits.sum())
    m["channels_teller_utilisation"] = float(util @ tellers / max(tellers.sum(), 1e-12))
    m["channels_machine_utilisation"] = float(vutil @ vtms / max(vtms.sum(), 1e-12))
    return m


def _pool_key(cs: ChannelSystem, b: int, staff_visits: float, machine_visits: float) -> Any:
    config, spec = cs.configs[b], cs.spec
    total = staff_visits + machine_visits
    if total <= 0:
        return None
    route = config.simple_share * config.routing_share * (config.lobby_managers > 0)
    to_machine = (staff_visits * route + machine_visits) / total if config.vtms else 0.0
    per_day = total / spec.days_per_month
    bucket = round(float(np.log(per_day) / np.log1p(spec.load_bucket)))
    staffing = (config.opening_hour, config.closing_hour, config.tellers, config.vtms,
                config.teller_service, config.vtm_service, config.balk_queue_length,
                config.patience_minutes)
    return cs.pools.staffings[staffing], bucket, round(float(to_machine), 2)


def test_metrics_and_pool_keys_are_the_branch_by_branch_definitions() -> None:
    scenario = scaled(SCENARIOS / "branches.yaml", 30_000, population__branches=6,
                      channels__branches={1: {"vtms": 0}, 2: {"relationship_managers": 0}})
    model = LifecycleModel(scenario)
    for _ in range(2):
        model.step()
    cs = model.channels
    assert cs is not None
    rng = np.random.default_rng(5)
    staff = rng.uniform(0, 4000, cs.n_branches)
    machine = rng.uniform(0, 900, cs.n_branches)
    staff[3] = machine[3] = 0.0  # no visits: no pool
    pools = cs.pools.month(staff, machine)
    keys = [_pool_key(cs, b, staff[b], machine[b]) for b in range(cs.n_branches)]
    cached = {key: pool for key, (_, pool) in cs.pools._cache.items()}
    assert len(cs.pools.staffings) == 2  # branch 1 without VTMs; RMs are not in the key
    assert [cached.get(key) if key else None for key in keys] == pools
    assert pools[3] is None and sum(p is not None for p in pools) == cs.n_branches - 1

    totals = staff + machine
    cs.rm_left = cs.rm_minutes_by_branch * rng.random(cs.n_branches)
    cs.contacts_requested = rng.integers(0, 50, cs.n_branches).astype(float)
    cs.contacts_delivered = np.minimum(cs.contacts_requested, 20.0)
    complaint_branch = rng.integers(0, cs.n_branches, 40)
    expected = _branch_by_branch(cs, pools, totals, complaint_branch)
    table = cs._branch_metrics(pools, totals, complaint_branch)
    cs._bank_metrics(model, table, 3.5, 12_345.0)
    for name, value in expected.items():
        assert _bits(cs.metrics[name]) == _bits(value), name
    assert cs.metrics["channels_p90_wait"] == 3.5
    assert cs.metrics["branch2_rm_utilisation"] == 0.0 and cs.rm_minutes_by_branch[2] == 0


def test_pooled_visits_are_the_segments_joined_in_order() -> None:
    """The month's pooled visits, from each pool's desks joined once when it was made, are
    the segments ``2 b + desk`` joined one by one (as ``pooled_visits`` built them)."""
    from sim.day_pools import DayPool, pooled_visits

    rng = np.random.default_rng(8)

    def pool(teller: int, machine: int) -> DayPool:
        wait = (rng.exponential(4.0, teller), rng.exponential(2.0, machine))
        balked = (rng.random(teller) < 0.1, rng.random(machine) < 0.1)
        return DayPool(wait=wait, balked=balked, reneged=balked,
                       ratios=dict.fromkeys(RATIOS, 0.0), p90_wait=1.0)

    pools = [pool(30, 7), None, pool(12, 0), pool(0, 0), None, pool(5, 9)]
    parts = [(p.wait[d], p.balked[d]) if p is not None else (np.zeros(0), np.zeros(0, bool))
             for p in pools for d in (0, 1)]
    sizes = np.array([len(w) for w, _ in parts], np.int64)
    wait, balked, offsets, got_sizes = pooled_visits(pools)
    np.testing.assert_array_equal(got_sizes, sizes)
    np.testing.assert_array_equal(offsets, np.concatenate([[0], np.cumsum(sizes)[:-1]]))
    np.testing.assert_array_equal(wait, np.concatenate([w for w, _ in parts]))
    np.testing.assert_array_equal(balked, np.concatenate([b for _, b in parts]))
    assert wait.dtype == np.float64 and balked.dtype == np.bool_
    assert offsets.dtype == sizes.dtype == np.int64
    for none in ([], [None, None]):
        wait, balked, offsets, got_sizes = pooled_visits(none)
        assert wait.size == balked.size == 0 and (got_sizes == 0).all()
        assert offsets.size == got_sizes.size == 2 * len(none)
