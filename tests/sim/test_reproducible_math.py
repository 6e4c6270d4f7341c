"""The compiled loops use the platform's libm everywhere, whatever else is installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_kernels_turns_intel_svml_off() -> None:
    # With Intel's SVML installed (icc_rt, as in some conda environments) Numba vectorises
    # loops of log and exp with SVML's functions, whose last bits differ from glibc's:
    # the same scenario and seed would give other results there (new rows' channels,
    # segments, the normal draws' tails). The user's own setting is respected.
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_INTEL_SVML"}
    env["PYTHONPATH"] = str(ROOT)
    code = "import sim.kernels, numba; print(numba.config.DISABLE_INTEL_SVML)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["1"] or out == ["True"]
