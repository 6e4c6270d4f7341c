"""Headline figures of a run, with 95% intervals across replications.

Analysis takes the tidy monthly data frame (one row per replication and
month, as written to ``monthly.parquet``) and never imports the model, so it
works just as well on results read back from disk.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["HEADLINE", "per_replication", "summarise"]

#: Metrics printed after a run, in order: key, label, format, scale applied before formatting.
HEADLINE = (
    ("retention_12m", "retention at 12 months", "{:.1%}", 1.0),
    ("retention_end", "retention at the end", "{:.1%}", 1.0),
    ("annual_attrition_year1", "attrition in year 1", "{:.1%}", 1.0),
    ("churned", "customers churned", "{:,.0f}", 1.0),
    ("acquired", "customers acquired", "{:,.0f}", 1.0),
    ("customers_end", "active customers at the end", "{:,.0f}", 1.0),
    ("aum_end", "AUM at the end (million CNY)", "{:,.1f}", 1e-6),
    ("revenue", "revenue (million CNY)", "{:,.1f}", 1e-6),
    ("cost", "total cost (million CNY)", "{:,.1f}", 1e-6),
    ("profit", "profit (million CNY)", "{:,.1f}", 1e-6),
)


def per_replication(monthly: pd.DataFrame) -> pd.DataFrame:
    """One row per replication with its headline figures.

    Retention follows the cohort of customers active at month 0: the share
    of them still active at month 12 and at the horizon. Attrition in year 1
    is customers churned in months 1-12 over customers active at month 0.
    """
    rows = []
    for rep, frame in monthly.groupby("replication", sort=True):
        f = frame.sort_values("month").set_index("month")
        start, end = f.index.min(), f.index.max()
        cohort = f.loc[start, "initial_customers_active"]
        row: dict[str, float] = {"replication": float(rep)}
        if end >= 12:
            row["retention_12m"] = f.loc[12, "initial_customers_active"] / cohort
            row["annual_attrition_year1"] = f.loc[1:12, "churned"].sum() / f.loc[start, "customers"]
        row["retention_end"] = f.loc[end, "initial_customers_active"] / cohort
        flows = f.loc[start + 1 :]
        for col in ("churned", "acquired", "lapsed", "private_banking_up", "private_banking_down"):
            row[col] = flows[col].sum()
        row["customers_end"] = f.loc[end, "customers"]
        row["aum_end"] = f.loc[end, "aum"]
        for col in f.columns:
            if col.startswith(("stage_", "segment_", "tier_", "channel_")):
                row[f"{col}_end"] = f.loc[end, col]
            if col.startswith(("revenue", "cost", "profit")):
                row[col] = flows[col].sum()
        rows.append(row)
    return pd.DataFrame(rows)


def summarise(monthly: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% t-interval of every per-replication figure.

    Returns:
        A frame indexed by metric with columns ``mean``, ``ci95_low``,
        ``ci95_high``, ``sd`` and ``replications``. With one replication the
        interval is undefined (NaN).
    """
    reps = per_replication(monthly).drop(columns="replication")
    n = len(reps)
    mean = reps.mean()
    sd = reps.std(ddof=1) if n > 1 else pd.Series(np.nan, index=reps.columns)
    half = stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n) if n > 1 else sd
    out = pd.DataFrame(
        {"mean": mean, "ci95_low": mean - half, "ci95_high": mean + half, "sd": sd}
    )
    out["replications"] = n
    out.index.name = "metric"
    return out
