"""sim.kernels.strategy_rows: each compiled pass gives its NumPy definition's values exactly."""

from __future__ import annotations

import numpy as np
import pytest

from sim import kernels

SIZES = (0, 1, 7, 63, 64, 65, 129, 1000, 20_011)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("share", [0.0, 0.01, 0.12, 0.13, 0.5, 1.0])
def test_true_rows_is_flatnonzero(n: int, share: float) -> None:
    # both paths: few flags (64-row words) and many (every row written)
    mask = np.random.default_rng(n).random(n) < share
    rows = kernels.true_rows(mask.view(np.uint8))
    assert rows.dtype == np.int64
    np.testing.assert_array_equal(rows, np.flatnonzero(mask))


def test_true_rows_of_a_slice_not_starting_on_a_word() -> None:
    mask = np.random.default_rng(3).random(5_001) < 0.05
    np.testing.assert_array_equal(kernels.true_rows(mask[3:].view(np.uint8)),
                                  np.flatnonzero(mask[3:]))


@pytest.mark.parametrize("n", SIZES)
def test_lut_values_and_rows_read_code_minus_one_as_the_last_entry(n: int) -> None:
    rng = np.random.default_rng(n)
    codes = rng.integers(-1, 6, n).astype(np.int8)
    lut = rng.random(7)
    lut[2] = 0.0
    np.testing.assert_array_equal(kernels.lut_values(lut, codes), lut[codes])
    np.testing.assert_array_equal(kernels.lut_rows(lut > 0, codes), np.flatnonzero(lut[codes] > 0))


def test_lut_values_refuses_codes_outside_the_table() -> None:
    with pytest.raises(IndexError):
        kernels.lut_values(np.zeros(3), np.array([3], np.int8))
    with pytest.raises(IndexError):
        kernels.lut_values(np.zeros(3), np.array([-4], np.int8))


@pytest.mark.parametrize("n", SIZES)
def test_opt_out_rows_is_the_masks_numpy_made(n: int) -> None:
    rng = np.random.default_rng(n)
    opt_out, opted, targets = (rng.random(n) < p for p in (0.3, 0.2, 0.25))
    channel = rng.integers(0, 4, n).astype(np.int8)
    want_out, want_opted = opt_out.copy(), opted.copy()
    want_out &= ~(want_opted & ~targets)
    want_out |= targets
    want_opted[:] = targets
    for code in (1, -1):  # -1: a channel the scenario lacks, nobody uses it
        got_out, got_opted = opt_out.copy(), opted.copy()
        users = kernels.opt_out_rows(got_out.view(np.uint8), got_opted.view(np.uint8),
                                     targets.view(np.uint8), channel, code)
        np.testing.assert_array_equal(got_out, want_out)
        np.testing.assert_array_equal(got_opted, want_opted)
        np.testing.assert_array_equal(users, np.flatnonzero(targets & (channel == code)))


def test_acceptance_passes_give_numpys_float32_values() -> None:
    rng = np.random.default_rng(5)
    satisfaction = rng.random(50_000).astype(np.float32)
    satisfaction[:4] = [0.0, 1.0, np.nan, 0.7]
    offered = rng.random(50_000) < 0.9
    draws = rng.random(50_000)
    for effect, reference, base in ((4.0, 0.7, 0.005), (-3, 0.25, 1.0), (0.5, 1.0, 0)):
        log_odds = kernels.scaled_gap(satisfaction, np.float32(effect), np.float32(reference))
        expected_log_odds = effect * (satisfaction - reference)  # float32, as NumPy 2 makes it
        assert expected_log_odds.dtype == np.float32
        np.testing.assert_array_equal(log_odds.view(np.uint32), expected_log_odds.view(np.uint32))
        odds = np.exp(log_odds)
        with np.errstate(invalid="ignore", divide="ignore"):
            chance = base * odds / (base * odds + 1.0 - base)
        np.testing.assert_array_equal(kernels.accepted(offered, draws, odds, np.float32(base)),
                                      offered & (draws < chance))


def test_below_counts_is_the_masks_floats() -> None:
    rng = np.random.default_rng(6)
    keep = rng.random(10_000) < 0.8
    products = rng.integers(0, 8, 10_000).astype(np.int16)
    got = kernels.below_counts(keep, products, 5)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, (keep & (products < 5)).astype(float))


@pytest.mark.parametrize("cooldown", [12, 12.0, 0, 40_000])
def test_voucher_rows_are_numpys_with_int16_months(cooldown: float) -> None:
    rng = np.random.default_rng(7)
    n = 30_000
    keep = rng.random(n) < 0.9
    wealth = (rng.random(n) * 400_000).astype(np.float32)
    aum = rng.random(n) * 200_000
    aum[:3] = [np.nan, 0.0, float(wealth[2]) - 100_000.0]
    last = rng.choice(np.array([-10_000, 5, 20, 30, 32_000, -32_768], np.int16), n)  # wraps
    month = 31
    expected = np.flatnonzero(keep & (wealth - aum >= 100_000) & (month - last >= cooldown))
    got = kernels.voucher_rows(keep, wealth, aum, 100_000.0, last, month, float(cooldown))
    np.testing.assert_array_equal(got, expected)
