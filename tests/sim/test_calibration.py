"""The baseline reproduces the figures it is calibrated to (scenarios/baseline.yaml).

Target (source): tolerance.

* 148,300 customers at month 0 (DOMAIN §2): exact.
* 11.49% primarily online (DOMAIN §2): ± 1 percentage point.
* Annual attrition ≈ 10% of active customers (J.D. Power 2012: 9.6%; by bank
  size 7.4-11.3%, REFERENCES.md): 8% to 12%.
* Top 20% of customers bring well over half of revenue (First Manhattan ≈ 60%;
  DOMAIN §4 80/20): 55% to 85%.
* A the largest and youngest class (DOMAIN §2): ordering.
* B the highest total wealth, a minority share here, AUM < 500k (DOMAIN §2):
  ordering; mean share < 0.5; median AUM < 500k.
* C older, branch-bound, second-highest wealth (DOMAIN §2): ordering.
* D low value (DOMAIN §2): lower mean AUM than B and C.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.model import LifecycleModel
from sim.scenario import load_scenario
from tests.sim.util import SCENARIOS


@pytest.fixture(scope="module")
def year() -> tuple[LifecycleModel, pd.DataFrame, pd.DataFrame]:
    model = LifecycleModel(load_scenario(SCENARIOS / "baseline.yaml"))
    start = profile(model)
    for _ in range(12):
        model.step()
    return model, model.monthly_frame(), start


def profile(model: LifecycleModel) -> pd.DataFrame:
    pop, cust = model.population, model.is_customer()
    econ = model.scenario.economics
    frame = pd.DataFrame({
        "segment": np.array(list("ABCD"))[pop.segment[cust]],
        "age": pop.age[cust],
        "wealth": pop.total_wealth[cust],
        "aum": pop.aum[cust],
        "share": pop.share_of_wallet[cust],
        "channel": np.array(model.channel_names)[pop.channel[cust]],
        "revenue": pop.aum[cust] * econ.aum_margin_annual / 12
        + pop.products[cust] * econ.fee_per_product_month,
    })
    return frame


def test_population_size(year) -> None:
    _, df, _ = year
    assert df.customers.iloc[0] == 148_300


def test_online_share(year) -> None:
    _, _, start = year
    assert (start.channel == "online").mean() == pytest.approx(0.1149, abs=0.01)


def test_annual_attrition_near_ten_percent(year) -> None:
    _, df, _ = year
    attrition = df.churned.iloc[1:13].sum() / df.customers.iloc[0]
    assert 0.08 <= attrition <= 0.12


def test_customer_base_is_roughly_stable(year) -> None:
    _, df, _ = year
    assert df.customers.iloc[-1] == pytest.approx(df.customers.iloc[0], rel=0.03)


def test_top_fifth_brings_most_revenue(year) -> None:
    _, _, start = year
    revenue = np.sort(start.revenue.to_numpy())[::-1]
    share = revenue[: len(revenue) // 5].sum() / revenue.sum()
    assert 0.55 <= share <= 0.85


@pytest.mark.parametrize("when", ["start", "after_a_year"])
def test_segment_profiles(year, when: str) -> None:
    model, _, start = year
    frame = start if when == "start" else profile(model)
    g = frame.groupby("segment").agg(
        n=("age", "size"), age=("age", "mean"), wealth=("wealth", "mean"),
        aum=("aum", "mean"), aum_median=("aum", "median"), share=("share", "mean"),
        branch=("channel", lambda c: (c == "branch").mean()),
    )
    assert g.n.idxmax() == "A" and g.age.idxmin() == "A"
    assert g.wealth.idxmax() == "B"
    assert g.share["B"] < 0.5 and g.aum_median["B"] < 500_000
    assert g.age.idxmax() == "C" and g.branch.idxmax() == "C"
    assert g.wealth.sort_values().index[-2] == "C"
    assert g.aum.idxmin() in ("D", "A") and g.aum["D"] < g.aum["B"] and g.aum["D"] < g.aum["C"]
