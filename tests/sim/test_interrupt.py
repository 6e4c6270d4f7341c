"""Ctrl-C and SIGTERM stop a run at once: workers gone, finished results kept, resumable.

The subprocess tests start ``python -m sim.cli`` in a session of its own and
signal it there (``os.killpg`` for Ctrl-C, as a terminal sends it to the whole
foreground process group; ``os.kill`` for ``kill PID``), so pytest itself is
never signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from sim.cli import main
from sim.executors import map_unordered

REPO = Path(__file__).resolve().parents[2]
REPLICATIONS = 12
#: A replication takes about 0.5 s on one core; the 10 or so left when the first is
#: written used to be run, all of them, before a Ctrl-C took effect.
RUN = [
    "run", str(REPO / "scenarios" / "baseline.yaml"),
    "--set", "population.size=1000", "--set", "population.prospects=100",
    "--set", "market.prospect_arrivals_per_month=10", "--set", "horizon_months=72",
    "--replications", str(REPLICATIONS), "--run-id", "r",
    "--executor", "processes", "--workers", "2", "--no-figures", "--quiet",
]
SWEEP = """\
name: s
base: {base}
set: [population.size=2000, population.prospects=200,
      market.prospect_arrivals_per_month=30, horizon_months=60]
design: grid
replications: 2
parameters:
  strategies.0.params.face_value: {{values: [200, 500, 1000]}}
  strategies.0.params.threshold: {{values: [50000, 100000, 200000]}}
outputs: [profit]
"""


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.Popen([sys.executable, "-m", "sim.cli", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def _wait_for_file(proc: subprocess.Popen[bytes], folder: Path) -> dict[Path, bytes]:
    """Wait until a result file is written; return those written, with their bytes."""
    deadline = time.monotonic() + 180  # a cold numba cache compiles for a minute
    while not list(folder.glob("*.parquet")):
        if proc.poll() is not None:
            pytest.fail(f"ended before writing anything: {proc.communicate()[1].decode()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("no result written in 180 s")
        time.sleep(0.05)
    return {f: f.read_bytes() for f in folder.glob("*.parquet")}


@pytest.fixture
def reap() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Kill whatever a failed test leaves running."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _interrupt(proc: subprocess.Popen[bytes], folder: Path, how: str,
               kept: str = "finished replications are kept (use --resume)",
               ) -> dict[Path, bytes]:
    """Signal ``proc`` once a result is written; check it stops at once and cleanly."""
    written = _wait_for_file(proc, folder)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert len(children) >= 2  # the two workers (and multiprocessing's resource tracker)
    sent = time.monotonic()
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        os.kill(proc.pid, signal.SIGTERM)  # the main process only: workers are its job
    _, err = proc.communicate(timeout=30)
    took = time.monotonic() - sent
    assert took < 10, f"took {took:.1f} s to stop"
    expected = ("interrupted", 130) if how == "ctrl-c" else ("terminated", 143)
    assert err.decode() == f"clmsim: {expected[0]}; {kept}\n"
    assert proc.returncode == expected[1]
    _, alive = psutil.wait_procs(children, timeout=5)
    assert not alive, f"left running: {[p.pid for p in alive]}"
    for path, data in written.items():  # finished results untouched
        assert path.read_bytes() == data
    return written


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_a_stopped_run_ends_at_once_and_resumes(
        how: str, tmp_path: Path, reap: list[subprocess.Popen[bytes]]) -> None:
    folder = tmp_path / "baseline" / "r" / "replications"
    reap.append(proc := _start([*RUN, "--out", str(tmp_path)]))
    written = _interrupt(proc, folder, how)
    # The queued replications were not run after the signal (they used to be, all of them).
    assert len(list(folder.glob("*.parquet"))) < REPLICATIONS - 4
    if how == "sigterm":
        return  # resuming is the same after either (and takes most of the time)
    stale = folder / ".rep-0015.parquet.123-456.tmp"  # as a worker killed mid-write leaves
    stale.write_bytes(b"half")
    reap.append(resumed := _start([*RUN, "--out", str(tmp_path), "--resume"]))
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err.decode()
    assert len(list(folder.glob("*.parquet"))) == REPLICATIONS
    assert not stale.exists()
    for path, data in written.items():  # kept, not run again
        assert path.read_bytes() == data


def test_a_stopped_dask_run_ends_at_once(tmp_path: Path,
                                         reap: list[subprocess.Popen[bytes]]) -> None:
    args = [a if a != "processes" else "dask" for a in RUN]
    reap.append(proc := _start([*args, "--out", str(tmp_path)]))
    _interrupt(proc, tmp_path / "baseline" / "r" / "replications", "ctrl-c")


def test_ctrl_c_while_dask_workers_start_is_one_line(
        tmp_path: Path, reap: list[subprocess.Popen[bytes]]) -> None:
    """Workers still importing get the terminal's Ctrl-C too: none may print a traceback."""
    args = [a if a != "processes" else "dask" for a in RUN]
    reap.append(proc := _start([*args, "--out", str(tmp_path)]))
    deadline = time.monotonic() + 180
    while not _worker_started(proc):
        assert proc.poll() is None, proc.communicate()[1].decode()
        assert time.monotonic() < deadline, "no worker started in 180 s"
        time.sleep(0.01)
    children = psutil.Process(proc.pid).children(recursive=True)
    os.killpg(proc.pid, signal.SIGINT)  # a worker is starting: it is importing
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err.decode().startswith("clmsim: interrupted") and err.decode().count("\n") == 1, \
        err.decode()
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"left running: {[p.pid for p in alive]}"


def _worker_started(proc: subprocess.Popen[bytes]) -> bool:
    """Whether a worker process exists: spawned, or forked by a fork server (same command)."""
    commands = [" ".join(_cmdline(p)) for p in psutil.Process(proc.pid).children(recursive=True)]
    return (any("spawn_main" in c for c in commands)
            or sum("forkserver" in c for c in commands) >= 2)


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:  # gone meanwhile
        return []


def test_a_stopped_sweep_ends_at_once(tmp_path: Path,
                                      reap: list[subprocess.Popen[bytes]]) -> None:
    sweep = tmp_path / "s.yaml"
    sweep.write_text(SWEEP.format(base=REPO / "scenarios" / "voucher.yaml"), encoding="utf-8")
    reap.append(proc := _start(["sweep", str(sweep), "--out", str(tmp_path), "--executor",
                                "processes", "--workers", "2", "--no-figures", "--quiet"]))
    # a sweep goes on by running the same command again: it has no --resume
    _interrupt(proc, tmp_path / "s" / "runs", "ctrl-c",
               "finished runs are kept (run the same command again to go on)")
    assert len(list((tmp_path / "s" / "runs").glob("*.parquet"))) < 18 - 4


def _nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_closing_the_iterator_early_stops_the_workers() -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    results = map_unordered(_nap, [0.1] + [30.0] * 6, executor="processes", workers=2)
    assert next(results) == (0, 0.1)
    workers = [p for p in psutil.Process().children(recursive=True)
               if p.pid not in before and "resource_tracker" not in " ".join(p.cmdline())]
    assert len(workers) == 2
    started = time.monotonic()
    results.close()
    assert time.monotonic() - started < 5  # not the 30 s of a running nap, nor 90 s of all
    _, alive = psutil.wait_procs(workers, timeout=5)
    assert not alive


def test_main_restores_the_sigterm_handler(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM)
    assert main(["run", str(REPO / "scenarios" / "baseline.yaml"), "--workers", "0",
                 "--out", str(tmp_path)]) == 2
    assert signal.getsignal(signal.SIGTERM) is before
