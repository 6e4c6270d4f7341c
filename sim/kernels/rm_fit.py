"""RM minutes for customers every branch has time for, in one compiled pass."""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["allocate_if_all_fit"]


@numba.njit(cache=True, nogil=True)
def allocate_if_all_fit(
    branch: np.ndarray, minutes: np.ndarray, contacts: np.ndarray, left: np.ndarray,
    requested: np.ndarray, delivered: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """:func:`sim.kernels.allocate_minutes` when every branch has the minutes for all its customers.

    Each branch's demand is added up in the order given (as ``np.bincount``
    with weights adds it) and compared with its ``left`` (+1e-9), every
    branch's, as ``ChannelSystem.rm_fits`` compares them. If all fit, every
    customer is served: ``allocate_minutes`` would keep each (a running sum of
    minutes >= 0 is at most the branch's demand), so ``requested``,
    ``left`` and ``delivered`` are updated as it updates them, and 1 is
    returned. Otherwise nothing changes: 0 when some branch is short,
    -1 for a branch code outside the branches (the NumPy way's to refuse).
    One pass to add up the demand instead of ``np.bincount``'s, and no copy
    of the branches as ``intp``.
    """
    n_branches = left.shape[0]
    demand = np.zeros(n_branches)
    for j in range(branch.shape[0]):
        code = np.intp(branch[j])
        if code < 0 or code >= n_branches:
            return -1
        demand[code] += minutes[j]
    for b in range(n_branches):
        if not demand[b] <= left[b] + 1e-9:
            return 0
    for j in range(branch.shape[0]):
        requested[branch[j]] += contacts[j]
    for j in range(branch.shape[0]):
        at = branch[j]
        left[at] -= minutes[j]
        delivered[at] += contacts[j]
    return 1
