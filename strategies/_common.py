"""Helpers shared by the built-in strategies: contact delivery and parameter checks.

Not a strategy (the leading underscore keeps it out of the registry's
discovery): contact-making strategies (outreach, tiered_service,
decline_response, cross_sell) deliver contacts the same way, and every
strategy checks its numeric parameters the same way.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "CHANNELS",
    "DEFAULT_COST_PER_CONTACT",
    "DEFAULT_RM_MINUTES",
    "RM_CHANNELS",
    "SEGMENTS",
    "check_mapping",
    "check_number",
    "check_numbers",
    "check_tiers",
    "deliver_contacts",
    "raise_capped",
    "short_repr",
    "whole_counts",
]

#: Contact channels, in the order outreach serves them (DOMAIN §5).
CHANNELS = ("phone", "sms", "push", "visit")
#: Channels that take relationship-manager time (DOMAIN §5).
RM_CHANNELS = ("phone", "visit")
SEGMENTS = ("A", "B", "C", "D")

#: CNY per contact; modelling assumptions (call-centre and SMS-gateway order of magnitude).
DEFAULT_COST_PER_CONTACT: Mapping[str, float] = {
    "phone": 5.0, "sms": 0.05, "push": 0.01, "visit": 100.0}
#: RM minutes per contact; modelling assumptions.
DEFAULT_RM_MINUTES: Mapping[str, float] = {"phone": 10.0, "visit": 60.0}


def whole_counts(rate: np.ndarray | float, ctx: Any, purpose: str) -> np.ndarray:
    """Whole numbers of contacts (or events) with mean ``rate`` per row.

    ``floor(rate + U)`` with one keyed uniform draw per row: 2.0 is always 2,
    0.25 is 1 with probability 0.25. Draws only when a rate is fractional.
    """
    rate = np.asarray(rate, float)
    if rate.ndim == 0:  # one rate for every row: its floor once, the draws only if fractional
        whole = np.floor(rate)
        if rate != whole:
            return whole + (ctx.uniform(purpose) < rate - whole)
        return np.full(len(ctx.population), whole)
    rate = np.broadcast_to(rate, (len(ctx.population),))
    whole = np.floor(rate)
    if np.any(rate != whole):
        return whole + (ctx.uniform(purpose) < rate - whole)
    return whole  # an array of its own already (np.floor's)


def deliver_contacts(
    ctx: Any, kind: str, counts: np.ndarray, cost_each: float, rm_minutes_each: float | None
) -> np.ndarray:
    """Deliver ``counts`` contacts per row through one channel; return the rows reached.

    Contacts needing RM time (``rm_minutes_each`` not None) are staffed first,
    in the budget's priority order, and then paid for, so no money goes on a
    call no one had time to make. If the budget then falls short, the staffed
    but unpaid contacts are taken back out of the delivered count (their RM
    time stays spent: the context cannot give it back). Other contacts are paid
    for and counted. Delivered contacts are added to ``population.contacts``
    (``add_at``: in the rows, the column not copied out for it) and cost
    ``cost_each`` CNY apiece, booked under ``kind``.
    """
    wanted = counts > 0
    # every row due any contact due the same number (outreach's and tiered_service's plans,
    # a call each): the context gets the number, its minutes and cost, the same values per
    # row as the arrays would give, which it then need not pick out row by row
    due = counts
    if len(counts) and (most := counts.max()) > 0 and (
            np.count_nonzero(counts == most) == np.count_nonzero(wanted)):
        due = most
    # RM time in one pass in the budget's priority order: two calls need twice the time
    reached = wanted if rm_minutes_each is None else ctx.staff(wanted, rm_minutes_each * due, due)
    paid = np.asarray(ctx.fund(kind, reached, cost_each * due), bool)
    made = counts[paid]
    if rm_minutes_each is None:
        delivered = float(made.sum())
        # all paid (the usual case): the same rows' sum, not picked and added again
        requested = delivered if np.array_equal(paid, wanted) else float(counts[wanted].sum())
        ctx.count_contacts(requested, delivered)
    elif (unpaid := float(counts[reached & ~paid].sum())) > 0:
        ctx.take_back_contacts(unpaid)
    ctx.population.add_at("contacts", paid, made)
    return paid


def raise_capped(
    population: Any, name: str, rises: tuple[tuple[float, np.ndarray], ...],
    indexed: bool = False,
) -> None:
    """Raise a column by ``(amount, mask)`` pairs in turn, then cap it at 1 (every row).

    Each pair is ``population.<name> += amount * mask`` (computed in float64,
    as NumPy multiplies a Python number by a boolean mask), or with
    ``indexed``, ``population.<name>[mask] += amount`` (in the column's type);
    then ``np.minimum(column, 1.0)``. The same values as those whole-column
    operations, but read and written only where they may change one: the
    rows raised, and those the cap or adding 0.0 could change (above 1, NaN,
    not above 0: -0.0 + 0.0 is 0.0). The column is not copied out of the
    subset and compared back (at 1M, a satisfaction column of 80,000-160,000
    rows, for a few thousand changed).
    """
    values = population.read(name)
    change = ~((values > 0) & (values <= 1.0))
    for _, mask in rises:
        change |= mask
    rows = np.flatnonzero(change)
    if not len(rows):
        return
    changed = np.array(values[rows])
    for amount, mask in rises:
        if indexed:
            changed[mask[rows]] += amount
        else:
            changed += amount * mask[rows]
    np.minimum(changed, 1.0, out=changed)
    population.put(name, rows, changed)


def short_repr(value: Any) -> str:
    """``repr(value)``, shortened: an error stays one readable line whatever was written."""
    return reprlib.repr(value)


def check_number(param: str, value: Any, lower: float = 0.0, upper: float = math.inf) -> None:
    """Raise ValueError unless ``value`` is a real number in ``[lower, upper]``."""
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not lower <= value <= upper or not math.isfinite(value)):
        raise ValueError(f"{param} must be a number in [{lower}, {upper}], got {short_repr(value)}")


def check_mapping(param: str, values: Any, keys: Iterable[str] | None) -> None:
    """Raise ValueError unless ``values`` is a mapping whose keys are among ``keys``."""
    if not isinstance(values, Mapping):
        raise ValueError(f"{param} must be a mapping, got {short_repr(values)}")
    if keys is not None:
        unknown = sorted(set(map(str, values)) - set(keys))
        if unknown:
            raise ValueError(f"{param}: unknown key(s) {unknown}; expected some of {list(keys)}")


def check_numbers(
    param: str, values: Any, keys: Iterable[str] | None = None, upper: float = math.inf
) -> None:
    """Raise ValueError unless ``values`` maps known keys to numbers in ``[0, upper]``."""
    check_mapping(param, values, keys)
    for key, value in values.items():
        check_number(f"{param}.{key}", value, 0.0, upper)


def check_tiers(scenario: Any, param: str, names: Iterable[str]) -> None:
    """Raise ValueError if ``names`` holds a tier the scenario does not define."""
    tiers = [t.name for t in scenario.tiers]
    unknown = sorted(set(names) - set(tiers))
    if unknown:
        raise ValueError(f"{param} names unknown AUM tier(s) {unknown}; "
                         f"the scenario's tiers are {tiers}")
