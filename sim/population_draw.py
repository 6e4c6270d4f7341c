"""New customers' (or prospects') attributes, drawn as DOMAIN §2 describes A-bank's.

Wealth rises with age; wealthy customers spread their money over several
banks (a lower share of wallet here); the young are digital and active; the
old prefer the branch counter. The exact forms are in :func:`draw_customers`;
the table the rows go into is :class:`sim.population.Population`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import expit, logit

from sim.population import Population

if TYPE_CHECKING:
    from sim.schema import Population as PopulationSpec

__all__ = ["draw_customers"]


def _beta(rng: np.random.Generator, mean: np.ndarray | float, k: float, n: int) -> np.ndarray:
    mean = np.clip(np.broadcast_to(mean, (n,)), 1e-6, 1 - 1e-6)
    return rng.beta(mean * k, (1.0 - mean) * k)


def draw_customers(
    spec: PopulationSpec,
    stages: np.ndarray,
    wallet_share_by_stage: np.ndarray,
    rng: np.random.Generator,
    ids: np.ndarray,
    month: int,
) -> Population:
    """Draw new customers (or prospects) with the attributes of ``spec``.

    Args:
        spec: The scenario's population section.
        stages: Stage index of each new row; its length is the number drawn.
        wallet_share_by_stage: Each stage's ``wallet_share`` multiplier.
        rng: The generator to draw from.
        ids: Customer ids of the new rows (see :func:`sim.streams.customer_ids`).
        month: Month of entry.

    Returns:
        A population of ``len(stages)`` rows.
    """
    n = len(stages)
    age = np.clip(rng.normal(spec.age.mean, spec.age.sd, n), spec.age.min, spec.age.max)
    w = spec.total_wealth
    years_of_saving = np.minimum(age, w.peak_age) - 30
    log_median = np.log(w.median_at_30) + w.growth_per_year_of_age * years_of_saving
    wealth = np.exp(log_median + w.sigma * rng.standard_normal(n))

    d = spec.digital_adoption
    digital = expit(d.logit_at_30 + d.age_slope * (age - 30) + d.noise_sd * rng.standard_normal(n))

    s = spec.share_of_wallet
    sow_mean = expit(
        logit(s.mean)
        + s.wealth_effect * np.log(wealth / w.median_at_30)
        + s.age_effect * (age - 40)
    )
    propensity = _beta(rng, sow_mean, s.concentration, n)

    names = list(spec.channel_preference)
    utility = np.empty((n, len(names)))
    for j, name in enumerate(names):
        u = spec.channel_preference[name]
        utility[:, j] = u.intercept + u.digital * digital + u.age * (age - 40)
    utility += rng.gumbel(size=(n, len(names)))
    channel = utility.argmax(axis=1)

    p = spec.price_sensitivity
    price_mean = expit(logit(p.mean) + p.elsewhere_effect * (0.5 - propensity))
    price_sensitivity = _beta(rng, price_mean, p.concentration, n)

    satisfaction = _beta(rng, spec.satisfaction.mean, spec.satisfaction.concentration, n)
    activity = spec.activity.base_per_month * np.exp(spec.activity.digital_effect * (digital - 0.5))
    products = 1 + rng.poisson(max(spec.products_mean - 1.0, 0.0), n)
    share = propensity * wallet_share_by_stage[stages]
    zeros = np.zeros(n)
    return Population(
        {
            "id": ids,
            "stage": stages,
            "entry_stage": stages,
            "months_in_stage": zeros,
            "tenure": zeros,
            "entered_month": np.full(n, month),
            "absorbed_month": np.full(n, -1),
            "is_initial": np.zeros(n, bool),
            "age": age,
            "total_wealth": wealth,
            "wallet_propensity": propensity,
            "share_of_wallet": share,
            "aum": wealth * share,
            "satisfaction": satisfaction,
            "satisfaction_base": satisfaction,
            "digital_adoption": digital,
            "channel": channel,
            "price_sensitivity": price_sensitivity,
            "activity_rate": activity,
            "branch": rng.integers(0, spec.branches, n),
            "products": products,
            "potential_value": zeros,
            "segment": np.full(n, -1),
            "tier": np.full(n, -1),
            "contacts": zeros,
            "wait_minutes": zeros,
            "complaints": zeros,
            "yield_bump_bp": zeros,
            "payments_month": zeros,
            "payments_ytd": zeros,
            "marketing_opt_out": np.zeros(n, bool),
            "revenue_month": zeros,
            "cost_month": zeros,
        }
    )
