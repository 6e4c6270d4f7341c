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

What the plugin itself calls (``fund``, ``staff``, draws, state) is
:class:`~sim.strategy_context.StrategyContext`, in :mod:`sim.strategy_context`
(still importable from here); what goes wrong in a plugin is
:mod:`sim.strategy_errors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from sim import kernels
from sim.dynamics import SEGMENTS
from sim.population import MODEL_OWNED
from sim.schema import StrategySpec
from sim.strategy_context import StrategyContext
from sim.strategy_errors import StrategyError, check_written, plugin_failed
from sim.streams import draw_key
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
        # the same as codes to compare with, for kernels.target_rows: (codes, negate) each
        self._codes = {name: kernels.target_codes(lut, none_last=name in ("segment", "tier"),
                                                  from_end=name == "channel")
                       for name, lut in self._luts.items()}
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
        bank = self.strategy.scope == "bank"
        # a bank-scope plugin gets the treated rows as a mask of the table: the kernel writes it
        treated = np.empty(len(pop) if bank else 0, np.bool_)
        if bank and len(customers) < len(pop):  # rows past the customer mask are not targeted
            treated[len(customers):] = False
        if len(pop) >= 1 << 32:
            raise ValueError(f"{len(pop)} rows: targeting counts rows in 32 bits")
        codes = self._codes
        rows, n_targeted, new_treated, new_control = kernels.target_rows(
            customers, extra, pop.stage, *codes["stage"], pop.segment, *codes["segment"],
            pop.tier, *codes["tier"], pop.channel, *codes["channel"], pop.marketing_opt_out,
            self.respects_opt_out, pop.id, key, float(self.spec.holdout),
            getattr(pop, self.cohort_column), treated)
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
        if bank:
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
        check_written(self.name, model.replication, model.month, subset.put_values())
        subset.write_back()

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


def _lut(names: tuple[str, ...], chosen: Sequence[str] | None) -> np.ndarray:
    """Boolean look-up table over category codes (all true when nothing is chosen)."""
    return np.array([chosen is None or n in chosen for n in names], np.bool_)
