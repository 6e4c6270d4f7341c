"""sim.memory: freed blocks are kept for the next temporary instead of being faulted in anew."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from sim import memory

glibc = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")

_FAULTS = """
import resource, sys
import numpy as np
if sys.argv[1] == "reuse":
    from sim.memory import reuse_freed_memory
    assert reuse_freed_memory()
np.ones(8_000_000).sum()  # 64 MB: above glibc's default mmap threshold (32 MiB)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    np.ones(8_000_000).sum()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", _FAULTS, mode], env=env, check=True,
                         capture_output=True, text=True)
    return int(out.stdout)


@glibc
def test_large_temporaries_reuse_memory_instead_of_faulting_it_in() -> None:
    fresh, reused = _faults("fresh"), _faults("reuse")
    assert fresh >= 20 * 16  # every 64 MB array mapped anew: at least 16 huge pages each
    assert reused < fresh / 10


@glibc
def test_the_users_own_settings_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", str(2**40))  # too large for mallopt's int
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    assert memory.reuse_freed_memory() is False
    assert os.environ["MALLOC_MMAP_THRESHOLD_"] == str(2**40)
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == str(memory.THRESHOLD)  # set for children
