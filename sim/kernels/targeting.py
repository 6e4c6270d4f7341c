"""A strategy's month of targeting, compiled: targeted rows, hold-out draw, treated rows.

:func:`target_rows` does what ``StrategyRuntime.act`` did with a dozen NumPy
passes over the whole table (each category's look-up, the opt-out,
``flatnonzero``, the cohort's look-ups for newcomers and the treated, their
hold-out draws) in one pass, at the strategy's turn, so it sees what earlier
strategies changed this month (channel, opt-out, labels). The hold-out draw
is the keyed uniform of :mod:`sim.streams` (``_uniform``), so a customer's
group is the one the NumPy definition gives (tested).

Each block of rows is tested in loops the compiler vectorises (a category is
a comparison with each targeted code, or each code not targeted when those
are fewer), and the treated rows are packed sixteen at a time
(:func:`sim.kernels.packing.pack16`), as are a block's newcomers before their
draws (a branch per flag had cost 1.3 ms a month). An earlier design scanned
stage, segment and tier once a month for eight strategies and went through
each strategy's candidate rows one by one: 14.2 ms for the seven strategies
of ``playbook_branches`` at 1.24M rows (month 30, one thread), against
6.2 ms for seven passes over every row.
"""

from __future__ import annotations

import numba
import numpy as np

from sim.kernels.draws import _uniform
from sim.kernels.packing import pack16
from sim.kernels.tallies import CHUNK

__all__ = ["target_codes", "target_rows"]

_NOT_TARGETED, _TREATED, _CONTROL = 0, 1, 2  # = sim.strategy_runtime's cohort codes
assert _CONTROL == _TREATED + 1, "a newcomer in control is _TREATED + 1"
#: Rows tested together (a few KiB of flags: the block's loops stay in the first-level cache).
_BLOCK = 2048
assert CHUNK % _BLOCK == 0 and _BLOCK % 16 == 0


def target_codes(
    lut: np.ndarray, none_last: bool = False, from_end: bool = False
) -> tuple[np.ndarray, bool]:
    """A look-up table over category codes as codes to compare with: ``(codes, negate)``.

    A row passes when its code is among ``codes`` (``negate``: is not). The
    shorter list of the codes targeted and those not targeted is given; no
    codes and ``False`` when every code is targeted (nothing to test), every
    code and ``True`` when none is.
    ``none_last``: the table's last entry is code -1 (segment and tier "none").
    ``from_end``: a code ``c - len(lut)`` also reads entry ``c``, as ``lut[code]`` does
    (the channel, which plugins write: ``channel_code`` is -1 for a channel not modelled).
    """
    lut = np.asarray(lut, np.bool_)
    if lut.all():
        return np.zeros(0, np.int8), False
    codes = np.arange(len(lut))
    if none_last:
        codes[-1] = -1
    allowed, refused = codes[lut], codes[~lut]
    if from_end:  # a negative code reads from the table's end, as NumPy's (and the old
        # compiled look-up's) index did
        allowed = np.concatenate([allowed, allowed - len(lut)])
        refused = np.concatenate([refused, refused - len(lut)])
    if len(refused) < len(allowed) or not len(allowed):  # none targeted: not one of them all
        return refused.astype(np.int8), True
    return allowed.astype(np.int8), False


@numba.njit(inline="always")
def _restrict(
    flags: np.ndarray, scratch: np.ndarray, m: int | np.uint64, column: np.ndarray, lo: int,
    codes: np.ndarray, negate: bool,
) -> None:  # pragma: no cover - compiled
    """``flags[:m] &= column[lo:lo + m]`` is (``negate``: is not) one of ``codes``."""
    flip = np.uint8(negate)
    if codes.shape[0] == 1:
        c = codes[0]
        for j in range(m):
            flags[j] &= np.uint8(column[lo + j] == c) ^ flip
        return
    for j in range(m):
        scratch[j] = 0
    for c in codes:
        for j in range(m):
            scratch[j] |= np.uint8(column[lo + j] == c)
    for j in range(m):
        flags[j] &= scratch[j] ^ flip


@numba.njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def target_rows(
    customers: np.ndarray, extra: np.ndarray, stage: np.ndarray, stage_codes: np.ndarray,
    stage_negate: bool, segment: np.ndarray, segment_codes: np.ndarray, segment_negate: bool,
    tier: np.ndarray, tier_codes: np.ndarray, tier_negate: bool, channel: np.ndarray,
    channel_codes: np.ndarray, channel_negate: bool, opt_out: np.ndarray,
    respects_opt_out: bool, ids: np.ndarray, key: np.uint64, holdout: float,
    cohort: np.ndarray, treated_mask: np.ndarray,
) -> tuple[np.ndarray, int, int, int]:  # pragma: no cover - compiled
    """A strategy's targets this month: newcomers assigned, treated rows.

    A row (of ``customers``' length) is targeted if it is a customer,
    ``extra`` holds (empty: no labels or ``where``), each category's code
    passes its :func:`target_codes` and, when ``respects_opt_out``, it has not
    opted out of marketing. A targeted row whose ``cohort`` is 0 (first
    targeted) joins the control group (2) if its keyed draw under ``key`` is
    below ``holdout``, the treated (1) otherwise; ``cohort`` is written.
    ``treated_mask`` (empty, or one flag a row): set to whether each row is
    treated.

    Returns:
        The treated targeted rows in table order, the number targeted, and
        the numbers of newcomers treated and in control.
    """
    n = customers.shape[0]
    n_chunks = max((n + CHUNK - 1) // CHUNK, 1)
    by_stage = stage_codes.shape[0] > 0 or stage_negate
    by_segment = segment_codes.shape[0] > 0 or segment_negate
    by_tier = tier_codes.shape[0] > 0 or tier_negate
    by_channel = channel_codes.shape[0] > 0 or channel_negate
    has_extra, has_mask = extra.shape[0] > 0, treated_mask.shape[0] > 0
    found = np.empty(n, np.uint32)  # each chunk's treated rows, from the chunk's first slot
    counts = np.zeros((n_chunks, 4), np.int64)  # targeted, treated, new treated, new control
    block, lanes = np.uint64(_BLOCK), np.uint64(16)
    for k in numba.prange(n_chunks):
        flags = np.empty(_BLOCK, np.uint8)  # targeted
        fresh = np.empty(_BLOCK, np.uint8)  # targeted for the first time (also scratch)
        keep = np.empty(_BLOCK, np.uint8)  # treated
        offsets = np.empty(_BLOCK + 16, np.uint32)  # the newcomers' (pack16 stores sixteen)
        draws = np.empty(_BLOCK)
        targeted = n_fresh = n_control = 0
        first, end = np.uint64(k * CHUNK), np.uint64(min(n, (k + 1) * CHUNK))
        at = first
        for lo in range(first, end, block):
            m = min(block, end - lo)
            for j in range(m):
                flags[j] = np.uint8(customers[lo + j])
            if by_stage:
                _restrict(flags, fresh, m, stage, lo, stage_codes, stage_negate)
            if by_segment:
                _restrict(flags, fresh, m, segment, lo, segment_codes, segment_negate)
            if by_tier:
                _restrict(flags, fresh, m, tier, lo, tier_codes, tier_negate)
            if by_channel:
                _restrict(flags, fresh, m, channel, lo, channel_codes, channel_negate)
            if has_extra:
                for j in range(m):
                    flags[j] &= np.uint8(extra[lo + j])
            if respects_opt_out:
                for j in range(m):
                    flags[j] &= np.uint8(1) ^ np.uint8(opt_out[lo + j])
            hits = new = 0
            for j in range(m):
                f, group = flags[j], cohort[lo + j]
                fresh[j] = f & np.uint8(group == _NOT_TARGETED)
                keep[j] = f & np.uint8(group == _TREATED)
                hits += int(f)
                new += int(fresh[j])
            targeted += hits
            if new:  # the newcomers' draws: their offsets packed, then drawn without a branch
                p, count = np.uint64(0), np.uint64(0)
                while p + lanes <= m:
                    count += pack16(offsets, count, p, fresh, p)
                    p += lanes
                while p < m:
                    offsets[count] = np.uint32(p)
                    count += np.uint64(fresh[p])
                    p += np.uint64(1)
                for q in range(count):
                    draws[q] = _uniform(ids[lo + np.uint64(offsets[q])], key)
                for q in range(count):
                    o = np.uint64(offsets[q])
                    control = np.uint8(draws[q] < holdout)
                    cohort[lo + o] = np.int8(_TREATED) + np.int8(control)
                    keep[o] = np.uint8(1) ^ control
                    n_control += int(control)
                n_fresh += new
            if has_mask:
                for j in range(m):
                    treated_mask[lo + j] = keep[j] != 0
            # the treated rows packed: sixteen at a time (at <= lo + j, so the sixteen slots
            # stored stay inside the chunk), the block's last few one by one
            p = np.uint64(0)
            while p + lanes <= m:
                at += pack16(found, at, lo + p, keep, p)
                p += lanes
            while p < m:
                found[at] = np.uint32(lo + p)
                at += np.uint64(keep[p])
                p += np.uint64(1)
        counts[k, 0], counts[k, 1] = targeted, at - first
        counts[k, 2], counts[k, 3] = n_fresh - n_control, n_control
    start = np.zeros(n_chunks + 1, np.int64)
    for k in range(n_chunks):
        start[k + 1] = start[k] + counts[k, 1]
    rows = np.empty(start[n_chunks], np.int64)
    for k in numba.prange(n_chunks):
        base, to = np.uint64(k * CHUNK), np.uint64(start[k])
        for t in range(np.uint64(counts[k, 1])):
            rows[to + t] = found[base + t]
    total = counts.sum(axis=0)
    return rows, total[0], total[2], total[3]
