"""Statistical tests that two implementations simulate the same bank.

Shared by the agreement tests of the per-agent reference
(``tests/benchmarks``) and the mesa-frames check (``benchmarks/frames.py``).
Customers do not interact, so only sampling error separates two correct
implementations of the same model.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["count_difference_p", "homogeneity_p"]


def homogeneity_p(a: np.ndarray, b: np.ndarray, min_count: int = 10) -> float:
    """Chi-square test that two count vectors come from one distribution.

    Categories with fewer than ``min_count`` rows in both together are pooled
    (the chi-square approximation needs expected counts of about 5 or more).
    """
    table = np.vstack([a, b]).astype(float)
    sparse = table.sum(axis=0) < min_count
    if sparse.any():
        table = np.column_stack([table[:, ~sparse], table[:, sparse].sum(axis=1)])
        table = table[:, table.sum(axis=0) > 0]
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def count_difference_p(a: float, b: float) -> float:
    """Two-sided p of two event counts whose variance is at most their mean.

    Each row churns (or lapses, or is acquired) at most once, so a count is a
    sum of Bernoulli variables: its variance is at most its mean, and
    z = (a − b) / √(a + b) is conservative.
    """
    if a + b == 0:
        return 1.0
    return float(2.0 * stats.norm.sf(abs(a - b) / math.sqrt(a + b)))
