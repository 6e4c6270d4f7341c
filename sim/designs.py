"""Experimental designs for sweeps: a registry keyed by name (SALib-style).

Each design turns parameter specifications into a matrix of points (one row
per point, one column per parameter) and, for sensitivity designs, turns the
outcomes at those points back into indices with confidence intervals. The
design knows nothing about how runs execute (EMA-workbench separation of
design, execution and analysis).

=========  ===========================================  ======================
name       points                                       analysis
=========  ===========================================  ======================
grid       every combination of ``values`` (a ``range``  none
           gives ``samples`` evenly spaced levels)
lhs        ``samples`` Latin-hypercube points            none
sobol      ``samples × (D + 2)`` Saltelli points         S1, ST (SALib sobol)
           (``samples`` a power of 2)
morris     ``samples × (D + 1)`` trajectory points       μ*, σ (SALib morris)
=========  ===========================================  ======================
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DESIGNS", "Design", "ParameterSpec"]


@dataclass(frozen=True)
class ParameterSpec:
    """One swept parameter: a key path and a range or list of values."""

    path: str
    low: float | None = None
    high: float | None = None
    values: tuple[Any, ...] | None = None


def _problem(params: Sequence[ParameterSpec]) -> dict[str, Any]:
    return {"num_vars": len(params), "names": [p.path for p in params],
            "bounds": [[p.low, p.high] for p in params]}


def _grid(params: Sequence[ParameterSpec], samples: int, seed: int) -> np.ndarray:
    axes = [list(p.values) if p.values is not None
            else list(np.linspace(float(p.low or 0.0), float(p.high or 0.0), samples))
            for p in params]
    return np.array(list(itertools.product(*axes)), dtype=object)


def _lhs(params: Sequence[ParameterSpec], samples: int, seed: int) -> np.ndarray:
    from SALib.sample import latin

    return np.asarray(latin.sample(_problem(params), samples, seed=seed))


def _sobol(params: Sequence[ParameterSpec], samples: int, seed: int) -> np.ndarray:
    from SALib.sample import sobol

    return np.asarray(sobol.sample(_problem(params), samples, calc_second_order=False,
                                   seed=seed))


def _morris(params: Sequence[ParameterSpec], samples: int, seed: int) -> np.ndarray:
    from SALib.sample import morris

    return np.asarray(morris.sample(_problem(params), samples, num_levels=4, seed=seed))


def _analyse_sobol(
    params: Sequence[ParameterSpec], x: np.ndarray, y: np.ndarray, seed: int
) -> pd.DataFrame:
    from SALib.analyze import sobol

    # a Generator, not the int: SALib treats seed 0 (the default) as no seed and draws the
    # bootstrap from NumPy's global state, so the intervals changed from run to run; for any
    # other seed default_rng(default_rng(seed)) is the same stream as default_rng(seed)
    res = sobol.analyze(_problem(params), y, calc_second_order=False,
                        seed=np.random.default_rng(seed))
    return pd.DataFrame({
        "parameter": [p.path for p in params],
        "S1": res["S1"], "S1_conf": res["S1_conf"], "ST": res["ST"], "ST_conf": res["ST_conf"],
    })


def _analyse_morris(
    params: Sequence[ParameterSpec], x: np.ndarray, y: np.ndarray, seed: int
) -> pd.DataFrame:
    from SALib.analyze import morris

    res = morris.analyze(_problem(params), x.astype(float), y, num_levels=4, seed=seed)
    return pd.DataFrame({
        "parameter": [p.path for p in params], "mu": res["mu"], "mu_star": res["mu_star"],
        "mu_star_conf": res["mu_star_conf"], "sigma": res["sigma"],
    })


Analyse = Callable[[Sequence[ParameterSpec], np.ndarray, np.ndarray, int], pd.DataFrame]


@dataclass(frozen=True)
class Design:
    """A named design: how to sample points and (optionally) analyse outcomes."""

    sample: Callable[[Sequence[ParameterSpec], int, int], np.ndarray]
    #: How many points ``sample`` gives, known before sampling (a grid over five ranges
    #: at 32 levels is 33.5 million points: refused before they are built).
    count: Callable[[Sequence[ParameterSpec], int], int]
    analyse: Analyse | None = None
    needs_ranges: bool = True
    #: The index plotted in the sensitivity figure and its interval column.
    index: tuple[str, str] | None = None
    #: Fewest ``samples`` the analysis can bootstrap an interval from: with one base sample
    #: (Sobol) or one trajectory (Morris) every resample is the same, and SALib reports the
    #: index (ST = 2.0, say) with an interval of width 0.
    min_samples: int = 1
    #: Whether ``samples`` must be a power of 2: Saltelli's scheme draws its base samples from
    #: a Sobol' sequence, whose balance (the low discrepancy the indices' accuracy rests on)
    #: holds only for the first 2**k points; SALib warns about any other number and samples.
    power_of_two: bool = False
    #: Whether the indices are shares of the output's variance, undefined for an output
    #: that is the same at every point (SALib divides by its standard deviation of 0).
    needs_variance: bool = False


def _grid_count(params: Sequence[ParameterSpec], samples: int) -> int:
    return math.prod(len(p.values) if p.values is not None else samples for p in params)


DESIGNS: dict[str, Design] = {
    "grid": Design(_grid, _grid_count, needs_ranges=False),
    "lhs": Design(_lhs, lambda params, samples: samples),
    "sobol": Design(_sobol, lambda params, samples: samples * (len(params) + 2),
                    _analyse_sobol, index=("ST", "ST_conf"), min_samples=2, power_of_two=True,
                    needs_variance=True),
    "morris": Design(_morris, lambda params, samples: samples * (len(params) + 1),
                     _analyse_morris, index=("mu_star", "mu_star_conf"), min_samples=2),
}
