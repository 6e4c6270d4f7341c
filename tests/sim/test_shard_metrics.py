"""Shards' monthly metrics add up to the bank's: every column either adds up or has its rule."""

from __future__ import annotations

import numpy as np

from sim.model import LifecycleModel
from sim.schema import Scenario
from sim.shard_metrics import RATIOS, RECOMPUTED, WEIGHTED_MEANS, combine_frames
from tests.sim.util import small_bank


def test_combining_rules_cover_every_column() -> None:
    """Two identical shards: additive columns double, means and ratios stay, queues recompute."""
    bank: Scenario = small_bank(months=3)
    frame = LifecycleModel(bank, 0)
    for _ in range(3):
        frame.step()
    one = frame.monthly_frame()
    both = combine_frames([one, one], bank)
    assert list(both.columns) == list(one.columns)
    assert (both.dtypes == one.dtypes).all()
    kept = {"month", *WEIGHTED_MEANS, *RATIOS}
    for col in one.columns:
        if col in RECOMPUTED:
            continue
        expected = one[col] if col in kept else 2 * one[col]
        np.testing.assert_allclose(both[col], expected, rtol=1e-12, err_msg=col)
    # the call centre with twice the calls waits longer
    assert (both["channels_call_centre_utilisation"].iloc[1:]
            > one["channels_call_centre_utilisation"].iloc[1:]).all()
