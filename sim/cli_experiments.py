"""Command line for experiments: ``clmsim compare`` (and ``clmsim sweep``).

Kept apart from :mod:`sim.cli` (single runs) so each stays small; the same
one-line error rules apply (exit code 2 on bad input).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sim.scenario import load_scenario

__all__ = ["ExperimentInputError", "add_compare_parser", "run_compare"]


class ExperimentInputError(ValueError):
    """A bad experiment command line, reported as one line with exit code 2."""

#: How each compared metric is shown: label, format, scale.
_FORMATS = {
    "retention_12m": ("retention at 12 months", "{:.2%}", 1.0),
    "retention_end": ("retention at the end", "{:.2%}", 1.0),
    "churned": ("customers churned", "{:,.0f}", 1.0),
    "aum_end": ("AUM at the end (m CNY)", "{:,.2f}", 1e-6),
    "revenue": ("revenue (m CNY)", "{:,.2f}", 1e-6),
    "cost": ("total cost (m CNY)", "{:,.2f}", 1e-6),
    "profit": ("profit (m CNY)", "{:,.2f}", 1e-6),
}


def add_compare_parser(sub: Any, executor_args: Any) -> None:
    """Add ``compare`` to the ``clmsim`` sub-commands."""
    p = sub.add_parser("compare", help="compare scenarios with paired differences")
    p.add_argument("scenarios", type=Path, nargs="+", metavar="SCENARIO",
                   help="scenario YAML files; the first is the reference")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="KEY.PATH=VALUE", help="override a value in every scenario")
    p.add_argument("--replications", type=int, help="replications (default: the first file's)")
    p.add_argument("--seed", type=int, help="seed shared by all (default: the first file's)")
    p.add_argument("--out", type=Path, default=Path("results"),
                   help="results root (default: results); goes to OUT/compare-<id>/")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figure")
    p.add_argument("--quiet", action="store_true", help="no table; print the folder only")
    executor_args(p)


def run_compare(args: argparse.Namespace) -> int:
    """Run ``clmsim compare``; returns the exit code (errors propagate as exceptions)."""
    from sim.compare import compare_scenarios

    if len(args.scenarios) < 2:
        raise ExperimentInputError("compare: expected at least two scenario files")
    first = load_scenario(args.scenarios[0], args.overrides)
    seed = args.seed if args.seed is not None else first.seed
    reps = args.replications if args.replications is not None else first.replications
    shared = [*args.overrides, f"seed={seed}", f"replications={reps}"]
    scenarios = [load_scenario(path, shared) for path in args.scenarios]
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = args.out / f"compare-{stamp}"
    k = 1
    while out.exists():
        k += 1
        out = args.out / f"compare-{stamp}-{k}"
    table = compare_scenarios(scenarios, out, executor=args.executor, workers=args.workers,
                              scheduler=args.scheduler, figures=not args.no_figures)
    if args.quiet:
        print(out)
        return 0
    console = Console()
    _print_table(console, table, reps)
    console.print(f"results written to [bold]{escape(str(out))}[/bold]", soft_wrap=True)
    return 0


def _print_table(console: Console, table: Any, reps: int) -> None:
    names = list(dict.fromkeys(table["scenario"]))
    out = Table(title=f"comparison: mean, and paired difference to {names[0]} "
                      f"with 95% interval ({reps} replications, common seeds)")
    out.add_column("metric")
    for i, name in enumerate(names):
        out.add_column(name if i == 0 else f"{name}\nΔ vs {names[0]}", justify="right")
    for metric, rows in table.groupby("metric", sort=False):
        label, fmt, scale = _FORMATS.get(str(metric), (str(metric), "{:,.3f}", 1.0))
        cells = []
        for _, row in rows.iterrows():
            mean = "n/a" if np.isnan(row["mean"]) else fmt.format(scale * row["mean"])
            if row["scenario"] == names[0]:
                cells.append(mean)
                continue
            if np.isnan(row["diff"]):
                cells.append(f"{mean}\nn/a")
                continue
            diff = fmt.format(scale * row["diff"])
            lo, hi = (fmt.format(scale * row[c]) for c in ("diff_ci95_low", "diff_ci95_high"))
            mark = "[bold]*[/bold]" if row["excludes_zero"] else " "
            cells.append(f"{mean}\n{diff}{mark}\n[dim]{lo} … {hi}[/dim]")
        out.add_row(label, *cells)
    console.print(out)
    console.print("[dim]* the 95% interval of the paired difference excludes zero[/dim]")
