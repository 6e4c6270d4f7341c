"""Abandoning the D class: opted out, moved off the branch, cheaper, a little less loyal."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from strategies.abandon_d import AbandonD
from tests.sim.util import SCENARIOS
from tests.strategies.util import (
    NO_SELF_SERVICE,
    assert_budget_binds,
    assert_params_stored,
    assert_refused,
    assert_refused_at_load,
    budget,
    churned,
    customers_among,
    finish,
    small_model,
    with_and_without,
)

PATH = SCENARIOS / "abandon_d.yaml"
D = 3  # segment code of the D class
ABANDON_D = "{name: abandon_d, target: {segments: [D]}}"
build = partial(small_model, PATH)


def test_cuts_branch_cost_and_raises_d_churn_against_the_same_seed() -> None:
    with_it, without = with_and_without(build, "strategies.0.holdout=0")
    d_class = with_it.population.id[with_it.is_customer() & (with_it.population.segment == D)]
    df, df0 = finish(with_it), finish(without)

    # seed 20201, 10,000 customers: branch servicing 70% of the no-strategy run by month 24
    branch, branch0 = df.cost_servicing_branch.iloc[1:], df0.cost_servicing_branch.iloc[1:]
    assert (branch < branch0).all()
    assert branch.iloc[-1] < 0.8 * branch0.iloc[-1]
    assert df.channel_branch.iloc[-1] < 0.8 * df0.channel_branch.iloc[-1]

    # 602 vs 557 of 2,916 D-class customers churned within 24 months
    assert churned(with_it, d_class) > 1.03 * churned(without, d_class)
    np.testing.assert_allclose(df.cost_strategy_abandon_d, df.strategy_abandon_d_funded * 20.0)


def test_moves_a_share_of_branch_users_online_or_to_devices_and_lowers_satisfaction() -> None:
    model = build("strategies.0.holdout=0")
    pop = model.population
    branch, online = model.channel_names.index("branch"), model.channel_names.index("online")
    at_branch = model.is_customer() & (pop.segment == D) & (pop.channel == branch)
    base_before = pop.satisfaction_base.copy()
    n = len(pop)
    finish(model, 1)
    pop = model.population
    moved = at_branch & (pop.channel[:n] != branch)
    share = moved.sum() / at_branch.sum()
    sd = np.sqrt(0.1 * 0.9 / at_branch.sum())
    assert abs(share - 0.10) < 4 * sd
    assert ((pop.channel[:n] == online) == (pop.digital_adoption[:n] >= 0.5))[moved].all()
    np.testing.assert_allclose(pop.satisfaction_base[:n][moved], base_before[moved] - 0.05)
    np.testing.assert_array_equal(pop.satisfaction_base[:n][~moved], base_before[~moved])


def test_a_missing_destination_channel_is_skipped() -> None:
    model = build("strategies.0.holdout=0", "strategies.0.params.migration_rate=1",
                  NO_SELF_SERVICE)
    pop = model.population
    branch = model.channel_names.index("branch")
    at_branch = model.is_customer() & (pop.segment == D) & (pop.channel == branch)
    low_digital = pop.digital_adoption < 0.5
    n = len(pop)
    finish(model, 1)
    still = model.population.channel[:n] == branch
    assert (at_branch & low_digital).sum() > 100 and still[at_branch & low_digital].all()
    assert not still[at_branch & ~low_digital].any()  # rate 1: every digital one moved


@pytest.mark.parametrize("order", ["abandon_d first", "abandon_d second"])
def test_opt_out_keeps_d_from_other_strategies_in_either_order(order: str) -> None:
    pair = [ABANDON_D, "{name: voucher}"]
    if order == "abandon_d second":
        pair.reverse()  # the model runs opt-out strategies first whatever the list order
    model = build(f"strategies=[{', '.join(pair)}]")
    finish(model, 1)
    pop = model.population
    opted = pop.marketing_opt_out
    assert opted.sum() > 1000
    assert (pop.cohort_voucher[opted] == 0).all()  # never targeted by the voucher


def test_customers_leaving_the_d_class_are_opted_back_in() -> None:
    model = build("strategies.0.holdout=0")
    finish(model, 12)  # month 12 ends with a segment review
    opted_ids = model.population.id[model.population.marketing_opt_out]
    finish(model, 1)  # month 13 releases those no longer in class D
    pop, live = model.population, model.is_customer()
    assert (pop.segment[live & pop.marketing_opt_out] == D).all()
    released = customers_among(model, opted_ids) & ~pop.marketing_opt_out
    assert released.sum() > 0 and (pop.segment[released] != D).all()


def test_budget_is_never_exceeded() -> None:
    df = finish(build(*budget(2000, 15_000)))
    # it binds (20 CNY a move); with the money gone, no one else is moved
    assert_budget_binds(df, "abandon_d", 2000, 15_000)


@pytest.mark.parametrize("params", [
    {"migration_rate": 1.5}, {"migration_rate": -0.1}, {"migration_cost": -1.0},
    {"satisfaction_penalty": 2.0}, {"online_threshold": float("nan")}, {"migration_rate": "high"},
])
def test_bad_parameters_are_refused(params: dict[str, object]) -> None:
    assert_refused(AbandonD, params, match=next(iter(params)))


def test_bad_parameters_fail_at_load_time() -> None:
    assert_refused_at_load(PATH, "strategies.0.params.migration_rate=3",
                           match=r"strategies\.0\.params.*migration_rate")


def test_defaults_and_parameters_stored_as_given() -> None:
    assert AbandonD.respects_opt_out is False
    params = {"migration_rate": 0.2, "migration_cost": 15, "satisfaction_penalty": 0.0,
              "online_threshold": 0.6}
    assert_params_stored(AbandonD, params)
