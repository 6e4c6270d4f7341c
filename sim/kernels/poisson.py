"""New rows' Poisson draws, compiled: NumPy's multiplication method on the generator's doubles.

:func:`sim.population_draw.draw_columns` draws each new row's extra products
with ``Generator.poisson`` at a small mean (1.0 in the shipped scenarios).
Below a mean of 10 NumPy multiplies the generator's doubles until the product
falls to ``exp(-lam)`` or below, one call through the bit generator per double
and a function call per row. Here the same doubles, drawn in one block
beforehand (``Generator.random`` makes each from one 64-bit output, as
``poisson`` does), are multiplied in one loop;
:func:`sim.population_draw.poisson_draws` then puts the generator where
``poisson`` would have left it.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["poisson_multiplication"]


@numba.njit(cache=True, nogil=True)
def poisson_multiplication(
    uniforms: np.ndarray, exp_minus_lam: float, out: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """``out[i]`` = NumPy's ``random_poisson_mult`` on the doubles ``uniforms`` in order.

    Each draw multiplies the next doubles into a product starting at 1.0 and
    counts those after which it is still above ``exp_minus_lam`` (``exp(-lam)``,
    libm's, as NumPy computes it); the double that takes it to or below ends
    the draw.

    Returns:
        How many doubles the draws used, or -1 if ``uniforms`` ran out first
        (``out`` is then incomplete).
    """
    used = 0
    available = uniforms.shape[0]
    for i in range(out.shape[0]):
        x = 0
        product = 1.0
        while True:
            if used == available:
                return -1
            product *= uniforms[used]
            used += 1
            if product > exp_minus_lam:
                x += 1
            else:
                break
        out[i] = x
    return used
