"""The first rows of a budget's priority order, found without sorting (equal costs).

When every wanted row costs the same (the same bits: a contact at one price,
a call of the same minutes), the rows a budget or a branch's RM time buys,
in priority order, are the first ``k`` of that order, and ``k`` does not
depend on the order: the running sum of equal values is the same sum
whichever rows they are. So the bought rows are the ``k`` smallest keys
(ties by row, as the stable sort takes them), which a selection finds in a
few passes over the keys, where the sort costs a pass per 16 bits of key and
scattered writes (at 1M, outreach's 158,000 SMS targets: about 5 ms a month
to sort, for the first 99,000 bought).

The keys are compared as :func:`sim.kernels.stable_argsort` compares them
(the same map of each float64's bits to an unsigned integer, -0.0 as 0.0,
NaN where that map puts it), so the rows are the sort's first ``k`` bit for
bit.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["branch_prefixes", "first_in_order", "prefix_length", "same_bits"]


@numba.njit(cache=True, nogil=True, inline="always")
def _sort_bits(value: float) -> np.uint64:  # pragma: no cover - compiled
    """``value``'s place in :func:`stable_argsort`'s order, as an unsigned integer.

    All bits flipped for negatives, the sign bit set for the rest, without a branch.
    """
    value = value + 0.0  # -0.0 -> 0.0, as numpy compares them equal
    b = np.uint64(np.float64(value).view(np.uint64))
    return b ^ ((np.uint64(0) - (b >> np.uint64(63))) | np.uint64(1 << 63))


@numba.njit(cache=True, nogil=True)
def _kth_smallest(
    source: np.ndarray, n: int, k: int, scratch: np.ndarray
) -> tuple[np.uint64, int]:  # pragma: no cover - compiled
    """The ``k``-th smallest (from 0) of ``source[:n]`` and how many are smaller (radix selection).

    The digit holding the ``k``-th value is found from a count of each digit
    and only the values with that digit are kept (in ``scratch``, then moved
    to its front) for the next: 16 bits for many values, else 8, the digit's
    top at the highest bit in which the values left differ (bits they all
    share are skipped: counting a digit every value has makes each count wait
    for the one before, measured 3.4 ms for a branch-by-branch selection of
    204,000 keys). The values kept at the end are all the values equal to
    the ``k``-th, so those passed over are the smaller ones.
    """
    below = 0
    while n > 1:
        same, either = ~np.uint64(0), np.uint64(0)
        for i in range(n):
            same &= source[i]
            either |= source[i]
        differ = same ^ either
        if differ == 0:
            break
        high = 0
        while high < 63 and differ >> np.uint64(high + 1):
            high += 1
        width = 16 if n >= 1 << 14 else 8
        shift = max(high + 1 - width, 0)
        s, mask = np.uint64(shift), np.uint64((1 << width) - 1)
        count = np.zeros(1 << width, np.int64)
        for i in range(n):
            count[(source[i] >> s) & mask] += 1
        d = 0
        while k >= count[d]:
            k -= count[d]
            below += count[d]
            d += 1
        digit, m = np.uint64(d), 0
        for i in range(n):
            if (source[i] >> s) & mask == digit:
                scratch[m] = source[i]
                m += 1
        source, n = scratch, m
    return source[0], below


@numba.njit(cache=True, nogil=True)
def _mark_first(
    bits: np.ndarray, at: np.ndarray, n: int, k: int, scratch: np.ndarray, out: np.ndarray,
    top: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """``out[at[j]] = True`` for the ``k`` smallest of ``bits[:n]`` (ties: smaller ``j`` first).

    ``out`` is False at those places before; ``at`` empty: ``out[j]``, the
    values' own order. ``top``: how many of ``bits`` have each value of the
    top 16 bits, if the caller counted them as it made them (or empty).
    Marked without a branch per value (whether a key is below the ``k``-th is
    as good as random), then the ties taken in order.
    """
    if k <= 0:
        return
    if k >= n:
        for j in range(n):
            out[at[j] if at.shape[0] else j] = True
        return
    k, source, size = k - 1, bits, n  # k: from 0, then within the values left
    if top.shape[0]:  # the first digit from the caller's counts: one pass over the keys less
        d = 0
        while k >= top[d]:
            k -= top[d]
            d += 1
        digit = np.uint64(d)
        if top[d] != n:
            size = 0
            for j in range(n):
                if bits[j] >> np.uint64(48) == digit:
                    scratch[size] = bits[j]
                    size += 1
            source = scratch
    last, smaller = _kth_smallest(source, size, k, scratch)
    if at.shape[0]:
        for j in range(n):
            out[at[j]] = bits[j] < last
    else:  # out's own order: a loop the compiler vectorises
        for j in range(n):
            out[j] = bits[j] < last
    ties = k + 1 - smaller  # of the values equal to the k-th, the first this many in row order
    # (k and smaller count within the values the first digit left: those below it are marked)
    for j in range(n):
        if ties == 0:
            break
        if bits[j] == last:
            out[at[j] if at.shape[0] else j] = True
            ties -= 1


@numba.njit(cache=True, nogil=True)
def first_in_order(key: np.ndarray, wanted: np.ndarray, k: int) -> np.ndarray:  # pragma: no cover
    """Mask of the ``k`` wanted rows first in ``stable_argsort(key)``'s order.

    The same rows as ``order = stable_argsort(key); order[wanted[order]][:k]``
    (``k`` is cut to the number wanted). The wanted rows' keys are mapped and
    their top 16 bits counted in one pass without a branch per row (each row
    is written at the next place, which only a wanted row keeps).
    """
    n = key.shape[0]
    at = np.empty(n, np.int64)
    bits = np.empty(n, np.uint64)
    top = np.zeros(1 << 16, np.int64)
    m = 0
    for i in range(n):
        b = _sort_bits(key[i])
        at[m] = i
        bits[m] = b
        top[b >> np.uint64(48)] += wanted[i]
        m += wanted[i]
    out = np.zeros(n, np.bool_)
    if m == n:  # every row wanted: the places are the rows themselves
        at = at[:0]
    _mark_first(bits, at, m, k, np.empty(m, np.uint64), out, top)
    return out


@numba.njit(cache=True, nogil=True)
def same_bits(values: np.ndarray) -> bool:  # pragma: no cover - compiled
    """Whether every value has the first one's bits (True when there are none).

    Every value is compared (no early exit), in a loop the compiler vectorises.
    """
    bits = values.view(np.uint64)
    differ = np.uint64(0)
    for i in range(bits.shape[0]):
        differ |= bits[i] ^ bits[0]
    return differ == 0


@numba.njit(cache=True, nogil=True)
def prefix_length(value: float, n: int, limit: float) -> int:  # pragma: no cover - compiled
    """How many of ``n`` equal ``value`` >= 0, added one by one, stay within ``limit``.

    ``np.count_nonzero(np.cumsum(np.full(n, value)) <= limit)``: the running
    sum does not fall (``value`` is not negative), so the count is where it
    first exceeds ``limit``, without the ``n`` sums after that.
    """
    total = 0.0
    for j in range(n):
        total += value
        if not total <= limit:
            return j
    return n


@numba.njit(cache=True, nogil=True)
def branch_prefixes(
    branch: np.ndarray, key: np.ndarray, minutes: float, contacts: float, left: np.ndarray,
    requested: np.ndarray, delivered: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled
    """:func:`sim.kernels.allocate_minutes` in the stable order of ``key``, for equal minutes.

    Every customer needs ``minutes`` (>= 0) and has ``contacts``; ``branch``
    and ``key`` are theirs, in any order (row order). Within a branch the
    allocation in priority order serves a first run of customers whose
    running sum of minutes fits in the branch's ``left``: with equal minutes,
    as many as fit whoever they are, so each branch serves its that many
    smallest keys. ``left``, ``requested`` and ``delivered`` are updated as
    ``allocate_minutes`` updates them (each branch's adds, in its order, are
    of equal values: the same sums).

    Returns:
        Mask of the customers served (positions in the arrays given).
    """
    n, n_branches = branch.shape[0], left.shape[0]
    # branch by branch in the order given, the branches' adds interleaved (a branch's own
    # adds one after another wait for each other: 0.9 ms at 204,000 rows, one thread)
    size = np.zeros(n_branches + 1, np.int64)
    asked, served = np.zeros(n_branches), np.zeros(n_branches, np.int64)
    for j in range(n):
        c = np.intp(branch[j])
        c += (c < 0) * n_branches  # a negative code as allocate_minutes' index takes it
        size[c + 1] += 1
        requested[c] += contacts
        asked[c] += minutes
        served[c] += asked[c] <= left[c] + 1e-9  # the running sums do not fall: a first run
    start = size.copy()
    for b in range(n_branches):
        start[b + 1] += start[b]
    at = np.empty(n, np.int64)
    bits = np.empty(n, np.uint64)
    fill = start[:n_branches].copy()
    for j in range(n):  # each branch's customers together, in the order given
        c = np.intp(branch[j])
        c += (c < 0) * n_branches
        at[fill[c]] = j
        bits[fill[c]] = _sort_bits(key[j])
        serve = fill[c] - start[c] < served[c]
        left[c] = left[c] - minutes if serve else left[c]
        delivered[c] = delivered[c] + contacts if serve else delivered[c]
        fill[c] += 1
    keep = np.zeros(n, np.bool_)
    scratch, no_counts = np.empty(n, np.uint64), np.zeros(0, np.int64)
    for b in range(n_branches):
        first, count = start[b], size[b + 1]
        if served[b] > 0:  # (a branch with none has served none)
            _mark_first(bits[first:], at[first:], count, served[b], scratch, keep, no_counts)
    return keep
