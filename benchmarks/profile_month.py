"""Where a month goes: milliseconds per phase of ``LifecycleModel.step``.

Builds a scenario scaled to ``--size`` customers (as ``benchmarks/engine.py``
scales it), runs ``--warm`` months untimed (so the branch-day cache and the
table settle), then times each phase of ``--months`` further months by
wrapping the model's methods with a clock: market, each strategy, channels,
close (response, transitions, classes, ledger and head counts, one compiled
pass), labels, metrics, compaction. "step body" is the rest of ``step``.

Usage::

    python benchmarks/profile_month.py                                  # playbook_branches, 1M
    python benchmarks/profile_month.py --scenario scenarios/baseline.yaml --size 1000000
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.engine import baseline_overrides
from sim.memory import reuse_freed_memory
from sim.model import LifecycleModel
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
PHASES = ("_market", "_reset_month", "_close", "_evaluate_labels",
          "_collect", "_maybe_compact")


def profile(scenario: Path, size: int, warm: int, months: int) -> tuple[float, dict[str, float]]:
    """Milliseconds per month in total and per phase."""
    spec = load_scenario(scenario, baseline_overrides(size, warm + months, scenario))
    model = LifecycleModel(spec)
    for _ in range(warm):
        model.step()
    spent: dict[str, float] = {}

    def timed(function: Callable[..., Any], label: str) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - start
        return wrapper

    for name in PHASES:
        setattr(model, name, timed(getattr(model, name), name.strip("_")))
    if model.channels is not None:
        model.channels.serve = timed(model.channels.serve, "channels")  # type: ignore[method-assign]
    for runtime in model.strategies:
        runtime.act = timed(runtime.act, f"strategy {runtime.name}")  # type: ignore[method-assign]
    start = time.perf_counter()
    for _ in range(months):
        model.step()
    total = time.perf_counter() - start
    spent["step body"] = total - sum(spent.values())
    return 1000 * total / months, {k: 1000 * v / months for k, v in spent.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", type=Path,
                        default=ROOT / "scenarios" / "playbook_branches.yaml")
    parser.add_argument("--size", type=lambda t: int(float(t)), default=1_000_000)
    parser.add_argument("--warm", type=int, default=24, help="untimed months first (default 24)")
    parser.add_argument("--months", type=int, default=12, help="timed months (default 12)")
    args = parser.parse_args(argv)
    reuse_freed_memory()  # as clmsim does (sim/memory.py)
    total, phases = profile(args.scenario, args.size, args.warm, args.months)
    print(f"{args.scenario.name} at {args.size:,} customers, months {args.warm + 1}-"
          f"{args.warm + args.months}: {total:.0f} ms a month")
    for label, ms in sorted(phases.items(), key=lambda item: -item[1]):
        print(f"  {label:28s} {ms:7.1f} ms  {ms / total:6.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
