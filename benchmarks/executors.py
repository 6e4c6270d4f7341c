"""Executor benchmark: many replications of a small scenario, serial vs processes.

Runs ``--replications`` (default 200) replications of the baseline scaled to
``--size`` customers (default 10,000) over ``--months`` months (default 24)
with :func:`sim.runner.run_scenario`, once on the ``serial`` executor and once
on ``processes`` (one worker per core), each into a temporary folder, and
prints wall times and the speed-up. Target on a 2-core machine: at least
1.7× (issue 5). Wall time includes starting the worker processes, writing
each replication's file and the final ``monthly.parquet``. Usage::

    python benchmarks/executors.py                 # about 40 s on 2 cores
    python benchmarks/executors.py --quick         # 10 replications, a few seconds
    python benchmarks/executors.py --executors serial processes dask
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim.runner import run_scenario  # noqa: E402
from tests.sim.util import SCENARIOS, scaled  # noqa: E402


def _load() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "n/a"


def _burn(_: int) -> float:
    total = 0
    for i in range(5_000_000):
        total += i
    return float(total)


def parallel_ceiling() -> float:
    """Speed-up of two pure-Python busy loops in two processes over one after the other.

    About 2 on an idle 2-core machine; other load on the machine lowers it, and
    no executor can beat it.
    """
    import multiprocessing

    started = time.perf_counter()
    _burn(0), _burn(1)
    one = time.perf_counter() - started
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_burn, [0])  # start both workers before timing
        started = time.perf_counter()
        pool.map(_burn, [0, 1], chunksize=1)
        two = time.perf_counter() - started
    return one / two


def main(argv: list[str] | None = None) -> int:
    """Time the executors and print the speed-up of each over serial."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--executors", nargs="+", default=["serial", "processes"])
    parser.add_argument("--quick", action="store_true", help="10 replications")
    args = parser.parse_args(argv)
    reps = 10 if args.quick else args.replications
    scenario = scaled(SCENARIOS / "baseline.yaml", args.size, horizon_months=args.months,
                      replications=reps, seed=5)
    print(f"{reps} replications × {args.months} months × {args.size:,} customers, "
          f"{os.cpu_count()} cores, load average before: {_load()}")
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for executor in args.executors:
            started = time.perf_counter()
            run_scenario(scenario, Path(tmp) / executor, executor=executor, figures=False)
            times[executor] = time.perf_counter() - started
            print(f"{executor:>10}: {times[executor]:7.1f} s  "
                  f"({reps / times[executor]:.2f} replications/s)")
    if "serial" in times:
        for executor, seconds in times.items():
            if executor != "serial":
                print(f"speed-up of {executor} over serial: {times['serial'] / seconds:.2f}× "
                      "(target on 2 cores: ≥ 1.7×)")
    print(f"load average after: {_load()}; ceiling now (two busy loops in two processes): "
          f"{parallel_ceiling():.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
