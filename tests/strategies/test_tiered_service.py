"""tiered_service: DOMAIN §3's standards per AUM tier are delivered, paid and felt."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pytest

from strategies.tiered_service import TieredService
from tests.strategies.util import (
    assert_refused,
    assert_within_budget,
    run_months,
    run_with_and_without,
    strategy_spec,
    values_by_id,
)

SIZE = 20_000
RICH = ["200k_1m", "1m_5m", "5m_6m", "private"]
run = partial(run_months, SIZE)


def service(params: dict[str, Any] | None = None, budget: dict[str, Any] | None = None
            ) -> dict[str, Any]:
    return strategy_spec("tiered_service", params, budget, tiers=RICH)


def test_standards_raise_satisfaction_and_contacts_against_the_same_seed() -> None:
    with_it, without = run_with_and_without(SIZE, 12, "tiered_service.yaml")
    df, base = with_it.monthly_frame(), without.monthly_frame()
    assert df.strategy_tiered_service_contacts_delivered.sum() > 0
    assert (df.contacts.iloc[1:] > base.contacts.iloc[1:]).all()
    # salons and president visits lift the long-run satisfaction of the customers served
    pop = with_it.population
    served = pop.id[(pop.cohort_tiered_service == 1) & with_it.is_customer()]
    after = values_by_id(with_it, "satisfaction_base")
    before = values_by_id(without, "satisfaction_base")
    common = [i for i in served.tolist() if i in before]
    lift = np.array([after[i] - before[i] for i in common])
    assert len(common) > 500
    assert (lift >= -1e-12).all() and lift.mean() > 0.01
    assert df.churned.sum() < base.churned.sum()


def test_month_one_delivers_each_tiers_standard() -> None:
    model = run(0, [service()])
    pop = model.population
    tier = pop.tier.copy()
    model.step()
    n = len(tier)
    treated = (pop.cohort_tiered_service == 1)[:n]
    contacts = pop.contacts[:n]
    for name in RICH:
        rows = treated & (tier == model.tier_names.index(name))
        # 2 RM contacts + 4 SMS, plus a salon or a president visit if one fell this month
        assert ((contacts[rows] >= 6) & (contacts[rows] <= 8)).all()
    assert treated.sum() > 500 and (contacts[~treated] == 0).all()
    m = model.monthly_frame().iloc[-1]
    assert m.strategy_tiered_service_cost_contact == pytest.approx(5.0 * 2 * treated.sum())
    assert m.strategy_tiered_service_cost_sms == pytest.approx(0.05 * 4 * treated.sum())


def test_yearly_events_happen_at_per_year_over_twelve() -> None:
    df = run(12, [service({"salons_per_year": {name: 6 for name in RICH}})]).monthly_frame()
    salons = df.strategy_tiered_service_cost_salon.sum() / 200.0
    served = df.strategy_tiered_service_treated.sum()
    assert salons / served == pytest.approx(0.5, abs=0.03)
    assert df.strategy_tiered_service_cost_gift.sum() > 0


def test_contacts_need_rm_hours() -> None:
    # 50 RM hours = 3,000 minutes = 150 customers × 2 contacts × 10 minutes
    df = run(2, [service()], capacity__rm_hours_per_month=50).monthly_frame().iloc[1:]
    assert (df.strategy_tiered_service_cost_contact == 5.0 * 300).all()
    assert (df.strategy_tiered_service_contacts_requested
            > df.strategy_tiered_service_contacts_delivered + 1000).all()


def test_budget_is_never_exceeded() -> None:
    budget = {"monthly": 5_000.0, "total": 40_000.0}
    df = run(12, [service(budget=budget)]).monthly_frame()
    cost = df.cost_strategy_tiered_service
    assert_within_budget(cost, budget["monthly"], budget["total"])
    assert cost.sum() == pytest.approx(budget["total"], rel=0.02)  # it binds


@pytest.mark.parametrize(("params", "message"), [
    ({"salons_per_year": {"200k_1m": 13}}, "salons_per_year.200k_1m"),
    ({"gifts_per_year": {"1m_5m": -1}}, "gifts_per_year.1m_5m"),
    ({"contacts_per_month": 2}, "must be a mapping"),
    ({"salon_cost": -200}, "salon_cost"),
    ({"gift_satisfaction_bump": 2.0}, "gift_satisfaction_bump"),
    ({"contact_rm_minutes": None}, "contact_rm_minutes"),
])
def test_invalid_parameters_are_refused(params: dict[str, Any], message: str) -> None:
    assert_refused(TieredService, params, match=message)


def test_tier_missing_from_the_scenario_is_refused_at_load_time() -> None:
    from sim.scenario import ScenarioError

    with pytest.raises(ScenarioError, match=r"strategies\.0\.params: salons_per_year names "
                       r"unknown AUM tier\(s\) \['gold'\]"):
        run(1, [service({"salons_per_year": {"gold": 2}})])
