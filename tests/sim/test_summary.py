"""The summary's figures follow from the monthly series they are derived from."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.channels import BANK_METRICS
from sim.summary import channel_figures


def _channel_months(**columns: list[float]) -> pd.DataFrame:
    """Monthly ``channels_*`` columns: those given, every other bank-wide metric zero."""
    months = len(next(iter(columns.values())))
    data = {f"channels_{m}": [0.0] * months for m in BANK_METRICS}
    data.update({f"channels_{name}": values for name, values in columns.items()})
    return pd.DataFrame(data)


def test_a_month_without_complaints_does_not_shorten_the_handling_time() -> None:
    """Handling days are a mean per complaint: a quiet month (0 complaints, reported as 0
    days) adds nothing; the run's figure is the complaint-weighted mean."""
    flows = _channel_months(complaints=[10.0, 0.0, 30.0], complaint_handling_days=[2.0, 0.0, 4.0],
                            visits=[100.0, 100.0, 100.0])
    out = channel_figures(flows)
    assert out["channels_complaint_handling_days"] == pytest.approx((10 * 2.0 + 30 * 4.0) / 40)


def test_call_centre_waits_are_weighted_by_calls() -> None:
    flows = _channel_months(call_centre_calls=[1000.0, 3000.0], call_centre_mean_wait=[1.0, 3.0],
                            call_centre_prob_wait=[0.2, 0.6])
    out = channel_figures(flows)
    assert out["channels_call_centre_mean_wait"] == pytest.approx((1000 + 9000) / 4000)
    assert out["channels_call_centre_prob_wait"] == pytest.approx((200 + 1800) / 4000)


def test_online_sessions_and_failures_are_counts_summed_over_the_run() -> None:
    """docs/channels.md: the summary adds bank totals, counts summed (as visits and balks)."""
    flows = _channel_months(online_sessions=[4000.0, 5000.0, 6000.0],
                            online_failed=[10.0, 20.0, 40.0], visits=[1.0, 2.0, 3.0],
                            balks=[1.0, 1.0, 1.0])
    out = channel_figures(flows)
    assert out["channels_online_sessions"] == flows.channels_online_sessions.sum()
    assert out["channels_online_failed"] == flows.channels_online_failed.sum()
    assert out["channels_visits"] == flows.channels_visits.sum()  # as before
    assert out["channels_balks"] == flows.channels_balks.sum()
