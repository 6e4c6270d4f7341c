"""What happens to customers in a month, as array operations.

* :func:`wealth_walk` — the market: total financial wealth follows a
  geometric random walk (growth and volatility from the scenario).
* :func:`respond` — satisfaction relaxes toward each customer's own baseline,
  pushed down by the competitor's price gap for price-sensitive customers
  (DOMAIN §4: 5.2% elsewhere vs 5.0% here); share of wallet relaxes toward
  the stage's typical share (DOMAIN §1: maturity holds the largest share),
  raised by satisfaction and lowered by the price gap.
* :func:`classify` — A/B/C/D on current value (AUM) × potential value
  (DOMAIN §2) and AUM tiers (DOMAIN §3).

Each function changes the population in place and returns nothing or the
quantities the ledger needs; none draws from a generator it was not given.
"""

from __future__ import annotations

import numpy as np

from sim import kernels
from sim.population import Population
from sim.schema import Scenario

__all__ = ["SEGMENTS", "classify", "potential_value", "respond", "wealth_walk"]

#: Segment codes 0..3 in the population's ``segment`` column; -1 = not a customer.
SEGMENTS = ("A", "B", "C", "D")


def wealth_walk(scenario: Scenario) -> tuple[float, float]:
    """Monthly drift and volatility of log total wealth: the market's geometric random walk.

    Each month every row's wealth is multiplied by exp(mu + sigma · z), z a
    keyed standard-normal draw (:func:`sim.kernels.drift_rows`), so wealth
    grows at the scenario's annual rate in expectation.
    """
    m = scenario.market
    sigma = m.wealth_volatility_annual / np.sqrt(12.0)
    mu = np.log1p(m.wealth_growth_annual) / 12.0 - 0.5 * sigma**2
    return float(mu), float(sigma)


def respond(
    pop: Population,
    scenario: Scenario,
    wallet_share_by_stage: np.ndarray,
    gap_points: float,
    satisfaction_reference: float,
    noise_key: np.uint64,
) -> None:
    """Update satisfaction, share of wallet and AUM for one month.

    Strategies and channels act before this through the population's
    ``contacts``, ``wait_minutes``, ``complaints``, ``yield_bump_bp`` and
    ``satisfaction_base`` columns and the wallet propensity. Per row, with
    ``gap`` = (``gap_points`` − yield bump in points) × price sensitivity:

    * target = baseline + price-gap effect · gap + wait effect · max(wait −
      tolerance, 0) + complaint effect · complaints;
    * satisfaction += adjustment · (target − satisfaction) + noise sd · z,
      clipped to [0, 1], with z the row's keyed normal draw under ``noise_key``;
    * wallet target = propensity · stage share · (1 + wallet satisfaction
      effect · (satisfaction − reference)) + wallet price-gap effect · gap
      (when positive), clipped; share of wallet moves toward it by the wallet
      adjustment, and AUM = total wealth · share of wallet.

    Computed in one compiled pass (:func:`sim.kernels.respond_rows`). The
    model's month runs the same arithmetic inside its fused close
    (:func:`sim.kernels.close_month`); this function is its definition,
    checked against it in ``tests/sim/test_kernels.py``.
    """
    r = scenario.response
    params = np.array([
        r.satisfaction_price_gap_effect, r.satisfaction_wait_effect,
        r.satisfaction_complaint_effect, r.wait_tolerance_minutes, r.satisfaction_noise,
        r.satisfaction_adjustment, r.wallet_satisfaction_effect, r.wallet_price_gap_effect,
        r.wallet_adjustment, satisfaction_reference,
    ], dtype=np.float64)
    kernels.respond_rows(
        pop.id, noise_key, pop.stage, float(gap_points), pop.yield_bump_bp,
        pop.price_sensitivity, pop.satisfaction_base, pop.wait_minutes, pop.complaints,
        pop.wallet_propensity, np.asarray(wallet_share_by_stage, np.float64), pop.total_wealth,
        params, pop.satisfaction, pop.share_of_wallet, pop.aum,
    )


def potential_value(
    pop: Population, scenario: Scenario, rows: np.ndarray | slice = slice(None)
) -> np.ndarray:
    """Potential-value score in [0, 1]: youth, digital adoption, wealth held elsewhere.

    DOMAIN §2: A-class potential comes from youth and activity, B-class from
    large assets spread over several banks. Features are scaled to [0, 1]:
    youth = (65 − age)/45; wealth elsewhere = (log10(wealth − AUM) − 4)/3,
    i.e. 0 at 10k CNY and 1 at 10M CNY.
    """
    weights = scenario.segments.potential_weights
    elsewhere = np.maximum(pop.total_wealth[rows] - pop.aum[rows], 0.0)
    features = {
        "youth": np.clip((65.0 - pop.age[rows]) / 45.0, 0.0, 1.0),
        "digital_adoption": pop.digital_adoption[rows],
        "wealth_elsewhere": np.clip((np.log10(1.0 + elsewhere) - 4.0) / 3.0, 0.0, 1.0),
    }
    score = sum(w * features[name] for name, w in weights.items())
    return np.asarray(score) / sum(weights.values())


def potential_weights(scenario: Scenario) -> np.ndarray:
    """The potential score's weights (youth, digital adoption, wealth elsewhere), summing to 1."""
    weights = {str(name): float(w) for name, w in scenario.segments.potential_weights.items()}
    total = sum(weights.values())
    return np.array([weights.get(name, 0.0) / total
                     for name in ("youth", "digital_adoption", "wealth_elsewhere")])


def classify(
    pop: Population, scenario: Scenario, is_customer: np.ndarray, segments_due: bool
) -> None:
    """Recompute AUM tiers (monthly) and A/B/C/D segments (when due)."""
    bounds = np.array([t.min_aum for t in scenario.tiers], np.float64)
    kernels.tiers_rows(is_customer, pop.aum, bounds, pop.tier, pop.segment)
    # Customers are reviewed when due; a customer without a class gets one at once.
    review = is_customer if segments_due else is_customer & (pop.segment < 0)
    seg = scenario.segments
    rows = np.flatnonzero(review)
    # the score of potential_value() (its definition, in NumPy), with the quadrant rule:
    # A low/high, B high/high, C high/low, D low/low (DOMAIN §2), in one compiled pass
    kernels.segment_rows(
        rows, pop.age, pop.digital_adoption, pop.total_wealth, pop.aum, potential_weights(scenario),
        float(seg.potential_threshold), float(seg.current_value_threshold),
        pop.potential_value, pop.segment)
