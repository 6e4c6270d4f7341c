"""Tutored channel migration: fewer low-value customers at the counter, cheaper, in budget."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from sim.model import LifecycleModel
from strategies.channel_migration import ChannelMigration
from tests.sim.util import SCENARIOS
from tests.strategies.util import (
    NO_SELF_SERVICE,
    assert_budget_binds,
    assert_params_stored,
    assert_refused,
    assert_refused_at_load,
    budget,
    finish,
    small_model,
    with_and_without,
)

PATH = SCENARIOS / "channel_migration.yaml"
build = partial(small_model, PATH)


def targeted_branch_users(model: LifecycleModel) -> np.ndarray:
    pop = model.population
    return (model.is_customer() & (pop.channel == model.channel_names.index("branch"))
            & (pop.tier == model.tier_names.index("under_50k")))


def test_fewer_branch_users_and_cheaper_servicing_against_the_same_seed() -> None:
    df, df0 = map(finish, with_and_without(build))
    branch, branch0 = df.channel_branch.iloc[1:], df0.channel_branch.iloc[1:]
    assert (branch < branch0).all()
    assert branch.iloc[-1] < 0.9 * branch0.iloc[-1]
    servicing = df.filter(like="cost_servicing_").sum(axis=1).iloc[1:]
    servicing0 = df0.filter(like="cost_servicing_").sum(axis=1).iloc[1:]
    assert (servicing < servicing0).all()
    assert df.cost_servicing_branch.iloc[-1] < 0.9 * df0.cost_servicing_branch.iloc[-1]
    assert df.channel_self_service.iloc[-1] > df0.channel_self_service.iloc[-1]
    assert df.channel_online.iloc[-1] > df0.channel_online.iloc[-1]
    np.testing.assert_allclose(df.cost_strategy_channel_migration,
                               df.strategy_channel_migration_funded * 30.0)


def test_uptake_follows_digital_adoption_and_only_low_digital_migrants_lose_satisfaction() -> None:
    model = build("strategies.0.holdout=0")
    pop = model.population
    at_branch = targeted_branch_users(model)
    digital = pop.digital_adoption.copy()
    base_before = pop.satisfaction_base.copy()
    n = len(pop)
    finish(model, 1)
    pop = model.population
    moved = at_branch & (pop.channel[:n] != model.channel_names.index("branch"))
    chance = 0.05 * digital[at_branch]
    assert abs(moved.sum() - chance.sum()) < 4 * np.sqrt((chance * (1 - chance)).sum())
    assert digital[moved].mean() > digital[at_branch].mean() + 0.05  # the digital move first
    online = pop.channel[:n] == model.channel_names.index("online")
    np.testing.assert_array_equal(online[moved], digital[moved] >= 0.5)
    low = moved & (digital < 0.5)
    assert low.sum() > 0
    np.testing.assert_allclose(pop.satisfaction_base[:n][low], base_before[low] - 0.01)
    np.testing.assert_array_equal(pop.satisfaction_base[:n][~low], base_before[~low])


def test_a_missing_destination_channel_is_skipped() -> None:
    model = build("strategies.0.holdout=0", "strategies.0.params.base_rate=1",
                  NO_SELF_SERVICE)
    at_branch = targeted_branch_users(model)
    low_digital = model.population.digital_adoption < 0.5
    n = len(model.population)
    finish(model, 3)
    still = model.population.channel[:n] == model.channel_names.index("branch")
    assert (at_branch & low_digital).sum() > 100 and still[at_branch & low_digital].all()
    assert (~still[at_branch & ~low_digital]).mean() > 0.5


def test_budget_is_never_exceeded() -> None:
    df = finish(build(*budget(3000, 30_000)))
    assert_budget_binds(df, "channel_migration", 3000, 30_000)  # it binds (30 CNY a tutorial)


@pytest.mark.parametrize("params", [
    {"base_rate": 1.2}, {"base_rate": -0.01}, {"online_threshold": 1.5},
    {"tutorial_cost": -30.0}, {"satisfaction_penalty": float("inf")}, {"base_rate": None},
])
def test_bad_parameters_are_refused(params: dict[str, object]) -> None:
    assert_refused(ChannelMigration, params, match=next(iter(params)))


def test_bad_parameters_fail_at_load_time() -> None:
    assert_refused_at_load(PATH, "strategies.0.params.tutorial_cost=-1",
                           match=r"strategies\.0\.params.*tutorial_cost")


def test_defaults_and_parameters_stored_as_given() -> None:
    assert ChannelMigration.respects_opt_out is False
    params = {"base_rate": 0.1, "online_threshold": 0.7, "tutorial_cost": 0,
              "satisfaction_penalty": 0.03}
    assert_params_stored(ChannelMigration, params)
