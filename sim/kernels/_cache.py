"""Keep Numba's cache of the kernels in step with all of their sources (see the package)."""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path


def _drop_stale_cache() -> None:
    """Delete Numba's cached machine code if any kernel source changed since it was made."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(here.glob("*.py"))))
    cache, stamp = here / "__pycache__", here / "__pycache__" / "kernels.sources"
    # a read-only install cannot be written: Numba then caches elsewhere or not at all
    with contextlib.suppress(OSError):
        if stamp.exists() and stamp.read_text() == digest.hexdigest():
            return
        for old in (*cache.glob("*.nbi"), *cache.glob("*.nbc")):
            old.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest.hexdigest())


_drop_stale_cache()
