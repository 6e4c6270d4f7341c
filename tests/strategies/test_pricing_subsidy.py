"""A yield bump keeps B customers and their money, costs the extra interest, stays in budget."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from sim.model import LifecycleModel
from strategies.pricing_subsidy import PricingSubsidy
from tests.sim.util import SCENARIOS
from tests.strategies.util import (
    assert_params_stored,
    assert_refused_at_load,
    assert_within_budget,
    budget,
    churned,
    customers_among,
    finish,
    small_model,
    with_and_without,
)

PATH = SCENARIOS / "pricing_subsidy.yaml"
B = 1  # segment code of the B class
build = partial(small_model, PATH)


def spy(model: LifecycleModel) -> list[dict[str, np.ndarray]]:
    """Record AUM, targets and bumps as the strategy leaves them each month."""
    strategy = model.strategies[0].strategy
    original, seen = strategy.apply, []

    def apply(ctx):
        aum = ctx.population.aum.copy()
        original(ctx)
        seen.append({"aum": aum, "targets": ctx.targets.copy(),
                     "bump": ctx.population.yield_bump_bp.copy()})

    strategy.apply = apply
    return seen


def test_subsidy_keeps_b_customers_and_their_money_against_the_same_seed() -> None:
    with_it, without = with_and_without(build, "strategies.0.holdout=0")
    b_class = with_it.population.id[with_it.is_customer() & (with_it.population.segment == B)]
    df = finish(with_it)
    finish(without)

    # seed 20201, 10,000 customers, 24 months: 241 vs 271 churned, AUM 281 vs 270 million CNY
    assert churned(with_it, b_class) < 0.95 * churned(without, b_class)
    live, live0 = customers_among(with_it, b_class), customers_among(without, b_class)
    aum_with = with_it.population.aum[live].sum()
    aum_without = without.population.aum[live0].sum()
    assert aum_with > 1.02 * aum_without
    sow_with = with_it.population.share_of_wallet[live].mean()
    assert sow_with > without.population.share_of_wallet[live0].mean()
    assert df.strategy_pricing_subsidy_cost_subsidy_interest.iloc[1:].gt(0).all()


def test_bump_is_set_on_targets_only_and_costs_the_interest_on_their_aum() -> None:
    model = build("horizon_months=3")
    seen = spy(model)
    df = finish(model)
    for month, s in enumerate(seen, start=1):
        bumped = s["bump"] > 0
        np.testing.assert_array_equal(bumped, s["targets"])  # unlimited budget: all funded
        assert (s["bump"][bumped] == 20.0).all()
        expected = (s["aum"] * s["targets"]).sum() * 20 / 10_000 / 12
        assert df.cost_strategy_pricing_subsidy[month] == pytest.approx(expected)
    # the model resets the bump every month, so it never accumulates
    assert model.population.yield_bump_bp.max() == 20.0


def test_budget_is_never_exceeded_and_funds_the_highest_value_first() -> None:
    model = build(*budget(20_000, 150_000))
    seen = spy(model)
    df = finish(model)
    cost = df.cost_strategy_pricing_subsidy
    assert_within_budget(cost, 20_000, 150_000)
    assert cost.max() > 19_000 and cost.sum() > 149_000  # the budget really binds
    assert (cost.iloc[9:] == 0).all()  # the total is spent by month 8
    first = seen[0]
    funded, unfunded = first["bump"] > 0, first["targets"] & (first["bump"] == 0)
    assert funded.sum() > 0 and unfunded.sum() > 0
    assert first["aum"][funded].min() >= first["aum"][unfunded].max()


@pytest.mark.parametrize("bad", [0, -5, 1500, float("nan"), True, "20"])
def test_bad_bump_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="bump_bp"):
        PricingSubsidy(bump_bp=bad)


def test_bad_bump_fails_at_load_time() -> None:
    assert_refused_at_load(PATH, "strategies.0.params.bump_bp=-20",
                           match=r"strategies\.0\.params.*bump_bp")


def test_defaults_and_parameters_stored_as_given() -> None:
    assert PricingSubsidy().bump_bp == 20.0  # DOMAIN §4: 5.2% - 5.0%
    assert_params_stored(PricingSubsidy, {"bump_bp": 35})
