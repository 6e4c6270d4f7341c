"""Built-in strategies' per-row look-ups and masks, compiled (``strategies/``).

A strategy's rows at 1M are 50,000-400,000 (a segment, the tiers from
200k CNY, the declining customers); NumPy builds a mask such as "declining
and of a class the strategy rescues" in several passes, each writing a
temporary of the rows' length, and looks a small table up by a one-byte code
only after converting the codes to 8-byte indices. The loops here read each
input once. Each gives the values of the NumPy expression it replaces (the
tests compare them).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["lut_rows", "lut_values", "where_code"]


@numba.njit(cache=True, nogil=True, inline="always")
def _at(lut: np.ndarray, code: int) -> int:  # pragma: no cover - compiled
    """The index of ``lut[code]`` as NumPy reads it: a negative code counts from the end."""
    n = lut.shape[0]
    if code < -n or code >= n:
        raise IndexError("code out of range of the look-up table")
    return code + n if code < 0 else code


@numba.njit(cache=True, nogil=True)
def lut_values(lut: np.ndarray, codes: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """``lut[codes]`` (a code -1, "none", reads the last entry, as NumPy's index does)."""
    out = np.empty(codes.shape[0], lut.dtype)
    for i in range(codes.shape[0]):
        out[i] = lut[_at(lut, codes[i])]
    return out


@numba.njit(cache=True, nogil=True)
def lut_rows(lut: np.ndarray, codes: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """``np.flatnonzero(lut[codes])``: the rows whose code's entry is true, in order."""
    out = np.empty(codes.shape[0], np.int64)
    k = 0
    for i in range(codes.shape[0]):
        out[k] = i
        k += 1 if lut[_at(lut, codes[i])] else 0  # branch-free: the flags are unpredictable
    return out[:k].copy()


@numba.njit(cache=True, nogil=True)
def where_code(
    keep: np.ndarray, codes: np.ndarray, code: int, lut: np.ndarray, classes: np.ndarray,
    none: int,
) -> np.ndarray:  # pragma: no cover - compiled
    """``np.where(keep & (codes == code), lut[classes], none)`` as int8, in one pass.

    E.g. each row's response to decline: ``keep`` the strategy's targets,
    ``codes`` their stages, ``lut`` the response of each class (segment code
    -1 reads its last entry), ``none`` for rows not in the stage.
    """
    out = np.empty(codes.shape[0], np.int8)
    for i in range(codes.shape[0]):
        value = lut[_at(lut, classes[i])]
        out[i] = value if keep[i] and codes[i] == code else none
    return out
