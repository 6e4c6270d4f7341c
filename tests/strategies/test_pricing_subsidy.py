"""A yield bump keeps B customers and their money, costs the extra interest, stays in budget."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.model import LifecycleModel
from sim.scenario import ScenarioError, load_scenario
from strategies.pricing_subsidy import PricingSubsidy
from tests.sim.util import SCENARIOS

PATH = SCENARIOS / "pricing_subsidy.yaml"
SMALL = ["population.size=10000", "population.prospects=1750",
         "market.prospect_arrivals_per_month=158", "horizon_months=24"]
B = 1  # segment code of the B class


def build(*overrides: str) -> LifecycleModel:
    return LifecycleModel(load_scenario(PATH, [*SMALL, *overrides]))


def finish(model: LifecycleModel) -> pd.DataFrame:
    for _ in range(model.scenario.horizon_months):
        model.step()
    return model.monthly_frame()


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
    with_it, without = build("strategies.0.holdout=0"), build("strategies=[]")
    b_class = with_it.population.id[with_it.is_customer() & (with_it.population.segment == B)]
    df = finish(with_it)
    finish(without)

    def churned(model: LifecycleModel) -> int:
        records = model.absorption_records()
        return int((records.id.isin(b_class) & (records.absorbed_month >= 0)).sum())

    def live(model: LifecycleModel) -> np.ndarray:
        return np.isin(model.population.id, b_class) & model.is_customer()

    # seed 20201, 10,000 customers, 24 months: 241 vs 271 churned, AUM 281 vs 270 million CNY
    assert churned(with_it) < 0.95 * churned(without)
    aum_with = with_it.population.aum[live(with_it)].sum()
    aum_without = without.population.aum[live(without)].sum()
    assert aum_with > 1.02 * aum_without
    sow_with = with_it.population.share_of_wallet[live(with_it)].mean()
    assert sow_with > without.population.share_of_wallet[live(without)].mean()
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
    model = build("strategies.0.budget.monthly=20000", "strategies.0.budget.total=150000")
    seen = spy(model)
    df = finish(model)
    cost = df.cost_strategy_pricing_subsidy
    assert (cost <= 20_000 + 1e-6).all()
    assert cost.sum() <= 150_000 + 1e-6
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
    with pytest.raises(ScenarioError, match=r"strategies\.0\.params.*bump_bp"):
        load_scenario(PATH, ["strategies.0.params.bump_bp=-20"])


def test_defaults_and_parameters_stored_as_given() -> None:
    assert PricingSubsidy().bump_bp == 20.0  # DOMAIN §4: 5.2% - 5.0%
    assert PricingSubsidy(bump_bp=35).get_params() == {"bump_bp": 35}
