"""Command line for experiments: ``clmsim compare`` and ``clmsim sweep``.

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
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from sim.scenario import ScenarioError, load_scenario

__all__ = [
    "ExperimentInputError",
    "add_compare_parser",
    "add_sweep_parser",
    "month_columns",
    "run_compare",
    "run_sweep_command",
]


def month_columns() -> tuple[ProgressColumn, ...]:
    """The progress bar's columns when it counts simulated months (run, compare)."""
    return (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("months"), TimeRemainingColumn())


class ExperimentInputError(ValueError):
    """A bad experiment command line, reported as one line with exit code 2."""


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
    try:
        scenarios = [load_scenario(path, shared) for path in args.scenarios]
    except ScenarioError as exc:  # name the option the user gave, not the --set it became
        flags = {f"(from --set {name}={value})": f"(from --{name} {value})"
                 for name, value in (("seed", args.seed), ("replications", args.replications))
                 if value is not None}
        problems = [(path, next((msg.replace(old, new) for old, new in flags.items()
                                 if old in msg), msg)) for path, msg in exc.problems]
        raise ScenarioError(exc.source, problems) from None
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = args.out / f"compare-{stamp}"
    k = 1
    while out.exists():
        k += 1
        out = args.out / f"compare-{stamp}-{k}"
    console = Console(stderr=True, quiet=args.quiet)
    total = sum(s.horizon_months * s.replications for s in scenarios)
    with Progress(*month_columns(), console=console, transient=True,
                  disable=args.quiet or not console.is_terminal) as bar:
        task = bar.add_task(f"compare {len(scenarios)} scenarios", total=total)
        table = compare_scenarios(scenarios, out, executor=args.executor, workers=args.workers,
                                  scheduler=args.scheduler, figures=not args.no_figures,
                                  progress=lambda n: bar.advance(task, n))
    if args.quiet:
        print(out)
        return 0
    console = Console()
    _print_table(console, table, reps)
    console.print(f"results written to [bold]{escape(str(out))}[/bold]", soft_wrap=True)
    return 0


def _print_table(console: Console, table: Any, reps: int) -> None:
    from sim.compare import metric_format, no_difference, shown

    names = list(dict.fromkeys(table["scenario"]))
    out = Table(title=f"comparison: mean, and paired difference to {names[0]} "
                      f"with 95% interval ({reps} replications, common seeds)")
    out.add_column("metric")
    for i, name in enumerate(names):
        out.add_column(name if i == 0 else f"{name}\nΔ vs {names[0]}", justify="right")
    for metric, rows in table.groupby("metric", sort=False):
        label, fmt, scale = metric_format(str(metric))
        cells = []
        reference_mean = float(rows["mean"].iloc[0])
        for _, row in rows.iterrows():
            mean = "n/a" if np.isnan(row["mean"]) else fmt.format(scale * row["mean"])
            if row["scenario"] == names[0]:
                cells.append(mean)
                continue
            if np.isnan(row["diff"]):
                why = no_difference(row["mean"], reference_mean, names[0])
                cells.append(f"{mean}\n[dim]{why}[/dim]")
                continue
            diff = shown(fmt, scale * row["diff"])
            if np.isnan(row["diff_ci95_low"]):  # one replication: no interval
                cells.append(f"{mean}\n{diff}\n[dim]no interval[/dim]")
                continue
            lo, hi = (shown(fmt, scale * row[c]) for c in ("diff_ci95_low", "diff_ci95_high"))
            mark = "[bold]*[/bold]" if row["excludes_zero"] else " "
            cells.append(f"{mean}\n{diff}{mark}\n[dim]{lo} … {hi}[/dim]")
        out.add_row(label, *cells)
    console.print(out)
    console.print("[dim]* the 95% interval of the paired difference excludes zero[/dim]")


def add_sweep_parser(sub: Any, executor_args: Any) -> None:
    """Add ``sweep`` to the ``clmsim`` sub-commands."""
    p = sub.add_parser("sweep", help="run a parameter sweep (grid, lhs, sobol, morris)")
    p.add_argument("sweep", type=Path, help="sweep YAML file (see scenarios/sweeps/)")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="KEY.PATH=VALUE", help="override a value of the sweep file, "
                   "e.g. --set samples=64 or --set "
                   "parameters.market.competitor_yield.range=[0.05,0.056] (repeatable)")
    p.add_argument("--out", type=Path, default=Path("results") / "sweeps",
                   help="root of sweep folders (default: results/sweeps); goes to OUT/<name>/; "
                   "re-running resumes it")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figure")
    p.add_argument("--quiet", action="store_true", help="no progress bar; print the folder")
    executor_args(p)


class _RateColumn(ProgressColumn):
    """Runs finished per second (nothing for the check of the design points)."""

    def render(self, task: Any) -> Text:
        speed = task.finished_speed or task.speed
        unit = task.fields.get("unit", "runs")
        return Text("" if speed is None or unit != "runs" else f"{speed:.2f} runs/s")


#: Design points from which their check (about 0.15 ms a point) gets a progress bar.
CHECK_BAR_POINTS = 5000


def run_sweep_command(args: argparse.Namespace) -> int:
    """Run ``clmsim sweep``; returns the exit code."""
    from sim.sweep import run_sweep
    from sim.sweep_schema import load_sweep

    console = Console(stderr=True, quiet=args.quiet)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[unit]}"), _RateColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=args.quiet or not console.is_terminal,
                  transient=True) as bar:
        checking: list[Any] = []

        def check_tick(done: int, total: int) -> None:
            if total < CHECK_BAR_POINTS:
                return
            if not checking:
                checking.append(bar.add_task("checking the design", total=total,
                                             unit="points"))
            bar.update(checking[0], completed=done)

        # points already run in the sweep's folder are not checked again
        spec, base = load_sweep(args.sweep, args.overrides, resume_in=args.out,
                                progress=check_tick)
        for task_id in checking:
            bar.remove_task(task_id)
        sweep_dir = args.out / spec.name
        task = bar.add_task(spec.name, total=None, unit="runs")

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        out = run_sweep(spec, base, sweep_dir, executor=args.executor or "processes",
                        workers=args.workers, scheduler=args.scheduler, progress=tick,
                        figures=not args.no_figures)
    if args.quiet:
        print(sweep_dir)
        return 0
    import pandas as pd

    runs = pd.read_parquet(out)
    console = Console()
    console.print(f"{len(runs):,} runs of {spec.design} sweep [bold]{escape(spec.name)}[/bold] "
                  f"written to [bold]{escape(str(out))}[/bold]", soft_wrap=True)
    sens = sweep_dir / "sensitivity.csv"
    if sens.exists():
        console.print(f"sensitivity indices: [bold]{escape(str(sens))}[/bold]", soft_wrap=True)
        table = pd.read_csv(sens)
        missing = list(dict.fromkeys(table.loc[table.drop(columns=["output", "parameter"])
                                               .isna().all(axis=1), "output"]))
        means = runs.groupby("point")[missing].mean()
        same = [m for m in missing if means[m].notna().all() and means[m].nunique() == 1]
        gone = [m for m in missing if m not in same]
        if gone:
            console.print(f"[dim]no indices for {escape(', '.join(gone))}: missing at some "
                          "points (e.g. retention_12m of a run shorter than 12 months)[/dim]")
        if same:
            console.print(f"[dim]no indices for {escape(', '.join(same))}: the same at every "
                          "point (no swept parameter changes it)[/dim]")
    return 0
