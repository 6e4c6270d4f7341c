"""Vouchers raise B-class AUM, cost only on redemption, and respect their budget."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from sim.model import LifecycleModel
from strategies.voucher import Voucher
from tests.sim.util import SCENARIOS
from tests.strategies.util import (
    assert_refused_at_load,
    assert_within_budget,
    budget,
    customers_among,
    finish,
    small,
    small_model,
    with_and_without,
)

PATH = SCENARIOS / "voucher.yaml"
build = partial(small_model, PATH, base=small(20_000, 3_500, 315, months=12))


def b_class_aum(model: LifecycleModel) -> float:
    pop = model.population
    cohort = pop.cohort_voucher == 1
    return float(pop.aum[cohort & model.is_customer()].sum())


def test_vouchers_raise_b_class_aum_against_the_same_seed_without_them() -> None:
    with_it, without = with_and_without(build)
    df = finish(with_it)
    finish(without)
    treated_ids = with_it.population.id[with_it.population.cohort_voucher == 1]
    rows = customers_among(without, treated_ids)
    assert b_class_aum(with_it) > 1.05 * float(without.population.aum[rows].sum())
    assert df.strategy_voucher_funded.sum() > 0


def test_cost_only_on_redemption() -> None:
    df = finish(build())
    np.testing.assert_allclose(df.cost_strategy_voucher, df.strategy_voucher_funded * 500.0)


def test_budget_is_never_exceeded() -> None:
    df = finish(build(*budget(20_000, 150_000)))
    assert_within_budget(df.cost_strategy_voucher, 20_000, 150_000)
    assert df.cost_strategy_voucher.sum() >= 150_000 - 500  # budget really used up


def test_hold_out_is_never_treated() -> None:
    model = build()
    finish(model)
    last = model.population.columns()["voucher__last_redeemed"]
    control = model.population.cohort_voucher == 2
    assert control.sum() > 0
    assert (last[control] < 0).all()


@pytest.mark.parametrize("params", ["{threshold: -1}", "{base_redemption: 1.5}"])
def test_bad_parameters_fail_at_load_time(params: str) -> None:
    assert_refused_at_load(PATH, f"strategies.0.params={params}", match=r"strategies\.0\.params")


def test_defaults_cite_the_documents() -> None:
    v = Voucher()
    assert (v.threshold, v.face_value) == (100_000.0, 500.0)  # DOMAIN §2
