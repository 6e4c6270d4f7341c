"""Channels in the monthly step (issue 4): queues, RM capacity, complaints, costs, sampling.

The branch day itself (Erlang C, time of day, sampling against every day) is
validated in ``test_branch_day.py``; these tests check the integration.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim.branch_day import BranchDay, day_totals, draw_visits, simulate_visits
from sim.day_sampling import day_generators
from sim.model import LifecycleModel
from sim.scenario import ScenarioError, read_scenario_dict, scenario_from_dict
from sim.schema import Scenario
from tests.sim.util import SCENARIOS, scaled

BRANCHES = SCENARIOS / "branches.yaml"


def one_branch(size: int = 15_000, **changes: Any) -> Scenario:
    """The branches scenario shrunk to one branch at the shipped bank's load per branch."""
    return scaled(BRANCHES, size, population__branches=1, **changes)


def run(scenario: Scenario, months: int) -> tuple[LifecycleModel, pd.DataFrame]:
    model = LifecycleModel(scenario)
    for _ in range(months):
        model.step()
    return model, model.monthly_frame().iloc[1:]


def test_channels_with_nothing_to_do_leave_the_model_exactly_as_before() -> None:
    """No visits, no costs, no effects and the same RM hours: the no-channels run, bit for bit.

    One branch, so that its RMs' pool is the bank's pool.
    """
    data = read_scenario_dict(SCENARIOS / "outreach.yaml")
    data["population"].update(size=3_000, prospects=500, branches=1)
    plain = scenario_from_dict(data)
    data["channels"] = {
        "default": {"tellers": 1, "teller_service": {"mean_minutes": 5.0},
                    "relationship_managers": 30, "rm_hours_per_month": 140.0},
        "visits_per_customer_month": {},
    }
    with_channels = scenario_from_dict(data)
    _, a = run(plain, 6)
    _, b = run(with_channels, 6)
    shared = [c for c in a.columns if c in b.columns]
    pd.testing.assert_frame_equal(a[shared], b[shared])
    assert b.channels_visits.eq(0).all() and b.channels_rm_minutes.eq(60 * 4200).all()


@pytest.fixture(scope="module")
def by_tellers() -> dict[int, pd.DataFrame]:
    return {t: run(one_branch(channels__default__tellers=t), 6)[1] for t in (2, 3, 4, 6)}


def test_adding_tellers_never_raises_the_mean_wait(by_tellers: dict[int, pd.DataFrame]) -> None:
    """Same seed, integrated model: every month's mean wait falls (or stays) with each teller."""
    waits = pd.DataFrame({t: df.channels_mean_wait.to_numpy() for t, df in by_tellers.items()})
    assert (waits.diff(axis=1).iloc[:, 1:] <= 1e-12).all().all(), waits
    assert waits[2].mean() > 2 * waits[6].mean()  # a real effect, not all zeros
    util = pd.DataFrame({t: df.channels_teller_utilisation.to_numpy()
                         for t, df in by_tellers.items()})
    assert (util.diff(axis=1).iloc[:, 1:] < 0).all().all()


def test_doubling_outreach_beyond_rm_capacity_does_not_raise_delivered_contacts() -> None:
    rm = {"channels__default__relationship_managers": 1, "population__branches": 1}
    frames = {}
    for calls in (1, 2):
        plan = {"phone": calls, "sms": 0, "push": 0, "visit": 0}
        scenario = scaled(SCENARIOS / "smart_devices.yaml", 20_000, **rm,
                          strategies=[{"name": "outreach",
                                       "params": {"contacts_per_month": plan},
                                       "target": {"segments": ["A", "B"]}}])
        frames[calls] = run(scenario, 3)[1]
    requested = {c: f.strategy_outreach_contacts_requested for c, f in frames.items()}
    delivered = {c: f.strategy_outreach_contacts_delivered for c, f in frames.items()}
    assert (delivered[1] < requested[1]).all()  # RM hours bind already
    assert (requested[2] > 1.5 * requested[1]).all()
    assert (delivered[2] <= delivered[1]).all()
    assert frames[1].channels_rm_utilisation.gt(0.99).all()
    # 1 RM × 140 h = 8,400 minutes = 840 ten-minute calls a month
    assert (delivered[1] <= 840).all()


def test_each_branch_s_rms_serve_only_that_branch() -> None:
    """A branch without RMs delivers no calls; the others deliver up to their own hours."""
    scenario = scaled(SCENARIOS / "smart_devices.yaml", 20_000, population__branches=3,
                      channels__branches={1: {"relationship_managers": 0}},
                      channels__default__relationship_managers=1)
    _, df = run(scenario, 2)
    assert df.branch1_contacts_requested.gt(0).all() and df.branch1_contacts_delivered.eq(0).all()
    for b in (0, 2):
        assert df[f"branch{b}_contacts_delivered"].between(1, 840).all()  # 140 h / 10 min
        assert df[f"branch{b}_rm_utilisation"].gt(0.99).all()
    delivered = df[[f"branch{b}_contacts_delivered" for b in range(3)]].sum(axis=1)
    np.testing.assert_allclose(delivered, df.strategy_outreach_contacts_delivered)
    np.testing.assert_allclose(delivered, df.channels_contacts_delivered)


def test_complaints_follow_bad_experiences_and_late_handling() -> None:
    certain = {"channels__complaints__prob_after_long_wait": 1.0,
               "channels__complaints__prob_after_balk": 1.0,
               "channels__default__tellers": 2}
    model, df = run(one_branch(**certain, channels__complaints__handler_hours_per_month=0.0), 3)
    pop = model.population
    long_wait = (pop.wait_minutes > 10.0)
    assert df.channels_complaints.iloc[-1] == long_wait.sum() > 0
    # nobody handles complaints: all are late and the backlog holds them all
    assert df.channels_complaints_late.sum() == df.channels_complaints.sum()
    assert df.channels_complaints_backlog.iloc[-1] == df.channels_complaints.sum()
    np.testing.assert_array_equal(pop.complaints[long_wait], 2.0)  # late counts 1 + late_weight
    _, quick = run(one_branch(**certain, channels__complaints__handler_hours_per_month=1e5), 3)
    assert quick.channels_complaints.sum() > 0 and quick.channels_complaints_late.eq(0).all()
    _, none = run(one_branch(channels__default__tellers=2,
                             channels__complaints__prob_after_long_wait=0.0,
                             channels__complaints__prob_after_balk=0.0,
                             channels__complaints__prob_after_failed_contact=0.0), 3)
    assert none.channels_complaints.eq(0).all()


def test_staff_costs_are_booked_per_head() -> None:
    _, df = run(scaled(BRANCHES, 3_000), 2)
    branches, cost = 10, read_scenario_dict(BRANCHES)["channels"]["staff_cost"]
    assert df.cost_staff_teller.eq(branches * 3 * cost["teller"]).all()
    assert df.cost_staff_relationship_manager.eq(branches * 3 * cost["relationship_manager"]).all()
    assert df.cost_machines_vtm.eq(branches * 2 * cost["vtm"]).all()
    assert df.cost_online_platform.eq(cost["online_platform"]).all()


def test_branch_metrics_add_up_to_the_bank() -> None:
    _, df = run(scaled(BRANCHES, 5_000, population__branches=3), 2)
    for name in ("visits", "balks", "reneges", "complaints", "contacts_requested",
                 "contacts_delivered"):
        parts = df[[f"branch{b}_{name}" for b in range(3)]].sum(axis=1)
        np.testing.assert_allclose(parts, df[f"channels_{name}"])
    assert df.channels_visits.gt(0).all()


def test_cached_sampled_days_match_full_simulation_of_the_month() -> None:
    """The integrated estimate (k cached days at a bucketed load) against all 22 days.

    The tolerance is the stated error of a k-day ratio estimate plus the full
    month's own error (docs/channels.md), at four standard errors, for teller
    utilisation and mean wait.
    """
    model, df = run(one_branch(20_000), 1)
    cfg = model.channels.configs[0]
    visits = df.branch0_visits.iloc[0]
    ((pool_key, _),) = model.channels.pools._cache.values()  # (the simulated day, its pool)
    exact = pool_key.model_copy(update={"visits_per_day": visits / 22})
    assert abs(pool_key.visits_per_day / exact.visits_per_day - 1) <= 0.0101  # bucket ≤ 1%
    rows = np.array([day_totals(exact, simulate_visits(exact, draw_visits(exact, g)))
                     for g in day_generators(np.random.default_rng(7), 22)[:22]])
    col = dict(zip(("visits", "joined", "balked", "reneged", "t", "m", "wait", "o5", "o10",
                    "busy", "cap", "mbusy", "mcap"), rows.T, strict=True))
    k = model.scenario.channels.sampled_days
    for metric, num, den in (("teller_utilisation", "busy", "cap"),
                             ("mean_wait", "wait", "joined")):
        full = col[num].sum() / col[den].sum()
        spread = np.std(col[num] - full * col[den], ddof=1) / col[den].mean()
        se = spread * np.sqrt(1 / k + 1 / 22)
        assert abs(df[f"branch0_{metric}"].iloc[0] - full) <= 4 * se, (metric, full)
    assert isinstance(cfg.tellers, int) and isinstance(exact, BranchDay)


def test_squeezing_tellers_shows_in_waits_complaints_and_satisfaction() -> None:
    _, base = run(scaled(BRANCHES, 20_000, population__branches=1), 6)
    _, squeeze = run(scaled(SCENARIOS / "branch_squeeze.yaml", 20_000, population__branches=1), 6)
    assert squeeze.channels_mean_wait.mean() > 2 * base.channels_mean_wait.mean()
    assert squeeze.channels_complaints.sum() > 2 * base.channels_complaints.sum()
    assert squeeze.mean_satisfaction.iloc[-1] < base.mean_satisfaction.iloc[-1]
    assert squeeze.cost_staff_teller.iloc[0] < base.cost_staff_teller.iloc[0]


@pytest.mark.parametrize(("change", "where"), [
    ({"visits_per_customer_month": {"counter": 1.0}}, "unknown channel 'counter'"),
    ({"sampled_days": 30}, "sampled_days"),
    ({"branches": {12: {"tellers": 2}}}, "channels.branches.12"),
    ({"default": {"tellers": 0}}, "channels.default.tellers"),
    ({"default": {"vtms": 2, "vtm_service": None}}, "vtm_service"),
])
def test_bad_channel_settings_are_refused_with_their_path(change: dict[str, Any],
                                                          where: str) -> None:
    data = read_scenario_dict(BRANCHES)
    for key, value in change.items():
        if isinstance(value, dict) and key == "default":
            data["channels"]["default"].update(value)
        else:
            data["channels"][key] = value
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data, "branches.yaml")
    assert where in str(info.value)


def test_contacts_the_rms_could_not_make_can_lead_to_complaints() -> None:
    """Every customer outreach wanted but the RMs could not call complains (probability 1)."""
    scenario = scaled(SCENARIOS / "smart_devices.yaml", 20_000, population__branches=1,
                      channels__default__relationship_managers=1,
                      channels__complaints__prob_after_long_wait=0.0,
                      channels__complaints__prob_after_balk=0.0,
                      channels__complaints__prob_after_failed_contact=1.0)
    model, df = run(scenario, 1)
    failed = int((model.population.contacts_failed > 0).sum())
    requested = df.strategy_outreach_contacts_requested.iloc[0]
    delivered = df.strategy_outreach_contacts_delivered.iloc[0]
    assert failed == requested - delivered > 0  # one call each
    assert df.channels_complaints.iloc[0] == failed


def test_without_vtms_self_service_users_queue_for_a_teller() -> None:
    model, df = run(one_branch(channels__default__vtms=0, channels__default__tellers=2), 1)
    pop = model.population
    self_service = pop.channel == model.channel_names.index("self_service")
    assert df.channels_machine_utilisation.eq(0).all()
    assert (pop.wait_minutes[self_service] > 0).mean() > 0.05


def test_active_customers_visit_more_and_each_group_keeps_its_mean() -> None:
    model = LifecycleModel(scaled(BRANCHES, 20_000, horizon_months=1))
    model.step()
    pop = model.population
    branch_users = model.is_customer() & (pop.channel == model.channel_names.index("branch"))
    visited = pop.wait_minutes > 0
    active = pop.activity_rate > np.median(pop.activity_rate[branch_users])
    share_active = visited[branch_users & active].mean()
    share_quiet = visited[branch_users & ~active].mean()
    assert share_active > share_quiet
    visits = model.metrics["channels_visits"]
    rates = model.scenario.channels.visits_per_customer_month
    counts = {c: (model.is_customer() & (pop.channel == i)).sum()
              for i, c in enumerate(model.channel_names)}
    expected = sum(rates.get(c, 0.0) * n for c, n in counts.items())
    assert abs(visits - expected) < 5 * np.sqrt(expected)


@pytest.mark.parametrize(("capacity", "fails"), [(None, False), (1_000.0, True)])
def test_online_overload_fails_sessions_and_feels_like_waiting(capacity, fails) -> None:
    data = read_scenario_dict(BRANCHES)
    data["population"].update(size=5_000, prospects=800)
    data["market"]["prospect_arrivals_per_month"] = 80
    data["channels"]["online"] = {"capacity_sessions_per_month": capacity,
                                  "failure_perceived_wait_minutes": 12.0}
    model = LifecycleModel(scenario_from_dict(data))
    model.step()
    m, pop = model.metrics, model.population
    online = model.is_customer() & (pop.channel == model.channel_names.index("online"))
    # failed sessions happen before transitions: count customers who churned since, too
    failed = (pop.channel == model.channel_names.index("online")) & (pop.wait_minutes == 12.0)
    assert m["channels_online_sessions"] > 1_000
    if fails:
        share = 1 - 1_000 / m["channels_online_sessions"]
        assert m["channels_online_utilisation"] == 1.0
        assert m["channels_online_failed"] == failed.sum()
        assert abs(failed.mean() / online.mean() - share) < 0.1
    else:
        assert m["channels_online_failed"] == 0 and not failed.any()


@pytest.mark.parametrize("fraction", [0.9, 0.0, 0.5, 0.37, 1.0])
def test_the_joined_wait_quantile_is_numpy_s_quantile_of_the_visitors_waits(
        fraction: float) -> None:
    """The bank's 90th-percentile wait counted from the pooled visits the visitors picked
    is the same float as ``np.quantile`` of their waits: ties, balks, empty segments."""
    from sim import kernels

    rng = np.random.default_rng(int(fraction * 100))
    for trial in range(300):
        size = int(rng.integers(0, 40))
        pool_wait = np.round(rng.exponential(4.0, size), int(rng.integers(0, 3)))  # ties
        pool_wait[rng.random(size) < 0.4] = 0.0
        pool_balked = rng.random(size) < 0.15
        pool_wait[pool_balked] = 0.0
        picked = rng.integers(0, size + 1, int(rng.integers(0, 60)))  # size: an empty segment
        wait = np.append(pool_wait, 0.0)[picked]
        balked = np.append(pool_balked, False)[picked]
        joined = wait[~balked]
        expected = float(np.quantile(joined, fraction)) if joined.size else 0.0
        got = kernels.joined_wait_quantile(pool_wait, pool_balked, picked, fraction)
        assert got == expected, trial
