"""Block-wise parts of :func:`sim.kernels.close.close_month`: contacts' logs, segments, tallies.

Each works on one block of rows (``lo:hi``, within a chunk) after the
close pass's row loop, its costly or branchy work gathered into loops of
its own. ``tests/sim/test_close_blocks.py`` checks each against the row-by-row
definition it replaces, bit for bit.
"""

from __future__ import annotations

import numba
import numpy as np

from sim.kernels.month import _segment_of, _wealth_arg

#: Whole contact counts up to this one take log(1 + count) from a table (:func:`whole_logs`).
LAST_WHOLE = 255


@numba.njit(inline="always")
def whole_logs(contacts: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """``np.log1p(float(c))`` for ``c`` = 0, 1, ..., :data:`LAST_WHOLE` in ``contacts``' type.

    The table :func:`_contact_logs` reads, taken with the very expression it
    stands for, so the same bits. For float32 contacts (the population's
    column) that is float32's log1p: Numba's ``float()`` keeps a float32 a
    float32.
    """
    out, count = np.empty(LAST_WHOLE + 1), np.empty(1, contacts.dtype)  # (room if no rows)
    for c in range(LAST_WHOLE + 1):
        count[0] = c
        out[c] = np.log1p(float(count[0]))
    return out


@numba.njit(inline="always")
def _contact_logs(
    lo: int | np.uint64, hi: int | np.uint64, contacts: np.ndarray, table: np.ndarray,
    logs: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """``logs[i - lo]`` = log(1 + contacts) for a positive count, else 0, for rows ``lo:hi``.

    Contacts are counted in whole contacts, a handful a month, so a positive
    whole count up to :data:`LAST_WHOLE` reads ``table`` (:func:`whole_logs`):
    the same bits as ``np.log1p`` (libm's, about 5 ns a call in a tight loop;
    0.56M calls a month at 1M). Any other positive value (a fraction, a larger count,
    infinity) takes ``np.log1p`` in a second loop, entered only when the block
    has one; NaN and counts at or below 0 give 0, as in :func:`_drivers`.
    """
    last = float(LAST_WHOLE)
    off = 0
    for i in range(lo, hi):
        c = float(contacts[i])
        whole = np.int64(min(c, last) if c > 0 else 0.0)
        logs[i - lo] = table[whole]
        off += (c > 0) & (whole != c)
    if off:
        for i in range(lo, hi):
            c = float(contacts[i])
            if c > 0 and np.int64(min(c, last)) != c:
                logs[i - lo] = np.log1p(float(contacts[i]))


@numba.njit(inline="always")
def _segment_block(
    lo: int | np.uint64, hi: int | np.uint64, customers: np.ndarray, age: np.ndarray,
    digital_adoption: np.ndarray, total_wealth: np.ndarray, aum: np.ndarray,
    weights: np.ndarray, potential_threshold: float, current_threshold: float,
    potential_value: np.ndarray, segment: np.ndarray, rows: np.ndarray, logs: np.ndarray,
    by_segment: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Rows ``lo:hi``'s segment review when due (:func:`_segment_row`), counted by segment.

    The customers are gathered without a branch into ``rows``, and their
    log10s taken in a tight loop of their own (glibc's log10, as inline): a
    log10 behind the branch on the row's role cost its latency (a review
    month's close pass at 1.23M rows, one thread: 102 -> 89 ms). Counting
    inside the loop that writes the segments cost 10 ms more (measured), so
    it has a loop of its own. ``by_segment`` counts code ``c`` in slot ``c + 1``.
    """
    m = 0
    for i in range(lo, hi):
        rows[m] = i - lo
        m += customers[i]
    for r in range(m):
        logs[r] = _wealth_arg(lo + np.uint64(rows[r]), total_wealth, aum)
    for r in range(m):
        logs[r] = np.log10(logs[r])
    for r in range(m):
        row = lo + np.uint64(rows[r])
        _segment_of(row, logs[r], age, digital_adoption, aum, weights, potential_threshold,
                    current_threshold, potential_value, segment)
    for r in range(m):
        by_segment[segment[lo + np.uint64(rows[r])] + 1] += 1


@numba.njit(inline="always")
def _tally_block(
    lo: int | np.uint64, hi: int | np.uint64, cohorts: np.ndarray, live: np.ndarray,
    aum: np.ndarray, revenue: np.ndarray, cost: np.ndarray, rows: np.ndarray,
    others: np.ndarray, part: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Rows ``lo:hi`` added to each strategy's cohort tallies (see :func:`cohort_tallies`).

    Strategy by strategy: the block's members of cohort 1 and of cohort 2
    (the codes ``part`` has room for) gathered without a branch into ``rows``
    and ``others`` (work space of ``hi - lo`` slots each), then added cohort
    by cohort in row order, as :func:`sim.kernels.tallies._tally_row` adds
    them row by row. Its branch on the code mispredicts (10-40% of rows are
    members, at 7 strategies a row): measured 90.3 -> 83.8 ms at 1.2M rows,
    one thread. Each cohort's four sums stay in registers over its members
    (:func:`_tally_members`) rather than in memory, a chain of stores and loads.
    """
    for k in range(cohorts.shape[0]):
        m = n = 0
        for i in range(lo, hi):
            c = cohorts[k, i]
            rows[m] = i - lo
            m += c == 1
            others[n] = i - lo
            n += c == 2
        _tally_members(lo, rows, m, live, aum, revenue, cost, part[k, 1])
        _tally_members(lo, others, n, live, aum, revenue, cost, part[k, 2])


@numba.njit(inline="always")
def _tally_members(
    lo: int | np.uint64, rows: np.ndarray, m: int, live: np.ndarray, aum: np.ndarray,
    revenue: np.ndarray, cost: np.ndarray, part: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Rows ``lo + rows[:m]`` added in order to one cohort's ``part`` (live, AUM, revenue, cost).

    A row not live adds 0.0 to the first two: the same bits as adding nothing
    (the sums start at +0.0, so they are never -0.0).
    """
    count, held, earned, spent = part[0], part[1], part[2], part[3]
    for r in range(m):
        row = lo + np.uint64(rows[r])
        alive = live[row]
        count += 1.0 if alive else 0.0
        held += aum[row] if alive else 0.0
        earned += revenue[row]
        spent += cost[row]
    part[0], part[1], part[2], part[3] = count, held, earned, spent
