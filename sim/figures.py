"""Standard figures of a run, drawn from the tidy monthly frame.

Each figure shows the mean across replications and, where there is more
than one replication, a band from the 2.5th to the 97.5th percentile of the
replications.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

__all__ = ["write_figures"]


def _band(ax: plt.Axes, monthly: pd.DataFrame, column: str, label: str) -> None:
    grouped = monthly.groupby("month")[column]
    mean = grouped.mean()
    (line,) = ax.plot(mean.index, mean.values, label=label)
    if monthly["replication"].nunique() > 1:
        low, high = grouped.quantile(0.025), grouped.quantile(0.975)
        ax.fill_between(mean.index, low.values, high.values, color=line.get_color(), alpha=0.2)


def _stages(monthly: pd.DataFrame, title: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for col in [c for c in monthly.columns if c.startswith("stage_")]:
        if monthly[col].abs().sum() > 0:
            _band(ax, monthly, col, col.removeprefix("stage_"))
    ax.set(xlabel="month", ylabel="customers / prospects", title=f"{title}: lifecycle stages")
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    return fig


def _segments(monthly: pd.DataFrame, title: str) -> plt.Figure:
    cols = [c for c in monthly.columns if c.startswith("segment_")]
    mean = monthly.groupby("month")[cols].mean()
    share = mean.div(mean.sum(axis=1).where(lambda s: s > 0), axis=0).fillna(0.0)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    names = {"A": "A growth", "B": "B cultivation", "C": "C potential", "D": "D general"}
    labels = [names.get(c.removeprefix("segment_"), c) for c in cols]
    ax.stackplot(share.index, share.T.values, labels=labels)
    ax.set(xlabel="month", ylabel="share of active customers", ylim=(0, 1),
           title=f"{title}: segment mix (DOMAIN §2 classes)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
    return fig


def _profit(monthly: pd.DataFrame, title: str) -> plt.Figure:
    frame = monthly.sort_values(["replication", "month"]).copy()
    frame["cumulative_profit"] = frame.groupby("replication")["profit"].cumsum() / 1e6
    fig, ax = plt.subplots(figsize=(8, 4.5))
    _band(ax, frame, "cumulative_profit", "cumulative profit")
    ax.set(xlabel="month", ylabel="million CNY", title=f"{title}: cumulative profit")
    ax.grid(alpha=0.3)
    return fig


def _channels(monthly: pd.DataFrame, title: str) -> plt.Figure:
    frame = monthly[monthly["month"] > 0]
    fig, (waits, util) = plt.subplots(1, 2, figsize=(11, 4.5))
    for col, label in (("channels_mean_wait", "mean wait"), ("channels_p90_wait", "90th pct")):
        _band(waits, frame, col, label)
    waits.set(xlabel="month", ylabel="minutes", title=f"{title}: branch waits")
    for col, label in (("channels_teller_utilisation", "tellers"),
                       ("channels_machine_utilisation", "VTMs"),
                       ("channels_rm_utilisation", "RMs"),
                       ("channels_call_centre_utilisation", "call centre")):
        _band(util, frame, col, label)
    util.set(xlabel="month", ylabel="utilisation", ylim=(0, 1.05), title="utilisation")
    for ax in (waits, util):
        ax.legend(loc="best", fontsize="small")
        ax.grid(alpha=0.3)
    return fig


def write_figures(monthly: pd.DataFrame, directory: Path, title: str) -> list[Path]:
    """Write ``stages.png``, ``segments.png``, ``profit.png`` (and ``channels.png``)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    figures = [("stages", _stages), ("segments", _segments), ("profit", _profit)]
    if "channels_visits" in monthly.columns:
        figures.append(("channels", _channels))
    for name, draw in figures:
        fig = draw(monthly, title)
        path = directory / f"{name}.png"
        tmp = path.with_suffix(".tmp.png")
        fig.tight_layout()
        fig.savefig(tmp, dpi=110)
        plt.close(fig)
        tmp.replace(path)
        paths.append(path)
    return paths
