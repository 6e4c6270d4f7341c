"""decline_response: rescue, respond and improve keep declining customers; abandon saves."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pytest

from sim.model import LifecycleModel
from strategies.decline_response import DeclineResponse
from tests.strategies.util import (
    advance,
    assert_refused,
    assert_within_budget,
    churned,
    finish,
    scaled_model,
    strategy_spec,
    values_by_id,
)

SIZE = 20_000
MONTHS = 12
build = partial(scaled_model, SIZE, horizon_months=MONTHS)
respond_to = partial(strategy_spec, "decline_response")  # no target: every customer


def declining_by_segment(model: LifecycleModel) -> dict[str, np.ndarray]:
    """Ids of month-0 customers in decline, by class."""
    pop = model.population
    declining = model.is_customer() & (pop.stage == model.stage_names.index("decline"))
    return {s: pop.id[declining & (pop.segment == i)] for i, s in enumerate("ABCD")}


def test_each_response_keeps_more_of_its_class_than_no_response() -> None:
    with_it = build(path="decline_response.yaml")
    without = build(path="decline_response.yaml", strategies=[])
    groups = declining_by_segment(with_it)
    advance(with_it, without, months=MONTHS)
    lost = {s: (churned(with_it, ids), churned(without, ids)) for s, ids in groups.items()}
    assert len(groups["B"]) > 300
    assert lost["B"][0] < 0.85 * lost["B"][1]  # rescue (seed 20201: 82 vs 102)
    assert lost["A"][0] < 0.85 * lost["A"][1]  # respond (324 vs 414)
    assert lost["C"][0] <= lost["C"][1]        # improve (53 vs 55: few customers) ...
    base_w, base_wo = (values_by_id(m, "satisfaction_base", customers_only=False)
                       for m in (with_it, without))
    lift = [base_w[i] - base_wo[i] for i in groups["C"].tolist() if i in base_w and i in base_wo]
    assert np.mean(lift) > 0.03                # ... by a lasting rise in satisfaction
    df = with_it.monthly_frame()
    for kind in DeclineResponse.cost_kinds:
        assert df[f"strategy_decline_response_cost_{kind}"].sum() > 0, kind


def test_abandoned_class_is_left_exactly_as_without_the_strategy() -> None:
    # the response is the only difference, and draws are keyed per customer:
    # until the first quarterly review re-classes anyone, D's paths are identical
    with_it, without = build([respond_to()]), build([])
    d = declining_by_segment(with_it)["D"]
    advance(with_it, without, months=2)
    rows_w, rows_wo = np.isin(with_it.population.id, d), np.isin(without.population.id, d)
    np.testing.assert_array_equal(with_it.population.id[rows_w], without.population.id[rows_wo])
    for column in ("stage", "satisfaction", "aum", "contacts", "yield_bump_bp"):
        np.testing.assert_array_equal(getattr(with_it.population, column)[rows_w],
                                      getattr(without.population, column)[rows_wo])
    assert with_it.monthly_frame().cost_strategy_decline_response.sum() > 0


def test_rescue_bumps_the_yield_for_rescue_months_and_pays_for_it() -> None:
    model = build([respond_to({"response_by_segment": {"B": "rescue"}, "rescue_months": 3})])
    pop = model.population
    b = declining_by_segment(model)["B"]
    model.step()
    rescued = np.isin(pop.id, b) & (pop.cohort_decline_response == 1) & (pop.yield_bump_bp > 0)
    assert rescued.sum() > 0.8 * len(b)  # all but the held out, churned and recovered
    assert (pop.yield_bump_bp[rescued] == 20).all() and (pop.contacts[rescued] == 1).all()
    m = model.monthly_frame().iloc[-1]
    assert m.strategy_decline_response_cost_rescue_visit == pytest.approx(
        300.0 * (pop.contacts > 0).sum())
    assert m.strategy_decline_response_cost_yield_bump == pytest.approx(
        float(pop.aum[pop.yield_bump_bp > 0].sum()) * 20 / 10_000 / 12, rel=0.05)
    ids = pop.id[rescued]
    for month in (2, 3, 4, 5):
        model.step()
        rows = np.isin(pop.id, ids) & (pop.stage == model.stage_names.index("decline"))
        assert rows.sum() > 0.5 * len(ids)
        # the bump lasts rescue_months while they decline; no second visit before the cooldown
        assert (pop.yield_bump_bp[rows] == (20 if month <= 3 else 0)).all()
        assert (pop.contacts[rows] == 0).all()


def test_budget_is_never_exceeded() -> None:
    budget = {"monthly": 20_000.0, "total": 150_000.0, "priority": "least_satisfied"}
    cost = finish(build([respond_to(budget=budget)]), MONTHS).cost_strategy_decline_response
    assert_within_budget(cost, budget["monthly"], budget["total"])
    assert cost.sum() == pytest.approx(budget["total"], rel=0.02)  # it binds


def test_a_lifecycle_without_decline_is_left_alone() -> None:
    df = finish(build([respond_to()], path="four_stage.yaml"), 3)
    assert df.cost_strategy_decline_response.sum() == 0
    assert df.strategy_decline_response_targeted.iloc[-1] > 0


@pytest.mark.parametrize(("params", "message"), [
    ({"response_by_segment": {"B": "pray"}}, "unknown response 'pray'"),
    ({"response_by_segment": {"E": "rescue"}}, "unknown segment 'E'"),
    ({"response_by_segment": ["rescue"]}, "must be a mapping"),
    ({"cooldown_months": 0}, "cooldown_months"),
    ({"rescue_months": 2.5}, "rescue_months"),
    ({"rescue_yield_bump_bp": -20}, "rescue_yield_bump_bp"),
    ({"rescue_satisfaction_boost": 1.5}, "rescue_satisfaction_boost"),
    ({"respond_cost": float("inf")}, "respond_cost"),
])
def test_invalid_parameters_are_refused(params: dict[str, Any], message: str) -> None:
    assert_refused(DeclineResponse, params, match=message)
