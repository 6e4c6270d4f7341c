"""outreach: contacts by channel lower churn, cost what they should, and can annoy."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pytest

from strategies.outreach import Outreach
from tests.strategies.util import (
    assert_refused,
    assert_within_budget,
    run_months,
    run_with_and_without,
    strategy_spec,
)

SIZE = 10_000
run = partial(run_months, SIZE)
outreach = partial(strategy_spec, "outreach")


def test_outreach_lowers_churn_against_the_same_seed_without_it() -> None:
    with_it, without = (m.monthly_frame() for m in run_with_and_without(SIZE, 24, "outreach.yaml"))
    delivered = with_it.strategy_outreach_contacts_delivered.sum()
    assert delivered > 0
    assert with_it.contacts.iloc[1:].sum() > without.contacts.iloc[1:].sum() + 0.99 * delivered
    # log(1 + contacts) lowers decline and churn: fewer customers lost, more kept
    assert with_it.churned.sum() < 0.93 * without.churned.sum()
    assert with_it.customers.iloc[-1] > without.customers.iloc[-1]
    booked = with_it[[f"strategy_outreach_cost_{k}" for k in Outreach.cost_kinds]].sum(axis=1)
    np.testing.assert_allclose(booked, with_it.cost_strategy_outreach)


def test_each_customer_gets_the_plan_of_its_segment_and_tier() -> None:
    model = run(0, [outreach(
        {"contacts_per_month": {"phone": 1, "sms": 4, "push": 1},
         "by_segment": {"D": {"phone": 0, "sms": 0, "push": 4}},
         "by_tier": {"200k_1m": {"phone": 2, "push": 0}}},
        segments=["C", "D"])])
    pop = model.population
    segment, tier = pop.segment.copy(), pop.tier.copy()
    model.step()
    treated = (pop.cohort_outreach == 1)[: len(segment)]
    contacts = pop.contacts[: len(segment)]
    rich = tier == model.tier_names.index("200k_1m")
    d, c = segment == 3, segment == 2
    assert (treated & d).sum() > 100 and (treated & c & rich).sum() > 10
    assert (contacts[treated & d] == 4).all()          # push only
    assert (contacts[treated & c & ~rich] == 6).all()  # 1 call + 4 SMS + 1 push
    assert (contacts[treated & c & rich] == 6).all()   # 2 calls + 4 SMS
    assert (contacts[~treated] == 0).all()
    m = model.monthly_frame().iloc[-1]
    phone_calls = (treated & c & ~rich).sum() + 2 * (treated & c & rich).sum()
    assert m.strategy_outreach_cost_phone == pytest.approx(5.0 * phone_calls)
    assert m.strategy_outreach_cost_visit == 0


def test_fractional_rates_are_met_on_average() -> None:
    df = run(6, [outreach({"contacts_per_month": {"visit": 0.25}})]).monthly_frame().iloc[1:]
    share = df.strategy_outreach_contacts_delivered.sum() / df.strategy_outreach_treated.sum()
    assert share == pytest.approx(0.25, abs=0.01)
    np.testing.assert_allclose(df.strategy_outreach_cost_visit,
                               100.0 * df.strategy_outreach_contacts_delivered)


def test_contacts_beyond_the_threshold_cost_satisfaction() -> None:
    plan = {"contacts_per_month": {"sms": 10}, "fatigue_threshold": 6}
    annoyed = run(6, [outreach({**plan, "fatigue_penalty": 0.02})]).monthly_frame()
    tolerant = run(6, [outreach({**plan, "fatigue_penalty": 0.0})]).monthly_frame()
    drop = (tolerant.mean_satisfaction - annoyed.mean_satisfaction).iloc[1:]
    assert (drop > 0.01).all()
    assert annoyed.churned.sum() > tolerant.churned.sum()


def test_phone_calls_stop_when_rm_hours_run_out() -> None:
    # 100 RM hours = 6,000 minutes = 300 customers × 2 calls × 10 minutes a month
    df = run(3, [outreach({"contacts_per_month": {"phone": 2}})],
             capacity__rm_hours_per_month=100).monthly_frame().iloc[1:]
    assert (df.strategy_outreach_contacts_requested > 10 * df.strategy_outreach_contacts_delivered
            ).all()
    assert (df.strategy_outreach_contacts_delivered == 600).all()
    np.testing.assert_allclose(df.strategy_outreach_cost_phone, 5.0 * 600)


@pytest.mark.parametrize("channel", ["phone", "sms"])
def test_budget_is_never_exceeded(channel: str) -> None:
    budget = {"monthly": 2_000.0, "total": 15_000.0, "priority": "random"}
    df = run(12, [outreach({"contacts_per_month": {channel: 4},
                            "cost_per_contact": {channel: 1.0}}, budget)]).monthly_frame()
    assert_within_budget(df.cost_strategy_outreach, budget["monthly"], budget["total"])
    delivered = df.strategy_outreach_contacts_delivered
    np.testing.assert_allclose(df[f"strategy_outreach_cost_{channel}"], 1.0 * delivered)
    assert df.cost_strategy_outreach.sum() == pytest.approx(15_000.0, rel=0.01)  # it binds


@pytest.mark.parametrize(("params", "message"), [
    ({"contacts_per_month": {"fax": 1}}, "unknown key"),
    ({"contacts_per_month": {"phone": -1}}, "contacts_per_month.phone"),
    ({"contacts_per_month": {"phone": True}}, "contacts_per_month.phone"),
    ({"contacts_per_month": [1, 2]}, "must be a mapping"),
    ({"by_segment": {"E": {"phone": 1}}}, "by_segment"),
    ({"by_tier": {"200k_1m": {"phone": float("nan")}}}, "by_tier.200k_1m.phone"),
    ({"rm_minutes_per_contact": {"sms": 1.0}}, "rm_minutes_per_contact"),
    ({"cost_per_contact": {"visit": -5}}, "cost_per_contact.visit"),
    ({"fatigue_penalty": 1.5}, "fatigue_penalty"),
    ({"fatigue_threshold": "six"}, "fatigue_threshold"),
])
def test_invalid_parameters_are_refused(params: dict[str, Any], message: str) -> None:
    assert_refused(Outreach, params, match=message)


def test_a_long_bad_value_is_shortened_in_the_message() -> None:
    """A 10,000-item list as contacts_per_month was repeated whole: a 50 KB 'one line'."""
    with pytest.raises(ValueError) as info:
        Outreach(contacts_per_month=list(range(10_000)))  # type: ignore[arg-type]
    assert "must be a mapping" in str(info.value) and len(str(info.value)) < 200
    with pytest.raises(ValueError) as info:
        Outreach(fatigue_threshold="x" * 5_000)  # type: ignore[arg-type]
    assert "fatigue_threshold" in str(info.value) and len(str(info.value)) < 200


def test_unknown_tier_is_refused_when_the_scenario_is_loaded() -> None:
    from sim.scenario import ScenarioError

    with pytest.raises(ScenarioError, match=r"strategies\.0\.params: by_tier names "
                       r"unknown AUM tier\(s\) \['gold'\]"):
        run(1, [outreach({"by_tier": {"gold": {"phone": 3}}})])


def test_defaults_round_trip() -> None:
    strategy = Outreach()
    assert Outreach(**strategy.get_params()).get_params() == strategy.get_params()
    assert strategy.contacts_per_month == {"phone": 2, "sms": 4, "push": 0, "visit": 0}
