"""Scaling a bank to another size keeps every load per customer (sim.scaling)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scaling import scale_overrides
from sim.scenario import load_scenario
from sim.viz.model import page_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _bank(path: Path, size: int, **kwargs: object) -> tuple[object, object]:
    base = load_scenario(path)
    return base, load_scenario(path, scale_overrides(base, size, **kwargs))  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [20_000, 1_000_000])
def test_everything_the_whole_bank_counts_scales_with_it(size: int) -> None:
    base, bank = _bank(SCENARIOS / "playbook_branches.yaml", size, digits=3)
    factor = size / base.population.size
    assert bank.population.size == size

    def close(big: float, small: float, tolerance: float) -> bool:
        return abs(big / (small * factor) - 1) < tolerance

    assert close(bank.population.prospects, base.population.prospects, 0.01)
    assert close(bank.market.prospect_arrivals_per_month,
                 base.market.prospect_arrivals_per_month, 0.01)
    assert close(bank.capacity.rm_hours_per_month, base.capacity.rm_hours_per_month, 0.01)
    for mine, theirs in zip(bank.strategies, base.strategies, strict=True):
        assert close(mine.budget.monthly, theirs.budget.monthly, 0.01)
        assert mine.budget.priority == theirs.budget.priority
    c, b = bank.channels, base.channels
    # the loads per branch, agent, session of capacity and handler hour stay the bank's
    # (whole branches and agents: within rounding of one)
    assert close(bank.population.branches, base.population.branches,
                 1 / (base.population.branches * factor))
    assert close(c.call_centre.agents, b.call_centre.agents, 1 / (b.call_centre.agents * factor))
    assert close(c.online.capacity_sessions_per_month, b.online.capacity_sessions_per_month, 0.01)
    assert close(c.complaints.handler_hours_per_month, b.complaints.handler_hours_per_month,
                 0.01)


def test_a_budget_given_as_a_number_scales() -> None:
    """A plain-number budget is a total; the page used to fail on it (no ``budget.total``)."""
    path = SCENARIOS / "voucher.yaml"
    base = load_scenario(path, ["strategies.0.budget=1000000"])
    assert base.strategies[0].budget.monthly is None
    overrides = ["strategies.0.budget=1000000", *scale_overrides(base, 14_830)]
    bank = load_scenario(path, overrides)
    assert bank.strategies[0].budget.total == pytest.approx(100_000)


def test_page_runs_a_scenario_whose_budget_is_a_number(tmp_path: Path) -> None:
    path = tmp_path / "total.yaml"
    path.write_text(f"extends: {SCENARIOS / 'baseline.yaml'}\n"
                    "strategies:\n  - name: voucher\n    budget: 1000000\n")
    page = page_scenario(path, [])
    assert page.strategies[0].budget.total == pytest.approx(1e6 * page.population.size / 148_300,
                                                            rel=1e-5)  # six figures


def test_what_the_user_set_is_kept() -> None:
    path = SCENARIOS / "playbook_branches.yaml"
    base = load_scenario(path, ["strategies.1.budget.monthly=777", "channels.call_centre.agents=9"])
    keep = {"strategies.1.budget.monthly", "channels.call_centre.agents"}
    overrides = scale_overrides(base, 5_000, keep=keep)
    bank = load_scenario(path, ["strategies.1.budget.monthly=777",
                                "channels.call_centre.agents=9", *overrides])
    assert bank.strategies[1].budget.monthly == 777
    assert bank.channels.call_centre.agents == 9
    assert bank.strategies[0].budget.monthly < base.strategies[0].budget.monthly


def test_round_numbers_stay_numbers() -> None:
    """``f"{1e6:g}"`` is ``1e+06``, which YAML reads as a string; the overrides say 1000000.0."""
    path = SCENARIOS / "branches.yaml"
    base = load_scenario(path, ["channels.online.capacity_sessions_per_month=148300"])
    overrides = scale_overrides(base, 1_000_000)
    assert "channels.online.capacity_sessions_per_month=1000000.0" in overrides
    bank = load_scenario(path, overrides)
    assert bank.channels.online.capacity_sessions_per_month == 1_000_000


def test_a_section_the_user_set_whole_is_kept() -> None:
    """``channels.call_centre={agents: 9}`` sets the agents too (a reviewer saw 1)."""
    path = SCENARIOS / "playbook_branches.yaml"
    sets = ["channels.call_centre={agents: 9, calls_per_customer_month: 0.1}",
            "capacity={rm_hours_per_month: 10}"]
    base = load_scenario(path, sets)
    keep = {s.split("=", 1)[0] for s in sets}
    bank = load_scenario(path, [*sets, *scale_overrides(base, 5_000, keep=keep)])
    assert bank.channels.call_centre.agents == 9
    assert bank.capacity.rm_hours_per_month == 10


def test_branches_the_file_overrides_stay_in_a_small_bank(tmp_path: Path) -> None:
    """A file overriding branch 7 made the page keep 8 whole branches (118,640 customers)."""
    path = tmp_path / "special.yaml"
    path.write_text(f"extends: {SCENARIOS / 'branches.yaml'}\n"
                    "channels:\n  branches:\n    7: {tellers: 6}\n    1: {vtms: 0}\n")
    page = page_scenario(path, [])
    # two special branches need two branches; the rest of the bank is dropped, not kept
    assert page.population.branches == 2
    assert page.population.size == 2 * 148_300 // 10
    overrides = {i: o.model_dump(exclude_unset=True) for i, o in page.channels.branches.items()}
    assert overrides == {0: {"tellers": 6}, 1: {"vtms": 0}}  # 1 keeps its number; 7 takes 0
    # a bank large enough for every number keeps them as they are
    bank = load_scenario(path, scale_overrides(load_scenario(path), 148_300))
    assert {i: o.model_dump(exclude_unset=True) for i, o in bank.channels.branches.items()} == {
        7: {"tellers": 6}, 1: {"vtms": 0}}


def test_branches_the_user_numbered_keep_their_numbers_in_a_small_bank() -> None:
    """``--set channels.branches={7: ...}`` is the user's numbering: not renumbered, so the
    bank keeps branches up to 7; it was refused ('channels.branches.7: no such branch')."""
    page = page_scenario(SCENARIOS / "branches.yaml", ["channels.branches={7: {tellers: 6}}"])
    assert page.population.branches == 8
    assert {i: o.model_dump(exclude_unset=True) for i, o in page.channels.branches.items()} == {
        7: {"tellers": 6}}
