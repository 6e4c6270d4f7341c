"""Run a scenario's replications and write its results to disk.

Replications are independent (each has its own random streams, spawned from
the scenario seed and the replication number), so they run in any order on
any executor and give identical results: ``serial`` in this process, or
``processes`` (the default when there is more than one replication and more
than one core). Each finished replication is written at once, atomically,
under ``<run>/replications/``; a run interrupted part-way resumes with
``resume=True`` and only runs what is missing.

With ``shards`` (issue 7), each replication is one bank split by branch into
shards stepped together month by month (:mod:`sim.shards`): on ``dask`` each
shard lives on a worker and replications run one after the other; on
``serial`` and ``processes`` the shards run in one process, replications as
usual. The results are written exactly as an unsharded run's.

Layout of a run directory (ARCHITECTURE decision 7)::

    manifest.json  scenario.resolved.yaml  layout.json  monthly.parquet  summary.csv
    figures/stages.png  figures/segments.png  figures/profit.png
    replications/rep-0000.parquet ...
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd

from sim.executors import (
    ExecutorName,
    dask_client,
    default_workers,
    map_unordered,
)
from sim.model import LifecycleModel
from sim.scenario import scenario_hash, scenario_to_yaml
from sim.schema import Scenario
from sim.shard_run import run_sharded
from sim.shards import check_shards
from sim.summary import summarise

__all__ = ["RunResult", "atomic_write", "made_for_results", "remove_temporaries",
           "run_replication", "run_scenario"]

Progress = Callable[[int], None]


def run_replication(
    scenario: Scenario, replication: int, on_month: Progress | None = None, shards: int = 1
) -> pd.DataFrame:
    """Simulate one replication and return its tidy monthly frame.

    With ``shards`` > 1 the bank is split by branch into shards run in this
    process (:func:`sim.shard_run.run_sharded`).
    """
    if shards > 1:
        return run_sharded(scenario, replication, shards, on_month=on_month)
    model = LifecycleModel(scenario, replication=replication)
    for _ in range(scenario.horizon_months):
        model.step()
        if on_month is not None:
            on_month(1)
    frame = model.monthly_frame()
    n = len(frame)
    keys = pd.DataFrame({"scenario": [scenario.name] * n, "replication": replication,
                         "seed": scenario.seed})
    return pd.concat([keys, frame], axis=1)


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """Call ``write(tmp)`` then rename ``tmp`` to ``path``: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def remove_temporaries(directory: Path) -> None:
    """Remove the temporary files :func:`atomic_write` left behind in ``directory``.

    A writer killed between writing and renaming (a worker stopped by Ctrl-C,
    ``kill -9``, out of memory) leaves its ``.NAME.PID-THREAD.tmp``; nothing
    reads it. A resumed run or sweep calls this before it starts.
    """
    for tmp in directory.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def _replicate(job: tuple[Scenario, int, str, int]) -> int:
    """Run one replication and write its file where it runs (a picklable job).

    Writing in the worker keeps the parent free (it only counts finished
    replications) and nothing large travels back.
    """
    scenario, replication, path, shards = job
    frame = run_replication(scenario, replication, shards=shards)
    atomic_write(Path(path), frame.to_parquet)
    return replication


def _replication_path(run_dir: Path, replication: int) -> Path:
    return run_dir / "replications" / f"rep-{replication:04d}.parquet"


def _run_all(
    scenario: Scenario, run_dir: Path, todo: list[int], executor: ExecutorName, workers: int,
    scheduler: str | None, tick: Progress, shards: int = 1,
) -> None:
    """Run and write every replication in ``todo`` (month-level progress when serial)."""
    if executor == "serial":
        for rep in todo:
            frame = run_replication(scenario, rep, tick, shards)
            atomic_write(_replication_path(run_dir, rep), frame.to_parquet)
        return
    if shards > 1 and executor == "dask":  # the shards of each replication on the workers
        with dask_client(workers, scheduler) as client:
            for rep in todo:
                frame = run_sharded(scenario, rep, shards, client=client, on_month=tick)
                atomic_write(_replication_path(run_dir, rep), frame.to_parquet)
        return
    jobs = [(scenario, rep, str(_replication_path(run_dir.resolve(), rep)), shards)
            for rep in todo]
    # closing: an interrupt (Ctrl-C, SIGTERM) here stops the workers now, not at garbage collection
    with closing(map_unordered(_replicate, jobs, executor=executor, workers=workers,
                               scheduler=scheduler)) as finished:
        for _ in finished:
            tick(scenario.horizon_months)


@dataclass(frozen=True)
class RunResult:
    """Where a run's results are and its headline figures."""

    run_dir: Path
    monthly: pd.DataFrame
    summary: pd.DataFrame
    wall_seconds: float


def run_scenario(
    scenario: Scenario,
    run_dir: Path,
    *,
    executor: ExecutorName | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    figures: bool = True,
    resume: bool = False,
    progress: Progress | None = None,
    shards: int = 1,
) -> RunResult:
    """Run every replication of ``scenario`` and write the results into ``run_dir``.

    Args:
        scenario: The validated scenario.
        run_dir: Directory to write; must not exist unless ``resume`` is true.
        executor: ``"serial"``, ``"processes"`` or ``"dask"``; default: processes when
            useful (see :mod:`sim.executors`).
        workers: Worker processes; default: one per core, at most one per replication.
        scheduler: Dask scheduler address ``tcp://HOST:PORT`` (``dask`` only; default:
            a local cluster).
        figures: Whether to draw the standard figures.
        resume: Keep replications already written in ``run_dir`` and run the rest.
        progress: Called with a number of months completed, for a progress bar.
        shards: Split the bank by branch into this many shards (:mod:`sim.shards`);
            1 runs the whole bank in one model.

    Returns:
        The run's location, monthly frame and summary.
    """
    started = time.perf_counter()
    check_shards(scenario, shards)
    if run_dir.exists() and not resume:
        raise FileExistsError(f"{run_dir} already exists; choose another --out or resume it")
    with made_for_results(run_dir, "replications/rep-*.parquet"):
        return _run_in(scenario, run_dir, started, executor, workers, scheduler, figures,
                       resume, progress, shards)


@contextmanager
def made_for_results(folder: Path, results: str) -> Iterator[None]:
    """Make ``folder`` (and its parents); if nothing comes of it, remove what was made.

    An unreachable ``--scheduler`` is bad input, which must leave nothing
    half-made behind; a run that fails (a plugin's bug, memory) or is
    interrupted before its first result leaves only its settings, which
    nothing can resume from that a fresh run would not redo. So when the body
    raises, the folders made here are removed again, unless a file matching
    ``results`` (a glob under ``folder``) was written meanwhile: finished
    results are kept for ``--resume``. A folder that existed (a resumed run or
    sweep) is left as it was.
    """
    made = [d for d in (folder, *folder.parents) if not d.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:  # SchedulerError, StrategyError, MemoryError, KeyboardInterrupt...
        if made and not any(folder.glob(results)):
            shutil.rmtree(folder, ignore_errors=True)
            for parent in made[1:]:  # innermost first, while empty
                if parent.exists() and not any(parent.iterdir()):
                    parent.rmdir()
        raise


def _run_in(
    scenario: Scenario, run_dir: Path, started: float, executor: ExecutorName | None,
    workers: int | None, scheduler: str | None, figures: bool, resume: bool,
    progress: Progress | None, shards: int,
) -> RunResult:
    """:func:`run_scenario` once its folder exists."""
    resolved = scenario_to_yaml(scenario)
    old = run_dir / "scenario.resolved.yaml"
    if resume and old.exists() and old.read_text(encoding="utf-8") != resolved:
        raise FileExistsError(f"{run_dir} holds a different scenario; cannot resume it")
    layout = run_dir / "layout.json"  # how its replications were computed (shards)
    if resume and layout.exists():
        before = json.loads(layout.read_text(encoding="utf-8")).get("shards", 1)
        if before != shards:  # sharded and whole-bank replications differ, if only by chance
            raise FileExistsError(f"{run_dir} was run with --shards {before}; resume it with "
                                  f"--shards {before}, not {shards}")
    atomic_write(old, lambda p: p.write_text(resolved, encoding="utf-8"))
    atomic_write(layout, lambda p: p.write_text(json.dumps({"shards": shards}) + "\n",
                                                encoding="utf-8"))
    reps = range(scenario.replications)
    remove_temporaries(run_dir / "replications")
    todo = [r for r in reps if not _replication_path(run_dir, r).exists()]
    on_workers = shards > 1 and (executor == "dask" or scheduler is not None)
    workers = workers or default_workers(max(shards if on_workers else len(todo), 1))
    if executor is None:
        useful = workers > 1 and len(todo) > 1
        executor = "dask" if scheduler else "processes" if useful else "serial"
    tick = progress or (lambda n: None)
    tick(scenario.horizon_months * (len(reps) - len(todo)))
    _run_all(scenario, run_dir, todo, executor, workers, scheduler, tick, shards)
    monthly = pd.concat(
        [pd.read_parquet(_replication_path(run_dir, r)) for r in reps], ignore_index=True
    )
    summary = summarise(monthly)
    atomic_write(run_dir / "monthly.parquet", lambda p: monthly.to_parquet(p, index=False))
    atomic_write(run_dir / "summary.csv", summary.to_csv)
    if figures:
        from sim.figures import write_figures  # matplotlib: not needed in workers

        write_figures(monthly, run_dir / "figures", scenario.name)
    wall = time.perf_counter() - started
    manifest = {
        "package": "clmsim",
        "version": version("clmsim"),
        "scenario": scenario.name,
        "scenario_hash": scenario_hash(scenario),
        "seed": scenario.seed,
        "replications": scenario.replications,
        "horizon_months": scenario.horizon_months,
        "executor": executor,
        "workers": workers,
        "shards": shards,
        "resumed_replications": scenario.replications - len(todo),
        "wall_seconds": round(wall, 3),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "mesa": version("mesa"),
        "numpy": version("numpy"),
    }
    atomic_write(
        run_dir / "manifest.json",
        lambda p: p.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8"),
    )
    return RunResult(run_dir, monthly, summary, wall)
