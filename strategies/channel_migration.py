"""Channel migration: low-value branch users learn online banking and smart devices (DOMAIN §5).

Branch counters are the bank's dearest channel. DOMAIN §5: smart devices
(VTM, smart teller machines) divert low-value customers from staff, cutting
branch cost so staff can shift to selling to the A and B classes; DOMAIN §2
sets the same aim for the D class. Unlike :mod:`strategies.abandon_d`, the
move here is voluntary and helped: a lobby manager shows the customer the
device or the app.

Each month a targeted customer who still uses the branch migrates with
probability ``base_rate × digital_adoption`` — the digitally able take it
up, the others mostly stay. Each migrant costs a tutorial (``tutorial_cost``,
paid only for customers who move, within the budget). Migrants with digital
adoption ≥ ``online_threshold`` go to online banking, the others to
self-service devices; a destination the scenario does not have is skipped
(those customers stay at the branch). The cheaper servicing follows from
the scenario's per-channel costs. Low-digital migrants (below the threshold)
lose ``satisfaction_penalty`` of baseline satisfaction: a machine is not
quite the teller they were used to. The tutorial uses lobby-manager time,
which the model's relationship-manager hours do not cover, so it is paid in
money only. The strategy acts on whoever it is given (it ignores the D-class
marketing opt-out: moving service is not marketing); target it at low-value
branch users in the scenario.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from strategies._common import check_number
from strategies.base import Strategy
from strategies.registry import register


@register
class ChannelMigration(Strategy):
    """Voluntary, tutored migration of branch users to online banking or self-service.

    Args:
        base_rate: Monthly migration probability of a fully digital branch
            user; a customer's chance is ``base_rate × digital_adoption``
            (default 0.05, a modelling assumption). In [0, 1].
        online_threshold: Digital adoption from which a migrant goes online
            rather than to self-service devices (default 0.5, a modelling
            assumption). In [0, 1].
        tutorial_cost: Lobby-manager tutorial per migrant, CNY (default 30, a
            modelling assumption: about half an hour of staff time; it pays
            back in under two months of the baseline's branch-minus-self-service
            servicing cost, 30 − 12 = 18 CNY). ≥ 0.
        satisfaction_penalty: Lasting fall of a low-digital migrant's
            baseline satisfaction (default 0.01 on the 0–1 scale, a modelling
            assumption: small, as the move is voluntary). In [0, 1].
    """

    name = "channel_migration"
    cost_kinds: ClassVar[tuple[str, ...]] = ("tutorial",)
    #: Moving service is not marketing: opted-out (D-class) customers can migrate too.
    respects_opt_out: ClassVar[bool] = False

    def __init__(
        self,
        *,
        base_rate: float = 0.05,
        online_threshold: float = 0.5,
        tutorial_cost: float = 30.0,
        satisfaction_penalty: float = 0.01,
    ) -> None:
        check_number("base_rate", base_rate, 0.0, 1.0)
        check_number("online_threshold", online_threshold, 0.0, 1.0)
        check_number("tutorial_cost", tutorial_cost, 0.0)
        check_number("satisfaction_penalty", satisfaction_penalty, 0.0, 1.0)
        self.base_rate = base_rate
        self.online_threshold = online_threshold
        self.tutorial_cost = tutorial_cost
        self.satisfaction_penalty = satisfaction_penalty

    def apply(self, ctx: Any) -> None:
        """Tutor the targeted branch users who take it up and move them off the branch."""
        branch = ctx.channel_code("branch")
        if branch < 0:
            return
        pop = ctx.population
        digital = pop.digital_adoption
        go_online = digital >= self.online_threshold
        destination = np.where(go_online, ctx.channel_code("online"),
                               ctx.channel_code("self_service"))
        wanted = (ctx.targets & (pop.channel == branch) & (destination >= 0)
                  & (ctx.uniform("migrate") < self.base_rate * digital))
        moved = ctx.fund("tutorial", wanted, self.tutorial_cost)
        pop.channel[moved] = destination[moved]
        struggling = moved & ~go_online
        pop.satisfaction_base[struggling] = np.maximum(
            pop.satisfaction_base[struggling] - self.satisfaction_penalty, 0.0)
