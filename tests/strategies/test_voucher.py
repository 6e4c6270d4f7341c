"""Vouchers raise B-class AUM, cost only on redemption, and respect their budget."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.model import LifecycleModel
from sim.scenario import ScenarioError, load_scenario
from strategies.voucher import Voucher
from tests.sim.util import SCENARIOS

SMALL = ["population.size=20000", "population.prospects=3500",
         "market.prospect_arrivals_per_month=315", "horizon_months=12"]


def run(*overrides: str) -> tuple[LifecycleModel, pd.DataFrame]:
    model = LifecycleModel(load_scenario(SCENARIOS / "voucher.yaml", [*SMALL, *overrides]))
    for _ in range(model.scenario.horizon_months):
        model.step()
    return model, model.monthly_frame()


def b_class_aum(model: LifecycleModel) -> float:
    pop = model.population
    cohort = pop.cohort_voucher == 1
    return float(pop.aum[cohort & model.is_customer()].sum())


def test_vouchers_raise_b_class_aum_against_the_same_seed_without_them() -> None:
    with_it, df = run()
    without, _ = run("strategies=[]")
    treated_ids = with_it.population.id[with_it.population.cohort_voucher == 1]
    rows = np.isin(without.population.id, treated_ids) & without.is_customer()
    assert b_class_aum(with_it) > 1.05 * float(without.population.aum[rows].sum())
    assert df.strategy_voucher_funded.sum() > 0


def test_cost_only_on_redemption() -> None:
    _, df = run()
    np.testing.assert_allclose(df.cost_strategy_voucher, df.strategy_voucher_funded * 500.0)


def test_budget_is_never_exceeded() -> None:
    _, df = run("strategies.0.budget.monthly=20000", "strategies.0.budget.total=150000")
    assert (df.cost_strategy_voucher <= 20_000 + 1e-6).all()
    assert df.cost_strategy_voucher.sum() <= 150_000 + 1e-6
    assert df.cost_strategy_voucher.sum() >= 150_000 - 500  # budget really used up


def test_hold_out_is_never_treated() -> None:
    model, _ = run()
    last = model.population.columns()["voucher__last_redeemed"]
    control = model.population.cohort_voucher == 2
    assert control.sum() > 0
    assert (last[control] < 0).all()


@pytest.mark.parametrize("params", ["{threshold: -1}", "{base_redemption: 1.5}"])
def test_bad_parameters_fail_at_load_time(params: str) -> None:
    with pytest.raises(ScenarioError, match=r"strategies\.0\.params"):
        load_scenario(SCENARIOS / "voucher.yaml", [f"strategies.0.params={params}"])


def test_defaults_cite_the_documents() -> None:
    v = Voucher()
    assert (v.threshold, v.face_value) == (100_000.0, 500.0)  # DOMAIN §2
