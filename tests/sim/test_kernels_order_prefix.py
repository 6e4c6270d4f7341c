"""The first rows of a priority order at equal costs, unsorted, against the sort behind them."""

from __future__ import annotations

import numpy as np
import pytest

from sim import kernels


def _keys(rng: np.random.Generator, n: int, kind: str) -> np.ndarray:
    """Priority keys as strategies make them, with ties, signed zeros and NaN among them."""
    if kind == "aum":
        return -np.exp(rng.normal(11.0, 2.0, n))
    if kind == "ties":  # few distinct values: ties decided by row
        return rng.integers(-3, 4, n).astype(np.float64)
    key = rng.normal(0.0, 1.0, n)
    key[rng.random(n) < 0.1] = 0.0
    key[rng.random(n) < 0.1] = -0.0
    key[rng.random(n) < 0.01] = np.nan
    key[rng.random(n) < 0.01] = -np.nan
    key[rng.random(n) < 0.01] = -np.inf
    return key


@pytest.mark.parametrize("share", [0.7, 1.0])  # some rows wanted, or all (the rows themselves)
@pytest.mark.parametrize("kind", ["aum", "ties", "odd"])
@pytest.mark.parametrize("n", [1, 7, 300, 20_000, 70_000])
def test_first_in_order_is_the_head_of_the_stable_sort(kind: str, n: int, share: float) -> None:
    rng = np.random.default_rng(n)
    key = _keys(rng, n, kind)
    wanted = rng.random(n) < share
    order = kernels.stable_argsort(key)
    ranked = order[wanted[order]]
    for k in (0, 1, len(ranked) // 3, len(ranked) - 1, len(ranked), len(ranked) + 5):
        expected = np.zeros(n, bool)
        expected[ranked[:max(k, 0)]] = True
        np.testing.assert_array_equal(kernels.first_in_order(key, wanted, k), expected)


@pytest.mark.parametrize("value", [0.05, 5.0, 0.1, 0.0, 1e300])
def test_prefix_length_counts_the_running_sums_within_the_limit(value: float) -> None:
    for n in (0, 1, 10, 5000):
        for limit in (0.0, 0.3, 19.7 + 1e-9, 250.0, 1e308):
            expected = np.count_nonzero(np.cumsum(np.full(n, value)) <= limit)
            assert kernels.prefix_length(value, n, limit) == expected


def test_same_bits_tells_signed_zeros_apart() -> None:
    assert kernels.same_bits(np.zeros(0)) and kernels.same_bits(np.full(5, 3.5))
    assert not kernels.same_bits(np.array([0.0, -0.0]))
    assert not kernels.same_bits(np.array([1.0, 1.0, np.nextafter(1.0, 2.0)]))


@pytest.mark.parametrize("seed", range(8))
def test_branch_prefixes_is_allocate_minutes_in_the_stable_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, n_branches = 4000, 9
    branch = rng.integers(0, n_branches, n).astype(np.int16)
    key = _keys(rng, n, ("aum", "ties", "odd")[seed % 3])
    minutes, contacts = (10.0, 1.0) if seed % 2 else (120.0, 2.0)
    left = rng.random(n_branches) * minutes * rng.integers(0, 600, n_branches)
    left[0] = minutes * 3 + 1e-10  # within the rounding room: served
    requested = rng.integers(0, 1000, n_branches) + rng.random(n_branches)
    order = kernels.stable_argsort(key)
    expected = [left.copy(), requested.copy(), rng.random(n_branches)]
    got = [a.copy() for a in expected]
    served = kernels.allocate_minutes(branch[order].astype(np.intp), np.full(n, minutes),
                                      np.full(n, contacts), *expected)
    keep = kernels.branch_prefixes(branch, key, minutes, contacts, *got)
    in_order = np.zeros(n, bool)
    in_order[order[served]] = True
    np.testing.assert_array_equal(keep, in_order)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a.view(np.uint64), b.view(np.uint64))
    assert 0 < keep.sum() < n


@pytest.mark.parametrize("seed", range(6))
def test_allocate_if_all_fit_is_rm_fits_then_allocate_minutes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, n_branches = 3000, 7
    branch = rng.integers(0, n_branches, n).astype(np.int16)
    minutes = rng.integers(0, 3, n) * 10.0 + rng.random(n)
    contacts = rng.integers(1, 4, n) + rng.random(n)
    demand = np.bincount(branch, weights=minutes, minlength=n_branches)
    left = demand + (1e-9 if seed % 2 else -1e-6) * (np.arange(n_branches) == seed % n_branches)
    expected = [left.copy(), rng.random(n_branches) * 100, rng.random(n_branches) * 100]
    got = [a.copy() for a in expected]
    fits = bool((demand <= left + 1e-9).all())
    assert fits == (seed % 2 == 1)
    if fits:
        assert kernels.allocate_minutes(branch.astype(np.intp), minutes, contacts,
                                        *expected).all()
    assert kernels.allocate_if_all_fit(branch, minutes, contacts, *got) == int(fits)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a.view(np.uint64), b.view(np.uint64))
    branch[5] = n_branches  # out of range: nothing changes, the caller's NumPy way refuses
    assert kernels.allocate_if_all_fit(branch, minutes, contacts, *got) == -1
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)
