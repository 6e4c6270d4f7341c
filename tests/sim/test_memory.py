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
    if not reuse_freed_memory():
        print("refused")  # an older glibc's mallopt: thresholds above 32 MiB refused
        sys.exit(0)
    assert reuse_freed_memory()  # a second call: already applied here
np.ones(8_000_000).sum()  # 64 MB: above glibc's default mmap threshold (32 MiB)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    np.ones(8_000_000).sum()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.pop("GLIBC_TUNABLES", None)
    out = subprocess.run([sys.executable, "-c", _FAULTS, mode], env=env, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


@glibc
def test_large_temporaries_reuse_memory_instead_of_faulting_it_in() -> None:
    reused = _faults("reuse")
    if reused == "refused":
        pytest.skip("this glibc's mallopt refuses thresholds above 32 MiB")
    fresh = int(_faults("fresh"))
    assert fresh >= 20 * 16  # every 64 MB array mapped anew: at least 16 huge pages each
    assert int(reused) < fresh / 10


@glibc
@pytest.mark.parametrize(("name", "value"), [
    ("MALLOC_MMAP_THRESHOLD_", "64M"),  # not even a number: glibc's business, not ours
    ("MALLOC_TRIM_THRESHOLD_", "0x4000000"),
    ("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=1048576"),
])
def test_the_users_own_settings_are_left_alone(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setattr(memory, "_applied", False)  # as in a fresh process
    for other in (*memory.ENVIRONMENT, "GLIBC_TUNABLES"):
        monkeypatch.delenv(other, raising=False)
    monkeypatch.setenv(name, value)
    assert memory.reuse_freed_memory() is False
    assert os.environ[name] == value
    assert not {*memory.ENVIRONMENT} - {name} & set(os.environ)  # nothing added for children


def test_elsewhere_than_glibc_it_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_applied", False)
    for other in memory.ENVIRONMENT:
        monkeypatch.delenv(other, raising=False)
    monkeypatch.setattr(memory.platform, "libc_ver", lambda: ("musl", "1.2"))
    assert memory.reuse_freed_memory() is False
    assert not set(memory.ENVIRONMENT) & set(os.environ)
