"""The executor interface: every executor yields every result once, in any order."""

from __future__ import annotations

import math
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sim.executors import map_unordered


def _die_once(path: str) -> int:
    """Kill this worker process the first time (a lost worker), succeed afterwards."""
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write("died")
        os.kill(os.getpid(), signal.SIGKILL)
    return 7


@pytest.mark.parametrize("executor", ["serial", "processes"])
def test_every_item_once(executor: str) -> None:
    items = [1.0, 4.0, 9.0, 16.0, 25.0]
    got = dict(map_unordered(math.sqrt, items, executor=executor, workers=2))  # type: ignore[arg-type]
    assert got == {i: math.sqrt(x) for i, x in enumerate(items)}


def test_lost_process_worker_is_retried(tmp_path) -> None:
    flag = str(tmp_path / "died")
    got = dict(map_unordered(_die_once, [flag, flag], executor="processes", workers=2))
    assert got == {0: 7, 1: 7}


def test_bad_executor_and_scheduler_without_dask() -> None:
    with pytest.raises(ValueError, match="executor"):
        list(map_unordered(math.sqrt, [1.0], executor="threads"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="scheduler"):
        list(map_unordered(math.sqrt, [1.0], executor="serial", scheduler="tcp://x:1"))


def _threads(_: int) -> str | None:
    return os.environ.get("OPENBLAS_NUM_THREADS")


def test_process_workers_use_one_blas_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    got = dict(map_unordered(_threads, [0, 1], executor="processes", workers=2))
    assert got == {0: "1", 1: "1"}
    assert "OPENBLAS_NUM_THREADS" not in os.environ  # the parent is left as it was


def _numba_threads(_: int) -> int:
    import numba

    return int(numba.get_num_threads())


@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_workers_run_compiled_loops_on_one_thread(
    executor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # two workers each running Numba's threads on every core: measured 3.3 s -> 18-23 s for
    # a 200k x 24-month run beside one other busy process on 2 cores (OpenMP spinning)
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    got = dict(map_unordered(_numba_threads, [0, 1], executor=executor,  # type: ignore[arg-type]
                             workers=2))
    assert got == {0: 1, 1: 1}
    assert "NUMBA_NUM_THREADS" not in os.environ


def _always_die(_: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return 0


def test_a_dask_run_whose_workers_keep_dying_ends_in_worker_lost() -> None:
    """Dask gives up on a task whose workers keep dying (KilledWorker); the executor says
    so as WorkerLostError, which ``clmsim`` reports in one line with exit code 1."""
    import dask
    from distributed import LocalCluster

    from sim.executors import WorkerLostError

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True,
            dashboard_address=None) as cluster, pytest.raises(WorkerLostError, match="dying"):
        list(map_unordered(_always_die, [0], executor="dask",
                           scheduler=cluster.scheduler_address))


def test_a_scheduler_address_that_is_not_one_is_refused_in_one_line(
    cli: Callable[..., Any], baseline_path: Path, tmp_path: Path
) -> None:
    result = cli("run", baseline_path, "--scheduler", "notaurl", "--out", tmp_path / "out")
    assert result.code == 2 and len(result.err_lines) == 1
    assert "--scheduler: got 'notaurl'; expected tcp://HOST:PORT" in result.err
    assert not (tmp_path / "out").exists()  # refused before anything is written


def test_an_unreachable_scheduler_is_blamed_not_the_scenario(
    unreachable_scheduler: str,
) -> None:
    from sim.executors import SchedulerError, dask_client
    with (pytest.raises(SchedulerError, match=r"--scheduler tcp://127.0.0.1:1: cannot connect"),
          dask_client(1, unreachable_scheduler)):
        pass


def _fail_first(x: float) -> float:
    import time

    if x == 0:
        raise ValueError("run 0 failed")
    time.sleep(x)
    return x


def test_a_failed_run_cancels_the_queued_ones() -> None:
    """The error is reported once the running runs end, not after every queued one."""
    import time

    start = time.monotonic()
    with pytest.raises(ValueError, match="run 0 failed"):
        list(map_unordered(_fail_first, [0.0] + [2.0] * 10, executor="processes", workers=2))
    # every queued run would be ≥ 10 s more (ten runs of 2 s on 2 workers, after one of them
    # took its first): with them cancelled, one running run and the workers' start remain
    assert time.monotonic() - start < 9


def test_stop_signals_are_held_with_another_thread_running() -> None:
    """A Ctrl-C while workers start waits until they have: also when another thread runs.

    The signal mask holds a signal in one thread only; rich's progress bar refreshes in
    another, where the kernel would deliver it (a reviewer's finding).
    """
    import threading
    import time

    from sim.executors import _stop_signals_held

    stop = threading.Event()
    threading.Thread(target=stop.wait, daemon=True).start()
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        try:
            with _stop_signals_held():
                timer.start()
                time.sleep(0.8)
                held_until = time.monotonic() - start
        finally:
            stop.set()
    assert held_until >= 0.8  # the block ran to its end
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
