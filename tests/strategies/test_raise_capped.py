"""strategies._common.raise_capped: the whole-column raise-and-cap, where it changes a value."""

from __future__ import annotations

import numpy as np
import pytest

from sim.population import Population
from strategies._common import raise_capped


@pytest.mark.parametrize("indexed", [False, True])
def test_raise_capped_gives_the_whole_column_operations_bit_for_bit(indexed) -> None:
    """Every row's bits as ``column += amount * mask`` (or ``column[mask] += amount``) for
    each pair, then ``np.minimum(column, 1.0)``: -0.0, NaN, infinities and values above 1
    included, which adding 0.0 or the cap change without a raise."""
    rng = np.random.default_rng(7)
    n = 2_000
    values = rng.random(n, np.float32) * np.float32(1.2)
    values[:8] = [-0.0, 0.0, np.nan, np.inf, -np.inf, 1.0, 1.0000001, -0.5]
    table = Population.empty(n + 10)
    table.satisfaction[:] = 0.5
    rows = np.sort(rng.choice(n + 10, n, replace=False))
    table.satisfaction[rows] = values
    subset = table.subset(rows)
    masks = (rng.random(n) < 0.1, rng.random(n) < 0.3)
    expected = values.copy()
    for amount, mask in zip((0.05, 0.013), masks, strict=True):
        if indexed:
            expected[mask] += amount
        else:
            expected += amount * mask
    np.minimum(expected, 1.0, out=expected)
    before = table.satisfaction.copy()
    raise_capped(subset, "satisfaction", tuple(zip((0.05, 0.013), masks, strict=True)),
                 indexed=indexed)
    subset.write_back()
    after = table.satisfaction
    assert after[rows].view(np.uint32).tolist() == expected.view(np.uint32).tolist()
    others = np.setdiff1d(np.arange(n + 10), rows)
    np.testing.assert_array_equal(after[others], before[others])
