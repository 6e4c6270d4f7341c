"""A strategy's month of targeting, compiled: candidates, hold-out draw, treated rows.

Two passes. :func:`scan_candidates` reads the table once a month for up to
eight strategies together: the rows whose stage, segment and tier each
strategy's target allows (columns only the model changes, so they hold
for the whole strategy phase), as each strategy's candidate rows. Then
:func:`select_targets` goes through one strategy's candidates only — its
channel, ``extra`` (labels and ``where``), opt-out and cohort, which earlier
strategies may have changed this month — and does what
``StrategyRuntime.act`` did with a dozen NumPy passes over the whole table
(each category's look-up, the opt-out, ``flatnonzero``, the cohort's look-ups
for newcomers and the treated, their hold-out draws). Seven passes over the
table a month became one, plus a pass over each strategy's candidates. The
hold-out draw is the keyed uniform of :mod:`sim.streams` (``_uniform``), so
a customer's group is the one the NumPy definition gives (tested).
"""

from __future__ import annotations

import numba
import numpy as np

from sim.kernels.draws import _uniform
from sim.kernels.tallies import CHUNK

__all__ = ["GROUP", "scan_candidates", "select_targets"]

_NOT_TARGETED, _TREATED, _CONTROL = 0, 1, 2  # = sim.strategy_runtime's cohort codes
#: Strategies one :func:`scan_candidates` pass serves (a bit each of one byte per row).
GROUP = 8
assert CHUNK <= 1 << 16, "the kernels keep offsets within a chunk in two bytes"
assert GROUP == 8, "scan_candidates has a counter by name for each of eight strategies"


@numba.njit(inline="always")
def _shifted(lut: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """``lut`` with its last entry also in front: code -1 (none) reads it at index 0."""
    out = np.empty(lut.shape[0] + 1, np.uint8)
    out[0] = lut[lut.shape[0] - 1]
    out[1:] = lut
    return out


@numba.njit(parallel=True, cache=True, nogil=True)
def scan_candidates(
    customers: np.ndarray, stage: np.ndarray, segment: np.ndarray, tier: np.ndarray,
    bits: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Each of up to :data:`GROUP` strategies' candidate rows, in one pass over the table.

    ``bits[stage, segment + 1, tier + 1]`` is a byte per combination of stage,
    segment and tier codes (segment and tier code -1, none, at index 0): bit
    ``k`` is set when strategy ``k``'s target allows the combination. A
    customer row is a candidate of strategy ``k`` when its combination has bit
    ``k``.

    Returns:
        The candidates of every strategy, strategy by strategy, each in table
        order, and where each strategy's begin (``GROUP + 1`` bounds).
    """
    n = customers.shape[0]
    n_chunks = max((n + CHUNK - 1) // CHUNK, 1)
    # each row's byte, in 8-byte words (zeros past the last row) for the counts below
    row_words = np.zeros(max((n + 7) // 8, 1), np.uint64)
    row_bits = row_words.view(np.uint8)
    counts = np.zeros((n_chunks, GROUP), np.int64)
    # one flat index in unsigned arithmetic: no checks for negative indices (1.6x faster)
    flat = np.ascontiguousarray(bits).ravel()
    n_segments, n_tiers = np.uint64(bits.shape[1]), np.uint64(bits.shape[2])
    for k in numba.prange(n_chunks):
        low, high = np.uint64(k * CHUNK), np.uint64(min(n, (k + 1) * CHUNK))
        for i in range(low, high):
            code = ((np.uint64(stage[i]) * n_segments + np.uint64(segment[i] + np.int8(1)))
                    * n_tiers + np.uint64(tier[i] + np.int8(1)))
            row_bits[i] = flat[code] & (np.uint8(0) - np.uint8(customers[i]))  # & 0xFF or 0
        eight = np.uint64(8)
        counts[k] = _bit_counts(row_words, low // eight, (high + np.uint64(7)) // eight)
    # per strategy and chunk, where the chunk's candidates go
    start = np.zeros((GROUP, n_chunks), np.int64)
    bounds = np.zeros(GROUP + 1, np.int64)
    at = 0
    for s in range(GROUP):
        bounds[s] = at
        for k in range(n_chunks):
            start[s, k] = at
            at += counts[k, s]
    bounds[GROUP] = at
    rows = np.empty(at, np.uint32)  # half the memory of int64 (the caller checks n < 2**32)
    lowest = np.zeros(256, np.int64)  # each byte's lowest set bit
    for v in range(2, 256):
        lowest[v] = 0 if v & 1 else lowest[v >> 1] + 1
    for k in numba.prange(n_chunks):
        # each row written once for each of its strategies, by its bits (a customer is a
        # candidate of one to three strategies): a loop on a row's bit count, which the
        # processor mostly predicts, costs less than writing every row for each of eight
        # strategies without a branch (1.33M rows, one thread: 7.5 -> 6.1 ms, counts included)
        at_s = start[:, k].copy()
        for i in range(np.uint64(k * CHUNK), np.uint64(min(n, (k + 1) * CHUNK))):
            b = np.int64(row_bits[i])
            while b:
                s = lowest[b]
                rows[at_s[s]] = np.uint32(i)
                at_s[s] += 1
                b &= b - 1
    return rows, bounds


@numba.njit(cache=True, nogil=True, inline="always")
def _bit_counts(
    words: np.ndarray, first: np.uint64, end: np.uint64
) -> np.ndarray:  # pragma: no cover - compiled
    """How many of the bytes in ``words[first:end]`` have each bit set (bit k: count k).

    Eight bytes a word at once: each bit is added into its byte's lane of a
    sum, for up to 255 words (a lane holds 255), then the lanes are added up.
    A vectorised loop, where counting byte by byte for each bit was eight.
    """
    ones, lanes = np.uint64(0x0101010101010101), np.uint64(0x00FF00FF00FF00FF)
    counts = np.zeros(GROUP, np.int64)
    for w0 in range(first, end, np.uint64(255)):
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = np.uint64(0)
        stop = min(end, w0 + np.uint64(255))
        for w in range(w0, stop):
            x = words[w]
            a0 += x & ones
            a1 += (x >> np.uint64(1)) & ones
            a2 += (x >> np.uint64(2)) & ones
            a3 += (x >> np.uint64(3)) & ones
            a4 += (x >> np.uint64(4)) & ones
            a5 += (x >> np.uint64(5)) & ones
            a6 += (x >> np.uint64(6)) & ones
            a7 += (x >> np.uint64(7)) & ones
        for s, a in enumerate((a0, a1, a2, a3, a4, a5, a6, a7)):
            pairs = (a & lanes) + ((a >> np.uint64(8)) & lanes)  # four 16-bit lanes
            counts[s] += np.int64((pairs * np.uint64(0x0001000100010001)) >> np.uint64(48))
    return counts


@numba.njit(parallel=True, cache=True, nogil=True)
def select_targets(
    candidates: np.ndarray, checked: int, customers: np.ndarray, extra: np.ndarray,
    stage: np.ndarray, lut_stage: np.ndarray, segment: np.ndarray, lut_segment: np.ndarray,
    tier: np.ndarray, lut_tier: np.ndarray, channel: np.ndarray, lut_channel: np.ndarray,
    opt_out: np.ndarray, respects_opt_out: bool, ids: np.ndarray, key: np.uint64, holdout: float,
    cohort: np.ndarray,
) -> tuple[np.ndarray, int, int, int]:  # pragma: no cover - compiled
    """A strategy's targets this month among ``candidates``: newcomers assigned, treated rows.

    ``candidates`` are distinct rows in table order that may be targeted (e.g.
    :func:`scan_candidates`'s, or every row); those below row ``checked``
    are known customers of the stage, segment and tier targeted (scanned),
    the others are checked for that too. A row is targeted if it is a
    customer, ``extra`` holds (empty: no labels or ``where``), each
    category's look-up table holds for its code (segment and tier code -1
    read the table's last entry) and, when ``respects_opt_out``, it has not
    opted out of marketing. A targeted row
    whose ``cohort`` is 0 (first targeted) joins the control group (2) if its
    keyed draw under ``key`` is below ``holdout``, the treated (1) otherwise;
    ``cohort`` is written.

    Returns:
        The treated targeted rows in table order, the number targeted, and
        the numbers of newcomers treated and in control.
    """
    n = candidates.shape[0]
    n_chunks = max((n + CHUNK - 1) // CHUNK, 1)
    unchecked = np.uint64(checked)  # the first row not scanned
    # bitwise tests, not ``and``: a short-circuit test on random columns is a branch the
    # data mispredicts (that version was slower than NumPy); a category every code of
    # which is targeted is skipped (a loop-invariant, perfectly predicted test)
    stages, channels = lut_stage.astype(np.uint8), lut_channel.astype(np.uint8)
    segments, tiers = _shifted(lut_segment), _shifted(lut_tier)
    by_stage, by_channel = not lut_stage.all(), not lut_channel.all()
    by_segment, by_tier = not lut_segment.all(), not lut_tier.all()
    has_extra = extra.shape[0] > 0
    # each chunk's treated candidates, as offsets in the chunk (CHUNK = 2**16: two bytes a
    # candidate), from the chunk's first slot
    found = np.empty(n, np.uint16)
    counts = np.zeros((n_chunks, 4), np.int64)  # targeted, treated, new treated, new control
    for k in numba.prange(n_chunks):
        targeted = treated = n_fresh = 0
        first = np.uint64(k * CHUNK)
        for j in range(np.uint64(k * CHUNK), np.uint64(min(n, (k + 1) * CHUNK))):
            i = np.uint64(candidates[j])
            m = np.uint8(1)
            if i >= unchecked:  # not scanned (appended since): predictable, they come last
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
            # compaction without a data branch: a slot is overwritten unless the row is kept
            # (slot first + treated <= j, never past the chunk). Kept: the treated and, for
            # now, the newcomers, drawn below (with the keyed hash inline, this loop took 40%
            # longer, newcomers or not: cross_sell's 440,000 candidates at 1M 2.4 -> 1.7 ms)
            found[first + treated] = np.uint16(j - first)
            new = m & np.uint8(group == _NOT_TARGETED)
            treated += int((m & np.uint8(group == _TREATED)) | new)
            n_fresh += int(new)
        new_control = 0
        if n_fresh:  # the newcomers' groups; those in control leave the kept rows
            kept = 0
            for t in range(treated):
                offset = found[first + t]
                i = np.uint64(candidates[first + np.uint64(offset)])
                if cohort[i] == _NOT_TARGETED:  # a newcomer (the others kept are treated)
                    if _uniform(ids[i], key) < holdout:
                        cohort[i] = _CONTROL
                        new_control += 1
                        continue
                    cohort[i] = _TREATED
                found[first + kept] = offset
                kept += 1
            treated = kept
        new_treated = n_fresh - new_control
        counts[k, 0], counts[k, 1] = targeted, treated
        counts[k, 2], counts[k, 3] = new_treated, new_control
    start = np.zeros(n_chunks + 1, np.int64)
    for k in range(n_chunks):
        start[k + 1] = start[k] + counts[k, 1]
    rows = np.empty(start[n_chunks], np.int64)
    for k in numba.prange(n_chunks):
        base = np.int64(k) * CHUNK
        for t in range(counts[k, 1]):
            rows[start[k] + t] = candidates[base + np.int64(found[base + t])]
    total = counts.sum(axis=0)
    return rows, total[0], total[2], total[3]
