"""A real Dask cluster on loopback: ``dask scheduler`` and ``dask worker`` subprocesses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.runner import run_scenario
from tests.sim.test_runner import tiny

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_workers(address: str, n: int, timeout: float = 60.0) -> None:
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(n, timeout=timeout)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    worker = [sys.executable, "-m", "distributed.cli.dask_worker"]
    log = (tmp_path / "dask.log").open("w")
    procs = [subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", ":0"], env=env, stdout=log, stderr=log,
                              cwd=tmp_path)]
    try:
        time.sleep(1.0)
        procs.append(subprocess.Popen(
            [*worker, address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard",
             "--local-directory", str(tmp_path / "w")], env=env, stdout=log, stderr=log,
            cwd=tmp_path))
        _wait_for_workers(address, 2)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        log.close()


@pytest.mark.slow
def test_runs_through_a_real_scheduler_and_workers(cluster: str, tmp_path: Path) -> None:
    serial = run_scenario(tiny(), tmp_path / "serial", executor="serial", figures=False)
    remote = run_scenario(tiny(), tmp_path / "remote", executor="dask", scheduler=cluster,
                          figures=False)
    pd.testing.assert_frame_equal(pd.read_parquet(serial.run_dir / "monthly.parquet"),
                                  pd.read_parquet(remote.run_dir / "monthly.parquet"))
    scenario = ROOT / "scenarios" / "baseline.yaml"
    code = main(["run", str(scenario), "--executor", "dask", "--scheduler", cluster,
                 "--replications", "2", "--set", "horizon_months=3",
                 "--set", "population.size=2000", "--set", "population.prospects=200",
                 "--set", "market.prospect_arrivals_per_month=50",
                 "--out", str(tmp_path / "cli"), "--run-id", "r", "--no-figures", "--quiet"])
    assert code == 0
    assert (tmp_path / "cli" / "baseline" / "r" / "monthly.parquet").exists()
    # a small sweep through the same cluster gives the same table as a serial one
    from sim.sweep import run_sweep
    from sim.sweep_schema import load_sweep
    from tests.sim.test_sweep import GRID, write_sweep

    spec, base = load_sweep(write_sweep(tmp_path, GRID))
    local = run_sweep(spec, base, tmp_path / "sweep-serial", executor="serial", figures=False)
    dask_runs = run_sweep(spec, base, tmp_path / "sweep-dask", executor="dask",
                          scheduler=cluster, figures=False)
    pd.testing.assert_frame_equal(pd.read_parquet(local), pd.read_parquet(dask_runs))
    # one bank in shards (issue 7): Dask actors in the worker processes = shards in process
    from tests.sim.util import small_bank

    bank = small_bank(size=2000, months=4)
    in_process = run_scenario(bank, tmp_path / "shards-serial", executor="serial",
                              figures=False, shards=3)
    on_workers = run_scenario(bank, tmp_path / "shards-dask", executor="dask", scheduler=cluster,
                              figures=False, shards=3)
    pd.testing.assert_frame_equal(in_process.monthly, on_workers.monthly, check_exact=True)
