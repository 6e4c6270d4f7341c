"""Named random streams (ARCHITECTURE decision 5: common random numbers).

Every purpose (population, market, transitions, each strategy, ...) draws
from its own generator, spawned from the scenario seed, the replication number
and the purpose's name. Two scenarios run with the same seed therefore share
every draw except where they really differ, so paired comparisons are sharp.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["stream"]


def stream(seed: int, replication: int, purpose: str) -> np.random.Generator:
    """Return the generator for ``purpose`` in one replication.

    The name is hashed with CRC-32 (stable across processes and Python
    versions, unlike ``hash``) into the seed sequence's spawn key.
    """
    key = zlib.crc32(purpose.encode("utf-8"))
    seq = np.random.SeedSequence(entropy=[seed, replication], spawn_key=(key,))
    return np.random.Generator(np.random.PCG64(seq))
