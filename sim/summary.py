"""Headline figures of a run, with 95% intervals across replications.

Analysis takes the tidy monthly data frame (one row per replication and
month, as written to ``monthly.parquet``) and never imports the model, so it
works just as well on results read back from disk.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["HEADLINE", "UPLIFT_FIGURES", "channel_figures", "per_replication", "summarise",
           "value_range"]

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
    ("channels_visits", "branch visits", "{:,.0f}", 1.0),
    ("channels_mean_wait", "mean wait (minutes)", "{:.2f}", 1.0),
    ("channels_p90_wait", "90th-percentile wait (minutes)", "{:.2f}", 1.0),
    ("channels_share_wait_over_5", "share waiting over 5 minutes", "{:.1%}", 1.0),
    ("channels_balks", "balked visits", "{:,.0f}", 1.0),
    ("channels_reneges", "reneged visits", "{:,.0f}", 1.0),
    ("channels_teller_utilisation", "teller utilisation", "{:.1%}", 1.0),
    ("channels_machine_utilisation", "VTM utilisation", "{:.1%}", 1.0),
    ("channels_rm_utilisation", "RM utilisation", "{:.1%}", 1.0),
    ("channels_contacts_requested", "RM contacts requested", "{:,.0f}", 1.0),
    ("channels_contacts_delivered", "RM contacts delivered", "{:,.0f}", 1.0),
    ("channels_complaints", "complaints received", "{:,.0f}", 1.0),
    ("channels_complaints_late", "complaints handled late (> 3 working days)", "{:,.0f}", 1.0),
    ("staff_cost", "staff, VTM, call-centre and online cost (million CNY)", "{:,.2f}", 1e-6),
)
#: Bank-wide channel metrics summed over the months (the rest are averaged over months).
CHANNEL_COUNTS = ("visits", "balks", "reneges", "complaints", "complaints_late",
                  "call_centre_calls", "rm_minutes", "rm_minutes_used", "contacts_requested",
                  "contacts_delivered", "online_sessions", "online_failed")
#: Bank-wide channel metrics that are a month's mean per event: averaged over the months
#: weighted by that event's count (a month without events reports 0, which must not count).
CHANNEL_EVENT_MEANS = {
    "mean_wait": "visits", "p90_wait": "visits", "share_wait_over_5": "visits",
    "share_wait_over_10": "visits", "complaint_handling_days": "complaints",
    "call_centre_prob_wait": "call_centre_calls", "call_centre_mean_wait": "call_centre_calls",
}
#: Channel costs in the ledger, added up as ``staff_cost``.
CHANNEL_COSTS = ("cost_staff_teller", "cost_staff_relationship_manager",
                 "cost_staff_lobby_manager", "cost_machines_vtm", "cost_call_centre",
                 "cost_online_platform")


#: Per-strategy columns of the terminal and report tables: key (``strategy_<name>_<key>``),
#: short label (terminal), long label (report), format, scale.
STRATEGY_COLUMNS = (
    ("cost", "cost m", "cost (million CNY)", "{:,.2f}", 1e-6),
    ("incremental_profit", "Δprofit m", "incremental profit (million CNY)", "{:,.2f}", 1e-6),
    ("roi", "ROI", "ROI", "{:.2f}", 1.0),
    ("uplift_retention", "Δretained", "retention uplift", "{:+.1%}", 1.0),
    ("uplift_aum_per_customer", "ΔAUM/cust", "AUM uplift per customer (CNY)", "{:+,.0f}", 1.0),
    ("contacts_delivered", "contacts", "contacts delivered", "{:,.0f}", 1.0),
)


def summary_strategies(summary: pd.DataFrame) -> list[str]:
    """Names of the strategies in a summary table (from their ``strategy_<name>_cost`` rows)."""
    return [m.removeprefix("strategy_").removesuffix("_cost") for m in summary.index
            if m.startswith("strategy_") and m.endswith("_cost") and m != "strategy_cost_total"]


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
            if col.startswith(("stage_", "segment_", "tier_", "channel_", "label_")):
                row[f"{col}_end"] = f.loc[end, col]
            if col.startswith(("revenue", "cost", "profit", "strategy_cost_total")):
                row[col] = flows[col].sum()
        if "channels_visits" in f.columns:
            row.update(channel_figures(flows))
        for name in strategy_names(f.columns):
            row.update(strategy_figures(name, f.loc[end], flows))
        rows.append(row)
    return pd.DataFrame(rows)


def channel_figures(flows: pd.DataFrame) -> dict[str, float]:
    """Bank-wide branch and complaint figures of one replication (months 1..end).

    Counts are summed; waits and shares are weighted by the month's visits,
    complaint handling times by its complaints and call-centre waits by its
    calls (:data:`CHANNEL_EVENT_MEANS`); utilisations are averaged over months
    (RM utilisation: minutes used over minutes available); the complaint
    backlog is the last month's.
    """
    out: dict[str, float] = {}
    for col in [c for c in flows.columns if c.startswith("channels_")]:
        name = col.removeprefix("channels_")
        if name in CHANNEL_COUNTS:
            out[col] = flows[col].sum()
        elif name in CHANNEL_EVENT_MEANS:
            events = flows[f"channels_{CHANNEL_EVENT_MEANS[name]}"]
            out[col] = (flows[col] * events).sum() / events.sum() if events.sum() > 0 else 0.0
        elif name == "complaints_backlog":
            out[col] = flows[col].iloc[-1]
        else:
            out[col] = flows[col].mean()
    rm = flows["channels_rm_minutes"].sum()
    out["channels_rm_utilisation"] = flows["channels_rm_minutes_used"].sum() / rm if rm else 0.0
    out["staff_cost"] = sum(flows[c].sum() for c in CHANNEL_COSTS if c in flows.columns)
    return out


def strategy_names(columns: pd.Index) -> list[str]:
    """Strategies present in a monthly frame (from their cost columns)."""
    return [c.removeprefix("cost_strategy_") for c in columns if c.startswith("cost_strategy_")]


#: A strategy's figures that need both a treated and a control group (``strategy_<name>_...``).
UPLIFT_FIGURES = ("uplift_retention", "uplift_aum_per_customer", "uplift_profit_per_customer",
                  "incremental_revenue", "incremental_profit", "roi")


def strategy_figures(name: str, last: pd.Series, flows: pd.DataFrame) -> dict[str, float]:
    """Cost, contacts, and hold-out uplift of one strategy in one replication.

    The cohort is every customer the strategy ever targeted; the hold-out
    (control) share of it was never treated. Per-customer figures divide by
    the cohort sizes, churned members included. Incremental revenue and
    profit scale the per-customer difference to the treated cohort; profit
    subtracts the bank's own costs on those customers and the strategy's
    whole cost. Customers the strategy brought in (referrals) are incremental
    business as a whole: their revenue and the bank's costs on them
    (acquisition included) are added. ROI = incremental profit / strategy
    cost.
    """
    p = f"strategy_{name}"
    u = f"uplift_{name}"
    cost = flows[f"cost_strategy_{name}"].sum()
    out = {
        f"{p}_cost": cost,
        f"{p}_contacts_requested": flows[f"{p}_contacts_requested"].sum(),
        f"{p}_contacts_delivered": flows[f"{p}_contacts_delivered"].sum(),
        f"{p}_customers_treated": last[f"{u}_n_treated"],
        f"{p}_customers_control": last[f"{u}_n_control"],
    }
    brought_revenue = flows[f"{u}_revenue_brought"].sum()
    brought_margin = brought_revenue - flows[f"{u}_cost_brought"].sum()
    out[f"{p}_customers_brought_active"] = last[f"{u}_active_brought"]
    n_t, n_c = last[f"{u}_n_treated"], last[f"{u}_n_control"]
    if n_t > 0 and n_c > 0:
        revenue = (flows[f"{u}_revenue_treated"].sum() / n_t
                   - flows[f"{u}_revenue_control"].sum() / n_c)
        bank_cost = (flows[f"{u}_cost_treated"].sum() / n_t
                     - flows[f"{u}_cost_control"].sum() / n_c)
        profit = (revenue - bank_cost) * n_t + brought_margin - cost
        values = (last[f"{u}_active_treated"] / n_t - last[f"{u}_active_control"] / n_c,
                  last[f"{u}_aum_treated"] / n_t - last[f"{u}_aum_control"] / n_c,
                  (profit - brought_margin) / n_t, revenue * n_t + brought_revenue, profit,
                  profit / cost if cost > 0 else np.nan)
        out.update({f"{p}_{figure}": value
                    for figure, value in zip(UPLIFT_FIGURES, values, strict=True)})
    return out


#: Shares: between 0 and 1 whatever the replications give.
SHARES = ("retention_12m", "retention_end", "channels_share_wait_over_5",
          "channels_share_wait_over_10", "channels_call_centre_prob_wait")
#: Figures that count or add up amounts the ledger books (never negative, ``Ledger.book``).
NON_NEGATIVE = ("annual_attrition_year1", "churned", "acquired", "lapsed", "private_banking_up",
                "private_banking_down", "customers_end", "aum_end", "revenue", "cost",
                "strategy_cost_total", "staff_cost")
NON_NEGATIVE_PREFIXES = ("revenue_", "cost_", "channels_", "stage_", "segment_", "tier_",
                         "channel_", "label_")
#: A strategy's figures (``strategy_<name>_...``) that count or cost; its uplifts,
#: incremental revenue and profit and ROI are differences to the hold-out, of either sign.
STRATEGY_NON_NEGATIVE = ("cost", "contacts_requested", "contacts_delivered",
                         "customers_treated", "customers_control", "customers_brought_active")


def value_range(metric: str) -> tuple[float, float]:
    """The values a per-replication figure can take; its 95% interval is clipped to them.

    A t-interval is symmetric: over two replications churned 0 and 10 gives -58 … 69,
    a bound no count can reach. Profit and a strategy's differences to its hold-out can
    be negative; a figure not listed here is never clipped.
    """
    inf = float("inf")
    if metric in SHARES:
        return 0.0, 1.0
    if metric.startswith("strategy_") and metric != "strategy_cost_total":
        counted = metric.endswith(tuple(f"_{figure}" for figure in STRATEGY_NON_NEGATIVE))
        return (0.0 if counted else -inf), inf
    if metric in NON_NEGATIVE or metric.startswith(NON_NEGATIVE_PREFIXES):
        return 0.0, inf
    return -inf, inf


def summarise(monthly: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% t-interval of every per-replication figure.

    The interval's bounds are clipped to the values the figure can take
    (:func:`value_range`): a count's interval stops at 0, a share's at 0 and 1.

    Returns:
        A frame indexed by metric with columns ``mean``, ``ci95_low``,
        ``ci95_high``, ``sd`` and ``replications``. With one replication the
        interval is undefined (NaN).
    """
    reps = per_replication(monthly).drop(columns="replication")
    n = reps.notna().sum()  # per metric: a replication may lack one (no control group)
    mean = reps.mean()
    sd = reps.std(ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = pd.Series(stats.t.ppf(0.975, n - 1), index=n.index) * sd / np.sqrt(n)
    half[n < 2] = np.nan
    ranges = pd.DataFrame([value_range(str(m)) for m in mean.index], index=mean.index,
                          columns=["low", "high"])
    out = pd.DataFrame({  # NaN (one replication) stays NaN
        "mean": mean, "ci95_low": (mean - half).clip(lower=ranges["low"]),
        "ci95_high": (mean + half).clip(upper=ranges["high"]), "sd": sd,
    })
    out["replications"] = n
    out.index.name = "metric"
    return out
