"""Compiled short cuts of the strategies' budgets and RM time against their plain definitions."""

from __future__ import annotations

import numpy as np
import pytest

from sim import kernels


def _allocated(branch, minutes, contacts, left, requested, order):
    """What ``allocate_minutes`` does to ``requested`` and whom it serves, in ``order``."""
    left, requested, delivered = left.copy(), requested.copy(), np.zeros_like(requested)
    keep = kernels.allocate_minutes(branch[order].astype(np.intp), minutes[order],
                                    contacts[order], left, requested, delivered)
    return keep, requested


@pytest.mark.parametrize("seed", range(6))
def test_refuse_minutes_is_allocate_minutes_serving_no_one_in_any_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, n_branches = 3000, 7
    branch = rng.integers(0, n_branches, n).astype(np.int16)
    contacts = rng.integers(0, 4, n).astype(np.float64)
    requested = rng.integers(0, 1000, n_branches).astype(np.float64)
    left = rng.random(n_branches) * 9.0  # below every customer's minutes
    minutes = 10.0 * np.maximum(contacts, 1.0)
    fits = seed % 2 == 1
    if fits:  # a row that fits, first in some order: no short cut
        minutes[rng.integers(n)] = 0.0
    served, expected = _allocated(branch, minutes, contacts, left, requested,
                                  rng.permutation(n))
    got = requested.copy()
    refused = kernels.refuse_minutes(branch, minutes, contacts, left, got)
    assert refused == (not fits)
    assert not (refused and served.any())
    np.testing.assert_array_equal(got, expected if refused else requested)
    for _ in range(3):  # the served-no-one case holds in any order
        keep, again = _allocated(branch, minutes, contacts, left, requested, rng.permutation(n))
        if refused:
            assert not keep.any()
            np.testing.assert_array_equal(again, got)


def test_refuse_minutes_declines_sums_that_depend_on_the_order() -> None:
    # fractional contacts (or counts so far) add up differently in another order: the
    # caller must sort; and nothing is counted then
    branch = np.zeros(3, np.int16)
    minutes, left = np.full(3, 10.0), np.array([1.0])
    for contacts, requested in ((np.array([0.1, 0.2, 0.3]), np.array([0.0])),
                                (np.array([1.0, 2.0, 3.0]), np.array([0.5])),
                                (np.array([2.0**53, 1.0, 1.0]), np.array([0.0]))):
        before = requested.copy()
        assert not kernels.refuse_minutes(branch, minutes, contacts, left, requested)
        np.testing.assert_array_equal(requested, before)
    requested = np.array([4.0])
    assert kernels.refuse_minutes(branch, minutes, np.array([1.0, 2.0, 3.0]), left, requested)
    assert requested[0] == 10.0


@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.int16, np.float32, np.float64,
                                   np.int64, np.uint32])
def test_gather_is_fancy_indexing(dtype) -> None:
    rng = np.random.default_rng(11)
    column = (rng.random(300_000) * 100).astype(dtype)
    for rows in (np.flatnonzero(rng.random(300_000) < 0.4),  # several chunks of 65,536
                 np.sort(rng.choice(300_000, 5, replace=False)), np.zeros(0, np.int64),
                 np.flatnonzero(rng.random(300_000) < 0.4).astype(np.uint32)):
        for gather in (kernels.gather, kernels.gather_dense):
            got = gather(column, rows)
            assert got.dtype == column.dtype
            np.testing.assert_array_equal(got, column[rows])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_add_at_without_a_copy_adds_as_numpy_does(dtype) -> None:
    # the compiled pass against NumPy's ``column[rows[mask]] += amount``: Python numbers
    # (added in the column's type), float64 values (added in float64), NumPy scalars
    from sim.population_subset import RowSubset

    rng = np.random.default_rng(2)
    n = 50_000
    rows = np.sort(rng.choice(n, 20_000, replace=False))
    mask = rng.random(len(rows)) < 0.6
    for amount in (1.0, 0.1, 3, np.float64(0.1), np.float32(0.1),
                   rng.random(int(mask.sum())) * 7.3, np.array([0.3])):
        column = (rng.random(n) * 1e3).astype(dtype)
        expected = column.copy()
        expected[rows[mask]] += amount
        table = type("Table", (), {})()
        table.columns = lambda column=column: {"contacts": column}
        subset = RowSubset(table, rows)  # type: ignore[arg-type]
        subset.add_at("contacts", mask, amount)
        np.testing.assert_array_equal(column, expected)
        assert column.dtype == dtype
