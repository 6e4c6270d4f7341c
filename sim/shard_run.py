"""Driving a sharded replication: the shards stepped month by month, in process or on Dask.

:mod:`sim.shards` says what a shard is and what shards exchange;
:func:`run_sharded` runs the month-end meeting (``docs/scaling.md``
section 2). On Dask each shard is an actor on a worker; a replication that
loses a worker is run again from month 0 on the workers then available
(deterministic, so with the same result), at most
:data:`~sim.executors.DASK_RETRIES` times.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.executors import DASK_RETRIES, WorkerLostError
from sim.shard_metrics import combine_frames
from sim.shards import Coordinator, ShardError, ShardReport, ShardWorker, check_shards

if TYPE_CHECKING:
    from sim.schema import Scenario

__all__ = ["RESTART_WAIT_SECONDS", "ShardedRun", "run_sharded"]

#: How long a retry waits for a lost worker to come back. A nanny restarts one in a few
#: seconds here (about 1.3 s measured, most of it importing clmsim); a minute leaves room
#: for a loaded machine before the shards go to the workers that are left.
RESTART_WAIT_SECONDS = 60.0

Progress = Callable[[int], None]


class ShardedRun:
    """One replication of the bank as shards, driven month by month (the coordinator's loop).

    Args:
        scenario: The bank's scenario.
        replication: Replication number.
        shards: Number of shards (>= 2; 1 is the unsharded model).
        client: A ``distributed.Client``: each shard is a Dask actor, placed on the
            workers in turn; None: every shard in this process, one after the other.
    """

    def __init__(self, scenario: Scenario, replication: int, shards: int,
                 client: Any = None) -> None:
        check_shards(scenario, shards)
        if shards < 2:
            raise ShardError(f"shards: got {shards}; a sharded run needs 2 or more "
                             "(one shard is LifecycleModel itself)")
        self.scenario = scenario
        self.replication = replication
        self.client = client
        if client is None:
            self._futures: list[Any] = []
            self.shards: list[Any] = [ShardWorker(scenario, replication, i, shards)
                                      for i in range(shards)]
        else:  # the futures keep the actors alive; one shard per worker, in turn
            addresses = sorted(client.scheduler_info()["workers"])
            if not addresses:
                raise WorkerLostError(f"no Dask worker to place the {shards} shards on "
                                      "(has the cluster started its workers?)")
            self._futures = [  # another worker if this one is gone (a lost worker's shards)
                client.submit(ShardWorker, scenario, replication, i, shards, actor=True,
                              workers=[addresses[i % len(addresses)]],
                              allow_other_workers=True, pure=False)
                for i in range(shards)]
            self.shards = [f.result() for f in self._futures]
        self.coordinator = Coordinator(scenario, shards, replication)
        self.reports: list[ShardReport] = self.call("report")
        self.month = 0

    def call(self, method: str, args: Sequence[Any] | None = None) -> list[Any]:
        """Call ``method`` on every shard (``args[i]`` to shard ``i``); results in shard order.

        On Dask all calls are sent before any is awaited, so the shards work at once.
        """
        calls = [getattr(shard, method)(*([] if args is None else [args[i]]))
                 for i, shard in enumerate(self.shards)]
        return calls if self.client is None else [c.result() for c in calls]

    def step(self) -> None:
        """One month: couplings out, every shard steps, reports back."""
        self.reports = self.call("step", self.coordinator.plan(self.reports))
        self.coordinator.close_month(self.reports)
        self.month += 1

    def monthly_frame(self) -> pd.DataFrame:
        """The bank's monthly metrics so far (as an unsharded model's ``monthly_frame``)."""
        frame = combine_frames(self.call("monthly_frame"), self.scenario)
        if self.scenario.channels is not None:  # the bank's desk, not the shards' estimates
            frame["channels_complaints_backlog"] = self.coordinator.backlogs
        return frame

    def lost_worker(self) -> bool:
        """Whether a shard's Dask worker has been lost (its actor's task is no longer held)."""
        return any(f.status not in ("finished", "pending") for f in self._futures)

    def close(self) -> None:
        """Let the shards go (Dask actors are deleted with their futures)."""
        self.shards, self._futures = [], []


def run_sharded(
    scenario: Scenario, replication: int, shards: int, *, client: Any = None,
    on_month: Progress | None = None,
) -> pd.DataFrame:
    """Simulate one replication of the bank split into ``shards`` shards.

    On Dask, a replication that loses a worker (a shard's actor can no longer
    be reached) is run again from month 0 on the workers then available, at
    most :data:`~sim.executors.DASK_RETRIES` times; a replication is
    deterministic, so the result is the one an undisturbed run gives.

    Args:
        scenario: The bank's scenario.
        replication: Replication number.
        shards: Number of shards (>= 2).
        client: A ``distributed.Client`` (shards as Dask actors), or None (in process).
        on_month: Called with 1 after each month, for a progress bar (a month run
            again after a lost worker is not reported twice).

    Returns:
        The tidy monthly frame of the bank, as :func:`sim.runner.run_replication`'s.

    Raises:
        WorkerLostError: Workers were lost in every attempt.
    """
    attempts = 1 if client is None else DASK_RETRIES + 1
    workers = 0 if client is None else len(client.scheduler_info()["workers"])
    reported = 0  # months already given to on_month
    for attempt in range(1, attempts + 1):
        month = 0

        def tick(_: int) -> None:
            nonlocal month, reported
            month += 1
            if on_month is not None and month > reported:
                on_month(1)
            reported = max(reported, month)

        try:
            frame = _run_once(scenario, replication, shards, client, tick)
            break
        except _WorkerGone as exc:
            if attempt == attempts:
                raise WorkerLostError(
                    f"replication {replication}: a Dask worker was lost in each of {attempts} "
                    f"attempts (last: {exc})") from exc
            _await_workers(client, workers)
    n = len(frame)
    keys = pd.DataFrame({"scenario": [scenario.name] * n, "replication": replication,
                         "seed": scenario.seed})
    return pd.concat([keys, frame], axis=1)


class _WorkerGone(Exception):
    """A shard's worker was lost during an attempt (see :func:`_run_once`)."""


def _run_once(scenario: Scenario, replication: int, shards: int, client: Any,
              tick: Progress) -> pd.DataFrame:
    """One attempt at a sharded replication: every month, then the combined frame.

    On Dask, an error that comes from a lost worker (its actor cannot be reached,
    or its actor's task failed with it) becomes :class:`_WorkerGone`; an error
    the model raised is passed on as it is.
    """
    try:
        run = ShardedRun(scenario, replication, shards, client)
    except Exception as exc:
        if client is not None and _lost_worker(exc):
            raise _WorkerGone(str(exc)) from exc
        raise
    try:
        for _ in range(scenario.horizon_months):
            run.step()
            tick(1)
        return run.monthly_frame()
    except Exception as exc:
        if client is not None and (_lost_worker(exc) or run.lost_worker()):
            raise _WorkerGone(str(exc)) from exc
        raise
    finally:
        run.close()


def _lost_worker(exc: BaseException) -> bool:
    """Whether ``exc`` is Dask's own sign of a lost worker, not an error a shard raised.

    A lost connection, a task killed with its worker, or an actor whose worker
    cannot be contacted; any other error (an ``OSError`` a strategy raised in a
    shard included) is the model's and is passed on, not retried.
    """
    from distributed import KilledWorker
    from distributed.comm import CommClosedError

    return (isinstance(exc, CommClosedError | KilledWorker)
            or (type(exc) is OSError and "Actor's worker" in str(exc)))  # distributed.actor


def _await_workers(client: Any, wanted: int, timeout: float = RESTART_WAIT_SECONDS) -> None:
    """Give a lost worker time to come back (a nanny restarts it); go on with fewer if not.

    Raises:
        WorkerLostError: No worker is left after ``timeout`` seconds.
    """
    # on a timeout the shards go to the workers that are left (allow_other_workers)
    with contextlib.suppress(TimeoutError):
        client.wait_for_workers(n_workers=wanted, timeout=timeout)
    if not client.scheduler_info()["workers"]:
        raise WorkerLostError(f"no Dask worker left after waiting {timeout:.0f} s for one")
