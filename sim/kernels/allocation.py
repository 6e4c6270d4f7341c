"""Who is served, compiled: budget priority order, branch visitors, a subset's rows."""

from __future__ import annotations

import numba
import numpy as np

from sim.kernels.draws import BLOCK, _uniform
from sim.kernels.tallies import CHUNK
from sim.kernels.visit_weights import channel_weight_sum, fill_weights, ordered_weight_sum

__all__ = ["add_masked", "allocate_minutes", "branch_visits", "fits_in_order", "gather",
           "gather_dense", "gather_into", "in_order", "refuse_minutes", "scatter",
           "stable_argsort"]


@numba.njit(cache=True, nogil=True)
def stable_argsort(key: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """``np.argsort(key, kind="stable")`` for float64 keys without NaN, by LSD radix sort.

    Each key's bits are mapped to an unsigned integer in the same order (sign
    flipped for positives, all bits for negatives; -0.0 counts as 0.0), then
    sorted by stable counting passes, 16 bits at a time (8 below 65,536 keys,
    where a pass's 65,537 counters would cost more than its keys). A pass
    whose digit is the same for every key (the sign and high exponent bits of
    similar numbers) is skipped: it would leave the order as it is. The
    mapped keys move with the order, so each pass reads them in sequence.
    """
    n = key.shape[0]
    bits = np.empty(n, np.uint64)
    for i in range(n):
        value = key[i] + 0.0  # -0.0 -> 0.0, as numpy compares them equal
        b = np.uint64(np.float64(value).view(np.uint64))
        if b >> np.uint64(63):
            bits[i] = ~b
        else:
            bits[i] = b | np.uint64(1 << 63)
    width = 16 if n >= 1 << 16 else 8
    mask = np.uint64((1 << width) - 1)
    order = np.arange(n)
    other = np.empty(n, np.int64)
    other_bits = np.empty(n, np.uint64)
    count = np.zeros((1 << width) + 1, np.int64)
    for shift in range(0, 64, width):
        count[:] = 0
        s = np.uint64(shift)
        for i in range(n):
            count[((bits[i] >> s) & mask) + np.uint64(1)] += 1
        if n == 0 or count[((bits[0] >> s) & mask) + np.uint64(1)] == n:
            continue  # one digit for every key: this pass keeps the order
        for d in range(1, count.shape[0]):
            count[d] += count[d - 1]
        for i in range(n):
            digit = (bits[i] >> s) & mask
            at = count[digit]
            other[at] = order[i]
            other_bits[at] = bits[i]
            count[digit] += 1
        order, other = other, order
        bits, other_bits = other_bits, bits
    return order


@numba.njit(parallel=True, cache=True, nogil=True, error_model="numpy")  # see _normals_block
def branch_visits(
    customers: np.ndarray, channel: np.ndarray, activity_rate: np.ndarray, ids: np.ndarray,
    key: np.uint64, visit_rate: np.ndarray, elasticity: float, weights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """This month's branch visitors and their visits (see ``ChannelSystem.serve``).

    A customer of channel c may visit at ``visit_rate[c]`` a month, scaled by
    activity^elasticity over its channel's mean of that (so each channel keeps
    its calibrated mean); the expected count is rounded up or down by the
    customer's keyed draw under ``key``. ``weights`` caches each row's
    activity^elasticity (NaN: not yet computed; filled here), as activity
    does not change. Parallel over fixed chunks of rows: per-chunk sums are
    added in chunk order and visitors are written in row order, so the
    result does not depend on the number of threads.

    Returns:
        The visitors' rows (table order) and their numbers of visits.
    """
    n, n_channels = customers.shape[0], visit_rate.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    sums = np.zeros((n_chunks, n_channels))
    counts = np.zeros((n_chunks, n_channels), np.int64)
    bits = weights.view(np.uint32)
    for k in numba.prange(n_chunks):
        # each channel's weights added in any order, when that gives the sum in row order
        # bit for bit (sim.kernels.visit_weights); new rows' weights (NaN) computed first.
        # Measured at 1.21M rows, one thread: 3.05 -> 0.80 ms
        first, last = np.uint64(k * CHUNK), np.uint64(min(n, (k + 1) * CHUNK))
        filled = False
        for c in range(n_channels):
            if not visit_rate[c] > 0:
                continue
            total, number, exact = channel_weight_sum(customers, channel, weights, bits, c,
                                                      first, last)
            if not exact and not filled:
                fill_weights(customers, channel, activity_rate, visit_rate, elasticity,
                             weights, first, last)
                filled = True
                total, number, exact = channel_weight_sum(customers, channel, weights, bits,
                                                          c, first, last)
            if not exact:
                total = ordered_weight_sum(customers, channel, weights, c, first, last)
            sums[k, c], counts[k, c] = total, number
    means = np.ones(n_channels)
    for c in range(n_channels):
        total_c, number_c = 0.0, 0
        for k in range(n_chunks):
            total_c += sums[k, c]
            number_c += counts[k, c]
        if number_c > 0 and total_c > 0:
            means[c] = total_c / number_c
    # each row's visits, and each chunk's visitors counted, a block of rows at a time: the
    # channel's rate and mean are looked up for the block first, so the arithmetic and the
    # keyed draws of the block are one branch-free loop the compiler vectorises (a lookup
    # inside it keeps it scalar). Measured at 1.21M rows, one thread: 10.8 -> 7.4 ms
    visits_all = np.empty(n, np.float32)
    found = np.zeros(n_chunks, np.uint64)
    for k in numba.prange(n_chunks):
        rate, mean = np.empty(BLOCK), np.empty(BLOCK)
        m = 0
        # unsigned indices: no negative-index checks (they keep the loop from vectorising)
        for lo in range(np.uint64(k * CHUNK), np.uint64(min(n, (k + 1) * CHUNK)),
                        np.uint64(BLOCK)):
            hi = min(np.uint64(n), lo + np.uint64(BLOCK))
            for i in range(lo, hi):
                code = np.uint64(channel[i])
                rate[i - lo] = visit_rate[code]
                mean[i - lo] = means[code]
            for i in range(lo, hi):
                r, w = rate[i - lo], weights[i]
                v = np.floor(r * w / mean[i - lo] + _uniform(ids[i], key))
                v = v if customers[i] & (r > 0) & (w > 0) else 0.0
                visits_all[i] = v
                m += v > 0
        found[k] = m
    start = np.zeros(n_chunks + 1, np.uint64)
    for k in range(n_chunks):
        start[k + 1] = start[k] + found[k]
    rows = np.empty(start[n_chunks], np.int64)
    visits = np.empty(start[n_chunks])
    for k in numba.prange(n_chunks):
        # without a branch on each row (visitors are random: it would be mispredicted):
        # every row is written at the next free place, which only a visitor then takes;
        # the chunk stops at its last visitor, before the next chunk's places
        j, end = start[k], start[k + 1]
        for i in range(np.uint64(k * CHUNK), np.uint64(min(n, (k + 1) * CHUNK))):
            if j == end:
                break
            rows[j] = i
            visits[j] = visits_all[i]
            j += np.uint64(visits_all[i] > 0)
    return rows, visits



@numba.njit(cache=True, nogil=True)
def in_order(
    order: np.ndarray, rows: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """``rows`` (distinct) and their ``values`` in the order they appear in ``order``.

    ``order`` is a permutation of the table's rows (a priority order). One
    pass, where NumPy needs a position map and five passes over the table.
    """
    position = np.full(order.shape[0], -1, np.int64)
    for j in range(rows.shape[0]):
        position[rows[j]] = j
    ranked = np.empty(rows.shape[0], np.int64)
    ranked_values = np.empty(rows.shape[0], values.dtype)
    m = 0
    for i in range(np.uint64(order.shape[0])):
        j = position[order[i]]
        if j >= 0:
            ranked[m] = order[i]
            ranked_values[m] = values[j]
            m += 1
    return ranked, ranked_values


@numba.njit(parallel=True, cache=True, nogil=True)
def gather(column: np.ndarray, rows: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """``column[rows]``, in parallel (NumPy's fancy indexing runs on one core).

    Best for rows far apart or narrow columns; :func:`gather_dense` for many
    rows of a wide column (see ``sim.population_subset._take``).
    """
    out = np.empty(rows.shape[0], column.dtype)
    for j in numba.prange(rows.shape[0]):
        out[j] = column[rows[j]]
    return out


@numba.njit(cache=True, nogil=True, inline="never")
def _gather_part(
    column: np.ndarray, rows: np.ndarray, out: np.ndarray, first: int, end: int
) -> None:  # pragma: no cover - compiled
    """``out[first:end] = column[rows[first:end]]``, a plain loop."""
    for j in range(first, end):
        out[j] = column[rows[j]]


@numba.njit(parallel=True, cache=True, nogil=True)
def gather_dense(
    column: np.ndarray, rows: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    """``column[rows]`` as :func:`gather`, chunk by chunk in a plain loop of its own.

    For rows that touch every 64-byte line of a column of 4- or 8-byte
    values (on average), the plain loop costs about half the CPU time of
    :func:`gather`'s (one thread, cache cold: 390,000 of 1.3M float64 rows
    1.23 against 0.75 ms, float32 0.76 against 0.42; 143,000 float32 rows
    0.52 against 0.37), but more for rows further apart (78,000 float64
    rows: 0.41 against 0.68 ms) and for 1- or 2-byte values (int8, 390,000
    rows: 0.27 against 0.38 ms).
    """
    n = rows.shape[0]
    out = np.empty(n, column.dtype)
    for k in numba.prange((n + CHUNK - 1) // CHUNK):
        _gather_part(column, rows, out, k * CHUNK, min(n, (k + 1) * CHUNK))
    return out


@numba.njit(cache=True, nogil=True)
def add_masked(
    column: np.ndarray, rows: np.ndarray, mask: np.ndarray, amount: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``column[rows[mask]] += amount`` for distinct ``rows``, in one pass over ``mask``.

    ``amount``: one value per true entry of ``mask``, or one for all, in the
    type NumPy would add in (``Population``'s caller picks it): the sum is
    taken in that type and stored in the column's, as NumPy's ``+=`` does.
    NumPy picks the rows out, then reads, adds and writes them back through
    them (three passes); at 1M, a strategy's contacts cost 0.5 ms that way.
    """
    one = amount.shape[0] == 1
    k = 0
    for j in range(mask.shape[0]):
        if mask[j]:
            r = rows[j]
            column[r] = column[r] + amount[0 if one else k]
            k += 1


@numba.njit(parallel=True, cache=True, nogil=True)
def gather_into(
    column: np.ndarray, rows: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``out[:len(rows)] = column[rows]``, in parallel; ``out`` must not overlap ``column``.

    The rest of ``out`` is left as it is: the table's compaction gathers the
    kept rows into the head of a buffer whose tail is room for appends.
    """
    for j in numba.prange(rows.shape[0]):
        out[j] = column[rows[j]]


@numba.njit(parallel=True, cache=True, nogil=True)
def scatter(
    column: np.ndarray, rows: np.ndarray, values: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``column[rows] = values`` for distinct ``rows``, in parallel, writing changed values only.

    A value equal to the row's is not written: a strategy's copy of a column
    it only read, or changed in a few rows, costs reading the rows, not
    dirtying every cache line of them. Pass unsigned integer views
    (``Population``'s ``_put`` does) so that equal means the same bits
    (-0.0 is not 0.0, NaN is itself).
    """
    for j in numba.prange(rows.shape[0]):
        if column[rows[j]] != values[j]:
            column[rows[j]] = values[j]


@numba.njit(cache=True, nogil=True)
def allocate_minutes(
    branch: np.ndarray, minutes: np.ndarray, contacts: np.ndarray, left: np.ndarray,
    requested: np.ndarray, delivered: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled
    """Serve customers in the order given while their branch's minutes last (one pass).

    Within each branch, a customer is served if the minutes of everyone before
    them in that branch, served or not, plus their own fit in ``left`` (so the
    first customer who does not fit ends the branch's month). ``left``,
    ``requested`` and ``delivered`` (per branch) are updated in place.

    Returns:
        Mask of the customers served.
    """
    asked = np.zeros(left.shape[0])
    keep = np.empty(branch.shape[0], np.bool_)
    for j in range(branch.shape[0]):
        b = branch[j]
        asked[b] += minutes[j]
        keep[j] = asked[b] <= left[b] + 1e-9
        requested[b] += contacts[j]
    for j in range(branch.shape[0]):
        if keep[j]:
            b = branch[j]
            left[b] -= minutes[j]
            delivered[b] += contacts[j]
    return keep


@numba.njit(cache=True, nogil=True)
def refuse_minutes(
    branch: np.ndarray, minutes: np.ndarray, contacts: np.ndarray, left: np.ndarray,
    requested: np.ndarray,
) -> bool:  # pragma: no cover - compiled
    """Whether :func:`allocate_minutes` would serve none of these customers, in any order.

    So when each customer needs more minutes than its branch has left: the
    first of a branch in any order does not fit, and those after it ask for
    more (minutes are not negative). Then ``allocate_minutes`` would only add
    the contacts to ``requested``, in the order given; here they are added in
    row order, which gives the same sums only when every partial sum is
    exact: whole numbers, and totals below 2**53. When all of that holds,
    ``requested`` is updated and True returned; otherwise nothing changes
    (the caller sorts and allocates). Measured at 1M customers: a month's
    RM hours are used up by month 10, and sorting those due a call cost up
    to 7 ms a strategy, for no one served.
    """
    for j in range(branch.shape[0]):
        if not minutes[j] > left[branch[j]] + 1e-9 or contacts[j] != np.floor(contacts[j]):
            return False
    totals = requested.copy()
    for b in range(totals.shape[0]):
        if totals[b] != np.floor(totals[b]):
            return False
    for j in range(branch.shape[0]):
        totals[branch[j]] += contacts[j]
    for b in range(totals.shape[0]):
        if not totals[b] < 2.0**53:  # contacts are not negative: no partial sum is larger
            return False
    requested[:] = totals
    return True


@numba.njit(cache=True, nogil=True)
def fits_in_order(costs: np.ndarray, budget: float) -> np.ndarray:  # pragma: no cover
    """Which ``costs``, taken in order, ``budget`` buys, passing over those that do not fit.

    Greedy in the given (priority) order: a cost is bought when it fits in what
    is left, and passed over, not ending the buying, when it does not (a budget's
    ``when_short: skip``). What is spent is added in that order.
    """
    keep = np.zeros(costs.shape[0], np.bool_)
    spent = 0.0
    for j in range(costs.shape[0]):
        if spent + costs[j] <= budget:
            keep[j] = True
            spent += costs[j]
    return keep
