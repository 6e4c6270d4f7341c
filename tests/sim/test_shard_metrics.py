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


def test_different_shards_combine_by_each_rule() -> None:
    """Two different frames: sums add, means re-weight, ratios and queues recompute, by hand."""
    from sim.channels import call_centre_metrics, online_utilisation

    bank: Scenario = small_bank(months=3)
    frames = []
    for replication in (0, 1):
        model = LifecycleModel(bank, replication)
        for _ in range(3):
            model.step()
        frames.append(model.monthly_frame())
    a, b = frames
    both = combine_frames([a, b], bank)
    assert not a["churned"].equals(b["churned"])  # the frames do differ
    np.testing.assert_array_equal(both["churned"], a["churned"] + b["churned"])
    np.testing.assert_array_equal(both["month"], a["month"])
    for col, weight in WEIGHTED_MEANS.items():
        total = a[weight] + b[weight]
        want = np.where(total > 0, (a[col] * a[weight] + b[col] * b[weight])
                        / total.where(total > 0, 1.0), 0.0)
        np.testing.assert_allclose(both[col], want, rtol=1e-12, err_msg=col)
    for col, (num, den) in RATIOS.items():
        want = np.where(a[den] + b[den] > 0, (a[num] + b[num]) / (a[den] + b[den]), 0.0)
        np.testing.assert_allclose(both[col], want, rtol=1e-12, err_msg=col)
    spec = bank.channels
    assert spec is not None
    calls_total = a["channels_call_centre_calls"] + b["channels_call_centre_calls"]
    for month, calls in enumerate(calls_total):
        expected = call_centre_metrics(spec, float(calls))
        for key in RECOMPUTED[:3]:
            assert both[key].iloc[month] == expected[key], key
    sessions = a["channels_online_sessions"] + b["channels_online_sessions"]
    np.testing.assert_allclose(
        both["channels_online_utilisation"],
        [online_utilisation(float(s), spec.online.capacity_sessions_per_month) for s in sessions])
