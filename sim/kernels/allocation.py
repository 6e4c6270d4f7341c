"""Who is served, compiled: budget priority order and this month's branch visitors."""

from __future__ import annotations

import numba
import numpy as np

from sim.kernels.draws import _uniform
from sim.kernels.tallies import CHUNK

__all__ = ["branch_visits", "stable_argsort"]


@numba.njit(cache=True, nogil=True)
def stable_argsort(key: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """``np.argsort(key, kind="stable")`` for float64 keys without NaN, by LSD radix sort.

    Each key's bits are mapped to an unsigned integer in the same order (sign
    flipped for positives, all bits for negatives; -0.0 counts as 0.0), then
    sorted 16 bits at a time, four stable counting passes.
    """
    n = key.shape[0]
    bits = np.empty(n, np.uint64)
    for i in range(n):
        value = key[i] + 0.0  # -0.0 -> 0.0, as numpy compares them equal
        b = np.uint64(np.float64(value).view(np.uint64))
        if b >> np.uint64(63):
            bits[i] = ~b
        else:
            bits[i] = b | np.uint64(1 << 63)
    order = np.arange(n)
    other = np.empty(n, np.int64)
    count = np.zeros(65537, np.int64)
    for shift in range(0, 64, 16):
        count[:] = 0
        s = np.uint64(shift)
        for i in range(n):
            count[((bits[order[i]] >> s) & np.uint64(0xFFFF)) + np.uint64(1)] += 1
        for d in range(1, 65537):
            count[d] += count[d - 1]
        for i in range(n):
            digit = (bits[order[i]] >> s) & np.uint64(0xFFFF)
            other[count[digit]] = order[i]
            count[digit] += 1
        order, other = other, order
    return order


@numba.njit(inline="always")
def _visits(c: int, weight: float, mean: float, rate: np.ndarray, customer_id: np.int64,
            key: np.uint64) -> float:  # pragma: no cover - compiled
    return np.floor(rate[c] * weight / mean + _uniform(customer_id, key))


@numba.njit(parallel=True, cache=True, nogil=True)
def branch_visits(
    customers: np.ndarray, channel: np.ndarray, activity_rate: np.ndarray, ids: np.ndarray,
    key: np.uint64, visit_rate: np.ndarray, elasticity: float, weights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """This month's branch visitors and their visits (see ``ChannelSystem.serve``).

    A customer of channel c may visit at ``visit_rate[c]`` a month, scaled by
    activity^elasticity over its channel's mean of that (so each channel keeps
    its calibrated mean); the expected count is rounded up or down by the
    customer's keyed draw under ``key``. ``weights`` caches each row's
    activity^elasticity (NaN: not yet computed; filled here), as activity
    does not change. Parallel over fixed chunks of rows: per-chunk sums are
    added in chunk order and visitors are written in row order, so the
    result does not depend on the number of threads.

    Returns:
        The visitors' rows (table order) and their numbers of visits.
    """
    n, n_channels = customers.shape[0], visit_rate.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    sums = np.zeros((n_chunks, n_channels))
    counts = np.zeros((n_chunks, n_channels), np.int64)
    for k in numba.prange(n_chunks):
        total, number = np.zeros(n_channels), np.zeros(n_channels, np.int64)
        for i in range(np.uint64(k * CHUNK), np.uint64(min(n, (k + 1) * CHUNK))):
            c = channel[i]
            if customers[i] and visit_rate[c] > 0:
                if np.isnan(weights[i]):
                    weights[i] = float(activity_rate[i]) ** elasticity
                total[c] += weights[i]
                number[c] += 1
        sums[k], counts[k] = total, number
    means = np.ones(n_channels)
    for c in range(n_channels):
        total_c, number_c = 0.0, 0
        for k in range(n_chunks):
            total_c += sums[k, c]
            number_c += counts[k, c]
        if number_c > 0 and total_c > 0:
            means[c] = total_c / number_c
    found = np.zeros(n_chunks, np.int64)
    for k in numba.prange(n_chunks):
        m = 0
        for i in range(np.uint64(k * CHUNK), np.uint64(min(n, (k + 1) * CHUNK))):
            c = channel[i]
            if (customers[i] and visit_rate[c] > 0 and weights[i] > 0
                    and _visits(c, weights[i], means[c], visit_rate, ids[i], key) > 0):
                m += 1
        found[k] = m
    start = np.zeros(n_chunks + 1, np.int64)
    for k in range(n_chunks):
        start[k + 1] = start[k] + found[k]
    rows = np.empty(start[n_chunks], np.int64)
    visits = np.empty(start[n_chunks])
    for k in numba.prange(n_chunks):
        j = start[k]
        for i in range(np.uint64(k * CHUNK), np.uint64(min(n, (k + 1) * CHUNK))):
            c = channel[i]
            if customers[i] and visit_rate[c] > 0 and weights[i] > 0:
                v = _visits(c, weights[i], means[c], visit_rate, ids[i], key)
                if v > 0:
                    rows[j] = i
                    visits[j] = v
                    j += 1
    return rows, visits

