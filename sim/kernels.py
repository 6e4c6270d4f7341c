"""Compiled loops for the hottest per-row work (Numba).

NumPy evaluates an expression such as SplitMix64 hashing one operation at a
time, each writing a temporary array the size of the population; a month
makes a few dozen such draws. The loops here do the whole computation per row
in one pass, in parallel over the machine's cores (``prange``), with exactly
the arithmetic of the NumPy definitions they replace, so results are
bit-identical whichever path runs. ``cache=True`` stores the machine code
next to the module, so only the first run on a machine pays the compilation
(about a second).
"""

from __future__ import annotations

from typing import Any

import llvmlite.binding
import numba
import numpy as np
from numba import types
from numba.extending import get_cython_function_address

__all__ = ["keyed_normal_into", "keyed_uniform_into"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_SCALE = 2.0**-53

# scipy.special.ndtri (the inverse normal CDF) as an external symbol of compiled code: a
# named symbol, unlike a ctypes pointer, lets Numba cache the functions that call it.
llvmlite.binding.add_symbol(
    "clmsim_ndtri", get_cython_function_address("scipy.special.cython_special", "ndtri")
)
_ndtri: Any = types.ExternalFunction("clmsim_ndtri", types.float64(types.float64))


@numba.njit(inline="always")
def _mix(z: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    z = z + _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@numba.njit(inline="always")
def _uniform(customer_id: np.int64, key: np.uint64) -> float:  # pragma: no cover - compiled
    bits = _mix(_mix(np.uint64(customer_id) ^ key))
    return (float(bits >> _S11) + 0.5) * _SCALE


@numba.njit(parallel=True, cache=True, nogil=True)
def keyed_uniform_into(ids: np.ndarray, key: np.uint64, out: np.ndarray) -> None:
    """``out[i]`` = the U(0, 1) draw of ``ids[i]`` under ``key`` (see :mod:`sim.streams`)."""
    for i in numba.prange(ids.shape[0]):
        out[i] = _uniform(ids[i], key)


@numba.njit(parallel=True, cache=True, nogil=True)
def keyed_normal_into(ids: np.ndarray, key: np.uint64, out: np.ndarray) -> None:
    """``out[i]`` = ``ndtri`` of the U(0, 1) draw of ``ids[i]`` under ``key``."""
    for i in numba.prange(ids.shape[0]):
        out[i] = _ndtri(_uniform(ids[i], key))
