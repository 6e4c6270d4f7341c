"""Shared fixtures: where things are, a tiny fast scenario, and a CLI runner."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sim.scenario import load_scenario
from sim.schema import Scenario

REPO_ROOT = Path(__file__).resolve().parents[1]
SCENARIOS_DIR = REPO_ROOT / "scenarios"
BASELINE = SCENARIOS_DIR / "baseline.yaml"
BAD_SCENARIOS_DIR = REPO_ROOT / "tests" / "data" / "bad_scenarios"

#: ``--set`` overrides shrinking the baseline bank to a run of well under a second:
#: 2,000 customers, 300 prospects, 30 arrivals a month, 6 months, 2 replications.
TINY_OVERRIDES = (
    "population.size=2000",
    "population.prospects=300",
    "market.prospect_arrivals_per_month=30",
    "horizon_months=6",
    "replications=2",
)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's root directory."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def scenarios_dir() -> Path:
    """The shipped scenarios (``scenarios/``)."""
    return SCENARIOS_DIR


@pytest.fixture(scope="session")
def baseline_path() -> Path:
    """``scenarios/baseline.yaml``."""
    return BASELINE


@pytest.fixture(scope="session")
def bad_scenarios_dir() -> Path:
    """The corpus of scenarios that must be refused (``tests/data/bad_scenarios``)."""
    return BAD_SCENARIOS_DIR


@pytest.fixture(scope="session")
def tiny_overrides() -> list[str]:
    """``KEY.PATH=VALUE`` overrides that make the baseline tiny and fast."""
    return list(TINY_OVERRIDES)


@pytest.fixture(scope="session")
def tiny_set_args() -> list[str]:
    """:data:`TINY_OVERRIDES` as ``clmsim`` arguments (``--set A --set B ...``)."""
    return [arg for text in TINY_OVERRIDES for arg in ("--set", text)]


@pytest.fixture(scope="session")
def tiny_scenario() -> Scenario:
    """The baseline bank, tiny: see :data:`TINY_OVERRIDES`."""
    return load_scenario(BASELINE, TINY_OVERRIDES)


@dataclass(frozen=True)
class CliResult:
    """Exit code and captured output of one ``clmsim`` call."""

    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        """Non-empty lines written to standard error."""
        return [line for line in self.err.splitlines() if line.strip()]


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """Each test leaves ``os.environ`` as it found it.

    ``clmsim``'s ``main`` sets glibc's ``MALLOC_*`` variables for the
    processes it starts (``sim.memory.reuse_freed_memory``); tests calling
    it in-process would otherwise pass them on to later tests' subprocesses.
    """
    saved = dict(os.environ)
    yield
    if dict(os.environ) != saved:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``sim.cli.main`` in-process with the given arguments; return code and output."""
    from sim.cli import main

    def run(*argv: str | Path) -> CliResult:
        capsys.readouterr()  # drop anything printed before this call
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def _tree_snapshot(root: Path) -> dict[str, str]:
    """Every file and directory under ``root`` with a digest of its content and mtime.

    Two equal snapshots mean nothing was created, deleted, rewritten or touched.
    """
    if not root.exists():
        return {}
    snapshot = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_dir():
            snapshot[rel + "/"] = "dir"
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            snapshot[rel] = f"{digest} {path.stat().st_mtime_ns}"
    return snapshot


@pytest.fixture(scope="session")
def tree_snapshot() -> Callable[[Path], dict[str, str]]:
    """A function snapshotting a directory tree (paths, content digests, mtimes)."""
    return _tree_snapshot


@pytest.fixture
def existing_results(tmp_path: Path) -> Path:
    """A results root already holding a finished run, a README and a stray file."""
    root = tmp_path / "results"
    run = root / "baseline" / "20260101-000000-abcdef12"
    (run / "figures").mkdir(parents=True)
    (root / "README.md").write_text("results live here\n", encoding="utf-8")
    (run / "manifest.json").write_text(json.dumps({"seed": 1}) + "\n", encoding="utf-8")
    (run / "summary.csv").write_text("metric,mean\nprofit,1.0\n", encoding="utf-8")
    (run / "figures" / "stages.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return root


#: A scheduler address nothing answers at (with :func:`unreachable_scheduler`).
UNREACHABLE = "tcp://127.0.0.1:1"


@pytest.fixture
def unreachable_scheduler(monkeypatch: pytest.MonkeyPatch) -> str:
    """An address whose ``distributed.Client`` fails at once, as a dead scheduler's does
    after its 20 s timeout (without the wait)."""
    import distributed

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(f"Timed out trying to connect to {UNREACHABLE} after 20 s")

    monkeypatch.setattr(distributed, "Client", refuse)
    return UNREACHABLE
