"""Referral: word of mouth and chain introduction (DOMAIN §1, §4).

DOMAIN §1 names chain introduction (连锁式介绍法) — asking satisfied
customers to introduce people they know — as a way to win customers early
in the lifecycle. DOMAIN §4 gives the arithmetic of word of mouth: a
satisfied customer tells 3 people a year; a dissatisfied one tells 10, and
13% of those tell 20 more, so about 11.3 people hear the bad news.

Model (a choice, documented here so it can be argued with):

* **Referrals.** Each month every satisfied target (satisfaction ≥
  ``satisfied_above``) mentions the bank to ``tells_satisfied / 12`` people
  on average, and each mention brings in a prospect with probability
  ``conversion_per_mention``. The count is drawn customer by customer: a
  satisfied target refers a prospect this month with probability
  ``tells_satisfied / 12 × conversion_per_mention`` (a keyed uniform draw;
  at most one a month, so that product must not exceed 1).
* **Deterrence.** Bad word of mouth is not targeted: every dissatisfied
  live customer (satisfaction < ``dissatisfied_below``), targeted or not,
  mentions the bank ``tells_dissatisfied / 12`` times a month, and each
  mention puts off a would-be prospect with probability
  ``deterrence_per_mention`` (drawn the same way). Each prospect put off
  cancels one referral this month, chosen by a keyed draw; the net number
  of referred prospects is never below zero. Bad word of mouth that finds no
  referral to cancel is not modelled further: the market's own arrival rate
  already reflects the bank's ordinary reputation.
* **Reward.** The bank pays the referring customer ``reward`` CNY for each
  referred prospect who comes in, within the budget (in the budget's
  priority order); a referral the budget cannot reward does not happen.
  The referred prospects join the arrival (potential) stage through
  ``ctx.add_prospects`` and go through the usual acquisition (potential →
  onboarding, with the scenario's acquisition cost booked by the bank).

The referring customers themselves are not changed.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from strategies._common import check_number
from strategies.base import Strategy
from strategies.registry import register

MONTHS_A_YEAR = 12.0


@register
class Referral(Strategy):
    """Satisfied customers introduce prospects; dissatisfied ones put some off.

    Args:
        tells_satisfied: People a satisfied customer tells in a year (default
            3, DOMAIN §4). ≥ 0.
        tells_dissatisfied: People who hear from a dissatisfied customer in a
            year (default 11.3, DOMAIN §4: a dissatisfied customer tells 10,
            and 13% of them tell 20 more, so about 11.3 people hear). ≥ 0.
        satisfied_above: Satisfaction (0–1) from which a customer counts as
            satisfied (default 0.8, a modelling assumption: about the top
            two-fifths of the baseline bank). In [0, 1].
        dissatisfied_below: Satisfaction below which a customer counts as
            dissatisfied (default 0.5, a modelling assumption: about the
            bottom 3% of the baseline bank). In [0, satisfied_above].
        conversion_per_mention: Probability that a good mention brings in a
            prospect (default 0.05, a modelling assumption). In [0, 1], with
            ``tells_satisfied / 12 × conversion_per_mention ≤ 1``.
        deterrence_per_mention: Probability that a bad mention puts off a
            would-be prospect (default 0.05, a modelling assumption: as
            strong as a good mention). In [0, 1], with
            ``tells_dissatisfied / 12 × deterrence_per_mention ≤ 1``.
        reward: Paid to the referring customer per referred prospect, CNY
            (default 100, a modelling assumption: a small gift, well under
            the baseline's 1,200 CNY acquisition cost). ≥ 0.
    """

    name = "referral"
    cost_kinds: ClassVar[tuple[str, ...]] = ("referral_reward",)
    scope = "bank"  # reads the dissatisfied of the whole bank, not only its targets

    def __init__(
        self,
        *,
        tells_satisfied: float = 3.0,
        tells_dissatisfied: float = 11.3,
        satisfied_above: float = 0.8,
        dissatisfied_below: float = 0.5,
        conversion_per_mention: float = 0.05,
        deterrence_per_mention: float = 0.05,
        reward: float = 100.0,
    ) -> None:
        check_number("tells_satisfied", tells_satisfied, 0.0)
        check_number("tells_dissatisfied", tells_dissatisfied, 0.0)
        check_number("satisfied_above", satisfied_above, 0.0, 1.0)
        check_number("dissatisfied_below", dissatisfied_below, 0.0, satisfied_above)
        check_number("conversion_per_mention", conversion_per_mention, 0.0, 1.0)
        check_number("deterrence_per_mention", deterrence_per_mention, 0.0, 1.0)
        check_number("reward", reward, 0.0)
        for tells, per_mention, what in ((tells_satisfied, conversion_per_mention, "refer"),
                                         (tells_dissatisfied, deterrence_per_mention, "deter")):
            if tells / MONTHS_A_YEAR * per_mention > 1.0:
                raise ValueError(f"a customer can {what} at most one prospect a month: tells/12 "
                                 f"× per-mention probability = {tells} / 12 × {per_mention} > 1")
        self.tells_satisfied = tells_satisfied
        self.tells_dissatisfied = tells_dissatisfied
        self.satisfied_above = satisfied_above
        self.dissatisfied_below = dissatisfied_below
        self.conversion_per_mention = conversion_per_mention
        self.deterrence_per_mention = deterrence_per_mention
        self.reward = reward

    def apply(self, ctx: Any) -> None:
        """Draw this month's referrals, cancel those bad word of mouth deters, pay and add."""
        pop = ctx.population
        refer_chance = self.tells_satisfied / MONTHS_A_YEAR * self.conversion_per_mention
        deter_chance = self.tells_dissatisfied / MONTHS_A_YEAR * self.deterrence_per_mention
        satisfied = ctx.targets & (pop.satisfaction >= self.satisfied_above)
        dissatisfied = ctx.customers & (pop.satisfaction < self.dissatisfied_below)
        refers = satisfied & (ctx.uniform("refer") < refer_chance)
        deterred = int((dissatisfied & (ctx.uniform("deter") < deter_chance)).sum())
        if deterred:
            rows = np.flatnonzero(refers)
            cancelled = rows[np.argsort(ctx.uniform("cancel", rows), kind="stable")[:deterred]]
            refers[cancelled] = False
        rewarded = ctx.fund("referral_reward", refers, self.reward)
        ctx.add_prospects(int(rewarded.sum()))
