"""Cross-selling: more products per customer (DOMAIN §2 product-coverage KPI).

A customer with a deposit account, a wealth product and a credit card is
tied to the bank by three threads instead of one: leaving means undoing all
three. DOMAIN §2 makes product coverage a staff KPI and prescribes more
online products, payment scenarios and consumer credit for the A class and
investment products for B; DOMAIN §5 lists the channels an offer can take.

Each month every targeted customer holding fewer than ``max_products``
products receives one offer through ``offer_channel``: push and SMS cost
only money, a phone call or a visit also takes a relationship manager's
time (served while the month's RM hours last). Satisfied customers say yes
more often: the acceptance probability is ``acceptance`` of the channel at
the reference satisfaction, shifted in log-odds by ``satisfaction_effect``
per unit of satisfaction above or below it. An accepted offer, once its
onboarding is paid, adds a product: products earn fees and lower churn
through the lifecycle's ``products`` driver. Offers are booked under their
channel, onboarding under ``onboarding``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from sim import kernels
from strategies._common import (
    CHANNELS,
    DEFAULT_COST_PER_CONTACT,
    DEFAULT_RM_MINUTES,
    RM_CHANNELS,
    check_number,
    check_numbers,
    deliver_contacts,
    short_repr,
)
from strategies.base import Strategy
from strategies.registry import register

#: Probability an offer is accepted at the reference satisfaction, by channel;
#: modelling assumptions (personal selling converts best, DOMAIN §2 class C).
DEFAULT_ACCEPTANCE: Mapping[str, float] = {
    "push": 0.005, "sms": 0.01, "phone": 0.04, "visit": 0.08}


@register
class CrossSell(Strategy):
    """Monthly product offers below ``max_products``; acceptance rises with satisfaction.

    Args:
        max_products: Customers holding this many products or more get no
            offer (default 5, modelling assumption; few customers hold more).
        offer_channel: ``push``, ``sms``, ``phone`` or ``visit`` (default
            ``sms``; DOMAIN §2: phone/SMS/push outreach).
        offer_cost: CNY per offer by channel; channels not listed keep their
            default (default ``{phone: 5, sms: 0.05, push: 0.01, visit: 100}``,
            modelling assumption, as in ``outreach``).
        rm_minutes_per_offer: RM minutes per phone or visit offer; channels not
            listed keep their default (default ``{phone: 10, visit: 60}``,
            modelling assumption).
        acceptance: Probability of accepting an offer at the reference
            satisfaction, by channel; channels not listed keep their default
            (default ``{push: 0.005, sms: 0.01, phone: 0.04, visit: 0.08}``,
            modelling assumption).
        satisfaction_effect: Change in the log-odds of accepting per unit of
            satisfaction above the reference (default 4.0, modelling assumption).
        satisfaction_reference: Satisfaction at which ``acceptance`` holds
            (default 0.7, the baseline's satisfaction driver reference).
        onboarding_cost: CNY to open each new product (default 50, modelling assumption).
    """

    name = "cross_sell"
    cost_kinds: ClassVar[tuple[str, ...]] = (*CHANNELS, "onboarding")

    def __init__(
        self,
        *,
        max_products: int = 5,
        offer_channel: str = "sms",
        offer_cost: Mapping[str, float] = DEFAULT_COST_PER_CONTACT,
        rm_minutes_per_offer: Mapping[str, float] = DEFAULT_RM_MINUTES,
        acceptance: Mapping[str, float] = DEFAULT_ACCEPTANCE,
        satisfaction_effect: float = 4.0,
        satisfaction_reference: float = 0.7,
        onboarding_cost: float = 50.0,
    ) -> None:
        if (isinstance(max_products, bool) or not isinstance(max_products, int)
                or not 1 <= max_products <= 100):
            raise ValueError(f"max_products must be a whole number in [1, 100], "
                             f"got {short_repr(max_products)}")
        if offer_channel not in CHANNELS:
            raise ValueError(f"offer_channel must be one of {list(CHANNELS)}, "
                             f"got {short_repr(offer_channel)}")
        check_numbers("offer_cost", offer_cost, CHANNELS)
        check_numbers("rm_minutes_per_offer", rm_minutes_per_offer, RM_CHANNELS)
        check_numbers("acceptance", acceptance, CHANNELS, upper=1.0)
        check_number("satisfaction_effect", satisfaction_effect, lower=-100.0, upper=100.0)
        check_number("satisfaction_reference", satisfaction_reference, upper=1.0)
        check_number("onboarding_cost", onboarding_cost)
        self.max_products = max_products
        self.offer_channel = offer_channel
        self.offer_cost = offer_cost
        self.rm_minutes_per_offer = rm_minutes_per_offer
        self.acceptance = acceptance
        self.satisfaction_effect = satisfaction_effect
        self.satisfaction_reference = satisfaction_reference
        self.onboarding_cost = onboarding_cost

    def apply(self, ctx: Any) -> None:
        """Offer a product to eligible targets; onboard those who accept."""
        pop = ctx.population
        channel = self.offer_channel
        # columns read, not copied out to be written back (at 1M, 400,000 rows each): the
        # new products added in the table's rows; one offer per eligible target, the
        # offers' counts in one compiled pass (not NumPy's three)
        eligible = kernels.below_counts(ctx.targets, pop.read("products"), self.max_products)
        offered = deliver_contacts(
            ctx, channel, eligible,
            {**DEFAULT_COST_PER_CONTACT, **self.offer_cost}[channel],
            {**DEFAULT_RM_MINUTES, **self.rm_minutes_per_offer}.get(channel),
        )
        accepts = self._accepts(ctx, offered, pop.read("satisfaction"))
        onboarded = ctx.fund("onboarding", accepts, self.onboarding_cost)
        pop.add_at("products", onboarded, 1)

    def _accepts(self, ctx: Any, offered: np.ndarray, satisfaction: np.ndarray) -> np.ndarray:
        """Offered rows that accept: ``offered & (draw < acceptance_probability(satisfaction))``.

        For the model's float32 satisfaction, the arithmetic around NumPy's
        float32 ``exp`` (kept: Numba's could differ in the last bit) in two
        compiled passes for NumPy's eight (400,000 offers at 1M, one thread,
        warm: 0.72 against 0.30 ms).
        """
        draws = ctx.uniform("accept")
        base = {**DEFAULT_ACCEPTANCE, **self.acceptance}[self.offer_channel]
        numbers = (base, self.satisfaction_effect, self.satisfaction_reference)
        if satisfaction.dtype != np.float32 or any(type(x) not in (int, float) for x in numbers):
            # (a NumPy float64 parameter would make NumPy's arithmetic float64)
            return np.asarray(offered & (draws < self.acceptance_probability(satisfaction)))
        # Python numbers meet a float32 array as float32 (NumPy 2, NEP 50)
        log_odds = kernels.scaled_gap(satisfaction, np.float32(self.satisfaction_effect),
                                      np.float32(self.satisfaction_reference))
        accepts: np.ndarray = kernels.accepted(np.asarray(offered, bool), draws,
                                               np.exp(log_odds), np.float32(base))
        return accepts

    def acceptance_probability(self, satisfaction: np.ndarray) -> np.ndarray:
        """Probability of accepting an offer through ``offer_channel`` at ``satisfaction``."""
        base = {**DEFAULT_ACCEPTANCE, **self.acceptance}[self.offer_channel]
        odds_ratio = np.exp(self.satisfaction_effect * (satisfaction - self.satisfaction_reference))
        return np.asarray(base * odds_ratio / (base * odds_ratio + 1.0 - base))
