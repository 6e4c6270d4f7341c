"""What the model does around a strategy: targeting, hold-outs, budgets, staff and uplift.

A strategy plugin (``strategies/``) only decides what to do to the customers
it is given. Everything common lives here, once:

* **Targeting** — the scenario's ``target:`` (stages, segments, tiers, labels,
  channels, a ``where`` expression) becomes a mask of live customers, minus
  those the D-class abandonment opted out of marketing (DOMAIN §2).
* **Hold-out control group** — a fixed share of targeted customers, chosen by
  a keyed draw on the customer id (so membership never changes), is never
  treated. Both groups form the strategy's cohort from the month they are
  first targeted; their retention, AUM, revenue and costs are tallied every
  month, which gives the uplift (treated minus control) inside one run.
* **Budgets** — :meth:`StrategyContext.fund` serves wanted customers in the
  budget's priority order until the monthly or total budget runs out, and
  books the cost in the ledger under the strategy's name and the cost kind.
* **Brought customers** — prospects a strategy adds (referrals) carry its
  source code in their ids; their revenue and costs are tallied so the
  summary can count them as the strategy's incremental business.
* **Staff** — contacts that need relationship-manager time draw on the
  scenario's monthly RM hours, shared by all strategies in list order
  (until the channels model serves them); under-delivery is counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from sim import kernels
from sim.dynamics import SEGMENTS
from sim.population import MODEL_OWNED, Population, RowSubset
from sim.schema import StrategySpec
from sim.strategy_errors import StrategyError, check_written, plugin_failed
from sim.streams import draw_key, keyed_normal, keyed_uniform
from strategies import registry

if TYPE_CHECKING:
    from sim.model import LifecycleModel

__all__ = ["StrategyContext", "StrategyError", "StrategyRuntime", "strategy_metric_names"]


#: Cohort codes in a strategy's ``cohort_<name>`` column.
NOT_TARGETED, TREATED, CONTROL = 0, 1, 2
_GROUPS = ("treated", "control")
_UPLIFT = ("n", "active", "aum", "revenue", "cost")


def strategy_metric_names(name: str, cost_kinds: tuple[str, ...]) -> list[str]:
    """Monthly metric columns a strategy contributes."""
    names = [f"cost_strategy_{name}"]
    names += [f"strategy_{name}_cost_{kind}" for kind in cost_kinds]
    names += [f"strategy_{name}_{k}" for k in ("targeted", "holdout", "treated", "funded",
                                               "contacts_requested", "contacts_delivered")]
    names += [f"uplift_{name}_{q}_{g}" for q in _UPLIFT for g in _GROUPS]
    names += [f"uplift_{name}_{q}_brought" for q in ("active", "aum", "revenue", "cost")]
    return names


class StrategyRuntime:
    """One switched-on strategy inside one model: its plugin, cohort and budget state."""

    def __init__(self, spec: StrategySpec, index: int, model: LifecycleModel) -> None:
        self.spec = spec
        self.name = spec.name
        self.index = index
        self.source = 2 + index  # id source code of prospects it adds (sim.streams)
        self.strategy = registry.build(spec.name, dict(spec.params))
        self.cost_kinds: tuple[str, ...] = tuple(getattr(self.strategy, "cost_kinds", ()))
        scenario = model.scenario
        self.where = scenario.expression(spec.target.where) if spec.target.where else None
        cats = scenario.categories()
        t = spec.target
        self._luts = {  # which codes are targeted (segment and tier: -1, "none", is the last)
            "stage": _lut(cats["stage"], t.stages),
            "segment": _lut((*SEGMENTS, "none"), t.segments),  # code -1 reads the last entry
            "tier": _lut((*cats["tier"], "none"), t.tiers),
            "channel": _lut(cats["channel"], t.channels),
        }
        self.respects_opt_out = bool(getattr(self.strategy, "respects_opt_out", True))
        self.cohort_column = f"cohort_{self.name}"
        model.population.add_column(self.cohort_column, np.int8, NOT_TARGETED)
        self.spent_total = 0.0
        # issue 7 (sim/shards.py): in a shard, the part of the bank-wide budget it may spend
        # this month (None: its own limits apply), what it wanted to spend (the demand),
        # and the money its first purchase needed (inf: it wanted none)
        self.shard_budget: float | None = None
        self.demand_month = 0.0
        self.unit_month = np.inf
        self.cohort_sizes = {TREATED: 0, CONTROL: 0}
        self.month_counts: dict[str, float] = {}
        self.brought_any = False  # set once the strategy adds prospects (rows with its source)
        self._scan: _TargetScan | None = None  # this month's candidates, shared (see _candidates)

    def act(self, model: LifecycleModel, customers: np.ndarray) -> None:
        """Target, assign newcomers to treated or control, and let the strategy act."""
        pop = model.population
        extra = np.ones(0, np.bool_)  # labels and ``where``, when the target has them
        if self.spec.target.labels or self.where is not None:
            extra = np.ones(len(pop), np.bool_)
            for label in self.spec.target.labels or []:
                extra &= getattr(pop, label)
            if self.where is not None:
                extra &= np.asarray(self.where.evaluate(pop.columns(), len(pop)), bool)
        # the hold-out draw is keyed by id alone (month 0): a customer's group never changes,
        # so only customers targeted for the first time draw (in the kernel, which also
        # writes their group into the cohort column)
        key = draw_key(model.seed_value, model.replication, f"holdout/{self.name}", 0)
        luts = self._luts
        candidates, checked = self._candidates(model, customers)
        rows, n_targeted, new_treated, new_control = kernels.select_targets(
            candidates, checked, customers, extra, pop.stage, luts["stage"],
            pop.segment, luts["segment"], pop.tier, luts["tier"], pop.channel, luts["channel"],
            pop.marketing_opt_out, self.respects_opt_out, pop.id, key, float(self.spec.holdout),
            getattr(pop, self.cohort_column))
        self.cohort_sizes[TREATED] += int(new_treated)
        self.cohort_sizes[CONTROL] += int(new_control)
        n_targeted, n_treated = int(n_targeted), len(rows)
        self.month_counts = dict.fromkeys(("funded", "contacts_requested",
                                           "contacts_delivered"), 0.0)
        self.month_counts.update(targeted=float(n_targeted),
                                 holdout=float(n_targeted - n_treated), treated=float(n_treated))
        self.spent_month = 0.0
        self.demand_month = 0.0
        self.unit_month = np.inf
        if self.strategy.scope == "bank":
            treated = np.zeros(len(pop), bool)
            treated[rows] = True
            live = customers.view()
            live.flags.writeable = False  # the model's mask: later strategies and branches use it
            # the model's own columns are read-only to the plugin here too, as in a subset
            # (changing a stage in place revived churned customers, unbooked)
            owned = [a for n, a in pop.columns().items() if n in MODEL_OWNED and a.flags.writeable]
            for column in owned:
                column.flags.writeable = False
            try:
                self.strategy.apply(StrategyContext(model, self, pop, treated, live))
            except Exception as exc:  # a plugin's bug: one line naming it, not a traceback
                raise plugin_failed(self.name, model.replication, model.month, exc) from exc
            finally:
                for column in owned:
                    column.flags.writeable = True
            return
        subset = pop.subset(rows)
        everyone = np.ones(n_treated, bool)
        try:
            self.strategy.apply(StrategyContext(model, self, subset, everyone, everyone))
        except Exception as exc:  # a plugin's bug: one line naming it, not a traceback
            raise plugin_failed(self.name, model.replication, model.month, exc) from exc
        check_written(self.name, model.replication, model.month, subset._copies)
        subset.write_back()

    def _candidates(
        self, model: LifecycleModel, customers: np.ndarray
    ) -> tuple[np.ndarray, int]:
        """Customers whose stage, segment and tier this strategy targets, and the rows scanned.

        See :class:`_TargetScan`: a scan covers the whole table (rows appended
        since the last one make it scan again).

        The model's strategies share one scan (the first one's); a runtime the
        model does not list scans for itself alone.
        """
        if self._scan is None:
            strategies = list(getattr(model, "strategies", ()))
            if self.index < len(strategies) and strategies[self.index] is self:
                first = strategies[0]
                if first._scan is None:
                    first._scan = _TargetScan(strategies)
                self._scan = first._scan
            else:
                self._scan, self.index = _TargetScan([self]), 0
        return self._scan.candidates(self.index, model, customers), len(model.population)

    def remaining(self) -> float:
        """Budget left this month, in CNY (``inf`` when unlimited)."""
        if self.shard_budget is not None:  # issue 7: a shard spends only its part
            return max(self.shard_budget - self.spent_month, 0.0)
        b = self.spec.budget
        left = np.inf
        if b.monthly is not None:
            left = min(left, b.monthly - self.spent_month)
        if b.total is not None:
            left = min(left, b.total - self.spent_total)
        return max(float(left), 0.0)

    def charge(self, model: LifecycleModel, kind: str, amount: float) -> None:
        """Book ``amount`` CNY of cost under this strategy and ``kind``."""
        if kind not in self.cost_kinds:
            raise ValueError(f"strategy {self.name!r} booked undeclared cost kind {kind!r}; "
                             f"declare it in cost_kinds {self.cost_kinds}")
        if amount > 0:
            model.ledger.book("cost", kind, amount, owner=self.name)
            self.spent_month += amount
            self.spent_total += amount

    def metrics(
        self, model: LifecycleModel, customers: np.ndarray, tallies: np.ndarray | None = None
    ) -> dict[str, float]:
        """This month's counts and the cohort tallies for uplift.

        ``tallies``: this strategy's slice of :func:`sim.kernels.cohort_tallies`
        when the caller computed every strategy's at once.
        """
        pop = model.population
        out = {f"strategy_{self.name}_{k}": v for k, v in self.month_counts.items()}
        cohort = getattr(pop, self.cohort_column)
        # customers this strategy brought in (e.g. referrals): their ids carry its source code
        brought = {"active": 0.0, "aum": 0.0, "revenue": 0.0, "cost": 0.0}
        if self.brought_any:
            mask = ((pop.id >> 32) & 0xFF) == self.source
            brought.update(active=int((mask & customers).sum()),
                           aum=kernels.masked_sum(pop.aum, mask & customers),
                           revenue=kernels.masked_sum(pop.revenue_month, mask),
                           cost=kernels.masked_sum(pop.cost_month, mask))
        for quantity, value in brought.items():
            out[f"uplift_{self.name}_{quantity}_brought"] = value
        if tallies is None:
            tallies = kernels.cohort_tallies(cohort[np.newaxis], customers, pop.aum,
                                             pop.revenue_month, pop.cost_month)[0]
        for code, group in ((TREATED, "treated"), (CONTROL, "control")):
            active, aum, revenue, cost = tallies[code]
            out[f"uplift_{self.name}_n_{group}"] = self.cohort_sizes[code]
            out[f"uplift_{self.name}_active_{group}"] = int(active)
            out[f"uplift_{self.name}_aum_{group}"] = aum
            out[f"uplift_{self.name}_revenue_{group}"] = revenue
            out[f"uplift_{self.name}_cost_{group}"] = cost
        return out


class _TargetScan:
    """This month's candidate rows of every strategy, from one pass over the table.

    A strategy's target restricts columns only the model changes (stage,
    segment, tier; a bank-scope plugin gets them read-only) and others
    (channel, the opt-out, labels, ``where``) that earlier strategies may
    change in the month. The first group restricts the same rows all month,
    so :func:`sim.kernels.scan_candidates` finds them for up to eight
    strategies at once, at the first strategy's turn; each strategy's
    :func:`sim.kernels.select_targets` then goes through its candidates only,
    checking the rest (channel, labels, ``where``, opt-out). Seven passes
    over a million rows a month become one, and each strategy's pass covers
    its candidates (a segment: a quarter of the bank).

    The scan is redone when the month, the customer mask or one of the three
    columns is another array (rows appended, a column replaced). A group's
    candidates are let go once each of its strategies has had its own (four
    bytes a candidate: not kept through the rest of the month).
    """

    def __init__(self, runtimes: Sequence[StrategyRuntime]) -> None:
        self._luts = [r._luts for r in runtimes]
        self._month = -1
        self._inputs: tuple[Any, ...] = ()
        self._found: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # group -> rows, bounds
        self._given: dict[int, set[int]] = {}  # group -> strategies that had their candidates

    def candidates(self, index: int, model: LifecycleModel, customers: np.ndarray) -> np.ndarray:
        """Candidate rows (table order, ``uint32``) of the strategy at ``index``.

        Only the customers of the stages, segments and tiers it targets: that
        need not be checked again.
        """
        pop = model.population
        inputs = (customers, pop.stage, pop.segment, pop.tier)  # the same arrays, or scan again
        if (self._month != model.month or len(inputs) != len(self._inputs)
                or any(a is not b for a, b in zip(inputs, self._inputs, strict=True))):
            self._month, self._inputs, self._found, self._given = model.month, inputs, {}, {}
        group, bit = divmod(index, kernels.GROUP)
        if group not in self._found or index in self._given[group]:
            if len(pop) >= 1 << 32:
                raise ValueError(f"{len(pop)} rows: targeting counts rows in 32 bits")
            self._found[group] = kernels.scan_candidates(
                customers, pop.stage, pop.segment, pop.tier, self._bits(group))
            self._given[group] = set()
        rows, bounds = self._found[group]
        given = self._given[group]
        given.add(index)
        if len(given) == min(kernels.GROUP, len(self._luts) - group * kernels.GROUP):
            del self._found[group]  # every strategy of the group had its candidates
        return rows[bounds[bit]:bounds[bit + 1]]

    def _bits(self, group: int) -> np.ndarray:
        """The group's byte per (stage, segment + 1, tier + 1): bit k, its k-th strategy."""
        luts = self._luts[group * kernels.GROUP:(group + 1) * kernels.GROUP]
        stages, segments, tiers = (len(luts[0][c]) for c in ("stage", "segment", "tier"))
        bits = np.zeros((stages, segments, tiers), np.uint8)
        for k, lut in enumerate(luts):
            # code -1 (none) reads the look-up table's last entry, at index 0 here
            allowed = (lut["stage"][:, None, None] & np.roll(lut["segment"], 1)[None, :, None]
                       & np.roll(lut["tier"], 1)[None, None, :])
            bits |= (allowed.astype(np.uint8) << k).astype(np.uint8)
        return bits


def _per_row(values: np.ndarray | float, shape: tuple[int, ...], rows: np.ndarray) -> np.ndarray:
    """``values`` (a scalar, or an array broadcasting to ``shape``) at ``rows``, as floats."""
    values = np.asarray(values, float)
    if values.ndim == 0:  # the same numbers as the broadcast gathered, without the gather
        return np.full(len(rows), values)
    return np.broadcast_to(values, shape)[rows]


def _lut(names: tuple[str, ...], chosen: Sequence[str] | None) -> np.ndarray:
    """Boolean look-up table over category codes (all true when nothing is chosen)."""
    return np.array([chosen is None or n in chosen for n in names], np.bool_)


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
        ids = self.population.id if rows is None else self.population.id[rows]
        return keyed_uniform(m.seed_value, m.replication, f"strategy/{self.name}/{purpose}",
                             m.month, ids)

    def normal(self, purpose: str = "", rows: np.ndarray | None = None) -> np.ndarray:
        """One N(0, 1) draw per row, keyed by customer id, month and this strategy.

        ``rows``: only these rows' draws, as for :meth:`uniform`.
        """
        m = self._model
        ids = self.population.id if rows is None else self.population.id[rows]
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
        rows = self._wanted_rows(wanted)
        costs = _per_row(cost_each, wanted.shape, rows)
        total, cheapest = self._non_negative("fund", "cost_each", costs)
        self._runtime.demand_month += total  # issue 7: shards share by demand
        left = self._runtime.remaining()
        if total > left:
            rows, costs = self._in_priority(rows, costs)
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
        else:  # every wanted row: the mask itself
            if len(costs):  # not sorted: the cheapest, as a part below it cannot buy any
                self._needs(cheapest)  # (the dearest would pool parts that buy the first)
            funded = np.array(wanted, bool)
        self._runtime.charge(self._model, kind, total)
        self._runtime.month_counts["funded"] += len(rows)
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
        if np.shape(wanted) != (len(self.population),):
            raise ValueError(f"strategy {self.name!r}: a mask of shape {np.shape(wanted)} "
                             f"for {len(self.population)} rows")
        return np.flatnonzero(wanted)

    def _in_priority(self, rows: np.ndarray, costs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``rows`` and their ``costs`` in the budget's priority order.

        The order is a stable sort of every row of the population by the
        priority key, kept while the key's values do not change (a strategy
        that pays several times a month sorts once); ``rows`` are then picked
        out of it in that order, which is their own stable order. A few rows
        of a large population are sorted alone.
        """
        pop = self.population
        priority = self._runtime.spec.budget.priority
        key = {
            "highest_value": lambda: -pop.aum,
            "lowest_value": lambda: pop.aum,
            "random": lambda: self.uniform("priority"),
            "least_satisfied": lambda: pop.satisfaction,
        }[priority]()
        key = np.array(key, np.float64)  # a copy: the cache must not see later changes
        cached = self._order
        if cached is None or not np.array_equal(cached[0], key):
            if 4 * len(rows) < len(key):  # a few rows: sorting them alone costs less
                order = kernels.stable_argsort(key[rows])  # = argsort(kind="stable")
                return rows[order], costs[order]
            cached = self._order = (key, kernels.stable_argsort(key))
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
        minutes_total = self._non_negative("staff", "minutes_each", minutes)[0]
        contacts_total = self._non_negative("staff", "contacts_each", contacts)[0]
        counts = self._runtime.month_counts
        counts["contacts_requested"] += contacts_total
        left = self._model.staff_minutes_left
        channels = getattr(self._model, "channels", None)
        everyone = in_order = True  # every wanted row served, in the order given
        if channels is not None:  # each branch's RMs serve that branch's customers
            branch = self.population.branch[rows]
            if not channels.rm_fits(branch, minutes):
                rows, minutes = self._in_priority(rows, minutes)
                contacts = _per_row(contacts_each, wanted.shape, rows)
                branch, in_order = self.population.branch[rows], False
            keep = channels.allocate_rm(branch, minutes, contacts)
            everyone = bool(keep.all())
            if not everyone:
                rows, minutes, contacts = rows[keep], minutes[keep], contacts[keep]
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
        column = f"{self.name}__{name}"
        if column not in self.population.columns():
            self.population.add_column(column, dtype, fill)
        return getattr(self.population, column)

    def stage_wallet_share(self) -> np.ndarray:
        """Each row's stage multiplier of its wallet propensity (DOMAIN §1)."""
        return self._model.wallet_share_by_stage[self.population.stage]

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
