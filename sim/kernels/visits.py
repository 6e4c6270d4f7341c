"""A month's branch visits served, compiled: desk, simulated visit, wait.

:func:`visit_outcomes` does in one parallel pass over the visitors what
``ChannelSystem.serve`` did with NumPy: each visitor's routing draw, desk
(teller or machine), the simulated visit its outcome draw picks from its
branch's pooled days, and its perceived wait written into the table. The
draws are the keyed uniforms of :mod:`sim.streams` (``_uniform``), so every
visitor gets the visit the NumPy definition gives (tested).
"""

from __future__ import annotations

import numba
import numpy as np

from sim.kernels.draws import _uniform

__all__ = ["visit_outcomes"]


@numba.njit(parallel=True, cache=True, nogil=True)
def visit_outcomes(
    rows: np.ndarray, ids: np.ndarray, branch: np.ndarray, own_machine: np.ndarray,
    route_share: np.ndarray, has_vtm: np.ndarray,
    route_key: np.uint64, outcome_key: np.uint64, pool_wait: np.ndarray,
    pool_balked: np.ndarray, offsets: np.ndarray, sizes: np.ndarray, balk_wait: float,
    wait_minutes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Each visitor's desk, simulated visit and wait; ``wait_minutes`` written.

    Visitor ``rows[j]`` of branch ``b = branch[j]`` goes to the machines (desk 1)
    if it uses them anyway (``own_machine[j]``: a machine channel) or its draw under
    ``route_key`` is below ``route_share[b]``, and the branch has machines
    (``has_vtm``); to a teller (desk 0) otherwise. Segment ``2 b + desk`` holds
    ``sizes[s]`` pooled visits from ``offsets[s]`` in ``pool_wait`` and
    ``pool_balked``; the draw under ``outcome_key`` picks one (an empty
    segment: no wait, no balk). ``wait_minutes`` is zeroed for every row and
    set for visitors: ``balk_wait`` if they walked out, their wait otherwise.

    Returns:
        Each visitor's wait (minutes queued) and whether it balked.
    """
    n = rows.shape[0]
    wait = np.empty(n)
    balked = np.empty(n, np.bool_)
    for i in numba.prange(wait_minutes.shape[0]):
        wait_minutes[i] = 0.0
    for j in numba.prange(n):
        r, b = rows[j], branch[j]
        routed = _uniform(ids[r], route_key) < route_share[b]
        segment = 2 * b + (1 if (own_machine[j] or routed) and has_vtm[b] else 0)
        size = sizes[segment]
        w, walked = 0.0, False
        if size > 0:
            k = offsets[segment] + min(int(_uniform(ids[r], outcome_key) * size), size - 1)
            w, walked = pool_wait[k], pool_balked[k]
        wait[j] = w
        balked[j] = walked
        wait_minutes[r] = balk_wait if walked else w
    return wait, balked
