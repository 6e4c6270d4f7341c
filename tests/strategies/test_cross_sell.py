"""cross_sell: offers raise products per customer, more so among the satisfied."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pytest

from strategies.cross_sell import CrossSell
from tests.strategies.util import (
    assert_refused,
    assert_within_budget,
    run_months,
    run_with_and_without,
    strategy_spec,
    values_by_id,
)

SIZE = 10_000
run = partial(run_months, SIZE)
cross_sell = partial(strategy_spec, "cross_sell")


def test_offers_add_products_and_keep_customers_against_the_same_seed() -> None:
    with_it, without = run_with_and_without(SIZE, 24, "cross_sell.yaml")
    df, base = with_it.monthly_frame(), without.monthly_frame()
    after, before = values_by_id(with_it, "products"), values_by_id(without, "products")
    common = sorted(set(after) & set(before))
    gained = np.array([after[i] - before[i] for i in common])
    pop = with_it.population
    targeted = set(pop.id[pop.cohort_cross_sell == 1].tolist())
    assert (gained >= 0).all()  # products only ever rise through the strategy
    new_products = df.strategy_cross_sell_cost_onboarding.sum() / 50.0
    assert 0.8 * new_products < gained.sum() <= new_products  # a few owners churned anyway
    a_class = [i for i in common if i in targeted]
    assert np.mean([after[i] for i in a_class]) > np.mean([before[i] for i in a_class]) + 0.1
    assert df.churned.sum() < base.churned.sum()
    assert df.revenue_fees.iloc[-1] > base.revenue_fees.iloc[-1]
    assert (df.strategy_cross_sell_cost_sms == 0).all() and df.strategy_cross_sell_cost_push.gt(
        0).iloc[1:].all()


def test_acceptance_rises_with_satisfaction() -> None:
    strategy = CrossSell(offer_channel="phone", satisfaction_effect=4.0)
    p = strategy.acceptance_probability(np.array([0.0, 0.5, 0.7, 0.9, 1.0]))
    assert (np.diff(p) > 0).all()
    assert p[2] == pytest.approx(0.04)  # the channel's acceptance at the reference
    flat = CrossSell(offer_channel="phone", satisfaction_effect=0.0)
    np.testing.assert_allclose(flat.acceptance_probability(np.array([0.1, 0.9])), 0.04)
    sure = CrossSell(acceptance={"sms": 1.0}).acceptance_probability(np.array([0.0, 1.0]))
    np.testing.assert_allclose(sure, 1.0)


def test_satisfied_customers_buy_more() -> None:
    # same customers, same draws: only the satisfaction effect differs
    params = {"acceptance": {"sms": 0.2}, "max_products": 100}
    steep = run(3, [cross_sell({**params, "satisfaction_effect": 8.0})])
    flat = run(3, [cross_sell({**params, "satisfaction_effect": 0.0})])
    gained = {}
    for label, model in (("steep", steep), ("flat", flat)):
        pop = model.population
        live = model.is_customer() & (pop.satisfaction > 0.85)
        gained[label] = pop.products[live].mean()
    assert gained["steep"] > gained["flat"] + 0.2


def test_customers_at_max_products_get_no_offer() -> None:
    model = run(0, [cross_sell({"max_products": 2, "acceptance": {"sms": 1.0}})])
    pop = model.population
    before = pop.products.copy()
    model.step()
    n = len(before)
    treated = (pop.cohort_cross_sell == 1)[:n]
    full, room = treated & (before >= 2), treated & (before < 2)
    assert full.sum() > 1000 and room.sum() > 1000
    contacts, products = pop.contacts[:n], pop.products[:n]
    assert (contacts[full] == 0).all() and (products[full] == before[full]).all()
    assert (contacts[room] == 1).all() and (products[room] == before[room] + 1).all()
    m = model.monthly_frame().iloc[-1]
    assert m.strategy_cross_sell_cost_onboarding == pytest.approx(50.0 * room.sum())
    assert m.strategy_cross_sell_cost_sms == pytest.approx(0.05 * room.sum())


def test_phone_offers_need_rm_hours() -> None:
    # 10 RM hours = 600 minutes = 60 phone offers of 10 minutes a month
    df = run(3, [cross_sell({"offer_channel": "phone"})],
             capacity__rm_hours_per_month=10).monthly_frame().iloc[1:]
    assert (df.strategy_cross_sell_contacts_delivered == 60).all()
    assert (df.strategy_cross_sell_contacts_requested > 1000).all()
    np.testing.assert_allclose(df.strategy_cross_sell_cost_phone, 5.0 * 60)


def test_budget_is_never_exceeded() -> None:
    budget = {"monthly": 1_500.0, "total": 10_000.0, "priority": "lowest_value"}
    params = {"offer_channel": "sms", "acceptance": {"sms": 0.3}}
    df = run(12, [cross_sell(params, budget)]).monthly_frame()
    cost = df.cost_strategy_cross_sell
    assert_within_budget(cost, budget["monthly"], budget["total"])
    assert cost.sum() > 0.95 * budget["total"]  # it binds
    assert df.strategy_cross_sell_cost_onboarding.sum() > 0.5 * budget["total"]


@pytest.mark.parametrize(("params", "message"), [
    ({"offer_channel": "fax"}, "offer_channel"),
    ({"max_products": 0}, "max_products"),
    ({"max_products": 2.5}, "max_products"),
    ({"acceptance": {"sms": 1.2}}, "acceptance.sms"),
    ({"offer_cost": {"letter": 1.0}}, "unknown key"),
    ({"rm_minutes_per_offer": {"push": 1.0}}, "rm_minutes_per_offer"),
    ({"satisfaction_reference": -0.1}, "satisfaction_reference"),
    ({"onboarding_cost": "fifty"}, "onboarding_cost"),
])
def test_invalid_parameters_are_refused(params: dict[str, Any], message: str) -> None:
    assert_refused(CrossSell, params, match=message)


class _Draws:
    """The one context method ``CrossSell._accepts`` calls: fixed draws."""

    def __init__(self, draws: np.ndarray) -> None:
        self.draws = draws

    def uniform(self, purpose: str) -> np.ndarray:
        assert purpose == "accept"
        return self.draws


@pytest.mark.parametrize("params", [
    {}, {"offer_channel": "visit", "satisfaction_effect": -2, "satisfaction_reference": 0.3},
    {"acceptance": {"sms": 1}}, {"satisfaction_effect": np.float64(4.0)},  # NumPy's float64 path
])
def test_compiled_acceptances_are_numpys(params: dict[str, Any]) -> None:
    rng = np.random.default_rng(11)
    satisfaction = rng.random(20_000).astype(np.float32)
    satisfaction[:3] = [0.0, 1.0, np.nan]
    offered, draws = rng.random(20_000) < 0.9, rng.random(20_000)
    strategy = CrossSell(**params)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = offered & (draws < strategy.acceptance_probability(satisfaction))
        got = strategy._accepts(_Draws(draws), offered, satisfaction)
    np.testing.assert_array_equal(got, expected)
