"""A strategy's working copy of some rows of the population (:class:`RowSubset`).

Split from :mod:`sim.population`, which holds the table itself: the subset
copies a strategy's rows out on first read, lets it read or put values
without copies, and writes what changed back (bit-compared, in parallel).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from sim import kernels
from sim.population import _COMPILED_KINDS, FIELDS, MODEL_OWNED, Population, _check_amount

__all__ = ["RowSubset"]

#: Unsigned integer of each compiled kind's width: compared as these, equal values are equal bits.
_BITS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _take(column: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``column[rows]``, copied in parallel when the dtype allows."""
    if column.dtype in _COMPILED_KINDS:
        # a row in every 64-byte line of the column, on average: a stream (see gather_dense)
        if column.dtype.itemsize >= 4 and 64 * len(rows) >= column.nbytes:
            return kernels.gather_dense(column, rows)
        return kernels.gather(column, rows)
    return column[rows]


def _addend(
    column: np.ndarray, mask: Any, amount: np.ndarray | float, n: int
) -> np.ndarray | None:
    """``amount`` in the type NumPy adds it to ``column[rows[mask]]`` in, or None: not compiled.

    For float columns and a boolean mask of every row: a Python number adds
    in the column's type (NumPy 2 casts it there first: NEP 50), float64
    values (one per row of the mask) in float64, stored in the column's type.
    Anything else (NumPy scalars, other dtypes, index masks) is left to NumPy.
    """
    if (column.dtype not in (np.float32, np.float64) or not isinstance(mask, np.ndarray)
            or mask.dtype != np.bool_ or mask.shape != (n,)):
        return None
    if type(amount) in (float, int):
        return np.array([amount], column.dtype)
    if (isinstance(amount, np.ndarray) and amount.dtype == np.float64
            and amount.shape == (np.count_nonzero(mask),)):
        return amount
    return None


def _put(column: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``column[rows] = values`` (distinct rows), in parallel when the dtype allows.

    The compiled copy writes only values whose bits differ (it compares the
    columns as unsigned integers of their width): most of what a strategy
    hands back is what it read.
    """
    if (column.dtype in _COMPILED_KINDS and values.dtype == column.dtype
            and column.flags.c_contiguous and values.flags.c_contiguous):
        bits = _BITS[column.dtype.itemsize]
        kernels.scatter(column.view(bits), rows, values.view(bits))
    else:
        column[rows] = values


def _refused(name: str, values: np.ndarray) -> bool:
    """Whether :func:`sim.strategy_errors.check_written` refuses ``values`` in column ``name``."""
    from sim.strategy_errors import NON_NEGATIVE  # it imports this module

    if name not in FIELDS or not len(values) or values.dtype.kind not in "fiu":
        return False
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        return True
    return name in NON_NEGATIVE and bool(values.min() < 0)


class RowSubset:
    """A working copy of some rows of a population, written back when done.

    A strategy that treats 8% of the bank should cost 8% of a month, not a
    pass over every row per operation. The subset looks like a
    :class:`Population` of ``len(rows)`` rows: a column is copied from the
    table the first time it is read (``pop.aum`` is ``table.aum[rows]``),
    changes — in place or by assignment — stay in the copy, and
    :meth:`write_back` copies every column that was touched back into the
    table's rows. Rows keep their table order, so anything ranked or
    cumulated over rows comes out as it would on the whole table. Columns
    only the model changes (:data:`MODEL_OWNED`: ids, stages, classes,
    branch) are read-only copies and are not written back.
    """

    _table: Population
    _rows: np.ndarray
    _copies: dict[str, np.ndarray]
    _reads: dict[str, np.ndarray]
    _puts: dict[str, list[np.ndarray]]

    def __init__(self, table: Population, rows: np.ndarray) -> None:
        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "_rows", rows)
        object.__setattr__(self, "_copies", {})
        object.__setattr__(self, "_reads", {})  # columns read (not written back), see read
        object.__setattr__(self, "_puts", {})  # values put into the table, see put

    def __getattr__(self, name: str) -> np.ndarray:
        copies = self.__dict__["_copies"]
        if name not in copies:
            read = self.__dict__["_reads"].pop(name, None)
            if read is not None:  # read whole already: that snapshot, as a copy of its own
                copy = read.copy()
            else:
                column = self.__dict__["_table"].columns().get(name)
                if column is None:
                    raise AttributeError(name)
                copy = _take(column, self.__dict__["_rows"])
            if name in MODEL_OWNED:
                copy.flags.writeable = False
            copies[name] = copy
        return copies[name]

    def read(self, name: str, rows: np.ndarray | None = None) -> np.ndarray:
        """A column's values now, read-only: a snapshot, not written back (``rows``: only those).

        ``pop.<name>`` copies the column out, and :meth:`write_back` compares
        every row of it with the table's, changed or not; a column only read
        need not be (at 1M, voucher's seven columns of 125,000 rows cost
        about 4 ms a month that way). ``rows`` (indices or a mask, as for
        ``pop.<name>[rows]``) gathers just those rows from the table.
        """
        rows = None if rows is None else np.asarray(rows)
        copy = self._copies.get(name)
        if copy is not None:  # the subset's own values, which may differ from the table's
            values = np.array(copy if rows is None else copy[rows])
        elif rows is not None and (name in self._reads or 4 * (
                np.count_nonzero(rows) if rows.dtype == np.bool_ else len(rows)) >= len(self)):
            values = self.read(name)[rows]  # many rows: the column once, for later reads too
        elif rows is not None:
            values = _take(self.table_column(name), self._rows[rows])
        else:
            cached = self._reads.get(name)
            values = self._reads[name] = _take(self.table_column(name), self._rows) \
                if cached is None else cached
        values.flags.writeable = False
        return values

    def put(self, name: str, rows: np.ndarray, values: np.ndarray | float) -> None:
        """``self.<name>[rows] = values``, in the table's rows if the column was not copied.

        For changing a few rows of a column (a voucher's redeemers) without
        copying it out and back. ``rows``: indices or a mask. The values
        written are checked with the copies at the end of the month.
        """
        if name in MODEL_OWNED:
            raise AttributeError(f"column {name!r} is the model's; strategies only read it")
        copy = self._copies.get(name)
        if copy is not None:
            copy[rows] = values
            return
        column = self._column(name)
        at = self._rows[rows]
        new = np.empty(at.shape, column.dtype)
        new[...] = values  # cast as ``column[at] = values`` casts them
        self._puts.setdefault(name, []).append(new)
        if _refused(name, new):  # into a copy: refused before anything is written back
            copy = getattr(self, name)
            copy[rows] = new
            return
        self._reads.pop(name, None)  # no longer the table's values
        column[at] = new

    def put_values(self) -> dict[str, np.ndarray]:
        """The values :meth:`put` wrote into the table, by column (to check, as the copies)."""
        return {name: np.concatenate(parts) for name, parts in self._puts.items()}

    def table_column(self, name: str) -> np.ndarray:
        """The table's whole column, read-only (not a copy).

        For reading rows the subset has not changed; writing through it would skip
        the subset's checks and the model-owned columns' protection.
        """
        column = self._column(name).view()
        column.flags.writeable = False
        return column

    def _column(self, name: str) -> np.ndarray:
        """The table's whole column itself."""
        column = self._table.columns().get(name)
        if column is None:
            raise AttributeError(name)
        return column

    def __setattr__(self, name: str, value: Any) -> None:
        dtypes = self._table._dtypes
        if name not in dtypes:
            raise AttributeError(f"no population column {name!r}; add it with add_column")
        if name in MODEL_OWNED:
            raise AttributeError(f"column {name!r} is the model's; strategies only read it")
        array = np.array(np.broadcast_to(value, (len(self),)), dtypes[name])
        self._reads.pop(name, None)
        self._copies[name] = array

    def __len__(self) -> int:
        return len(self._rows)

    def add_column(self, name: str, dtype: Any, fill: Any = 0) -> None:
        """Add a column to the whole table (see :meth:`Population.add_column`)."""
        self._table.add_column(name, dtype, fill)

    def add_at(self, name: str, mask: np.ndarray, amount: np.ndarray | float) -> None:
        """``self.<name>[mask] += amount``, in the table's rows if the column was not copied.

        Adding to some rows (contacts made, contacts the RMs could not make)
        need not copy a whole column out and back. ``amount``: a number, or one
        per row of ``mask``; finite and not negative (a count or money added),
        refused otherwise, as the written-column check would refuse the result.
        """
        if name in MODEL_OWNED:
            raise AttributeError(f"column {name!r} is the model's; strategies only read it")
        column = self._table.columns()[name]
        _check_amount(name, column, amount)
        copy = self._copies.get(name)
        self._reads.pop(name, None)  # the table's values change
        if copy is not None:  # read already: the copy is what is written back
            copy[mask] += amount
        elif (add := _addend(column, mask, amount, len(self))) is not None:
            kernels.add_masked(column, self._rows, mask, add)  # one pass (see there)
        else:
            column[self._rows[mask]] += amount

    def columns(self) -> _SubsetColumns:
        """The subset's columns by name, copied on first read."""
        return _SubsetColumns(self)

    def write_back(self) -> None:
        """Copy every column read or changed back into the table's rows (not the model's)."""
        table = self._table.columns()
        for name, values in self._copies.items():
            if name not in MODEL_OWNED:
                _put(table[name], self._rows, values)
        self._copies.clear()
        self._reads.clear()
        self._puts.clear()


class _SubsetColumns(Mapping[str, np.ndarray]):
    def __init__(self, subset: RowSubset) -> None:
        self._subset = subset

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return getattr(self._subset, name)
        except AttributeError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._subset._table.columns())

    def __len__(self) -> int:
        return len(self._subset._table.columns())
