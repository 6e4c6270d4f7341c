"""clmsim vs mesa-frames on the same model: customer-months per second (issue 7).

Runs clmsim's vectorised model on a scenario (``--scenario``, default the
baseline; ``scenarios/abc_d_playbook.yaml`` for the playbook's seven
strategies) in this process (with
:func:`benchmarks.engine.measure`, so the definitions are the engine
benchmark's) and :mod:`benchmarks.frames_reference` — the same monthly
dynamics on mesa-frames 0.1.0a0 — in a subprocess in its own virtual
environment (mesa-frames needs numpy 1.26; clmsim's environment has numpy 2),
at the same sizes and months, and prints a table with the ratio
clmsim / mesa-frames per customer-month.

Before anything, it checks that the strategy parameter defaults restated in
``benchmarks/frames_scenario.py`` (the mesa-frames side cannot import the
plugins) equal the plugins' own, and the hold-out, priority and RM-hour
defaults ``sim/schema.py``'s; a difference exits 1. Before timing, it checks
that the two are the same model: both run the
scenario scaled to ``--check-size`` customers for ``--check-months`` months
with ``--check-seeds`` seeds, and their outcomes are compared with tests whose
error is sampling alone (customers do not interact), each rejecting at
``ALPHA`` = 0.001:

* stage at the end of the month-0 cohort and of later arrivals (absorbed rows
  included): chi-square test of homogeneity;
* churned, lapsed, acquired and arrivals summed over the run: two-sample
  count test z = (a − b)/√(a + b);
* churn month by month and segments at the end: chi-square homogeneity;
* satisfaction, share of wallet and log wealth of the customers at the end:
  Welch's t-test on the pooled customers;
* each monthly metric (customers, prospects, AUM, revenue, cost, profit...)
  summed over the months, one value per seed: Welch's t-test across seeds;
  with strategies also each strategy's cost (``cost_strategy_<name>``) and
  treated and funded counts, the total strategy cost and the contacts
  (34 tests on the baseline, 57 on the playbook).

Customers interact only through the strategies' budgets and RM minutes,
which bind on the playbook: the count tests then assume a little more
independence than there is; the Welch tests across seeds do not.

Polars runs on a thread pool (one thread per core by default); clmsim runs
its compiled per-row loops (``sim/kernels``, Numba) on both cores and the
rest on one. ``--polars-threads default 1`` measures mesa-frames both ways
(``POLARS_MAX_THREADS``). ``OPENBLAS_NUM_THREADS=1`` (set on the command
line, before numpy starts; the table's title shows it) keeps NumPy's
remaining linear algebra off a second pool of threads: clmsim no longer sums
through BLAS, but when it did, on a loaded 2-core machine a 20,000-customer
month took 137 ms with default BLAS threads and 16 ms with one (2026-11-26,
load average 5). Usage::

    python -m venv .venv-mf
    .venv-mf/bin/pip install -r benchmarks/requirements-mesa-frames.txt
    python benchmarks/frames.py                          # 100k and 1M × 24 months
    python benchmarks/frames.py --sizes 100000 --months 24 --polars-threads default 1
    python benchmarks/frames.py --sizes 1000000 --months 12 --no-check --save
    python benchmarks/frames.py --scenario scenarios/abc_d_playbook.yaml --sizes 100000
    OPENBLAS_NUM_THREADS=1 python benchmarks/frames.py --polars-threads default 1

``--save`` writes ``benchmarks/results/frames-<date>T<hhmm>.json`` (git-ignored;
``-<scenario>`` added for another scenario than the baseline).
Exit status: 0, 1 if the agreement check failed or the restated defaults
differ, 2 if the mesa-frames
environment is missing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from rich.console import Console
from rich.table import Table
from scipy import stats

from benchmarks.agreement import count_difference_p, homogeneity_p
from benchmarks.engine import (
    BASELINE,
    RESULTS,
    ROOT,
    Measurement,
    baseline_overrides,
    machine_info,
    measure,
)
from benchmarks.frames_scenario import (
    COST_KINDS,
    SPEC_DEFAULTS,
    STRATEGY_DEFAULTS,
    VOUCHER_REFERENCE_VALUE,
)
from sim.memory import reuse_freed_memory
from sim.model import LifecycleModel
from sim.scenario import load_scenario
from sim.schema import Budget, Scenario, StrategySpec
from strategies import registry
from strategies.voucher import REFERENCE_VALUE

__all__ = ["find_venv_python", "main", "restated_default_differences", "strategy_monthly"]

FRAMES_SCRIPT = ROOT / "benchmarks" / "frames_reference.py"
REQUIREMENTS = "benchmarks/requirements-mesa-frames.txt"
#: Where to look for the mesa-frames environment when ``--venv`` is not given.
DEFAULT_VENVS = (ROOT / ".venv-mf", Path("/work/venv-mesa-frames"))
SETUP = (f"python -m venv .venv-mf && .venv-mf/bin/pip install -r {REQUIREMENTS}")
ALPHA = 1e-3
#: BLAS thread settings recorded with the results (clmsim no longer sums through BLAS, but
#: NumPy's other linear algebra and polars' neighbours may still read them).
BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
#: Monthly metrics compared seed by seed (summed over months 1..M).
MONTHLY = ("customers", "prospects", "initial_customers_active", "arrivals", "acquired",
           "churned", "lapsed", "tier_up", "tier_down", "aum", "aum_market", "aum_net_flow",
           "aum_churned", "mean_satisfaction", "mean_share_of_wallet", "revenue_interest_margin",
           "revenue_fees", "cost_servicing_branch", "cost_transaction_branch",
           "cost_acquisition", "revenue", "cost", "profit")
#: With strategies, also compared: per strategy these monthly metrics, and the totals below.
STRATEGY_MONTHLY = ("cost_strategy_{name}", "strategy_{name}_treated", "strategy_{name}_funded")
STRATEGY_TOTALS = ("strategy_cost_total", "contacts")


def strategy_monthly(scenario: Scenario) -> tuple[str, ...]:
    """The monthly metrics the agreement check adds for the scenario's strategies."""
    if not scenario.strategies:
        return ()
    return (*(key.format(name=s.name) for s in scenario.strategies for key in STRATEGY_MONTHLY),
            *STRATEGY_TOTALS)


def _plain(value: Any) -> Any:
    """Mappings as dicts, recursively (plugins keep some defaults in read-only mappings)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def restated_default_differences() -> list[str]:
    """Where ``frames_scenario``'s restated defaults differ from clmsim's own (empty: none).

    Compared: each strategy's parameter defaults with its plugin's constructor
    defaults, its cost kinds with the plugin's ``cost_kinds``, the hold-out,
    budget priority and RM hours defaults with ``sim/schema.py``'s.
    """
    problems = []
    for name in sorted(set(STRATEGY_DEFAULTS) | set(COST_KINDS)):
        plugin = registry.get(name)
        own = _plain(plugin().get_params())
        restated = _plain(STRATEGY_DEFAULTS.get(name))
        if own != restated:
            problems.append(f"{name}: parameter defaults {restated} != the plugin's {own}")
        if tuple(plugin.cost_kinds) != COST_KINDS.get(name):
            problems.append(f"{name}: cost kinds {COST_KINDS.get(name)} != the plugin's "
                            f"{tuple(plugin.cost_kinds)}")
    if VOUCHER_REFERENCE_VALUE != REFERENCE_VALUE:
        problems.append(f"voucher: reference value {VOUCHER_REFERENCE_VALUE} != the plugin's "
                        f"{REFERENCE_VALUE}")
    schema = {"holdout": StrategySpec.model_fields["holdout"].default,
              "priority": Budget().priority,
              "when_short": Budget().when_short,
              "rm_hours_per_month":
                  Scenario.model_fields["capacity"].get_default(call_default_factory=True)
                  .rm_hours_per_month}
    for key, value in schema.items():
        if SPEC_DEFAULTS.get(key) != value:
            problems.append(f"{key}: default {SPEC_DEFAULTS.get(key)!r} != sim.schema's {value!r}")
    return problems


@dataclass
class FramesRun:
    """One mesa-frames measurement (the fastest of the repeats)."""

    customers: int
    prospects: int
    arrivals_per_month: float
    months: int
    customer_months: int
    build_seconds: float
    step_seconds: float
    polars_threads: int
    step_cpu_seconds: float
    background_cores: float | None
    all_rates: list[float]

    @property
    def rate(self) -> float:
        """Customer-months per second of stepping."""
        return self.customer_months / self.step_seconds


def find_venv_python(venv: Path | None) -> Path | None:
    """The mesa-frames environment's python: ``venv``'s, else the first default that exists."""
    candidates = [venv] if venv is not None else list(DEFAULT_VENVS)
    for candidate in candidates:
        python = candidate / "bin" / "python"
        if python.exists():
            return python
    return None


def run_frames(python: Path, size: int, months: int, seeds: Sequence[int],
               threads: int | None, detail: bool = False,
               scenario: Path = BASELINE) -> dict[str, Any]:
    """Run ``frames_reference.py`` in the mesa-frames environment; return its JSON."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "POLARS_MAX_THREADS")}
    if threads is not None:
        env["POLARS_MAX_THREADS"] = str(threads)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "frames.json"
        cmd = [str(python), str(FRAMES_SCRIPT), "--size", str(size), "--months", str(months),
               "--seeds", *map(str, seeds), "--scenario", str(scenario), "--out", str(out)]
        if detail:
            cmd.append("--detail")
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            raise RuntimeError(f"frames_reference.py failed ({done.returncode}):\n{done.stderr}")
        return json.loads(out.read_text(encoding="utf-8"))


def scaled(path: Path, size: int, months: int) -> Scenario:
    """The scenario at ``path`` scaled to ``size`` customers (``baseline_overrides``)."""
    return load_scenario(path, baseline_overrides(size, months, path))


def clmsim_scaling(scenario: Scenario) -> dict[str, Any]:
    """What clmsim's scaled scenario holds, as ``frames_scenario.scaling_summary`` reports it."""
    return {
        "prospects": scenario.population.prospects,
        "arrivals_per_month": scenario.market.prospect_arrivals_per_month,
        "rm_hours_per_month": scenario.capacity.rm_hours_per_month,
        "strategies": [{"name": s.name, "monthly": s.budget.monthly, "total": s.budget.total,
                        "priority": s.budget.priority,
                        "when_short": s.budget.when_short, "holdout": s.holdout}
                       for s in scenario.strategies],
    }


def check_scaling(doc: dict[str, Any], scenario: Scenario) -> None:
    """Raise RuntimeError unless mesa-frames scaled the bank as ``baseline_overrides`` did.

    Prospects, arrivals, RM hours, and each strategy's name, budgets,
    priority and hold-out.
    """
    expected = clmsim_scaling(scenario)
    got = {key: doc.get(key) for key in expected}
    if got != expected:
        raise RuntimeError(f"mesa-frames scaled the bank differently: {got} != {expected}")


def measure_frames(python: Path, size: int, months: int, seed: int, repeat: int,
                   threads: int | None, path: Path = BASELINE) -> FramesRun:
    """Time the mesa-frames model; check it scaled the bank as ``baseline_overrides`` does."""
    doc = run_frames(python, size, months, [seed] * repeat, threads, scenario=path)
    check_scaling(doc, scaled(path, size, months))
    best = max(doc["runs"], key=lambda r: r["rate"])
    return FramesRun(size, doc["prospects"], doc["arrivals_per_month"], months,
                     best["customer_months"], best["build_seconds"], best["step_seconds"],
                     doc["polars_threads"], best["cpu_seconds"], best["background_cores"],
                     [r["rate"] for r in doc["runs"]])


def measure_clmsim(size: int, months: int, repeat: int, path: Path = BASELINE) -> Measurement:
    """Best of ``repeat`` runs of clmsim's vectorised model (``benchmarks.engine.measure``)."""
    scenario = scaled(path, size, months)
    runs = [measure(scenario, months, "vectorised") for _ in range(repeat)]
    best = max(runs, key=lambda m: m.rate)
    best.all_rates = [m.rate for m in runs]
    return best


# ------------------------------------------------------------------ agreement
def clmsim_outcome(size: int, months: int, seed: int, path: Path = BASELINE) -> dict[str, Any]:
    """What the agreement check compares, from one clmsim run (as frames_reference's end_state)."""
    model = LifecycleModel(scaled(path, size, months), seed=seed)
    for _ in range(months):
        model.step()
    pop, frame = model.population, model.monthly_frame()
    absorbing = np.flatnonzero(model.is_absorbing_stage)
    if len(absorbing) != 1:
        raise RuntimeError("the check assumes one absorbing stage")
    records = model.absorption_records()
    archived = records.iloc[: len(records) - len(pop)]  # compacted rows: all absorbed
    n_stages = len(model.stage_names)
    initial = pop.entered_month == 0
    state: dict[str, Any] = {}
    for name, cohort, archived_n in (
        ("initial_stages", initial, int((archived.entered_month == 0).sum())),
        ("arrival_stages", ~initial, int((archived.entered_month != 0).sum())),
    ):
        counts = np.bincount(pop.stage[cohort], minlength=n_stages)
        counts[absorbing[0]] += archived_n
        state[name] = counts.tolist()
    customer = model.is_customer()
    state["segments"] = np.bincount(pop.segment[customer], minlength=4).tolist()
    for key, values in (("satisfaction", pop.satisfaction[customer]),
                        ("share_of_wallet", pop.share_of_wallet[customer]),
                        ("log_wealth", np.log(pop.total_wealth[customer]))):
        state[key] = {"n": int(values.size), "sum": float(values.sum()),
                      "sum_squares": float((values**2).sum())}
    return {"monthly": frame.to_dict("records"), "end_state": state}


def _pooled(runs: list[dict[str, Any]], key: str) -> tuple[float, float, int]:
    n = sum(r["end_state"][key]["n"] for r in runs)
    total = sum(r["end_state"][key]["sum"] for r in runs)
    squares = sum(r["end_state"][key]["sum_squares"] for r in runs)
    mean = total / n
    return mean, math.sqrt(max(squares - n * mean**2, 0.0) / (n - 1)), n


def agreement(clmsim: list[dict[str, Any]], frames: list[dict[str, Any]],
              extra_monthly: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Every test of the module docstring: name, clmsim value, mesa-frames value, p, passed.

    ``extra_monthly``: more monthly metrics to compare summed over the months
    (the strategies', :func:`strategy_monthly`).
    """
    rows: list[dict[str, Any]] = []

    def add(name: str, a: Any, b: Any, p: float) -> None:
        rows.append({"test": name, "clmsim": a, "mesa_frames": b, "p": p, "passed": p > ALPHA})

    def summed(runs: list[dict[str, Any]], key: str) -> np.ndarray:
        return np.sum([r["end_state"][key] for r in runs], axis=0)

    for key in ("initial_stages", "arrival_stages", "segments"):
        a, b = summed(clmsim, key), summed(frames, key)
        add(f"{key} (chi-square)", a.tolist(), b.tolist(), homogeneity_p(a, b))

    def monthly(runs: list[dict[str, Any]], key: str) -> np.ndarray:
        """Seeds × months 1..M."""
        return np.array([[row[key] for row in r["monthly"][1:]] for r in runs], dtype=float)

    churn_a, churn_b = monthly(clmsim, "churned").sum(axis=0), monthly(frames, "churned").sum(0)
    add("churned month by month (chi-square)", int(churn_a.sum()), int(churn_b.sum()),
        homogeneity_p(churn_a, churn_b))
    for key in ("churned", "lapsed", "acquired", "arrivals"):
        a, b = monthly(clmsim, key).sum(), monthly(frames, key).sum()
        add(f"{key} total (count z)", int(a), int(b), count_difference_p(a, b))
    for key in ("satisfaction", "share_of_wallet", "log_wealth"):
        (ma, sa, na), (mb, sb, nb) = _pooled(clmsim, key), _pooled(frames, key)
        p = stats.ttest_ind_from_stats(ma, sa, na, mb, sb, nb, equal_var=False).pvalue
        add(f"{key} of customers at the end (Welch)", round(ma, 4), round(mb, 4), float(p))
    for key in (*MONTHLY, *extra_monthly):
        a, b = monthly(clmsim, key).sum(axis=1), monthly(frames, key).sum(axis=1)
        if a.std() == 0 and b.std() == 0:
            p = 1.0 if a.mean() == b.mean() else 0.0
        else:
            p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
        add(f"{key}, sum over months, per seed (Welch)", float(a.mean()), float(b.mean()), p)
    return rows


def run_check(python: Path, size: int, months: int, seeds: Sequence[int],
              console: Console, path: Path = BASELINE) -> tuple[bool, list[dict[str, Any]]]:
    """Run both models on the check's seeds, print the tests; return whether all passed."""
    console.print(f"agreement check: {path.stem} at {size:,} customers × {months} months, "
                  f"seeds {list(seeds)} …", soft_wrap=True)
    doc = run_frames(python, size, months, seeds, threads=None, detail=True, scenario=path)
    scenario = scaled(path, size, months)
    check_scaling(doc, scenario)
    clmsim = [clmsim_outcome(size, months, seed, path) for seed in seeds]
    rows = agreement(clmsim, doc["runs"], strategy_monthly(scenario))
    table = Table(title=f"same model? clmsim vs mesa-frames, {len(seeds)} seeds each "
                        f"(each test rejects at p < {ALPHA:g})")
    for header in ("test", "clmsim", "mesa-frames", "rel. diff", "p", ""):
        table.add_column(header, justify="left" if header in ("test", "") else "right")

    def show(x: Any) -> str:
        if isinstance(x, list):
            return " ".join(f"{v:,}" for v in x)
        return f"{x:,.4g}" if isinstance(x, float) else f"{x:,}"

    for row in rows:
        a, b = row["clmsim"], row["mesa_frames"]
        rel = (f"{(b - a) / abs(a):+.2%}" if isinstance(a, int | float) and a else "")
        table.add_row(row["test"], show(a), show(b), rel, f"{row['p']:.3g}",
                      "ok" if row["passed"] else "DIFFERENT")
    console.print(table)
    passed = all(row["passed"] for row in rows)
    console.print(f"agreement: {sum(r['passed'] for r in rows)}/{len(rows)} tests pass "
                  f"at α = {ALPHA:g}" + ("" if passed else " — NOT the same model?"),
                  soft_wrap=True)
    return passed, rows


# ------------------------------------------------------------------ main
def _threads(text: str) -> int | None:
    return None if text == "default" else int(text)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[100_000, 1_000_000],
                        help="customers at month 0 (default 100000 1000000)")
    parser.add_argument("--months", type=int, default=24, help="months per run (default 24)")
    parser.add_argument("--scenario", type=Path, default=BASELINE,
                        help="the scenario both models run (default scenarios/baseline.yaml; "
                        "e.g. scenarios/abc_d_playbook.yaml: the playbook's seven strategies)")
    parser.add_argument("--venv", type=Path, default=None,
                        help="the mesa-frames virtual environment (default: .venv-mf, else "
                        "/work/venv-mesa-frames)")
    parser.add_argument("--polars-threads", nargs="+", type=_threads, default=[None],
                        metavar="N|default",
                        help="POLARS_MAX_THREADS for the mesa-frames runs, one run each "
                        "(default: polars' own, one per core); e.g. 'default 1'")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each measurement N times and keep the fastest")
    parser.add_argument("--seed", type=int, default=None,
                        help="mesa-frames seed for the timed runs (default: the scenario's)")
    parser.add_argument("--check-size", type=int, default=20_000)
    parser.add_argument("--check-months", type=int, default=24)
    parser.add_argument("--check-seeds", type=int, nargs="+", default=list(range(11, 19)))
    parser.add_argument("--no-check", action="store_true", help="skip the agreement check")
    parser.add_argument("--save", action="store_true",
                        help=f"write {RESULTS.relative_to(ROOT)}/frames-<date>T<hhmm>"
                        "[-<scenario>].json")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Check, measure, print the table and the ratios; return the exit status."""
    args = parse_args(argv)
    reuse_freed_memory()  # as clmsim does (sim/memory.py)
    python = find_venv_python(args.venv)
    if python is None:
        where = args.venv or " or ".join(str(v) for v in DEFAULT_VENVS)
        print(f"frames.py: no mesa-frames environment at {where}; create it with: {SETUP}",
              file=sys.stderr)
        return 2
    problems = restated_default_differences()
    if problems:  # frames_reference.py would run other parameters than clmsim's plugins
        print("frames.py: frames_scenario.py's restated defaults differ from clmsim's:\n  "
              + "\n  ".join(problems), file=sys.stderr)
        return 1
    console = Console(width=None if sys.stdout.isatty() else 170)
    info = machine_info()
    info["scenario"] = args.scenario.stem
    info["loadavg_start"] = _loadavg()
    info["blas_threads"] = {k: os.environ[k] for k in BLAS_VARIABLES if k in os.environ}
    passed, checks = True, []
    if not args.no_check:
        passed, checks = run_check(python, args.check_size, args.check_months,
                                   args.check_seeds, console, args.scenario)
    seed = args.seed if args.seed is not None else load_scenario(args.scenario).seed
    clmsim, frames = [], []
    for size in args.sizes:
        m = measure_clmsim(size, args.months, args.repeat, args.scenario)
        clmsim.append(m)
        console.print(f"  clmsim at {size:,} × {args.months}: {m.rate / 1e6:.3f} M cm/s "
                      f"(load average {_loadavg()})", soft_wrap=True)
        for threads in args.polars_threads:
            f = measure_frames(python, size, args.months, seed, args.repeat, threads,
                               args.scenario)
            frames.append(f)
            console.print(f"  mesa-frames at {size:,} × {args.months}, {f.polars_threads} polars "
                          f"threads: {f.rate / 1e6:.3f} M cm/s (load average {_loadavg()})",
                          soft_wrap=True)
    info["loadavg_end"] = _loadavg()
    render(clmsim, frames, info, console)
    if args.save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stem = "" if args.scenario == BASELINE else f"-{args.scenario.stem}"
        path = RESULTS / f"frames-{info['date'][:16].replace(':', '')}{stem}.json"
        doc = {"machine": info,
               "clmsim": [{**asdict(m), "rate": m.rate, "cpu_rate": _cpu_rate(m)}
                          for m in clmsim],
               "mesa_frames": [{**asdict(f), "rate": f.rate, "cpu_rate": _cpu_rate(f)}
                               for f in frames],
               "ratios": _ratios(clmsim, frames), "agreement": checks}
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        console.print(f"saved {path}", soft_wrap=True)
    return 0 if passed else 1


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def _cpu_rate(m: Measurement | FramesRun) -> float | None:
    """Customer-months per CPU-second of stepping (all the process's threads)."""
    return m.customer_months / m.step_cpu_seconds if m.step_cpu_seconds else None


def _ratios(clmsim: list[Measurement], frames: list[FramesRun]) -> list[dict[str, Any]]:
    by_size = {m.customers: m for m in clmsim}
    rows = []
    for f in frames:
        m = by_size[f.customers]
        cpu_m, cpu_f = _cpu_rate(m), _cpu_rate(f)
        rows.append({"customers": f.customers, "polars_threads": f.polars_threads,
                     "ratio": m.rate / f.rate,
                     "cpu_ratio": cpu_m / cpu_f if cpu_m and cpu_f else None})
    return rows


def render(clmsim: list[Measurement], frames: list[FramesRun], info: dict[str, Any],
           console: Console) -> None:
    """The table: one row per run, the ratios clmsim / mesa-frames on each mesa-frames row."""
    blas = " ".join(f"{k}={v}" for k, v in info["blas_threads"].items()) or "BLAS threads default"
    table = Table(title=f"clmsim vs mesa-frames on {info['scenario']} — {info['date']} — "
                        f"{info['cpu']}, "
                        f"{info['cores']} cores, commit {info['commit']}"
                        + (" (sim/ modified)" if info["sim_modified"] else "") + f" — {blas}")
    for header in ("engine", "customers", "months", "customer-months", "build s", "step s",
                   "cm/s", "CPU s", "cm/CPU-s", "other load", "ratio (wall)", "ratio (CPU)"):
        table.add_column(header, justify="left" if header == "engine" else "right")
    ratios = {(r["customers"], r["polars_threads"]): r for r in _ratios(clmsim, frames)}

    def row(name: str, m: Measurement | FramesRun, *extra: str) -> None:
        cpu = _cpu_rate(m)
        table.add_row(name, f"{m.customers:,}", str(m.months), f"{m.customer_months:,}",
                      f"{m.build_seconds:.2f}", f"{m.step_seconds:.2f}",
                      f"{m.rate / 1e6:.3f} M",
                      "?" if m.step_cpu_seconds is None else f"{m.step_cpu_seconds:.2f}",
                      "?" if cpu is None else f"{cpu / 1e6:.3f} M",
                      "?" if m.background_cores is None else f"{m.background_cores:.1f} cores",
                      *extra)

    for m in clmsim:
        row("clmsim (numpy)", m, "", "")
        for f in (f for f in frames if f.customers == m.customers):
            r = ratios[(f.customers, f.polars_threads)]
            row(f"mesa-frames (polars, {f.polars_threads} thread"
                f"{'s' if f.polars_threads != 1 else ''})", f, f"{r['ratio']:.2f}×",
                "?" if r["cpu_ratio"] is None else f"{r['cpu_ratio']:.2f}×")
    console.print(table)
    console.print("ratio = clmsim / mesa-frames customer-months per second of stepping (wall) "
                  "and per CPU-second of stepping (CPU: this process's threads together; it "
                  "discounts time lost to other processes, and counts every polars thread)",
                  soft_wrap=True)
    console.print(f"load average {info['loadavg_start']} at the start, {info['loadavg_end']} at "
                  "the end (2-core machines: other sessions' load slows both engines)",
                  soft_wrap=True)
    for r in ratios.values():
        cpu = "" if r["cpu_ratio"] is None else f", {r['cpu_ratio']:.2f}× per CPU-second"
        console.print(f"ratio per customer-month at {r['customers']:,} customers: "
                      f"{r['ratio']:.2f}× (mesa-frames on {r['polars_threads']} polars "
                      f"threads){cpu}", soft_wrap=True)


if __name__ == "__main__":
    sys.exit(main())
