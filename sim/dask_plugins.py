"""Dask worker plugins of :mod:`sim.executors` (apart: it imports ``distributed`` lazily)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from distributed import WorkerPlugin

__all__ = ["IgnoreInterrupts"]


class IgnoreInterrupts(WorkerPlugin):
    """A worker of the local cluster ignores SIGINT: its cluster, closed by clmsim, stops it.

    A Ctrl-C reaches every process in the terminal's process group; without this
    each local worker prints a traceback while clmsim closes the cluster anyway.
    Workers forked from clmsim's fork server (:func:`sim.executors._start_forkserver`,
    not on Windows) ignore it from birth; elsewhere a Ctrl-C while the cluster is
    still starting reaches them.
    Not for a cluster given by ``--scheduler``: its workers are not clmsim's.
    """

    def setup(self, worker: Any) -> None:
        """Ignore SIGINT in the worker process (its event loop runs in its main thread)."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
