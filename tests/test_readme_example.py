"""The README's "new strategy in under 30 lines" example really works (examples never rot)."""

from __future__ import annotations

import re
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.model import LifecycleModel
from sim.scenario import load_scenario
from strategies import registry

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def greeting() -> Iterator[type]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"### A new strategy in under 30 lines.*?```python\n(.*?)```", readme, re.S)
    assert match, "README lost its strategy example"
    code = match.group(1)
    assert len(code.strip().splitlines()) < 30
    module = types.ModuleType("greeting")
    exec(compile(code, "README.md", "exec"), module.__dict__)  # our own README, not user input
    yield module.Greeting
    registry._REGISTRY.pop("greeting", None)


def test_readme_strategy_runs_and_books_its_cost(greeting: type) -> None:
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml", [
        "population.size=3000", "population.prospects=500",
        "market.prospect_arrivals_per_month=50", "horizon_months=2",
        "strategies=[{name: greeting, target: {segments: [A]}, holdout: 0.1}]"])
    model = LifecycleModel(scenario)
    for _ in range(2):
        model.step()
    df = model.monthly_frame()
    assert registry.get("greeting") is greeting
    sent = df.strategy_greeting_contacts_delivered.iloc[1:]
    assert (sent > 0).all()
    assert df.cost_strategy_greeting.iloc[1:].tolist() == pytest.approx((sent * 0.05).tolist())
