"""Speed and accuracy of the SimPy branch day and of day sampling (issue 4 groundwork).

Prints three tables, whose numbers are quoted in ``docs/channels.md``:

1. visits simulated per second by :mod:`sim.branch_day` (SimPy), for a plain
   M/M/c day and for busy branch days with machines, balking and reneging; and,
   for scale, a first-come-first-served heap recursion on the plain case;
2. Erlang C against SimPy for the three validation settings of
   ``tests/sim/test_branch_day.py`` (mean ± batch-means standard error);
3. the error of estimating a 22-day branch-month from k sampled days.

    python benchmarks/branch_day.py            # about 40 s on 2 cores
    python benchmarks/branch_day.py --quick    # a few seconds
"""

from __future__ import annotations

import argparse
import heapq
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim import erlang  # noqa: E402
from sim.branch_day import BranchDay, ServiceTime, draw_visits, simulate_visits  # noqa: E402
from sim.day_sampling import estimate_from_days, simulate_month  # noqa: E402


def busy_branch(visits_per_day: float) -> BranchDay:
    """The busy branch of the tests: 3 tellers, 2 machines, lognormal service, impatience."""
    return BranchDay(
        visits_per_day=visits_per_day, tellers=3, machines=2, simple_share=0.5,
        routing_share=0.6, balk_queue_length=8, patience_minutes=15.0,
        teller_service=ServiceTime(distribution="lognormal", mean_minutes=6.0, cv=0.8),
        machine_service=ServiceTime(distribution="lognormal", mean_minutes=3.0, cv=0.8),
    )  # fmt: skip


def mmc(lam: float, mean_service: float, tellers: int, hours: float) -> BranchDay:
    """A branch that is exactly M/M/c over one long day."""
    return BranchDay(
        opening_hour=0.0, closing_hour=hours, visits_per_day=lam * 60 * hours,
        arrival_profile=(1.0,), tellers=tellers,
        teller_service=ServiceTime(mean_minutes=mean_service),
    )  # fmt: skip


def fcfs_waits(arrival: list[float], service: list[float], servers: int) -> list[float]:
    """Waits in a first-come-first-served multi-server queue (Kiefer-Wolfowitz recursion)."""
    free, waits = [0.0] * servers, []
    for at, need in zip(arrival, service, strict=True):
        start = max(at, heapq.heappop(free))
        waits.append(start - at)
        heapq.heappush(free, start + need)
    return waits


def speed(quick: bool) -> None:
    """Table 1: visits per second."""
    days = 10 if quick else 100
    cases = [
        ("M/M/3, one long day (rho 0.83)", mmc(1.0, 2.5, 3, 100 if quick else 1000), 1),
        ("busy branch, 300 visits/day", busy_branch(300.0), days),
        ("busy branch, 450 visits/day", busy_branch(450.0), days),
    ]
    print("| case | visits | seconds | visits/s |\n|---|---|---|---|")
    for name, config, n_days in cases:
        rng = np.random.default_rng(1)
        visits = [draw_visits(config, rng) for _ in range(n_days)]
        start = time.perf_counter()
        for day in visits:
            simulate_visits(config, day)
        seconds = time.perf_counter() - start
        count = sum(v.arrival.size for v in visits)
        print(f"| {name} | {count:,} | {seconds:.2f} | {count / seconds:,.0f} |")
    plain = draw_visits(cases[0][1], np.random.default_rng(1))
    start = time.perf_counter()
    fcfs_waits(plain.arrival.tolist(), plain.teller_service.tolist(), 3)
    seconds = time.perf_counter() - start
    print(f"| M/M/3 by heap recursion (no SimPy) | {plain.arrival.size:,} | {seconds:.3f} | "
          f"{plain.arrival.size / seconds:,.0f} |")  # fmt: skip


def erlang_agreement(quick: bool) -> None:
    """Table 2: the test settings, same seeds, mean ± batch-means SE (20 batches)."""
    print("\n| λ/min | mean service | c | ρ | metric | Erlang C | SimPy ± SE | z |")
    print("|---|---|---|---|---|---|---|---|")
    for lam, mean_service, tellers, hours in [(1.0, 2.5, 3, 2000.0), (1.0, 2.5, 4, 1000.0),
                                              (0.9, 5.0, 5, 3000.0)]:  # fmt: skip
        config = mmc(lam, mean_service, tellers, hours / 10 if quick else hours)
        records = simulate_visits(config, draw_visits(config, np.random.default_rng(
            20261125 + tellers)))  # fmt: skip
        wait = records.wait[records.arrival > 0.05 * config.day_minutes]
        q = erlang.erlang_c(lam, 1 / mean_service, tellers)
        tail = erlang.prob_wait_exceeds(lam, 1 / mean_service, tellers, 5.0)
        for metric, sample, exact in [("P(wait)", wait > 0, q.prob_wait),
                                      ("Wq min", wait, q.mean_wait), ("P(Wq>5)", wait > 5, tail)]:
            means = [c.mean() for c in np.array_split(sample.astype(float), 20)]
            mean, se = float(np.mean(sample)), float(np.std(means, ddof=1) / np.sqrt(20))
            print(f"| {lam} | {mean_service} | {tellers} | {q.utilisation:.3f} | {metric} | "
                  f"{exact:.4f} | {mean:.4f} ± {se:.4f} | {(mean - exact) / se:+.2f} |")


def sampling_error(quick: bool) -> None:
    """Table 3: a 22-day month from k days, against simulating every day."""
    config, n_days = busy_branch(300.0), 22
    months = [simulate_month(config, n_days, np.random.default_rng(900 + m))
              for m in range(3 if quick else 20)]  # fmt: skip
    names = ("visits", "reneged", "wait_minutes", "mean_wait", "share_wait_over_5",
             "teller_utilisation")  # fmt: skip
    print("\n| k | metric | stated SE / value | RMS error / value | coverage of ±t·SE (95%) |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for k in (2, 3, 5, 8, 11):
        factor = stats.t.ppf(0.975, k - 1)
        rows: dict[str, list[tuple[float, float, float]]] = {name: [] for name in names}
        for per_day, full in months:
            truth = {**full.totals, **full.ratios}
            for _ in range(200):
                est = estimate_from_days(per_day[rng.choice(n_days, k, replace=False)], n_days)
                value, se = {**est.totals, **est.ratios}, {**est.totals_se, **est.ratios_se}
                for name in names:
                    rows[name].append((value[name], se[name], truth[name]))
        for name in names:
            v, s, t = np.array(rows[name]).T
            rms = np.sqrt(np.mean(((v - t) / t) ** 2))
            cover = np.mean(np.abs(v - t) <= factor * s)
            print(f"| {k} | {name} | {np.mean(s / t):.3f} | {rms:.3f} | {cover:.3f} |")


def main() -> None:
    """Run the three tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    args = parser.parse_args()
    for table in (speed, erlang_agreement, sampling_error):
        table(args.quick)


if __name__ == "__main__":
    main()
