"""The month's market phase, compiled: wealth walk, age, AUM and payments per row.

:func:`market_rows` is the market phase of :meth:`sim.model.LifecycleModel.step`.

The walk multiplies each row's wealth (``float32``) by ``exp(mu + sigma * z)``
and stores the product rounded to ``float32``. libm's ``exp`` (about 4 ns a
call, scalar) was a third of the kernel. The walk now takes its own ``exp``
(:func:`_exp_small`, a Taylor polynomial the compiler vectorises) and keeps
the product only where it provably rounds to the same ``float32`` as with
libm's: the two ``exp`` values are within a few units in the last place
(``ulp``) of each other (both within about one of the true value), so their
``float64`` products with the wealth are too, and rounding to ``float32``
only tells them apart next to the half-way point between two ``float32``
values. A product within :data:`MARGIN` ``ulp`` of such a point (about 4 rows
in a million), or any row outside the polynomial's range or ``float32``'s
normal range, takes libm's ``exp`` as before. The results are the same bits.
"""

from __future__ import annotations

import numba
import numpy as np

from sim.kernels.draws import BLOCK, _normals_block, _uniform
from sim.kernels.tallies import CHUNK

__all__ = ["MARGIN", "market_rows"]

#: Units in the last place of a ``float64`` product within which of a ``float32``
#: half-way point the walk takes libm's ``exp``: hundreds of times the few units by
#: which the two ``exp`` (and so the products) can differ.
MARGIN = 1 << 10
_HALF32 = np.int64(1 << 28)  # a float32 half-way point: these low bits of a float64
_LOW29 = np.int64((1 << 29) - 1)
#: Arguments at most this large (in size) take :func:`_exp_small`; the walk's are
#: mu + sigma * z with sigma about 0.04, so all but |z| > 7.7 or so.
_SMALL = 0.34
# 1/n!, n = 13 down to 2: the Taylor polynomial's remainder on |x| <= 0.34 is below 4e-18
_C = (1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0,
      1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0,
      1.0 / 6.0, 0.5)


@numba.njit(inline="always")
def _exp_small(x: float) -> float:  # pragma: no cover - compiled
    """``exp(x)`` for ``|x| <= 0.34``, within about 1.5 ulp (Horner's rule, no fused adds).

    Not libm's bits: :func:`_walk` uses it only where the difference cannot
    change the ``float32`` it stores.
    """
    q = _C[0]
    for c in _C[1:]:
        q = c + x * q
    return 1.0 + x * (1.0 + x * q)


@numba.njit(inline="always", error_model="numpy")
def _walk(
    z: np.ndarray, wealth: np.ndarray, lo: int | np.uint64, n: int | np.uint64, mu: float,
    sigma: float, product: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """``product[j]`` = ``float64(wealth[lo + j]) * exp(mu + sigma * z[j])`` for ``j < n``.

    libm's ``exp`` bits are not kept, but the ``float32`` each product
    rounds to is: :func:`_exp_small` in a vectorised loop, then libm's ``exp``
    for the rows whose product lies within :data:`MARGIN` ulp of a ``float32``
    half-way point (or outside ``float32``'s normal range, or whose argument
    :func:`_exp_small` does not take), found by a count over the block and
    recomputed in a loop that runs for a few blocks a month.
    """
    bits = product.view(np.int64)
    for j in range(n):
        x = mu + sigma * z[j]
        product[j] = float(wealth[lo + j]) * _exp_small(x)
    risky = 0
    for j in range(n):
        risky += _risky(mu + sigma * z[j], product[j], bits[j])
    if risky == 0:
        return
    for j in range(n):
        if _risky(mu + sigma * z[j], product[j], bits[j]):
            product[j] = float(wealth[lo + j]) * np.exp(mu + sigma * z[j])


@numba.njit(inline="always")
def _risky(x: float, product: float, bits: np.int64) -> bool:  # pragma: no cover - compiled
    """Whether a row of :func:`_walk` needs libm's ``exp`` (see there)."""
    size = abs(product)
    return bool(abs((bits & _LOW29) - _HALF32) <= MARGIN or not abs(x) <= _SMALL
                or not 2.0**-120 <= size <= 2.0**120)


@numba.njit(parallel=True, cache=True, nogil=True, error_model="numpy")  # see _normals_block
def market_rows(
    ids: np.ndarray, keys: np.ndarray, n_old: int, mu: float, sigma: float,
    stage: np.ndarray, is_customer_stage: np.ndarray, total_wealth: np.ndarray,
    age: np.ndarray, share_of_wallet: np.ndarray, aum: np.ndarray, activity_rate: np.ndarray,
    payment_share: float, new_year: bool, payments_month: np.ndarray,
    payments_ytd: np.ndarray, old_aum: np.ndarray, was_customer: np.ndarray,
    customers: np.ndarray,
) -> tuple[float, float]:  # pragma: no cover - compiled
    """The month's market per row: wealth walk, age, AUM and payments.

    The first ``n_old`` rows (those at the start of the month; the rest
    arrived this month) take one month of the wealth random walk, a keyed
    normal shock under ``keys[0]``, and age a month; AUM follows wealth.
    Customers' payments this month are the expected number, rounded up or
    down by a keyed draw under ``keys[1]`` (``payments_ytd`` restarts with a
    new year). Written per row: ``old_aum`` (AUM after the market, before the
    strategies), ``was_customer`` (a customer at the start of the month) and
    ``customers`` (a customer now, arrivals included).

    Returns:
        AUM of the customers at the start of the month, before and after the
        market, added per fixed chunk in chunk order.
    """
    n = ids.shape[0]
    n_chunks = max((n + CHUNK - 1) // CHUNK, 1)
    parts = np.zeros((n_chunks, 2))
    old = np.uint64(n_old)
    # one pass, a block of BLOCK rows at a time, each step a loop of its own over the
    # block (measured at 1.21M rows, one thread's CPU: 23 -> 17.4 ms; three passes over
    # the rows before). Customer stages as a bit mask: a table look-up in the loop kept it
    # scalar. Only rows below n_old can have been customers, and they are the walk's rows,
    # so both sums run over those in one loop (two chains of adds in flight, not one).
    if is_customer_stage.shape[0] > 64:
        raise ValueError("market_rows: at most 64 stages")
    mask = np.uint64(0)
    for s in range(is_customer_stage.shape[0]):
        if is_customer_stage[s]:
            mask |= np.uint64(1) << np.uint64(s)
    walk_key, payments_key = keys[0], keys[1]
    keep = np.int32(0) if new_year else np.int32(1)
    for k in numba.prange(n_chunks):
        z, p, tails = np.empty(BLOCK), np.empty(BLOCK), np.empty(BLOCK, np.int64)
        product = np.empty(BLOCK)
        before = after = 0.0
        end = np.uint64(min(n, (k + 1) * CHUNK))
        for lo in range(np.uint64(k * CHUNK), end, np.uint64(BLOCK)):
            hi = min(end, lo + np.uint64(BLOCK))
            for i in range(lo, hi):
                customer = ((mask >> (np.uint64(stage[i]) & np.uint64(63))) & np.uint64(1)) != 0
                was_customer[i] = customer and i < old
                customers[i] = customer
            top = min(hi, old)
            if lo < top:
                _normals_block(ids, walk_key, lo, top, z, 0, p, tails)
                _walk(z, total_wealth, lo, top - lo, mu, sigma, product)
                for i in range(lo, top):  # AUM before, kept; wealth rounds to float32
                    p[i - lo] = aum[i]
                    total_wealth[i] = product[i - lo]
                    age[i] += 1.0 / 12.0
                    aum[i] = total_wealth[i] * share_of_wallet[i]
                for i in range(lo, top):  # += 0.0: the same bits (from +0.0, never -0.0)
                    was = was_customer[i]
                    before += p[i - lo] if was else 0.0
                    after += aum[i] if was else 0.0
            for i in range(lo, hi):  # drawn for every row, kept for customers: no branch
                u = _uniform(ids[i], payments_key)
                paid = int(np.floor(activity_rate[i] * payment_share + u)) if customers[i] else 0
                payments_month[i] = paid
                payments_ytd[i] = payments_ytd[i] * keep + paid
                old_aum[i] = aum[i]
        parts[k, 0] = before
        parts[k, 1] = after
    start = after = 0.0
    for k in range(n_chunks):
        start += parts[k, 0]
        after += parts[k, 1]
    return start, after
