"""Compiled loops against their NumPy definitions (sim/kernels/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.dynamics import SEGMENTS, classify, potential_value
from sim.model import LifecycleModel
from sim.scenario import load_scenario
from sim.streams import uniform_from_key

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml"


def test_segment_review_matches_the_potential_value_definition() -> None:
    model = LifecycleModel(load_scenario(BASELINE, ["population.size=5000",
                                                   "population.prospects=500"]))
    for _ in range(3):
        model.step()
    pop, scenario = model.population, model.scenario
    customers = model.is_customer()
    classify(pop, scenario, customers, segments_due=True)  # every customer reviewed
    rows = np.flatnonzero(customers)
    expected = potential_value(pop, scenario, rows)
    np.testing.assert_allclose(pop.potential_value[rows], expected, rtol=1e-6, atol=1e-7)
    seg = scenario.segments
    high_potential = expected >= seg.potential_threshold
    high_current = pop.aum[rows] >= seg.current_value_threshold
    code = np.where(high_potential, np.where(high_current, 1, 0), np.where(high_current, 2, 3))
    near = np.abs(expected - seg.potential_threshold) < 1e-6  # float32 storage at the edge
    np.testing.assert_array_equal(pop.segment[rows][~near], code[~near])
    assert set(np.unique(pop.segment[rows])) <= set(range(len(SEGMENTS)))
    assert (pop.segment[~customers] == -1).all() and (pop.tier[~customers] == -1).all()
    bounds = np.array([t.min_aum for t in scenario.tiers])
    np.testing.assert_array_equal(
        pop.tier[rows], np.searchsorted(bounds, pop.aum[rows], side="right") - 1)


def test_results_do_not_depend_on_the_number_of_threads(tmp_path: Path) -> None:
    """Compiled loops add in a fixed order: one thread and all threads give the same month.

    150,000 rows span three fixed chunks of the chunked loops (sim.kernels.CHUNK).
    """
    import os
    import subprocess
    import sys

    script = (
        "import hashlib, sys\n"
        "from sim.model import LifecycleModel\n"
        "from sim.scenario import load_scenario\n"
        f"s = load_scenario({str(BASELINE.parent / 'playbook_branches.yaml')!r}, "
        "['population.size=150000', 'population.prospects=20000', 'population.branches=10'])\n"
        "m = LifecycleModel(s)\n"
        "for _ in range(3): m.step()\n"
        "print(hashlib.sha256(m.monthly_frame().to_csv().encode()).hexdigest())\n"
    )
    digests = []
    for threads in ("1", "2"):
        env = {**os.environ, "NUMBA_NUM_THREADS": threads}
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                             text=True, check=True, cwd=tmp_path)
        digests.append(out.stdout.strip().splitlines()[-1])
    assert digests[0] == digests[1]


def _to_the_close(rows: int, month: int) -> LifecycleModel:
    """A playbook-with-branches model stepped to just before ``month``'s close."""
    scenario = load_scenario(BASELINE.parent / "playbook_branches.yaml", [
        f"population.size={rows}", "population.prospects=20000", "population.branches=10"])
    model = LifecycleModel(scenario)
    for _ in range(month - 1):
        model.step()
    model.month += 1
    model.was_customer, _, model.old_aum, _, _, model.was_private = model._market()
    model._reset_month()
    customers = model.is_customer()
    for runtime in sorted(model.strategies, key=lambda r: r.respects_opt_out):
        runtime.act(model, np.concatenate([customers, np.zeros(len(model.population)
                                                               - len(customers), bool)]))
    model.channels.serve(model)
    return model


@pytest.mark.parametrize("month", [3, 4])  # segments reviewed every 3 months: due, not due
def test_close_month_is_the_separate_phases_in_one_pass(month: int) -> None:
    """sim.kernels.close_month = respond, transitions, settle, classify, book, census, cohorts.

    Two models stepped alike to the month's close (150,000 rows: three fixed
    chunks); one closes the month in the fused pass, the other with the
    separate kernels in the order the model used to call them. Every column
    must be equal; the totals agree to rounding (chunk order vs sequential sums).
    """
    from sim import kernels
    from sim.dynamics import respond

    fused, separate = _to_the_close(130_000, month), _to_the_close(130_000, month)
    assert (month % fused.scenario.segments.every_months == 0) == (month == 3)
    flows, customers, census, tallies = fused._close(fused.was_customer, fused.old_aum,
                                                     fused.was_private)

    m, pop = separate, separate.population
    was = m.was_customer
    respond(pop, m.scenario, m.wallet_share_by_stage, m.price_gap_points,
            m.driver_reference["satisfaction"], m._key("satisfaction"))
    inflow = np.maximum(pop.aum - m.old_aum, 0.0) * was
    aum_after_response = kernels.masked_sum(pop.aum, was)
    old_tier = pop.tier.copy()
    new = m.transitions.step_columns(pop.stage, (pop.id, m._key("transitions")), pop.columns(),
                                     m.price_gap_points, m.driver_reference)
    acquired = np.empty(len(pop), np.bool_)
    n_acquired, churned, lapsed, aum_churned, aum_churned_new = kernels.settle_transitions(
        pop.stage, new, m.roles, m.month, was, pop.aum, pop.share_of_wallet, pop.absorbed_month,
        pop.products, pop.months_in_stage, pop.tenure, pop.entered_month, pop.entry_stage,
        acquired)
    inflow = np.where(acquired & ~was, pop.aum, inflow)  # an opening balance is new money
    pop.stage = new
    now = m.is_customer()
    classify(pop, m.scenario, now, segments_due=m.month % m.scenario.segments.every_months == 0)
    econ = m.scenario.economics
    money = kernels.book_rows(
        now, pop.aum, inflow, pop.products, pop.channel, acquired, econ.aum_margin_annual / 12,
        float(econ.fee_per_product_month),
        np.array([econ.servicing_cost_per_month[c] for c in m.channel_names]),
        np.array([econ.transaction_cost_per_10k[c] for c in m.channel_names]),
        float(econ.acquisition_cost), pop.revenue_month, pop.cost_month)
    sizes = np.array([len(m.stage_names), len(SEGMENTS), len(m.tier_names), len(m.channel_names)])
    expected_census = kernels.census(
        pop.stage, m.roles, pop.segment, pop.tier, pop.channel, pop.is_initial, pop.aum,
        pop.satisfaction, pop.share_of_wallet, pop.contacts, sizes,
        float(m.scenario.private_banking_threshold))
    cohorts = np.stack([getattr(pop, s.cohort_column) for s in m.strategies])
    expected_tallies = kernels.cohort_tallies(cohorts, now, pop.aum, pop.revenue_month,
                                              pop.cost_month)

    assert len(pop) > 2 * kernels.CHUNK
    for name, column in fused.population.columns().items():
        np.testing.assert_array_equal(column, pop.columns()[name], err_msg=name)
    np.testing.assert_array_equal(customers, now)
    for got, want in zip(census, expected_census, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(tallies, expected_tallies, rtol=1e-12)
    stay = now & (old_tier >= 0)
    threshold = m.scenario.private_banking_threshold
    assert flows["acquired"] == n_acquired and flows["churned"] == churned
    assert flows["lapsed"] == lapsed
    assert flows["tier_up"] == int((stay & (pop.tier > old_tier)).sum())
    assert flows["tier_down"] == int((stay & (pop.tier < old_tier)).sum())
    # crossings since last month's close (m.was_private: the AUM before the market)
    assert flows["private_banking_up"] == int(
        (stay & ~m.was_private & (pop.aum >= threshold)).sum())
    assert flows["private_banking_down"] == int(
        (stay & m.was_private & (pop.aum < threshold)).sum())
    np.testing.assert_allclose(flows["aum_churned"], aum_churned, rtol=1e-12)
    np.testing.assert_allclose(flows["aum_after_response"], aum_after_response, rtol=1e-12)
    np.testing.assert_allclose(
        flows["aum_acquired"], kernels.masked_sum(pop.aum, now & ~was) + aum_churned_new,
        rtol=1e-12)
    booked = fused.ledger.close_month()
    for side, kind, want in (("revenue", "interest_margin", money[0]),
                             ("revenue", "fees", money[1]), ("cost", "acquisition", money[2])):
        np.testing.assert_allclose(booked[(side, kind, "bank")], want, rtol=1e-12)
    for c, name in enumerate(m.channel_names):
        np.testing.assert_allclose(booked[("cost", f"servicing_{name}", "bank")], money[3][c],
                                   rtol=1e-12)
        np.testing.assert_allclose(booked[("cost", f"transaction_{name}", "bank")],
                                   money[4][c], rtol=1e-12)


def test_branch_visit_weights_are_computed_once_and_give_the_same_visits() -> None:
    """activity^elasticity is cached per row (NaN: not yet): cached or not, the same visits."""
    from sim import kernels

    rng = np.random.default_rng(7)
    n = 3 * 65_536 + 11
    customers = rng.random(n) < 0.8
    channel = rng.integers(0, 3, n).astype(np.int8)
    activity = rng.gamma(2.0, 3.0, n).astype(np.float32)
    ids = np.arange(n, dtype=np.int64)
    rate = np.array([0.5, 0.0, 1.2])
    weights = np.full(n, np.nan, np.float32)
    first = kernels.branch_visits(customers, channel, activity, ids, np.uint64(5), rate, 0.7,
                                  weights)
    eligible = customers & (rate[channel] > 0)
    np.testing.assert_allclose(weights[eligible], activity[eligible].astype(float) ** 0.7,
                               rtol=1e-6)
    assert np.isnan(weights[~eligible]).all()
    changed = np.full(n, 1e6, np.float32)  # cached weights are used, not recomputed
    again = kernels.branch_visits(customers, channel, changed, ids, np.uint64(5), rate, 0.7,
                                  weights)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    rows, visits = first  # the definition: floor(rate * w / channel mean of w + u)
    mean = np.array([weights[eligible & (channel == c)].astype(float).mean() if rate[c] else 1.0
                     for c in range(3)])
    assert rows.size and (np.diff(rows) > 0).all() and (visits >= 1).all()
    assert eligible[rows].all()
    expected = np.floor(rate[channel] * weights.astype(float) / mean[channel]
                        + uniform_from_key(ids, np.uint64(5)))
    expected[~eligible] = 0
    np.testing.assert_array_equal(rows, np.flatnonzero(expected > 0))
    np.testing.assert_allclose(visits, expected[rows])



@pytest.mark.parametrize("new_year", [False, True])
def test_market_rows_is_the_walk_the_payments_and_the_masks(new_year: bool) -> None:
    """sim.kernels.market_rows against its NumPy definition, over three chunks.

    Rows before ``n_old`` (at the bank at the start of the month) take the keyed
    wealth shock and age a month; arrivals after it do neither. Customers (old
    or arriving) make their payments; ``was_customer`` leaves arrivals out.
    """
    from sim import kernels
    from sim.streams import inverse_normal_numpy

    rng = np.random.default_rng(3)
    n, n_old = 3 * 65_536 + 5, 3 * 65_536 - 1_000
    ids = rng.integers(0, 2**40, n)
    stage = rng.integers(0, 6, n).astype(np.int8)
    is_customer_stage = np.array([False, True, True, True, True, False])
    wealth = rng.lognormal(12.0, 1.0, n).astype(np.float32)
    age = rng.uniform(18, 80, n).astype(np.float32)
    share = rng.random(n).astype(np.float32)
    aum = wealth.astype(float) * share
    activity = rng.gamma(2.0, 3.0, n).astype(np.float32)
    paid, ytd = np.zeros(n, np.int32), rng.integers(0, 50, n).astype(np.int32)
    before = {"wealth": wealth.copy(), "age": age.copy(), "aum": aum.copy(), "ytd": ytd.copy()}
    keys, mu, sigma = np.array([11, 12], np.uint64), 0.002, 0.03
    old_aum, was, customers = np.empty(n), np.empty(n, bool), np.empty(n, bool)
    start, after = kernels.market_rows(ids, keys, n_old, mu, sigma, stage, is_customer_stage,
                                       wealth, age, share, aum, activity, 0.6, new_year, paid,
                                       ytd, old_aum, was, customers)

    customer = is_customer_stage[stage]
    at_start = customer & (np.arange(n) < n_old)
    shock = np.exp(mu + sigma * inverse_normal_numpy(uniform_from_key(ids[:n_old], keys[0])))
    want_wealth = before["wealth"].copy()
    want_wealth[:n_old] = (before["wealth"][:n_old].astype(float) * shock).astype(np.float32)
    want_age = before["age"].copy()
    want_age[:n_old] = (before["age"][:n_old].astype(float) + 1 / 12).astype(np.float32)
    want_aum = before["aum"].copy()
    want_aum[:n_old] = want_wealth[:n_old].astype(float) * share[:n_old]
    want_paid = np.where(customer, np.floor(activity.astype(float) * 0.6
                                            + uniform_from_key(ids, keys[1])), 0).astype(np.int32)
    np.testing.assert_allclose(wealth, want_wealth, rtol=1e-6)
    np.testing.assert_array_equal(age, want_age)
    np.testing.assert_allclose(aum, want_aum, rtol=1e-6)
    np.testing.assert_array_equal(aum[n_old:], before["aum"][n_old:])  # arrivals: no walk
    np.testing.assert_array_equal(paid, want_paid)
    np.testing.assert_array_equal(ytd, want_paid + (0 if new_year else before["ytd"]))
    np.testing.assert_array_equal(old_aum, aum)
    np.testing.assert_array_equal(was, at_start)
    np.testing.assert_array_equal(customers, customer)
    assert customer[n_old:].any() and paid[n_old:][customer[n_old:]].any()
    np.testing.assert_allclose(start, before["aum"][at_start].sum(), rtol=1e-12)
    np.testing.assert_allclose(after, aum[at_start].sum(), rtol=1e-12)


def test_the_close_pass_row_arithmetic_against_numpy_definitions() -> None:
    """Response, ledger, census and cohort tallies of the fused pass, recomputed in NumPy.

    Independent of the compiled row helpers that the fused pass and the separate
    phase kernels share: the formulas of sim.dynamics.respond and of the ledger
    written out again with NumPy on a snapshot taken before the close.
    """
    from sim.streams import inverse_normal_numpy

    model = _to_the_close(20_000, 4)
    pop, scenario = model.population, model.scenario
    before = {k: v.copy() for k, v in pop.columns().items()}
    was, old_aum = model.was_customer, model.old_aum
    _flows, now, census, tallies = model._close(was, old_aum, model.was_private)

    r = scenario.response
    gap = ((model.price_gap_points - before["yield_bump_bp"].astype(float) / 100)
           * before["price_sensitivity"])
    target = (before["satisfaction_base"] + r.satisfaction_price_gap_effect * gap
              + r.satisfaction_wait_effect
              * np.maximum(before["wait_minutes"] - r.wait_tolerance_minutes, 0)
              + r.satisfaction_complaint_effect * before["complaints"])
    noise = r.satisfaction_noise * inverse_normal_numpy(
        uniform_from_key(before["id"], model._key("satisfaction")))
    sat = before["satisfaction"].astype(float)
    want_sat = np.clip(sat + r.satisfaction_adjustment * (target - sat) + noise, 0, 1)
    np.testing.assert_allclose(pop.satisfaction, want_sat, atol=1e-6)
    wallet = (before["wallet_propensity"] * model.wallet_share_by_stage[before["stage"]]
              * (1 + r.wallet_satisfaction_effect
                 * (pop.satisfaction - model.driver_reference["satisfaction"])))
    wallet = np.clip(np.where(wallet > 0, wallet + r.wallet_price_gap_effect * gap, wallet), 0, 1)
    sow = before["share_of_wallet"].astype(float)
    want_sow = np.clip(sow + r.wallet_adjustment * (wallet - sow), 0, 1)
    kept = pop.absorbed_month != model.month  # absorbed rows lose their share and AUM
    np.testing.assert_allclose(pop.share_of_wallet[kept], want_sow[kept], atol=1e-6)
    np.testing.assert_allclose(pop.aum[kept], before["total_wealth"][kept]  # float32 product
                               * pop.share_of_wallet[kept], rtol=1e-12)
    assert (pop.aum[~kept] == 0).all() and (~kept).any()

    econ = scenario.economics
    servicing = np.array([econ.servicing_cost_per_month[c] for c in model.channel_names])
    per_10k = np.array([econ.transaction_cost_per_10k[c] for c in model.channel_names])
    want_revenue = np.where(now, pop.aum * econ.aum_margin_annual / 12
                            + pop.products * econ.fee_per_product_month, 0.0)
    np.testing.assert_allclose(pop.revenue_month, want_revenue, rtol=1e-12)
    stayed = now & was & kept
    inflow = np.maximum(pop.aum - old_aum, 0.0)
    np.testing.assert_allclose(
        pop.cost_month[stayed],
        servicing[pop.channel[stayed]] + inflow[stayed] / 10_000 * per_10k[pop.channel[stayed]],
        rtol=1e-12)

    by_stage, by_segment, by_tier, by_channel, heads, sums = census
    np.testing.assert_array_equal(by_stage, np.bincount(pop.stage, minlength=len(by_stage)))
    assert heads[0] == now.sum() and heads[1] == model.is_prospect_stage[pop.stage].sum()
    np.testing.assert_array_equal(by_segment, np.bincount(pop.segment[now], minlength=4))
    tiered = now & (pop.tier >= 0)
    np.testing.assert_array_equal(by_tier, np.bincount(pop.tier[tiered], minlength=len(by_tier)))
    np.testing.assert_array_equal(by_channel, np.bincount(pop.channel[now],
                                                          minlength=len(by_channel)))
    np.testing.assert_allclose(sums, [pop.columns()[c][now].astype(float).sum() for c in
                                      ("aum", "satisfaction", "share_of_wallet", "contacts")],
                               rtol=1e-9)
    for k, runtime in enumerate(model.strategies):
        cohort = getattr(pop, runtime.cohort_column)
        for code in (1, 2):
            member = cohort == code
            np.testing.assert_allclose(
                tallies[k, code], [(member & now).sum(), pop.aum[member & now].sum(),
                                   pop.revenue_month[member].sum(), pop.cost_month[member].sum()],
                rtol=1e-9)
    assert tallies[:, 1, 0].sum() > 0


def test_in_order_picks_rows_and_their_values_in_priority_order() -> None:
    from sim import kernels

    rng = np.random.default_rng(5)
    order = rng.permutation(10_000)
    rows = np.sort(rng.choice(10_000, 3_000, replace=False))
    values = rng.random(3_000)
    position = np.full(10_000, -1)
    position[rows] = np.arange(len(rows))
    expected = order[position[order] >= 0]
    ranked, ranked_values = kernels.in_order(order, rows, values)
    np.testing.assert_array_equal(ranked, expected)
    np.testing.assert_array_equal(ranked_values, values[position[expected]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int16, np.bool_, np.int8])
def test_a_subsets_write_back_is_numpys_assignment_bit_for_bit(dtype) -> None:
    """The compiled write-back skips values equal to the row's: equal must mean the same bits
    (-0.0 over 0.0, one NaN over another are written), and rows not handed back stay."""
    from sim.population_subset import _put

    rng = np.random.default_rng(8)
    column = (rng.random(5000) * 4 - 2).astype(dtype)
    rows = np.sort(rng.choice(5000, 1200, replace=False))
    values = column[rows].copy()
    values[::7] = (rng.random(len(values[::7])) * 4 - 2).astype(dtype)  # some changed
    if np.dtype(dtype).kind == "f":
        column[rows[:3]] = 0.0
        values[:3] = [-0.0, np.nan, 0.0]
        column[rows[3]] = np.float64(np.nan).astype(dtype)
        values[4] = -column[rows[4]]
    expected = column.copy()
    expected[rows] = values
    _put(column, rows, values)
    np.testing.assert_array_equal(column.view(np.uint8), expected.view(np.uint8))
