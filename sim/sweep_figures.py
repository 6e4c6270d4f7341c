"""Figures of a sweep: sensitivity indices with their confidence intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.runner import atomic_write

__all__ = ["MAX_COLUMNS", "sensitivity_figure"]

#: Panels (one per output) side by side before the figure wraps onto another row.
MAX_COLUMNS = 3


def _common_key_prefix(names: list[str]) -> str:
    """The dotted key path every parameter starts with (``""`` if none)."""
    parts = [n.split(".")[:-1] for n in names]
    common: list[str] = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return ".".join(common)


def sensitivity_figure(table: pd.DataFrame, index: tuple[str, str] | None, path: Path) -> None:
    """Bar chart per output of the design's main index (e.g. Sobol ST) with its interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if index is None:
        return
    value, conf = index
    outputs = list(dict.fromkeys(table["output"]))
    names = list(dict.fromkeys(table["parameter"]))
    prefix = _common_key_prefix(names) if len(names) > 1 else ""
    labels = {n: n.removeprefix(f"{prefix}.") if prefix else n for n in names}
    cols = min(len(outputs), MAX_COLUMNS)  # wrapped: six outputs in a row made a 30-inch strip
    rows = -(-len(outputs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, rows * (1.6 + 0.45 * len(names))),
                             squeeze=False)
    for ax in axes.flat[len(outputs):]:
        ax.axis("off")
    for ax, name in zip(axes.flat, outputs, strict=False):
        sub = table[table["output"] == name]
        y = np.arange(len(sub))
        ax.barh(y, sub[value], xerr=sub[conf], capsize=3, color="#4c78a8")
        ax.set_yticks(y, [labels[n] for n in sub["parameter"]], fontsize=8)
        ax.invert_yaxis()
        ax.set_title(f"{name}: {value} (95% interval)", fontsize=9)
        if sub[value].isna().all():  # the output is missing at some point (sim.sweep.sensitivity)
            ax.text(0.5, 0.5, f"no indices: {name} is\nmissing at some points", ha="center",
                    va="center", transform=ax.transAxes, fontsize=9, color="#666")
    if prefix:
        fig.suptitle(f"parameters under {prefix}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)
