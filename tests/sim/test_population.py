"""The population table's compaction: the kept rows, and room left for the next arrivals."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.model import LifecycleModel
from sim.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml"


def test_gather_into_is_numpys_take_into_the_head_of_a_buffer() -> None:
    """The compaction's gather writes ``column[rows]`` into the buffer's head, bit for bit,
    and leaves its tail (the room for appends) alone."""
    from sim import kernels

    rng = np.random.default_rng(3)
    column = rng.standard_normal(200_000)
    column[::11] = -0.0
    rows = np.flatnonzero(rng.random(200_000) < 0.9)
    out = np.full(250_000, 7.0)
    kernels.gather_into(column, rows, out)
    np.testing.assert_array_equal(out[:len(rows)].view(np.uint64), column[rows].view(np.uint64))
    assert (out[len(rows):] == 7.0).all()


def test_compaction_leaves_the_dropped_rows_as_room_for_appends() -> None:
    """After ``keep`` the columns are the kept rows (any dtype), and arrivals that fit in the
    rows dropped are appended in place: the table is not copied once more."""
    from sim.population import Population

    model = LifecycleModel(load_scenario(BASELINE, ["population.size=3000", "horizon_months=2"]))
    pop = model.population
    pop.add_column("probe_half", np.float16, 1.5)
    keep = np.ones(len(pop), bool)
    keep[::3] = False
    before = {name: column[keep].copy() for name, column in pop.columns().items()}
    pop.keep(keep)
    for name, column in pop.columns().items():
        np.testing.assert_array_equal(column, before[name])
    first = pop.aum
    arrivals = Population({name: column[:100] for name, column in pop.columns().items()
                           if name != "probe_half"})
    pop.append(arrivals)
    assert pop.aum.base is first.base and len(pop) == keep.sum() + 100
    np.testing.assert_array_equal(pop.aum[:-100], before["aum"])
    assert (pop.probe_half[-100:] == 1.5).all()
