"""Who may complain this month, and the online sessions, compiled (``sim.channels``).

A customer may complain after a long wait, a balk (both of this month's
branch visit) or a contact a relationship manager could not make. The
candidates are the union of this month's visitors with a bad visit (few) and
the rows with failed contacts (found by a pass over the table), in table
order. NumPy built this from table-wide masks: two zeroed boolean columns,
two scatters, their union and ``np.flatnonzero``; here the two sorted sets
are found and merged directly, and each candidate's complaint draw taken.
"""

from __future__ import annotations

import numba
import numpy as np

from sim.kernels.draws import _uniform

__all__ = ["channel_values", "complaint_candidates"]


@numba.njit(cache=True, nogil=True)
def complaint_candidates(
    rows: np.ndarray, wait: np.ndarray, balked: np.ndarray, long_wait_minutes: float,
    contacts_failed: np.ndarray, ids: np.ndarray, key: np.uint64, with_failed: bool = True,
) -> tuple[np.ndarray, ...]:  # pragma: no cover - compiled
    """The rows that may complain, in table order, why, and their complaint draws.

    One thread: the work is a few simple passes (about 2 ms at 1M rows), and a
    parallel region waits for its slowest thread, which on a busy machine
    costs more than it saves.

    Args:
        rows: This month's visitors (table order); ``wait`` and ``balked`` are theirs.
        wait: Minutes queued.
        balked: Whether they walked out.
        long_wait_minutes: A wait longer than this (without balking) is a long wait.
        contacts_failed: Per row, the contacts its RM could not make.
        ids: Per row, the customer's id.
        key: The month's key of the complaint draws (``sim.streams.draw_key``).
        with_failed: Whether rows with failed contacts are candidates. False when
            a failed contact cannot lead to a complaint (its probability is 0):
            the candidates are then the bad visits alone, and the pass over the
            table is skipped (at 1M rows, 2.4 of the channels' 19.6 ms a month
            on one thread, and 150,000 candidates who could never file).

    Returns:
        The candidate rows (``np.flatnonzero(long_wait | walked_out |
        (contacts_failed > 0))``, without the last term if not ``with_failed``),
        and for each: long wait, walked out, its failed contacts and its keyed
        U(0, 1) draw under ``key``.
    """
    bad = np.empty(rows.shape[0], np.int64)  # visitors with a long wait or a balk
    m = 0
    for j in range(rows.shape[0]):  # branch-free: write every index, keep the bad ones
        bad[m] = j
        m += balked[j] or wait[j] > long_wait_minutes
    n = contacts_failed.shape[0]
    failed_rows = np.empty(n if with_failed else 0, np.int64)
    f = 0
    for i in range(failed_rows.shape[0]):
        failed_rows[f] = i
        f += contacts_failed[i] > 0
    candidates = np.empty(f + m, np.int64)
    long_wait = np.zeros(f + m, np.bool_)
    walked_out = np.zeros(f + m, np.bool_)
    failed = np.empty(f + m, contacts_failed.dtype)
    draw = np.empty(f + m)
    a = b = c = 0
    while a < f or b < m:  # merge the two sorted sets of rows
        next_failed = failed_rows[a] if a < f else n
        next_bad = rows[bad[b]] if b < m else n
        if next_bad <= next_failed:
            candidates[c] = next_bad
            walked_out[c] = balked[bad[b]]
            long_wait[c] = not balked[bad[b]]
            failed[c] = contacts_failed[next_bad]
            a += next_failed == next_bad
            b += 1
        else:
            candidates[c] = next_failed
            failed[c] = contacts_failed[next_failed]
            a += 1
        draw[c] = _uniform(ids[candidates[c]], key)
        c += 1
    return candidates[:c], long_wait[:c], walked_out[:c], failed[:c], draw[:c]


@numba.njit(cache=True, nogil=True)
def channel_values(
    customers: np.ndarray, channel: np.ndarray, code: int, values: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    """``values[np.flatnonzero(customers & (channel == code))]`` in one pass (online sessions).

    Every row's value is written at the next free place, which only a
    customer of channel ``code`` then keeps (no branch on each row). At 1.24M
    rows, one thread: 0.97 ms, against 1.4 ms for NumPy's mask, indices and
    gather; the sum NumPy then takes of these values is that of the gather.
    """
    out = np.empty(customers.shape[0], values.dtype)
    m = 0
    for i in range(np.uint64(customers.shape[0])):
        out[m] = values[i]
        m += customers[i] & (channel[i] == code)
    return out[:m]
