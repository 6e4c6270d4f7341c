"""A chunk's sums of visit weights by channel, compiled, in an order the processor runs fast.

``branch_visits`` (:mod:`sim.kernels.allocation`) scales each channel's
visit rate by activity^elasticity over the channel's mean of that, the mean
over the customers who may visit: per chunk of rows, each channel's float32
weights added up in float64 in row order. In row order the sum is a chain
of dependent additions (each waits for the previous one), and picking a
channel's rows out takes a pass of its own: 3.0 ms of the 6.5 ms
``branch_visits`` takes at 1.21M rows on one thread.

Here each channel's weights are added in whatever order the compiler
vectorises (``fastmath`` lets it reassociate this one sum, nothing else),
and the result is used only when it is exact, so that every order, row
order included, gives the same float64 (checked per chunk and channel, from
the weights' exponents; otherwise the chunk is added up in row order):

* every float32 weight ``w ≥ 0`` is a whole multiple of its unit in the last
  place, at least ``2^L``, ``L = max(E_min, 1) - 150`` for the least biased
  exponent ``E_min`` of the nonzero weights, so every partial sum is too;
* the sum of at most ``CHUNK = 2^16`` weights below ``2^(E_max - 126)`` is
  below ``2^(E_max - 110)``, and float64 holds every multiple of ``2^L``
  below ``2^(L + 53)`` exactly;
* so if ``E_max - max(E_min, 1) <= 13`` no partial sum in any order is
  rounded. Weights of activity 2.2-16.3 (month 30 of the 1M benchmark) span
  biased exponents 127-129.

A NaN weight (not computed yet), an infinite or a negative one (sign bit:
``E_max`` above 255) fails the test, and the caller computes the chunk's new
weights or adds in row order.
"""

from __future__ import annotations

import numba
import numpy as np

from sim.kernels.tallies import CHUNK

__all__ = ["channel_weight_sum", "fill_weights", "ordered_weight_sum"]

#: The widest spread of biased exponents (largest - smallest) whose sums are exact in any
#: order: 53 bits of float64 less float32's 24 and 16 for up to CHUNK = 2^16 weights.
SPREAD = 53 - 24 - 16
assert CHUNK <= 1 << 16, "SPREAD assumes at most 2^16 rows a chunk"


@numba.njit(cache=True, nogil=True, fastmath={"reassoc"})
def channel_weight_sum(
    customers: np.ndarray, channel: np.ndarray, weights: np.ndarray, bits: np.ndarray,
    code: int, first: np.uint64, last: np.uint64,
) -> tuple[float, int, bool]:  # pragma: no cover - compiled
    """Rows ``first:last``'s weights of customers of channel ``code``, added in any order.

    ``bits`` is ``weights.view(np.uint32)``. Returns the sum, the number of
    such customers, and whether the sum is exact (then every order of adding,
    row order included, gives it; see the module's docstring). A NaN weight
    makes it inexact.
    """
    total = 0.0
    number = 0
    low, high = np.uint32(511), np.uint32(0)  # sign and exponent bits of nonzero weights
    for i in range(first, last):
        take = customers[i] & (channel[i] == code)
        b = bits[i] if take else np.uint32(0)
        e = b >> np.uint32(23)
        total += np.float64(weights[i]) if take else 0.0
        number += take
        high = max(high, e)
        low = min(low, e if b != 0 else np.uint32(511))
    spread = np.int64(high) - np.int64(max(low, np.uint32(1)))  # subnormals: as exponent 1
    return total, number, bool(high <= np.uint32(254) and spread <= SPREAD)


@numba.njit(cache=True, nogil=True)
def ordered_weight_sum(
    customers: np.ndarray, channel: np.ndarray, weights: np.ndarray, code: int,
    first: np.uint64, last: np.uint64,
) -> float:  # pragma: no cover - compiled
    """Rows ``first:last``'s weights of customers of channel ``code``, added in row order."""
    total = 0.0
    for i in range(first, last):
        if customers[i] & (channel[i] == code):
            total += weights[i]
    return total


@numba.njit(cache=True, nogil=True)
def fill_weights(
    customers: np.ndarray, channel: np.ndarray, activity_rate: np.ndarray,
    visit_rate: np.ndarray, elasticity: float, weights: np.ndarray, first: np.uint64,
    last: np.uint64,
) -> None:  # pragma: no cover - compiled
    """Compute rows ``first:last``'s weights not yet computed (NaN) of customers who may visit.

    The rows with NaN weights are found first without a branch (every row is
    written at the next free place, which only such a row keeps): a branch on
    each row, with the channel's rate looked up, cost 3 times as much.
    """
    todo = np.empty(last - first, np.uint64)
    m = 0
    for i in range(first, last):
        todo[m] = i
        m += customers[i] & np.isnan(weights[i])
    for t in range(m):
        i = todo[t]
        if visit_rate[np.uint64(channel[i])] > 0:
            weights[i] = float(activity_rate[i]) ** elasticity
