"""``clmsim sweep``: designs, streaming to disk, resume after a kill, sensitivity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.sweep import design_points, run_sweep
from sim.sweep_schema import load_sweep

ROOT = Path(__file__).resolve().parents[2]
SWEEPS = ROOT / "scenarios" / "sweeps"
SMALL = ["population.size=1500", "population.prospects=150",
         "market.prospect_arrivals_per_month=25", "horizon_months=12"]


def write_sweep(tmp_path: Path, body: str, sets_list: list[str] = SMALL) -> Path:
    path = tmp_path / "s.yaml"
    sets = "".join(f"  - {s}\n" for s in sets_list)
    path.write_text(f"base: {ROOT / 'scenarios' / 'voucher.yaml'}\nset:\n{sets}{body}")
    return path


GRID = """design: grid
replications: 2
parameters:
  strategies.0.params.face_value: {values: [200, 1000]}
  strategies.0.params.threshold: {values: [50000, 100000]}
outputs: [profit, strategy_voucher_roi]
"""


@pytest.mark.parametrize("path", sorted(SWEEPS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_sweep_file_validates(path: Path) -> None:
    spec, base = load_sweep(path)
    assert base.is_file() and len(design_points(spec)) > 0


def test_killed_sweep_resumes_to_the_same_table(tmp_path: Path) -> None:
    spec, base = load_sweep(write_sweep(tmp_path, GRID))
    full = run_sweep(spec, base, tmp_path / "full", executor="serial")
    runs = tmp_path / "full" / "runs"
    assert len(list(runs.glob("point-*-rep-*.parquet"))) == 8
    part = tmp_path / "part"
    run_sweep(spec, base, part, executor="processes", workers=2)
    for name in ("point-00001-rep-0000.parquet", "point-00003-rep-0001.parquet"):
        (part / "runs" / name).unlink()  # as if killed before these finished
    (part / "runs.parquet").unlink()
    kept = part / "runs" / "point-00000-rep-0000.parquet"
    stamp = kept.stat().st_mtime_ns
    calls: list[tuple[int, int]] = []
    again = run_sweep(spec, base, part, executor="serial",
                      progress=lambda d, t: calls.append((d, t)))
    assert kept.stat().st_mtime_ns == stamp
    assert calls[0] == (6, 8) and calls[-1] == (8, 8)
    pd.testing.assert_frame_equal(pd.read_parquet(full), pd.read_parquet(again))
    table = pd.read_parquet(full)
    assert list(table.columns[:4]) == ["point", "replication", "strategies.0.params.face_value",
                                       "strategies.0.params.threshold"]


def test_morris_writes_sensitivity_with_intervals(tmp_path: Path) -> None:
    body = """design: morris
samples: 3
parameters:
  market.competitor_yield: {range: [0.045, 0.06]}
  strategies.0.params.face_value: {range: [100, 1000]}
outputs: [profit]
"""
    spec, base = load_sweep(write_sweep(tmp_path, body))
    run_sweep(spec, base, tmp_path / "m", executor="processes", workers=2)
    sens = pd.read_csv(tmp_path / "m" / "sensitivity.csv")
    assert {"mu_star", "mu_star_conf", "sigma"} <= set(sens.columns) and len(sens) == 2
    assert (tmp_path / "m" / "figures" / "sensitivity.png").stat().st_size > 0


def test_cli_sweep_sobol(tmp_path: Path) -> None:
    code = main(["sweep", str(SWEEPS / "sensitivity.yaml"), "--set", "samples=2",
                 "--set", f"set={SMALL}".replace("'", ""), "--executor", "serial",
                 "--out", str(tmp_path), "--quiet"])
    assert code == 0
    sens = pd.read_csv(tmp_path / "sensitivity" / "sensitivity.csv")
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(sens.columns)
    assert len(pd.read_parquet(tmp_path / "sensitivity" / "runs.parquet")) == 2 * (5 + 2)


@pytest.mark.parametrize(("body", "message"), [
    ("design: nope\nparameters: {market.competitor_yield: {range: [0.04, 0.06]}}\n",
     "design: got 'nope'"),
    ("design: sobol\nparameters: {market.competitor_yield: {values: [0.04]}}\n", "needs range"),
    ("parameters: {market.competitor_yield: {range: [0.06, 0.04]}}\n", "lo < hi"),
    ("parameters: {market.no_such_key: {values: [1]}}\n", "parameters.market.no_such_key"),
    ("parameters: {market.competitor_yield: {values: [1]}}\nreplicas: 3\n", "unknown key"),
    # a grid over ranges at 32 levels each: 32**5 = 33.5M points (this once filled 15 GiB
    # of memory building the plan); refused before anything is built
    ("design: grid\nsamples: 32\nparameters:\n"
     + "".join(f"  lifecycle.driver_effects.{m}.satisfaction: {{range: [-6, -2]}}\n"
               for m in ("maturity->decline", "decline->churned", "decline->maturity",
                         "growth->maturity", "growth->decline")),
     "33,554,432 points"),
    ("design: sobol\nsamples: 1048576\n"  # 2**20
     "parameters: {market.competitor_yield: {range: [0.04, 0.06]}}\n", "3,145,728 points"),
    # every value and both ends of a range are checked before the first run (a reviewer
    # saw point 0 run and point 1 fail, the error naming neither the file nor the key)
    ("parameters: {strategies.0.params.face_value: {values: [200, -5]}}\n",
     "parameters.strategies.0.params.face_value"),
    ("design: lhs\nparameters: {market.competitor_yield: {range: [0.04, 1.5]}}\n",
     "parameters.market.competitor_yield"),
    # a whole-number setting over a range gets fractional points from the sampling designs
    ("design: lhs\nparameters: {horizon_months: {range: [6, 12]}}\n",
     "parameters.horizon_months"),
    ("parameters: {market.competitor_yield: {values: [0.05]}}\noutputs: [profit, proft]\n",
     "outputs: unknown output(s) ['proft']"),
    ("name: 'a b'\nparameters: {market.competitor_yield: {values: [0.05]}}\n",
     "string should match pattern '^\\w[\\w.-]*$'"),
])
def test_bad_sweep_files_are_one_line_exit_2(
    tmp_path: Path, body: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sweep", str(write_sweep(tmp_path, body))]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_a_sweep_over_names_records_them(tmp_path: Path) -> None:
    """Non-numeric values (a strategy's channel) are kept as they are, not made floats."""
    path = tmp_path / "names.yaml"
    sets = "".join(f"  - {s}\n" for s in SMALL)
    path.write_text(f"base: {ROOT / 'scenarios' / 'cross_sell.yaml'}\nset:\n{sets}"
                    "parameters:\n  strategies.0.params.offer_channel: {values: [push, sms]}\n")
    spec, base = load_sweep(path)
    table = pd.read_parquet(run_sweep(spec, base, tmp_path / "out", executor="serial"))
    assert table["strategies.0.params.offer_channel"].tolist() == ["push", "sms"]
    assert table["profit"].notna().all()


def test_a_sweep_of_an_edited_base_scenario_is_not_resumed(tmp_path: Path) -> None:
    """Runs of the old bank and the edited one must not be mixed in one table."""
    base = tmp_path / "mybase.yaml"
    base.write_text(f"extends: {ROOT / 'scenarios' / 'voucher.yaml'}\n")
    sets = "".join(f"  - {s}\n" for s in SMALL)
    path = tmp_path / "s.yaml"
    path.write_text(f"base: mybase.yaml\nset:\n{sets}"
                    "parameters: {market.competitor_yield: {values: [0.05]}}\n")
    spec, resolved = load_sweep(path)
    run_sweep(spec, resolved, tmp_path / "out", executor="serial")
    base.write_text(f"extends: {ROOT / 'scenarios' / 'voucher.yaml'}\n"
                    "market: {bank_yield: 0.03}\n")
    with pytest.raises(FileExistsError, match="base scenario"):
        run_sweep(spec, resolved, tmp_path / "out", executor="serial")


def test_a_bad_set_entry_is_blamed_on_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_sweep(tmp_path, "parameters: {market.competitor_yield: {values: [0.05]}}\n",
                       [*SMALL, "market.no_such_key=1"])
    assert main(["sweep", str(path)]) == 2
    err = capsys.readouterr().err
    assert ": set: " in err and "market.no_such_key" in err and err.count("\n") == 1, err


@pytest.mark.parametrize(("body", "sets"), [
    # a figure the base run lacks but the sweep's points record (a reviewer's cases)
    ("parameters: {strategies.0.holdout: {values: [0.1, 0.2]}}\n"
     "outputs: [strategy_voucher_roi]\n", ["strategies.0.holdout=0"]),
    ("parameters: {horizon_months: {values: [12, 24]}}\noutputs: [retention_12m]\n",
     ["horizon_months=6"]),
    # a grid's levels over a whole-number setting are whole numbers: accepted
    ("design: grid\nsamples: 3\n"
     "parameters: {strategies.0.params.cooldown_months: {range: [6, 18]}}\n", []),
])
def test_sweeps_that_run_are_accepted(tmp_path: Path, body: str, sets: list[str]) -> None:
    spec, _ = load_sweep(write_sweep(tmp_path, body, [*SMALL, *sets]))
    assert len(design_points(spec)) in (2, 3)


def test_sobol_intervals_do_not_change_between_runs_of_the_same_sweep() -> None:
    """Seed 0 (a sweep without ``seed:``) once gave new bootstrap intervals on every analysis.

    SALib takes seed 0 as "no seed" and resamples from NumPy's global state; the
    indices stayed, the intervals moved (by 0.97 on a 3-parameter sweep).
    """
    from SALib.analyze import sobol

    from sim.designs import DESIGNS, ParameterSpec

    params = [ParameterSpec("a", 0.0, 1.0), ParameterSpec("b", 0.0, 1.0)]
    design = DESIGNS["sobol"]
    assert design.analyse is not None
    for seed in (0, 7):
        x = design.sample(params, 64, seed)
        y = x[:, 0] + 0.1 * x[:, 1]  # analytic S1 = ST: 1/1.01 and 0.01/1.01
        first = design.analyse(params, x, y, seed)
        pd.testing.assert_frame_equal(first, design.analyse(params, x, y, seed))
        assert first["S1"].to_numpy() == pytest.approx([1 / 1.01, 0.01 / 1.01], abs=0.05)
        assert (first["ST_conf"] > 0).all()
    # any other seed: the same numbers as SALib called with it directly
    direct = sobol.analyze({"num_vars": 2, "names": ["a", "b"], "bounds": [[0, 1]] * 2}, y,
                           calc_second_order=False, seed=7)
    assert first["ST_conf"].tolist() == list(direct["ST_conf"])


@pytest.mark.parametrize("design", ["sobol", "morris"])
def test_an_output_missing_at_some_points_has_no_indices(tmp_path: Path, design: str) -> None:
    """retention_12m of a 6-month bank is NaN at every point: SALib read that as a constant
    output and reported S1 = ST = 0 with a zero interval ("no influence, for certain")."""
    from sim.sweep import sensitivity
    from sim.sweep_schema import SweepSpec

    spec = SweepSpec.model_validate({
        "base": "unused.yaml", "design": design, "samples": 8,
        "parameters": {"a": {"range": [0.0, 1.0]}, "b": {"range": [0.0, 1.0]}},
        "outputs": ["profit", "retention_12m", "strategy_voucher_roi"]})
    points = design_points(spec)
    x = points.to_numpy(dtype=float)
    runs = pd.DataFrame({"point": points.index, "replication": 0,
                         "profit": x[:, 0] + 0.1 * x[:, 1], "retention_12m": np.nan,
                         "strategy_voucher_roi": np.where(x[:, 0] > 0.5, 1.0, np.nan)})
    runs.to_parquet(tmp_path / "runs.parquet")
    table = sensitivity(spec, points, tmp_path / "runs.parquet").set_index("output")
    index = "ST" if design == "sobol" else "mu_star"
    assert table.loc["profit", index].notna().all() and (table.loc["profit", index] > 0).any()
    for missing in ("retention_12m", "strategy_voucher_roi"):
        numbers = table.loc[missing].drop(columns="parameter")
        assert numbers.isna().all().all(), numbers
    from sim.designs import DESIGNS
    from sim.sweep_figures import sensitivity_figure

    sensitivity_figure(table.reset_index(), DESIGNS[design].index, tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 0


def test_a_combination_the_scenario_refuses_is_one_line_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each value is valid alone; together two transitions out of maturity sum past 1.

    The sweep used to run points 0-2, then stop at point 3 with "sweep: lifecycle...",
    naming neither the sweep file nor the point.
    """
    body = ("design: grid\nparameters:\n"
            "  lifecycle.transitions.maturity.churned: {values: [0.1, 0.6]}\n"
            "  lifecycle.transitions.maturity.decline: {values: [0.1, 0.6]}\n")
    path = write_sweep(tmp_path, body)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--executor", "serial", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"{path}: parameters: design point 3 (" in err
    assert "lifecycle.transitions.maturity.churned=0.6" in err
    assert "probabilities sum to 1.2; expected <= 1" in err
    assert not out.exists()  # nothing ran, nothing was written


def test_set_reaches_a_parameter_whose_name_is_a_dotted_path() -> None:
    """--set split every dot: a range could not be changed from the command line, and the
    error blamed a key that exists ("parameters.strategies.0: unknown key")."""
    spec, _ = load_sweep(SWEEPS / "voucher_amount.yaml",
                         ["parameters.strategies.0.params.face_value.values=[100, 200]"])
    assert spec.parameters["strategies.0.params.face_value"].values == [100, 200]
    assert len(design_points(spec)) == 2 * 3
    spec, _ = load_sweep(SWEEPS / "sensitivity.yaml", [
        "samples=2", "parameters.lifecycle.driver_effects.maturity->decline.price_gap.range=[0, 1]",
        "parameters.market.competitor_yield.range=[0.05, 0.056]"])  # a new one, at the end
    assert spec.parameters["lifecycle.driver_effects.maturity->decline.price_gap"].range == (
        0.0, 1.0)
    assert list(spec.parameters)[-1] == "market.competitor_yield" and len(spec.parameters) == 6
    assert len(design_points(spec)) == 2 * (6 + 2)


def test_a_resumed_sweep_removes_what_a_kill_left_half_written(tmp_path: Path) -> None:
    """kill -9 while design.csv was being written (caught by polling) left its empty
    .design.csv.PID-THREAD.tmp; resuming cleaned runs/ only, so it stayed for good."""
    spec, base = load_sweep(write_sweep(
        tmp_path, "parameters: {market.competitor_yield: {values: [0.05]}}\n"))
    out = tmp_path / "out"
    run_sweep(spec, base, out, executor="serial")
    left = [out / ".design.csv.31234-140707287886720.tmp", out / ".runs.parquet.7-8.tmp",
            out / "runs" / ".point-00000-rep-0000.parquet.7-8.tmp",
            out / "figures" / ".sensitivity.png.7-8.tmp"]
    for path in left:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"")
    run_sweep(spec, base, out, executor="serial")
    assert [p for p in left if p.exists()] == []
    assert len(pd.read_parquet(out / "runs.parquet")) == 1


def test_an_unreachable_scheduler_leaves_no_sweep_folder(
    tmp_path: Path, unreachable_scheduler: str
) -> None:
    """It left sweep.yaml and design.csv behind (bad input must leave nothing)."""
    from sim.executors import SchedulerError
    spec, base = load_sweep(write_sweep(
        tmp_path, "parameters: {market.competitor_yield: {values: [0.05]}}\n"))
    with pytest.raises(SchedulerError):
        run_sweep(spec, base, tmp_path / "results" / "s", executor="dask",
                  scheduler=unreachable_scheduler)
    assert not (tmp_path / "results").exists()


def test_the_sensitivity_figure_of_many_outputs_wraps_into_rows(tmp_path: Path) -> None:
    """Six outputs were six panels in one row: a 3,300 × 423 pixel strip whose 8-point
    labels no page or slide can show at a readable size."""
    from PIL import Image

    from sim.sweep_figures import sensitivity_figure

    outputs = ["profit", "retention_end", "aum_end", "revenue", "churned", "acquired"]
    names = [f"lifecycle.driver_effects.{m}.satisfaction"
             for m in ("maturity->decline", "decline->churned", "decline->maturity")]
    table = pd.DataFrame([{"output": o, "parameter": n, "ST": 0.5, "ST_conf": 0.1}
                          for o in outputs for n in names])
    sensitivity_figure(table, ("ST", "ST_conf"), tmp_path / "six.png")
    row = 110 * (1.6 + 0.45 * len(names))  # pixels: a row of panels, as for two outputs
    assert Image.open(tmp_path / "six.png").size == (3 * 5 * 110, round(2 * row))  # 3 × 2
    sensitivity_figure(table[table["output"].isin(outputs[:2])], ("ST", "ST_conf"),
                       tmp_path / "two.png")
    assert Image.open(tmp_path / "two.png").size == (2 * 5 * 110, round(row))  # as before


@pytest.mark.parametrize("design", ["sobol", "morris"])
def test_one_sample_is_refused_where_it_would_give_a_zero_width_interval(
    tmp_path: Path, design: str
) -> None:
    """samples: 1 ran, and Sobol reported ST = 2.0 with a 95% interval of 0 (every
    bootstrap resample of one base sample is the same)."""
    from sim.scenario import ScenarioError

    body = (f"design: {design}\nsamples: 1\n"
            "parameters: {market.competitor_yield: {range: [0.05, 0.056]}}\n")
    with pytest.raises(ScenarioError, match=f"samples: got 1; design {design} needs at least 2"):
        load_sweep(write_sweep(tmp_path, body))
    spec, _ = load_sweep(write_sweep(tmp_path, body.replace("samples: 1", "samples: 2")))
    assert spec.samples == 2


@pytest.mark.parametrize(("samples", "neighbours"), [(3, "e.g. 2 or 4"), (6, "e.g. 4 or 8"),
                                                     (100, "e.g. 64 or 128")])
def test_sobol_samples_that_are_not_a_power_of_2_are_one_line_exit_2(
    tmp_path: Path, samples: int, neighbours: str, capsys: pytest.CaptureFixture[str],
    recwarn: pytest.WarningsRecorder,
) -> None:
    """samples: 3 ran, printing SALib's "The balance properties of Sobol' points require n to
    be a power of 2" twice (checking the points, then running them) in the middle of the
    progress bar; the indices of an unbalanced sequence are less accurate."""
    body = (f"design: sobol\nsamples: {samples}\n"
            "parameters: {market.competitor_yield: {range: [0.05, 0.056]}}\n")
    out = tmp_path / "out"
    assert main(["sweep", str(write_sweep(tmp_path, body)), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert (f"s.yaml: samples: got {samples}; design sobol needs a power of 2" in err
            and neighbours in err), err
    assert not out.exists() and not [w for w in recwarn if "SALib" in str(w.filename)]


def test_sobol_sample_sizes_the_docs_give_are_accepted(recwarn: pytest.WarningsRecorder) -> None:
    """The shipped file's 32, the README's --set samples=256, the tests' 2 (powers of 2)."""
    from sim.sweep_schema import SweepSpec

    for samples in (2, 32, 256):
        spec = SweepSpec.model_validate({
            "base": "unused.yaml", "design": "sobol", "samples": samples,
            "parameters": {"a": {"range": [0.0, 1.0]}, "b": {"range": [0.0, 1.0]}}})
        assert len(design_points(spec)) == samples * (2 + 2)
    assert [str(w.message) for w in recwarn] == []


def test_an_output_the_same_at_every_point_has_no_sobol_indices(
    tmp_path: Path, recwarn: pytest.WarningsRecorder
) -> None:
    """acquired over the churn effects of sensitivity.yaml is the same at every point: SALib
    printed NumPy's "invalid value encountered in divide" and reported S1 = ST = 0 ± 0, a
    share of a variance of 0. Morris's elementary effects of 0 are defined: kept."""
    from sim.sweep import sensitivity
    from sim.sweep_schema import SweepSpec

    for design, index in (("sobol", "ST"), ("morris", "mu_star")):
        spec = SweepSpec.model_validate({
            "base": "unused.yaml", "design": design, "samples": 8,
            "parameters": {"a": {"range": [0.0, 1.0]}, "b": {"range": [0.0, 1.0]}},
            "outputs": ["profit", "acquired"]})
        points = design_points(spec)
        x = points.to_numpy(dtype=float)
        pd.DataFrame({"point": points.index, "replication": 0, "profit": x[:, 0] + x[:, 1],
                      "acquired": 412.0}).to_parquet(tmp_path / "runs.parquet")
        table = sensitivity(spec, points, tmp_path / "runs.parquet").set_index("output")
        assert (table.loc["profit", index] > 0).all()
        acquired = table.loc["acquired"].drop(columns="parameter")
        if design == "sobol":
            assert acquired.isna().all().all(), acquired
        else:
            assert (acquired == 0).all().all(), acquired
    assert [str(w.message) for w in recwarn] == []


def test_the_sweep_command_says_why_an_output_has_no_indices(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One line each: missing at some points, or the same at every point."""
    import sim.sweep

    def fake_run(spec, base, sweep_dir, **kwargs):  # the files a sobol sweep writes
        sweep_dir.mkdir(parents=True)
        points = design_points(spec)
        x = points.to_numpy(dtype=float)
        pd.DataFrame({"point": points.index, "replication": 0, "profit": x.sum(axis=1),
                      "retention_12m": np.nan, "acquired": 412.0}).to_parquet(
            sweep_dir / "runs.parquet")
        sensitivity(spec, points, sweep_dir / "runs.parquet").to_csv(
            sweep_dir / "sensitivity.csv", index=False)
        return sweep_dir / "runs.parquet"

    from sim.sweep import sensitivity

    monkeypatch.setattr(sim.sweep, "run_sweep", fake_run)
    body = ("design: sobol\nsamples: 2\n"
            "parameters: {market.competitor_yield: {range: [0.05, 0.056]}}\n"
            "outputs: [profit, retention_12m, acquired]\n")
    assert main(["sweep", str(write_sweep(tmp_path, body)), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "no indices for retention_12m: missing at some points" in out
    assert "no indices for acquired: the same at every point" in out


def test_numbers_written_with_an_exponent_are_numbers_in_a_sweep(tmp_path: Path) -> None:
    """PyYAML read ``2e2`` (YAML 1.1: no dot) as a string: the sweep was refused."""
    spec, _ = load_sweep(write_sweep(
        tmp_path, "parameters: {strategies.0.params.face_value: {values: [2e2, 1E3]}}\n",
        [*SMALL, "strategies.0.budget.monthly=1e15"]))
    assert spec.parameters["strategies.0.params.face_value"].values == [200.0, 1000.0]
    assert design_points(spec)["strategies.0.params.face_value"].tolist() == [200.0, 1000.0]


def test_every_point_is_checked_with_progress_but_not_again_on_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check of a 100k-point design took 1-2 minutes before the first run, on every
    resume, with nothing on screen: it reports progress and skips the points already run."""
    import sim.sweep_schema

    path = write_sweep(tmp_path, "parameters: {market.competitor_yield: {values: [0.05, 0.06, "
                       "0.07]}}\noutputs: [profit]\n")
    ticks: list[tuple[int, int]] = []
    spec, base = load_sweep(path, resume_in=tmp_path / "out", progress=lambda d, t:
                            ticks.append((d, t)))
    assert ticks[0] == (0, 3) and ticks[-1] == (3, 3)  # a fresh sweep: every point
    run_sweep(spec, base, tmp_path / "out" / spec.name, executor="serial")
    (tmp_path / "out" / spec.name / "runs" / "point-00001-rep-0000.parquet").unlink()
    checked: list[object] = []
    real = sim.sweep_schema.scenario_from_dict
    monkeypatch.setattr(sim.sweep_schema, "scenario_from_dict",
                        lambda data, source: checked.append(data) or real(data, source))
    ticks.clear()
    load_sweep(path, resume_in=tmp_path / "out", progress=lambda d, t: ticks.append((d, t)))
    assert ticks[-1] == (1, 1) and len(checked) == 1  # only the point not run yet
    assert checked[0]["market"]["competitor_yield"] == 0.06  # type: ignore[index]
    checked.clear()
    load_sweep(path, ["samples=5"], resume_in=tmp_path / "out")  # another sweep: all checked
    assert len(checked) == 3
    checked.clear()
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--executor", "serial",
                 "--quiet", "--no-figures"]) == 0
    assert len(checked) == 1  # the command resumes without checking again what ran
    assert len(pd.read_parquet(tmp_path / "out" / spec.name / "runs.parquet")) == 3


def test_a_sweep_over_null_is_checked_as_it_runs(tmp_path: Path) -> None:
    """Each value was checked as ``key=str(value)``: null became the string 'None' and an
    unlimited budget next to a limited one was refused ("got 'None'")."""
    spec, _ = load_sweep(write_sweep(
        tmp_path, "parameters: {strategies.0.budget.monthly: {values: [null, 50000]}}\n"))
    assert spec.parameters["strategies.0.budget.monthly"].values == [None, 50000]


@pytest.mark.parametrize(("body", "message"), [
    ("design: lhs\nparameters: {market.competitor_yield: {range: [0.01, .inf]}}\n",
     "parameters.market.competitor_yield.range.1: got inf; input should be a finite number"),
    ("design: lhs\nparameters: {market.competitor_yield: {range: [.nan, 0.06]}}\n",
     "parameters.market.competitor_yield.range.0: got nan; input should be a finite number"),
    ("parameters: {market.competitor_yield: {values: [.nan, 0.05]}}\n",
     "parameters.market.competitor_yield: value .nan: market.competitor_yield: got nan; "
     "expected a finite number"),
])
def test_nan_and_inf_in_a_sweep_are_one_line_naming_the_parameter(
    tmp_path: Path, body: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The message read "... got 'inf' ... (from --set market.competitor_yield=inf)": a
    string, and a --set the user never gave."""
    assert main(["sweep", str(write_sweep(tmp_path, body))]) == 2
    err = capsys.readouterr().err
    assert message in err and "--set" not in err and err.count("\n") == 1, err


@pytest.mark.parametrize(("content", "message"), [
    (None, "file not found; expected a path to a sweep YAML file"),
    ("# nothing yet\n", "file is empty, expected a mapping of sweep keys"),
])
def test_a_missing_or_empty_sweep_file_is_called_a_sweep_file(
    tmp_path: Path, content: str | None, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both said "scenario" of a sweep file."""
    path = tmp_path / "s.yaml"
    if content is not None:
        path.write_text(content)
    assert main(["sweep", str(path)]) == 2
    assert f"{path}: {message}" in capsys.readouterr().err


def test_a_base_that_is_a_directory_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(f"base: {tmp_path}\n"
                    "parameters: {market.competitor_yield: {values: [0.05]}}\n")
    assert main(["sweep", str(path)]) == 2
    assert "base: got" in (err := capsys.readouterr().err) and "that is a directory" in err, err


def test_a_stray_run_file_not_named_by_a_point_does_not_stop_the_resume(tmp_path: Path) -> None:
    """points_run took the second dash-separated part of every 'point-*-rep-*.parquet' as
    a number: a stray 'point-old-rep-0000.parquet' was a ValueError traceback on resume."""
    from sim.sweep import points_run

    path = write_sweep(tmp_path, "parameters: {market.competitor_yield: {values: [0.05, 0.06]}}"
                       "\noutputs: [profit]\n")
    spec, base = load_sweep(path)
    sweep_dir = tmp_path / "out" / spec.name
    run_sweep(spec, base, sweep_dir, executor="serial")
    (sweep_dir / "runs" / "point-old-rep-0000.parquet").write_bytes(b"")
    (sweep_dir / "runs" / "point-00001-rep-x.parquet").write_bytes(b"")
    assert points_run(spec, base, sweep_dir) == {0, 1}
    load_sweep(path, resume_in=tmp_path / "out")
