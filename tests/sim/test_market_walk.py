"""The market's wealth walk without libm's ``exp``: the same ``float32`` wealth, bit for bit.

``sim.kernels.market`` multiplies wealth by its own ``exp`` and falls back on
libm's where the product is near a ``float32`` half-way point; these tests
hold the walk to libm's result (Numba's ``np.exp`` on a scalar calls it, as
the walk did before).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from sim.kernels.market import MARGIN, _exp_small, _risky, _walk


@numba.njit(error_model="numpy")
def _ours(z: np.ndarray, wealth: np.ndarray, mu: float, sigma: float,
          block: int) -> tuple[np.ndarray, int]:
    """The walk's wealth (float32) per row, in blocks as market_rows runs it; risky rows."""
    n = z.shape[0]
    out = np.empty(n, np.float32)
    product = np.empty(block)
    risky = 0
    for lo in range(0, n, block):
        m = min(n, lo + block) - lo
        zb = z[lo:lo + m]
        _walk(zb, wealth, lo, m, mu, sigma, product)
        bits = product.view(np.int64)
        for j in range(m):
            out[lo + j] = product[j]
            risky += _risky(mu + sigma * zb[j], product[j], bits[j])
    return out, risky


@numba.njit(error_model="numpy")
def _libm(z: np.ndarray, wealth: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    """The walk as it was: wealth *= exp(mu + sigma * z), libm's exp, stored as float32."""
    out = wealth.copy()
    for i in range(z.shape[0]):
        out[i] *= np.exp(mu + sigma * z[i])
    return out


@numba.njit
def _exps(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = _exp_small(x[i])
    return out


def test_exp_small_is_within_two_ulps_of_libm() -> None:
    x = np.concatenate([np.linspace(-0.34, 0.34, 200_001),
                        np.random.default_rng(1).uniform(-0.34, 0.34, 500_000),
                        [0.0, -0.0, 1e-300, -1e-300, 2.0**-30]])
    libm = np.array([math.exp(v) for v in x])  # CPython's math.exp is libm's
    ulps = np.abs(_exps(x).view(np.int64) - libm.view(np.int64))
    assert ulps.max() <= 2
    assert 100 * ulps.max() <= MARGIN  # the fallback's margin dwarfs the difference


def test_risky_marks_float32_half_way_points_and_odd_rows() -> None:
    """A float64 product within MARGIN ulp of a float32 half-way point, outside float32's
    normal range, or with an argument the polynomial does not take."""
    t = np.float32(12345.678)
    half = (float(t) + float(np.nextafter(t, np.float32(np.inf)))) / 2.0  # exact in float64
    bits = np.array([half]).view(np.int64)[0]

    def product(k: int) -> float:  # k ulps from the half-way point
        return float(np.array([bits + k]).view(np.float64)[0])

    for k in (0, 1, -1, MARGIN, -MARGIN):
        p = product(k)
        assert _risky(0.01, p, np.array([p]).view(np.int64)[0])
    for k in (MARGIN + 1, -MARGIN - 1, 1 << 27):
        p = product(k)
        assert not _risky(0.01, p, np.array([p]).view(np.int64)[0])
    for p in (0.0, 2.0**-130, 2.0**130, math.inf, math.nan):
        assert _risky(0.01, p, np.array([p]).view(np.int64)[0])
    assert _risky(0.35, half * 1.25, np.array([half * 1.25]).view(np.int64)[0])
    assert _risky(math.nan, half * 1.25, np.array([half * 1.25]).view(np.int64)[0])


def test_walk_gives_libms_float32_wealth_bit_for_bit() -> None:
    """Millions of rows (some near half-way points: the fallback is taken), a volatility
    that sends many arguments past the polynomial's range, odd wealth values."""
    rng = np.random.default_rng(7)
    n = 4_000_000
    z = rng.standard_normal(n)
    z[:16] = [0.0, -0.0, 8.3, -8.3, 7.0, -7.0, 1e-300, 3.0, -3.0, 0.5, 1.0, 2.0, 4.0, 5.0,
              6.0, -6.0]
    wealth = rng.lognormal(11.0, 2.0, n).astype(np.float32)
    wealth[16:24] = [0.0, -0.0, 1e-40, 3e38, np.inf, np.nan, 1.0, 2.0**-120]
    for mu, sigma in ((0.0031283470141193342, 0.04330127018922193), (0.01, 0.2), (0.0, 0.0)):
        ours, risky = _ours(z, wealth, mu, sigma, 2048)
        np.testing.assert_array_equal(ours.view(np.uint32), _libm(z, wealth, mu, sigma)
                                      .view(np.uint32))
        assert risky > 0
