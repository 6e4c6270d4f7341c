"""Compiled loops against their NumPy definitions (sim/kernels/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.dynamics import SEGMENTS, classify, potential_value
from sim.model import LifecycleModel
from sim.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml"


def test_segment_review_matches_the_potential_value_definition() -> None:
    model = LifecycleModel(load_scenario(BASELINE, ["population.size=5000",
                                                   "population.prospects=500"]))
    for _ in range(3):
        model.step()
    pop, scenario = model.population, model.scenario
    customers = model.is_customer()
    classify(pop, scenario, customers, segments_due=True)  # every customer reviewed
    rows = np.flatnonzero(customers)
    expected = potential_value(pop, scenario, rows)
    np.testing.assert_allclose(pop.potential_value[rows], expected, rtol=1e-6, atol=1e-7)
    seg = scenario.segments
    high_potential = expected >= seg.potential_threshold
    high_current = pop.aum[rows] >= seg.current_value_threshold
    code = np.where(high_potential, np.where(high_current, 1, 0), np.where(high_current, 2, 3))
    near = np.abs(expected - seg.potential_threshold) < 1e-6  # float32 storage at the edge
    np.testing.assert_array_equal(pop.segment[rows][~near], code[~near])
    assert set(np.unique(pop.segment[rows])) <= set(range(len(SEGMENTS)))
    assert (pop.segment[~customers] == -1).all() and (pop.tier[~customers] == -1).all()
    bounds = np.array([t.min_aum for t in scenario.tiers])
    np.testing.assert_array_equal(
        pop.tier[rows], np.searchsorted(bounds, pop.aum[rows], side="right") - 1)


def test_results_do_not_depend_on_the_number_of_threads(tmp_path: Path) -> None:
    """Compiled loops add in a fixed order: one thread and all threads give the same month.

    150,000 rows span three fixed chunks of the chunked loops (sim.kernels.CHUNK).
    """
    import os
    import subprocess
    import sys

    script = (
        "import hashlib, sys\n"
        "from sim.model import LifecycleModel\n"
        "from sim.scenario import load_scenario\n"
        f"s = load_scenario({str(BASELINE.parent / 'playbook_branches.yaml')!r}, "
        "['population.size=150000', 'population.prospects=20000', 'population.branches=10'])\n"
        "m = LifecycleModel(s)\n"
        "for _ in range(3): m.step()\n"
        "print(hashlib.sha256(m.monthly_frame().to_csv().encode()).hexdigest())\n"
    )
    digests = []
    for threads in ("1", "2"):
        env = {**os.environ, "NUMBA_NUM_THREADS": threads}
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                             text=True, check=True, cwd=tmp_path)
        digests.append(out.stdout.strip().splitlines()[-1])
    assert digests[0] == digests[1]
