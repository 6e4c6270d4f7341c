"""Referrals bring prospects who become customers; bad word of mouth cancels some; in budget."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from strategies.referral import Referral
from tests.sim.util import SCENARIOS
from tests.strategies.util import (
    NO_STRATEGIES,
    assert_budget_binds,
    assert_params_stored,
    assert_refused,
    assert_refused_at_load,
    budget,
    finish,
    id_source,
    small_model,
    with_and_without,
)

PATH = SCENARIOS / "referral.yaml"
REFERRED = 2  # id source of prospects brought by the first strategy listed (sim.streams)
build = partial(small_model, PATH)


def test_more_prospects_and_acquisitions_against_the_same_seed() -> None:
    model, without = with_and_without(build)
    df, df0 = finish(model), finish(without)
    referred = df.strategy_referral_funded.iloc[1:]
    np.testing.assert_array_equal(df.arrivals.iloc[1:] - df0.arrivals.iloc[1:], referred)
    # seed 20201, 10,000 customers: about 20 referred prospects a month
    assert referred.min() > 0 and referred.sum() > 300
    assert (df.prospects.iloc[1:] > df0.prospects.iloc[1:]).all()
    # everyone else's draws are shared, so every extra acquisition is a referred prospect's
    extra = df.acquired.iloc[1:] - df0.acquired.iloc[1:]
    assert (extra >= 0).all()
    # 141 of 483: prospects convert at 5% a month (baseline.yaml), late referrals not yet
    assert extra.sum() > 0.2 * referred.sum()
    pop = model.population  # the referred prospects go through the usual acquisition
    from_referral = id_source(pop.id) == REFERRED
    assert 0 < (from_referral & model.is_customer()).sum() <= extra.sum()
    assert df.customers.iloc[-1] > df0.customers.iloc[-1]
    np.testing.assert_allclose(df.cost_strategy_referral, df.strategy_referral_funded * 100.0)


def test_referral_rate_is_tells_over_twelve_times_conversion() -> None:
    model = build("strategies.0.holdout=0", "strategies.0.params.deterrence_per_mention=0")
    pop = model.population
    stage = np.asarray(model.stage_names)[pop.stage]
    satisfied = np.isin(stage, ["growth", "maturity"]) & (pop.satisfaction >= 0.8)
    df = finish(model, 1)
    chance = 3 / 12 * 0.05
    expected, sd = satisfied.sum() * chance, np.sqrt(satisfied.sum() * chance * (1 - chance))
    assert abs(df.strategy_referral_funded.iloc[1] - expected) < 4 * sd


def test_bad_word_of_mouth_cancels_referrals_but_never_below_zero() -> None:
    default = finish(build()).strategy_referral_funded.iloc[1:]
    no_deterrence = finish(build("strategies.0.params.deterrence_per_mention=0"))
    unchecked = no_deterrence.strategy_referral_funded.iloc[1:]
    assert (unchecked >= default).all() and unchecked.sum() > 1.2 * default.sum()
    # most customers dissatisfied, each putting a would-be prospect off 94% of the time
    gloomy = finish(build("strategies.0.params.dissatisfied_below=0.8",
                          "strategies.0.params.deterrence_per_mention=1"))
    assert (gloomy.strategy_referral_funded == 0).all()
    assert (gloomy.cost_strategy_referral == 0).all()


def test_budget_is_never_exceeded() -> None:
    df = finish(build(*budget(1000, 12_000)))
    used_up = assert_budget_binds(df, "referral", 1000, 12_000)  # it binds (100 CNY a referral)
    # an unrewarded referral does not happen: arrivals fall back to the market's own
    df0 = finish(build(NO_STRATEGIES))
    np.testing.assert_array_equal(df.arrivals[used_up], df0.arrivals[used_up])


@pytest.mark.parametrize("params", [
    {"tells_satisfied": -1.0}, {"satisfied_above": 1.1}, {"reward": -100.0},
    {"conversion_per_mention": 1.5}, {"deterrence_per_mention": float("nan")},
    {"dissatisfied_below": 0.9},  # above satisfied_above (0.8)
    {"tells_satisfied": 24.0, "conversion_per_mention": 0.6},  # 24 / 12 × 0.6 > 1 a month
])
def test_bad_parameters_are_refused(params: dict[str, object]) -> None:
    match = "at most one prospect" if len(params) > 1 else next(iter(params))
    assert_refused(Referral, params, match=match)


def test_bad_parameters_fail_at_load_time() -> None:
    assert_refused_at_load(PATH, "strategies.0.params.reward=-1",
                           match=r"strategies\.0\.params.*reward")


def test_defaults_cite_the_documents_and_parameters_are_stored_as_given() -> None:
    r = Referral()
    assert (r.tells_satisfied, r.tells_dissatisfied) == (3.0, 11.3)  # DOMAIN §4
    params = {"tells_satisfied": 3, "tells_dissatisfied": 10, "satisfied_above": 0.9,
              "dissatisfied_below": 0.4, "conversion_per_mention": 0.1,
              "deterrence_per_mention": 0.0, "reward": 0}
    assert_params_stored(Referral, params)
