"""Threshold vouchers: "invest 100,000 more, get 500 off" (DOMAIN §2, class B).

B-class customers hold most of their wealth at other banks and are price
sensitive; A bank proposed targeted investment vouchers to pull that money
over. Each month a targeted customer with at least ``threshold`` CNY held
elsewhere redeems with probability::

    base_redemption × price_sensitivity × (value / REFERENCE_VALUE) ** value_elasticity

(at most 1), where ``value = face_value / threshold`` is what the voucher
is worth per CNY invested and ``REFERENCE_VALUE`` is DOMAIN §2's 500 per
100,000, at which ``base_redemption`` is set. So money elsewhere, price
sensitivity and the size of the voucher all matter: a bigger voucher, or
the same voucher for a smaller investment, persuades more customers, each
extra CNY fewer than the one before (``value_elasticity`` 0.5). Redeeming moves
``threshold`` CNY into the bank — share of wallet and wallet propensity rise
— and lifts satisfaction a little. The face value is paid only on
redemption, within the budget; a customer can redeem once per
``cooldown_months``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from sim import kernels
from strategies._common import check_number
from strategies.base import Strategy
from strategies.registry import register

#: DOMAIN §2's voucher, 500 CNY off for investing 100,000 more: the value per CNY invested
#: at which ``base_redemption`` holds.
REFERENCE_VALUE = 500.0 / 100_000.0


@register
class Voucher(Strategy):
    """Threshold investment vouchers for price-sensitive customers with money elsewhere.

    Args:
        threshold: New money a customer must invest, CNY (DOMAIN §2: 100,000).
        face_value: Voucher value paid on redemption, CNY (DOMAIN §2: 500).
        base_redemption: Monthly redemption probability of a fully price-sensitive
            eligible customer (default 0.10, a modelling assumption).
        cooldown_months: Months before the same customer can redeem again (default 12).
        satisfaction_bump: Lasting rise of the customer's baseline satisfaction
            on redemption (default 0.02, an assumption).
        value_elasticity: How redemption follows the voucher's value per CNY
            invested, relative to DOMAIN §2's 500 per 100,000 (default 0.5, a
            modelling assumption: three times the value, √3 ≈ 1.7 times the
            redemptions; 1 is proportional, 0 makes the value irrelevant).
            Calibrate it with a redemption curve by face value if the bank has
            one.
    """

    name = "voucher"
    cost_kinds: ClassVar[tuple[str, ...]] = ("voucher",)

    def __init__(
        self,
        *,
        threshold: float = 100_000.0,
        face_value: float = 500.0,
        base_redemption: float = 0.10,
        cooldown_months: int = 12,
        satisfaction_bump: float = 0.02,
        value_elasticity: float = 0.5,
    ) -> None:
        check_number("threshold", threshold)
        if threshold == 0:
            raise ValueError("threshold must be a number above 0, got 0")
        check_number("face_value", face_value)
        check_number("base_redemption", base_redemption, 0.0, 1.0)
        check_number("cooldown_months", cooldown_months)
        if cooldown_months != int(cooldown_months):
            raise ValueError(f"cooldown_months must be a whole number, got {cooldown_months!r}")
        check_number("satisfaction_bump", satisfaction_bump, 0.0, 1.0)
        check_number("value_elasticity", value_elasticity, 0.0, 3.0)
        self.threshold = threshold
        self.face_value = face_value
        self.base_redemption = base_redemption
        self.cooldown_months = cooldown_months
        self.satisfaction_bump = satisfaction_bump
        self.value_elasticity = value_elasticity

    def redemption_scale(self) -> float:
        """``base_redemption`` times the voucher's value effect (1 for DOMAIN §2's voucher)."""
        value = self.face_value / self.threshold / REFERENCE_VALUE
        return self.base_redemption * value**self.value_elasticity

    def apply(self, ctx: Any) -> None:
        """Offer vouchers to the targets; pay and move money for those who redeem."""
        pop = ctx.population
        last_redeemed = ctx.state_column("last_redeemed", np.int16, -10_000)
        last = pop.read(last_redeemed)
        # columns read, not copied out to be written back, and the redeemers' rows written
        # in the table (at 1M: seven columns of 125,000 rows for some 2,500 redeemers)
        wealth = pop.read("total_wealth")
        aum = pop.read("aum")
        if (wealth.dtype, aum.dtype, last.dtype) == (np.float32, np.float64, np.int16) and (
                -(1 << 15) <= ctx.month < 1 << 15):
            # the model's columns: the mask and its rows in one compiled pass, not NumPy's eight
            # (at 1M, 125,000 rows)
            rows = kernels.voucher_rows(ctx.targets, wealth, aum, float(self.threshold), last,
                                        ctx.month, float(self.cooldown_months))
        else:
            rows = np.flatnonzero(ctx.targets & (wealth - aum >= self.threshold)
                                  & (ctx.month - last >= self.cooldown_months))
        # draws only for the eligible (a draw is keyed by the customer alone)
        chance = np.minimum(self.redemption_scale() * pop.read("price_sensitivity", rows), 1.0)
        redeem = np.zeros(len(wealth), bool)
        redeem[rows] = ctx.uniform("redeem", rows) < chance
        paid = np.flatnonzero(ctx.fund("voucher", redeem, self.face_value))
        wealth = wealth[paid]
        moved = self.threshold / wealth
        share = np.minimum(pop.read("share_of_wallet", paid) + moved, 1.0)
        pop.put("share_of_wallet", paid, share)
        stage_share = np.maximum(ctx.stage_wallet_share(paid), 0.1)
        pop.put("wallet_propensity", paid, np.minimum(
            pop.read("wallet_propensity", paid) + moved / stage_share, 1.0))
        pop.put("aum", paid, wealth * share)  # float32 both, as the columns' values were
        pop.put("satisfaction_base", paid, np.minimum(
            pop.read("satisfaction_base", paid) + self.satisfaction_bump, 1.0))
        pop.put(last_redeemed, paid, ctx.month)
