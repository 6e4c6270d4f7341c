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


def _two_replications(churned: tuple[float, float], profit: tuple[float, float],
                      active_end: tuple[float, float]) -> pd.DataFrame:
    """A monthly frame of two replications over months 0-1, as ``monthly.parquet`` holds."""
    rows = []
    for rep in (0, 1):
        for month in (0, 1):
            rows.append({
                "replication": rep, "month": month, "customers": 100.0,
                "initial_customers_active": 100.0 if month == 0 else active_end[rep],
                "churned": churned[rep] * month, "acquired": 0.0, "lapsed": 0.0,
                "private_banking_up": 0.0, "private_banking_down": 0.0, "aum": 1e6,
                "profit": profit[rep] * month, "cost_servicing": 10.0 * rep * month,
            })
    return pd.DataFrame(rows)


def test_intervals_of_quantities_that_cannot_be_negative_stop_at_zero() -> None:
    """Two replications give a t-interval of mean ± 12.7 half-ranges: churned 0 and 10
    read '-58 … 69'. Counts, costs and shares are clipped to their range; profit is not."""
    from sim.summary import summarise

    table = summarise(_two_replications(churned=(0.0, 10.0), profit=(-5.0, 5.0),
                                        active_end=(99.0, 100.0)))
    assert table.loc["churned", "ci95_low"] == 0.0
    assert table.loc["churned", "ci95_high"] == pytest.approx(5 + 12.706 * 5, rel=1e-3)
    assert table.loc["cost_servicing", "ci95_low"] == 0.0
    assert table.loc["retention_end", "ci95_high"] == 1.0  # a share: at most 100%
    assert table.loc["retention_end", "ci95_low"] == pytest.approx(0.995 - 12.706 * 0.005,
                                                                  rel=1e-3)
    assert table.loc["profit", "ci95_low"] == pytest.approx(-12.706 * 5, rel=1e-3)  # signed


@pytest.mark.parametrize(("metric", "low", "high"), [
    ("churned", 0.0, float("inf")), ("stage_growth_end", 0.0, float("inf")),
    ("revenue_fees", 0.0, float("inf")), ("cost_strategy_voucher", 0.0, float("inf")),
    ("channels_balks", 0.0, float("inf")), ("strategy_voucher_contacts_delivered", 0.0,
                                            float("inf")),
    ("strategy_voucher_cost", 0.0, float("inf")), ("retention_12m", 0.0, 1.0),
    ("channels_share_wait_over_5", 0.0, 1.0),
    ("profit", -float("inf"), float("inf")), ("profit_per_customer", -float("inf"),
                                              float("inf")),
    ("strategy_voucher_roi", -float("inf"), float("inf")),
    ("strategy_voucher_uplift_retention", -float("inf"), float("inf")),
    ("strategy_voucher_incremental_revenue", -float("inf"), float("inf")),
    ("something_new", -float("inf"), float("inf")),  # unknown: never clipped
])
def test_value_range_of_each_kind_of_figure(metric: str, low: float, high: float) -> None:
    from sim.summary import value_range

    assert value_range(metric) == (low, high)
