"""A strategy's month of targeting, compiled: target mask, hold-out draw, treated rows.

:func:`select_targets` does in one parallel pass what
``StrategyRuntime.act`` did with a dozen NumPy passes over the whole table
(each category's look-up, the opt-out, ``flatnonzero``, the cohort's
look-ups for newcomers and the treated, their hold-out draws). The pass is
bound by reading the columns, so the gain is modest: about 1 ms a strategy
at 1M customers. The hold-out draw is the
keyed uniform of :mod:`sim.streams` (``_uniform``), so a customer's group
is the one the NumPy definition gives (tested).
"""

from __future__ import annotations

import numba
import numpy as np

from sim.kernels.draws import _uniform
from sim.kernels.tallies import CHUNK

__all__ = ["select_targets"]

_NOT_TARGETED, _TREATED, _CONTROL = 0, 1, 2  # = sim.strategy_runtime's cohort codes
assert CHUNK <= 1 << 16, "select_targets keeps offsets within a chunk in two bytes"


@numba.njit(inline="always")
def _shifted(lut: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """``lut`` with its last entry also in front: code -1 (none) reads it at index 0."""
    out = np.empty(lut.shape[0] + 1, np.uint8)
    out[0] = lut[lut.shape[0] - 1]
    out[1:] = lut
    return out


@numba.njit(parallel=True, cache=True, nogil=True)
def select_targets(
    customers: np.ndarray, extra: np.ndarray, stage: np.ndarray, lut_stage: np.ndarray,
    segment: np.ndarray, lut_segment: np.ndarray, tier: np.ndarray, lut_tier: np.ndarray,
    channel: np.ndarray, lut_channel: np.ndarray, opt_out: np.ndarray, respects_opt_out: bool,
    ids: np.ndarray, key: np.uint64, holdout: float, cohort: np.ndarray,
) -> tuple[np.ndarray, int, int, int]:  # pragma: no cover - compiled
    """A strategy's targets this month: newcomers assigned, treated rows returned.

    A row is targeted if it is a customer, ``extra`` holds (empty: no
    labels or ``where``), each category's look-up table holds for its code
    (segment and tier code -1 read the table's last entry) and, when
    ``respects_opt_out``, it has not opted out of marketing. A targeted row
    whose ``cohort`` is 0 (first targeted) joins the control group (2) if its
    keyed draw under ``key`` is below ``holdout``, the treated (1) otherwise;
    ``cohort`` is written.

    Returns:
        The treated targeted rows in table order, the number targeted, and
        the numbers of newcomers treated and in control.
    """
    n = customers.shape[0]
    n_chunks = max((n + CHUNK - 1) // CHUNK, 1)
    # bitwise tests, not ``and``: a short-circuit test on random columns is a branch the
    # data mispredicts (that version was slower than NumPy); a category every code of
    # which is targeted is skipped (a loop-invariant, perfectly predicted test)
    stages, channels = lut_stage.astype(np.uint8), lut_channel.astype(np.uint8)
    segments, tiers = _shifted(lut_segment), _shifted(lut_tier)
    by_stage, by_channel = not lut_stage.all(), not lut_channel.all()
    by_segment, by_tier = not lut_segment.all(), not lut_tier.all()
    has_extra = extra.shape[0] > 0
    # each chunk's treated rows, as offsets in the chunk (CHUNK = 2**16: two bytes a row),
    # from the chunk's first slot
    found = np.empty(n, np.uint16)
    counts = np.zeros((n_chunks, 4), np.int64)  # targeted, treated, new treated, new control
    for k in numba.prange(n_chunks):
        targeted = treated = new_treated = new_control = 0
        first = np.uint64(k * CHUNK)
        for i in range(np.uint64(k * CHUNK), np.uint64(min(n, (k + 1) * CHUNK))):
            m = np.uint8(customers[i])
            if by_stage:
                m &= stages[stage[i]]
            if by_segment:
                m &= segments[np.int64(segment[i]) + 1]
            if by_tier:
                m &= tiers[np.int64(tier[i]) + 1]
            if by_channel:
                m &= channels[channel[i]]
            if has_extra:
                m &= np.uint8(extra[i])
            if respects_opt_out:
                m &= np.uint8(1) ^ np.uint8(opt_out[i])
            targeted += int(m)
            group = cohort[i]
            if group == _NOT_TARGETED and m:  # rare after the first months: predictable
                if _uniform(ids[i], key) < holdout:
                    group = _CONTROL
                    new_control += 1
                else:
                    group = _TREATED
                    new_treated += 1
                cohort[i] = group
            # compaction without a data branch: the slot is overwritten unless the row is
            # kept (slot first + treated <= i, never past the chunk)
            found[first + treated] = i - first
            treated += int(m & np.uint8(group == _TREATED))
        counts[k, 0], counts[k, 1] = targeted, treated
        counts[k, 2], counts[k, 3] = new_treated, new_control
    start = np.zeros(n_chunks + 1, np.int64)
    for k in range(n_chunks):
        start[k + 1] = start[k] + counts[k, 1]
    rows = np.empty(start[n_chunks], np.int64)
    for k in numba.prange(n_chunks):
        base = np.int64(k) * CHUNK
        for t in range(counts[k, 1]):
            rows[start[k] + t] = base + np.int64(found[base + t])
    total = counts.sum(axis=0)
    return rows, total[0], total[2], total[3]
