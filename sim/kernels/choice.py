"""New customers' preferred channel, compiled: utilities, Gumbel noise and the choice per row.

:func:`sim.population_draw.draw_customers` draws each new row's channel as
the largest of its channels' utilities plus standard Gumbel noise (a
multinomial logit). NumPy built the utilities into an ``(n, channels)``
table, drew the noise into another, added them and took the arg-max: five
passes over the rows, and the Gumbel draws' two logarithms each. Here the
noise comes from the generator's uniform draws (the same doubles, in the same
order, as ``Generator.gumbel`` would use) and each row is done in one go.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["channel_choice"]


@numba.njit(cache=True, nogil=True)
def channel_choice(
    uniforms: np.ndarray, intercept: np.ndarray, digital_effect: np.ndarray,
    age_effect: np.ndarray, digital: np.ndarray, age: np.ndarray, out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """``out[i]`` = the channel ``j`` of the largest utility plus Gumbel noise of row ``i``.

    The utility is ``intercept[j] + digital_effect[j] * digital[i] + age_effect[j] *
    (age[i] - 40)``, NumPy's arithmetic in NumPy's order. The noise is
    ``Generator.gumbel``'s (``loc - scale * log(-log(U))`` with ``U = 1 - u``,
    loc 0, scale 1, glibc's ``log`` as NumPy's C code calls it) of
    ``uniforms[i, j]``, which must not be 0 (``gumbel`` would draw again);
    ``uniforms`` (C order) is overwritten with the noise. Ties and NaN as
    ``np.argmax``: the first of the largest, or the first NaN.

    The logarithms go first, in a loop of their own, and the choice is made
    without branches: the largest of random values is unpredictable (15,800
    rows, one thread: 0.88 ms with the noise computed in the choice's loop and
    a branch per channel, 0.52 ms so; NumPy's Gumbel draws alone took 0.77).
    """
    n, k = uniforms.shape
    noise = uniforms.reshape(n * k)
    for t in range(n * k):
        noise[t] = 0.0 - 1.0 * np.log(-np.log(1.0 - noise[t]))
    for i in range(n):
        best = (intercept[0] + digital_effect[0] * digital[i]
                + age_effect[0] * (age[i] - 40.0)) + uniforms[i, 0]
        at = 0
        stop = np.isnan(best)  # np.argmax stops at the first NaN
        for j in range(1, k):
            value = (intercept[j] + digital_effect[j] * digital[i]
                     + age_effect[j] * (age[i] - 40.0)) + uniforms[i, j]
            take = (not value <= best) and not stop
            best = value if take else best
            at = j if take else at
            stop = stop or (take and np.isnan(value))
        out[i] = at
