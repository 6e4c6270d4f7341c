"""The census kernel (the model's first month-0 head counts) against its row definition."""

from __future__ import annotations

import numba
import numpy as np

from sim import kernels
from tests.sim.census_reference import _count_row


@numba.njit
def _rowwise(stage: np.ndarray, roles: np.ndarray, segment: np.ndarray, tier: np.ndarray,
             channel: np.ndarray, is_initial: np.ndarray, aum: np.ndarray,
             satisfaction: np.ndarray, share: np.ndarray, contacts: np.ndarray,
             sizes: np.ndarray, threshold: float) -> tuple[np.ndarray, ...]:  # pragma: no cover
    st, sg = np.zeros(sizes[0], np.int64), np.zeros(sizes[1], np.int64)
    tr, ch = np.zeros(sizes[2], np.int64), np.zeros(sizes[3], np.int64)
    heads, sums = np.zeros(4, np.int64), np.zeros(4)
    for i in range(stage.shape[0]):
        _count_row(i, stage[i], roles[stage[i]], segment, tier, channel, is_initial, aum,
                   satisfaction, share, contacts, threshold, st, sg, tr, ch, heads, sums)
    return st, sg, tr, ch, heads, sums


def test_census_is_count_row_row_by_row() -> None:
    """Counts, heads and the four sums (their bits: added in row order) as _count_row's."""
    rng = np.random.default_rng(8)
    n = 50_000
    roles = np.array([0, 1, 1, 1, 2], np.int8)
    args = (rng.integers(0, 5, n).astype(np.int8), roles,
            rng.integers(-1, 4, n).astype(np.int8), rng.integers(-1, 6, n).astype(np.int8),
            rng.integers(0, 3, n).astype(np.int8), rng.random(n) < 0.7,
            rng.lognormal(11, 2, n), rng.random(n).astype(np.float32),
            rng.random(n).astype(np.float32), rng.poisson(0.3, n).astype(np.float32),
            np.array([5, 4, 6, 3]), 2e5)
    got, expected = kernels.census(*args), _rowwise(*args)
    for a, b in zip(got, expected, strict=True):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert got[4][3] > 0 and got[5][0] > 0
