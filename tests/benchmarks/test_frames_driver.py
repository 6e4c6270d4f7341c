"""benchmarks/frames.py without the mesa-frames environment: one line and exit 2.

The comparison itself needs a separate virtual environment (mesa-frames
0.1.0a0 needs numpy 1.26), which CI does not have; see benchmarks/README.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_missing_venv_says_how_to_create_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "frames.py"), "--venv", str(tmp_path / "none")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "requirements-mesa-frames.txt" in lines[0]
    assert str(tmp_path / "none") in lines[0]
