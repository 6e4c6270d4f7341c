"""One row of tidy monthly metrics per model step, for Mesa's ``DataCollector``.

The set of columns is fixed when the model is built (stages, segments,
tiers, channels, labels, ledger kinds and the strategies switched on), so
every row of ``monthly.parquet`` has the same columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from sim import kernels
from sim.channels import COST_KINDS
from sim.dynamics import SEGMENTS
from sim.strategy_runtime import strategy_metric_names

if TYPE_CHECKING:
    from sim.model import LifecycleModel

__all__ = ["MonthlyCollector", "MonthlyMetrics"]

FLOWS = ("arrivals", "acquired", "churned", "lapsed", "tier_up", "tier_down",
         "private_banking_up", "private_banking_down")


class MonthlyMetrics:
    """Builds the monthly metric row of one model."""

    def __init__(self, model: LifecycleModel) -> None:
        self.model = model
        self._arrivals_seen = 0
        names = ["month", "customers", "prospects", "initial_customers_active"]
        names += [f"stage_{s}" for s in model.stage_names]
        names += [f"segment_{s}" for s in SEGMENTS]
        names += [f"tier_{t}" for t in model.tier_names]
        names += [f"channel_{c}" for c in model.channel_names]
        names += [f"label_{label}" for label in model.labels]
        names += [*FLOWS, "private_banking_customers", "aum", "aum_market", "aum_net_flow",
                  "aum_acquired", "aum_churned", "mean_satisfaction", "mean_share_of_wallet",
                  "contacts"]
        self.ledger_columns = ["revenue_interest_margin", "revenue_fees"]
        self.ledger_columns += [f"cost_{kind}_{c}" for kind in ("servicing", "transaction")
                                for c in model.channel_names]
        self.ledger_columns.append("cost_acquisition")
        channels = model.channels
        if channels is not None:
            self.ledger_columns += [f"cost_{kind}" for kind in COST_KINDS]
        self.channel_columns = channels.metric_names if channels is not None else []
        self.strategy_columns = [
            col for s in model.strategies for col in strategy_metric_names(s.name, s.cost_kinds)
        ]
        self.names = [*names, *self.channel_columns, *self.ledger_columns,
                      *self.strategy_columns,
                      "strategy_cost_total", "revenue", "cost", "profit"]

    def reporters(self) -> dict[str, Any]:
        """Model reporters for ``mesa.DataCollector``: one per metric."""
        return {name: (lambda m, n=name: m.metrics[n]) for name in self.names}

    def collector(self) -> MonthlyCollector:
        """The model's ``DataCollector``, with :meth:`reporters`."""
        return MonthlyCollector(model_reporters=self.reporters())

    def collect(
        self, flows: dict[str, float], customers: np.ndarray,
        census: tuple[np.ndarray, ...] | None = None, tallies: np.ndarray | None = None,
    ) -> dict[str, float]:
        """Return this month's metrics (and close the ledger's month).

        ``census`` and ``tallies``: :func:`sim.kernels.census`'s arrays and every
        strategy's cohort tallies when the caller already added them up
        (:func:`sim.kernels.close_month`); computed here otherwise.
        """
        model, pop = self.model, self.model.population
        m: dict[str, float] = dict.fromkeys(self.names, 0.0)
        m["month"] = model.month
        sizes = np.array([len(model.stage_names), len(SEGMENTS), len(model.tier_names),
                          len(model.channel_names)])
        by_stage, by_segment, by_tier, by_channel, heads, sums = census or kernels.census(
            pop.stage, model.roles, pop.segment, pop.tier, pop.channel, pop.is_initial,
            pop.aum, pop.satisfaction, pop.share_of_wallet, pop.contacts, sizes,
            float(model.scenario.private_banking_threshold))
        n_customers, n_prospects, initial_active, private_banking = (int(h) for h in heads)
        m["customers"], m["prospects"] = n_customers, n_prospects
        m["initial_customers_active"] = initial_active
        by_stage[model.is_absorbing_stage] = 0
        for prefix, counts, names in (("stage", by_stage, model.stage_names),
                                      ("segment", by_segment, SEGMENTS),
                                      ("tier", by_tier, model.tier_names),
                                      ("channel", by_channel, model.channel_names)):
            m.update({f"{prefix}_{n}": int(counts[i]) for i, n in enumerate(names)})
        for label in model.labels:
            m[f"label_{label}"] = int(np.count_nonzero(getattr(pop, label)))
        m.update({k: v for k, v in flows.items() if k in m})
        m["arrivals"] = model.tally["arrivals"] - self._arrivals_seen
        self._arrivals_seen = model.tally["arrivals"]
        m["private_banking_customers"] = private_banking
        n = max(n_customers, 1)
        m["aum"] = float(sums[0])
        m["mean_satisfaction"] = float(sums[1]) / n
        m["mean_share_of_wallet"] = float(sums[2]) / n
        m["contacts"] = float(sums[3])
        if model.channels is not None:
            m.update(model.channels.metrics)
        if model.strategies:  # every strategy's cohort tallies in one pass
            if tallies is None:
                tallies = kernels.cohort_tallies(model.cohort_codes(), customers, pop.aum,
                                                 pop.revenue_month, pop.cost_month)
            for s, tally in zip(model.strategies, tallies, strict=True):
                m.update(s.metrics(model, customers, tally))
        for (side, kind, owner), amount in model.ledger.close_month().items():
            if owner == "bank":
                m[f"{side}_{kind}"] += amount
            else:
                m[f"cost_strategy_{owner}"] += amount
                m[f"strategy_{owner}_cost_{kind}"] += amount
        m["strategy_cost_total"] = sum(m[f"cost_strategy_{s.name}"] for s in model.strategies)
        m["revenue"] = sum(m[c] for c in self.ledger_columns if c.startswith("revenue_"))
        m["cost"] = m["strategy_cost_total"] + sum(
            m[c] for c in self.ledger_columns if c.startswith("cost_"))
        m["profit"] = m["revenue"] - m["cost"]
        return m


class MonthlyCollector(mesa.DataCollector):
    """Mesa's ``DataCollector`` of the monthly metrics, taking each month's row as it is.

    Mesa's own ``collect`` calls every reporter and stores a deep copy of
    what it returns. Every metric is a number (``int``, ``float`` or a NumPy
    scalar), which a copy leaves equal and of the same type, so this one
    stores the model's ``metrics`` values themselves: the same table. At 1M
    customers ``playbook_branches`` has 1,126 metrics (most of them the
    branches'), and Mesa's ``collect`` took 0.47 ms a month.
    """

    def __init__(self, model_reporters: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(model_reporters=model_reporters, **kwargs)
        # the reporters this collector was made with (each reads ``model.metrics[name]``)
        self._own = dict(self.model_reporters)

    def collect(self, model: Any) -> None:
        """Append the model's metrics of this month (Mesa's way, if it has other reporters)."""
        if (self.agent_reporters or self.agenttype_reporters
                or not getattr(self, "_validated", False) or not self._own_reporters()):
            super().collect(model)  # also the first time: Mesa validates its reporters then
            return
        metrics = model.metrics
        for name, values in self.model_vars.items():
            values.append(metrics[name])

    def _own_reporters(self) -> bool:
        """Whether the model reporters are still those it was made with.

        None replaced, added or removed: each then stores ``model.metrics[name]``.
        """
        own, reporters = self._own, self.model_reporters
        return len(reporters) == len(own) == len(self.model_vars) and all(
            reporters.get(name) is reporter for name, reporter in own.items())
