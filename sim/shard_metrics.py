"""How the shards' monthly metrics add up to the bank's (issue 7, :mod:`sim.shards`).

Each shard of a bank writes the same monthly columns as an unsharded model
(:mod:`sim.metrics`, and ``sim.channels``' metric names). Most are counts or
money and simply add up. The rest are listed here, once, with their rule:
means re-weighted by what they average over, ratios recomputed from their
sums, and the bank-wide queues that do not feed back on customers (the call
centre, the online platform's utilisation) recomputed from the combined load.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sim.schema import Scenario

__all__ = ["RATIOS", "RECOMPUTED", "SHARED", "WEIGHTED_MEANS", "combine_frames"]

#: Monthly columns that are means: column -> the additive column weighting it.
#: ``channels_p90_wait`` is a quantile: the visit-weighted mean of the shards' 90th
#: percentiles approximates the bank's (the only column that is not exact in form).
WEIGHTED_MEANS: dict[str, str] = {
    "mean_satisfaction": "customers",
    "mean_share_of_wallet": "customers",
    "channels_mean_wait": "channels_visits",
    "channels_p90_wait": "channels_visits",
    "channels_share_wait_over_5": "channels_visits",
    "channels_share_wait_over_10": "channels_visits",
    "channels_complaint_handling_days": "channels_complaints",
}
#: Columns that are a ratio of two additive columns: column -> (numerator, denominator).
RATIOS: dict[str, tuple[str, str]] = {
    "channels_rm_utilisation": ("channels_rm_minutes_used", "channels_rm_minutes"),
}
#: Bank-wide queues, recomputed from the combined load (:func:`_recompute`).
_CALL_CENTRE = ("channels_call_centre_prob_wait", "channels_call_centre_mean_wait",
                "channels_call_centre_utilisation")
RECOMPUTED = (*_CALL_CENTRE, "channels_online_utilisation")
#: Columns every shard has alike.
SHARED = ("month",)
# Every other column adds up over shards: counts, money, and also
# ``branch{b}_*`` (only the branch's own shard reports non-zero values) and the
# teller and VTM utilisations (each shard divides by the whole bank's desk minutes).


def combine_frames(frames: Sequence[pd.DataFrame], scenario: Scenario) -> pd.DataFrame:
    """The bank's monthly frame from its shards' frames (same columns, order and dtypes).

    Columns add up, except :data:`SHARED`, :data:`WEIGHTED_MEANS`, :data:`RATIOS`
    and :data:`RECOMPUTED`. Shards are added in shard order, so one layout of
    shards gives the same numbers wherever its shards ran.
    """
    first = frames[0]
    total = first.copy()
    for frame in frames[1:]:
        if list(frame.columns) != list(first.columns) or len(frame) != len(first):
            raise ValueError("shard frames differ in columns or months")
        total = total + frame
    for col in SHARED:
        total[col] = first[col]
    for col, weight in WEIGHTED_MEANS.items():
        if col in first:
            weighted = sum(f[col] * f[weight] for f in frames)
            total[col] = np.where(total[weight] > 0, weighted / total[weight].where(
                total[weight] > 0, 1.0), 0.0)
    for col, (num, den) in RATIOS.items():
        if col in first:
            total[col] = np.where(total[den] > 0, total[num] / total[den].where(
                total[den] > 0, 1.0), 0.0)
    _recompute(total, scenario)
    return total.astype(first.dtypes.to_dict())


def _recompute(total: pd.DataFrame, scenario: Scenario) -> None:
    """Bank-wide call-centre and online figures from the combined calls and sessions."""
    spec = scenario.channels
    if spec is None:
        return
    from sim.channels import call_centre_metrics, online_utilisation

    rows = [call_centre_metrics(spec, float(calls))
            for calls in total["channels_call_centre_calls"]]
    for key in _CALL_CENTRE:
        total[key] = [row[key] for row in rows]
    capacity = spec.online.capacity_sessions_per_month
    total["channels_online_utilisation"] = [
        online_utilisation(float(s), capacity) for s in total["channels_online_sessions"]]
