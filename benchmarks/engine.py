"""Engine benchmark: customer-months per second, vectorised model vs one agent per customer.

Runs the full model on one scenario (default ``scenarios/baseline.yaml``;
``--playbook`` for ``scenarios/abc_d_playbook.yaml``, the A/B/C/D playbook's
seven strategies; ``--scenario PATH`` for any) — every step of
:meth:`sim.model.LifecycleModel.step`, data collection included — at several
population sizes, and :class:`benchmarks.reference_agents.ReferenceModel` —
the same monthly dynamics and the same strategies with one ``mesa.Agent`` per
customer (strategies in :mod:`benchmarks.reference_strategies`) — on the same
scenario in the same process, and prints the ratio of their speeds
(ARCHITECTURE decision 1; issue 7: at least 30× on the playbook).

The reference does not model channels (branches, waits, complaints): on a
scenario with a ``channels`` section (``--channels``) it runs the same
scenario without them, so that ratio is not like for like. Issue 7's ratio is
measured with ``--playbook``; its wall-time target (1M customers × 120 months
in under 15 s) with ``--playbook --channels`` (``scenarios/playbook_branches.yaml``).

Scaling: a size of ``N`` customers scales the scenario's prospects (26,000),
monthly prospect arrivals (2,340), RM hours (``capacity``, 4,200 a month) and
every strategy's monthly and total budget by ``N / 148,300``, rounded to three
significant figures (1,000,000 customers → 175,000 prospects and 15,800
arrivals a month), so every size is the same bank in the same equilibrium,
with budgets and staff binding as hard; with channels the branch count scales
too.

Definition: a **customer-month** is one live row — a customer or a prospect,
not yet churned or lapsed — processed by one month's step: the rows live at
the start of the month plus the prospects arriving during it (both models
move arrivals through response and lifecycle in their first month). Rows the
vectorised table still holds for absorbed customers (until it compacts) do
not count, nor do absent agents in the reference. Both models are counted the
same way, from outside the timed region. **Rate** = customer-months / seconds
spent inside ``model.step()``; building the model is timed separately, and
the "wall" time is build plus steps.

A per-agent model costs no less per customer-month at larger sizes (measured:
a little more, as Python's garbage collector walks more objects), so the
reference runs smaller (default 20,000 customers × 24 months) and rates per
customer-month are compared; this favours the reference. The machine's other
load during each run is measured from ``/proc/stat`` and printed, since a busy
neighbour on a 2-core machine slows a run by up to 2×; ``--repeat N`` keeps the
fastest of N runs. Usage::

    python benchmarks/engine.py                      # 100k and 1M × 120 months
    python benchmarks/engine.py --quick              # seconds; used by the tests
    python benchmarks/engine.py --sizes 250000 --months 60 --save
    python benchmarks/engine.py --playbook           # issue 7's ratio: the playbook's strategies
    python benchmarks/engine.py --playbook --channels --sizes 1000000   # issue 7's wall time
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console
from rich.table import Table

from benchmarks.reference_agents import ReferenceModel
from sim.memory import reuse_freed_memory
from sim.model import LifecycleModel
from sim.scaling import scale_overrides
from sim.scenario import load_scenario
from sim.schema import Scenario

__all__ = ["Measurement", "Report", "baseline_overrides", "main", "measure", "reference_live",
           "run_benchmark", "timed_months", "vectorised_live"]

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
BRANCHES = ROOT / "scenarios" / "branches.yaml"
PLAYBOOK = ROOT / "scenarios" / "abc_d_playbook.yaml"
PLAYBOOK_BRANCHES = ROOT / "scenarios" / "playbook_branches.yaml"
RESULTS = ROOT / "benchmarks" / "results"
#: Targets of issue 7: 1M customers × 120 months of the playbook in the bank with
#: branches (``playbook_branches``) in under 15 s wall (at least 8M customer-months
#: a second), and at least 30× the per-agent reference's speed per customer-month
#: with the same transitions and strategies (``abc_d_playbook``).
TARGET_WALL_SECONDS = 15.0
TARGET_WALL_RATE = 8e6
TARGET_WALL_SIZE, TARGET_WALL_MONTHS = 1_000_000, 120
TARGET_WALL_SCENARIO = "playbook_branches"
TARGET_RATIO = 30.0
TARGET_RATIO_SCENARIO = "abc_d_playbook"
QUICK = {"sizes": [5_000], "months": 6, "reference_size": 2_000, "reference_months": 6}


@dataclass
class Measurement:
    """Speed and memory of one model run.

    Attributes:
        engine: ``"vectorised"`` or ``"per-agent reference"``.
        customers: Customers at month 0 (``population.size``).
        prospects: Prospects at month 0.
        arrivals_per_month: Mean prospect arrivals a month.
        months: Months simulated.
        customer_months: Live rows processed, summed over months (see module docstring).
        build_seconds: Time to build the model (draw the population).
        step_seconds: Time spent inside ``model.step()``.
        bytes_per_row: Vectorised: bytes of the population arrays per table row.
            Reference: bytes traced by ``tracemalloc`` while building, per agent.
        step_peak_bytes_per_row: Vectorised only: peak memory allocated during one
            further (untimed) month, per table row (``tracemalloc``: a month whose
            arrivals outgrow the spare room, or that compacts, counts the table's
            new buffers, about the table's size, though the old ones are freed).
        background_cores: CPU used by *other* processes on the machine while
            this run stepped, in cores (from ``/proc/stat``; ``None`` elsewhere).
            More than a few tenths means the timing is pessimistic.
        all_rates: Rates of every repeat (``--repeat``); the fields above are
            from the fastest.
        channel_seconds: Seconds of ``step_seconds`` spent in the channels
            (``ChannelSystem.serve``); ``None`` without a ``channels`` section.
        channel_days_simulated: Branch-days simulated in SimPy (cache misses × k).
        step_cpu_seconds: CPU time of this process (all its threads) while it
            stepped; below ``step_seconds`` when other processes took the cores.
    """

    engine: str
    customers: int
    prospects: int
    arrivals_per_month: float
    months: int
    customer_months: int
    build_seconds: float
    step_seconds: float
    bytes_per_row: float
    step_peak_bytes_per_row: float | None = None
    background_cores: float | None = None
    all_rates: list[float] = field(default_factory=list)
    channel_seconds: float | None = None
    channel_days_simulated: int | None = None
    step_cpu_seconds: float | None = None

    @property
    def channel_share(self) -> float | None:
        """Share of the stepping time spent in the channels (None without channels)."""
        return None if self.channel_seconds is None else self.channel_seconds / self.step_seconds

    @property
    def rate(self) -> float:
        """Customer-months per second of stepping."""
        return self.customer_months / self.step_seconds

    @property
    def wall_seconds(self) -> float:
        """Build plus steps."""
        return self.build_seconds + self.step_seconds


@dataclass
class Report:
    """All measurements of one benchmark run, with where and when they were taken."""

    vectorised: list[Measurement]
    reference: Measurement
    machine: dict[str, Any] = field(default_factory=dict)
    #: The scenario's ``name`` (both models ran it) and whether it has channels,
    #: which only the vectorised model simulates.
    scenario: str = "baseline"
    channels: bool = False

    @property
    def ratio_target_applies(self) -> bool:
        """Whether this is issue 7's ratio scenario (the playbook, no channels)."""
        return self.scenario == TARGET_RATIO_SCENARIO

    @property
    def wall_target_applies(self) -> bool:
        """Whether this is issue 7's wall-time scenario (the playbook with branches)."""
        return self.scenario == TARGET_WALL_SCENARIO

    @property
    def headline(self) -> Measurement:
        """The largest vectorised run (the one the ratio is quoted for)."""
        return max(self.vectorised, key=lambda m: (m.customers, m.months))

    @property
    def ratio(self) -> float:
        """Vectorised rate at the largest size over the reference's rate."""
        return self.headline.rate / self.reference.rate

    def target_wall(self) -> Measurement | None:
        """The 1M × 120 run, if it was measured (on whatever scenario)."""
        return next(
            (m for m in self.vectorised
             if m.customers == TARGET_WALL_SIZE and m.months == TARGET_WALL_MONTHS),
            None,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, rates and ratios included."""

        def row(m: Measurement) -> dict[str, Any]:
            return {**asdict(m), "rate": m.rate, "wall_seconds": m.wall_seconds,
                    "channel_share": m.channel_share}

        wall = self.target_wall()
        return {
            "machine": self.machine,
            "definition": "customer-month = live (customer or prospect) row processed by one "
            "month's step; rate = customer-months / seconds inside model.step()",
            "scenario": self.scenario,
            "reference_without_channels": self.channels,
            "vectorised": [row(m) for m in self.vectorised],
            "reference": row(self.reference),
            "ratio": self.ratio,
            "ratio_is_for": {"vectorised_customers": self.headline.customers,
                             "reference_customers": self.reference.customers},
            "targets": {
                "ratio_scenario": TARGET_RATIO_SCENARIO,
                "ratio_min": TARGET_RATIO,
                "ratio_met": (self.ratio >= TARGET_RATIO) if self.ratio_target_applies else None,
                "wall_scenario": TARGET_WALL_SCENARIO,
                "wall_1m_120_max_seconds": TARGET_WALL_SECONDS,
                "wall_1m_120_min_rate": TARGET_WALL_RATE,
                "wall_1m_120_seconds": wall.wall_seconds if wall else None,
                "wall_met": (wall.wall_seconds < TARGET_WALL_SECONDS
                             and wall.rate >= TARGET_WALL_RATE)
                if wall and self.wall_target_applies else None,
            },
        }


def baseline_overrides(size: int, months: int, path: Path = BASELINE) -> list[str]:
    """Overrides that scale the scenario's bank to ``size`` customers for ``months``.

    Everything counted for the whole bank scales with the population, to
    three significant figures (:func:`sim.scaling.scale_overrides`): prospects,
    arrivals, RM hours, strategy budgets and, with channels, branches,
    call-centre agents, online capacity and complaint handlers.
    """
    return [*scale_overrides(load_scenario(path), size, digits=3), f"horizon_months={months}"]


def vectorised_live(model: LifecycleModel) -> int:
    pop = model.population
    return len(pop) - int(model.is_absorbing_stage[pop.stage].sum())


def reference_live(model: ReferenceModel) -> int:
    return len(model.agents)


def _machine_busy_seconds() -> float | None:
    """CPU seconds all processes have used since boot (Linux ``/proc/stat``), else None."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def timed_months(
    model: Any, months: int, live_rows: Callable[[Any], int]
) -> tuple[int, float, float | None, float]:
    """Step ``months`` times.

    Returns:
        Customer-months processed, seconds inside ``step``, the mean number
        of cores other processes kept busy meanwhile (None if unknown), and
        this process's CPU seconds over the months.
    """
    customer_months, seconds = 0, 0.0
    busy, own, wall = _machine_busy_seconds(), time.process_time(), time.perf_counter()
    for _ in range(months):
        live, arrivals = live_rows(model), model.tally["arrivals"]
        start = time.perf_counter()
        model.step()
        seconds += time.perf_counter() - start
        customer_months += live + model.tally["arrivals"] - arrivals
    busy_after, own = _machine_busy_seconds(), time.process_time() - own
    background = None
    if busy is not None and busy_after is not None:
        others = (busy_after - busy) - own
        background = max(others, 0.0) / (time.perf_counter() - wall)
    return customer_months, seconds, background, own


def measure(scenario: Scenario, months: int, engine: str) -> Measurement:
    """Build and run one model on ``scenario`` and measure it.

    Args:
        scenario: The (scaled) scenario.
        months: Months to simulate.
        engine: ``"vectorised"`` or ``"reference"``.
    """
    spec = scenario.population
    common = {
        "customers": spec.size,
        "prospects": spec.prospects,
        "arrivals_per_month": scenario.market.prospect_arrivals_per_month,
        "months": months,
    }
    if engine == "reference":
        tracemalloc.start()
        start = time.perf_counter()
        reference = ReferenceModel(scenario)
        build = time.perf_counter() - start
        traced, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows = len(reference.agents)
        start = time.perf_counter()  # build again untraced: tracing slows allocation
        reference = ReferenceModel(scenario)
        build = time.perf_counter() - start
        customer_months, seconds, background, cpu = timed_months(
            reference, months, reference_live)
        return Measurement("per-agent reference", **common, customer_months=customer_months,
                           build_seconds=build, step_seconds=seconds, bytes_per_row=traced / rows,
                           background_cores=background, step_cpu_seconds=cpu)
    start = time.perf_counter()
    model = LifecycleModel(scenario)
    build = time.perf_counter() - start
    customer_months, seconds, background, cpu = timed_months(model, months, vectorised_live)
    channels = model.channels
    channel_seconds = channels.seconds if channels is not None else None
    days = channels.days_simulated if channels is not None else None
    rows = len(model.population)
    table_bytes = model.population.nbytes  # spare room for appends included
    tracemalloc.start()
    model.step()  # one untimed month, to see the working memory of a step
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Measurement("vectorised", **common, customer_months=customer_months,
                       build_seconds=build, step_seconds=seconds,
                       bytes_per_row=table_bytes / rows,
                       step_peak_bytes_per_row=peak / rows, background_cores=background,
                       step_cpu_seconds=cpu,
                       channel_seconds=channel_seconds, channel_days_simulated=days)


def machine_info() -> dict[str, Any]:
    """Where and when: date, CPU, cores, versions, git commit of the code measured."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def git(*args: str) -> str:
        try:
            out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                 timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return ""
        return out.stdout.strip()

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": version("numpy"),
        "mesa": version("mesa"),
        "commit": git("rev-parse", "--short", "HEAD"),
        "sim_modified": bool(
            git("status", "--porcelain", "--untracked-files=no", "--", "sim", "strategies")
        ),
    }


def run_benchmark(
    sizes: Sequence[int],
    months: int,
    reference_size: int,
    reference_months: int,
    scenario_path: Path = BASELINE,
    repeat: int = 1,
    on_measured: Callable[[Measurement], None] | None = None,
) -> Report:
    """Measure the vectorised model at each size and the per-agent reference.

    Each run is repeated ``repeat`` times and the fastest kept (as ``timeit``
    does: slower repeats measure other load on the machine, not the code).
    """

    def best_of(size: int, n_months: int, engine: str) -> Measurement:
        scenario = load_scenario(scenario_path, baseline_overrides(size, n_months, scenario_path))
        runs = []
        for _ in range(repeat):
            runs.append(measure(scenario, n_months, engine))
            if on_measured:
                on_measured(runs[-1])
        best = max(runs, key=lambda m: m.rate)
        best.all_rates = [m.rate for m in runs]
        return best

    vectorised = [best_of(size, months, "vectorised") for size in sizes]
    reference = best_of(reference_size, reference_months, "reference")
    info = machine_info()
    info["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    scenario = load_scenario(scenario_path)
    return Report(vectorised, reference, info, scenario=scenario.name,
                  channels=scenario.channels is not None)


def render(report: Report, console: Console) -> None:
    """Print the measurements as a table, then the ratio and the targets."""
    info = report.machine
    table = Table(title=f"clmsim engine benchmark on {report.scenario} — {info['date']} — "
                        f"{info['cpu']}, "
                        f"{info['cores']} cores, commit {info['commit']}"
                        + (" (sim/ modified)" if info["sim_modified"] else ""))
    for header in ("engine", "customers", "months", "customer-months", "build s", "step s",
                   "wall s", "cm/s", "bytes/row", "other load", "channels"):
        table.add_column(header, justify="left" if header == "engine" else "right")
    for m in [*report.vectorised, report.reference]:
        table.add_row(m.engine, f"{m.customers:,}", str(m.months), f"{m.customer_months:,}",
                      f"{m.build_seconds:.2f}", f"{m.step_seconds:.2f}", f"{m.wall_seconds:.2f}",
                      f"{m.rate / 1e6:.3f} M", f"{m.bytes_per_row:,.0f}",
                      "?" if m.background_cores is None else f"{m.background_cores:.1f} cores",
                      "" if m.channel_share is None else
                      f"{m.channel_seconds:.1f} s = {m.channel_share:.0%}")
    console.print(table)
    ref, top = report.reference, report.headline
    if report.ratio_target_applies:
        target = (f"issue 7 target ≥ {TARGET_RATIO:.0f}×: "
                  + ("met" if report.ratio >= TARGET_RATIO else "NOT met"))
    else:
        target = (f"issue 7's target, ≥ {TARGET_RATIO:.0f}×, is for {TARGET_RATIO_SCENARIO}: "
                  "--playbook")
    console.print(
        f"ratio per customer-month: {report.ratio:.1f}× on {report.scenario} (vectorised at "
        f"{top.customers:,} customers / per-agent reference; {target})",
        soft_wrap=True,
    )
    if report.channels:
        console.print(
            f"The per-agent reference does not model channels: it ran {report.scenario} without "
            "its branches, call centre and complaints (RM contacts from "
            "capacity.rm_hours_per_month), so this ratio is not like for like.",
            soft_wrap=True,
        )
    console.print(
        f"The reference ran at {ref.customers:,} customers × {ref.months} months: a per-agent "
        "model's cost per customer-month does not fall with size (it rises a little, as the "
        "garbage collector walks more objects), so comparing with a smaller reference is "
        "conservative.",
        soft_wrap=True,
    )
    for m in report.vectorised:
        console.print(f"ratio at {m.customers:,} customers: {m.rate / ref.rate:.1f}×",
                      soft_wrap=True)
    wall = report.target_wall()
    if wall is not None:
        goal = (f"< {TARGET_WALL_SECONDS:.0f} s wall and ≥ {TARGET_WALL_RATE / 1e6:.0f} M "
                "customer-months/s")
        if report.wall_target_applies:
            met = wall.wall_seconds < TARGET_WALL_SECONDS and wall.rate >= TARGET_WALL_RATE
            target = f"issue 7 target {goal}: " + ("met" if met else "NOT met")
        else:
            target = (f"issue 7's target, {goal}, is for {TARGET_WALL_SCENARIO}: "
                      "--playbook --channels")
        console.print(f"1,000,000 customers × 120 months of {report.scenario}: "
                      f"{wall.wall_seconds:.1f} s wall, {wall.rate / 1e6:.2f} M customer-months/s "
                      f"({target})", soft_wrap=True)
    for m in report.vectorised:
        if m.channel_share is not None and m.channel_seconds is not None:
            met = "met" if m.channel_share <= 1 / 3 else "NOT met"
            console.print(f"channels at {m.customers:,} × {m.months}: {m.channel_seconds:.1f} s "
                          f"of {m.step_seconds:.1f} s stepping = {m.channel_share:.1%} "
                          f"(target ≤ 33%: {met}); {m.channel_days_simulated:,} branch-days "
                          "simulated in SimPy", soft_wrap=True)
    if top.step_peak_bytes_per_row is not None:
        console.print(
            f"memory at {top.customers:,} customers: {top.bytes_per_row:.0f} bytes/row of "
            f"population arrays, +{top.step_peak_bytes_per_row:.0f} bytes/row allocated at "
            "most during one more step (a month whose arrivals outgrow the table's spare room "
            "counts the table's new buffers too, ≈ the table's size); "
            f"reference {ref.bytes_per_row:,.0f} bytes/agent; "
            f"peak RSS {info['peak_rss_mb']:,.0f} MB",
            soft_wrap=True,
        )


def save(report: Report, directory: Path = RESULTS) -> Path:
    """Write the report as ``engine-<date>T<hhmm>-<scenario>.json`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = report.machine["date"][:16].replace(":", "")
    path = directory / f"engine-{stamp}-{report.scenario}.json"
    path.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
    return path


def _count(text: str) -> int:
    return int(float(text.replace("_", "").replace(",", "")))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=_count, default=[100_000, 1_000_000],
                        help="customers at month 0 of each vectorised run "
                        "(default 100000 1000000)")
    parser.add_argument("--months", type=int, default=120, help="months per vectorised run")
    parser.add_argument("--reference-size", type=_count, default=20_000,
                        help="customers for the per-agent reference (default 20000)")
    parser.add_argument("--reference-months", type=int, default=24,
                        help="months for the per-agent reference (default 24)")
    parser.add_argument("--scenario", type=Path, default=BASELINE,
                        help="scenario to scale; both models run it (default baseline)")
    parser.add_argument("--playbook", action="store_true",
                        help="scale scenarios/abc_d_playbook.yaml: the A/B/C/D playbook's seven "
                        "strategies (issue 7's ratio)")
    parser.add_argument("--channels", action="store_true",
                        help="scale scenarios/branches.yaml (branches on; branches scale with "
                        "the customers) and report the share of step time in the channels; "
                        "with --playbook, scenarios/playbook_branches.yaml (issue 7's wall time)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each measurement N times and keep the fastest (default 1)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, a few seconds (overrides the sizes and months)")
    parser.add_argument("--save", action="store_true",
                        help="write the measurements to "
                        f"{RESULTS.relative_to(ROOT)}/engine-<date>T<hhmm>-<scenario>.json")
    args = parser.parse_args(argv)
    if args.playbook or args.channels:
        args.scenario = {(True, False): PLAYBOOK, (False, True): BRANCHES,
                         (True, True): PLAYBOOK_BRANCHES}[(args.playbook, args.channels)]
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table and the ratio; return the exit status."""
    args = parse_args(argv)
    reuse_freed_memory()  # as clmsim does (sim/memory.py)
    console = Console(width=None if sys.stdout.isatty() else 140)

    def progress(m: Measurement) -> None:
        load = "" if m.background_cores is None else (
            f" (other processes kept {m.background_cores:.1f} cores busy)")
        console.print(f"  measured {m.engine} at {m.customers:,} customers × {m.months} months: "
                      f"{m.rate / 1e6:.3f} M customer-months/s{load}", soft_wrap=True)

    report = run_benchmark(args.sizes, args.months, args.reference_size, args.reference_months,
                           args.scenario, repeat=args.repeat, on_measured=progress)
    render(report, console)
    if args.quick:
        console.print("(--quick: sizes far below the targets' sizes; a smoke test only)")
    if args.save:
        console.print(f"saved {save(report)}", soft_wrap=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
