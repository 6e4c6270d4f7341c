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


@pytest.mark.parametrize("params", [
    "{threshold: -1}", "{threshold: 0}", "{base_redemption: 1.5}", "{value_elasticity: -1}",
    # a reviewer's cases: NaN gave vouchers away without booking their cost; text crashed
    # a run after validate had passed it; a fraction of a month or a bool was accepted
    "{face_value: .nan}", "{face_value: abc}", "{satisfaction_bump: abc}",
    "{cooldown_months: 2.5}", "{threshold: true}",
])
def test_bad_parameters_fail_at_load_time(params: str) -> None:
    assert_refused_at_load(PATH, f"strategies.0.params={params}", match=r"strategies\.0\.params")


def test_defaults_cite_the_documents() -> None:
    v = Voucher()
    assert (v.threshold, v.face_value) == (100_000.0, 500.0)  # DOMAIN §2


def _funded(*overrides: str, months: int, size: int = 20_000) -> np.ndarray:
    base = small(size, round(3_500 * size / 20_000), 315 * size / 20_000, months=12)
    model = small_model(PATH, *overrides, base=base)
    return finish(model, months).strategy_voucher_funded.to_numpy()


def test_a_bigger_voucher_persuades_more_customers_less_than_in_proportion() -> None:
    """Month 1 (no one on cooldown yet): three times the value, √3 times the redemptions.

    The same seed draws the same uniforms, so 1,500's redeemers include 500's;
    the extra ones are about Poisson with mean 0.73 × the first count (~460
    here), so the ratio's standard error is about 0.04: the bounds are ±4 of it.
    """
    low, high = (_funded(f"strategies.0.params.face_value={v}", months=1, size=80_000)[-1]
                 for v in (500, 1500))
    assert low > 300
    assert 1.55 < high / low < 1.90  # √3 = 1.73


def test_value_elasticity_zero_makes_the_face_value_cost_only() -> None:
    """The model before the value effect: same redeemers at any face value, more cost."""
    plain = [_funded(f"strategies.0.params={{face_value: {v}, value_elasticity: 0}}", months=6)
             for v in (500, 1500)]
    np.testing.assert_array_equal(*plain)


def test_redemption_scale_is_the_documented_equation() -> None:
    assert Voucher().redemption_scale() == 0.10  # DOMAIN §2's voucher: base_redemption itself
    assert Voucher(face_value=2000).redemption_scale() == pytest.approx(0.10 * 4**0.5)
    assert Voucher(threshold=50_000).redemption_scale() == pytest.approx(0.10 * 2**0.5)
    assert Voucher(face_value=0).redemption_scale() == 0.0
    assert Voucher(face_value=1500, value_elasticity=1).redemption_scale() == pytest.approx(0.3)
