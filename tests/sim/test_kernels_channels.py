"""The channels' compiled shortcuts give what the plain passes give, bit for bit (sim/kernels/)."""

from __future__ import annotations

import numpy as np
import pytest

from sim import kernels


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
