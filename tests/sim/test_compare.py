"""``clmsim compare``: paired differences, and why common random numbers matter."""

from __future__ import annotations

from itertools import pairwise
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


def test_the_comparison_figure_is_labelled_and_scaled_as_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Differences in CNY were drawn raw under the bare metric key: the profit axis read
    "-30000-20000-10000" (tick labels run together) and AUM carried a "1e6" offset."""
    from matplotlib.figure import Figure

    from sim.compare import comparison_figure

    saved: list[Figure] = []
    savefig = Figure.savefig

    def keep(fig: Figure, *args: object, **kwargs: object) -> None:
        saved.append(fig)
        savefig(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)

    rows = [{"scenario": "baseline", "metric": m, "diff": 0.0, "diff_ci95_low": 0.0,
             "diff_ci95_high": 0.0} for m in ("retention_end", "aum_end", "profit")]
    rows += [{"scenario": s, "metric": m, "diff": d, "diff_ci95_low": lo, "diff_ci95_high": hi}
             for s, m, d, lo, hi in (
                 ("voucher", "retention_end", -7.5e-4, -1.5e-3, 4.6e-5),
                 ("outreach", "retention_end", 0.015, 3.6e-4, 0.0296),
                 ("voucher", "aum_end", 4.56e6, 2.52e6, 6.59e6),
                 ("outreach", "aum_end", 1.37e6, -3.07e6, 5.82e6),
                 ("voucher", "profit", 321.0, -9187.0, 9828.0),  # a compare run's numbers
                 ("outreach", "profit", 174.0, -29240.0, 29589.0))]
    comparison_figure(pd.DataFrame(rows), tmp_path / "comparison.png")
    (fig,) = saved  # as written to comparison.png
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == [
        "retention at the end", "AUM at the end (m CNY)", "profit (m CNY)"]
    profit = axes[2]
    assert profit.lines[0].get_xdata()[1] == pytest.approx(174.0e-6)  # million CNY
    assert axes[0].get_xticklabels()[-1].get_text().endswith("%")
    for ax in axes:
        boxes = sorted((t.get_window_extent() for t in ax.get_xticklabels() if t.get_text()),
                       key=lambda b: b.x0)
        assert all(a.x1 < b.x0 for a, b in pairwise(boxes)), ax.get_title()
        assert not ax.xaxis.get_offset_text().get_text()  # no "1e6" beside the axis


def test_the_printed_comparison_has_no_nan_or_negative_zero() -> None:
    """One replication printed "nan … nan" as the interval; a small negative bound of
    customers churned printed "-0 … 2"."""
    from rich.console import Console

    from sim.cli_experiments import _print_table

    rows = [{"metric": "churned", "scenario": "baseline", "mean": 113.25, "diff": 0.0,
             "diff_ci95_low": 0.0, "diff_ci95_high": 0.0, "excludes_zero": False},
            {"metric": "churned", "scenario": "voucher", "mean": 114.0, "diff": 0.75,
             "diff_ci95_low": -0.0456, "diff_ci95_high": 1.5456, "excludes_zero": False},
            {"metric": "profit", "scenario": "baseline", "mean": 5.0e4, "diff": 0.0,
             "diff_ci95_low": np.nan, "diff_ci95_high": np.nan, "excludes_zero": False},
            {"metric": "profit", "scenario": "voucher", "mean": 4.6e4, "diff": -4.0e3,
             "diff_ci95_low": np.nan, "diff_ci95_high": np.nan, "excludes_zero": False}]
    console = Console(record=True, width=120)
    _print_table(console, pd.DataFrame(rows), 1)
    text = console.export_text()
    assert "nan" not in text and "-0 " not in text
    assert "0 … 2" in text and "no interval" in text and "-0.00" not in text


def test_a_bad_replications_option_is_named_as_given(tmp_path: Path, cli) -> None:
    """compare --replications 0 said "(from --set replications=0)", an option never typed."""
    result = cli("compare", SCENARIOS / "baseline.yaml", SCENARIOS / "voucher.yaml",
                 "--replications", "0", "--out", tmp_path)
    assert result.code == 2 and result.err.count("\n") == 1
    assert "replications: got 0" in result.err and "(from --replications 0)" in result.err
    assert not list(tmp_path.iterdir())


def test_a_strategy_the_reference_lacks_counts_its_replications_everywhere(
    tmp_path: Path,
) -> None:
    """baseline vs voucher: the voucher's ROI row said replications 0 (as if it never ran)
    beside a mean over 4; the table printed a bare "n/a" for its difference."""
    from rich.console import Console

    from sim.cli_experiments import _print_table
    from sim.compare import comparison_table
    from sim.report import build_report

    base = pd.DataFrame({"replication": range(4), "profit": [5.0e6, 5.1e6, 4.9e6, 5.0e6]})
    voucher = base.assign(profit=base["profit"] + 2e5,
                          strategy_voucher_roi=[1.5, np.nan, 1.7, 1.6])  # spent nothing in 1
    outreach = base.assign(strategy_outreach_roi=2.0)
    table = comparison_table(["baseline", "voucher", "outreach"], [base, voucher, outreach])
    roi = table[table["metric"] == "strategy_voucher_roi"].set_index("scenario")
    assert roi.loc["voucher", "replications"] == 3 and roi.loc["voucher", "pairs"] == 0
    assert roi.loc["voucher", "mean"] == pytest.approx(1.6) and np.isnan(roi.loc["voucher",
                                                                                  "diff"])
    assert roi.loc["baseline", "replications"] == 0 and roi.loc["baseline", "pairs"] == 0
    profit = table[table["metric"] == "profit"].set_index("scenario")
    assert (profit["replications"] == 4).all() and (profit["pairs"] == 4).all()

    console = Console(record=True, width=120)
    _print_table(console, table, 4)
    printed = console.export_text()
    assert printed.count("not in baseline") == 2  # voucher's ROI, outreach's ROI
    assert "n/a" in printed  # baseline's own ROIs, and voucher's of outreach: none at all

    table.to_csv(tmp_path / "comparison.csv", index=False)
    text = build_report(tmp_path).read_text(encoding="utf-8")
    assert "<td>ROI of voucher</td><td>voucher</td><td class=\"num\">1.60</td>" \
           "<td class=\"num\">not in baseline</td>" in text, text
    assert "<td>ROI of outreach</td><td>voucher</td><td class=\"num\">n/a</td>" \
           "<td class=\"num\">n/a</td>" in text
