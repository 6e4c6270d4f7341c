"""Compare scenarios with paired differences (``clmsim compare``).

Every scenario runs with the same seed and replications, so replication *r*
of each scenario shares every random draw where the scenarios do not differ
(common random numbers, ARCHITECTURE decision 5). The difference of each
scenario to the first is taken replication by replication, and its mean gets
a 95% t-interval: far narrower than comparing two independent means.

Layout::

    OUT/compare-<id>/comparison.csv  figures/comparison.png  <scenario>/... (each run)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.executors import ExecutorName
from sim.runner import atomic_write, run_scenario
from sim.schema import Scenario
from sim.summary import per_replication

__all__ = ["METRICS", "METRIC_FORMATS", "compare_scenarios", "comparison_figure",
           "comparison_table", "draw_comparison", "metric_format", "no_difference",
           "paired_interval", "shown"]

#: Metrics compared (per-strategy ROI is added when present).
METRICS = ("retention_12m", "retention_end", "churned", "aum_end", "revenue", "cost", "profit")
#: How each compared metric is shown, in the printed table and the figure: label, format, scale.
METRIC_FORMATS = {
    "retention_12m": ("retention at 12 months", "{:.2%}", 1.0),
    "retention_end": ("retention at the end", "{:.2%}", 1.0),
    "churned": ("customers churned", "{:,.0f}", 1.0),
    "aum_end": ("AUM at the end (m CNY)", "{:,.2f}", 1e-6),
    "revenue": ("revenue (m CNY)", "{:,.2f}", 1e-6),
    "cost": ("total cost (m CNY)", "{:,.2f}", 1e-6),
    "profit": ("profit (m CNY)", "{:,.2f}", 1e-6),
}


def shown(fmt: str, value: float) -> str:
    """``value`` in ``fmt``, without the sign of a number that rounds to zero (``-0``)."""
    text = fmt.format(value)
    return text[1:] if text.startswith("-") and not any(c in "123456789" for c in text) else text


def metric_format(metric: str) -> tuple[str, str, float]:
    """Label, format and scale of a compared metric (a strategy's ROI included)."""
    if metric in METRIC_FORMATS:
        return METRIC_FORMATS[metric]
    if metric.startswith("strategy_") and metric.endswith("_roi"):
        return f"ROI of {metric.removeprefix('strategy_').removesuffix('_roi')}", "{:,.2f}", 1.0
    return metric, "{:,.3f}", 1.0


def no_difference(mean: float, reference_mean: float, reference: str) -> str:
    """What the printed table and the report show for a row without a paired difference.

    ``not in REFERENCE`` when the row's scenario has a value of the metric and the first
    scenario has none (the ROI of a strategy only the row's scenario runs), else ``n/a``.
    """
    return f"not in {reference}" if np.isnan(reference_mean) and not np.isnan(mean) else "n/a"


def paired_interval(diff: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% t-interval of paired differences (NaN interval with one pair)."""
    diff = diff[~np.isnan(diff)]
    n = len(diff)
    mean = float(diff.mean()) if n else float("nan")
    if n < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.975, n - 1) * diff.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half


def _metrics(frames: Sequence[pd.DataFrame]) -> list[str]:
    present = set.intersection(*(set(f.columns) for f in frames)) if frames else set()
    roi = sorted({c for f in frames for c in f.columns
                  if c.startswith("strategy_") and c.endswith("_roi")})
    return [m for m in METRICS if m in present] + roi


def comparison_table(names: Sequence[str], reps: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Mean per scenario and paired difference to the first, per metric.

    Args:
        names: Scenario labels, the reference first.
        reps: Per-replication figures of each scenario (:func:`sim.summary.per_replication`).

    Returns:
        One row per metric and scenario: ``mean``, ``diff`` (scenario − first),
        ``diff_ci95_low``, ``diff_ci95_high``, ``excludes_zero``, ``replications``
        (those with a value of the metric: the mean's) and ``pairs`` (replications
        with a value in both the scenario and the first: the difference's). A
        strategy the first scenario lacks has its ROI's mean over every replication
        but no pairs and no difference; ``replications`` said 0 there, as if the
        strategy had never run.
    """
    ref = reps[0].set_index("replication")
    rows = []
    for metric in _metrics(reps):
        for name, frame in zip(names, reps, strict=True):
            f = frame.set_index("replication")
            col = f[metric] if metric in f else pd.Series(np.nan, index=f.index)
            base = ref[metric] if metric in ref else pd.Series(np.nan, index=ref.index)
            paired = (col - base).dropna().to_numpy(dtype=float)
            diff, low, high = paired_interval(paired)
            rows.append({
                "metric": metric, "scenario": name, "mean": float(col.mean()),
                "diff": diff, "diff_ci95_low": low, "diff_ci95_high": high,
                "excludes_zero": bool(low > 0 or high < 0),
                "replications": int(col.notna().sum()), "pairs": len(paired),
            })
    return pd.DataFrame(rows)


def _labels(scenarios: Sequence[Scenario]) -> list[str]:
    labels: list[str] = []
    for s in scenarios:
        label, k = s.name, 1
        while label in labels:
            k += 1
            label = f"{s.name}-{k}"
        labels.append(label)
    return labels


def compare_scenarios(
    scenarios: Sequence[Scenario],
    out_dir: Path,
    *,
    executor: ExecutorName | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    figures: bool = True,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Run each scenario into ``out_dir/<name>`` and write ``comparison.csv``.

    The scenarios must share seed and replications (the caller sets them).
    ``progress`` is called with a number of months completed, as by
    :func:`sim.runner.run_scenario` (for a progress bar over all scenarios).

    Returns:
        The comparison table (see :func:`comparison_table`).
    """
    seeds = {(s.seed, s.replications) for s in scenarios}
    if len(seeds) != 1:
        raise ValueError("compare: scenarios must share seed and replications")
    labels = _labels(scenarios)
    reps = []
    for label, scenario in zip(labels, scenarios, strict=True):
        result = run_scenario(scenario, out_dir / label, executor=executor, workers=workers,
                              scheduler=scheduler, figures=False, progress=progress)
        reps.append(per_replication(result.monthly))
    table = comparison_table(labels, reps)
    atomic_write(out_dir / "comparison.csv", lambda p: table.to_csv(p, index=False))
    if figures:
        comparison_figure(table, out_dir / "figures" / "comparison.png")
    return table


def comparison_figure(table: pd.DataFrame, path: Path) -> None:
    """Write :func:`draw_comparison` of ``table`` to ``path`` (PNG, atomically)."""
    import matplotlib.pyplot as plt

    fig = draw_comparison(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)


def draw_comparison(table: pd.DataFrame) -> Any:
    """Each metric's paired differences to the first scenario with 95% intervals.

    Labelled and scaled as the printed table (:data:`METRIC_FORMATS`): money in
    million CNY, retention in percent; at most five ticks an axis, so the tick
    labels of a difference in CNY (``-30000-20000-10000``) no longer run together.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.figures import drawable_texts

    first = table["scenario"].iloc[0]
    others = table[table["scenario"] != first]
    drawable = others.groupby("metric", sort=False)["diff"].apply(lambda d: d.notna().any())
    metrics = [m for m in dict.fromkeys(table["metric"]) if drawable.get(m, False)]
    names = list(dict.fromkeys(others["scenario"]))
    labels, fonts = drawable_texts([first, *names])
    with plt.rc_context({"font.family": fonts}):
        return _draw_comparison(others, metrics, names, labels)


def _draw_comparison(others: pd.DataFrame, metrics: list[str], names: list[str],
                     labels: list[str]) -> Any:
    """The figure of :func:`draw_comparison`; ``labels``: the names as the fonts draw them."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    cols = 3
    rows = max(1, -(-len(metrics) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 1.2 + 0.5 * len(names) * rows + rows),
                             squeeze=False)
    for ax, metric in zip(axes.flat, metrics, strict=False):
        label, fmt, scale = metric_format(metric)
        sub = others[others["metric"] == metric].set_index("scenario").reindex(names)
        y = np.arange(len(names))
        diff = scale * sub["diff"]
        err = scale * np.vstack([sub["diff"] - sub["diff_ci95_low"],
                                 sub["diff_ci95_high"] - sub["diff"]])
        ax.errorbar(diff, y, xerr=np.nan_to_num(err), fmt="o", capsize=3)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(y, labels[1:])
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        if fmt.endswith("%}"):
            ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0))
        ax.set_title(label, fontsize=9)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    fig.suptitle(f"difference to {labels[0]} (paired, 95% interval)")
    fig.tight_layout()
    return fig
