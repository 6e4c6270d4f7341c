"""Keep freed memory in the process, so a large population's temporaries are not faulted in anew.

glibc's ``malloc`` hands every block of 32 MiB or more straight to the
kernel (``mmap``) and returns it on ``free``. From a few million customers
up, most NumPy temporaries are that large (at 50M a boolean mask is 50 MB,
a float column 400 MB), so every one of them is mapped, faulted in and
zeroed by the kernel afresh. Measured on ``playbook_branches`` at 50M
customers (2 cores): a month took 17.7 s, a third of it system time;
with freed blocks kept for the next temporary, 12.0 s, about as much per
customer as at 1M (0.24 s against 0.23 s per million customers a month), for
0.85 GiB more peak memory (``docs/performance.md``).

:func:`reuse_freed_memory` raises glibc's mmap and trim thresholds in this
process (``mallopt``) and, through the environment, in the worker
processes it starts later. ``clmsim`` calls it for every command; call it
yourself before building a large model from Python. It changes no result.
Elsewhere than glibc (macOS, musl), with the user's own malloc settings, or
where ``mallopt`` refuses thresholds above 32 MiB (older glibc), it does
nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

__all__ = ["ENVIRONMENT", "THRESHOLD", "reuse_freed_memory"]

#: Bytes below which blocks come from (and return to) the process's heap: the largest
#: value ``mallopt`` takes, so every temporary of a 50M-customer table is reused.
THRESHOLD = 2**31 - 1
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
_applied = False  # set once this process has raised the thresholds itself
#: The same settings for child processes (glibc reads them at start-up).
ENVIRONMENT = {"MALLOC_MMAP_THRESHOLD_": str(THRESHOLD),
               "MALLOC_TRIM_THRESHOLD_": str(THRESHOLD)}


def reuse_freed_memory() -> bool:
    """Keep freed blocks up to :data:`THRESHOLD` bytes for reuse; True if applied here.

    Settings the user made are left alone: the ``MALLOC_MMAP_THRESHOLD_`` and
    ``MALLOC_TRIM_THRESHOLD_`` variables (glibc read them at start-up; this
    process then keeps them) and any ``glibc.malloc`` tunable in
    ``GLIBC_TUNABLES``. An older glibc whose ``mallopt`` refuses a threshold
    above 32 MiB keeps its own behaviour (False).
    """
    global _applied
    if _applied:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if any(name in os.environ for name in ENVIRONMENT) or "glibc.malloc." in os.environ.get(
            "GLIBC_TUNABLES", ""):
        return False  # the user's own settings, already in force since start-up
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    if not libc.mallopt(_M_MMAP_THRESHOLD, THRESHOLD):
        return False
    libc.mallopt(_M_TRIM_THRESHOLD, THRESHOLD)
    os.environ.update(ENVIRONMENT)  # worker processes started from here do the same
    _applied = True
    return True
