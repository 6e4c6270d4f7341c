r"""Scale benchmark: run time and peak memory against population size.

Each size runs in a fresh Python process (so its peak resident memory is its
own), builds the scenario scaled to that many customers (as
``benchmarks/engine.py`` scales it: prospects, arrivals, branches, strategy
budgets and RM hours grow with the bank), steps it for ``--months`` and
reports build and step seconds, customer-months per second, the population
table's bytes per row and per customer, and the process's peak resident
memory. A straight line is fitted to step time against size; the figure
shows the points, the line and its R².

Usage::

    python benchmarks/scale.py                                  # 0.25M-2M × 24 months
    python benchmarks/scale.py --sizes 50000000 --months 12     # the 50M bank (~16 GiB limit)
    python benchmarks/scale.py --sizes 250000 500000 1000000 2000000 4000000 \
        --months 24 --plot docs/figures/scaling.png --save
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.memory import reuse_freed_memory  # this checkout's, after the path fix

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "playbook_branches.yaml"
RESULTS = ROOT / "benchmarks" / "results"
#: Issue 7: 50M customers × 12 months under 16 GiB, ≤ 160 bytes of state per customer.
MEMORY_LIMIT_GIB = 16.0
STATE_LIMIT_BYTES = 160.0


def measure_one(size: int, months: int, scenario: Path) -> dict[str, Any]:
    """Build and step one scaled model in this process; return its measurements."""
    import numpy as np

    from benchmarks.engine import baseline_overrides, timed_months, vectorised_live
    from sim.model import LifecycleModel
    from sim.scenario import load_scenario

    spec = load_scenario(scenario, baseline_overrides(size, months, scenario))
    start = time.perf_counter()
    model = LifecycleModel(spec)
    build = time.perf_counter() - start
    state_month0 = model.population.nbytes
    # counted as engine.py counts them (live rows at the start of a month plus its arrivals)
    customer_months, stepping, *_ = timed_months(model, months, vectorised_live)
    pop = model.population
    state = pop.nbytes  # spare room for appends included
    live_customers = int(model.is_customer().sum())
    return {
        "customers": size, "months": months, "scenario": scenario.name,
        "rows": len(pop), "live_customers_end": live_customers,
        "build_seconds": build, "step_seconds": stepping,
        "customer_months": customer_months, "rate": customer_months / stepping,
        "state_bytes_per_row": state / len(pop),
        "state_bytes_per_customer_month0": state_month0 / size,
        "state_bytes_per_customer_end": state / size,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "numpy": np.__version__,
    }


def run_sizes(sizes: Sequence[int], months: int, scenario: Path) -> list[dict[str, Any]]:
    """Measure each size in its own process (its peak memory is then its own)."""
    out = []
    for size in sizes:
        proc = subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--months", str(months),
             "--scenario", str(scenario)],
            capture_output=True, text=True, check=False, cwd=ROOT,
        )
        if proc.returncode != 0:
            raise SystemExit(f"size {size:,} failed: {proc.stderr.strip().splitlines()[-1:]}")
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"  {size:>12,} customers × {months} months: build {row['build_seconds']:.1f} s, "
              f"steps {row['step_seconds']:.1f} s, {row['rate'] / 1e6:.2f} M cm/s, "
              f"{row['state_bytes_per_row']:.0f} B/row, peak {row['peak_rss_gib']:.2f} GiB",
              flush=True)
        out.append(row)
    return out


def linear_fit(rows: list[dict[str, Any]]) -> tuple[float, float, float]:
    """Least-squares step seconds = a + b · customers; returns (a, b, R²)."""
    import numpy as np

    x = np.array([r["customers"] for r in rows], float)
    y = np.array([r["step_seconds"] for r in rows], float)
    b, a = np.polyfit(x, y, 1)
    residual = y - (a + b * x)
    r2 = 1.0 - float(residual @ residual) / float(((y - y.mean()) ** 2).sum() or 1.0)
    return float(a), float(b), r2


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Step time against size, with the fitted line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    a, b, r2 = linear_fit(rows)
    x = np.array([r["customers"] for r in rows], float)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(x / 1e6, [r["step_seconds"] for r in rows], "o", color="#1f4e79",
            label="measured (seconds inside step)")
    grid = np.linspace(0, x.max() * 1.05, 50)
    ax.plot(grid / 1e6, a + b * grid, "-", color="#c55a11",
            label=f"fit: {a:.2f} s + {b * 1e6:.2f} s per million customers (R² = {r2:.4f})")
    months = rows[0]["months"]
    ax.set(xlabel="customers at month 0 (millions)", ylabel=f"seconds for {months} months",
           title=f"clmsim run time grows linearly with the bank ({rows[0]['scenario']})")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sizes, print a summary, optionally plot and save."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=lambda t: int(float(t.replace("_", ""))),
                        default=[250_000, 500_000, 1_000_000, 2_000_000])
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--scenario", type=Path, default=SCENARIO)
    parser.add_argument("--plot", type=Path, help="write the run-time figure here (PNG)")
    parser.add_argument("--save", action="store_true",
                        help=f"write JSON to {RESULTS.relative_to(ROOT)}/"
                        "scale-<date>-<months>m.json")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process: one size
    args = parser.parse_args(argv)
    reuse_freed_memory()  # as clmsim does (sim/memory.py); the sizes' processes inherit it
    if args.one is not None:
        print(json.dumps(measure_one(args.one, args.months, args.scenario)))
        return 0
    date = datetime.now(UTC).isoformat(timespec="seconds")
    print(f"clmsim scale benchmark — {date} — {args.scenario.name}", flush=True)
    rows = run_sizes(args.sizes, args.months, args.scenario)
    for r in rows:
        mem = "met" if r["peak_rss_gib"] < MEMORY_LIMIT_GIB else "NOT met"
        print(f"{r['customers']:,} customers: peak {r['peak_rss_gib']:.2f} GiB "
              f"(limit {MEMORY_LIMIT_GIB:.0f} GiB: {mem}); state {r['state_bytes_per_row']:.0f} "
              f"bytes per row (customer or prospect); per customer "
              f"{r['state_bytes_per_customer_month0']:.0f} at month 0 (its prospects included) "
              f"and {r['state_bytes_per_customer_end']:.0f} at the end (arrivals, absorbed rows "
              f"before compaction and spare room included) (limit {STATE_LIMIT_BYTES:.0f})")
    if len(rows) >= 2:
        a, b, r2 = linear_fit(rows)
        print(f"step seconds = {a:.2f} + {b * 1e6:.2f} × millions of customers (R² = {r2:.4f})")
    if args.plot and len(rows) >= 2:
        plot(rows, args.plot)
        print(f"figure: {args.plot}")
    if args.save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"scale-{date[:10]}-{args.months}m.json"
        path.write_text(json.dumps({"date": date, "runs": rows}, indent=2) + "\n")
        print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
