"""Reproducibility: same scenario and seed give identical results on any executor."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.runner import run_scenario
from tests.sim.util import SCENARIOS, scaled


def tiny(seed: int = 3, replications: int = 3):
    return scaled(SCENARIOS / "baseline.yaml", 3_000, horizon_months=8,
                  replications=replications, seed=seed)


def read(run_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(run_dir / "monthly.parquet")


def test_same_seed_identical_across_executors(tmp_path: Path) -> None:
    serial = run_scenario(tiny(), tmp_path / "serial", executor="serial", figures=False)
    procs = run_scenario(tiny(), tmp_path / "procs", executor="processes", workers=2,
                         figures=False)
    pd.testing.assert_frame_equal(read(serial.run_dir), read(procs.run_dir))
    again = run_scenario(tiny(), tmp_path / "again", executor="serial", figures=False)
    assert (tmp_path / "serial" / "monthly.parquet").read_bytes() == (
        again.run_dir / "monthly.parquet").read_bytes()


def test_different_seeds_differ(tmp_path: Path) -> None:
    a = read(run_scenario(tiny(seed=1), tmp_path / "a", executor="serial", figures=False).run_dir)
    b = read(run_scenario(tiny(seed=2), tmp_path / "b", executor="serial", figures=False).run_dir)
    assert not a.drop(columns="seed").equals(b.drop(columns="seed"))
    assert (a.churned != b.churned).any()


def test_replications_are_independent_draws(tmp_path: Path) -> None:
    df = read(run_scenario(tiny(), tmp_path / "r", executor="serial", figures=False).run_dir)
    by_rep = [g.churned.to_numpy() for _, g in df.groupby("replication")]
    assert not (by_rep[0] == by_rep[1]).all()


def test_interrupted_run_resumes_without_redoing(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    full = read(run_scenario(tiny(), tmp_path / "full", executor="serial", figures=False).run_dir)
    run_scenario(tiny(), run_dir, executor="serial", figures=False)
    kept = run_dir / "replications" / "rep-0001.parquet"
    (run_dir / "replications" / "rep-0000.parquet").unlink()  # as if killed before it finished
    (run_dir / "monthly.parquet").unlink()
    stamp = kept.stat().st_mtime_ns
    months = []
    result = run_scenario(tiny(), run_dir, executor="serial", figures=False, resume=True,
                          progress=months.append)
    assert kept.stat().st_mtime_ns == stamp  # finished replication not redone
    assert sum(months) == 3 * 8
    pd.testing.assert_frame_equal(read(result.run_dir), full)
    manifest = (run_dir / "manifest.json").read_text()
    assert '"resumed_replications": 2' in manifest


def test_resume_refuses_a_different_scenario(tmp_path: Path) -> None:
    run_scenario(tiny(), tmp_path / "run", executor="serial", figures=False)
    with pytest.raises(FileExistsError, match="different scenario"):
        run_scenario(tiny(seed=9), tmp_path / "run", executor="serial", resume=True)


def test_an_unreachable_scheduler_leaves_no_run_folder(
    tmp_path: Path, unreachable_scheduler: str
) -> None:
    from sim.executors import SchedulerError
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "other").mkdir()  # a folder it did not make stays
    with pytest.raises(SchedulerError):
        run_scenario(tiny(), tmp_path / "results" / "baseline" / "run", executor="dask",
                     scheduler=unreachable_scheduler, figures=False)
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["other"]
    # a resumed run's folder is the user's: kept as it was
    run_scenario(tiny(replications=2), tmp_path / "kept", executor="serial", figures=False)
    (tmp_path / "kept" / "replications" / "rep-0001.parquet").unlink()
    before = sorted(p.name for p in (tmp_path / "kept").rglob("*"))
    with pytest.raises(SchedulerError):
        run_scenario(tiny(replications=2), tmp_path / "kept", executor="dask",
                     scheduler=unreachable_scheduler, figures=False, resume=True)
    assert sorted(p.name for p in (tmp_path / "kept").rglob("*")) == before


def test_existing_run_directory_is_not_overwritten(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        run_scenario(tiny(), run_dir, executor="serial")
    assert sorted(p.name for p in run_dir.iterdir()) == ["keep.txt"]


def test_strategies_are_identical_across_executors(tmp_path: Path) -> None:
    playbook = scaled(SCENARIOS / "abc_d_playbook.yaml", 3_000, horizon_months=4,
                      replications=2)
    serial = run_scenario(playbook, tmp_path / "serial", executor="serial", figures=False)
    procs = run_scenario(playbook, tmp_path / "procs", executor="processes", workers=2,
                         figures=False)
    a, b = read(serial.run_dir), read(procs.run_dir)
    pd.testing.assert_frame_equal(a, b)
    assert a.filter(like="cost_strategy_").to_numpy().sum() > 0


def test_dask_local_cluster_gives_identical_results(tmp_path: Path) -> None:
    serial = run_scenario(tiny(), tmp_path / "serial", executor="serial", figures=False)
    dask = run_scenario(tiny(), tmp_path / "dask", executor="dask", workers=2, figures=False)
    assert (serial.run_dir / "monthly.parquet").read_bytes() == (
        dask.run_dir / "monthly.parquet").read_bytes()
    assert '"executor": "dask"' in (dask.run_dir / "manifest.json").read_text()
