"""Strategies of the per-agent reference model, decided customer by customer.

The vectorised engine runs a strategy as array operations over its whole
population (``sim.strategy_runtime`` and the plugins in ``strategies/``). Here
each switched-on strategy is a plain Python object that, once a month, walks
the list of live :class:`~benchmarks.reference_agents.Customer` agents and
decides for each one — what a Mesa user would write:

* **targeting** — the customer's stage, A/B/C/D segment, AUM tier and channel
  against the strategy's ``target:`` sets, and its marketing opt-out (set by
  ``abandon_d``, which the model runs first);
* **hold-out** — the first month a customer is targeted it joins the control
  group with probability ``holdout`` (one draw, remembered in the customer's
  :class:`MarketingRecord`) and is never treated; the rest are treated;
* **effect** — the strategy's own rule for one customer, with the same
  equations and parameters as the vectorised plugin (parameters and their
  defaults are read by building the plugin class from the scenario's
  ``params``; the per-customer logic is written again below);
* **budget** — :meth:`ReferenceStrategy.fund` pays for the wanted customers
  and, when the monthly or total budget cannot pay for all, sorts them by the
  budget's priority key and serves them in that order until the money runs out;
* **staff** — phone calls and visits draw on the month's RM minutes
  (``capacity.rm_hours_per_month``, shared by the strategies in order), served
  the same way; contacts are paid after they are staffed;
* **costs and counts** — booked per cost kind; targeted, hold-out, treated,
  funded and contact counts, and the cohorts' uplift tallies, as the engine's
  monthly metrics.

Random draws come from the model's ``random.Random``, one per customer where
the customer needs one. Supported: the seven strategies of
``scenarios/abc_d_playbook.yaml``; target ``labels`` and ``where`` are not.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from sim.schema import Scenario, StrategySpec
from sim.strategy_runtime import strategy_metric_names as engine_metric_names
from strategies import registry
from strategies._common import CHANNELS, DEFAULT_COST_PER_CONTACT, DEFAULT_RM_MINUTES
from strategies.cross_sell import DEFAULT_ACCEPTANCE
from strategies.voucher import REFERENCE_VALUE

if TYPE_CHECKING:
    from benchmarks.reference_agents import Customer, ReferenceModel

__all__ = ["REFERENCE_STRATEGIES", "MarketingRecord", "ReferenceStrategy", "build_strategies",
           "strategy_metric_names"]

SEGMENTS = ("A", "B", "C", "D")
TREATED, CONTROL = 1, 2
NEVER = -10_000  # "month of the last ..." before any
COUNTS = ("targeted", "holdout", "treated", "funded", "contacts_requested", "contacts_delivered")
UPLIFT = ("n", "active", "aum", "revenue", "cost")
GROUPS = ((TREATED, "treated"), (CONTROL, "control"))

#: Budget priority: the sort key of a customer (``None``: a fresh uniform draw each).
PRIORITY_KEYS: dict[str, Callable[[Customer], float] | None] = {
    "highest_value": lambda c: -c.aum,
    "lowest_value": lambda c: c.aum,
    "least_satisfied": lambda c: c.satisfaction,
    "random": None,
}


def strategy_metric_names(name: str, cost_kinds: Sequence[str]) -> list[str]:
    """Monthly metric columns of one strategy (as the engine's, less referrals' ``brought``)."""
    return [column for column in engine_metric_names(name, tuple(cost_kinds))
            if not column.endswith("_brought")]


class MarketingRecord:
    """What strategies remember about one customer, from the first month one targets it.

    Attributes:
        opt_out: Opted out of marketing (by ``abandon_d``): strategies that
            respect the opt-out skip the customer.
        cohorts: Strategy index -> ``TREATED`` or ``CONTROL`` (hold-out), fixed
            at the customer's first month in that strategy's target.
        last: Strategies' per-customer memory, e.g. ``"voucher/last_redeemed"``
            -> the month it last happened.
    """

    __slots__ = ("cohorts", "last", "opt_out")

    def __init__(self) -> None:
        self.opt_out = False
        self.cohorts: dict[int, int] = {}
        self.last: dict[str, int] = {}


def _whole(rate: float, rnd: Any) -> float:
    """A whole number of events with mean ``rate``: 2.0 is 2, 0.25 is 1 with probability 0.25."""
    whole = math.floor(rate)
    if rate != whole:
        return whole + (rnd.random() < rate - whole)
    return float(whole)


class ReferenceStrategy:
    """One switched-on strategy: targeting, hold-out, budget and staff; subclasses add the effect.

    Args:
        spec: The strategy as the scenario switches it on.
        index: Its position in the scenario's list (its key in ``MarketingRecord.cohorts``).
        model: The reference model.
    """

    name: ClassVar[str] = ""
    cost_kinds: ClassVar[tuple[str, ...]] = ()
    #: abandon_d sets the opt-out, so it must still reach opted-out customers.
    respects_opt_out: ClassVar[bool] = True

    def __init__(self, spec: StrategySpec, index: int, model: ReferenceModel) -> None:
        self.spec, self.index, self.model = spec, index, model
        # the plugin validates the parameters and fills in its defaults; its logic is not used
        self.params: dict[str, Any] = registry.build(spec.name, dict(spec.params)).get_params()
        t = spec.target
        if t.labels or t.where:
            raise NotImplementedError("the per-agent reference does not model target labels "
                                      f"or where expressions (strategy {spec.name!r})")

        def codes(chosen: Sequence[str] | None, names: Sequence[str]) -> set[int] | None:
            return None if chosen is None else {i for i, n in enumerate(names) if n in chosen}

        self.stages = codes(t.stages, model.stage_names)
        self.segments = codes(t.segments, SEGMENTS)
        self.tiers = codes(t.tiers, model.tier_names)
        self.channels = codes(t.channels, model.channel_names)
        self.holdout = spec.holdout
        self.monthly, self.total = spec.budget.monthly, spec.budget.total
        self.priority = PRIORITY_KEYS[spec.budget.priority]
        self.skip_when_short = spec.budget.when_short == "skip"
        self.spent_month = self.spent_total = 0.0
        self.cohort_sizes = [0, 0, 0]
        self.costs = dict.fromkeys(self.cost_kinds, 0.0)
        self.counts = dict.fromkeys(COUNTS, 0.0)
        self.setup()

    def setup(self) -> None:
        """Read the parameters into attributes (subclasses)."""

    def apply(self, targets: list[Customer]) -> None:
        """Treat this month's targets: the customers targeted, treated and not opted out."""
        raise NotImplementedError

    # ------------------------------------------------------------ the month
    def act(self, customers: list[Customer]) -> None:
        """Target the live customers, sort newcomers into treated or control, treat."""
        self.costs = dict.fromkeys(self.cost_kinds, 0.0)
        self.counts = dict.fromkeys(COUNTS, 0.0)
        self.spent_month = 0.0
        stages, segments, tiers, channels = self.stages, self.segments, self.tiers, self.channels
        opt_out, index, share = self.respects_opt_out, self.index, self.holdout
        rnd = self.model.random
        targets: list[Customer] = []
        targeted = 0
        for c in customers:
            if ((stages is not None and c.stage not in stages)
                    or (segments is not None and c.segment not in segments)
                    or (tiers is not None and c.tier not in tiers)
                    or (channels is not None and c.channel not in channels)):
                continue
            record = c.marketing
            if record is None:
                record = c.marketing = MarketingRecord()
            elif opt_out and record.opt_out:
                continue
            targeted += 1
            code = record.cohorts.get(index)
            if code is None:  # first targeted: hold-out membership is drawn once
                code = record.cohorts[index] = CONTROL if rnd.random() < share else TREATED
                self.cohort_sizes[code] += 1
            if code == TREATED:
                targets.append(c)
        self.counts.update(targeted=targeted, holdout=targeted - len(targets),
                           treated=len(targets))
        self.apply(targets)

    @property
    def cost_month_total(self) -> float:
        """CNY spent this month, all kinds."""
        return sum(self.costs.values())

    def metrics(self, uplift: list[list[float]]) -> dict[str, float]:
        """This month's costs, counts and cohort tallies.

        Args:
            uplift: Per cohort code (1 treated, 2 control): live members, their
                AUM, revenue and cost this month.
        """
        n = self.name
        out = {f"cost_strategy_{n}": self.cost_month_total}
        out.update({f"strategy_{n}_cost_{k}": v for k, v in self.costs.items()})
        out.update({f"strategy_{n}_{k}": v for k, v in self.counts.items()})
        for code, group in GROUPS:
            out[f"uplift_{n}_n_{group}"] = self.cohort_sizes[code]
            for q, value in zip(UPLIFT[1:], uplift[code], strict=True):
                out[f"uplift_{n}_{q}_{group}"] = value
        return out

    # ------------------------------------------------------ money and staff
    def remaining(self) -> float:
        """Budget left this month, CNY (``inf`` when unlimited)."""
        left = math.inf
        if self.monthly is not None:
            left = min(left, self.monthly - self.spent_month)
        if self.total is not None:
            left = min(left, self.total - self.spent_total)
        return max(left, 0.0)

    def _in_priority(self, wanted: list[Customer]) -> list[int]:
        """Positions in ``wanted``, sorted by the budget's priority (stable)."""
        key = self.priority
        if key is None:
            rnd = self.model.random
            draws = [rnd.random() for _ in wanted]
            return sorted(range(len(wanted)), key=draws.__getitem__)
        return sorted(range(len(wanted)), key=lambda i: key(wanted[i]))

    def _serve(self, wanted: list[Customer], amounts: list[float], left: float
               ) -> tuple[Sequence[int], float]:
        """Who fits in ``left``: everyone, or in priority order those who fit; and the amount used.

        In order, buying stops at the first who does not fit, or passes over them
        (the budget's ``when_short: skip``).
        """
        total = sum(amounts)
        if total <= left:
            return range(len(wanted)), total
        chosen: list[int] = []
        total = 0.0
        for i in self._in_priority(wanted):
            if total + amounts[i] > left + 1e-9:
                if self.skip_when_short:
                    continue
                break
            total += amounts[i]
            chosen.append(i)
        return chosen, total

    def fund(self, kind: str, wanted: list[Customer], costs: list[float] | float
             ) -> Sequence[int]:
        """Pay for the wanted customers the budget allows; return their positions in ``wanted``."""
        if not isinstance(costs, list):
            costs = [float(costs)] * len(wanted)
        chosen, spent = self._serve(wanted, costs, self.remaining())
        if spent > 0:
            self.costs[kind] += spent
            self.spent_month += spent
            self.spent_total += spent
        self.counts["funded"] += len(chosen)
        return chosen

    def staff(self, wanted: list[Customer], minutes: list[float], contacts: list[float]
              ) -> Sequence[int]:
        """Give wanted customers RM time while the month's minutes last; return their positions."""
        model = self.model
        self.counts["contacts_requested"] += sum(contacts)
        chosen, used = self._serve(wanted, minutes, model.staff_minutes_left)
        model.staff_minutes_left -= used
        self.counts["contacts_delivered"] += sum(contacts[i] for i in chosen)
        return chosen

    def deliver_contacts(self, kind: str, due: list[Customer], counts: list[float],
                         cost_each: float, rm_minutes: float | None) -> list[Customer]:
        """Deliver ``counts[i]`` contacts to ``due[i]`` through one channel; return who got them.

        Calls and visits (``rm_minutes`` given) are staffed first, then paid;
        a staffed contact the budget cannot pay is taken back out of the
        delivered count. Delivered contacts add to the customer's ``contacts``.
        """
        if rm_minutes is None:
            reached, reached_counts = due, counts
        else:
            kept = self.staff(due, [rm_minutes * n for n in counts], counts)
            reached, reached_counts = [due[i] for i in kept], [counts[i] for i in kept]
        paid = self.fund(kind, reached, [cost_each * n for n in reached_counts])
        out, delivered = [], 0.0
        for i in paid:
            c, n = reached[i], reached_counts[i]
            c.contacts += n
            delivered += n
            out.append(c)
        if rm_minutes is None:
            self.counts["contacts_requested"] += sum(counts)
            self.counts["contacts_delivered"] += delivered
        else:
            self.counts["contacts_delivered"] -= sum(reached_counts) - delivered
        return out


class AbandonD(ReferenceStrategy):
    """Opt targets out of marketing; move some branch users online or to self-service."""

    name = "abandon_d"
    cost_kinds = ("migration",)
    respects_opt_out = False

    def setup(self) -> None:
        p, names = self.params, self.model.channel_names
        self.rate, self.cost = p["migration_rate"], p["migration_cost"]
        self.penalty, self.online_threshold = p["satisfaction_penalty"], p["online_threshold"]
        self.branch, self.online, self.self_service = (
            names.index(c) if c in names else -1 for c in ("branch", "online", "self_service"))
        self.opted_out: set[Customer] = set()

    def apply(self, targets: list[Customer]) -> None:
        for c in self.opted_out.difference(targets):  # no longer targeted: opted back in
            c.marketing.opt_out = False
        for c in targets:
            c.marketing.opt_out = True
        self.opted_out = set(targets)
        if self.branch < 0:
            return
        rnd = self.model.random
        wanted, destination = [], []
        for c in targets:
            if c.channel != self.branch:
                continue
            to = self.online if c.digital_adoption >= self.online_threshold else self.self_service
            if to >= 0 and rnd.random() < self.rate:
                wanted.append(c)
                destination.append(to)
        for i in self.fund("migration", wanted, self.cost):
            c = wanted[i]
            c.channel = destination[i]
            c.satisfaction_base = max(c.satisfaction_base - self.penalty, 0.0)


class CrossSell(ReferenceStrategy):
    """One product offer a month below ``max_products``; acceptance rises with satisfaction."""

    name = "cross_sell"
    cost_kinds = (*CHANNELS, "onboarding")

    def setup(self) -> None:
        p = self.params
        channel = self.channel = p["offer_channel"]
        self.max_products = p["max_products"]
        self.offer_cost = {**DEFAULT_COST_PER_CONTACT, **p["offer_cost"]}[channel]
        self.rm_minutes = {**DEFAULT_RM_MINUTES, **p["rm_minutes_per_offer"]}.get(channel)
        self.acceptance = {**DEFAULT_ACCEPTANCE, **p["acceptance"]}[channel]
        self.effect, self.reference = p["satisfaction_effect"], p["satisfaction_reference"]
        self.onboarding_cost = p["onboarding_cost"]

    def apply(self, targets: list[Customer]) -> None:
        eligible = [c for c in targets if c.products < self.max_products]
        offered = self.deliver_contacts(self.channel, eligible, [1.0] * len(eligible),
                                        self.offer_cost, self.rm_minutes)
        rnd, base = self.model.random, self.acceptance
        accepts = []
        for c in offered:
            odds = base * math.exp(self.effect * (c.satisfaction - self.reference))
            if rnd.random() < odds / (odds + 1.0 - base):
                accepts.append(c)
        for i in self.fund("onboarding", accepts, self.onboarding_cost):
            accepts[i].products += 1


class Voucher(ReferenceStrategy):
    """Threshold vouchers: redeemers move ``threshold`` CNY in from other banks."""

    name = "voucher"
    cost_kinds = ("voucher",)

    def setup(self) -> None:
        p = self.params
        self.threshold, self.face_value = p["threshold"], p["face_value"]
        self.cooldown, self.bump = p["cooldown_months"], p["satisfaction_bump"]
        value = self.face_value / self.threshold / REFERENCE_VALUE  # the plugin's equation
        self.scale = p["base_redemption"] * value ** p["value_elasticity"]
        self.key = f"{self.name}/last_redeemed"

    def apply(self, targets: list[Customer]) -> None:
        model = self.model
        month, rnd, key = model.month, model.random, self.key
        redeem = [c for c in targets
                  if c.total_wealth - c.aum >= self.threshold
                  and month - c.marketing.last.get(key, NEVER) >= self.cooldown
                  and rnd.random() < min(self.scale * c.price_sensitivity, 1.0)]
        for i in self.fund("voucher", redeem, self.face_value):
            c = redeem[i]
            moved = self.threshold / c.total_wealth
            c.share_of_wallet = min(c.share_of_wallet + moved, 1.0)
            stage_share = max(model.wallet_share[c.stage], 0.1)
            c.wallet_propensity = min(c.wallet_propensity + moved / stage_share, 1.0)
            c.aum = c.total_wealth * c.share_of_wallet
            c.satisfaction_base = min(c.satisfaction_base + self.bump, 1.0)
            c.marketing.last[key] = month


class PricingSubsidy(ReferenceStrategy):
    """A yield bump this month, paid as the extra interest on the customer's AUM."""

    name = "pricing_subsidy"
    cost_kinds = ("subsidy_interest",)

    def setup(self) -> None:
        self.bump_bp = self.params["bump_bp"]
        self.rate = self.bump_bp / 10_000.0 / 12.0

    def apply(self, targets: list[Customer]) -> None:
        costs = [c.aum * self.rate for c in targets]
        for i in self.fund("subsidy_interest", targets, costs):
            targets[i].yield_bump_bp += self.bump_bp


class Outreach(ReferenceStrategy):
    """Contacts a month by channel (segment and tier overrides), RM hours, fatigue."""

    name = "outreach"
    cost_kinds = CHANNELS

    def setup(self) -> None:
        p = self.params
        self.base = {ch: float(p["contacts_per_month"].get(ch, 0.0)) for ch in CHANNELS}
        self.by_segment = {SEGMENTS.index(s): plan for s, plan in (p["by_segment"] or {}).items()}
        tiers = self.model.tier_names
        self.by_tier = {tiers.index(t): plan for t, plan in (p["by_tier"] or {}).items()}
        self.cost = {**DEFAULT_COST_PER_CONTACT, **p["cost_per_contact"]}
        self.minutes = {**DEFAULT_RM_MINUTES, **p["rm_minutes_per_contact"]}
        self.fatigue_threshold, self.fatigue_penalty = (p["fatigue_threshold"],
                                                        p["fatigue_penalty"])

    def rate(self, c: Customer, channel: str) -> float:
        """The customer's contacts a month through ``channel`` (a tier override wins)."""
        rate = self.base[channel]
        for plan in (self.by_segment.get(c.segment), self.by_tier.get(c.tier)):
            if plan is not None and channel in plan:
                rate = float(plan[channel])
        return rate

    def apply(self, targets: list[Customer]) -> None:
        rnd = self.model.random
        before = [c.contacts for c in targets]
        for channel in CHANNELS:
            due, counts = [], []
            for c in targets:
                n = _whole(self.rate(c, channel), rnd)
                if n > 0:
                    due.append(c)
                    counts.append(n)
            if due:
                self.deliver_contacts(channel, due, counts, self.cost[channel],
                                      self.minutes.get(channel))
        threshold, penalty = self.fatigue_threshold, self.fatigue_penalty
        if penalty > 0:
            for c, old in zip(targets, before, strict=True):
                extra = max(c.contacts - threshold, 0.0) - max(old - threshold, 0.0)
                if extra:
                    c.satisfaction = min(max(c.satisfaction - penalty * extra, 0.0), 1.0)


class DeclineResponse(ReferenceStrategy):
    """Rescue, respond, improve or abandon a declining customer, by its segment."""

    name = "decline_response"
    cost_kinds = ("rescue_visit", "yield_bump", "respond_call", "improve_fix")

    def setup(self) -> None:
        p = self.params
        names = self.model.stage_names
        self.decline = names.index("decline") if "decline" in names else -1
        self.response = {SEGMENTS.index(s): r for s, r in p["response_by_segment"].items()}
        self.rescue_rm_minutes, self.rescue_cost = p["rescue_rm_minutes"], p["rescue_cost"]
        self.rescue_yield_bump_bp, self.rescue_months = (p["rescue_yield_bump_bp"],
                                                         p["rescue_months"])
        self.rescue_satisfaction_boost = p["rescue_satisfaction_boost"]
        self.respond_rm_minutes, self.respond_cost = p["respond_rm_minutes"], p["respond_cost"]
        self.improve_cost = p["improve_cost"]
        self.improve_satisfaction_bump = p["improve_satisfaction_bump"]
        self.cooldown_months = p["cooldown_months"]
        self.last_rescue, self.last_fix = f"{self.name}/last_rescue", f"{self.name}/last_fix"

    def apply(self, targets: list[Customer]) -> None:
        if self.decline < 0:
            return
        groups: dict[str, list[Customer]] = {"rescue": [], "respond": [], "improve": []}
        for c in targets:
            if c.stage == self.decline:
                group = groups.get(self.response.get(c.segment, "abandon"))
                if group is not None:
                    group.append(c)
        self._rescue(groups["rescue"])
        calls = groups["respond"]
        self.deliver_contacts("respond_call", calls, [1.0] * len(calls), self.respond_cost,
                              self.respond_rm_minutes)
        self._improve(groups["improve"])

    def _rescue(self, rows: list[Customer]) -> None:
        month, key = self.model.month, self.last_rescue
        running = [c for c in rows if month - c.marketing.last.get(key, NEVER) < self.rescue_months]
        self._bump_yield(running)  # promises come first
        due = [c for c in rows if month - c.marketing.last.get(key, NEVER) >= self.cooldown_months]
        visited = self.deliver_contacts("rescue_visit", due, [1.0] * len(due),
                                        self.rescue_cost, self.rescue_rm_minutes)
        for c in visited:
            c.marketing.last[key] = month
            c.satisfaction = min(c.satisfaction + self.rescue_satisfaction_boost, 1.0)
        if self.rescue_months > 0:
            bumped = set(running)
            self._bump_yield([c for c in visited if c not in bumped])

    def _bump_yield(self, rows: list[Customer]) -> None:
        if self.rescue_yield_bump_bp > 0 and rows:
            rate = self.rescue_yield_bump_bp / 10_000.0 / 12.0
            for i in self.fund("yield_bump", rows, [c.aum * rate for c in rows]):
                rows[i].yield_bump_bp += self.rescue_yield_bump_bp

    def _improve(self, rows: list[Customer]) -> None:
        month, key = self.model.month, self.last_fix
        due = [c for c in rows if month - c.marketing.last.get(key, NEVER) >= self.cooldown_months]
        for i in self.fund("improve_fix", due, self.improve_cost):
            c = due[i]
            c.marketing.last[key] = month
            c.satisfaction_base = min(c.satisfaction_base + self.improve_satisfaction_bump, 1.0)


class TieredService(ReferenceStrategy):
    """DOMAIN §3 standards per AUM tier: RM contacts, SMS, salons, gifts, president visits."""

    name = "tiered_service"
    cost_kinds = ("contact", "sms", "salon", "gift", "president_visit")

    def setup(self) -> None:
        p, tiers = self.params, self.model.tier_names

        def by_tier(values: dict[str, float]) -> dict[int, float]:
            return {tiers.index(t): float(v) for t, v in values.items()}

        self.contacts, self.sms = by_tier(p["contacts_per_month"]), by_tier(p["sms_per_month"])
        self.events = [  # (cost kind, monthly chance by tier, cost), in the engine's order
            ("salon", by_tier(p["salons_per_year"]), p["salon_cost"]),
            ("president_visit", by_tier(p["president_visits_per_year"]),
             p["president_visit_cost"]),
            ("gift", by_tier(p["gifts_per_year"]), p["gift_cost"]),
        ]
        self.contact_rm_minutes, self.contact_cost = p["contact_rm_minutes"], p["contact_cost"]
        self.sms_cost = p["sms_cost"]
        self.salon_satisfaction_bump = p["salon_satisfaction_bump"]
        self.gift_satisfaction_bump = p["gift_satisfaction_bump"]
        self.president_visit_satisfaction_bump = p["president_visit_satisfaction_bump"]

    def _due(self, targets: list[Customer], per_tier: dict[int, float]
             ) -> tuple[list[Customer], list[float]]:
        rnd = self.model.random
        due, counts = [], []
        for c in targets:
            n = _whole(per_tier.get(c.tier, 0.0), rnd)
            if n > 0:
                due.append(c)
                counts.append(n)
        return due, counts

    def apply(self, targets: list[Customer]) -> None:
        self.deliver_contacts("contact", *self._due(targets, self.contacts), self.contact_cost,
                              self.contact_rm_minutes)
        self.deliver_contacts("sms", *self._due(targets, self.sms), self.sms_cost, None)
        rnd = self.model.random
        met = []
        for kind, per_year, cost in self.events:
            happens = []
            for c in targets:
                chance = per_year.get(c.tier, 0.0) / 12.0
                if chance > 0.0 and rnd.random() < chance:
                    happens.append(c)
            met.append([happens[i] for i in self.fund(kind, happens, cost)])
        salon, visit, gift = met
        for group, bump in ((salon, self.salon_satisfaction_bump),
                            (visit, self.president_visit_satisfaction_bump)):
            self.counts["contacts_requested"] += len(group)  # an event attended is a contact
            self.counts["contacts_delivered"] += len(group)
            for c in group:
                c.contacts += 1.0
                c.satisfaction_base = min(c.satisfaction_base + bump, 1.0)
        for c in gift:
            c.satisfaction = min(c.satisfaction + self.gift_satisfaction_bump, 1.0)


#: Strategy name -> per-agent implementation.
REFERENCE_STRATEGIES: dict[str, type[ReferenceStrategy]] = {
    cls.name: cls for cls in (AbandonD, CrossSell, Voucher, PricingSubsidy, Outreach,
                              DeclineResponse, TieredService)
}


def build_strategies(scenario: Scenario, model: ReferenceModel) -> list[ReferenceStrategy]:
    """The scenario's strategies as per-agent objects, in the scenario's order.

    Raises:
        NotImplementedError: For a strategy the reference does not model.
    """
    out = []
    for index, spec in enumerate(scenario.strategies):
        cls = REFERENCE_STRATEGIES.get(spec.name)
        if cls is None:
            raise NotImplementedError(
                f"the per-agent reference does not model strategy {spec.name!r}; it models "
                f"{sorted(REFERENCE_STRATEGIES)}")
        out.append(cls(spec, index, model))
    return out
