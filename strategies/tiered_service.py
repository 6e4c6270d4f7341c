"""Tiered maintenance standards for wealthy customers (DOMAIN §3, seed 004).

One branch's plan sets a service standard per AUM tier (金融资产 at the
bank), like a hotel's loyalty levels: everyone from 200k CNY gets at least
two RM contacts and four product SMS a month and two wealth salons a year;
from 1M CNY add a gift by contribution and birthday flowers; from 5M CNY
three salons a year and two visits from the branch president.

Each month every targeted customer in a tier with a standard receives that
tier's contacts (RM calls, drawing on the month's RM hours) and SMS. Yearly
events happen with monthly probability ``per_year / 12`` per customer, so a
customer meets the standard on average: a salon or a president visit counts
as a contact and raises the customer's long-run satisfaction
(``satisfaction_base``) a little; a gift raises this month's satisfaction,
which then relaxes back. All is paid within the budget and booked by kind
(``contact``, ``sms``, ``salon``, ``gift``, ``president_visit``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from sim import kernels
from strategies._common import (
    check_number,
    check_numbers,
    check_tiers,
    deliver_contacts,
    raise_capped,
    whole_counts,
)
from strategies.base import Strategy
from strategies.registry import register

#: DOMAIN §3 standards, keyed by the baseline's tiers of 200k CNY and above.
DEFAULT_CONTACTS_PER_MONTH: Mapping[str, float] = {
    "200k_1m": 2, "1m_5m": 2, "5m_6m": 2, "private": 2}
DEFAULT_SMS_PER_MONTH: Mapping[str, float] = {"200k_1m": 4, "1m_5m": 4, "5m_6m": 4, "private": 4}
DEFAULT_SALONS_PER_YEAR: Mapping[str, float] = {
    "200k_1m": 2, "1m_5m": 2, "5m_6m": 3, "private": 3}
DEFAULT_GIFTS_PER_YEAR: Mapping[str, float] = {"1m_5m": 1, "5m_6m": 1, "private": 1}
DEFAULT_PRESIDENT_VISITS_PER_YEAR: Mapping[str, float] = {"5m_6m": 2, "private": 2}

#: Yearly events: parameter prefix -> cost kind.
EVENTS = {"salons": "salon", "gifts": "gift", "president_visits": "president_visit"}


@register
class TieredService(Strategy):
    """DOMAIN §3's maintenance standards per AUM tier: contacts, SMS, salons, gifts, visits.

    Tier names are those of the scenario's ``tiers``; a tier left out of a
    mapping gets none of that item.

    Args:
        contacts_per_month: RM contacts a month by tier (default 2 for every
            tier from ``200k_1m`` up; DOMAIN §3: ≥ 2 contacts a month).
        sms_per_month: Product SMS a month by tier (default 4 from ``200k_1m``
            up; DOMAIN §3: ≥ 4 product SMS a month).
        salons_per_year: Wealth salons a year by tier (default 2, 2, 3, 3 for
            ``200k_1m``, ``1m_5m``, ``5m_6m``, ``private``; DOMAIN §3).
        gifts_per_year: Gifts a year by tier (default 1 from ``1m_5m`` up;
            DOMAIN §3: gift by contribution, birthday flowers).
        president_visits_per_year: Branch-president visits a year by tier
            (default 2 for ``5m_6m`` and ``private``; DOMAIN §3: ≥ 5M CNY).
        contact_rm_minutes: RM minutes per contact (default 10, modelling assumption).
        contact_cost: CNY per contact (default 5, modelling assumption).
        sms_cost: CNY per SMS (default 0.05, modelling assumption).
        salon_cost: CNY per salon guest (default 200, modelling assumption).
        gift_cost: CNY per gift (default 200, modelling assumption: flowers or a small gift).
        president_visit_cost: CNY per president visit (default 500, modelling assumption).
        salon_satisfaction_bump: Rise of ``satisfaction_base`` per salon
            attended (default 0.01, modelling assumption).
        gift_satisfaction_bump: Rise of this month's satisfaction per gift
            (default 0.05, modelling assumption).
        president_visit_satisfaction_bump: Rise of ``satisfaction_base`` per
            president visit (default 0.02, modelling assumption).
    """

    name = "tiered_service"
    cost_kinds: ClassVar[tuple[str, ...]] = ("contact", "sms", "salon", "gift", "president_visit")

    def __init__(
        self,
        *,
        contacts_per_month: Mapping[str, float] = DEFAULT_CONTACTS_PER_MONTH,
        sms_per_month: Mapping[str, float] = DEFAULT_SMS_PER_MONTH,
        salons_per_year: Mapping[str, float] = DEFAULT_SALONS_PER_YEAR,
        gifts_per_year: Mapping[str, float] = DEFAULT_GIFTS_PER_YEAR,
        president_visits_per_year: Mapping[str, float] = DEFAULT_PRESIDENT_VISITS_PER_YEAR,
        contact_rm_minutes: float = 10.0,
        contact_cost: float = 5.0,
        sms_cost: float = 0.05,
        salon_cost: float = 200.0,
        gift_cost: float = 200.0,
        president_visit_cost: float = 500.0,
        salon_satisfaction_bump: float = 0.01,
        gift_satisfaction_bump: float = 0.05,
        president_visit_satisfaction_bump: float = 0.02,
    ) -> None:
        check_numbers("contacts_per_month", contacts_per_month)
        check_numbers("sms_per_month", sms_per_month)
        for param, per_year in (("salons_per_year", salons_per_year),
                                ("gifts_per_year", gifts_per_year),
                                ("president_visits_per_year", president_visits_per_year)):
            check_numbers(param, per_year, upper=12.0)  # at most one a month
        for param, value in (("contact_rm_minutes", contact_rm_minutes),
                             ("contact_cost", contact_cost), ("sms_cost", sms_cost),
                             ("salon_cost", salon_cost), ("gift_cost", gift_cost),
                             ("president_visit_cost", president_visit_cost)):
            check_number(param, value)
        for param, value in (("salon_satisfaction_bump", salon_satisfaction_bump),
                             ("gift_satisfaction_bump", gift_satisfaction_bump),
                             ("president_visit_satisfaction_bump",
                              president_visit_satisfaction_bump)):
            check_number(param, value, upper=1.0)
        self.contacts_per_month = contacts_per_month
        self.sms_per_month = sms_per_month
        self.salons_per_year = salons_per_year
        self.gifts_per_year = gifts_per_year
        self.president_visits_per_year = president_visits_per_year
        self.contact_rm_minutes = contact_rm_minutes
        self.contact_cost = contact_cost
        self.sms_cost = sms_cost
        self.salon_cost = salon_cost
        self.gift_cost = gift_cost
        self.president_visit_cost = president_visit_cost
        self.salon_satisfaction_bump = salon_satisfaction_bump
        self.gift_satisfaction_bump = gift_satisfaction_bump
        self.president_visit_satisfaction_bump = president_visit_satisfaction_bump

    def apply(self, ctx: Any) -> None:
        """Serve each targeted customer the standard of their tier this month."""
        pop = ctx.population
        # every row (a subset's rows are the targets): times 1 would change nothing
        targets = None if ctx.targets.all() else ctx.targets
        tier = pop.tier  # once for the five standards (a subset keeps its copy)
        contacts = self._counts(ctx, tier, targets, "contacts", self.contacts_per_month)
        deliver_contacts(ctx, "contact", contacts, self.contact_cost, self.contact_rm_minutes)
        sms = self._counts(ctx, tier, targets, "sms", self.sms_per_month)
        deliver_contacts(ctx, "sms", sms, self.sms_cost, None)

        salon = self._event(ctx, tier, targets, "salons_per_year", self.salons_per_year,
                            self.salon_cost)
        visit = self._event(ctx, tier, targets, "president_visits_per_year",
                            self.president_visits_per_year, self.president_visit_cost)
        gift = self._event(ctx, tier, targets, "gifts_per_year", self.gifts_per_year,
                           self.gift_cost)
        for met in (salon, visit):  # an event attended is a contact, with no RM time
            attended = float(met.sum())
            ctx.count_contacts(attended, attended)
            pop.add_at("contacts", met, 1.0)  # in the rows: the column is not copied for it
        # base += bump * met for each, capped at 1: only the rows that may change
        raise_capped(pop, "satisfaction_base", ((self.salon_satisfaction_bump, salon),
                                                (self.president_visit_satisfaction_bump, visit)))
        raise_capped(pop, "satisfaction", ((self.gift_satisfaction_bump, gift),))

    def check_scenario(self, scenario: Any) -> None:
        """Refuse standards keyed by tiers the scenario does not have."""
        for param in ("contacts_per_month", "sms_per_month", "salons_per_year",
                      "gifts_per_year", "president_visits_per_year"):
            check_tiers(scenario, param, getattr(self, param))

    def _by_tier(self, ctx: Any, values: Mapping[str, float]) -> np.ndarray:
        """``values`` by tier code; the last slot is for rows of no tier (code -1)."""
        tier_values = np.zeros(len(ctx.scenario.tiers) + 1)
        for tier, value in values.items():
            tier_values[ctx.tier_code(tier)] = value
        return tier_values

    def _counts(self, ctx: Any, tier: np.ndarray, targets: np.ndarray | None, purpose: str,
                per_month: Mapping[str, float]) -> np.ndarray:
        """Whole numbers of contacts this month: ``whole_counts`` of each row's tier rate.

        Rates that are whole numbers in every tier (the defaults) are their own
        counts: ``whole_counts`` would draw nothing and return ``floor(rate)``,
        the same values (at 1M, three passes over 140,000 rows a call).
        """
        tier_values = self._by_tier(ctx, per_month)
        rate = kernels.lut_values(tier_values, tier)  # = tier_values[tier], in one pass
        if targets is not None:
            rate = np.asarray(rate * targets, float)
        if bool((np.floor(tier_values) == tier_values).all()):
            return rate  # whole rates: 0 outside the targets already
        # a rate of 0 (outside the targets) stays 0: floor(0 + U) with U < 1
        return whole_counts(rate, ctx, purpose)

    def _event(self, ctx: Any, tier: np.ndarray, targets: np.ndarray | None, param: str,
               per_year: Mapping[str, float], cost_each: float) -> np.ndarray:
        """Rows holding a yearly event this month (probability per_year / 12), paid for."""
        chance = self._by_tier(ctx, per_year) / 12.0  # by tier: the rows' values, each / 12
        # draws only where the event may happen (a draw is keyed by the customer alone):
        # gifts and president visits are for a few tiers
        rows = kernels.lut_rows(chance > 0, tier)  # = np.flatnonzero(chance[tier] > 0)
        if targets is not None:
            rows = rows[targets[rows]]
        happens = np.zeros(len(tier), bool)
        happens[rows] = ctx.uniform(param, rows) < kernels.lut_values(chance, tier[rows])
        paid: np.ndarray = ctx.fund(EVENTS[param.removesuffix("_per_year")], happens, cost_each)
        return paid
