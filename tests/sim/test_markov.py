"""With every driver effect at zero the lifecycle is exactly a Markov chain.

Checks against analytic results (REFERENCES.md): the stage distribution after
t months is p0·Pᵗ, and the expected months to churn from each stage is
t = (I − Q)⁻¹·1 (Grinstead & Snell, ch. 11). Tolerances are sampling errors:
each count is a sum of independent multinomial draws given the month-0
counts, so its standard error is known exactly; a check fails beyond 4.5
standard errors (false-alarm rate ≈ 1e-5 per check).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.lifecycle import TransitionTable, absorbing_chain_summary
from sim.model import LifecycleModel
from sim.schema import Scenario
from tests.sim.util import SCENARIOS, scaled

Z_MAX = 4.5


def markov_version(size: int, horizon: int, **changes: object) -> Scenario:
    """The baseline chain with driver effects off and no new prospects."""
    settings: dict[str, object] = {
        "horizon_months": horizon, "lifecycle__driver_effects": {},
        "market__prospect_arrivals_per_month": 0,
    }
    return scaled(SCENARIOS / "baseline.yaml", size, **(settings | changes))


def random_chain_scenario(rng: np.random.Generator, size: int, horizon: int) -> Scenario:
    """A random 4-transient-stage absorbing chain on the baseline bank."""
    names = ["s0", "s1", "s2", "s3"]
    transitions = {}
    for name in names:
        targets = [n for n in names if n != name] + ["gone"]
        weights = rng.uniform(0.05, 0.3) * rng.dirichlet(np.ones(len(targets)))
        weights[-1] += 0.01  # every stage can reach the absorbing one
        transitions[name] = {t: round(float(w), 6) for t, w in zip(targets, weights, strict=True)}
    stages = [{"name": n, "role": "customer", "wallet_share": 0.5} for n in names]
    stages.append({"name": "gone", "role": "absorbing", "wallet_share": 0.0})
    shares = rng.dirichlet(np.full(4, 5.0))
    shares = np.round(shares / shares.sum(), 6)
    shares[-1] = 1.0 - shares[:-1].sum()
    return scaled(
        SCENARIOS / "baseline.yaml", size, horizon_months=horizon,
        lifecycle={"stages": stages, "transitions": transitions},
        population__prospects=0,
        population__initial_stages=dict(zip(names, map(float, shares), strict=True)),
        market__arrival_stage="s0", market__prospect_arrivals_per_month=0,
    )


def stage_counts(model: LifecycleModel) -> np.ndarray:
    return np.bincount(model.population.stage, minlength=len(model.stage_names)).astype(float)


def check_distribution(scenario: Scenario, checkpoints: tuple[int, ...]) -> float:
    """Run the model; return the largest |z| of stage counts against n0·Pᵗ."""
    model = LifecycleModel(scenario)
    model_compacts_disabled(model)
    n0 = stage_counts(model)
    matrix = TransitionTable(scenario.lifecycle).matrix
    worst = 0.0
    for month in range(1, max(checkpoints) + 1):
        model.step()
        if month in checkpoints:
            pt = np.linalg.matrix_power(matrix, month)
            expected = n0 @ pt
            var = n0 @ (pt * (1.0 - pt))
            observed = stage_counts(model)
            ok = var > 0
            z = np.abs(observed[ok] - expected[ok]) / np.sqrt(var[ok])
            assert np.all(observed[~ok] == expected[~ok])
            worst = max(worst, float(z.max()))
    return worst


def model_compacts_disabled(model: LifecycleModel) -> None:
    """Keep absorbed rows in the table so stage counts include them."""
    model._maybe_compact = lambda n_absorbed: None  # type: ignore[method-assign]


def test_default_chain_distribution_matches_p0_Pt() -> None:
    scenario = markov_version(20_000, 36)
    assert check_distribution(scenario, (1, 6, 12, 36)) < Z_MAX


def test_random_chain_distribution_matches_p0_Pt() -> None:
    rng = np.random.default_rng(7)
    for _ in range(3):
        scenario = random_chain_scenario(rng, 10_000, 24)
        assert check_distribution(scenario, (1, 3, 12, 24)) < Z_MAX


def test_driver_effects_break_the_chain() -> None:
    """Negative control: the same check detects non-zero driver effects."""
    scenario = markov_version(
        20_000, 12,
        lifecycle__driver_effects={"maturity->decline": {"satisfaction": -12.0},
                                   "growth->maturity": {"satisfaction": 12.0}},
    )
    assert check_distribution(scenario, (6, 12)) > 10


def mean_months_to_absorption(scenario: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulated mean and SE of months to absorption by starting stage, and the analytic t.

    The run is censored at the horizon H, so the exact comparison is with
    E[min(T, H)] = Σ_{t<H} P(T > t) = Σ_{t<H} (Qᵗ·1); the test scenarios make H
    long enough that this equals t = (I − Q)⁻¹·1 to well within sampling error,
    which is asserted too.
    """
    horizon = scenario.horizon_months
    model = LifecycleModel(scenario)
    for _ in range(horizon):
        model.step()
    records = model.absorption_records()
    start = records[records.is_initial]
    table = TransitionTable(scenario.lifecycle)
    absorbing = table.roles == "absorbing"
    t, _, _ = absorbing_chain_summary(table.matrix, absorbing)
    q = table.matrix[np.ix_(~absorbing, ~absorbing)]
    survival, truncated = np.ones(len(q)), np.zeros(len(q))
    for _ in range(horizon):
        truncated += survival
        survival = q @ survival
    transient = np.flatnonzero(~absorbing)
    means, ses, expected = [], [], []
    for k, stage in enumerate(transient):
        months = start.absorbed_month[start.entry_stage == stage].to_numpy()
        if months.size < 200:
            continue
        months = np.where(months < 0, horizon, months)
        se = months.std(ddof=1) / np.sqrt(months.size)
        assert abs(truncated[k] - t[k]) < 0.1 * se, "horizon too short to compare with t"
        means.append(months.mean())
        ses.append(se)
        expected.append(t[k])
    return np.array(means), np.array(ses), np.array(expected)


@pytest.mark.slow
def test_default_chain_mean_months_to_churn_matches_fundamental_matrix() -> None:
    scenario = markov_version(12_000, 1200)
    means, ses, expected = mean_months_to_absorption(scenario)
    assert len(means) == 4  # onboarding, growth, maturity, decline
    assert np.all(np.abs(means - expected) / ses < Z_MAX), (means, expected)


def test_random_chain_mean_months_matches_fundamental_matrix() -> None:
    rng = np.random.default_rng(11)
    for _ in range(3):
        scenario = random_chain_scenario(rng, 8_000, 400)
        means, ses, expected = mean_months_to_absorption(scenario)
        assert len(means) >= 3
        assert np.all(np.abs(means - expected) / ses < Z_MAX), (means, expected)


def test_absorbing_chain_summary_drunkards_walk() -> None:
    """Grinstead & Snell's drunkard's walk on 0..4 with absorbing ends (REFERENCES.md)."""
    p = np.zeros((5, 5))
    p[0, 0] = p[4, 4] = 1.0
    for i in (1, 2, 3):
        p[i, i - 1] = p[i, i + 1] = 0.5
    absorbing = np.array([True, False, False, False, True])
    t, var_t, b = absorbing_chain_summary(p, absorbing)
    np.testing.assert_allclose(t, [3, 4, 3])
    np.testing.assert_allclose(b, [[0.75, 0.25], [0.5, 0.5], [0.25, 0.75]])
    np.testing.assert_allclose(var_t, [8, 8, 8])
