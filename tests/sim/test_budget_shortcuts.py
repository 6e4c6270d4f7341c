"""``fund`` and ``staff`` buy or serve no one without sorting: the same as the sorted way."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest

from tests.sim.test_strategy_runtime import _Probe, build, registered


class _Short(_Probe):
    """Test strategy: wants every target at a cost by AUM; records what the sorted way gives."""

    name = "runtime_short"
    cost_kinds: ClassVar[tuple[str, ...]] = ("subsidy",)
    seen: ClassVar[list[Any]] = []

    def apply(self, ctx: Any) -> None:
        cost = ctx.population.aum * 0.001 + 1.0 + ctx.population.products
        funded = ctx.fund("subsidy", ctx.targets, cost)
        rows = np.flatnonzero(ctx.targets)
        _, in_order = ctx._in_priority(rows, cost[rows])  # the order the budget would buy in
        _Short.seen.append((funded, ctx._runtime.unit_month, in_order))


@pytest.mark.parametrize("when_short", ["stop", "skip"])
@pytest.mark.parametrize("priority", ["highest_value", "lowest_value", "random",
                                      "least_satisfied"])
def test_a_budget_short_of_everyone_buys_no_one_and_needs_the_first_or_cheapest(
        priority: str, when_short: str) -> None:
    _Short.seen.clear()
    with registered(_Short):
        model = build("strategies=[{name: runtime_short, budget: {monthly: 0.5, "
                      f"priority: {priority}, when_short: {when_short}}}}}]")
        model.step()
    funded, unit, in_order = _Short.seen[0]
    assert not funded.any() and len(in_order) > 100
    assert model.monthly_frame().cost_strategy_runtime_short.iloc[1] == 0
    # what buying anything takes: the first in priority order, or the cheapest when skipping
    assert unit == (in_order[0] if when_short == "stop" else in_order.min())


def test_rm_hours_short_of_everyone_serve_no_one_and_count_the_contacts() -> None:
    _Probe.seen.clear()
    with registered(_Probe):
        model = build("capacity.rm_hours_per_month=0.1",  # 6 minutes; a call takes 10
                      "strategies=[{name: runtime_probe}]")
        model.step()
    targets, reached, _, due = _Probe.seen[0]
    assert targets.any() and not reached.any()
    assert model.staff_minutes_left == 6.0
    df = model.monthly_frame()
    assert df.strategy_runtime_probe_contacts_requested.iloc[1] == due[targets].sum()
    assert df.strategy_runtime_probe_contacts_delivered.iloc[1] == 0
