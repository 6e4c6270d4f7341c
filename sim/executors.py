"""Where runs execute: one interface over serial, local processes and Dask (decision 6).

:func:`map_unordered` applies a picklable function to each item and yields
``(index, result)`` as runs finish, in whatever order they finish. Nothing
accumulates: a caller that writes each result to disk as it arrives keeps
memory flat however many runs there are.

* ``serial`` runs in this process, in order.
* ``processes`` (the default) uses a spawn-context process pool, one worker
  per core unless told otherwise, each limited to one numerical-library
  thread (``OMP_NUM_THREADS=1`` etc.). If a worker dies (killed, out of memory)
  the pool breaks; the runs not yet finished are resubmitted once to a new
  pool.
* ``dask`` starts a :class:`distributed.LocalCluster` when no scheduler is
  given, or connects to ``tcp://HOST:PORT`` (a cluster started with
  ``dask scheduler`` and ``dask worker``). Runs on a worker that is lost are
  retried on another (``retries``).

Results are identical on every executor because each run derives all of its
randomness from its own arguments (ARCHITECTURE decision 5).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack, contextmanager, suppress
from typing import Any, Literal, TypeVar

__all__ = [
    "EXECUTORS",
    "ExecutorName",
    "SchedulerError",
    "WorkerLostError",
    "dask_client",
    "default_workers",
    "map_unordered",
    "scheduler_problem",
]

T = TypeVar("T")
R = TypeVar("R")
ExecutorName = Literal["serial", "processes", "dask"]
EXECUTORS: tuple[str, ...] = ("serial", "processes", "dask")
#: How many times Dask retries a run whose worker was lost.
DASK_RETRIES = 2


class WorkerLostError(RuntimeError):
    """A run kept losing its workers: retried as often as allowed and still lost."""


def default_workers(n_items: int | None = None) -> int:
    """One worker per core, and no more workers than items."""
    cores = os.cpu_count() or 1
    return max(1, min(cores, n_items)) if n_items is not None else cores


def map_unordered(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    executor: ExecutorName = "processes",
    workers: int | None = None,
    scheduler: str | None = None,
) -> Generator[tuple[int, R], None, None]:
    """Apply ``fn`` to every item; yield ``(index, result)`` as each run finishes.

    Interrupted (KeyboardInterrupt) or closed early, it stops at once: runs not
    started are cancelled and local worker processes are stopped, losing the
    runs in progress; on a Dask cluster given by ``scheduler`` a run in progress
    finishes on its worker.

    Args:
        fn: A module-level (picklable) function of one argument.
        items: The arguments, picklable.
        executor: ``"serial"``, ``"processes"`` or ``"dask"``.
        workers: Processes (or local Dask workers); default one per core.
        scheduler: Address ``tcp://HOST:PORT`` of a Dask scheduler (``dask`` only).

    Yields:
        The index of the item in ``items`` and ``fn(items[index])``.

    Raises:
        ValueError: For an unknown executor, or a scheduler without ``dask``.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor: got {executor!r}; expected one of {', '.join(EXECUTORS)}")
    if scheduler is not None and executor != "dask":
        raise ValueError("--scheduler: needs --executor dask")
    if not items:
        return
    if executor == "dask":
        yield from _dask(fn, items, workers, scheduler)
        return
    workers = workers or default_workers(len(items))
    if executor == "serial" or workers <= 1 or len(items) <= 1:
        for i, item in enumerate(items):
            yield i, fn(item)
        return
    yield from _processes(fn, items, workers)


def _processes(fn: Callable[[T], R], items: Sequence[T], workers: int) -> Iterator[tuple[int, R]]:
    todo = list(range(len(items)))
    for attempt in range(2):  # a broken pool (worker killed) is replaced once
        finished: set[int] = set()
        try:
            yield from _pool_round(fn, items, todo, workers, finished)
            return
        except BrokenProcessPool:
            if attempt == 1:
                raise
            todo = [i for i in todo if i not in finished]


#: Thread pools of numerical libraries, limited to one thread in each worker process.
#: Two workers each running a multi-threaded BLAS on a 2-core machine oversubscribe the
#: cores and ran every replication 4× slower (measured); Dask sets the same by default,
#: except for Numba, which ignores ``OMP_NUM_THREADS``: its OpenMP threads spin while they
#: wait for each other, and a 200k-customer × 24-month run beside one other busy process
#: on 2 cores took 18–23 s on two threads against 3.3–3.8 s on one (measured). Results do
#: not depend on the number of threads.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMBA_NUM_THREADS")


@contextmanager
def _single_threaded_children() -> Iterator[None]:
    """Spawned children inherit one-thread limits (unless the user set them)."""
    added = [v for v in THREAD_VARIABLES if v not in os.environ]
    for v in added:
        os.environ[v] = "1"
    try:
        yield
    finally:
        for v in added:
            os.environ.pop(v, None)


def _pool_round(
    fn: Callable[[T], R], items: Sequence[T], todo: list[int], workers: int, finished: set[int]
) -> Iterator[tuple[int, R]]:
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(min(workers, len(todo)), ctx, initializer=_worker_start)
    stopped = True  # until every result is in: leaving early stops the workers
    try:
        # Workers are spawned by the first submits, with the stop signals held (not lost):
        # a worker starts with them blocked and never sees a Ctrl-C meant for its parent.
        with _single_threaded_children(), _stop_signals_held():
            pending: dict[Future[R], int] = {pool.submit(fn, items[i]): i for i in todo}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                index = pending.pop(future)
                result = future.result()
                finished.add(index)
                yield index, result
        stopped = False
    except Exception:  # a run failed or the pool broke: the running runs finish, the queued
        stopped = False  # ones are cancelled (the error is reported once they are done)
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:  # KeyboardInterrupt (Ctrl-C, or SIGTERM via sim.cli), GeneratorExit: stop now
        if stopped:
            _stop_pool(pool)
        else:
            pool.shutdown(wait=True)


#: Signals that stop a run: Ctrl-C, and ``kill``'s default (``sim.cli`` turns it into
#: KeyboardInterrupt).
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})
#: How long to wait for a killed worker (or the pool's thread) to be gone.
STOP_WAIT_SECONDS = 10.0


@contextmanager
def _stop_signals_held(signals: frozenset[int] = STOP_SIGNALS) -> Iterator[None]:
    """Hold ``signals`` (SIGINT, SIGTERM) in this thread: delivered (not lost) on leaving.

    Processes started meanwhile inherit the mask, so a worker cannot be
    interrupted before :func:`_worker_start` has set its signals up; and the
    parent cannot be interrupted half-way through starting a worker or through
    stopping them (which would leave a worker running without its parent).
    """
    if not hasattr(signal, "pthread_sigmask"):  # not POSIX
        yield
        return
    # The mask holds a signal only in this thread: with another thread running (rich's
    # progress bar refreshes in one) the kernel delivers it there, and Python would still
    # raise in the main thread. So the main thread also defers its Python handlers: a
    # signal is recorded here and raised again on leaving.
    caught: list[int] = []
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        handlers = {s: signal.signal(s, lambda signum, frame: caught.append(signum))
                    for s in signals}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
        _restore_handlers(list(handlers.items()), caught)


def _restore_handlers(handlers: list[tuple[int, Any]], caught: list[int]) -> None:
    """Put ``handlers`` back, then raise the ``caught`` signals again (once each).

    A signal arriving meanwhile may run a handler just put back, which raises:
    each restore is in a ``finally`` of the one before, so none is skipped.
    """
    if not handlers:
        for signum in dict.fromkeys(caught):
            signal.raise_signal(signum)
        return
    try:
        signal.signal(*handlers[0])
    finally:
        _restore_handlers(handlers[1:], caught)


def _worker_start() -> None:
    """Initialise a pool worker: its parent alone decides when it stops.

    Ctrl-C reaches every process of the terminal's process group: a worker
    ignores it (no traceback from each worker, no result of an interrupted
    run sent back) and is killed by its parent. SIGTERM ends it at once.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel the runs not started, kill the workers and wait until they are gone.

    The results already yielded were written by their workers (atomically, by
    rename); the runs in progress are lost, a resumed run does them again. A
    worker is killed (SIGKILL) rather than asked to stop: it has nothing to
    clean up but the temporary file of a result it may be writing, which a
    resumed run removes. A worker still starting (importing) could not be
    asked anyway: it holds its signals until :func:`_worker_start`.
    """
    with _stop_signals_held():  # a second Ctrl-C does not cut the clean-up short
        # The pool forgets its processes and thread on shutdown: take them first.
        # (ProcessPoolExecutor.kill_workers() does this from Python 3.14.)
        processes: list[Any] = list((getattr(pool, "_processes", None) or {}).values())
        manager: threading.Thread | None = getattr(pool, "_executor_manager_thread", None)
        pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            p.kill()
        for p in processes:
            p.join(STOP_WAIT_SECONDS)
        if manager is not None:  # it sees the workers gone and lets the pipes go
            manager.join(STOP_WAIT_SECONDS)


class SchedulerError(ValueError):
    """``--scheduler`` is not an address, or no scheduler answers there."""


def scheduler_problem(address: str) -> str | None:
    """What is wrong with a ``--scheduler`` address's form, if anything (nothing is contacted)."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address, strict=False)
        if scheme in ("tcp", "tls", "ws", "wss", "ucx"):
            parse_host_port(location)
    except (ValueError, TypeError) as exc:
        return f"--scheduler: got {address!r}; expected tcp://HOST:PORT ({exc})"
    return None


@contextmanager
def dask_client(workers: int, scheduler: str | None) -> Iterator[Any]:
    """A ``distributed.Client``: of ``scheduler`` (``tcp://HOST:PORT``), or of a local cluster.

    The local cluster has ``workers`` single-threaded worker processes; both are
    closed on leaving.
    """
    from distributed import Client, LocalCluster
    from distributed.utils import silence_logging_cmgr

    from sim.dask_plugins import IgnoreInterrupts

    cluster: Any = None
    client: Any = None
    quiet = ExitStack()  # the local cluster's logs, until it is closed (LocalCluster's own
    try:  # silencing ends inside its close, before the scheduler's last complaints)
        if scheduler is None:
            quiet.enter_context(silence_logging_cmgr(logging.CRITICAL))
            # Workers' logs are silenced below CRITICAL: once clmsim closes the scheduler
            # (after a Ctrl-C, say), workers still running log warnings and errors that
            # are not the user's business (a failed run reaches clmsim as an exception).
            # Ctrl-C while the cluster starts is held until it stands (half-made, it
            # could not be closed); then it is closed like any other.
            with _stop_signals_held():
                _start_forkserver()
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                       processes=True, dashboard_address=None,
                                       silence_logs=logging.CRITICAL)
                client = Client(cluster)
                # Should a worker not be a fork server's (Windows), it ignores SIGINT
                # once it runs: a Ctrl-C reaches this process, which closes the cluster.
                client.register_plugin(IgnoreInterrupts(), name="clmsim-ignore-sigint")
        else:
            try:
                client = Client(scheduler, timeout="20s")
            except OSError as exc:  # a timeout or a refused connection: the address's fault
                raise SchedulerError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        yield client
    except BaseException:  # Ctrl-C, SIGTERM, a failed run: runs in progress are not waited for
        if cluster is not None:
            _kill_workers(cluster)
        raise
    finally:  # also when a Ctrl-C comes while the cluster starts
        with quiet:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()


def _kill_workers(cluster: Any) -> None:
    """Kill a local cluster's worker processes (SIGKILL): closing it would wait for their runs.

    Their results are lost, as with the ``processes`` executor (:func:`_stop_pool`);
    what they were writing is a temporary file a resumed run removes.
    """
    with _stop_signals_held():  # a second Ctrl-C does not cut this short
        for nanny in list(getattr(cluster, "workers", {}).values()):
            process = getattr(getattr(nanny, "process", None), "process", None)
            pid = getattr(process, "pid", None)
            if pid:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _start_forkserver() -> None:
    """Make the local cluster's workers forks of a server that ignores SIGINT from birth.

    A Ctrl-C reaches every process in the terminal's process group, workers
    still importing included, where it would print a traceback each (a
    plugin can only ignore it once a worker runs). Workers forked from
    multiprocessing's fork server inherit its handlers, and the server
    inherits an ignored SIGINT from this process, which ignores SIGINT only
    for the moment it takes to start the server (a Ctrl-C then is lost).
    The server also imports ``distributed`` once for all workers, so they
    start sooner. Not on Windows, which has no fork server.
    """
    import dask
    from distributed.utils import get_mp_context

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return
    dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"})
    get_mp_context()  # sets the server's preloads
    from multiprocessing import forkserver

    if threading.current_thread() is not threading.main_thread():
        with _single_threaded_children():
            forkserver.ensure_running()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        # the server imports NumPy for every worker: with the one-thread limits Dask's
        # nanny would give a spawned worker (its environment comes too late for a fork)
        with _single_threaded_children():
            forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)


def _dask(
    fn: Callable[[T], R], items: Sequence[T], workers: int | None, scheduler: str | None
) -> Iterator[tuple[int, R]]:
    from distributed import KilledWorker, as_completed

    with dask_client(workers or default_workers(len(items)), scheduler) as client:
        futures = client.map(fn, list(items), retries=DASK_RETRIES, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        completed = as_completed(futures)
        del futures  # as_completed holds each future until it is done, then lets it go
        try:
            for future in completed:
                try:
                    result = future.result()
                except KilledWorker as exc:  # its workers died each time the scheduler ran it
                    raise WorkerLostError(f"a run's Dask workers kept dying ({exc})") from exc
                future.release()
                yield index.pop(future.key), result
        except BaseException:  # Ctrl-C, SIGTERM, a failed run, the caller stopped early
            # Runs not started are dropped from a (maybe shared) cluster at once, not when
            # the client's connection closes; a run in progress finishes on its worker.
            client.cancel(list(completed.futures))
            raise

