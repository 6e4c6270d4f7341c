"""What a strategy plugin sees in one month: :class:`StrategyContext`.

The plugin-facing half of :mod:`sim.strategy_runtime`: the population (or the
targets' rows), category codes, keyed draws, money (``fund``, ``spend``), RM
time (``staff``), contact counts, per-customer state and new prospects. The
runtime builds one context per strategy and month; what it does around the
plugin (targeting, hold-outs, budgets' bookkeeping, uplift) stays there.
CONTRIBUTING.md lists the methods a plugin may call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sim import kernels
from sim.dynamics import SEGMENTS
from sim.population import Population
from sim.population_subset import RowSubset
from sim.streams import keyed_normal, keyed_uniform

if TYPE_CHECKING:
    from sim.model import LifecycleModel
    from sim.strategy_runtime import StrategyRuntime

__all__ = ["StrategyContext"]


def _per_row(values: np.ndarray | float, shape: tuple[int, ...], rows: np.ndarray) -> np.ndarray:
    """``values`` (a scalar, or an array broadcasting to ``shape``) at ``rows``, as floats.

    ``rows``: indices, or a boolean mask (the values of its rows, in row order).
    """
    values = np.asarray(values, float)
    if values.ndim == 0:  # the same numbers as the broadcast gathered, without the gather
        return np.full(np.count_nonzero(rows) if rows.dtype == bool else len(rows), values)
    return np.broadcast_to(values, shape)[rows]


def _read(population: Population | RowSubset, name: str, rows: np.ndarray | None = None,
          copy: bool = False) -> np.ndarray:
    """A column's values (of ``rows``), not to be changed: a subset's are not written back.

    ``copy``: values that later changes to the column do not reach (a subset's
    always are; the whole table's column itself is not, unless copied).
    """
    if isinstance(population, RowSubset):
        return population.read(name, rows)
    column = getattr(population, name)
    if rows is not None:
        return column[rows]
    return np.array(column) if copy else column


class StrategyContext:
    """What a strategy sees in one month (duck-typed: strategies never import ``sim``).

    Attributes:
        name: The strategy's registered name.
        month: The simulated month.
        population: The vectorised customers (arrays; changes are real): by default
            only the rows of this month's targets, in table order (a
            :class:`~sim.population.RowSubset`, see ``Strategy.scope``).
        scenario: The validated scenario (read-only).
        targets: Customers this strategy may treat this month: targeted, not
            in its hold-out, not opted out of marketing (every row of a subset).
        customers: Live customers among the rows.
        price_gap_points: Competitor yield minus ours, in percentage points.
    """

    def __init__(
        self, model: LifecycleModel, runtime: StrategyRuntime, population: Population | RowSubset,
        targets: np.ndarray, customers: np.ndarray,
    ) -> None:
        self._model = model
        self._runtime = runtime
        self._order: tuple[np.ndarray, np.ndarray] | None = None  # priority key and order
        self.name = runtime.name
        self.month = model.month
        self.population = population
        self.scenario = model.scenario
        self.targets = targets
        self.customers = customers
        self.price_gap_points = model.price_gap_points

    # -- codes of categorical columns
    def stage_code(self, name: str) -> int:
        """Code of a stage in the ``stage`` column."""
        return self._model.stage_names.index(name)

    def segment_code(self, name: str) -> int:
        """Code of a segment (A-D) in the ``segment`` column."""
        return SEGMENTS.index(name)

    def channel_code(self, name: str) -> int:
        """Code of a channel in the ``channel`` column, or -1 if the scenario lacks it."""
        names = self._model.channel_names
        return names.index(name) if name in names else -1

    def tier_code(self, name: str) -> int:
        """Code of an AUM tier in the ``tier`` column."""
        return self._model.tier_names.index(name)

    # -- randomness
    def uniform(self, purpose: str = "", rows: np.ndarray | None = None) -> np.ndarray:
        """One U(0, 1) draw per row, keyed by customer id, month and this strategy.

        ``rows``: only these rows' draws (indices), the same values as
        ``uniform(purpose)[rows]``: a draw depends on the customer's id alone.
        A bank-scope strategy that needs draws for a few rows saves the rest.
        """
        m = self._model
        ids = self.population.id if rows is None else _read(self.population, "id", rows)
        return keyed_uniform(m.seed_value, m.replication, f"strategy/{self.name}/{purpose}",
                             m.month, ids)

    def normal(self, purpose: str = "", rows: np.ndarray | None = None) -> np.ndarray:
        """One N(0, 1) draw per row, keyed by customer id, month and this strategy.

        ``rows``: only these rows' draws, as for :meth:`uniform`.
        """
        m = self._model
        ids = self.population.id if rows is None else _read(self.population, "id", rows)
        return keyed_normal(m.seed_value, m.replication, f"strategy/{self.name}/{purpose}",
                            m.month, ids)

    # -- money
    def fund(self, kind: str, wanted: np.ndarray, cost_each: np.ndarray | float) -> np.ndarray:
        """Pay for the wanted customers the budget allows, in the budget's priority order.

        Args:
            kind: Cost kind, one of the strategy's ``cost_kinds``.
            wanted: Boolean mask of rows the strategy wants to pay for.
            cost_each: Cost per row in CNY (scalar or array over all rows).

        Returns:
            Boolean mask of the rows paid for; the cost is booked.
        """
        wanted = self._wanted_mask(wanted)
        # the wanted costs in row order, picked by the mask: the rows themselves are needed
        # only when the budget is short (at 1M, cross_sell's 400,000 offers: 0.2 ms less)
        costs = _per_row(cost_each, wanted.shape, wanted)
        total, cheapest = self._non_negative("fund", "cost_each", costs)
        self._runtime.demand_month += total  # issue 7: shards share by demand
        left = self._runtime.remaining()
        if total > left and not cheapest <= left + 1e-9:  # nobody fits, in any order
            skip = self._runtime.spec.budget.when_short == "skip"
            first = cheapest if skip else self._first_in_priority(np.flatnonzero(wanted), costs)
            if first is not None:  # no sort (measured at 1M: up to 4 ms a call, for nobody)
                self._needs(first)
                self._runtime.charge(self._model, kind, 0.0)
                return np.zeros(wanted.shape, bool)
        if total > left and kernels.same_bits(costs):  # one price: the first k, whoever they are
            # as many as the running sum of equal costs fits, in either way of buying (skipping
            # stops buying too: each later cost is the one that did not fit); they are the first
            # k in priority order, found without the sort (at 1M, outreach's SMS: 5 -> 1 ms)
            n_funded = int(kernels.prefix_length(costs[0], len(costs), left + 1e-9))
            self._needs(cheapest)  # the first in order's cost, and the cheapest: the one price
            funded = kernels.first_in_order(self._priority_key(copy=False), wanted, n_funded)
            total = float(costs[:n_funded].sum())  # equal values: the same sum in any order
        elif total > left:
            rows, costs = self._in_priority(np.flatnonzero(wanted), costs)
            if self._runtime.spec.budget.when_short == "skip":  # whoever still fits, in order
                self._needs(cheapest)  # any part as large as the cheapest buys something
                keep = kernels.fits_in_order(costs, left + 1e-9)
                rows, costs = rows[keep], costs[keep]
            else:  # strictly in order: the first who does not fit ends the month's buying
                self._needs(costs[0])  # what buying anything takes: the first in order
                rows = rows[np.cumsum(costs) <= left + 1e-9]
                costs = costs[: len(rows)]
            total = float(costs.sum())
            funded = np.zeros(wanted.shape, bool)
            funded[rows] = True
            n_funded = len(rows)
        else:  # every wanted row: the mask itself
            if len(costs):  # not sorted: the cheapest, as a part below it cannot buy any
                self._needs(cheapest)  # (the dearest would pool parts that buy the first)
            funded = np.array(wanted, bool)
            n_funded = len(costs)
        self._runtime.charge(self._model, kind, total)
        self._runtime.month_counts["funded"] += n_funded
        return funded

    def spend(self, kind: str, amount: float) -> float:
        """Spend a lump sum (an event, a campaign) within the budget; returns what was spent."""
        self._non_negative("spend", "amount", np.asarray([amount], float))
        self._runtime.demand_month += float(amount)  # issue 7: shards share by demand
        if amount > 0:  # cut to what is left, a lump sum is bought in part by any part
            self._needs(0.0)
        amount = min(float(amount), self._runtime.remaining())
        self._runtime.charge(self._model, kind, amount)
        return amount

    def _needs(self, cost: float) -> None:
        """Record that ``cost`` CNY buys one thing this month (issue 7, sharded runs).

        A shard's part of the budget smaller than that buys nothing, so the driver
        gives such money out in whole purchases (``sim.shards.Coordinator``).
        """
        self._runtime.unit_month = min(self._runtime.unit_month, float(cost))

    def _non_negative(
        self, method: str, argument: str, values: np.ndarray
    ) -> tuple[float, float]:
        """Refuse NaN, infinite or negative money, minutes and contacts.

        A negative cost would treat customers for free and book nothing; negative
        minutes would give relationship managers time they do not have.

        Returns:
            The values' sum and smallest value (inf if none), which the check
            needs anyway: a finite sum of values none below 0 has no NaN or inf.
        """
        if not len(values):
            return 0.0, np.inf
        total, lowest = float(values.sum()), float(values.min())  # NaN: both NaN
        if not (lowest >= 0 and np.isfinite(total)) and not (
                np.isfinite(values).all() and lowest >= 0):  # (a sum too large for a float)
            bad = values[~(np.isfinite(values) & (values >= 0))][0]
            raise ValueError(f"strategy {self.name!r}: {method}() got {argument} {bad}; "
                             f"expected a finite number >= 0")
        return total, lowest

    def _wanted_rows(self, wanted: np.ndarray) -> np.ndarray:
        """The rows a mask over this context's population selects.

        The shape is checked: the compiled allocation trusts the rows it is given.
        """
        return np.flatnonzero(self._wanted_mask(wanted))

    def _wanted_mask(self, wanted: np.ndarray) -> np.ndarray:
        """``wanted`` as a boolean mask (nonzero: wanted), its shape checked."""
        if np.shape(wanted) != (len(self.population),):
            raise ValueError(f"strategy {self.name!r}: a mask of shape {np.shape(wanted)} "
                             f"for {len(self.population)} rows")
        return np.asarray(wanted, bool)

    def _first_in_priority(self, rows: np.ndarray, costs: np.ndarray) -> float | None:
        """The cost of the first of ``rows`` in the budget's priority order, found without a sort.

        The first in a stable sort is the first row of the smallest key. None
        when that key is NaN (the sort's order is then its own): sort instead.
        """
        key = self._priority_key(copy=False)[rows]
        at = int(np.argmin(key))  # the first of equal keys (-0.0 equals 0.0, as in the sort)
        return None if np.isnan(key[at]) else float(costs[at])

    def _priority_key(self, copy: bool = True) -> np.ndarray:
        """Each row's key in the budget's priority order (ascending), as float64.

        ``copy``: values later changes to the columns do not reach (the
        cached order compares them). Columns are read, not copied out of a
        subset to be written back (the key's column is often only read).
        """
        pop = self.population
        priority = self._runtime.spec.budget.priority
        key = {
            "highest_value": lambda: -_read(pop, "aum"),
            "lowest_value": lambda: _read(pop, "aum", copy=copy),
            "random": lambda: self.uniform("priority"),
            "least_satisfied": lambda: _read(pop, "satisfaction"),
        }[priority]()
        return np.asarray(key, np.float64)

    def _in_priority(self, rows: np.ndarray, costs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``rows`` and their ``costs`` in the budget's priority order.

        The order is a stable sort of every row of the population by the
        priority key, kept while the key's values do not change (a strategy
        that pays several times a month sorts once); ``rows`` are then picked
        out of it in that order, which is their own stable order. A few rows
        of a large population are sorted alone.
        """
        key = self._priority_key()  # values of their own: the cache must not see later changes
        cached = self._order
        if cached is None or not np.array_equal(cached[0], key):
            if 4 * len(rows) < len(key):  # a few rows: sorting them alone costs less
                order = kernels.stable_argsort(key[rows])  # = argsort(kind="stable")
                return rows[order], costs[order]
            cached = self._order = (key, kernels.stable_argsort(key))
        if len(rows) == len(key):  # distinct rows, every one: the order itself (no position map)
            return cached[1].copy(), np.asarray(costs, np.float64)[cached[1]]
        return kernels.in_order(cached[1], np.asarray(rows, np.int64),
                                np.asarray(costs, np.float64))

    # -- staff and contacts
    def staff(
        self,
        wanted: np.ndarray,
        minutes_each: np.ndarray | float,
        contacts_each: np.ndarray | float = 1.0,
    ) -> np.ndarray:
        """Give wanted customers relationship-manager time while the month's hours last.

        Customers are served in the budget's priority order, in one pass, until
        the next one's minutes would not fit. ``minutes_each`` and
        ``contacts_each`` are scalars or arrays over all rows (a customer due two
        calls needs twice the minutes). Returns the mask of customers whose
        contacts were delivered; requested and delivered contacts are counted.
        """
        rows = self._wanted_rows(wanted)
        minutes = _per_row(minutes_each, wanted.shape, rows)
        contacts = _per_row(contacts_each, wanted.shape, rows)
        minutes_total, fewest = self._non_negative("staff", "minutes_each", minutes)
        contacts_total = self._non_negative("staff", "contacts_each", contacts)[0]
        counts = self._runtime.month_counts
        counts["contacts_requested"] += contacts_total
        left = self._model.staff_minutes_left
        channels = getattr(self._model, "channels", None)
        everyone = in_order = True  # every wanted row served, in the order given
        if channels is not None:  # each branch's RMs serve that branch's customers
            # every row: the column as read, not picked out again
            branch = _read(self.population, "branch", None if len(rows) == len(wanted) else rows)
            # more minutes than all branches have left (with room for rounding): some branch
            # is short, so the per-branch sums are not needed (most months at 1M)
            short = minutes_total > (float(channels.rm_left.sum())
                                     + 1e-9 * len(channels.rm_left)) * (1 + 1e-6) + 1e-6
            if not short and channels.rm_fits(branch, minutes, serve=contacts):
                keep = np.ones(len(rows), bool)  # every branch had the time: all served
            elif channels.rm_refuses(branch, minutes, contacts):  # no one, in any order: no sort
                keep, in_order = np.zeros(len(rows), bool), False
            elif kernels.same_bits(minutes) and kernels.same_bits(contacts):  # no sort needed
                # each branch serves as many as its minutes fit, its first in priority order
                # (at 1M, decline_response's calls: 3.7 -> 0.7 ms); found in row order
                key, in_order = self._priority_key(copy=False)[rows], False
                keep = channels.allocate_rm(branch, minutes, contacts, key)
            else:
                rows, minutes = self._in_priority(rows, minutes)
                contacts = _per_row(contacts_each, wanted.shape, rows)
                branch, in_order = _read(self.population, "branch", rows), False
                keep = channels.allocate_rm(branch, minutes, contacts)
            everyone = bool(keep.all())
            if not everyone:
                rows, minutes, contacts = rows[keep], minutes[keep], contacts[keep]
        elif minutes_total > left and not fewest <= left + 1e-9:  # no one fits: no sort
            rows, minutes, contacts = rows[:0], minutes[:0], contacts[:0]
            everyone = in_order = False
        elif minutes_total > left and kernels.same_bits(minutes) and kernels.same_bits(contacts):
            # equal minutes: as many as fit, the first in priority order (see fund)
            n_served = int(kernels.prefix_length(minutes[0], len(minutes), left + 1e-9))
            rows = np.flatnonzero(kernels.first_in_order(
                self._priority_key(copy=False), self._wanted_mask(wanted), n_served))
            minutes, contacts = minutes[:n_served], contacts[:n_served]
            everyone = in_order = False
        elif minutes_total > left:
            order = self._in_priority(rows, minutes)
            rows, minutes = order
            contacts = _per_row(contacts_each, wanted.shape, rows)
            keep = np.cumsum(minutes) <= left + 1e-9
            rows, minutes, contacts = rows[keep], minutes[keep], contacts[keep]
            everyone = in_order = False
        if not (everyone and in_order):  # sums in the order served, as they always were
            minutes_total, contacts_total = float(minutes.sum()), float(contacts.sum())
        self._model.staff_minutes_left -= minutes_total
        counts["contacts_delivered"] += contacts_total
        if everyone:
            delivered = np.array(wanted, bool)
        else:
            delivered = np.zeros(wanted.shape, bool)
            delivered[rows] = True
        if channels is not None and not everyone:  # contacts not made may lead to complaints
            self.population.add_at("contacts_failed", wanted & ~delivered, 1.0)  # no copy
        return delivered

    def count_contacts(self, requested: float, delivered: float) -> None:
        """Record contacts that need no staff time (SMS, push) for the summary."""
        self._non_negative("count_contacts", "requested", np.asarray([requested], float))
        self._non_negative("count_contacts", "delivered", np.asarray([delivered], float))
        self._runtime.month_counts["contacts_requested"] += requested
        self._runtime.month_counts["contacts_delivered"] += delivered

    def take_back_contacts(self, count: float) -> None:
        """``count`` contacts :meth:`staff` counted as delivered were not made after all.

        For a contact the RMs had time for but the budget could not pay
        (``strategies/_common.py``). No more than this month's delivered
        contacts can be taken back.
        """
        self._non_negative("take_back_contacts", "count", np.asarray([count], float))
        counts = self._runtime.month_counts
        if count > counts["contacts_delivered"] * (1 + 1e-9) + 1e-9:  # rounding of sums
            raise ValueError(f"strategy {self.name!r}: take_back_contacts() got count {count}; "
                             f"expected at most the {counts['contacts_delivered']:g} contacts "
                             "delivered this month")
        counts["contacts_delivered"] -= count

    # -- per-customer memory
    def state(self, name: str, dtype: Any = np.float64, fill: Any = 0) -> np.ndarray:
        """A per-customer column of this strategy's own (e.g. month of last voucher).

        Created with ``fill`` on first use; it follows the customers through
        appends and compaction like every other column.
        """
        return getattr(self.population, self.state_column(name, dtype, fill))

    def state_column(self, name: str, dtype: Any = np.float64, fill: Any = 0) -> str:
        """The population column of :meth:`state` ``name`` (created as there), by name.

        For reading it with ``population.read`` and writing a few rows with
        ``population.put``: the column is not copied out of a subset and back.
        """
        column = f"{self.name}__{name}"
        if column not in self._model.population.columns():  # the table's (a subset's copies)
            self.population.add_column(column, dtype, fill)
        return column

    def stage_wallet_share(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Each row's stage multiplier of its wallet propensity (DOMAIN §1).

        ``rows``: only these rows' (indices or a mask), as ``stage_wallet_share()[rows]``.
        """
        return self._model.wallet_share_by_stage[_read(self.population, "stage", rows)]

    # -- prospects
    def add_prospects(self, count: int) -> None:
        """Bring ``count`` new prospects into the prospect stage (e.g. referrals)."""
        if not np.isfinite(count) or count < 0:  # a negative count used to be dropped silently
            raise ValueError(f"strategy {self.name!r}: add_prospects() got {count!r}; "
                             f"expected a number of prospects >= 0")
        if count > 0:
            self._runtime.brought_any = True
        self._model.add_prospects(int(count), source=self._runtime.source, purpose=self.name)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"StrategyContext has no attribute {name!r}")
