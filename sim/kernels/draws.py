"""Keyed random draws, compiled: SplitMix64 hashing and the normal quantile.

The definitions are in :mod:`sim.streams` (NumPy); these loops do the same
arithmetic per row in one parallel pass. ``_uniform`` and ``_ndtri`` are
inlined into the other kernels that draw as they go (the month's wealth
shocks, response noise, transition and visit draws).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["AS241", "BLOCK", "keyed_normal_into", "keyed_uniform_into"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_SCALE = 2.0**-53

# Wichura's algorithm AS 241 (PPND16, Applied Statistics 37, 1988): the inverse normal
# CDF to about 1e-16 relative error — within a few ulps of scipy.special.ndtri (tested) —
# as rational functions the compiler can inline (a call into SciPy's C code cannot be).
_A = (3.387132872796366608, 133.14166789178437745, 1971.5909503065514427,
      13731.693765509461125, 45921.953931549871457, 67265.770927008700853,
      33430.575583588128105, 2509.0809287301226727)
_B = (1.0, 42.313330701600911252, 687.1870074920579083, 5394.1960214247511077,
      21213.794301586595867, 39307.89580009271061, 28729.085735721942674,
      5226.495278852545925)
_C = (1.42343711074968357734, 4.6303378461565452959, 5.7694972214606914055,
      3.64784832476320460504, 1.27045825245236838258, 0.24178072517745061177,
      0.0227238449892691845833, 7.7454501427834140764e-4)
_D = (1.0, 2.05319162663775882187, 1.6763848301838038494, 0.68976733498510000455,
      0.14810397642748007459, 0.0151986665636164571966, 5.475938084995344946e-4,
      1.05075007164441684324e-9)
_E = (6.6579046435011037772, 5.4637849111641143699, 1.7848265399172913358,
      0.29656057182850489123, 0.026532189526576123093, 0.0012426609473880784386,
      2.71155556874348757815e-5, 2.01033439929228813265e-7)
_F = (1.0, 0.59983220655588793769, 0.13692988092273580531, 0.0148753612908506148525,
      7.868691311456132591e-4, 1.8463183175100546818e-5, 1.4215117583164458887e-7,
      2.04426310338993978564e-15)
#: AS 241's coefficient sets, for the NumPy definition in :mod:`sim.streams`.
AS241 = (_A, _B, _C, _D, _E, _F)


@numba.njit(inline="always")
def _poly(c: tuple[float, ...], x: float) -> float:  # pragma: no cover - compiled
    return ((((((c[7] * x + c[6]) * x + c[5]) * x + c[4]) * x + c[3]) * x + c[2]) * x
            + c[1]) * x + c[0]


@numba.njit(inline="always")
def _ndtri(p: float) -> float:  # pragma: no cover - compiled
    """Standard normal quantile of ``p`` in (0, 1) (AS 241)."""
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        return q * _poly(_A, r) / _poly(_B, r)
    r = np.sqrt(-np.log(p if q < 0 else 1.0 - p))
    if r <= 5.0:
        r = r - 1.6
        value = _poly(_C, r) / _poly(_D, r)
    else:
        r = r - 5.0
        value = _poly(_E, r) / _poly(_F, r)
    return -value if q < 0 else value


@numba.njit(inline="always")
def _mix(z: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    z = z + _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@numba.njit(inline="always")
def _uniform(customer_id: np.int64, key: np.uint64) -> float:  # pragma: no cover - compiled
    bits = _mix(_mix(np.uint64(customer_id) ^ key))
    return (float(bits >> _S11) + 0.5) * _SCALE


@numba.njit(parallel=True, cache=True, nogil=True)
def keyed_uniform_into(ids: np.ndarray, key: np.uint64, out: np.ndarray) -> None:
    """``out[i]`` = the U(0, 1) draw of ``ids[i]`` under ``key`` (see :mod:`sim.streams`)."""
    for i in numba.prange(ids.shape[0]):
        out[i] = _uniform(ids[i], key)


#: Rows per block of :func:`_normals_block` (its work space: 12 bytes a row, in L1/L2).
BLOCK = 2048


@numba.njit(inline="always", error_model="numpy")
def _normals_block(
    ids: np.ndarray, key: np.uint64, lo: int | np.uint64, hi: int | np.uint64, out: np.ndarray,
    at: int, p: np.ndarray, tails: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """``out[at:at + hi - lo]`` = the keyed normal draws of ``ids[lo:hi]``, as :func:`_ndtri`.

    The same arithmetic as ``_ndtri(_uniform(...))`` row by row (bit for bit),
    in an order the processor runs faster: AS 241's central region (85% of
    draws; no logarithm, no branch) for every row in one loop the compiler
    vectorises, then the tails, gathered without a branch, in loops of their
    own (:func:`_tails`; a logarithm behind an unpredictable branch costs several
    times its price in a tight loop). ``p`` and ``tails`` are the caller's work space
    of at least ``hi - lo`` slots. Callers compile with ``error_model="numpy"``:
    Python's check for a division by zero would keep the first loop from
    vectorising (a tail row's value from the central formula, whatever it is,
    is overwritten by :func:`_tails`).
    """
    for i in range(lo, hi):
        u = _uniform(ids[i], key)
        p[i - lo] = u
        q = u - 0.5
        r = 0.180625 - q * q
        out[at + i - lo] = q * _poly(_A, r) / _poly(_B, r)
    _tails(p, hi - lo, out, at, tails)


@numba.njit(inline="always", error_model="numpy")
def _tails(
    p: np.ndarray, n: int | np.uint64, out: np.ndarray, at: int, tails: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """``out[at + j]`` = ``_ndtri(p[j])`` for the ``p[:n]`` in AS 241's tails (|p - 0.5| > 0.425).

    The same arithmetic as :func:`_ndtri` (bit for bit), in loops of their own:
    the tails' ``p`` moved to the front of ``p`` (overwritten) without a branch,
    the logarithm alone in a tight loop, then the rest with both of ``_ndtri``'s
    branches computed and one kept, which the compiler vectorises (the far one,
    r > 5, needs p < 1.4e-11). Measured inside ``market_rows`` at 1.21M rows
    (180K tail draws), one thread's CPU: 17.6 -> 15.8 ms for the whole kernel
    (``_ndtri`` per tail row before). ``tails`` is work space of ``n`` slots.
    """
    m = 0
    for j in range(n):  # the tails' draws moved to the front of p, in order
        tails[m] = j
        p[m] = p[j]
        m += abs(p[j] - 0.5) > 0.425
    for t in range(m):  # the logarithm alone; its sign records the side (log < 0 here)
        u = p[t]
        left = u - 0.5 < 0
        # one call on a selected argument: with a call on each side the compiler kept a
        # branch, wrong on half the rows at random (_normals_block at 1.21M rows, one thread)
        logarithm = np.log(u if left else 1.0 - u)
        p[t] = -logarithm if left else logarithm
    for t in range(m):  # _ndtri's tail, both branches computed and one kept: vectorised
        r = np.sqrt(abs(p[t]))
        near, far = r - 1.6, r - 5.0
        value = _poly(_C, near) / _poly(_D, near) if r <= 5.0 else _poly(_E, far) / _poly(_F, far)
        p[t] = -value if p[t] > 0 else value
    for t in range(m):
        out[at + tails[t]] = p[t]


@numba.njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def keyed_normal_into(ids: np.ndarray, key: np.uint64, out: np.ndarray) -> None:
    """``out[i]`` = ``ndtri`` of the U(0, 1) draw of ``ids[i]`` under ``key``."""
    n = ids.shape[0]
    for b in numba.prange((n + BLOCK - 1) // BLOCK):
        p, tails = np.empty(BLOCK), np.empty(BLOCK, np.int64)
        # unsigned bounds and the block's own view of out: with signed ones the loops ran
        # slower (measured at 1.21M rows, one thread's CPU, with _tails: 7.65 -> 5.33 ms)
        lo, hi = np.uint64(b * BLOCK), np.uint64(min(n, (b + 1) * BLOCK))
        _normals_block(ids, key, lo, hi, out[lo:hi], 0, p, tails)
