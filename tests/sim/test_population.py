"""The population table's compaction: the kept rows, and room left for the next arrivals."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.model import LifecycleModel
from sim.population import FIELDS
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


def test_keep_in_place_is_numpys_take_into_the_columns_head() -> None:
    """The in-place compaction writes ``column[rows]`` into the column's head, bit for bit
    (any compiled dtype, -0.0 and NaN kept), and leaves the rest of it alone."""
    from sim import kernels

    rng = np.random.default_rng(5)
    rows = np.flatnonzero(rng.random(100_000) < 0.9)
    rows[0] = 0  # a row that stays where it is
    for dtype in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.float32, np.float64):
        column = (rng.standard_normal(100_000) * 100).astype(dtype)
        if column.dtype.kind == "f":
            column[::13], column[::17] = -0.0, np.nan
        expected, tail = column[rows].copy(), column[len(rows):].copy()
        kernels.keep_in_place(column, rows)
        bits = f"u{column.dtype.itemsize}" if column.dtype != np.bool_ else np.bool_
        np.testing.assert_array_equal(column[:len(rows)].view(bits), expected.view(bits))
        np.testing.assert_array_equal(column[len(rows):].view(bits), tail.view(bits))


def test_compaction_in_place_keeps_the_rows_of_a_table_that_grew() -> None:
    """After appends (columns in the table's own buffers) ``keep`` moves the rows in place:
    the columns are the kept rows, still in those buffers, and the next append fits."""
    from sim.population import Population

    model = LifecycleModel(load_scenario(BASELINE, ["population.size=3000", "horizon_months=2"]))
    pop = model.population
    arrivals = Population({name: column[:500].copy() for name, column in pop.columns().items()
                           if name in FIELDS})
    pop.append(arrivals)
    buffers = {name: column.base for name, column in pop.columns().items()}
    keep = np.random.default_rng(1).random(len(pop)) < 0.8
    before = {name: column[keep].copy() for name, column in pop.columns().items()}
    pop.keep(keep)
    for name, column in pop.columns().items():
        np.testing.assert_array_equal(column, before[name])
        assert column.base is buffers[name]
    pop.append(arrivals)
    assert pop.aum.base is buffers["aum"]
    np.testing.assert_array_equal(pop.aum[-500:], arrivals.aum)


def test_in_stages_is_the_lookup_by_stage_code() -> None:
    """``in_stages`` (comparisons) gives the boolean table indexed by each row's stage code."""
    from sim.model import in_stages

    stage = np.random.default_rng(2).integers(0, 6, 10_000).astype(np.int8)
    for table in ([0, 0, 0, 0, 0, 1], [0, 1, 1, 1, 1, 0], [1, 0, 1, 0, 1, 0], [0] * 6, [1] * 6):
        lookup = np.array(table, bool)
        np.testing.assert_array_equal(in_stages(stage, lookup), lookup[stage])


def test_keep_gathers_columns_that_share_a_buffer() -> None:
    """A column set from another (``pop.a = pop.b``: ``__setattr__`` does not copy an array
    of the column's type, as a bank-scope plugin may do) shares that column's buffer.
    ``keep`` must not move the rows of that buffer in place: the other column's rows
    would be gathered from rows already moved."""
    from sim.population import Population

    def table(n: int) -> Population:
        columns = {name: np.zeros(n, dtype) for name, dtype in FIELDS.items()}
        columns["id"] = np.arange(n)
        return Population(columns)

    pop = table(20)
    pop.append(table(5))  # the columns in buffers the table made
    pop.satisfaction = np.arange(25, dtype=np.float32)
    pop.append(table(5))
    pop.satisfaction_base = pop.satisfaction  # the same array, two columns
    assert np.shares_memory(pop.satisfaction_base, pop.satisfaction)
    keep = np.arange(30) % 3 != 0
    expected = pop.satisfaction[keep].copy()
    pop.keep(keep)
    np.testing.assert_array_equal(pop.satisfaction, expected)
    np.testing.assert_array_equal(pop.satisfaction_base, expected)
