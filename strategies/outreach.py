"""Outreach: keeping in touch by phone, SMS, push and visits (DOMAIN §2, §3, §5).

A relationship manager keeps a customer the way a gardener keeps a hedge:
by regular, modest attention rather than one big effort. DOMAIN §3's
maintenance standard for customers with 200k CNY or more at the bank is at
least two contacts and four product SMS a month; DOMAIN §2 prescribes
phone/SMS/push outreach for the C class and homogeneous push only for the
D class. DOMAIN §5 names the channels: a phone call or a visit takes a
relationship manager's (RM) time, an SMS or a push message does not.

Each month every targeted customer is due ``contacts_per_month`` contacts by
channel, overridden per A/B/C/D segment or AUM tier. A fractional rate is met
on average (0.25 visits a month is one visit with probability 0.25). Calls
and visits are delivered while the month's RM hours last; every contact is
paid within the budget and booked under its channel. Delivered contacts add
to the customer's ``contacts`` this month, which the lifecycle reads as
log(1 + contacts): each extra contact helps less than the one before. Beyond
``fatigue_threshold`` contacts in a month (from all strategies so far) each
extra contact costs ``fatigue_penalty`` of satisfaction: outreach can annoy.

Contact delivery and parameter checks are shared with the other
contact-making strategies in :mod:`strategies._common`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from strategies._common import (
    CHANNELS,
    DEFAULT_COST_PER_CONTACT,
    DEFAULT_RM_MINUTES,
    RM_CHANNELS,
    SEGMENTS,
    check_mapping,
    check_number,
    check_numbers,
    check_tiers,
    deliver_contacts,
    whole_counts,
)
from strategies.base import Strategy
from strategies.registry import register

__all__ = ["Outreach"]

#: DOMAIN §3: ≥ 2 contacts and ≥ 4 product SMS a month.
DEFAULT_CONTACTS_PER_MONTH: Mapping[str, float] = {"phone": 2, "sms": 4, "push": 0, "visit": 0}
@register
class Outreach(Strategy):
    """Contacts a month by channel, with RM capacity, budgets and contact fatigue.

    Args:
        contacts_per_month: Contacts a month per targeted customer by channel
            (``phone``, ``sms``, ``push``, ``visit``); channels not listed get
            none (default ``{phone: 2, sms: 4, push: 0, visit: 0}``, DOMAIN §3).
        by_segment: Per A/B/C/D class, channel rates replacing the base plan for
            the channels listed, e.g. ``{D: {phone: 0, push: 4}}`` (DOMAIN §2: D
            gets push only). Default None: no overrides.
        by_tier: Per AUM tier name of the scenario, channel rates as in
            ``by_segment``; a tier override wins over a segment override
            (default None; DOMAIN §3 standards are by tier).
        cost_per_contact: CNY per delivered contact by channel; channels not
            listed keep their default (default ``{phone: 5, sms: 0.05,
            push: 0.01, visit: 100}``, modelling assumption).
        rm_minutes_per_contact: RM minutes per phone call or visit; channels not
            listed keep their default (default ``{phone: 10, visit: 60}``,
            modelling assumption). SMS and push take no RM time.
        fatigue_threshold: Contacts a month a customer takes without annoyance
            (default 6 = DOMAIN §3's 2 contacts + 4 SMS).
        fatigue_penalty: Satisfaction lost per contact beyond the threshold
            (default 0.01, modelling assumption).
    """

    name = "outreach"
    cost_kinds: ClassVar[tuple[str, ...]] = CHANNELS

    def __init__(
        self,
        *,
        contacts_per_month: Mapping[str, float] = DEFAULT_CONTACTS_PER_MONTH,
        by_segment: Mapping[str, Mapping[str, float]] | None = None,
        by_tier: Mapping[str, Mapping[str, float]] | None = None,
        cost_per_contact: Mapping[str, float] = DEFAULT_COST_PER_CONTACT,
        rm_minutes_per_contact: Mapping[str, float] = DEFAULT_RM_MINUTES,
        fatigue_threshold: float = 6.0,
        fatigue_penalty: float = 0.01,
    ) -> None:
        check_numbers("contacts_per_month", contacts_per_month, CHANNELS)
        for param, overrides, keys in (("by_segment", by_segment, SEGMENTS),
                                       ("by_tier", by_tier, None)):
            if overrides is not None:
                check_mapping(param, overrides, keys)
                for key, plan in overrides.items():
                    check_numbers(f"{param}.{key}", plan, CHANNELS)
        check_numbers("cost_per_contact", cost_per_contact, CHANNELS)
        check_numbers("rm_minutes_per_contact", rm_minutes_per_contact, RM_CHANNELS)
        check_number("fatigue_threshold", fatigue_threshold)
        check_number("fatigue_penalty", fatigue_penalty, upper=1.0)
        self.contacts_per_month = contacts_per_month
        self.by_segment = by_segment
        self.by_tier = by_tier
        self.cost_per_contact = cost_per_contact
        self.rm_minutes_per_contact = rm_minutes_per_contact
        self.fatigue_threshold = fatigue_threshold
        self.fatigue_penalty = fatigue_penalty

    def apply(self, ctx: Any) -> None:
        """Contact the targets by channel, within RM hours and budget; apply fatigue."""
        pop = ctx.population
        costs = {**DEFAULT_COST_PER_CONTACT, **self.cost_per_contact}
        minutes = {**DEFAULT_RM_MINUTES, **self.rm_minutes_per_contact}
        # the contacts read before and after, not copied out: the contacts made are added in
        # the table's rows in one compiled pass each (at 1M, 160,000 rows; NumPy's masked
        # add on a copy, and the copy compared back, cost about 1 ms more a month)
        before = pop.read("contacts")
        everyone = ctx.targets.all()  # (a subset's rows): times 1 would change nothing
        for channel, rate in self._rates(ctx).items():
            counts = whole_counts(rate, ctx, f"count/{channel}")
            if not everyone:
                counts *= ctx.targets
            if counts.any():
                deliver_contacts(ctx, channel, counts, costs[channel], minutes.get(channel))
        threshold = self.fatigue_threshold
        extra = (np.maximum(pop.read("contacts") - threshold, 0.0)
                 - np.maximum(before - threshold, 0.0))
        if self.fatigue_penalty > 0 and extra.any():
            # satisfaction -= penalty * extra, clipped to [0, 1]: written only in the rows it
            # may change (extra not 0; or outside (0, 1], where subtracting 0 or the clip
            # could change the bits), not copied out and compared back
            satisfaction = pop.read("satisfaction")
            rows = np.flatnonzero((extra != 0) | ~((satisfaction > 0) & (satisfaction <= 1.0)))
            changed = np.array(satisfaction[rows])
            changed -= self.fatigue_penalty * extra[rows]
            np.clip(changed, 0.0, 1.0, out=changed)
            pop.put("satisfaction", rows, changed)

    def check_scenario(self, scenario: Any) -> None:
        """Refuse tier overrides naming tiers the scenario does not have."""
        if self.by_tier:
            check_tiers(scenario, "by_tier", self.by_tier)

    def monthly_rates(self, ctx: Any) -> dict[str, np.ndarray]:
        """Each row's contact rate a month by channel, after segment and tier overrides."""
        n = len(ctx.population)
        return {channel: np.array(np.broadcast_to(rate, (n,)), float)
                for channel, rate in self._rates(ctx).items()}

    def _rates(self, ctx: Any) -> dict[str, np.ndarray | float]:
        """:meth:`monthly_rates`, with the base rate as a number for a channel no override names.

        Then every row has that rate: no array of it is made (at 1M, four of
        158,000 rows a month), and its contacts are counted from the number.
        """
        pop = ctx.population
        rates: dict[str, np.ndarray | float] = {}
        for channel in CHANNELS:
            base = float(self.contacts_per_month.get(channel, 0.0))
            rate: np.ndarray | float = base
            for column, overrides, code in (
                ("segment", self.by_segment, ctx.segment_code),
                ("tier", self.by_tier, ctx.tier_code),
            ):
                for key, plan in (overrides or {}).items():
                    if channel in plan:
                        if isinstance(rate, float):
                            rate = np.full(len(pop), base)
                        rate[getattr(pop, column) == code(key)] = plan[channel]
            rates[channel] = rate
        return rates
