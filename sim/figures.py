"""Standard figures of a run, drawn from the tidy monthly frame.

Each figure shows the mean across replications and, where there is more
than one replication, a band from the 2.5th to the 97.5th percentile of the
replications. Colours come from :mod:`sim.palette` (one colour per stage and
per segment in every figure, the live page included), money is in CNY, and
fonts are sized for a projected slide.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from sim.palette import SEGMENT_NAMES, segment_colour, stage_colours, style_slide

__all__ = ["draw_channels", "draw_profit", "draw_segments", "draw_stages", "drawable_texts",
           "drawable_title", "write_figures"]


def _band(
    ax: plt.Axes, monthly: pd.DataFrame, column: str, label: str, colour: str | None = None
) -> None:
    grouped = monthly.groupby("month")[column]
    mean = grouped.mean()
    (line,) = ax.plot(mean.index, mean.values, label=label, color=colour)
    if monthly["replication"].nunique() > 1:
        low, high = grouped.quantile(0.025), grouped.quantile(0.975)
        ax.fill_between(mean.index, low.values, high.values, color=line.get_color(), alpha=0.2)


def _replicated(monthly: pd.DataFrame) -> pd.DataFrame:
    return monthly if "replication" in monthly.columns else monthly.assign(replication=0)


def draw_stages(monthly: pd.DataFrame, title: str) -> plt.Figure:
    """Customers and prospects in each lifecycle stage, month by month."""
    monthly = _replicated(monthly)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    cols = [c for c in monthly.columns if c.startswith("stage_")]
    colours = stage_colours([c.removeprefix("stage_") for c in cols])
    for col in cols:
        if monthly[col].abs().sum() > 0:
            name = col.removeprefix("stage_")
            _band(ax, monthly, col, name, colours[name])
    ax.set(xlabel="month", ylabel="customers / prospects", title=f"{title}: lifecycle stages")
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    return fig


def draw_segments(monthly: pd.DataFrame, title: str) -> plt.Figure:
    """Share of active customers in each DOMAIN §2 class, month by month."""
    cols = [c for c in monthly.columns if c.startswith("segment_")]
    mean = monthly.groupby("month")[cols].mean()
    share = mean.div(mean.sum(axis=1).where(lambda s: s > 0), axis=0).fillna(0.0)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    keys = [c.removeprefix("segment_") for c in cols]
    labels = [SEGMENT_NAMES.get(k, k) for k in keys]
    ax.stackplot(share.index, share.T.values, labels=labels,
                 colors=[segment_colour(k) for k in keys])
    ax.set(xlabel="month", ylabel="share of active customers", ylim=(0, 1),
           title=f"{title}: segment mix (DOMAIN §2 classes)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
    return fig


def draw_profit(monthly: pd.DataFrame, title: str) -> plt.Figure:
    """Cumulative profit in million CNY."""
    frame = _replicated(monthly).sort_values(["replication", "month"]).copy()
    frame["cumulative_profit"] = frame.groupby("replication")["profit"].cumsum() / 1e6
    fig, ax = plt.subplots(figsize=(8, 4.5))
    _band(ax, frame, "cumulative_profit", "cumulative profit", "#1f5fa8")
    ax.axhline(0, color="#444", linewidth=0.8)
    ax.set(xlabel="month", ylabel="million CNY",
           title=f"{title}: cumulative profit (million CNY)")
    ax.grid(alpha=0.3)
    return fig


def draw_channels(monthly: pd.DataFrame, title: str) -> plt.Figure:
    """Branch waits (minutes) and channel utilisation."""
    monthly = _replicated(monthly)
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


def drawable_title(title: str) -> tuple[str, list[str]]:
    """``title`` as the installed fonts can draw it, and the font families to use.

    A scenario may be named in Chinese (``银行.yaml``). Matplotlib's default
    font has no CJK glyphs: an installed font that has them (Noto Sans CJK,
    WenQuanYi, SimHei, ...) is added as a fallback; characters no installed
    font can draw are left out, rather than drawn as empty boxes with a
    warning for each figure.
    """
    (drawn,), families = drawable_texts([title])
    return drawn, families


def drawable_texts(texts: list[str]) -> tuple[list[str], list[str]]:
    """:func:`drawable_title` for several texts (a figure's labels) at once."""
    from matplotlib import font_manager

    families = list(plt.rcParams["font.family"])
    default = font_manager.get_font(font_manager.findfont(font_manager.FontProperties()))
    missing = {c for text in texts for c in text
               if not c.isspace() and not default.get_char_index(ord(c))}
    if not missing:
        return list(texts), families
    for entry in font_manager.fontManager.ttflist:
        if entry.name.startswith("Last Resort"):  # matplotlib's: a box for every character
            continue
        try:
            font = font_manager.get_font(entry.fname)
        except (OSError, RuntimeError):
            continue
        if all(font.get_char_index(ord(c)) for c in missing):
            return list(texts), [*families, entry.name]
    drawn = ["".join(c for c in text if c not in missing).strip(" -_·") for text in texts]
    return [text or ("scenario" if len(texts) == 1 else f"scenario {i + 1}")
            for i, text in enumerate(drawn)], families


def write_figures(monthly: pd.DataFrame, directory: Path, title: str) -> list[Path]:
    """Write ``stages.png``, ``segments.png``, ``profit.png`` (and ``channels.png``)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    figures = [("stages", draw_stages), ("segments", draw_segments), ("profit", draw_profit)]
    if "channels_visits" in monthly.columns:
        figures.append(("channels", draw_channels))
    slide: Any = style_slide()  # matplotlib types rc keys as literals
    with plt.rc_context(slide):
        title, fonts = drawable_title(title)
    slide["font.family"] = fonts
    for name, draw in figures:
        with plt.rc_context(slide):
            fig = draw(monthly, title)
        path = directory / f"{name}.png"
        tmp = path.with_suffix(".tmp.png")
        fig.tight_layout()
        fig.savefig(tmp, dpi=110)
        plt.close(fig)
        tmp.replace(path)
        paths.append(path)
    return paths
