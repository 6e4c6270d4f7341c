"""The census's row definition: what each row adds to the month's head counts and sums.

:func:`sim.kernels.census` (one pass, its sums in registers) and the close
pass's branch-free counts (:func:`sim.kernels.close._count_any`) are tested
against it row by row.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(inline="always")
def _count_row(
    i: int, s: int, role: int, segment: np.ndarray, tier: np.ndarray,
    channel: np.ndarray, is_initial: np.ndarray, aum: np.ndarray, satisfaction: np.ndarray,
    share_of_wallet: np.ndarray, contacts: np.ndarray, threshold: float,
    by_stage: np.ndarray, by_segment: np.ndarray, by_tier: np.ndarray,
    by_channel: np.ndarray, heads: np.ndarray, sums: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Row ``i`` (in stage ``s`` of ``role``) added to the census (:func:`sim.kernels.census`)."""
    by_stage[s] += 1
    if role == 0:
        heads[1] += 1
    elif role == 1:
        heads[0] += 1
        if is_initial[i]:
            heads[2] += 1
        if segment[i] >= 0:
            by_segment[segment[i]] += 1
        if tier[i] >= 0:
            by_tier[tier[i]] += 1
        by_channel[channel[i]] += 1
        if aum[i] >= threshold:
            heads[3] += 1
        sums[0] += aum[i]
        sums[1] += satisfaction[i]
        sums[2] += share_of_wallet[i]
        sums[3] += contacts[i]
