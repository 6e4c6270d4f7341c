"""The close pass's branch-free helpers against the plain definitions they replace.

:func:`sim.kernels.close.close_month` is checked against the separate phase
kernels in ``test_kernels.py``; these tests pin each helper on its own, on
values chosen to reach the edge cases (ties at a bound, NaN, non-members,
rows that are not customers).
"""

from __future__ import annotations

import numba
import numpy as np

from sim.kernels.close import _count_any, _round_robin, _tier
from sim.kernels.close_blocks import (
    LAST_WHOLE,
    _contact_logs,
    _segment_block,
    _tally_block,
    whole_logs,
)
from sim.kernels.month import _segment_row
from sim.kernels.tallies import _tally_row
from tests.sim.census_reference import _count_row


@numba.njit
def _tiers(bounds: np.ndarray, values: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    out = np.empty(values.shape[0], np.int64)
    for i in range(values.shape[0]):
        out[i] = _tier(bounds, values[i])
    return out


def test_tier_is_searchsorted_right_minus_one() -> None:
    """The count of bounds at or below the value, less one; ties go up; NaN sorts last."""
    bounds = np.array([0.0, 50_000.0, 100_000.0, 200_000.0, 1e6, 5e6, 6e6])
    rng = np.random.default_rng(7)
    values = np.concatenate([bounds, np.nextafter(bounds, -np.inf), rng.uniform(-1e5, 8e6, 5000),
                             [-np.inf, np.inf, np.nan, -0.0]])
    want = np.searchsorted(bounds, values, side="right") - 1
    np.testing.assert_array_equal(_tiers(bounds, values), want)


@numba.njit
def _tallies(cohorts: np.ndarray, live: np.ndarray, aum: np.ndarray, revenue: np.ndarray,
             cost: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
    n = live.shape[0]
    blocked, rowwise = np.zeros((cohorts.shape[0], 3, 4)), np.zeros((cohorts.shape[0], 3, 4))
    rows, others = np.empty(block, np.int64), np.empty(block, np.int64)
    for lo in range(0, n, block):
        _tally_block(np.uint64(lo), np.uint64(min(n, lo + block)), cohorts, live, aum, revenue,
                     cost, rows, others, blocked)
    for i in range(n):
        _tally_row(i, cohorts, live[i], aum, revenue, cost, rowwise)
    return blocked, rowwise


def test_tally_block_adds_the_rows_as_tally_row_bit_for_bit() -> None:
    """Members gathered per strategy and block are added in row order: the same bits."""
    rng = np.random.default_rng(3)
    n = 10_000
    cohorts = rng.choice(np.array([0, 1, 2], np.int8), size=(5, n), p=[0.7, 0.2, 0.1])
    cohorts[4] = 0  # a strategy with no members
    live = rng.random(n) < 0.8
    aum, revenue, cost = rng.lognormal(10, 2, n), rng.lognormal(3, 1, n), rng.lognormal(2, 1, n)
    aum[~live & (rng.random(n) < 0.5)] = np.nan  # not added: a row not live adds 0.0
    revenue[::7] *= -1.0  # sums that cross zero
    cost[::11] = -0.0
    blocked, rowwise = _tallies(cohorts, live, aum, revenue, cost, 777)
    assert blocked.tobytes() == rowwise.tobytes()
    assert blocked[:, 1:, 0].sum() > 0 and (blocked[4] == 0).all() and (blocked[:, 0] == 0).all()


@numba.njit
def _counts(stage: np.ndarray, roles: np.ndarray, segment: np.ndarray, tier: np.ndarray,
            channel: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, ...]:  # pragma: no cover
    st, sg = np.zeros(sizes[0], np.int64), np.zeros(sizes[1] + 1, np.int64)
    tr, ch = np.zeros(sizes[2] + 1, np.int64), np.zeros(sizes[3] + 1, np.int64)
    st2, sg2 = np.zeros(sizes[0], np.int64), np.zeros(sizes[1], np.int64)
    tr2, ch2 = np.zeros(sizes[2], np.int64), np.zeros(sizes[3], np.int64)
    heads, sums, zeros = np.zeros(4, np.int64), np.zeros(4), np.zeros(stage.shape[0])
    flags = np.zeros(stage.shape[0], np.bool_)
    for i in range(stage.shape[0]):
        s = stage[i]
        _count_any(i, s, roles[s], segment, tier, channel, st, sg, tr, ch)
        _count_row(i, s, roles[s], segment, tier, channel, flags, zeros, zeros, zeros, zeros,
                   1.0, st2, sg2, tr2, ch2, heads, sums)
    return st, sg[1:], tr[1:], ch[1:], st2, sg2, tr2, ch2


def test_count_any_counts_as_count_row() -> None:
    """Stage, segment, tier and channel counts; non-customers and codes -1 left out."""
    rng = np.random.default_rng(5)
    n = 5000
    roles = np.array([0, 1, 1, 2], np.int8)
    stage = rng.integers(0, 4, n).astype(np.int8)
    segment = rng.integers(-1, 4, n).astype(np.int8)
    tier = rng.integers(-1, 7, n).astype(np.int8)
    channel = rng.integers(0, 3, n).astype(np.int8)
    got = _counts(stage, roles, segment, tier, channel, np.array([4, 4, 7, 3]))
    for a, b in zip(got[:4], got[4:], strict=True):
        np.testing.assert_array_equal(a, b)
    assert got[1].sum() < (roles[stage] == 1).sum()  # some customers have no segment yet


@numba.njit
def _segments(
    customers: np.ndarray, age: np.ndarray, digital: np.ndarray, wealth: np.ndarray,
    aum: np.ndarray, weights: np.ndarray, block: int,
) -> tuple[np.ndarray, ...]:  # pragma: no cover - compiled
    n = customers.shape[0]
    value, segment = np.full(n, -7.0, np.float32), np.full(n, -7, np.int8)
    value2, segment2 = value.copy(), segment.copy()
    counts, counts2 = np.zeros(5, np.int64), np.zeros(5, np.int64)
    rows, logs = np.empty(block, np.int64), np.empty(block)
    for lo in range(0, n, block):
        _segment_block(np.uint64(lo), np.uint64(min(n, lo + block)), customers, age, digital,
                       wealth, aum, weights, 0.45, 50_000.0, value, segment, rows, logs, counts)
    for i in range(n):
        if customers[i]:
            _segment_row(i, age, digital, wealth, aum, weights, 0.45, 50_000.0, value2, segment2)
            counts2[segment2[i] + 1] += 1
    return value, segment, counts, value2, segment2, counts2


def test_segment_block_reviews_customers_as_segment_row_bit_for_bit() -> None:
    """Customers' potential value, segment and counts as row by row; other rows untouched."""
    rng = np.random.default_rng(11)
    n = 20_000
    customers = rng.random(n) < 0.8
    age = rng.uniform(15.0, 95.0, n).astype(np.float32)
    digital = rng.random(n).astype(np.float32)
    aum = rng.lognormal(10, 2, n)
    wealth = (aum * rng.uniform(0.5, 20.0, n)).astype(np.float32)
    wealth[::97] = np.nan
    aum[::101] = np.inf
    wealth[::103] = 1e4 - 1.0  # log10 exactly at the bounds of the wealth scale
    aum[::103] = 0.0
    wealth[::107] = 1e7 - 1.0
    aum[::107] = 0.0
    got = _segments(customers, age, digital, wealth, aum, np.array([0.4, 0.35, 0.25]), 777)
    for a, b in zip(got[:3], got[3:], strict=True):
        assert a.tobytes() == b.tobytes()
    assert (got[1][~customers] == -7).all() and set(np.unique(got[1][customers])) == {0, 1, 2, 3}


def test_round_robin_gives_each_threads_static_run_every_threads_th_chunk() -> None:
    """A permutation; split as a static schedule splits it (the first runs one longer),
    run ``t`` holds chunks t, t + threads, ... (the results do not depend on it:
    ``test_results_do_not_depend_on_the_number_of_threads``)."""
    for n_chunks in range(1, 25):
        for threads in range(1, 6):
            order = _round_robin(n_chunks, threads)
            assert sorted(order.tolist()) == list(range(n_chunks))
            q, r = divmod(n_chunks, threads)
            start = 0
            for t in range(threads):
                run = order[start:start + q + (t < r)]
                assert run.tolist() == list(range(t, n_chunks, threads))
                start += len(run)
    assert _round_robin(5, 0).tolist() == list(range(5))  # no threads given: chunk order


@numba.njit
def _logs_by_block(contacts: np.ndarray, block: int) -> np.ndarray:  # pragma: no cover
    out, table = np.empty(contacts.shape[0]), whole_logs(contacts)
    for lo in range(0, contacts.shape[0], block):
        hi = min(contacts.shape[0], lo + block)
        _contact_logs(np.uint64(lo), np.uint64(hi), contacts, table, out[lo:])
    return out


@numba.njit
def _logs_by_row(contacts: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    out = np.empty(contacts.shape[0])
    for i in range(contacts.shape[0]):  # _drivers' definition, libm's log1p
        out[i] = np.log1p(float(contacts[i])) if contacts[i] > 0 else 0.0
    return out


def test_contact_logs_are_libm_log1p_bit_for_bit() -> None:
    """Whole counts from the table, anything else from log1p: the same bits as log1p per row."""
    rng = np.random.default_rng(11)
    whole = rng.integers(0, LAST_WHOLE + 3, 20_000).astype(np.float32)
    odd = np.array([0.5, 1.25, 2.75, 1e6, 3e38, np.inf, -np.inf, np.nan, -1.0, -0.0,
                    LAST_WHOLE, LAST_WHOLE + 1, 1e-30], np.float32)
    contacts = whole.copy()
    contacts[rng.choice(contacts.shape[0], odd.shape[0], replace=False)] = odd  # a few blocks
    for column in (whole, contacts, contacts.astype(np.float64)):
        want = _logs_by_row(column)
        got = _logs_by_block(column, 2048)
        assert np.array_equal(got.view(np.uint64), want.view(np.uint64))


def test_whole_logs_of_an_empty_column_writes_nothing_out_of_bounds() -> None:
    """A table with no rows (a shard without customers) still builds the table: the count
    it is taken from must have room for one value (compiled code does not check)."""
    from sim.kernels.close_blocks import whole_logs

    for dtype in (np.float32, np.float64):
        assert len(whole_logs.py_func(np.empty(0, dtype))) == 256  # Python checks bounds
        np.testing.assert_array_equal(whole_logs(np.empty(0, dtype)).view(np.uint64),
                                      whole_logs(np.ones(3, dtype)).view(np.uint64))
