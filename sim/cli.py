"""Command line: ``clmsim run``, ``validate``, ``report``, ``viz``, ``compare``, ``sweep``.

``compare`` and ``sweep`` live in :mod:`sim.cli_experiments`.

Bad input never ends in a traceback: every problem with a scenario, an
override or the output location is one line on standard error naming the
file, key path, value and expectation, and the exit code is 2. Nothing
already in ``results/`` is touched by a run that fails validation.

Exit codes: 0 done, 1 workers lost, 2 bad input, 130 interrupted (Ctrl-C),
143 terminated (SIGTERM, ``kill PID``). ``run``, ``compare`` and ``sweep`` take
SIGTERM as they take Ctrl-C: their worker processes are stopped, the runs
already written are kept, and the exit is one line on standard error.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from sim.cli_experiments import (
    ExperimentInputError,
    add_compare_parser,
    add_sweep_parser,
    month_columns,
    run_compare,
    run_sweep_command,
)
from sim.executors import SchedulerError, WorkerLostError, scheduler_problem
from sim.memory import reuse_freed_memory
from sim.scenario import ScenarioError, load_scenario, scenario_hash
from sim.shards import ShardError, check_shards
from sim.strategy_errors import StrategyError
from sim.summary import HEADLINE, STRATEGY_COLUMNS, summary_strategies
from strategies.registry import StrategyConfigError

__all__ = ["main"]

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1  # a run that failed on good input (its workers kept dying)
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT
EXIT_TERMINATED = 143  # kill PID: 128 + SIGTERM

#: Commands that start worker processes: SIGTERM stops them like Ctrl-C does.
_STOPPABLE = ("run", "compare", "sweep")


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread: every clean-up written for Ctrl-C applies."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


@contextmanager
def _sigterm_as_interrupt(command: str) -> Iterator[None]:
    """Within: SIGTERM raises :class:`_Terminated` (a KeyboardInterrupt) in the main thread.

    Without it ``kill PID`` ends this process at once and leaves its worker
    processes running. The previous handler is restored on leaving (tests call
    :func:`main` in process).
    """
    if command not in _STOPPABLE or threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if old is None else old)


class _UsageError(Exception):
    """A command line argparse rejected (unknown option, missing argument, bad int)."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, like every other bad input."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see {self.prog} --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="clmsim",
        description="Simulate a retail bank's customer lifecycle under marketing strategies.",
        epilog="exit codes: 0 done, 1 workers lost, 2 bad input, 130 interrupted (Ctrl-C), "
               "143 terminated (SIGTERM); finished replications are kept on 1, 130 and 143",
    )
    parser.add_argument("--version", action="version", version=f"clmsim {version('clmsim')}")
    sub = parser.add_subparsers(dest="command", required=True)

    def scenario_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("scenario", type=Path, help="scenario YAML file")
        p.add_argument(
            "--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
            help="override a scenario value, e.g. --set market.bank_yield=0.052 (repeatable)",
        )

    def executor_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--executor", choices=["serial", "processes", "dask"],
                       help="where runs execute (default: processes when it helps)")
        p.add_argument("--workers", type=int, help="worker processes (default: one per core)")
        p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="Dask scheduler to run on (with --executor dask; default: local)")

    run = sub.add_parser("run", help="run a scenario and write results")
    scenario_args(run)
    run.add_argument("--out", type=Path, default=Path("results"),
                     help="results root (default: results); runs go to OUT/<scenario>/<run-id>")
    run.add_argument("--run-id", help="name of the run directory (default: time and scenario hash)")
    run.add_argument("--replications", type=int, help="number of replications (overrides YAML)")
    run.add_argument("--seed", type=int, help="scenario seed (overrides YAML)")
    executor_args(run)
    run.add_argument("--shards", type=int, default=1,
                     help="split the bank by branch into N shards stepped together month by "
                          "month, one per Dask worker with --executor dask (default: 1, unsplit)")
    run.add_argument("--resume", action="store_true",
                     help="continue an interrupted run given by --run-id")
    run.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    run.add_argument("--quiet", action="store_true", help="no progress bar or table")

    add_compare_parser(sub, executor_args)
    add_sweep_parser(sub, executor_args)

    sub.add_parser("validate", help="check a scenario file and exit").set_defaults(validate=True)
    scenario_args(sub.choices["validate"])

    report = sub.add_parser("report", help="write a self-contained report.html for a results dir")
    report.add_argument("results_dir", type=Path, help="a run (or comparison) directory")
    report.add_argument("--out", type=Path,
                        help="where to write (default: RESULTS_DIR/report.html)")

    viz = sub.add_parser("viz", help="open an interactive lifecycle page (Mesa SolaraViz)")
    scenario_args(viz)
    viz.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    viz.add_argument("--port", type=int, default=8765, help="port (default: 8765)")
    return parser


def _fail(message: str) -> int:
    print(f"clmsim: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _load(args: argparse.Namespace) -> object:
    overrides = list(args.overrides)
    flags = {}  # the --set text each option becomes -> how the user wrote it
    for option in ("replications", "seed"):
        value = getattr(args, option, None)
        if value is not None:
            overrides.append(f"{option}={value}")
            flags[f"(from --set {option}={value})"] = f"(from --{option} {value})"
    try:
        return load_scenario(args.scenario, overrides)
    except ScenarioError as exc:
        problems = [(path, _replace_all(msg, flags)) for path, msg in exc.problems]
        raise ScenarioError(exc.source, problems) from None


def _replace_all(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        text = text.replace(old, new)
    return text


def _source(args: argparse.Namespace) -> object:
    return (getattr(args, "scenario", None) or getattr(args, "sweep", None)
            or getattr(args, "scenarios", ["clmsim"])[0])


def _check_executor_options(args: argparse.Namespace) -> str | None:
    """Return what is wrong with ``--workers``, ``--scheduler`` or ``--out``, if anything."""
    if args.workers is not None and args.workers < 1:
        return f"--workers: got {args.workers}; expected an integer >= 1"
    if args.scheduler is not None and args.executor not in (None, "dask"):
        return f"--scheduler: needs --executor dask, got --executor {args.executor}"
    if args.scheduler is not None and args.executor is None:
        args.executor = "dask"
    if args.scheduler is not None and (problem := scheduler_problem(args.scheduler)):
        return problem
    if args.out.exists() and not args.out.is_dir():
        return f"--out {args.out}: is a file, expected a directory"
    return None


def _check_run_options(args: argparse.Namespace) -> str | None:
    """Return what is wrong with ``run``'s own options (not the scenario's), if anything."""
    problem = _check_executor_options(args)
    if problem:
        return problem
    if args.shards < 1:
        return f"--shards: got {args.shards}; expected an integer >= 1"
    if args.resume and not args.run_id:
        return "--resume: expected --run-id naming the run to continue"
    if args.run_id is not None and (
        not args.run_id.strip() or args.run_id in (".", "..") or any(
            sep in args.run_id for sep in ("/", "\\"))
    ):
        return f"--run-id: got {args.run_id!r}; expected a directory name (no '/', not '..')"
    if args.out.exists() and not args.out.is_dir():
        return f"--out {args.out}: is a file, expected a directory"
    return None


def _headline(console: Console, summary: object, run_dir: Path) -> None:
    import pandas as pd

    assert isinstance(summary, pd.DataFrame)
    n = int(summary["replications"].max())
    table = Table(title=f"headline figures (mean and 95% interval over {n} replications)")
    table.add_column("metric")
    table.add_column("mean", justify="right")
    table.add_column("95% interval", justify="right")
    for key, label, fmt, scale in HEADLINE:
        if key not in summary.index:
            continue
        low, mean, high = (scale * summary.loc[key, c] for c in ("ci95_low", "mean", "ci95_high"))
        interval = "" if n < 2 else f"{fmt.format(low)} … {fmt.format(high)}"
        table.add_row(label, fmt.format(mean), interval)
    console.print(table)
    if n > 1:
        console.print("[dim]intervals of counts, costs and shares stop at 0 (and shares at "
                      "100%): the values they can take[/dim]")
    _strategy_table(console, summary, n)
    # soft_wrap: a long path stays on one line (copyable); escape: "[x]" in it is not markup
    console.print(f"results written to [bold]{escape(str(run_dir))}[/bold]", soft_wrap=True)


def _strategy_table(console: Console, summary: Any, n: int) -> None:
    """Per-strategy cost and hold-out uplift (treated minus control), mean and 95% interval."""
    names = summary_strategies(summary)
    if not names:
        return
    table = Table(title="strategies: cost and uplift over the hold-out (treated − control; CNY)")
    table.add_column("strategy")
    for _, label, _, _, _ in STRATEGY_COLUMNS:
        table.add_column(label, justify="right")
    for name in names:
        cells = []
        for key, _, _, fmt, scale in STRATEGY_COLUMNS:
            metric = f"strategy_{name}_{key}"
            if metric not in summary.index or np.isnan(summary.loc[metric, "mean"]):
                cells.append("n/a")
                continue
            mean = fmt.format(scale * summary.loc[metric, "mean"])
            if n > 1 and key not in ("cost", "contacts_delivered"):
                low, high = (scale * summary.loc[metric, c] for c in ("ci95_low", "ci95_high"))
                mean += f"\n[dim]{fmt.format(low)} … {fmt.format(high)}[/dim]"
            cells.append(mean)
        table.add_row(name, *cells)
    console.print(table)
    if any(f"strategy_{s}_uplift_retention" not in summary.index for s in names):
        console.print("[dim]n/a: uplift needs both treated and hold-out customers "
                      "(set holdout between 0 and 1, e.g. 0.1)[/dim]")


def _run(args: argparse.Namespace) -> int:
    from sim.runner import run_scenario

    problem = _check_run_options(args)
    if problem:
        return _fail(problem)
    scenario = _load(args)
    from sim.schema import Scenario

    assert isinstance(scenario, Scenario)
    check_shards(scenario, args.shards)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    run_id = args.run_id or f"{stamp}-{scenario_hash(scenario)[:8]}"
    run_dir = args.out / scenario.name / run_id
    suffix = 1
    while args.run_id is None and run_dir.exists():  # same scenario started in the same second
        suffix += 1
        run_dir = args.out / scenario.name / f"{run_id}-{suffix}"
    if run_dir.exists() and not args.resume:
        return _fail(f"{run_dir}: already exists; choose another --run-id or pass --resume")
    console = Console(stderr=True, quiet=args.quiet)
    total = scenario.horizon_months * scenario.replications
    with Progress(*month_columns(), console=console, disable=args.quiet or not console.is_terminal,
                  transient=True) as bar:
        task = bar.add_task(f"{scenario.name}", total=total)
        result = run_scenario(
            scenario, run_dir, executor=args.executor, workers=args.workers,
            scheduler=args.scheduler, shards=args.shards,
            figures=not args.no_figures, resume=args.resume,
            progress=lambda n: bar.advance(task, n),
        )
    if not args.quiet:
        _headline(Console(), result.summary, result.run_dir)
    else:
        print(result.run_dir)
    return 0


def _command(args: argparse.Namespace) -> int:
    """Run the parsed command; returns its exit code (bad input raises)."""
    if args.command == "report":
        from sim.report import build_report

        try:
            print(build_report(args.results_dir, args.out))
        except FileNotFoundError as exc:
            return _fail(str(exc))
        return 0
    if args.command == "viz":
        from sim.viz.serve import serve

        if not 0 < args.port < 65536:
            return _fail(f"--port: got {args.port}; expected an integer from 1 to 65535")
        _load(args)  # refuse a bad scenario here, in one line, before starting a server
        return serve(args.scenario, list(args.overrides), args.host, args.port)
    if args.command == "validate":
        scenario = _load(args)
        print(f"{args.scenario}: valid ({getattr(scenario, 'name', '')})")
        return 0
    if args.command == "compare":
        problem = _check_executor_options(args)
        return _fail(problem) if problem else run_compare(args)
    if args.command == "sweep":
        problem = _check_executor_options(args)
        return _fail(problem) if problem else run_sweep_command(args)
    return _run(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``clmsim`` command; returns the exit code."""
    reuse_freed_memory()  # large populations: no page faults for every temporary
    try:
        args = _parser().parse_args(argv)
    except _UsageError as exc:
        return _fail(str(exc))
    try:
        with _sigterm_as_interrupt(args.command):
            return _command(args)
    except ScenarioError as exc:
        return _fail(exc.one_line())
    except StrategyConfigError as exc:
        return _fail(f"{_source(args)}: {exc}")
    except ShardError as exc:
        return _fail(str(exc))
    except (ExperimentInputError, SchedulerError) as exc:  # e.g. compare with one scenario
        return _fail(str(exc))
    except FileExistsError as exc:
        return _fail(str(exc))
    except PermissionError as exc:
        return _fail(f"{exc.filename}: permission denied")
    except OSError as exc:  # e.g. a path under --out that is a file, or a full disk
        where = exc.filename or getattr(args, "results_dir", None) or _source(args)
        return _fail(f"{where}: {exc.strerror or exc}")
    except MemoryError as exc:  # NumPy's "Unable to allocate 74.5 GiB for an array ...": exit 1
        need = re.search(r"allocate ([\d.]+ \w+)", str(exc))
        print(f"clmsim: error: out of memory{f' (an array of {need[1]})' if need else ''}; "
              "use a smaller population.size, or spread the bank over Dask workers "
              f"(--shards N --executor dask); {_kept(args)}", file=sys.stderr)
        return EXIT_FAILED
    except (WorkerLostError, BrokenProcessPool) as exc:  # the input was fine: exit 1, not 2
        print(f"clmsim: error: workers lost: {str(exc) or 'a worker process died twice'}; "
              f"{_kept(args)}", file=sys.stderr)
        return EXIT_FAILED
    except StrategyError as exc:  # a strategy plugin raised: the input was fine, exit 1
        print(f"clmsim: error: {exc}; {_kept(args)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (_Terminated): workers are stopped
        how = "terminated" if isinstance(exc, _Terminated) else "interrupted"
        print(f"clmsim: {how}; {_kept(args)}", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(exc, _Terminated) else EXIT_INTERRUPTED


def _kept(args: argparse.Namespace) -> str:
    """What survives a stopped command, and how to go on, for each command."""
    if args.command == "sweep":
        return "finished runs are kept (run the same command again to go on)"
    if args.command == "compare":
        return "finished replications are kept, but a comparison starts afresh"
    return "finished replications are kept (use --resume)"


if __name__ == "__main__":
    sys.exit(main())
