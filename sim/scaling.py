"""A scenario's bank at another number of customers, with the same loads.

The teaching page runs a small bank, the benchmarks a large one, and both
want the bank a customer meets to stay the same: only more or less of it.
So everything counted for the whole bank scales with the population:
prospects and monthly arrivals, RM outreach hours, strategy budgets and,
with channels, the number of branches (each branch keeps its load and its
queues), call-centre agents, online capacity and complaint handlers' hours.
Rates per customer (visits, calls, sessions, contacts) do not change.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sim.scenario import override_value
from sim.schema import Scenario

__all__ = ["scale_overrides"]


def scale_overrides(
    scenario: Scenario, size: int, *, digits: int = 6, keep: Collection[str] = (),
    whole_branches: bool = False,
) -> list[str]:
    """``--set`` overrides that make ``scenario``'s bank one of ``size`` customers.

    Args:
        scenario: The bank at its own size (validated: defaults included).
        size: Customers wanted.
        digits: Significant figures of the scaled quantities (the benchmarks
            use 3, so their mesa-frames copy, which cannot import this, can
            round the same way).
        keep: Key paths the user set: they, and everything under them (a whole
            section set at once), are not scaled (``population.size`` is always
            set).
        whole_branches: With channels, round ``size`` to whole branches at the
            file's customers per branch, so each branch keeps its load.

    With channels, every branch the file overrides stays in the scaled bank
    (which has at least that many branches); one whose number is gone takes
    a free number, since branches differ only by their overrides (unless the
    user set ``channels.branches``: its numbers are kept, and branches up to them).

    Returns:
        ``key.path=value`` strings for :func:`sim.scenario.load_scenario`.
        Budgets are written whole (``strategies.0.budget={...}``), so a budget
        given as a plain number (a total) scales too.
    """
    pop, channels = scenario.population, scenario.channels
    values: dict[str, Any] = {}

    def kept(path: str) -> bool:  # the user set it, or a section holding it
        return any(path == k or path.startswith(f"{k}.") for k in keep)

    if channels is not None and not kept("population.branches"):
        # every branch the file overrides stays (numbered anew if its number is gone;
        # numbers the user set are theirs: the bank keeps branches up to the highest)
        renumber = not kept("channels.branches")
        needed = (len(channels.branches) if renumber
                  else max((i + 1 for i in channels.branches), default=1))
        branches = max(1, round(pop.branches * size / pop.size), needed)
        values["population.branches"] = branches
        moved = _renumbered(sorted(channels.branches), branches)
        if moved and renumber:
            values["channels.branches"] = {
                moved.get(i, i): override.model_dump(exclude_unset=True)
                for i, override in channels.branches.items()}
        if whole_branches:
            size = round(pop.size * branches / pop.branches)
    factor = size / pop.size

    def scaled(x: float) -> float:
        return float(f"{x * factor:.{digits}g}")

    values["population.prospects"] = round(scaled(pop.prospects))
    values["market.prospect_arrivals_per_month"] = scaled(
        scenario.market.prospect_arrivals_per_month)
    values["capacity.rm_hours_per_month"] = scaled(scenario.capacity.rm_hours_per_month)
    for i, strategy in enumerate(scenario.strategies):
        budget, path = strategy.budget, f"strategies.{i}.budget"
        if (budget.monthly is None and budget.total is None) or kept(path):
            continue
        parts = {"monthly": budget.monthly, "total": budget.total}
        whole = {part: value if kept(f"{path}.{part}") else scaled(value)
                 for part, value in parts.items() if value is not None}
        values[path] = {**whole, "priority": budget.priority}
    if channels is not None:
        if channels.call_centre.agents:
            values["channels.call_centre.agents"] = max(1, round(channels.call_centre.agents
                                                                 * factor))
        if channels.online.capacity_sessions_per_month is not None:
            values["channels.online.capacity_sessions_per_month"] = scaled(
                channels.online.capacity_sessions_per_month)
        if channels.complaints.handler_hours_per_month:
            values["channels.complaints.handler_hours_per_month"] = scaled(
                channels.complaints.handler_hours_per_month)
    out = [f"population.size={size}"]
    out += [f"{key}={override_value(value)}" for key, value in values.items() if not kept(key)]
    return out


def _renumbered(overridden: list[int], branches: int) -> dict[int, int]:
    """New numbers for overridden branches past the last of ``branches``: the free ones.

    Branches are alike apart from their overrides (customers are spread over
    them evenly), so which number a special branch has does not matter.
    """
    free = [i for i in range(branches) if i not in overridden]
    gone = [i for i in overridden if i >= branches]
    return dict(zip(gone, free, strict=False))
