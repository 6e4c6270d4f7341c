"""A branch-month from a sample of its days (ARCHITECTURE decision 4, issue 4 "Speed").

Simulating every visit of every branch every month costs about 10⁻⁵ s per
visit in SimPy (``docs/channels.md``). Instead, give every business day of the
month its own random stream, simulate a simple random sample of ``k`` of those
days (without replacement) and scale:

* a total (visits, balks, reneges, minutes waited, busy minutes) is estimated
  by N·ȳ, N business days, ȳ the sampled days' mean: unbiased for the total
  that simulating all N days would give, whatever the days' distributions
  (design-based), and for its expectation when days are i.i.d. (model-based);
* its standard error is N·s·√((1 − k/N)/k), s the between-day standard
  deviation of the sampled days (finite-population correction: k = N gives 0);
* a ratio (mean wait per visit, share waiting over 5 minutes, utilisation) is
  the ratio of two estimated totals, R = Σy/Σx over the sampled days, with
  bias O(1/k) and delta-method standard error √((1 − k/N)/k)·s_d / x̄,
  d = y − R·x (Cochran 1977, *Sampling Techniques*, ch. 2 and 6).

The argument, its limits and measured errors are written down in
``docs/channels.md``. The model calls it through :mod:`sim.channels`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sim.branch_day import TOTALS, BranchDay, day_totals, draw_visits, simulate_visits

__all__ = [
    "RATIOS",
    "MonthEstimate",
    "day_generators",
    "estimate_from_days",
    "estimate_month",
    "month_ratios",
    "simulate_month",
]

#: Ratio metrics: name -> (numerator total, denominator total), both in :data:`TOTALS`.
RATIOS = {
    "mean_wait": ("wait_minutes", "joined"),
    "share_wait_over_5": ("waited_over_5", "joined"),
    "share_wait_over_10": ("waited_over_10", "joined"),
    "balk_rate": ("balked", "visits"),
    "renege_rate": ("reneged", "visits"),
    "teller_utilisation": ("teller_busy_minutes", "teller_capacity_minutes"),
    "machine_utilisation": ("machine_busy_minutes", "machine_capacity_minutes"),
}


@dataclass(frozen=True)
class MonthEstimate:
    """A branch-month estimated from ``len(sampled_days)`` of ``business_days`` days."""

    business_days: int
    sampled_days: tuple[int, ...]  #: indices of the simulated days, 0-based
    totals: dict[str, float]  #: month totals, keyed by :data:`TOTALS`
    totals_se: dict[str, float]  #: their standard errors
    ratios: dict[str, float]  #: keyed by :data:`RATIOS`; nan where the denominator is 0
    ratios_se: dict[str, float]
    p90_wait: float = float("nan")  #: pooled over sampled days' visits that joined a queue


def day_generators(rng: np.random.Generator, business_days: int) -> list[np.random.Generator]:
    """One independent generator per business day, plus a last one for choosing days.

    Day ``j``'s generator depends only on ``rng``'s seed and ``j``, so a day
    simulated in a sample is the same day as in the full month.
    """
    if business_days < 1:
        raise ValueError(f"business_days must be >= 1, got {business_days}")
    return rng.spawn(business_days + 1)


def estimate_from_days(
    totals: np.ndarray, business_days: int, sampled_days: tuple[int, ...] | None = None
) -> MonthEstimate:
    """Scale the sampled days' totals to the month.

    Args:
        totals: Array of shape (k, len(TOTALS)), one row per sampled day (from :func:`day_totals`).
        business_days: N, business days in the month; k ≤ N.
        sampled_days: Which days were sampled (for the record); defaults to ``0..k-1``.

    Returns:
        Estimated totals and ratios with standard errors (nan when k = 1 < N).
    """
    totals = np.atleast_2d(np.asarray(totals, dtype=float))
    k = totals.shape[0]
    if totals.shape[1] != len(TOTALS) or not 1 <= k <= business_days:
        raise ValueError(
            f"totals must have shape (k, {len(TOTALS)}) with 1 <= k <= {business_days}, "
            f"got {totals.shape}"
        )
    fpc = (1.0 - k / business_days) / k
    col = {name: totals[:, i] for i, name in enumerate(TOTALS)}

    def sd(x: np.ndarray) -> float:
        return 0.0 if k == business_days else float(np.std(x, ddof=1)) if k > 1 else np.nan

    est = {name: business_days * float(x.mean()) for name, x in col.items()}
    est_se = {name: business_days * np.sqrt(fpc) * sd(x) for name, x in col.items()}
    ratios, ratios_se = month_ratios(totals), {}
    for name, (num, den) in RATIOS.items():
        x_bar = float(col[den].mean())
        r = ratios[name]
        spread = sd(col[num] - r * col[den]) if x_bar > 0 else np.nan
        ratios_se[name] = np.sqrt(fpc) * spread / x_bar if x_bar > 0 else np.nan
    return MonthEstimate(
        business_days=business_days,
        sampled_days=tuple(range(k)) if sampled_days is None else tuple(sampled_days),
        totals=est,
        totals_se=est_se,
        ratios=ratios,
        ratios_se=ratios_se,
    )


def month_ratios(totals: np.ndarray) -> dict[str, float]:
    """:data:`RATIOS` of the sampled days' totals (rows from :func:`day_totals`).

    Each is the ratio of the days' sums, NaN where the denominator's mean is not
    positive: :func:`estimate_from_days`' ratios without the totals and standard
    errors, which a cached day pool does not use (3 sampled days, one thread:
    0.274 ms for the estimate, 0.039 ms for the ratios).
    """
    totals = np.atleast_2d(np.asarray(totals, dtype=float))
    ratios = {}
    for name, (num, den) in RATIOS.items():
        top, bottom = totals[:, TOTALS.index(num)], totals[:, TOTALS.index(den)]
        ratios[name] = float(top.sum() / bottom.sum()) if float(bottom.mean()) > 0 else np.nan
    return ratios


def _simulate_days(
    config: BranchDay, generators: list[np.random.Generator], days: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Per-day totals and pooled waits (of visits that joined) for the given days."""
    rows, waits = [], []
    for day in days:
        records = simulate_visits(config, draw_visits(config, generators[day]))
        rows.append(day_totals(config, records))
        waits.append(records.wait[~records.balked])
    return np.array(rows), np.concatenate(waits)


def _p90(waits: np.ndarray) -> float:
    return float(np.quantile(waits, 0.9)) if waits.size else float("nan")


def simulate_month(
    config: BranchDay, business_days: int, rng: np.random.Generator
) -> tuple[np.ndarray, MonthEstimate]:
    """Simulate every business day of the month (the reference the sample is checked against).

    Returns:
        Per-day totals, shape (N, len(TOTALS)), and the exact month (standard errors 0).
    """
    generators = day_generators(rng, business_days)
    days = tuple(range(business_days))
    rows, waits = _simulate_days(config, generators, days)
    return rows, replace(estimate_from_days(rows, business_days, days), p90_wait=_p90(waits))


def estimate_month(
    config: BranchDay, business_days: int, sampled_days: int, rng: np.random.Generator
) -> MonthEstimate:
    """Simulate a random sample of ``sampled_days`` of the month's days and scale to the month.

    With the same ``rng`` seed the sampled days are the very days :func:`simulate_month`
    simulates, so the two agree within the estimate's standard error.
    """
    if not 1 <= sampled_days <= business_days:
        raise ValueError(f"sampled_days must be in 1..{business_days}, got {sampled_days}")
    generators = day_generators(rng, business_days)
    chosen = generators[-1].choice(business_days, size=sampled_days, replace=False)
    days = tuple(sorted(int(d) for d in chosen))
    rows, waits = _simulate_days(config, generators, days)
    return replace(estimate_from_days(rows, business_days, days), p90_wait=_p90(waits))
