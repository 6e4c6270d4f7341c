"""RowSubset.read and put: columns read without a copy written back, rows written in place."""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import LifecycleModel
from sim.scenario import load_scenario
from sim.strategy_errors import check_written
from tests.sim.util import SCENARIOS


def _model() -> LifecycleModel:
    return LifecycleModel(load_scenario(SCENARIOS / "baseline.yaml",
                                        ["population.size=2000", "population.prospects=100"]))


@pytest.mark.parametrize("many", [False, True])
def test_read_is_a_read_only_snapshot_of_the_subsets_values(many) -> None:
    """``read(name)`` and ``read(name, rows)`` are ``pop.<name>`` and ``pop.<name>[rows]``
    as they are now (a copy's values once the column is copied), read-only, and a column
    only read is not written back."""
    model = _model()
    pop = model.population
    rows = np.flatnonzero(model.is_customer())[:80]
    subset = pop.subset(rows)
    some = np.arange(80) % (2 if many else 7) == 0  # at least a quarter: the column once
    np.testing.assert_array_equal(subset.read("aum", some), pop.aum[rows][some])
    np.testing.assert_array_equal(subset.read("aum", np.flatnonzero(some)), pop.aum[rows][some])
    whole = subset.read("aum")
    np.testing.assert_array_equal(whole, pop.aum[rows])
    with pytest.raises(ValueError, match="read-only"):
        whole[0] = 1.0
    assert "aum" not in subset._copies
    subset.aum[:] = 5.0  # copied now (from the snapshot), and changed
    np.testing.assert_array_equal(whole, pop.aum[rows])  # the snapshot stays as it was
    np.testing.assert_array_equal(subset.read("aum", some), 5.0)  # the subset's values
    np.testing.assert_array_equal(subset.read("aum"), 5.0)
    before = pop.satisfaction.copy()
    subset.read("satisfaction")
    subset.write_back()
    np.testing.assert_array_equal(pop.aum[rows], 5.0)
    np.testing.assert_array_equal(pop.satisfaction, before)
    with pytest.raises(AttributeError):
        subset.read("no_such_column")


def test_put_writes_the_table_or_the_copy_and_reads_see_it() -> None:
    """``put(name, rows, values)`` is ``pop.<name>[rows] = values``: in the table's rows
    when the column was not copied (a read of it is then read again), in the copy when
    it was; the values put are checked as the copies are."""
    model = _model()
    pop = model.population
    rows = np.flatnonzero(model.is_customer())[:40]
    subset = pop.subset(rows)
    expected = pop.satisfaction_base.copy()
    assert subset.read("satisfaction_base")[3] == expected[rows[3]]
    subset.put("satisfaction_base", np.array([3, 5]), 0.25)
    expected[rows[[3, 5]]] = 0.25
    np.testing.assert_array_equal(pop.satisfaction_base, expected)  # in the table already
    np.testing.assert_array_equal(subset.read("satisfaction_base"), expected[rows])
    mask = np.arange(40) == 7
    subset.satisfaction_base[0] += 0  # copied
    subset.put("satisfaction_base", mask, np.array([0.5], np.float32))
    np.testing.assert_array_equal(pop.satisfaction_base, expected)  # the copy's, for now
    expected[rows[7]] = 0.5
    subset.put("aum", np.array([1]), np.nan)
    with pytest.raises(Exception, match="NaN"):
        check_written("s", 0, 1, subset.put_values())
    subset.put("aum", np.array([1]), 1.0)
    subset.write_back()
    np.testing.assert_array_equal(pop.satisfaction_base, expected)
    assert pop.aum[rows[1]] == 1.0
    with pytest.raises(AttributeError, match="the model's"):
        subset.put("stage", np.array([0]), 1)


def test_the_whole_table_reads_and_puts_the_same_way() -> None:
    """A bank-scope strategy's population (the table) has read and put too."""
    model = _model()
    pop = model.population
    values = pop.read("aum")
    np.testing.assert_array_equal(values, pop.aum)
    assert not values.flags.writeable and not np.shares_memory(values, pop.aum)
    np.testing.assert_array_equal(pop.read("aum", np.array([2, 4])), pop.aum[[2, 4]])
    pop.put("aum", np.array([2]), 3.0)
    assert pop.aum[2] == 3.0



def test_table_column_is_read_only() -> None:
    """``RowSubset.table_column`` hands out the table's column for reading: a plugin writing
    through it would change model-owned columns (stage, segment, ...) and rows outside its
    subset unchecked, which the subset refuses otherwise."""
    model = _model()
    pop = model.population
    rows = np.flatnonzero(model.is_customer())[:80]
    subset = pop.subset(rows)
    before = pop.stage.copy(), pop.satisfaction.copy()
    for name in ("stage", "satisfaction"):
        with pytest.raises(ValueError, match="read-only"):
            subset.table_column(name)[0] = 0
    np.testing.assert_array_equal(pop.stage, before[0])
    np.testing.assert_array_equal(pop.satisfaction, before[1])
    subset.put("satisfaction", np.arange(3), 0.5)  # put still writes the table's rows
    assert (pop.satisfaction[rows[:3]] == 0.5).all() and pop.satisfaction.flags.writeable


def test_a_value_put_that_the_check_refuses_does_not_reach_the_table() -> None:
    """A NaN, infinite or negative count put is refused by the check before anything is
    written back, as a copy's would be: the table keeps its values (a run that goes on,
    or a page that shows the error, sees no NaN in the bank)."""
    model = _model()
    pop = model.population
    rows = np.flatnonzero(model.is_customer())[:40]
    before = pop.aum.copy(), pop.satisfaction.copy()
    subset = pop.subset(rows)
    subset.put("aum", np.array([1, 2]), np.array([np.nan, 3.0]))
    with np.errstate(over="ignore"):  # NumPy warns of the cast's overflow, as column[rows] = 1e39
        subset.put("satisfaction", np.arange(40) == 4, 1e39)  # inf as float32
    np.testing.assert_array_equal(pop.aum, before[0])
    np.testing.assert_array_equal(pop.satisfaction, before[1])
    with pytest.raises(Exception, match="NaN or infinite"):
        check_written("s", 0, 1, {**subset._copies, **subset.put_values()})
    assert np.isnan(subset.read("aum")[1]) and subset.read("aum")[2] == 3.0
