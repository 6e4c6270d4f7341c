"""Price subsidy: a yield bump that closes the competitor's price gap (DOMAIN §2, §4).

A bank's B-class customers (DOMAIN §2) hold the highest financial assets but
spread them over several banks, and they are price sensitive; A bank's
playbook for them includes a **price subsidy**. DOMAIN §4 puts a number on
the gap: a competitor's wealth product yields 5.2% against our 5.0%, so a
bump of 20 basis points closes it — while warning that price is one driver
of several, not by itself why a 500k+ customer leaves.

The model already turns price into behaviour. Each customer's price gap
(competitor minus bank yield, in percentage points, minus the customer's
``yield_bump_bp / 100``) scaled by the customer's price sensitivity lowers
the satisfaction target and the share-of-wallet target every month, and is
the ``price_gap`` driver of the maturity→decline and decline→churned
transitions. So this strategy does only two things: it raises a funded
customer's ``yield_bump_bp`` by ``bump_bp`` this month (the model resets the
column to 0 every month before strategies act, so the bump lasts exactly as
long as the customer stays targeted and funded), and it pays for it. The
price of a bump is the extra interest on the money it applies to,
``aum × bump_bp / 10,000 / 12`` CNY a month, so the subsidy costs most on the
customers it wins most money from. When the budget binds, customers are
funded in the budget's priority order and the rest get no bump.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from strategies._common import short_repr
from strategies.base import Strategy
from strategies.registry import register

#: Largest bump accepted, in basis points: a guard against percent-for-bp mistakes.
MAX_BUMP_BP = 1000.0


@register
class PricingSubsidy(Strategy):
    """A yield (deposit or wealth-product rate) bump for the targeted customers.

    Args:
        bump_bp: Yield bump in basis points, paid on the customer's AUM at the
            bank (default 20 bp, DOMAIN §4: the competitor's 5.2% against our
            5.0%). Must be in (0, 1000]; 20 means 0.20 percentage points.
    """

    name = "pricing_subsidy"
    cost_kinds: ClassVar[tuple[str, ...]] = ("subsidy_interest",)

    def __init__(self, *, bump_bp: float = 20.0) -> None:
        if (isinstance(bump_bp, bool) or not isinstance(bump_bp, int | float)
                or not 0.0 < bump_bp <= MAX_BUMP_BP or not math.isfinite(bump_bp)):
            raise ValueError(f"bump_bp must be a number of basis points in (0, {MAX_BUMP_BP:g}] "
                             f"(20 = 0.20 percentage points), got {short_repr(bump_bp)}")
        self.bump_bp = bump_bp

    def monthly_cost(self, aum: np.ndarray) -> np.ndarray:
        """Extra interest a month, CNY, of the bump on each AUM."""
        return aum * (self.bump_bp / 10_000.0 / 12.0)

    def apply(self, ctx: Any) -> None:
        """Bump the funded targets' yield this month and pay the extra interest."""
        pop = ctx.population
        # AUM read, not copied out to be written back; the bump added in the table's rows
        # (at 1M: two columns of 51,000 rows not copied out and compared back)
        funded = ctx.fund("subsidy_interest", ctx.targets, self.monthly_cost(pop.read("aum")))
        pop.add_at("yield_bump_bp", funded, self.bump_bp)
