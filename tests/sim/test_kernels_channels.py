"""The channels' compiled shortcuts give what the plain passes give, bit for bit (sim/kernels/)."""

from __future__ import annotations

import numpy as np
import pytest

from sim import kernels
from sim.streams import uniform_from_key


def _visits(n: int, visitors: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, visitors, replace=False))
    wait = np.where(rng.random(visitors) < 0.5, 0.0, rng.exponential(8.0, visitors))
    balked = rng.random(visitors) < 0.05
    contacts_failed = (rng.random(n) < 0.1) * rng.integers(1, 3, n).astype(np.float32)
    contacts_failed[rows[::5]] = 1.0  # visitors with a failed contact too
    return rows, wait, balked, contacts_failed, rng.integers(0, 2**40, n)


@pytest.mark.parametrize("visitors", [0, 1, 3000])
def test_complaints_without_failed_contacts_file_the_same_rows(visitors: int) -> None:
    """With no complaints after failed contacts, the candidates are the bad visits alone
    (the table pass skipped): the same rows file, with the same draws, as when every row
    with a failed contact is a candidate whose chance is (1 - 0) ** failed."""
    rows, wait, balked, contacts_failed, ids = _visits(20_000, visitors, visitors)
    args = (rows, wait, balked, 10.0, contacts_failed, ids, np.uint64(77))
    every = kernels.complaint_candidates(*args)
    bad = kernels.complaint_candidates(*args, False)
    visit = every[1] | every[2]
    for full, short in zip(every, bad, strict=True):
        np.testing.assert_array_equal(full[visit], short)
        assert full.dtype == short.dtype

    def filed(candidates, long_wait, walked_out, failed, u):  # as ChannelSystem._complaints
        keep = (1.0 - 0.3 * long_wait) * (1.0 - 0.6 * walked_out) * (1.0 - 0.0) ** failed
        return candidates[u < 1.0 - keep]

    np.testing.assert_array_equal(filed(*bad), filed(*every))
    if visitors > 1:
        assert filed(*bad).size and (every[3] > 0).sum() > visit.sum()


def _branch_visits_in_row_order(customers, channel, activity, ids, key, rate, elasticity):
    """``branch_visits``' definition, each chunk's weights added one by one in row order."""
    from sim.kernels.tallies import CHUNK
    from sim.streams import uniform_from_key

    eligible = customers & (rate[channel] > 0)
    weights = np.where(eligible, activity.astype(np.float64) ** elasticity, np.nan)
    weights = weights.astype(np.float32)
    means = np.ones(rate.size)
    for c in range(rate.size):
        total = 0.0
        for first in range(0, customers.size, CHUNK):  # chunk sums added in chunk order
            mine = weights[first:first + CHUNK][(eligible & (channel == c))[first:first + CHUNK]]
            total += np.cumsum(mine.astype(np.float64))[-1] if mine.size else 0.0
        number = (eligible & (channel == c)).sum()
        if number and total > 0:
            means[c] = total / number
    visits = np.floor(rate[channel] * weights.astype(np.float64) / means[channel]
                      + uniform_from_key(ids, key))
    visits = np.where(eligible & (weights > 0), visits, 0.0)
    return np.flatnonzero(visits > 0), visits[visits > 0], weights


@pytest.mark.parametrize("spread", [1.0, 8.0])
def test_branch_visits_weight_sums_are_those_in_row_order(spread: float) -> None:
    """Each channel's weights are added in any order only when that is exact (narrow
    weights); wide ones (whose sums differ by order) are added in row order."""
    from sim.kernels.visit_weights import channel_weight_sum, ordered_weight_sum

    rng = np.random.default_rng(3)
    n = 3 * 65_536 + 11
    customers = rng.random(n) < 0.8
    channel = rng.integers(0, 3, n).astype(np.int8)
    activity = (rng.gamma(2.0, 3.0, n) * np.exp(rng.normal(0, spread, n))).astype(np.float32)
    ids = np.arange(n, dtype=np.int64)
    rate = np.array([0.5, 0.0, 1.2])
    weights = np.full(n, np.nan, np.float32)
    weights[: n // 2] = activity[: n // 2] ** np.float32(0.5)  # cached: used as they are
    rows, visits, expected_weights = _branch_visits_in_row_order(
        customers, channel, activity, ids, np.uint64(9), rate, 0.5)
    weights[: n // 2] = expected_weights[: n // 2]
    got = kernels.branch_visits(customers, channel, activity, ids, np.uint64(9), rate, 0.5,
                                weights)
    np.testing.assert_array_equal(got[0], rows)
    np.testing.assert_array_equal(got[1], visits)
    np.testing.assert_array_equal(weights, expected_weights)
    any_order, _, exact = channel_weight_sum(customers, channel, weights,
                                             weights.view(np.uint32), 2, np.uint64(0),
                                             np.uint64(65_536))
    in_order = ordered_weight_sum(customers, channel, weights, 2, np.uint64(0),
                                  np.uint64(65_536))
    assert exact == (spread == 1.0)
    assert (any_order == in_order) == exact  # wide weights: the order changes the sum


@pytest.mark.parametrize("fraction", [0.9, 0.5, 0.001, 0.999])
def test_joined_wait_quantile_across_buckets_is_numpy_s(fraction: float) -> None:
    """Large pools whose waits span many of the selection's buckets (16 top bits of the
    order key), including negative ones and -0.0, with the two positions NumPy
    interpolates between often in different buckets: the same float as ``np.quantile``."""
    rng = np.random.default_rng(int(fraction * 1000))
    for trial in range(40):
        size = int(rng.integers(1, 5000))
        pool_wait = rng.exponential(4.0, size) * np.exp(rng.normal(0, 3, size))
        pool_wait[rng.random(size) < 0.3] = 0.0
        pool_wait[rng.random(size) < 0.05] *= -1.0
        pool_wait[rng.random(size) < 0.02] = -0.0
        if trial % 4 == 0:  # few distinct waits: positions in one bucket, many ties
            pool_wait = np.round(pool_wait % 3.0, 1)
        pool_balked = rng.random(size) < 0.1
        picked = rng.integers(0, size + 1, int(rng.integers(1, 20_000)))
        wait = np.append(pool_wait, 0.0)[picked]
        joined = wait[~np.append(pool_balked, False)[picked]]
        expected = float(np.quantile(joined, fraction)) if joined.size else 0.0
        got = kernels.joined_wait_quantile(pool_wait, pool_balked, picked, fraction)
        assert got == expected or (got == 0.0 == expected), trial
        assert np.signbit(got) == np.signbit(expected) or got == 0.0, trial


@pytest.mark.parametrize("n", [0, 1, 100_003])
def test_channel_values_are_numpys_gather_and_sum_alike(n: int) -> None:
    """The online users' activity in one pass: NumPy's mask, indices and gather, and so
    the same float32 sum."""
    rng = np.random.default_rng(n)
    customers = rng.random(n) < 0.8
    channel = rng.integers(0, 3, n).astype(np.int8)
    activity = rng.gamma(2.0, 3.0, n).astype(np.float32)
    got = kernels.channel_values(customers, channel, 0, activity)
    expected = activity[np.flatnonzero(customers & (channel == 0))]
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    assert float(got.sum()) == float(expected.sum())


def test_visit_outcomes_is_the_numpy_desk_and_visit_draw() -> None:
    """The compiled visit pass against the NumPy it replaced: routing draw, desk, the pooled
    visit the outcome draw picks (empty segments: no wait), waits written to the table;
    visitors in several blocks of the compiled pass and a part block."""
    rng = np.random.default_rng(3)
    n, n_branches = 20_000, 4
    ids = rng.integers(0, 2**40, n)
    branch = rng.integers(0, n_branches, n).astype(np.int16)
    channel = rng.integers(0, 3, n).astype(np.int8)
    machine_user = np.array([False, True, False])
    route_share = np.array([0.3, 0.0, 0.5, 0.2])
    has_vtm = np.array([True, False, True, True])  # branch 1 has no machines
    sizes = np.array([50, 20, 40, 0, 0, 0, 30, 10], np.int64)  # branch 2: no visits at all
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pool_wait = rng.exponential(5.0, sizes.sum())
    pool_balked = rng.random(sizes.sum()) < 0.1
    rows = np.sort(rng.choice(n, 5000, replace=False))  # BLOCK is 2,048
    keys = np.uint64(0xABCDEF), np.uint64(0x123456)
    wait_minutes = rng.random(n).astype(np.float32)  # last month's: must be cleared

    b = branch[rows].astype(np.intp)
    routed = uniform_from_key(ids[rows], keys[0]) < route_share[b]
    segment = 2 * b + ((machine_user[channel[rows]] | routed) & has_vtm[b])
    size = sizes[segment]
    pick = offsets[segment] + np.minimum(
        (uniform_from_key(ids[rows], keys[1]) * size).astype(np.intp), size - 1)
    pick = np.where(size > 0, pick, len(pool_wait))
    expected_wait = np.append(pool_wait, 0.0)[pick]
    expected_balked = np.append(pool_balked, False)[pick]
    expected_minutes = np.zeros(n, np.float32)
    expected_minutes[rows] = np.where(expected_balked, 45.0, expected_wait)

    wait, balked, picked = kernels.visit_outcomes(
        rows, ids, b, machine_user[channel[rows]], route_share, has_vtm, keys[0], keys[1],
        pool_wait, pool_balked, offsets, sizes, 45.0, wait_minutes)
    np.testing.assert_array_equal(wait, expected_wait)
    np.testing.assert_array_equal(balked, expected_balked)
    np.testing.assert_array_equal(wait_minutes, expected_minutes)
    np.testing.assert_array_equal(picked, pick)  # len(pool_wait): an empty segment
    assert (size == 0).any() and expected_balked.any() and (segment % 2 == 1).any()


def test_visitor_loads_are_the_gathers_and_bincounts_by_branch() -> None:
    """Each visitor's branch and machine flag, and the branch loads, as NumPy gave them;
    more visitors than one chunk, so per-chunk sums are added up too."""
    rng = np.random.default_rng(11)
    n, n_branches = 3 * 65_536 + 5, 7
    rows = np.sort(rng.choice(2 * n, n, replace=False))
    visits = rng.integers(1, 4, n).astype(np.float64)
    channel = rng.integers(0, 3, 2 * n).astype(np.int8)
    branch = rng.integers(0, n_branches - 1, 2 * n).astype(np.int16)  # the last: no visitor
    machine_user = np.array([False, True, False])

    their_branch, own_machine, staff, machines = kernels.visitor_loads(
        rows, visits, channel, branch, machine_user, n_branches)
    expected_branch = branch[rows].astype(np.intp)
    expected_own = machine_user[channel[rows]]
    np.testing.assert_array_equal(their_branch, expected_branch)
    np.testing.assert_array_equal(own_machine, expected_own)
    np.testing.assert_array_equal(staff, np.bincount(
        expected_branch, weights=visits * ~expected_own, minlength=n_branches))
    np.testing.assert_array_equal(machines, np.bincount(
        expected_branch, weights=visits * expected_own, minlength=n_branches))
    assert machines[:-1].all() and staff[:-1].all() and staff[-1] == machines[-1] == 0


@pytest.mark.parametrize("visitors", [0, 1, 3000])
def test_complaint_candidates_are_the_numpy_masks_union(visitors: int) -> None:
    """Bad visits (long wait or balk) and failed contacts, merged in table order as
    ``np.flatnonzero`` of the table-wide masks gave them (a row may be both), with
    their keyed complaint draws."""
    rng = np.random.default_rng(visitors)
    n, long_wait_minutes = 20_000, 10.0
    rows = np.sort(rng.choice(n, visitors, replace=False))
    wait = np.where(rng.random(visitors) < 0.5, 0.0, rng.exponential(8.0, visitors))
    wait[::7] = long_wait_minutes  # exactly the threshold: not a long wait
    balked = rng.random(visitors) < 0.05
    contacts_failed = (rng.random(n) < 0.1) * rng.integers(1, 3, n).astype(np.float32)
    contacts_failed[rows[::5]] = 1.0  # visitors with a failed contact too
    contacts_failed[-1] = 2.0  # the last row

    long_wait = np.zeros(n, np.bool_)
    long_wait[rows] = ~balked & (wait > long_wait_minutes)
    walked_out = np.zeros(n, np.bool_)
    walked_out[rows] = balked
    expected = np.flatnonzero(long_wait | walked_out | (contacts_failed > 0))

    ids = rng.integers(0, 2**40, n)
    candidates, lw, wo, failed, draw = kernels.complaint_candidates(
        rows, wait, balked, long_wait_minutes, contacts_failed, ids, np.uint64(77))
    np.testing.assert_array_equal(candidates, expected)
    np.testing.assert_array_equal(draw, uniform_from_key(ids[expected], np.uint64(77)))
    np.testing.assert_array_equal(lw, long_wait[expected])
    np.testing.assert_array_equal(wo, walked_out[expected])
    np.testing.assert_array_equal(failed, contacts_failed[expected])
    assert failed.dtype == np.float32
    if visitors > 1:
        assert (lw & (failed > 0)).any() and wo.any() and (lw & (failed == 0)).any()
