"""A strategy's targeting kernel and the vector packing it uses, against NumPy definitions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim import kernels
from sim.streams import uniform_from_key

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("n", [3 * 65536 + 123, 2048 * 3 + 5, 17, 0])
@pytest.mark.parametrize("share", [0.0, 0.03, 0.5, 1.0])
def test_pack16_is_flatnonzero(n: int, share: float) -> None:
    """Sixteen flags at a time (any non-zero byte counts), the last few one by one."""
    from numba import njit

    @njit
    def packed(flags: np.ndarray) -> np.ndarray:
        out = np.empty(flags.shape[0] + 16, np.uint32)
        at, j, m = np.uint64(0), np.uint64(0), np.uint64(flags.shape[0])
        while j + np.uint64(16) <= m:
            at += kernels.pack16(out, at, j, flags, j)
            j += np.uint64(16)
        while j < m:
            out[at] = np.uint32(j)
            at += np.uint64(flags[j] != 0)
            j += np.uint64(1)
        return out[:at]

    rng = np.random.default_rng(3)
    flags = np.where(rng.random(n) < share, rng.integers(1, 256, n), 0).astype(np.uint8)
    np.testing.assert_array_equal(packed(flags), np.flatnonzero(flags))


def test_pack16_on_a_processor_without_avx512(tmp_path: Path) -> None:
    """LLVM expands the vector compress for other processors: the same rows (generic x86-64,
    compiled afresh in a cache of its own)."""
    code = (
        "import numpy as np\n"
        "from numba import njit\n"
        "from sim.kernels.packing import pack16\n"
        "@njit\n"
        "def f(flags, out):\n"
        "    at = np.uint64(0)\n"
        "    for j in range(0, flags.shape[0] - 15, 16):\n"
        "        at += pack16(out, at, np.uint64(j), flags, np.uint64(j))\n"
        "    return at\n"
        "flags = (np.random.default_rng(1).random(4096) < 0.3).astype(np.uint8)\n"
        "out = np.empty(4096 + 16, np.uint32)\n"
        "at = f(flags, out)\n"
        "assert (out[:at] == np.flatnonzero(flags)).all(), 'differs'\n"
        "print('same', at)\n")
    env = dict(os.environ, NUMBA_CPU_NAME="x86-64", NUMBA_CPU_FEATURES="",
               NUMBA_CACHE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("same")


def test_target_codes_give_the_shorter_list() -> None:
    codes, negate = kernels.target_codes(np.array([True, False, True, True, True]), True)
    assert (codes.tolist(), negate) == ([1], True)  # the one code not targeted
    codes, negate = kernels.target_codes(np.array([False, True, False, False, True]), True)
    assert (codes.tolist(), negate) == ([1, -1], False)  # the last entry is code -1 (none)
    codes, negate = kernels.target_codes(np.ones(4, np.bool_))
    assert (len(codes), negate) == (0, False)  # everything: nothing to test
    codes, negate = kernels.target_codes(np.zeros(3, np.bool_))
    assert (codes.tolist(), negate) == ([0, 1, 2], True)  # nothing: not one of them all
    codes, negate = kernels.target_codes(np.zeros(3, np.bool_), from_end=True)
    assert (codes.tolist(), negate) == ([0, 1, 2, -3, -2, -1], True)  # each code also as
    # the negative code that reads its entry from the end
    codes, negate = kernels.target_codes(np.array([True, True, False]), from_end=True)
    assert (codes.tolist(), negate) == ([2, -1], True)


@pytest.mark.parametrize(("n", "with_extra", "respects_opt_out", "share"), [
    (3 * 65536 + 123, False, True, 0.7), (3 * 65536 + 123, True, False, 0.5),
    (2048 + 29, True, True, 0.2), (1000, False, False, 1.0), (0, False, True, 0.7)])
def test_target_rows_is_the_numpy_targeting_and_hold_out(
    n: int, with_extra: bool, respects_opt_out: bool, share: float
) -> None:
    """The fused targeting kernel against the NumPy passes it replaced: several chunks, less
    than one, none; restricted categories (by the codes targeted or those not) or none; the
    treated rows, the cohort written and the bank-scope mask."""
    rng = np.random.default_rng(11)
    customers = rng.random(n) < 0.8
    stage, channel = rng.integers(0, 6, n).astype(np.int8), rng.integers(0, 4, n).astype(np.int8)
    segment = rng.integers(-1, 4, n).astype(np.int8)  # -1: none, reads the table's last entry
    tier = rng.integers(-1, 5, n).astype(np.int8)
    luts = [rng.random(size) < share for size in (6, 5, 6, 4)]
    if share == 0.2:
        luts[3][:] = False  # no channel targeted: nobody is
    if share < 1.0:
        luts[1][-1] = True  # segment "none" targeted: code -1 must pass
        luts[2][-1] = False  # tier "none" not
    opt_out = rng.random(n) < 0.2
    extra = rng.random(n) < 0.6 if with_extra else np.ones(0, np.bool_)
    ids = rng.integers(0, 2**40, n)
    cohort = rng.choice(np.array([0, 0, 1, 2], np.int8), n)  # earlier months' groups
    key, holdout = np.uint64(0x1234_5678_9ABC), 0.25

    mask = customers & luts[0][stage] & luts[1][segment] & luts[2][tier] & luts[3][channel]
    if with_extra:
        mask &= extra
    if respects_opt_out:
        mask &= ~opt_out
    targeted = np.flatnonzero(mask)
    expected_cohort = cohort.copy()
    newcomers = targeted[expected_cohort[targeted] == 0]
    control = uniform_from_key(ids[newcomers], key) < holdout
    expected_cohort[newcomers] = np.where(control, 2, 1)
    expected_rows = targeted[expected_cohort[targeted] == 1]

    codes = [part for k, lut in enumerate(luts)
             for part in kernels.target_codes(lut, none_last=k in (1, 2))]
    treated = np.ones(n, np.bool_)
    rows, n_targeted, new_treated, new_control = kernels.target_rows(
        customers, extra, stage, *codes[0:2], segment, *codes[2:4], tier, *codes[4:6],
        channel, *codes[6:8], opt_out, respects_opt_out, ids, key, holdout, cohort, treated)
    assert rows.dtype == np.int64
    np.testing.assert_array_equal(rows, expected_rows)
    np.testing.assert_array_equal(cohort, expected_cohort)
    np.testing.assert_array_equal(treated, np.isin(np.arange(n), expected_rows))
    assert n_targeted == len(targeted)
    assert (new_treated, new_control) == (len(newcomers) - control.sum(), control.sum())
    if n > 1000 and share > 0.2:
        assert 0 < new_control < new_treated


@pytest.mark.parametrize("channel_lut", [[False, False, True], [True, True, False],
                                         [True, False, True]])
def test_target_rows_reads_a_negative_channel_code_from_the_end(channel_lut: list[bool]) -> None:
    """A plugin may write ``ctx.channel_code("online")`` (-1 when the scenario lacks it) into
    the channel column (only NaN and negative counts are refused): the old look-up,
    ``lut[code]`` in compiled code, read a negative code from the table's end, as NumPy does.
    """
    n = 3000
    rng = np.random.default_rng(5)
    customers = np.ones(n, np.bool_)
    stage = np.zeros(n, np.int8)
    segment, tier = np.zeros(n, np.int8), np.zeros(n, np.int8)
    channel = rng.integers(-3, 3, n).astype(np.int8)
    lut = np.array(channel_lut)
    everything = [kernels.target_codes(np.ones(k, np.bool_)) for k in (6, 5, 6)]
    cohort = np.full(n, 1, np.int8)  # all treated already: no draws
    rows, n_targeted, _, _ = kernels.target_rows(
        customers, np.ones(0, np.bool_), stage, *everything[0], segment, *everything[1],
        tier, *everything[2], channel, *kernels.target_codes(lut, from_end=True),
        np.zeros(n, np.bool_),
        False, np.arange(n), np.uint64(1), 0.0, cohort, np.empty(0, np.bool_))
    np.testing.assert_array_equal(rows, np.flatnonzero(lut[channel]))
    assert n_targeted == lut[channel].sum()


def test_the_numba_required_has_an_llvm_with_the_vector_compress() -> None:
    """``llvm.experimental.vector.compress`` (pack16) is LLVM 19's: llvmlite 0.45 (numba 0.62)
    is the first with a newer LLVM (20); numba 0.60-0.61 (LLVM 14-15) cannot compile the
    targeting kernel, so the project must not accept them."""
    import re
    import tomllib

    import llvmlite.binding

    assert llvmlite.binding.llvm_version_info >= (19,)
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (numba,) = [d for d in deps if re.match(r"numba\b", d)]
    low = re.search(r">=\s*([0-9.]+)", numba)
    assert low is not None
    assert tuple(int(x) for x in low.group(1).split(".")) >= (0, 62)
