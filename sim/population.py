"""The customer population as a table of arrays (ARCHITECTURE decision 1).

Each customer is one row across many NumPy arrays (struct of arrays): its
stage, age, wealth, share of wallet, satisfaction and so on. Customers still
decide individually — each has its own attributes and its own random draws —
but a month of a million customers is a few dozen array operations instead of
a million Python method calls.

New rows' attributes are drawn in :mod:`sim.population_draw`; a strategy's
working copy of some rows (:class:`RowSubset`) is in :mod:`sim.population_subset`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from sim import kernels

if TYPE_CHECKING:
    from sim.population_subset import RowSubset

__all__ = ["FIELDS", "MODEL_OWNED", "CustomerView", "Population", "RowSubset"]

#: Column name -> dtype. Order is the order of the per-customer view.
FIELDS: dict[str, type] = {
    "id": np.int64,
    "stage": np.int8,
    "entry_stage": np.int8,
    "months_in_stage": np.int16,
    "tenure": np.int16,
    "entered_month": np.int16,
    "absorbed_month": np.int16,
    "is_initial": np.bool_,
    "age": np.float32,
    "total_wealth": np.float32,  # a latent (wealth at all banks), not booked money
    "wallet_propensity": np.float32,
    "share_of_wallet": np.float32,
    "aum": np.float64,
    "satisfaction": np.float32,
    "satisfaction_base": np.float32,
    "digital_adoption": np.float32,
    "channel": np.int8,
    "price_sensitivity": np.float32,
    "activity_rate": np.float32,
    "branch": np.int16,
    "products": np.int16,
    "potential_value": np.float32,
    "segment": np.int8,
    "tier": np.int8,
    "contacts": np.float32,
    "wait_minutes": np.float32,
    "complaints": np.float32,
    "yield_bump_bp": np.float32,
    "payments_month": np.int32,
    "payments_ytd": np.int32,
    "marketing_opt_out": np.bool_,
    "revenue_month": np.float64,
    "cost_month": np.float64,
}

#: Columns only the model changes (identity, lifecycle, classes, branch): a strategy
#: reads them, and a :class:`RowSubset` hands them out read-only and never copies them back.
#: ``activity_rate`` is a drawn trait the branches derive each customer's visit weight from
#: (cached: ``visit_weight``).
MODEL_OWNED = frozenset({"id", "stage", "entry_stage", "months_in_stage", "tenure",
                         "entered_month", "absorbed_month", "is_initial", "age", "branch",
                         "potential_value", "segment", "tier", "activity_rate"})
#: Column dtypes the compiled row copies handle; others (e.g. float16, strings) use NumPy.
_COMPILED_KINDS = frozenset({np.dtype(t) for t in (
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
    np.uint64, np.float32, np.float64)})
def _check_amount(name: str, column: np.ndarray, amount: np.ndarray | float) -> None:
    """Refuse adding NaN, infinite, negative or (in the column's type) overflowing amounts."""
    values = np.asarray(amount, np.float64)
    if not values.size:
        return
    largest = float(np.finfo(column.dtype).max) if column.dtype.kind == "f" else np.inf
    lowest, highest = float(values.min()), float(values.max())  # NaN: both NaN
    if not (lowest >= 0 and np.isfinite(highest) and highest <= largest):
        bad = highest if lowest >= 0 else lowest
        raise ValueError(f"add_at({name!r}) got an amount of {bad}; expected finite numbers "
                         f">= 0")


class Population:
    """Struct-of-arrays table of customers and prospects.

    Arrays are attributes named as in :data:`FIELDS`; labels and strategies
    add their own columns with :meth:`add_column`. Rows of absorbed (churned
    or lapsed) customers are dropped with :meth:`keep` once they are a large
    share of the table; their counts live on in the model's tallies.
    """

    def __init__(self, columns: dict[str, np.ndarray]) -> None:
        missing = set(FIELDS) - set(columns)
        if missing:
            raise ValueError(f"missing population columns: {sorted(missing)}")
        self._dtypes: dict[str, Any] = dict(FIELDS)
        self._fill: dict[str, Any] = {}
        self._columns: dict[str, np.ndarray] = {}
        self._buffers: dict[str, np.ndarray] = {}  # spare room for appends (see append)
        seen: set[int] = set()
        for name, dtype in FIELDS.items():
            # copy when one array was passed for several columns (e.g. zeros), never alias
            copy = True if id(columns[name]) in seen else None
            seen.add(id(columns[name]))
            self._columns[name] = np.array(columns[name], dtype, copy=copy)

    @classmethod
    def empty(cls, n: int) -> Population:
        """A table of ``n`` rows of uninitialised values, to :meth:`fill` in parts."""
        return cls({name: np.empty(n, dtype) for name, dtype in FIELDS.items()})

    def fill(self, first: int, columns: Mapping[str, Any], n: int) -> None:
        """Write ``n`` rows into rows ``first, first + 1, ...`` of this table.

        ``columns``: by name, ``n`` values (cast to the column's type as they
        are stored) or one value for every row, e.g.
        :func:`sim.population_draw.draw_columns`.
        """
        for name, values in columns.items():
            self._columns[name][first:first + n] = values

    def add_column(self, name: str, dtype: Any, fill: Any = 0) -> None:
        """Add a column (e.g. a label or a strategy's cohort), ``fill`` in every row."""
        if name in self._dtypes:
            raise ValueError(f"population column {name!r} exists already")
        self._dtypes[name] = dtype
        self._fill[name] = fill
        self._columns[name] = np.full(len(self), fill, dtype)

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["_columns"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        elif name in self._dtypes:
            self._columns[name] = np.asarray(value, self._dtypes[name])
        else:
            raise AttributeError(f"no population column {name!r}; add it with add_column")

    def __len__(self) -> int:
        return len(self._columns["id"])

    def columns(self) -> dict[str, np.ndarray]:
        """Return the column arrays by name (not copies)."""
        return self._columns

    def append(self, other: Population) -> None:
        """Add ``other``'s rows at the end; columns it lacks get their fill value.

        Columns live at the start of buffers with room to spare: a column
        without room for ``other`` moves to a buffer with room for six more
        appends of this size, so a month's arrivals are usually copied in
        place instead of the whole table being copied.
        """
        self.extend(other._columns, len(other))

    def extend(self, columns: Mapping[str, Any], m: int) -> None:
        """Add ``m`` rows at the end, as :meth:`append`, from columns by name.

        ``columns`` as :meth:`fill` takes them: ``m`` values (cast to the
        column's type as they are stored) or one value for every row. A column
        not among them gets its fill value.
        """
        n = len(self)
        for name, dtype in self._dtypes.items():
            extra = columns.get(name)
            column, buffer = self._columns[name], self._buffers.get(name)
            # reuse only a buffer this method made, still holding this very column
            if buffer is None or column.base is not buffer or len(buffer) < n + m:
                buffer = np.empty(n + 7 * m, dtype)
                buffer[:n] = column
                self._buffers[name] = buffer
            buffer[n:n + m] = self._fill[name] if extra is None else extra
            self._columns[name] = buffer[:n + m]

    def keep(self, mask: np.ndarray) -> None:
        """Keep only rows where ``mask`` is true.

        The kept rows go to the head of the column's buffer (moved within it
        when the table made the buffer, else gathered into a new one as long
        as the column's old one), so the dropped rows become room for
        :meth:`append`: the next months' arrivals are copied in place rather
        than the whole table being moved once more. At 1M customers
        (``playbook_branches``) the append after each compaction had cost
        13-24 ms of copying, and its buffer had run out again some months on.
        Arrays of the table's columns taken before are not copies: they see
        the rows moved.
        """
        rows = np.flatnonzero(mask)  # once, rather than once per column
        k = len(rows)
        # a buffer that more than one column views (``pop.a = pop.b`` does not copy) is not
        # moved in place: the other column would then be gathered from rows already moved
        bases = [id(c.base) for c in self._columns.values() if c.base is not None]
        shared = {b for b in bases if bases.count(b) > 1} if len(set(bases)) < len(bases) else set()
        for name, dtype in self._dtypes.items():  # column by column: one old buffer at a time
            column, buffer = self._columns[name], self._buffers.pop(name, None)
            if (buffer is not None and column.base is buffer and column.dtype in _COMPILED_KINDS
                    and id(buffer) not in shared):
                # a buffer this table made (append, keep): nobody else's array, so the rows
                # move within it (kernels.keep_in_place: 24.7 against 44-46 ms for 48 columns
                # of 1.21M rows, one thread's CPU; no new buffer to fault in either)
                kernels.keep_in_place(column, rows)
                self._buffers[name] = buffer
                self._columns[name] = buffer[:k]
                continue
            room = len(buffer) if buffer is not None and column.base is buffer else len(column)
            kept = np.empty(max(room, k), dtype)
            if kept.dtype in _COMPILED_KINDS:
                kernels.gather_into(column, rows, kept)
            else:
                np.take(column, rows, out=kept[:k])
            self._buffers[name] = kept
            self._columns[name] = kept[:k]

    @property
    def nbytes(self) -> int:
        """Bytes the table holds, spare room for appends included."""
        return sum(self._buffers[k].nbytes if k in self._buffers
                   and self._columns[k].base is self._buffers[k] else v.nbytes
                   for k, v in self._columns.items())

    def add_at(self, name: str, mask: np.ndarray, amount: np.ndarray | float) -> None:
        """``self.<name>[mask] += amount`` (as :meth:`RowSubset.add_at`, for one interface)."""
        column = self._columns[name]
        _check_amount(name, column, amount)
        column[mask] += amount

    def read(self, name: str, rows: np.ndarray | None = None) -> np.ndarray:
        """A column's values now, read-only (as :meth:`RowSubset.read`, for one interface)."""
        values = np.array(self._columns[name] if rows is None else self._columns[name][rows])
        values.flags.writeable = False
        return values

    def put(self, name: str, rows: np.ndarray, values: np.ndarray | float) -> None:
        """``self.<name>[rows] = values`` (as :meth:`RowSubset.put`, for one interface)."""
        self._columns[name][rows] = values

    def subset(self, rows: np.ndarray) -> RowSubset:
        """A working copy of some rows (see :class:`RowSubset`)."""
        from sim.population_subset import RowSubset  # it imports this module

        return RowSubset(self, rows)

    def view(self, row: int) -> CustomerView:
        """Return a read-only view of the customer in ``row``."""
        if not -len(self) <= row < len(self):
            raise IndexError(f"row {row} out of range for {len(self)} customers")
        return CustomerView(self, row % len(self))

    def __iter__(self) -> Iterator[CustomerView]:
        return (CustomerView(self, i) for i in range(len(self)))


class CustomerView:
    """Read-only view of one customer, for inspection and teaching.

    Attribute reads return that customer's current values; writes raise.
    """

    __slots__ = ("_pop", "_row")

    def __init__(self, population: Population, row: int) -> None:
        object.__setattr__(self, "_pop", population)
        object.__setattr__(self, "_row", row)

    def __getattr__(self, name: str) -> Any:
        if name not in self._pop.columns():
            raise AttributeError(name)
        return getattr(self._pop, name)[self._row].item()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("CustomerView is read-only; strategies change the arrays")

    def as_dict(self) -> dict[str, Any]:
        """Return all attributes of the customer."""
        return {name: getattr(self, name) for name in self._pop.columns()}

    def __repr__(self) -> str:
        return f"CustomerView(id={self.id}, stage={self.stage}, aum={self.aum:,.0f})"


def __getattr__(name: str) -> Any:
    """``RowSubset``, importable from here as before (its module imports this one)."""
    if name == "RowSubset":
        from sim.population_subset import RowSubset

        return RowSubset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
