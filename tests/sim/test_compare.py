"""``clmsim compare``: paired differences, and why common random numbers matter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.compare import compare_scenarios, paired_interval
from sim.runner import run_scenario
from sim.summary import per_replication
from tests.sim.util import SCENARIOS, scaled


def close_pair(seed: int, yield_b: float = 0.0525, seed_b: int | None = None):
    common = {"horizon_months": 12, "replications": 8}
    a = scaled(SCENARIOS / "baseline.yaml", 2_000, seed=seed, **common)
    b = scaled(SCENARIOS / "baseline.yaml", 2_000, seed=seed if seed_b is None else seed_b,
               market__competitor_yield=yield_b, **common)
    return a, b


def profits(scenario, run_dir: Path) -> np.ndarray:
    monthly = run_scenario(scenario, run_dir, executor="serial", figures=False).monthly
    return per_replication(monthly)["profit"].to_numpy()


@pytest.mark.slow
def test_common_random_numbers_shrink_paired_variance_at_least_5x(tmp_path: Path) -> None:
    a, b_common = close_pair(11)
    _, b_independent = close_pair(11, seed_b=12)
    base = profits(a, tmp_path / "a")
    common = np.var(profits(b_common, tmp_path / "b") - base, ddof=1)
    independent = np.var(profits(b_independent, tmp_path / "c") - base, ddof=1)
    assert independent >= 5 * common, (independent, common)


def test_paired_interval() -> None:
    mean, low, high = paired_interval(np.array([1.0, 2.0, 3.0]))
    assert mean == 2.0 and low < 2.0 < high
    assert np.isnan(paired_interval(np.array([1.0]))[1])


def test_compare_writes_table_and_figure(tmp_path: Path) -> None:
    a, b = (s.model_copy(update={"replications": 3, "horizon_months": 12})
            for s in close_pair(5))
    table = compare_scenarios([a, b], tmp_path / "cmp", executor="serial")
    assert (tmp_path / "cmp" / "figures" / "comparison.png").stat().st_size > 0
    csv = pd.read_csv(tmp_path / "cmp" / "comparison.csv")
    assert set(csv["metric"]) >= {"retention_12m", "retention_end", "churned", "aum_end",
                                  "revenue", "cost", "profit"}
    first = table[table["scenario"] == table["scenario"].iloc[0]]
    assert (first["diff"] == 0).all() and not first["excludes_zero"].any()
    assert len(set(table["scenario"])) == 2  # same names get distinct labels


def test_cli_compare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small = ["--set", "population.size=1500", "--set", "population.prospects=150",
             "--set", "market.prospect_arrivals_per_month=40", "--set", "horizon_months=12"]
    code = main(["compare", str(SCENARIOS / "baseline.yaml"), str(SCENARIOS / "voucher.yaml"),
                 "--replications", "2", "--seed", "4", "--executor", "serial", *small,
                 "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "profit" in out and "voucher" in out
    (folder,) = tmp_path.glob("compare-*")
    csv = pd.read_csv(folder / "comparison.csv")
    assert "strategy_voucher_roi" in set(csv["metric"])
    assert main(["compare", str(SCENARIOS / "baseline.yaml")]) == 2
    assert "at least two" in capsys.readouterr().err


def test_compare_reports_every_month_of_every_scenario(tmp_path: Path) -> None:
    """The progress bar of ``clmsim compare`` counts each scenario's months once."""
    a, b = close_pair(seed=3)
    months: list[int] = []
    compare_scenarios([a, b], tmp_path, executor="serial", figures=False,
                      progress=months.append)
    assert sum(months) == a.horizon_months * a.replications + b.horizon_months * b.replications


def test_the_comparison_figure_draws_names_its_fonts_cannot(
    tmp_path: Path, recwarn: pytest.WarningsRecorder
) -> None:
    """Chinese scenario names: a CJK font if one is installed, else the names without them."""
    from sim.compare import comparison_figure

    rows = [{"scenario": s, "metric": "profit", "diff": d, "diff_ci95_low": d - 1,
             "diff_ci95_high": d + 1} for s, d in (("基准", 0.0), ("银行 方案", 2.0))]
    comparison_figure(pd.DataFrame(rows), tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 0
    assert not [w for w in recwarn if "missing from font" in str(w.message)]
