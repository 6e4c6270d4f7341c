"""The playbook's seven strategies on mesa-frames: polars operations over the customers' frame.

Part of the mesa-frames model (:mod:`frames_reference`, which runs in its own
virtual environment and imports nothing from ``sim``): each class is the
plugin of the same name in ``strategies/`` written with polars, as
:mod:`benchmarks.reference_strategies` writes it per agent. The parameters'
defaults are restated in :mod:`frames_scenario`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import polars as pl
from frames_scenario import COST_KINDS, STRATEGY_DEFAULTS, VOUCHER_REFERENCE_VALUE

if TYPE_CHECKING:
    from frames_reference import FramesModel

__all__ = ["FRAMES_STRATEGIES", "NEVER", "UPLIFT", "FramesStrategy", "build_strategies"]

SEGMENTS = ("A", "B", "C", "D")


#: Contact channels in the order outreach serves them (strategies/_common.py).
CHANNELS = ("phone", "sms", "push", "visit")
COUNTS = ("targeted", "holdout", "treated", "funded", "contacts_requested", "contacts_delivered")
UPLIFT = ("active", "aum", "revenue", "cost")
TREATED, CONTROL = 1, 2
GROUPS = ((TREATED, "treated"), (CONTROL, "control"))
NEVER = -10_000  # "the month it last happened" before it ever did


def _update(frame: pl.DataFrame, mask: pl.Series, **values: pl.Expr | pl.Series | float
            ) -> pl.DataFrame:
    """Set columns to ``values`` on the rows of ``mask`` (one ``with_columns``; dtypes kept)."""
    schema = frame.schema
    return frame.with_columns(_mask=mask).with_columns(**{
        name: pl.when(pl.col("_mask")).then(value).otherwise(pl.col(name)).cast(schema[name])
        for name, value in values.items()})


class FramesStrategy:
    """One switched-on strategy: targeting, hold-out, budget and RM minutes as polars operations.

    Subclasses add the effect (:meth:`apply`), with the equations and
    parameters of the plugin of the same name in ``strategies/`` (the
    parameters' defaults are restated in ``frames_scenario.STRATEGY_DEFAULTS``).
    Masks are boolean polars Series over the frame's rows.

    Args:
        spec: The strategy from :func:`frames_scenario.read_scenario` (params,
            target, budget with its priority, holdout; budgets already scaled).
        index: Its position in the scenario's list (its cohort column).
        model: The model.
    """

    name: ClassVar[str] = ""
    #: abandon_d sets the opt-out, so it must still reach opted-out customers.
    respects_opt_out: ClassVar[bool] = True
    #: Per-customer memory columns of the strategy ("the month it last ..."), short names.
    remembers: ClassVar[tuple[str, ...]] = ()

    def __init__(self, spec: dict[str, Any], index: int, model: FramesModel) -> None:
        self.spec, self.index, self.model = spec, index, model
        self.params: dict[str, Any] = spec["params"]
        self.cost_kinds = COST_KINDS[self.name]
        target = spec["target"]
        self.target = [
            (column, [i for i, n in enumerate(names) if n in target[key]])
            for column, key, names in (("stage", "stages", model.stage_names),
                                       ("segment", "segments", SEGMENTS),
                                       ("tier", "tiers", model.tier_names),
                                       ("channel", "channels", model.channel_names))
            if target.get(key) is not None]
        self.cohort = f"cohort_{index}"
        self.memory = {short: f"{self.name}__{short}" for short in self.remembers}
        self.holdout = spec["holdout"]
        budget = spec["budget"]
        self.monthly, self.total = budget["monthly"], budget["total"]
        self.priority = budget["priority"]
        self.skip_when_short = budget["when_short"] == "skip"
        self.spent_month = self.spent_total = 0.0
        self.cohort_sizes = [0, 0, 0]
        self.costs = dict.fromkeys(self.cost_kinds, 0.0)
        self.counts = dict.fromkeys(COUNTS, 0.0)
        self.setup()

    def setup(self) -> None:
        """Read the parameters into attributes (subclasses)."""

    def apply(self, frame: pl.DataFrame, treated: pl.Series) -> pl.DataFrame:
        """Treat this month's targets (``treated``); return the changed frame."""
        raise NotImplementedError

    # ------------------------------------------------------------ the month
    def act(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Target the customers, sort newcomers into treated or control, treat."""
        self.costs = dict.fromkeys(self.cost_kinds, 0.0)
        self.counts = dict.fromkeys(COUNTS, 0.0)
        self.spent_month = 0.0
        col = pl.col
        conditions = [col("_customer")]
        conditions += [col(column).cast(pl.Int32).is_in(codes) for column, codes in self.target]
        if self.respects_opt_out:
            conditions.append(~col("opt_out"))
        targeted = frame.select(pl.all_horizontal(conditions)).to_series()
        cohort = frame[self.cohort]
        new = targeted & (cohort == 0)  # first targeted: hold-out membership is drawn once
        n_new = int(new.sum())
        if n_new:
            control = new & (self.model.uniform(new) < self.holdout)
            n_control = int(control.sum())
            self.cohort_sizes[CONTROL] += n_control
            self.cohort_sizes[TREATED] += n_new - n_control
            frame = _update(frame, new, **{self.cohort: pl.when(control).then(CONTROL)
                                           .otherwise(TREATED)})
            cohort = frame[self.cohort]
        treated = targeted & (cohort == TREATED)
        n_targeted, n_treated = int(targeted.sum()), int(treated.sum())
        self.counts.update(targeted=n_targeted, holdout=n_targeted - n_treated,
                           treated=n_treated)
        return self.apply(frame, treated)

    def metrics(self, uplift: dict[tuple[int, str], float]) -> dict[str, float]:
        """This month's costs, counts and cohort tallies, under clmsim's metric names."""
        n = self.name
        out = {f"cost_strategy_{n}": self.cost_month_total}
        out.update({f"strategy_{n}_cost_{k}": v for k, v in self.costs.items()})
        out.update({f"strategy_{n}_{k}": v for k, v in self.counts.items()})
        for code, group in GROUPS:
            out[f"uplift_{n}_n_{group}"] = self.cohort_sizes[code]
            for q in UPLIFT:
                out[f"uplift_{n}_{q}_{group}"] = uplift.get((code, q), 0.0)
        return out

    @property
    def cost_month_total(self) -> float:
        """CNY spent this month, all kinds."""
        return sum(self.costs.values())

    # ------------------------------------------------------ money and staff
    def remaining(self) -> float:
        """Budget left this month, CNY (``inf`` when unlimited)."""
        left = math.inf
        if self.monthly is not None:
            left = min(left, self.monthly - self.spent_month)
        if self.total is not None:
            left = min(left, self.total - self.spent_total)
        return max(left, 0.0)

    def _serve(self, frame: pl.DataFrame, wanted: pl.Series, amount: pl.Expr | pl.Series,
               left: float) -> tuple[pl.Series, float]:
        """Who fits in ``left``: all the wanted rows, or those who fit in the priority order.

        The wanted rows are filtered out with their row number, amount and
        priority key; if their amounts do not fit, they are sorted by the key
        (stable: ties keep row order) and the prefix whose cumulative sum fits
        is kept (with ``when_short: skip``, each row that still fits). Returns
        the mask of rows served and the amount they use.
        """
        if not wanted.any():
            return wanted, 0.0
        rows = frame.select(_row=pl.int_range(pl.len(), dtype=pl.UInt32),
                            _amount=pl.lit(amount) if isinstance(amount, pl.Series) else amount,
                            _aum="aum", _satisfaction="satisfaction").filter(wanted)
        total = float(rows["_amount"].sum())
        if total <= left:
            return wanted, total
        key = {"highest_value": -pl.col("_aum"), "lowest_value": pl.col("_aum"),
               "least_satisfied": pl.col("_satisfaction"),
               "random": pl.lit(pl.Series(self.model.random.random(len(rows))))}[self.priority]
        ranked = rows.with_columns(_key=key).sort("_key", maintain_order=True)
        if self.skip_when_short:  # greedy: pass over whoever does not fit (a sequential scan)
            fits, spent = [], 0.0
            for value in ranked["_amount"].to_list():
                fits.append(spent + value <= left + 1e-9)
                spent += value if fits[-1] else 0.0
            chosen = ranked.filter(pl.Series(fits))
        else:
            chosen = ranked.filter(pl.col("_amount").cum_sum() <= left + 1e-9)
        served = pl.zeros(len(frame), pl.Boolean, eager=True).scatter(chosen["_row"], True)
        return served, float(chosen["_amount"].sum())

    def fund(self, frame: pl.DataFrame, kind: str, wanted: pl.Series,
             cost: pl.Expr | pl.Series | float) -> pl.Series:
        """Pay for the wanted rows the budget allows (priority order); return the paid mask."""
        amount = pl.lit(float(cost)) if isinstance(cost, int | float) else cost
        paid, spent = self._serve(frame, wanted, amount, self.remaining())
        if spent > 0:
            self.costs[kind] += spent
            self.spent_month += spent
            self.spent_total += spent
        self.counts["funded"] += int(paid.sum())
        return paid

    def staff(self, frame: pl.DataFrame, wanted: pl.Series, minutes: pl.Series,
              contacts: pl.Series) -> pl.Series:
        """Give wanted rows RM time while the month's minutes last; return the staffed mask."""
        model = self.model
        self.counts["contacts_requested"] += float(contacts.filter(wanted).sum())
        staffed, used = self._serve(frame, wanted, minutes, model.staff_minutes_left)
        model.staff_minutes_left -= used
        self.counts["contacts_delivered"] += float(contacts.filter(staffed).sum())
        return staffed

    def deliver_contacts(self, frame: pl.DataFrame, kind: str, counts: pl.Series,
                         cost_each: float, rm_minutes: float | None
                         ) -> tuple[pl.DataFrame, pl.Series]:
        """Deliver ``counts`` contacts per row through one channel (strategies/_common.py).

        Calls and visits (``rm_minutes`` given) are staffed first, then paid;
        a staffed contact the budget cannot pay is taken back out of the
        delivered count. Delivered contacts add to ``contacts``. Returns the
        frame and the mask of rows reached.
        """
        wanted = counts > 0
        if rm_minutes is None:
            reached = wanted
        else:
            reached = self.staff(frame, wanted, counts * rm_minutes, counts)
        paid = self.fund(frame, kind, reached, counts * cost_each)
        if rm_minutes is None:
            self.counts["contacts_requested"] += float(counts.filter(wanted).sum())
            self.counts["contacts_delivered"] += float(counts.filter(paid).sum())
        else:
            self.counts["contacts_delivered"] -= float(counts.filter(reached & ~paid).sum())
        if paid.any():
            frame = frame.with_columns(contacts=pl.col("contacts") + counts * paid)
        return frame, paid

    def whole(self, rate: pl.Series) -> pl.Series:
        """Whole numbers of events with mean ``rate``: 2.0 is 2, 0.25 is 1 with probability 0.25."""
        whole = rate.floor()
        fraction = rate - whole
        fractional = fraction > 0
        if fractional.any():
            return whole + (self.model.uniform(fractional) < fraction).cast(pl.Float64)
        return whole

    def by_tier(self, frame: pl.DataFrame, values: dict[str, float]) -> pl.Series:
        """Each row's value of ``values`` for its AUM tier (0 for other tiers and non-customers)."""
        lut = [0.0] * (len(self.model.tier_names) + 1)  # the last slot: no tier (-1)
        for tier, value in values.items():
            lut[self.model.tier_names.index(tier)] = float(value)
        tier = pl.col("tier").cast(pl.Int32)
        return frame.select(pl.lit(pl.Series(lut)).gather(
            pl.when(tier < 0).then(len(lut) - 1).otherwise(tier))).to_series()


class AbandonD(FramesStrategy):
    """Opt targets out of marketing; move some branch users online or to self-service."""

    name = "abandon_d"
    respects_opt_out = False

    def setup(self) -> None:
        p, names = self.params, self.model.channel_names
        self.rate, self.cost = p["migration_rate"], p["migration_cost"]
        self.penalty, self.online_threshold = p["satisfaction_penalty"], p["online_threshold"]
        self.branch, self.online, self.self_service = (
            names.index(c) if c in names else -1 for c in ("branch", "online", "self_service"))

    def apply(self, frame: pl.DataFrame, treated: pl.Series) -> pl.DataFrame:
        # only this strategy sets the opt-out: it is this month's treated, the rest opted back in
        frame = frame.with_columns(opt_out=treated)
        if self.branch < 0:
            return frame
        col = pl.col
        destination = frame.select(pl.when(col("digital_adoption") >= self.online_threshold)
                                   .then(self.online).otherwise(self.self_service)
                                   .cast(pl.Int8)).to_series()
        movable = treated & (frame["channel"] == self.branch) & (destination >= 0)
        wanted = movable & (self.model.uniform(movable) < self.rate)
        moved = self.fund(frame, "migration", wanted, self.cost)
        return _update(frame, moved, channel=destination, satisfaction_base=(
            col("satisfaction_base") - self.penalty).clip(lower_bound=0.0))


class CrossSell(FramesStrategy):
    """One product offer a month below ``max_products``; acceptance rises with satisfaction."""

    name = "cross_sell"

    def setup(self) -> None:
        p, defaults = self.params, STRATEGY_DEFAULTS[self.name]
        channel = self.channel = p["offer_channel"]
        self.max_products = p["max_products"]
        self.offer_cost = {**defaults["offer_cost"], **p["offer_cost"]}[channel]
        self.rm_minutes = {**defaults["rm_minutes_per_offer"],
                           **p["rm_minutes_per_offer"]}.get(channel)
        self.acceptance = {**defaults["acceptance"], **p["acceptance"]}[channel]
        self.effect, self.reference = p["satisfaction_effect"], p["satisfaction_reference"]
        self.onboarding_cost = p["onboarding_cost"]

    def apply(self, frame: pl.DataFrame, treated: pl.Series) -> pl.DataFrame:
        eligible = treated & (frame["products"] < self.max_products)
        frame, offered = self.deliver_contacts(frame, self.channel, eligible.cast(pl.Float64),
                                               self.offer_cost, self.rm_minutes)
        base = self.acceptance
        odds = (self.effect * (pl.col("satisfaction") - self.reference)).exp() * base
        chance = frame.select(odds / (odds + 1.0 - base)).to_series()
        accepts = offered & (self.model.uniform(offered) < chance)
        onboarded = self.fund(frame, "onboarding", accepts, self.onboarding_cost)
        return _update(frame, onboarded, products=pl.col("products") + 1)


class Voucher(FramesStrategy):
    """Threshold vouchers: redeemers move ``threshold`` CNY in from other banks."""

    name = "voucher"
    remembers = ("last_redeemed",)

    def setup(self) -> None:
        p = self.params
        self.threshold, self.face_value = p["threshold"], p["face_value"]
        self.cooldown, self.bump = p["cooldown_months"], p["satisfaction_bump"]
        # the plugin's value effect: DOMAIN's 500 per 100,000 is where base_redemption holds
        value = self.face_value / self.threshold / VOUCHER_REFERENCE_VALUE
        self.scale = p["base_redemption"] * value ** p["value_elasticity"]

    def apply(self, frame: pl.DataFrame, treated: pl.Series) -> pl.DataFrame:
        col, last = pl.col, self.memory["last_redeemed"]
        month = self.model.month
        eligible = treated & frame.select(
            ((col("total_wealth") - col("aum")) >= self.threshold)
            & ((month - col(last).cast(pl.Int32)) >= self.cooldown)).to_series()
        chance = (self.scale * frame["price_sensitivity"]).clip(upper_bound=1.0)
        redeem = eligible & (self.model.uniform(eligible) < chance)
        paid = self.fund(frame, "voucher", redeem, self.face_value)
        moved = self.threshold / col("total_wealth")
        share = (col("share_of_wallet") + moved).clip(upper_bound=1.0)
        stage_share = pl.lit(pl.Series(np.maximum(self.model.wallet_share, 0.1))).gather(
            col("stage"))
        return _update(
            frame, paid, share_of_wallet=share,
            wallet_propensity=(col("wallet_propensity") + moved / stage_share)
            .clip(upper_bound=1.0),
            aum=col("total_wealth") * share,
            satisfaction_base=(col("satisfaction_base") + self.bump).clip(upper_bound=1.0),
            **{last: month})


class PricingSubsidy(FramesStrategy):
    """A yield bump this month, paid as the extra interest on the customer's AUM."""

    name = "pricing_subsidy"

    def setup(self) -> None:
        self.bump_bp = self.params["bump_bp"]
        self.rate = self.bump_bp / 10_000.0 / 12.0

    def apply(self, frame: pl.DataFrame, treated: pl.Series) -> pl.DataFrame:
        funded = self.fund(frame, "subsidy_interest", treated, pl.col("aum") * self.rate)
        return _update(frame, funded, yield_bump_bp=pl.col("yield_bump_bp") + self.bump_bp)


class Outreach(FramesStrategy):
    """Contacts a month by channel (segment and tier overrides), RM minutes, fatigue."""

    name = "outreach"

    def setup(self) -> None:
        p, defaults = self.params, STRATEGY_DEFAULTS[self.name]
        tiers = self.model.tier_names
        self.rates: dict[str, pl.Expr] = {}
        for channel in CHANNELS:
            rate: pl.Expr = pl.lit(float(p["contacts_per_month"].get(channel, 0.0)))
            for column, overrides, code in (("segment", p["by_segment"], SEGMENTS.index),
                                            ("tier", p["by_tier"], tiers.index)):
                for key, plan in (overrides or {}).items():
                    if channel in plan:  # a tier override, applied last, wins
                        rate = pl.when(pl.col(column) == code(key)).then(
                            float(plan[channel])).otherwise(rate)
            self.rates[channel] = rate
        self.cost = {**defaults["cost_per_contact"], **p["cost_per_contact"]}
        self.minutes = {**defaults["rm_minutes_per_contact"], **p["rm_minutes_per_contact"]}
        self.fatigue_threshold = p["fatigue_threshold"]
        self.fatigue_penalty = p["fatigue_penalty"]

    def apply(self, frame: pl.DataFrame, treated: pl.Series) -> pl.DataFrame:
        before = frame["contacts"]
        rates = frame.select(**self.rates)
        for channel in CHANNELS:
            counts = self.whole(rates[channel] * treated)
            if (counts > 0).any():
                frame, _ = self.deliver_contacts(frame, channel, counts, self.cost[channel],
                                                 self.minutes.get(channel))
        threshold, penalty = self.fatigue_threshold, self.fatigue_penalty
        if penalty > 0:
            extra = ((frame["contacts"] - threshold).clip(lower_bound=0.0)
                     - (before - threshold).clip(lower_bound=0.0))
            if (extra != 0).any():
                frame = frame.with_columns(satisfaction=(
                    pl.col("satisfaction") - penalty * extra).clip(0.0, 1.0))
        return frame


class DeclineResponse(FramesStrategy):
    """Rescue, respond, improve or abandon a declining customer, by its segment."""

    name = "decline_response"
    remembers = ("last_rescue", "last_fix")

    def setup(self) -> None:
        p = self.params
        names = self.model.stage_names
        self.decline = names.index("decline") if "decline" in names else -1
        responses = ("rescue", "respond", "improve", "abandon")
        lut = ["abandon"] * (len(SEGMENTS) + 1)  # the last slot: no segment (-1)
        for segment, response in p["response_by_segment"].items():
            lut[SEGMENTS.index(segment)] = response
        self.response_of = pl.lit(pl.Series([responses.index(r) for r in lut])).gather(
            pl.when(pl.col("segment") < 0).then(len(SEGMENTS))
            .otherwise(pl.col("segment").cast(pl.Int32)))
        self.codes = {r: i for i, r in enumerate(responses)}
        for key in ("rescue_rm_minutes", "rescue_cost", "rescue_yield_bump_bp", "rescue_months",
                    "rescue_satisfaction_boost", "respond_rm_minutes", "respond_cost",
                    "improve_cost", "improve_satisfaction_bump", "cooldown_months"):
            setattr(self, key, p[key])

    def apply(self, frame: pl.DataFrame, treated: pl.Series) -> pl.DataFrame:
        if self.decline < 0:
            return frame
        declining = treated & (frame["stage"] == self.decline)
        response = frame.select(self.response_of).to_series()
        frame = self._rescue(frame, declining & (response == self.codes["rescue"]))
        calls = (declining & (response == self.codes["respond"])).cast(pl.Float64)
        frame, _ = self.deliver_contacts(frame, "respond_call", calls, self.respond_cost,
                                         self.respond_rm_minutes)
        return self._improve(frame, declining & (response == self.codes["improve"]))

    def _since(self, frame: pl.DataFrame, short: str) -> pl.Series:
        return self.model.month - frame[self.memory[short]].cast(pl.Int32)

    def _rescue(self, frame: pl.DataFrame, rows: pl.Series) -> pl.DataFrame:
        since = self._since(frame, "last_rescue")
        running = rows & (since < self.rescue_months)  # promises come first
        frame = self._bump_yield(frame, running)
        due = rows & (since >= self.cooldown_months)
        frame, visited = self.deliver_contacts(frame, "rescue_visit", due.cast(pl.Float64),
                                               self.rescue_cost, self.rescue_rm_minutes)
        frame = _update(frame, visited, **{self.memory["last_rescue"]: self.model.month},
                        satisfaction=(pl.col("satisfaction") + self.rescue_satisfaction_boost)
                        .clip(upper_bound=1.0))
        if self.rescue_months > 0:
            frame = self._bump_yield(frame, visited & ~running)
        return frame

    def _bump_yield(self, frame: pl.DataFrame, rows: pl.Series) -> pl.DataFrame:
        if self.rescue_yield_bump_bp > 0 and rows.any():
            rate = self.rescue_yield_bump_bp / 10_000.0 / 12.0
            paid = self.fund(frame, "yield_bump", rows, pl.col("aum") * rate)
            frame = _update(frame, paid, yield_bump_bp=pl.col("yield_bump_bp")
                            + self.rescue_yield_bump_bp)
        return frame

    def _improve(self, frame: pl.DataFrame, rows: pl.Series) -> pl.DataFrame:
        due = rows & (self._since(frame, "last_fix") >= self.cooldown_months)
        fixed = self.fund(frame, "improve_fix", due, self.improve_cost)
        return _update(frame, fixed, **{self.memory["last_fix"]: self.model.month},
                       satisfaction_base=(pl.col("satisfaction_base")
                                          + self.improve_satisfaction_bump).clip(upper_bound=1.0))


class TieredService(FramesStrategy):
    """DOMAIN §3 standards per AUM tier: RM contacts, SMS, salons, gifts, president visits."""

    name = "tiered_service"

    def setup(self) -> None:
        p = self.params
        self.events = [  # (cost kind, per year by tier, cost each), in clmsim's order
            ("salon", p["salons_per_year"], p["salon_cost"]),
            ("president_visit", p["president_visits_per_year"], p["president_visit_cost"]),
            ("gift", p["gifts_per_year"], p["gift_cost"]),
        ]

    def apply(self, frame: pl.DataFrame, treated: pl.Series) -> pl.DataFrame:
        p, col = self.params, pl.col
        contacts = self.whole(self.by_tier(frame, p["contacts_per_month"]) * treated)
        frame, _ = self.deliver_contacts(frame, "contact", contacts, p["contact_cost"],
                                         p["contact_rm_minutes"])
        sms = self.whole(self.by_tier(frame, p["sms_per_month"]) * treated)
        frame, _ = self.deliver_contacts(frame, "sms", sms, p["sms_cost"], None)
        met = []
        for kind, per_year, cost in self.events:
            chance = self.by_tier(frame, per_year) / 12.0
            possible = treated & (chance > 0.0)
            happens = possible & (self.model.uniform(possible) < chance)
            met.append(self.fund(frame, kind, happens, cost).cast(pl.Float64))
        salon, visit, gift = met
        attended = float(salon.sum() + visit.sum())  # an event attended is a contact
        self.counts["contacts_requested"] += attended
        self.counts["contacts_delivered"] += attended
        return frame.with_columns(
            contacts=col("contacts") + salon + visit,
            satisfaction_base=(col("satisfaction_base") + p["salon_satisfaction_bump"] * salon
                               + p["president_visit_satisfaction_bump"] * visit)
            .clip(upper_bound=1.0),
            satisfaction=(col("satisfaction") + p["gift_satisfaction_bump"] * gift)
            .clip(upper_bound=1.0))


#: Strategy name -> its mesa-frames implementation.
FRAMES_STRATEGIES: dict[str, type[FramesStrategy]] = {
    cls.name: cls for cls in (AbandonD, CrossSell, Voucher, PricingSubsidy, Outreach,
                              DeclineResponse, TieredService)
}


def build_strategies(specs: list[dict[str, Any]], model: FramesModel) -> list[FramesStrategy]:
    """The scenario's strategies, in its order."""
    return [FRAMES_STRATEGIES[spec["name"]](spec, i, model) for i, spec in enumerate(specs)]


# ------------------------------------------------------------------ model
