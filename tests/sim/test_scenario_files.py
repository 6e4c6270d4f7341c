"""Every shipped scenario validates and runs (as SimPy runs its examples)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.model import LifecycleModel
from tests.sim.util import SCENARIOS, scaled

FILES = sorted(SCENARIOS.glob("*.yaml"))


def test_there_are_scenarios() -> None:
    assert {"baseline.yaml", "four_stage.yaml"} <= {p.name for p in FILES}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_validates(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(path)]) == 0
    assert "valid" in capsys.readouterr().out


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_runs_briefly(path: Path) -> None:
    scenario = scaled(path, 2_000, horizon_months=3)
    model = LifecycleModel(scenario)
    for _ in range(3):
        model.step()
    df = model.monthly_frame()
    assert len(df) == 4
    assert np.isfinite(df.select_dtypes("number").to_numpy()).all()
    assert df.customers.iloc[-1] > 0 and df.revenue.iloc[-1] > 0


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_conservation_holds_in_every_scenario(path: Path) -> None:
    """Customers, AUM and money are neither created nor lost, whatever the scenario."""
    model = LifecycleModel(scaled(path, 4_000, horizon_months=6))
    for _ in range(6):
        model.step()
    df = model.monthly_frame()
    np.testing.assert_array_equal(
        df.customers.iloc[0] + df.acquired.cumsum(), df.customers + df.churned.cumsum())
    flows = df.aum_market + df.aum_net_flow + df.aum_acquired - df.aum_churned
    np.testing.assert_allclose(df.aum.diff().iloc[1:], flows.iloc[1:], rtol=1e-9, atol=1e-3)
    costs = [c for c in df.columns if c.startswith("cost_")]
    revenues = [c for c in df.columns if c.startswith("revenue_")]
    np.testing.assert_allclose(df[costs].sum(axis=1), df.cost, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(df[revenues].sum(axis=1) - df.cost, df.profit, rtol=1e-12,
                               atol=1e-6)


def test_four_stage_runs_without_code_change() -> None:
    scenario = scaled(SCENARIOS / "four_stage.yaml", 5_000, horizon_months=12)
    model = LifecycleModel(scenario)
    assert model.stage_names == ["exploration", "formation", "stability", "dissolution"]
    for _ in range(12):
        model.step()
    df = model.monthly_frame()
    assert df.prospects.eq(0).all()
    assert (df.acquired.iloc[1:] == df.arrivals.iloc[1:]).all()  # arrivals are acquisitions
    assert df.churned.sum() > 0
    np.testing.assert_array_equal(
        df.customers.iloc[0] + df.acquired.cumsum(), df.customers + df.churned.cumsum())
