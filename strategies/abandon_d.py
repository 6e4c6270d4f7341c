"""Abandon active marketing to the D class; move its service off the branch (DOMAIN §2).

A bank's D-class customers ("general customers", 一般客户) look like the C
class — older, inactive, at the branch counter — but hold little money, so
their value is limited. A bank's prescription for them (DOMAIN §2) is to
**abandon active marketing**: homogeneous push messages only, service moved
online and to self-service, branch cost cut. DOMAIN §1 lists abandonment
(放弃) among the four responses to decline, and DOMAIN §5 names the smart
devices that divert low-value customers from staff.

Each month this strategy, for its targets:

* sets ``marketing_opt_out`` — the model's targeting then leaves these
  customers out of every strategy that respects the opt-out. The model runs
  strategies that ignore the opt-out (this one, channel_migration) before
  the others, so the opt-out takes effect in the same month whatever the
  scenario's list order. A customer this strategy opted
  out who is no longer targeted (say, reclassified from D to C at the
  quarterly review) is opted back in; opt-outs set by anything else are left
  alone.
* moves a share ``migration_rate`` of the targeted branch users to online
  banking (digital adoption ≥ ``online_threshold``) or to self-service
  devices (below it), paying a one-off ``migration_cost`` per customer
  moved. A destination channel the scenario does not have is skipped: those
  customers stay at the branch. Servicing then costs the scenario's per-channel
  rate for the new channel (cheaper than the branch in the baseline).
* lowers a moved customer's baseline satisfaction by ``satisfaction_penalty``:
  the move is the bank's choice, not the customer's, so some D customers
  decline and churn sooner — the price DOMAIN §2 accepts for the lower cost.

The opt-out is free; only moves are paid, so a spent budget stops the moves
but not the opt-out. Hold-out (control) customers are never opted out or moved.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from sim import kernels
from strategies._common import check_number
from strategies.base import Strategy
from strategies.registry import register


@register
class AbandonD(Strategy):
    """Opt the targets out of marketing and move them from the branch to cheaper channels.

    Args:
        migration_rate: Share of the targeted branch users moved each month
            (default 0.10, a modelling assumption: most of them moved within
            a year). In [0, 1].
        migration_cost: One-off cost per customer moved, CNY (default 20, a
            modelling assumption: a notice and an app or card set-up; under
            one month of the baseline's branch-minus-self-service servicing
            cost, 30 − 12 = 18 CNY). ≥ 0.
        satisfaction_penalty: Lasting fall of a moved customer's baseline
            satisfaction (default 0.05 on the 0–1 scale, a modelling
            assumption; DOMAIN §2 accepts some D-class attrition). In [0, 1].
        online_threshold: Digital adoption from which a moved customer goes
            online rather than to self-service devices (default 0.5, a
            modelling assumption; DOMAIN §2: online suits the digital). In [0, 1].
    """

    name = "abandon_d"
    cost_kinds: ClassVar[tuple[str, ...]] = ("migration",)
    #: This strategy sets the opt-out, so it must still reach opted-out customers.
    respects_opt_out: ClassVar[bool] = False
    scope = "bank"  # releases customers who left the D class, i.e. rows outside its targets

    def __init__(
        self,
        *,
        migration_rate: float = 0.10,
        migration_cost: float = 20.0,
        satisfaction_penalty: float = 0.05,
        online_threshold: float = 0.5,
    ) -> None:
        check_number("migration_rate", migration_rate, 0.0, 1.0)
        check_number("migration_cost", migration_cost, 0.0)
        check_number("satisfaction_penalty", satisfaction_penalty, 0.0, 1.0)
        check_number("online_threshold", online_threshold, 0.0, 1.0)
        self.migration_rate = migration_rate
        self.migration_cost = migration_cost
        self.satisfaction_penalty = satisfaction_penalty
        self.online_threshold = online_threshold

    def apply(self, ctx: Any) -> None:
        """Opt the targets out of marketing; move some branch users online or to devices."""
        pop = ctx.population
        opted_by_us = ctx.state("opted_out", np.bool_, False)
        # release those no longer targeted, then opt the targets out, and find the targeted
        # branch users (a quarter of the bank at most: whole-table passes for a destination
        # and a draw per row were half of this strategy's time), in one compiled pass over
        # the table (NumPy's nine passes, in place or not, cost more)
        branch = ctx.channel_code("branch")
        users = kernels.opt_out_rows(pop.marketing_opt_out.view(np.uint8),
                                     opted_by_us.view(np.uint8), ctx.targets.view(np.uint8),
                                     pop.channel, branch)
        if branch < 0:
            return
        online, devices = ctx.channel_code("online"), ctx.channel_code("self_service")
        destination = np.where(pop.digital_adoption[users] >= self.online_threshold,
                               online, devices)
        wanted = np.zeros(len(pop), bool)
        wanted[users] = (destination >= 0) & (ctx.uniform("migrate", users)
                                              < self.migration_rate)
        # those paid for are among the users: pick them there, not out of every row
        paid = ctx.fund("migration", wanted, self.migration_cost)[users]
        moved = users[paid]
        pop.channel[moved] = destination[paid]
        pop.satisfaction_base[moved] = np.maximum(
            pop.satisfaction_base[moved] - self.satisfaction_penalty, 0.0)
