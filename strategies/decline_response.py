"""The four responses to a declining customer: rescue, respond, improve, abandon (DOMAIN §1).

In the decline stage (衰退期) a customer's business with the bank falls —
pulled by a competitor or let down by unmet needs — and, left alone, many go
on to churn. Seed 000 names four answers, which this strategy applies by
A/B/C/D class (DOMAIN §2's playbook), like a triage nurse sorting patients:

* **rescue** (急救) — an intensive relationship-manager (RM) visit, a strong
  lift in satisfaction and a temporary yield bump that closes the
  competitor's price gap (DOMAIN §4: 5.2% there vs 5.0% here). Costly: the
  visit, and the extra interest paid on the customer's AUM every month the
  bump lasts. Default for B, the price-sensitive class with the most money.
* **respond** (应对) — an RM phone call every month the customer declines;
  its effect comes through the contact driver of the lifecycle. Default for
  A, the young, active class.
* **improve** (完善) — fix the service that let the customer down (a better
  channel, a complaint resolved): a lasting rise in the customer's long-run
  satisfaction (``satisfaction_base``). Default for C.
* **abandon** (放弃) — do nothing and save the cost (DOMAIN §2: stop active
  marketing to D).

The strategy acts on its targets that are in the stage named ``decline``;
in a scenario without such a stage it does nothing. Under a tight budget,
rescues are paid first, then calls, then fixes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from strategies._common import SEGMENTS, check_number, deliver_contacts, raise_capped, short_repr
from strategies.base import Strategy
from strategies.registry import register

RESPONSES = ("rescue", "respond", "improve", "abandon")
#: DOMAIN §2 playbook: B price subsidy, A active contact, C service, D abandon.
DEFAULT_RESPONSE_BY_SEGMENT: Mapping[str, str] = {
    "A": "respond", "B": "rescue", "C": "improve", "D": "abandon"}
DECLINE = "decline"


@register
class DeclineResponse(Strategy):
    """Rescue, respond, improve or abandon declining customers, chosen by segment.

    Args:
        response_by_segment: Response per A/B/C/D class, one of ``rescue``,
            ``respond``, ``improve``, ``abandon``; a class not listed is
            abandoned (default ``{A: respond, B: rescue, C: improve,
            D: abandon}``, DOMAIN §1 responses by DOMAIN §2's class profiles).
        rescue_rm_minutes: RM minutes of one rescue visit (default 120,
            modelling assumption).
        rescue_cost: CNY per rescue visit (default 300, modelling assumption).
        rescue_yield_bump_bp: Extra yield of a rescue in basis points (default
            20 = the 5.2% vs 5.0% gap of DOMAIN §4).
        rescue_months: Months the yield bump lasts while the customer still
            declines (default 6, modelling assumption).
        rescue_satisfaction_boost: Rise of this month's satisfaction on a
            rescue visit (default 0.15, modelling assumption).
        respond_rm_minutes: RM minutes per monthly call (default 10, modelling assumption).
        respond_cost: CNY per call (default 5, modelling assumption).
        improve_cost: CNY per service fix (default 150, modelling assumption).
        improve_satisfaction_bump: Rise of ``satisfaction_base`` per fix
            (default 0.05, modelling assumption).
        cooldown_months: Months before the same customer can be rescued or
            have a fix again, at least 1 (default 12, modelling assumption).
    """

    name = "decline_response"
    cost_kinds: ClassVar[tuple[str, ...]] = (
        "rescue_visit", "yield_bump", "respond_call", "improve_fix")

    def __init__(
        self,
        *,
        response_by_segment: Mapping[str, str] = DEFAULT_RESPONSE_BY_SEGMENT,
        rescue_rm_minutes: float = 120.0,
        rescue_cost: float = 300.0,
        rescue_yield_bump_bp: float = 20.0,
        rescue_months: int = 6,
        rescue_satisfaction_boost: float = 0.15,
        respond_rm_minutes: float = 10.0,
        respond_cost: float = 5.0,
        improve_cost: float = 150.0,
        improve_satisfaction_bump: float = 0.05,
        cooldown_months: int = 12,
    ) -> None:
        if not isinstance(response_by_segment, Mapping):
            raise ValueError("response_by_segment must be a mapping, "
                             f"got {short_repr(response_by_segment)}")
        for segment, response in response_by_segment.items():
            if segment not in SEGMENTS:
                raise ValueError(f"response_by_segment: unknown segment {short_repr(segment)}; "
                                 f"expected some of {list(SEGMENTS)}")
            if response not in RESPONSES:
                raise ValueError(f"response_by_segment.{segment}: unknown response "
                                 f"{short_repr(response)}; expected one of {list(RESPONSES)}")
        for param, value in (("rescue_rm_minutes", rescue_rm_minutes),
                             ("rescue_cost", rescue_cost),
                             ("rescue_yield_bump_bp", rescue_yield_bump_bp),
                             ("respond_rm_minutes", respond_rm_minutes),
                             ("respond_cost", respond_cost), ("improve_cost", improve_cost)):
            check_number(param, value)
        for param, value in (("rescue_satisfaction_boost", rescue_satisfaction_boost),
                             ("improve_satisfaction_bump", improve_satisfaction_bump)):
            check_number(param, value, upper=1.0)
        for param, months, least in (("rescue_months", rescue_months, 0),
                                     ("cooldown_months", cooldown_months, 1)):
            if (isinstance(months, bool) or not isinstance(months, int)
                    or not least <= months <= 1200):
                raise ValueError(f"{param} must be a whole number of months in "
                                 f"[{least}, 1200], got {short_repr(months)}")
        self.response_by_segment = response_by_segment
        self.rescue_rm_minutes = rescue_rm_minutes
        self.rescue_cost = rescue_cost
        self.rescue_yield_bump_bp = rescue_yield_bump_bp
        self.rescue_months = rescue_months
        self.rescue_satisfaction_boost = rescue_satisfaction_boost
        self.respond_rm_minutes = respond_rm_minutes
        self.respond_cost = respond_cost
        self.improve_cost = improve_cost
        self.improve_satisfaction_bump = improve_satisfaction_bump
        self.cooldown_months = cooldown_months

    def apply(self, ctx: Any) -> None:
        """Give each declining target the response of its class."""
        if DECLINE not in ctx.scenario.lifecycle.stage_names:
            return
        pop = ctx.population
        declining = ctx.targets & (pop.stage == ctx.stage_code(DECLINE))
        # response code per segment code; the extra last slot (segment -1) abandons
        lut = np.full(len(SEGMENTS) + 1, RESPONSES.index("abandon"))
        for segment, response in self.response_by_segment.items():
            lut[ctx.segment_code(segment)] = RESPONSES.index(response)
        response_of = lut[pop.segment]
        self._rescue(ctx, declining & (response_of == RESPONSES.index("rescue")))
        calls = (declining & (response_of == RESPONSES.index("respond"))).astype(float)
        deliver_contacts(ctx, "respond_call", calls, self.respond_cost, self.respond_rm_minutes)
        self._improve(ctx, declining & (response_of == RESPONSES.index("improve")))

    def _rescue(self, ctx: Any, rows: np.ndarray) -> None:
        """Keep paying running yield bumps, then visit those due a rescue and bump them."""
        pop = ctx.population
        last_rescue = ctx.state_column("last_rescue", np.int16, -10_000)
        last = pop.read(last_rescue)  # read; the few rescued written in the table's rows
        running = rows & (ctx.month - last < self.rescue_months)  # promises come first
        self._bump_yield(ctx, running)
        due = rows & (ctx.month - last >= self.cooldown_months)
        visited = deliver_contacts(ctx, "rescue_visit", due.astype(float), self.rescue_cost,
                                   self.rescue_rm_minutes)
        pop.put(last_rescue, visited, ctx.month)
        # satisfaction[visited] += boost, capped at 1: only the rows that may change
        raise_capped(pop, "satisfaction", ((self.rescue_satisfaction_boost, visited),),
                     indexed=True)
        if self.rescue_months > 0:
            self._bump_yield(ctx, visited & ~running)

    def _bump_yield(self, ctx: Any, rows: np.ndarray) -> None:
        """Pay this month's extra interest on the rows' AUM and lower their price gap."""
        if self.rescue_yield_bump_bp > 0 and rows.any():
            pop = ctx.population
            # AUM read (not copied out to be written back), the bump added in the table's rows
            monthly_interest = pop.read("aum") * (self.rescue_yield_bump_bp / 10_000.0 / 12.0)
            paid = ctx.fund("yield_bump", rows, monthly_interest)
            pop.add_at("yield_bump_bp", paid, self.rescue_yield_bump_bp)

    def _improve(self, ctx: Any, rows: np.ndarray) -> None:
        """Fix the service of those due a fix: their long-run satisfaction rises."""
        pop = ctx.population
        last_fix = ctx.state_column("last_fix", np.int16, -10_000)
        last = pop.read(last_fix)
        fixed = ctx.fund("improve_fix", rows & (ctx.month - last >= self.cooldown_months),
                         self.improve_cost)
        pop.put(last_fix, fixed, ctx.month)
        raise_capped(pop, "satisfaction_base", ((self.improve_satisfaction_bump, fixed),),
                     indexed=True)
