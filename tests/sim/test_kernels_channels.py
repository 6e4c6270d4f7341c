"""The channels' compiled shortcuts give what the plain passes give, bit for bit (sim/kernels/)."""

from __future__ import annotations

import numpy as np
import pytest

from sim import kernels


def _visits(n: int, visitors: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, visitors, replace=False))
    wait = np.where(rng.random(visitors) < 0.5, 0.0, rng.exponential(8.0, visitors))
    balked = rng.random(visitors) < 0.05
    contacts_failed = (rng.random(n) < 0.1) * rng.integers(1, 3, n).astype(np.float32)
    contacts_failed[rows[::5]] = 1.0  # visitors with a failed contact too
    return rows, wait, balked, contacts_failed, rng.integers(0, 2**40, n)


@pytest.mark.parametrize("visitors", [0, 1, 3000])
def test_complaints_without_failed_contacts_file_the_same_rows(visitors: int) -> None:
    """With no complaints after failed contacts, the candidates are the bad visits alone
    (the table pass skipped): the same rows file, with the same draws, as when every row
    with a failed contact is a candidate whose chance is (1 - 0) ** failed."""
    rows, wait, balked, contacts_failed, ids = _visits(20_000, visitors, visitors)
    args = (rows, wait, balked, 10.0, contacts_failed, ids, np.uint64(77))
    every = kernels.complaint_candidates(*args)
    bad = kernels.complaint_candidates(*args, False)
    visit = every[1] | every[2]
    for full, short in zip(every, bad, strict=True):
        np.testing.assert_array_equal(full[visit], short)
        assert full.dtype == short.dtype

    def filed(candidates, long_wait, walked_out, failed, u):  # as ChannelSystem._complaints
        keep = (1.0 - 0.3 * long_wait) * (1.0 - 0.6 * walked_out) * (1.0 - 0.0) ** failed
        return candidates[u < 1.0 - keep]

    np.testing.assert_array_equal(filed(*bad), filed(*every))
    if visitors > 1:
        assert filed(*bad).size and (every[3] > 0).sum() > visit.sum()
