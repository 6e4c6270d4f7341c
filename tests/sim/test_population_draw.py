"""New rows' draws: the compiled channel choice, the beta and Poisson draws, the columns' casts.

Each faster path is checked against the NumPy code it replaced, bit for bit,
with the generator left in the same state.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from scipy.special import expit

from sim import kernels
from sim.population import FIELDS, Population
from sim.population_draw import _beta, _channels, draw_columns, draw_customers, poisson_draws
from sim.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml"


def _numpy_channels(rng: np.random.Generator, coefficients: np.ndarray, digital: np.ndarray,
                    age: np.ndarray) -> np.ndarray:
    """The channel choice as it was: utilities, ``rng.gumbel`` noise added, ``argmax``."""
    utility = np.empty((len(age), len(coefficients)))
    for j, (intercept, by_digital, by_age) in enumerate(coefficients):
        utility[:, j] = intercept + by_digital * digital + by_age * (age - 40)
    utility += rng.gumbel(size=utility.shape)
    return utility.argmax(axis=1)


def test_channel_choice_is_gumbel_noise_and_argmax() -> None:
    """The kernel picks NumPy's channel for every row (NaN rows and ties included) from the
    uniforms gumbel would have used."""
    rng = np.random.default_rng(4)
    n = 200_000
    age = np.clip(rng.normal(37, 14, n), 18, 90)
    digital = expit(1.0 - 0.05 * (age - 30) + rng.standard_normal(n))
    digital[::97] = np.nan
    for coefficients in ([[0.0, 0.0, 0.0], [-0.5, 2.0, -0.01], [-1.0, 4.0, -0.03]],
                         [[0.0, 1.0, 0.0], [np.inf, 0.0, 0.0], [np.inf, 0.0, 0.0]],
                         [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]):
        c = np.array(coefficients)
        expected = _numpy_channels(np.random.Generator(np.random.PCG64(9)), c, digital, age)
        got = np.empty(n, np.int64)
        uniforms = np.random.Generator(np.random.PCG64(9)).random((n, len(c)))
        kernels.channel_choice(uniforms, c[:, 0].copy(), c[:, 1].copy(), c[:, 2].copy(),
                               digital, age, got)
        np.testing.assert_array_equal(got, expected)


class _ZeroFirst:
    """A generator whose first uniform draw is 0.0 (for which gumbel draws again)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng, self.bit_generator = rng, rng.bit_generator

    def random(self, size: tuple[int, int]) -> np.ndarray:
        uniforms = self.rng.random(size)
        uniforms[0, 0] = 0.0
        return uniforms

    def gumbel(self, size: tuple[int, int]) -> np.ndarray:
        return self.rng.gumbel(size=size)


def test_a_zero_uniform_falls_back_to_gumbel_from_the_same_state() -> None:
    """With a 0.0 among the uniforms, the generator is rewound and gumbel draws the noise."""
    spec = load_scenario(BASELINE).population
    c = np.array([[u.intercept, u.digital, u.age] for u in spec.channel_preference.values()])
    rng = np.random.default_rng(1)
    age, digital = rng.uniform(18, 90, 5_000), rng.random(5_000)
    ours, theirs = np.random.default_rng(2), np.random.default_rng(2)
    got = _channels(spec, _ZeroFirst(ours), digital, age)  # type: ignore[arg-type]
    np.testing.assert_array_equal(got, _numpy_channels(theirs, c, digital, age))
    assert ours.bit_generator.state == theirs.bit_generator.state


def test_beta_with_one_mean_draws_as_with_a_mean_per_row() -> None:
    """One mean for all rows gives the per-row parameters' draws (and generator state)."""
    ours, theirs = np.random.default_rng(3), np.random.default_rng(3)
    got = _beta(ours, 0.75, 12.0, 10_000)
    mean = np.clip(np.broadcast_to(0.75, (10_000,)), 1e-6, 1 - 1e-6)
    expected = theirs.beta(mean * 12.0, (1.0 - mean) * 12.0)
    np.testing.assert_array_equal(got.view(np.uint64), expected.view(np.uint64))
    assert ours.bit_generator.state == theirs.bit_generator.state


def test_poisson_draws_are_numpys_with_the_generator_left_alike() -> None:
    """poisson_draws gives rng.poisson's draws and leaves the generator in its state, on the
    compiled path (means below 10) and on NumPy's (0, 10 and more, other generators)."""
    for lam in (0.0, 1e-9, 0.3, 1.0, 2.5, 9.99, 10.0, 40.0):
        for n in (0, 1, 7, 20_000):
            ours, theirs = np.random.default_rng(n), np.random.default_rng(n)
            got = poisson_draws(ours, lam, n)
            expected = theirs.poisson(lam, n)
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected)
            assert ours.bit_generator.state == theirs.bit_generator.state
            np.testing.assert_array_equal(ours.random(3), theirs.random(3))
    # 32 bits kept for the next draw: advance() would drop them, so NumPy's own path
    ours, theirs = np.random.default_rng(8), np.random.default_rng(8)
    for rng in (ours, theirs):
        rng.integers(0, 9, dtype=np.int32)
    assert ours.bit_generator.state["has_uint32"]
    np.testing.assert_array_equal(poisson_draws(ours, 1.0, 500), theirs.poisson(1.0, 500))
    assert ours.bit_generator.state == theirs.bit_generator.state
    ours, theirs = (np.random.Generator(np.random.MT19937(9)) for _ in range(2))
    np.testing.assert_array_equal(poisson_draws(ours, 1.0, 500), theirs.poisson(1.0, 500))
    assert ours.bit_generator.state["state"]["pos"] == theirs.bit_generator.state["state"]["pos"]


def test_poisson_multiplication_says_when_the_doubles_ran_out() -> None:
    """Too few doubles: -1 (the caller then draws with NumPy); enough: the count used."""
    out = np.empty(3, np.int64)
    doubles = np.array([0.9, 0.9, 0.1, 0.2, 0.9])  # exp(-1) = 0.37: draws 2, 0, then short
    assert kernels.poisson_multiplication(doubles, np.exp(-1.0), out) == -1
    assert kernels.poisson_multiplication(doubles[:4], np.exp(-1.0), out[:2]) == 4
    np.testing.assert_array_equal(out[:2], [2, 0])


#: SHA-256 of the columns (FIELDS order) drawn below, computed at commit 9fc2b0e.
DRAWN_BEFORE = "09f0e83ce61fefffa7e7687f3245f037bcbd548e4f1d13f217cccc53329a311b"


def test_drawn_columns_stored_by_fill_and_extend_are_the_populations() -> None:
    """fill and extend cast the drawn columns (numbers for constant columns) as Population
    does: the same table, bit for bit."""
    spec = load_scenario(BASELINE).population
    stages = np.random.default_rng(5).integers(0, 5, 3_000)
    shares = np.linspace(0.0, 1.0, 6)

    def columns() -> dict[str, object]:
        return draw_columns(spec, stages, shares, np.random.default_rng(6),
                            np.arange(3_000, dtype=np.int64), month=7)

    expected = draw_customers(spec, stages, shares, np.random.default_rng(6),
                              np.arange(3_000, dtype=np.int64), month=7)
    filled = Population.empty(3_000)
    filled.fill(0, columns(), 3_000)
    extended = Population.empty(0)
    extended.extend(columns(), 3_000)
    for table in (filled, extended):
        for name, dtype in FIELDS.items():
            column = table.columns()[name]
            assert column.dtype == dtype
            bits = f"u{column.dtype.itemsize}" if column.dtype != np.bool_ else np.bool_
            np.testing.assert_array_equal(column.view(bits), expected.columns()[name].view(bits))
    # and the draws are those of the code before the compiled channel choice and the
    # drawn columns (commit 9fc2b0e, NumPy's gumbel and a table per draw), bit for bit
    digest = hashlib.sha256()
    for name in FIELDS:
        digest.update(np.ascontiguousarray(expected.columns()[name]).tobytes())
    assert digest.hexdigest() == DRAWN_BEFORE
