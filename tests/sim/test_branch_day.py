"""Validation of the branch day (issue 4 groundwork): Erlang C, common random numbers,
day sampling and the time-of-day arrival profile.

Tolerances come from the sample itself (batch means, Poisson errors, t
quantiles) at a false-alarm level of about 0.001 per check. One exception is
the day-sampling coverage check: its 0.90-0.99 band around the nominal 0.95 is
set wide because samples drawn from the same month overlap. The seeds are
fixed, so the file is deterministic. It runs in about 10 s.
"""

from __future__ import annotations

import heapq
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import simpy
from scipy import stats

from sim import erlang
from sim.branch_day import (
    DEFAULT_ARRIVAL_PROFILE,
    MACHINE,
    NOT_SERVED,
    TELLER,
    TOTALS,
    BranchDay,
    ServiceTime,
    Visits,
    day_metrics,
    draw_visits,
    load_arrival_profile,
    profile_weights,
    simulate_branch_day,
    simulate_visits,
)
from sim.day_sampling import estimate_from_days, estimate_month, simulate_month

SHARED_PROFILE = Path("/work/shared/data/bank_calls_halfhour_profile.csv")
T_ALPHA = 0.0005  # one tail of a two-sided check at 0.001


def mmc_branch(arrivals_per_minute: float, mean_service: float, tellers: int, hours: float):
    """A branch that is exactly M/M/c: constant rate, exponential service, nobody leaves."""
    return BranchDay(
        opening_hour=0.0,
        closing_hour=hours,
        visits_per_day=arrivals_per_minute * 60.0 * hours,
        arrival_profile=(1.0,),
        tellers=tellers,
        teller_service=ServiceTime(mean_minutes=mean_service),
    )


def busy_branch(**changes: object) -> BranchDay:
    """A realistic branch: default profile, machines, lognormal service, balking, reneging."""
    settings: dict[str, object] = dict(
        visits_per_day=300.0,
        tellers=3,
        machines=2,
        simple_share=0.5,
        routing_share=0.6,
        teller_service=ServiceTime(distribution="lognormal", mean_minutes=6.0, cv=0.8),
        machine_service=ServiceTime(distribution="lognormal", mean_minutes=3.0, cv=0.8),
        balk_queue_length=8,
        patience_minutes=15.0,
    )
    settings.update(changes)
    return BranchDay.model_validate(settings)


def batch_means(values: np.ndarray, batches: int = 20) -> tuple[float, float, float]:
    """Mean, its batch-means standard error and the two-sided 0.999 half-width factor."""
    means = np.array([chunk.mean() for chunk in np.array_split(values, batches)])
    return float(values.mean()), float(means.std(ddof=1) / math.sqrt(batches)), float(
        stats.t.ppf(1 - T_ALPHA, batches - 1)
    )


# --- (b) the analytic formulas reproduce REFERENCES.md's worked case -------------------

@pytest.mark.parametrize(
    ("tellers", "p_wait", "wq", "p_over_5"),
    [(3, 0.7022, 3.511, 0.2583), (4, 0.3199, 0.5331, 0.0159)],
)
def test_erlang_c_reproduces_the_worked_case(tellers, p_wait, wq, p_over_5):
    lam, mu = 1.0, 1 / 2.5  # 60 arrivals an hour, 2.5 minutes' service, per minute
    q = erlang.erlang_c(lam, mu, tellers)
    assert round(q.prob_wait, 4) == p_wait
    assert round(q.mean_wait, 4 if tellers == 4 else 3) == wq
    assert round(erlang.prob_wait_exceeds(lam, mu, tellers, 5.0), 4) == p_over_5
    assert q.mean_time_in_system == pytest.approx(q.mean_wait + 2.5)
    assert q.mean_queue_length == pytest.approx(lam * q.mean_wait)
    assert erlang.mean_wait(lam, mu, tellers) == q.mean_wait


@pytest.mark.parametrize(("load", "servers"), [(0.5, 1), (2.5, 3), (7.3, 9), (18.0, 20)])
def test_erlang_recursion_matches_the_closed_form(load, servers):
    top = load**servers / math.factorial(servers) * servers / (servers - load)
    closed = top / (sum(load**k / math.factorial(k) for k in range(servers)) + top)
    assert erlang.prob_wait(load, 1.0, servers) == pytest.approx(closed, rel=1e-12)


def test_erlang_c_rejects_unstable_and_bad_input():
    with pytest.raises(erlang.UnstableQueueError, match="rho < 1"):
        erlang.erlang_c(1.0, 0.4, 2)  # rho = 1.25
    with pytest.raises(erlang.UnstableQueueError):
        erlang.prob_wait(3.0, 1.0, 3)  # rho = 1 exactly
    for bad in [(0.0, 1.0, 1), (1.0, -1.0, 2), (1.0, math.nan, 2), (1.0, 1.0, 0), (1.0, 1.0, 2.0)]:
        with pytest.raises(ValueError):
            erlang.prob_wait(*bad)
    with pytest.raises(ValueError):
        erlang.prob_wait_exceeds(1.0, 0.4, 3, -1.0)
    assert 0 < erlang.prob_wait(450.0, 1.0, 500) < 1  # large c stays finite


# --- (a) SimPy as M/M/c reproduces Erlang C ------------------------------------------

@pytest.mark.parametrize(
    ("lam", "mean_service", "tellers", "hours"),
    [
        (1.0, 2.5, 3, 2000.0),  # REFERENCES worked case, rho = 0.833
        (1.0, 2.5, 4, 1000.0),  # the same with a fourth teller, rho = 0.625
        (0.9, 5.0, 5, 3000.0),  # rho = 0.9
    ],
)
def test_mmc_branch_reproduces_erlang_c(lam, mean_service, tellers, hours):
    config = mmc_branch(lam, mean_service, tellers, hours)
    records, _ = simulate_branch_day(config, np.random.default_rng(20261125 + tellers))
    steady = records.arrival > 0.05 * config.day_minutes  # discard 5% warm-up (>= 50 h)
    wait = records.wait[steady]
    q = erlang.erlang_c(lam, 1 / mean_service, tellers)
    expected = {
        "P(wait)": (wait > 0, q.prob_wait),
        "Wq": (wait, q.mean_wait),
        "P(Wq > 5)": (wait > 5, erlang.prob_wait_exceeds(lam, 1 / mean_service, tellers, 5.0)),
    }
    for name, (sample, exact) in expected.items():
        mean, se, factor = batch_means(sample.astype(float))
        assert se < max(0.1 * exact, 0.005), f"{name}: too little data to test (se {se:.3g})"
        assert abs(mean - exact) <= factor * se, (
            f"{name}: simulated {mean:.4f} ± {se:.4f} vs Erlang C {exact:.4f}"
        )
    assert not records.balked.any() and not records.reneged.any()
    assert np.all(records.served_by == TELLER)


def test_simpy_waits_equal_an_independent_fcfs_recursion():
    # Kiefer-Wolfowitz: each arrival starts at max(arrival, earliest free teller).
    config = mmc_branch(1.0, 2.5, 3, 100.0)
    visits = draw_visits(config, np.random.default_rng(11))
    free, expected = [0.0] * 3, []
    for at, need in zip(visits.arrival.tolist(), visits.teller_service.tolist(), strict=True):
        start = max(at, heapq.heappop(free))
        expected.append(start - at)
        heapq.heappush(free, start + need)
    np.testing.assert_allclose(simulate_visits(config, visits).wait, expected, rtol=0, atol=1e-9)


# --- (c) common random numbers: more tellers never raise the wait --------------------

def test_each_visit_waits_no_longer_with_another_teller():
    # First come, first served with service needs fixed per customer: a theorem
    # (Kiefer-Wolfowitz workload vector), so it must hold visit by visit.
    config = mmc_branch(1.0, 2.5, 3, 200.0)
    for seed in range(3):
        visits = draw_visits(config, np.random.default_rng(seed))
        waits = [
            simulate_visits(config.model_copy(update={"tellers": c}), visits).wait
            for c in range(3, 7)
        ]
        for fewer, more in itertools.pairwise(waits):
            assert np.all(more <= fewer + 1e-9)
        assert waits[-1].mean() < waits[0].mean()


def test_mean_wait_never_rises_with_another_teller_in_a_busy_branch():
    # With balking, reneging and machines this is not a theorem (a customer who
    # no longer balks joins the queue); checked here on 40 fixed days.
    config = busy_branch(visits_per_day=420.0)
    for seed in range(40):
        visits = draw_visits(config, np.random.default_rng(seed))
        means = []
        for tellers in range(2, 7):
            design = config.model_copy(update={"tellers": tellers})
            means.append(day_metrics(design, simulate_visits(design, visits)).mean_wait)
        assert all(b <= a + 1e-12 for a, b in itertools.pairwise(means)), (seed, means)


# --- (d) sampling k days agrees with simulating every day ----------------------------

@pytest.fixture(scope="module")
def months() -> list[tuple[np.ndarray, dict[str, float], dict[str, float]]]:
    """Six branch-months of 22 business days, every day simulated."""
    out = []
    for month in range(6):
        rows, full = simulate_month(busy_branch(), 22, np.random.default_rng(500 + month))
        out.append((rows, full.totals, full.ratios))
    return out


def test_sampled_days_are_days_of_the_full_month(months):
    rows, totals, ratios = months[0]
    estimate = estimate_month(busy_branch(), 22, 6, np.random.default_rng(500))
    again = estimate_from_days(rows[list(estimate.sampled_days)], 22, estimate.sampled_days)
    assert estimate.totals == again.totals and estimate.ratios == again.ratios
    factor = stats.t.ppf(1 - T_ALPHA, 5)
    for name in ("visits", "reneged", "wait_minutes", "teller_busy_minutes"):
        assert abs(estimate.totals[name] - totals[name]) <= factor * estimate.totals_se[name]
    for name in ("mean_wait", "share_wait_over_5", "teller_utilisation"):
        assert abs(estimate.ratios[name] - ratios[name]) <= factor * estimate.ratios_se[name]
    full = estimate_from_days(rows, 22)
    assert full.totals_se["visits"] == 0.0 and full.ratios_se["mean_wait"] == 0.0


def test_scaled_totals_are_exactly_unbiased_over_all_samples(months):
    rows, totals, ratios = months[1]
    subsets = np.array(list(itertools.combinations(range(22), 3)))  # all 1,540 samples
    scaled = 22 * rows[subsets].mean(axis=1)  # (samples, TOTALS)
    for i, name in enumerate(TOTALS):
        assert scaled[:, i].mean() == pytest.approx(totals[name], rel=1e-12, abs=1e-9)
    # The ratio estimator's bias is O(1/k): small next to its spread even at k = 3.
    col = {name: rows[subsets, i].sum(axis=1) for i, name in enumerate(TOTALS)}
    mean_wait = col["wait_minutes"] / col["joined"]
    assert abs(mean_wait.mean() - ratios["mean_wait"]) < 0.1 * mean_wait.std()


@pytest.mark.parametrize("k", [3, 6, 10])
def test_stated_standard_errors_cover_the_full_month(months, k):
    rng = np.random.default_rng(k)
    factor = stats.t.ppf(0.975, k - 1)
    names = ("visits", "reneged", "wait_minutes", "mean_wait", "teller_utilisation")
    hits = {name: 0 for name in names}
    draws = 0
    for rows, totals, ratios in months:
        for _ in range(200):
            days = rng.choice(22, size=k, replace=False)
            est = estimate_from_days(rows[days], 22)
            draws += 1
            for name in names:
                value, se, truth = (
                    (est.totals[name], est.totals_se[name], totals[name])
                    if name in totals
                    else (est.ratios[name], est.ratios_se[name], ratios[name])
                )
                hits[name] += abs(value - truth) <= factor * se
    for name, hit in hits.items():
        # Nominal 95%; samples within a month overlap, so allow a wide band.
        assert 0.90 <= hit / draws <= 0.99, (name, hit / draws)


# --- (e) arrivals follow the time-of-day profile ------------------------------------

def test_hourly_arrival_counts_match_the_profile_within_poisson_error():
    config = busy_branch(visits_per_day=300.0)  # 09:00-17:00, default profile
    days = 400
    rng = np.random.default_rng(7)
    daily = [draw_visits(config, rng).arrival for _ in range(days)]
    hours = np.concatenate(daily) // 60.0
    observed = np.bincount(hours.astype(int), minlength=8)
    weights = np.asarray(config.slot_weights).reshape(8, 2).sum(axis=1)
    expected = days * config.visits_per_day * weights / weights.sum()
    z = (observed - expected) / np.sqrt(expected)
    assert np.all(np.abs(z) < stats.norm.ppf(1 - T_ALPHA / 8)), z  # Bonferroni over 8 hours
    assert stats.chi2.sf(np.sum(z**2), df=8) > 0.001  # counts are independent Poisson
    counts = np.array([len(a) for a in daily])  # Poisson: variance = mean per day
    dispersion = counts.var(ddof=1) * (days - 1) / counts.mean()
    assert stats.chi2.sf(dispersion, days - 1) > T_ALPHA
    assert stats.chi2.cdf(dispersion, days - 1) > T_ALPHA
    assert observed.argmax() == 1  # 10:00-11:00 is the peak hour


def test_profile_constant_loader_and_business_hours(tmp_path):
    csv = tmp_path / "profile.csv"
    lines = ["# source: Weinberg, Brown & Stroud (2007)", "time,mean_calls,relative_intensity"]
    lines += [f"{t},0,{w}" for t, w in DEFAULT_ARRIVAL_PROFILE]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert load_arrival_profile(csv) == DEFAULT_ARRIVAL_PROFILE
    if SHARED_PROFILE.exists():  # the embedded copy equals the shared data file
        assert load_arrival_profile(SHARED_PROFILE) == DEFAULT_ARRIVAL_PROFILE
    assert len(profile_weights(9.0, 17.0)) == 16
    assert profile_weights(7.0, 21.5) == tuple(w for _, w in DEFAULT_ARRIVAL_PROFILE)
    with pytest.raises(ValueError, match="do not tile"):
        profile_weights(6.0, 17.0)
    with pytest.raises(ValueError, match="arrival_profile"):
        busy_branch(opening_hour=5.0)
    with pytest.raises(ValueError, match="machine_service"):
        busy_branch(machine_service=None)
    with pytest.raises(ValueError, match="cv"):
        ServiceTime(distribution="lognormal", mean_minutes=3.0)


def test_a_day_accounts_for_every_visit():
    config = busy_branch(visits_per_day=450.0)
    records, metrics = simulate_branch_day(config, np.random.default_rng(3))
    outcome = records.balked.astype(int) + records.reneged + (records.served_by != NOT_SERVED)
    assert np.all(outcome == 1)
    assert metrics.visits == records.arrival.size > 0
    assert metrics.balked > 0 and metrics.reneged > 0 and metrics.served_by_machine > 0
    served = records.served_by != NOT_SERVED
    started = records.service_start[served] - records.arrival[served]
    assert np.allclose(records.wait[served], started)
    assert np.isnan(records.wait[records.balked]).all()
    assert 0 < metrics.teller_utilisation <= 1 and 0 < metrics.machine_utilisation <= 1
    assert metrics.mean_wait <= metrics.p90_wait or metrics.p90_wait == 0
    assert (records.served_by == MACHINE).sum() == metrics.served_by_machine
    service = ServiceTime(distribution="lognormal", mean_minutes=6.0, cv=0.8)
    draws = service.draw(np.random.default_rng(0), 200_000)
    assert draws.mean() == pytest.approx(6.0, rel=0.01)
    assert draws.std() / draws.mean() == pytest.approx(0.8, rel=0.02)


def _process_model(config: BranchDay, visits: Visits) -> tuple[np.ndarray, ...]:
    """The day as one SimPy process per visitor (the model simulate_visits must reproduce)."""
    n = visits.arrival.size
    env = simpy.Environment()
    queues = {TELLER: simpy.Resource(env, capacity=config.tellers)}
    if config.machines > 0:
        queues[MACHINE] = simpy.Resource(env, capacity=config.machines)
    wait, start, end = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    balked, reneged = np.zeros(n, bool), np.zeros(n, bool)
    served_by = np.full(n, NOT_SERVED, np.int8)
    desks = np.where(visits.to_machine, MACHINE, TELLER)
    services = np.where(visits.to_machine, visits.machine_service, visits.teller_service)

    def customer(i: int):  # type: ignore[no-untyped-def]
        desk = queues[int(desks[i])]
        if config.balk_queue_length is not None and len(desk.queue) >= config.balk_queue_length:
            balked[i] = True
            return
        arrived = env.now
        with desk.request() as request:
            if visits.patience[i] < np.inf and not request.triggered:
                outcome = yield request | env.timeout(visits.patience[i])
                if request not in outcome:
                    wait[i], reneged[i] = env.now - arrived, True
                    return
            else:
                yield request
            start[i], wait[i] = env.now, env.now - arrived
            yield env.timeout(services[i])
            end[i], served_by[i] = env.now, desks[i]

    def door():  # type: ignore[no-untyped-def]
        for i, at in enumerate(visits.arrival.tolist()):
            yield env.timeout(max(at - env.now, 0.0))
            env.process(customer(i))

    env.process(door())
    env.run()
    return wait, balked, reneged, served_by, start, end


def test_a_visitor_reneging_is_in_the_queue_for_one_arriving_at_that_instant():
    """Patience runs out at 3 as visitor 3 arrives: the process model counted the reneging
    visitor 1 in the queue (it leaves when its race is decided), so visitor 3 balks."""
    config = BranchDay(visits_per_day=4.0, tellers=1, balk_queue_length=1,
                       teller_service=ServiceTime(mean_minutes=1.0))
    visits = Visits(arrival=np.array([0.0, 1.0, 2.0, 3.0]),
                    teller_service=np.array([10.0, 1.0, 1.0, 1.0]), machine_service=np.zeros(4),
                    patience=np.array([np.inf, 2.0, np.inf, np.inf]), to_machine=np.zeros(4, bool))
    records = simulate_visits(config, visits)
    np.testing.assert_array_equal(records.balked, [False, False, True, True])
    np.testing.assert_array_equal(records.reneged, [False, True, False, False])
    np.testing.assert_array_equal(records.served_by, [TELLER, NOT_SERVED, NOT_SERVED, NOT_SERVED])


def test_simulate_visits_is_the_process_model_on_days_full_of_ties():
    """Whole-minute arrivals, services (0 included) and patience: events tie at equal times,
    where SimPy's order of scheduling decides who is served, who balks and who reneges."""
    rng = np.random.default_rng(2)
    for _ in range(400):
        n = int(rng.integers(0, 30))
        machines = int(rng.integers(0, 3))
        patience = rng.integers(0, 5, n).astype(float)
        patience[rng.random(n) < 0.3] = np.inf
        visits = Visits(arrival=np.sort(rng.integers(0, n // 2 + 3, n)).astype(float),
                        teller_service=rng.integers(0, 4, n).astype(float),
                        machine_service=rng.integers(0, 4, n).astype(float), patience=patience,
                        to_machine=(rng.random(n) < 0.4) & (machines > 0))
        config = BranchDay(visits_per_day=10.0, tellers=int(rng.integers(1, 3)),
                           machines=machines, balk_queue_length=[None, 1, 2, 3][rng.integers(4)],
                           teller_service=ServiceTime(mean_minutes=1.0),
                           machine_service=ServiceTime(mean_minutes=1.0) if machines else None)
        records = simulate_visits(config, visits)
        got = (records.wait, records.balked, records.reneged, records.served_by,
               records.service_start, records.service_end)
        for a, b in zip(got, _process_model(config, visits), strict=True):
            np.testing.assert_array_equal(a, b)


def test_month_ratios_are_the_estimate_s_ratios_bit_for_bit() -> None:
    """A day pool's ratios, computed alone, are :func:`estimate_from_days`' (NaN included),
    and both are the ratio of the days' sums as the estimate defined it before it called
    ``month_ratios`` (compared with that definition, not only with itself)."""
    from sim.day_sampling import RATIOS, TOTALS, estimate_from_days, month_ratios

    rng = np.random.default_rng(12)
    for trial in range(300):
        k = int(rng.integers(1, 6))
        rows = rng.exponential(100.0, (k, 13)) * (rng.random((k, 13)) < 0.8)
        if trial % 5 == 0:
            rows[:, 1] = 0.0  # no visitor joined a queue: the wait ratios are undefined
        estimate = estimate_from_days(rows, 22).ratios
        got = month_ratios(rows)
        assert list(got) == list(RATIOS)
        col = {name: rows[:, i] for i, name in enumerate(TOTALS)}
        for name, (num, den) in RATIOS.items():
            value = (float(col[num].sum() / col[den].sum()) if float(col[den].mean()) > 0
                     else np.nan)
            assert np.float64(got[name]).tobytes() == np.float64(value).tobytes(), (trial, name)
            assert np.float64(estimate[name]).tobytes() == np.float64(value).tobytes()
