"""The ``clmsim`` command: bad input is one line and exit code 2; a run writes its results.

Most tests call :func:`sim.cli.main` in-process (fast); three run ``python -m
sim.cli`` in a subprocess to check the real exit code and that no traceback
escapes.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.scenario import load_scenario, scenario_hash

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
BASELINE = REPO / "scenarios" / "baseline.yaml"
BAD_DIR = TESTS / "data" / "bad_scenarios"
BAD_FILES = sorted(BAD_DIR.glob("*.yaml"))
EXPECTED = json.loads((BAD_DIR / "expected.json").read_text(encoding="utf-8"))
TINY = [
    "--set", "population.size=2000",
    "--set", "population.prospects=300",
    "--set", "market.prospect_arrivals_per_month=30",
    "--set", "horizon_months=6",
    "--replications", "2",
    "--executor", "serial",
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXISTING_RUN = "20260101-000000-abcdef12"  # the run in the existing_results fixture


def _one_error_line(result: Any) -> str:
    """Check the bad-input contract on ``result`` and return its error line."""
    assert result.code == 2, result
    assert "Traceback" not in result.err
    assert len(result.err_lines) == 1 and result.err.count("\n") == 1, result.err
    line: str = result.err_lines[0]
    assert line.startswith("clmsim: error: ")
    return line


# -- validate -----------------------------------------------------------------------


def test_validate_accepts_the_baseline(cli: Callable[..., Any]) -> None:
    result = cli("validate", BASELINE)
    assert result.code == 0
    assert result.out == f"{BASELINE}: valid (baseline)\n"
    assert result.err == ""


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"clmsim {version('clmsim')}"


# -- the bad-scenario corpus ----------------------------------------------------------


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_bad_scenario_is_one_line_exit_2_and_touches_nothing(
    path: Path,
    command: str,
    cli: Callable[..., Any],
    existing_results: Path,
    tree_snapshot: Callable[[Path], dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # a code-execution attack would write its marker here
    before = tree_snapshot(tmp_path)
    args = ["run", path, "--out", existing_results] if command == "run" else ["validate", path]
    result = cli(*args)
    line = _one_error_line(result)
    assert str(path) in line
    for fragment in EXPECTED[path.name]:
        assert fragment in line
    if command == "run":
        assert result.out == ""
    assert tree_snapshot(tmp_path) == before


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_bad_scenario_creates_no_results_root(
    path: Path, cli: Callable[..., Any], tmp_path: Path
) -> None:
    out = tmp_path / "not_yet"
    assert cli("run", path, "--out", out).code == 2
    assert not out.exists()


# -- bad command lines ----------------------------------------------------------------

Args = Callable[[Path, Path], list[Any]]
CLI_CASES: list[tuple[str, Args, list[str]]] = [
    ("missing_file_validate", lambda out, tmp: ["validate", tmp / "nosuch.yaml"],
     ["nosuch.yaml: file not found", "expected a path to a scenario YAML file"]),
    ("missing_file_run", lambda out, tmp: ["run", tmp / "nosuch.yaml", "--out", out],
     ["nosuch.yaml: file not found"]),
    ("directory_not_file", lambda out, tmp: ["validate", tmp],
     ["is a directory, expected a YAML file"]),
    ("set_unknown_key_path", lambda out, tmp: [
        "run", BASELINE, "--set", "population.sise=5", "--out", out],
     [f"{BASELINE}: population.sise: unknown key", "did you mean 'size'",
      "(from --set population.sise=5)"]),
    ("set_unknown_section", lambda out, tmp: [
        "validate", BASELINE, "--set", "marketing.budget=5"],
     ["marketing: unknown key", "expected one of: name, description"]),
    ("set_negative_size", lambda out, tmp: [
        "run", BASELINE, "--set", "population.size=-5", "--out", out],
     ["population.size: got -5; expected a number >= 1 (from --set population.size=-5)"]),
    ("set_probability_above_one", lambda out, tmp: [
        "validate", BASELINE, "--set", "lifecycle.transitions.decline.churned=1.5"],
     ["lifecycle.transitions.decline.churned: got 1.5; expected a number <= 1"]),
    ("set_without_equals", lambda out, tmp: [
        "run", BASELINE, "--set", "population.size", "--out", out],
     ["--set: population.size: expected KEY.PATH=VALUE"]),
    ("set_under_a_number", lambda out, tmp: [
        "run", BASELINE, "--set", "population.size.x=1", "--out", out],
     ["--set: population.size: holds 148300, not a mapping"]),
    ("set_list_index_out_of_range", lambda out, tmp: [
        "run", BASELINE, "--set", "tiers.9.name=x", "--out", out],
     ["--set: tiers.9: expected a list index below 7"]),
    ("negative_seed", lambda out, tmp: ["run", BASELINE, "--seed", "-1", "--out", out],
     [f"{BASELINE}: seed: got -1; expected a number >= 0 (from --seed -1)"]),
    ("zero_replications", lambda out, tmp: [
        "run", BASELINE, "--replications", "0", "--out", out],
     ["replications: got 0; expected a number >= 1 (from --replications 0)"]),
    ("zero_workers", lambda out, tmp: ["run", BASELINE, "--workers", "0", "--out", out],
     ["--workers: got 0; expected an integer >= 1"]),
    ("resume_without_run_id", lambda out, tmp: ["run", BASELINE, "--resume", "--out", out],
     ["--resume: expected --run-id naming the run to continue"]),
    ("run_id_escaping_out", lambda out, tmp: [
        "run", BASELINE, "--run-id", "../escaped", "--out", out],
     ["--run-id: got '../escaped'; expected a directory name"]),
    ("out_is_a_file", lambda out, tmp: ["run", BASELINE, "--out", out / "README.md"],
     ["README.md: is a file, expected a directory"]),
    ("seed_not_an_integer", lambda out, tmp: ["run", BASELINE, "--seed", "abc", "--out", out],
     ["argument --seed: invalid int value: 'abc'", "clmsim run --help"]),
    ("unknown_option", lambda out, tmp: ["run", BASELINE, "--sed", "1", "--out", out],
     ["unrecognized arguments: --sed 1"]),
    ("missing_scenario_argument", lambda out, tmp: ["run", "--out", out],
     ["the following arguments are required: scenario"]),
    ("unknown_command", lambda out, tmp: ["simulate", BASELINE],
     ["invalid choice: 'simulate'"]),
    ("no_command", lambda out, tmp: [], ["the following arguments are required: command"]),
]


@pytest.mark.parametrize(
    ("make_args", "fragments"), [case[1:] for case in CLI_CASES], ids=[c[0] for c in CLI_CASES]
)
def test_bad_command_line_is_one_line_exit_2_and_touches_nothing(
    make_args: Args,
    fragments: list[str],
    cli: Callable[..., Any],
    existing_results: Path,
    tree_snapshot: Callable[[Path], dict[str, str]],
    tmp_path: Path,
) -> None:
    before = tree_snapshot(tmp_path)
    result = cli(*make_args(existing_results, tmp_path))
    line = _one_error_line(result)
    for fragment in fragments:
        assert fragment in line
    assert result.out == ""
    assert tree_snapshot(tmp_path) == before


def test_existing_run_dir_without_resume_is_refused_and_kept(
    cli: Callable[..., Any],
    existing_results: Path,
    tree_snapshot: Callable[[Path], dict[str, str]],
) -> None:
    before = tree_snapshot(existing_results)
    result = cli("run", BASELINE, *TINY, "--out", existing_results, "--run-id", EXISTING_RUN)
    line = _one_error_line(result)
    assert f"{existing_results / 'baseline' / EXISTING_RUN}: already exists" in line
    assert "--resume" in line
    assert result.out == ""
    assert tree_snapshot(existing_results) == before


# -- a real run -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the tiny baseline once through ``main`` (not quiet) and keep what it printed."""
    out = tmp_path_factory.mktemp("results")
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["run", str(BASELINE), *TINY, "--seed", "7", "--out", str(out),
                     "--run-id", "tiny"])
    return {"code": code, "out": stdout.getvalue(), "err": stderr.getvalue(),
            "run_dir": out / "baseline" / "tiny", "root": out}


def test_run_succeeds_and_says_where_results_are(tiny_run: dict[str, Any]) -> None:
    assert tiny_run["code"] == 0, tiny_run["err"]
    assert "error" not in tiny_run["err"]
    assert f"results written to {tiny_run['run_dir']}\n" in tiny_run["out"]
    assert "retention at the end" in tiny_run["out"]  # the headline table
    assert "95% interval over 2 replications" in " ".join(tiny_run["out"].split())


def test_run_writes_the_documented_layout(tiny_run: dict[str, Any]) -> None:
    run_dir: Path = tiny_run["run_dir"]
    files = {p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()}
    assert {
        "manifest.json", "scenario.resolved.yaml", "monthly.parquet", "summary.csv",
        "figures/stages.png", "figures/segments.png", "figures/profit.png",
    } <= files
    assert not [name for name in files if name.endswith(".tmp") or "/." in f"/{name}"]
    assert [p.name for p in tiny_run["root"].iterdir()] == ["baseline"]
    for name in ("stages", "segments", "profit"):
        png = (run_dir / "figures" / f"{name}.png").read_bytes()
        assert png.startswith(PNG_SIGNATURE) and len(png) > 5_000


def test_manifest_describes_the_run(tiny_run: dict[str, Any]) -> None:
    run_dir: Path = tiny_run["run_dir"]
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    expected = load_scenario(BASELINE, [
        "population.size=2000", "population.prospects=300",
        "market.prospect_arrivals_per_month=30", "horizon_months=6",
        "replications=2", "seed=7",
    ])
    assert manifest["version"] == version("clmsim")
    assert manifest["scenario_hash"] == scenario_hash(expected)
    assert manifest["seed"] == 7
    assert manifest["replications"] == 2
    assert manifest["horizon_months"] == 6
    assert isinstance(manifest["wall_seconds"], float) and manifest["wall_seconds"] > 0
    resolved = load_scenario(run_dir / "scenario.resolved.yaml")
    assert resolved == expected
    assert scenario_hash(resolved) == manifest["scenario_hash"]


def test_monthly_and_summary_are_tidy(tiny_run: dict[str, Any]) -> None:
    run_dir: Path = tiny_run["run_dir"]
    monthly = pd.read_parquet(run_dir / "monthly.parquet")
    assert list(monthly.columns[:4]) == ["scenario", "replication", "seed", "month"]
    assert set(monthly["replication"]) == {0, 1}
    assert (monthly["seed"] == 7).all() and (monthly["scenario"] == "baseline").all()
    for _, frame in monthly.groupby("replication"):
        assert list(frame["month"]) == list(range(7))  # month 0 and six simulated months
    assert monthly.loc[monthly["month"] == 0, "customers"].eq(2000).all()
    summary = pd.read_csv(run_dir / "summary.csv", index_col="metric")
    assert {"mean", "ci95_low", "ci95_high", "sd", "replications"} <= set(summary.columns)
    assert {"retention_end", "churned", "profit"} <= set(summary.index)
    assert (summary["replications"] == 2).all()
    per_rep_profit = monthly[monthly["month"] > 0].groupby("replication")["profit"].sum()
    assert summary.loc["profit", "mean"] == pytest.approx(per_rep_profit.mean())


def test_resume_with_a_different_scenario_is_refused_and_kept(
    tiny_run: dict[str, Any],
    cli: Callable[..., Any],
    tree_snapshot: Callable[[Path], dict[str, str]],
) -> None:
    before = tree_snapshot(tiny_run["root"])
    result = cli("run", BASELINE, *TINY, "--seed", "8", "--out", tiny_run["root"],
                 "--run-id", "tiny", "--resume")
    line = _one_error_line(result)
    assert "holds a different scenario" in line
    assert tree_snapshot(tiny_run["root"]) == before


# -- end to end, in a fresh interpreter -------------------------------------------------


def _clmsim(*args: Any, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )


def test_subprocess_run_of_a_tiny_scenario(tmp_path: Path) -> None:
    done = _clmsim("run", BASELINE, *TINY, "--out", tmp_path / "out", "--run-id", "e2e",
                   "--quiet", "--no-figures", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    run_dir = tmp_path / "out" / "baseline" / "e2e"
    assert done.stdout == f"{run_dir}\n"  # --quiet prints only where the results are
    assert (run_dir / "manifest.json").exists() and not (run_dir / "figures").exists()


def test_subprocess_refuses_python_tags_without_running_them(tmp_path: Path) -> None:
    done = _clmsim("validate", BAD_DIR / "python_object_tag.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("clmsim: error: ")
    assert "unsupported YAML tag" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_subprocess_bad_override_is_one_line(
    tmp_path: Path, existing_results: Path, tree_snapshot: Callable[[Path], dict[str, str]]
) -> None:
    before = tree_snapshot(existing_results)
    done = _clmsim("run", BASELINE, "--set", "economics.acquisition_cost=-1",
                   "--out", existing_results, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr == (
        f"clmsim: error: {BASELINE}: economics.acquisition_cost: got -1; expected a number "
        ">= 0.0 (from --set economics.acquisition_cost=-1)\n"
    )
    assert tree_snapshot(existing_results) == before


def test_a_scenario_file_named_in_chinese_runs_under_its_name(
    cli: Callable[..., Any], tmp_path: Path, tiny_set_args: list[str],
    recwarn: pytest.WarningsRecorder,
) -> None:
    """The name defaults to the file name; a Chinese one is a name (a reviewer saw it refused)."""
    source = BASELINE.read_text(encoding="utf-8").replace("name: baseline\n", "")
    path = tmp_path / "银行 总部.yaml"
    path.write_text(source, encoding="utf-8")
    result = cli("run", path, *tiny_set_args, "--out", tmp_path / "out", "--quiet")
    assert result.code == 0, result.err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["银行_总部"]
    # figures: a title the fonts cannot draw loses those characters, without a warning each
    assert not [w for w in recwarn if "missing from font" in str(w.message)]


@pytest.mark.parametrize(("file", "name"), [
    ("baseline.yaml", "baseline"), ("my bank.yaml", "my_bank"), ("银行.yaml", "银行"),
    ("-x.yaml", "x"), ("!!!.yaml", "scenario"), ("_draft.yaml", "_draft"), ("_.x.yaml", "_.x"),
    ("cafe\u0301.yaml", "caf\u00e9"),  # decomposed (as macOS writes it) -> composed
])
def test_default_name_is_the_file_name_made_a_name(file: str, name: str) -> None:
    from sim.scenario import default_name

    assert default_name(file) == name


@pytest.mark.parametrize("file", ["x².yaml", "x½.yaml", "银行 总部.yaml"])
def test_a_name_made_from_a_file_name_validates(tmp_path: Path, file: str) -> None:
    """The schema and the default name use the same regular expressions."""
    from sim.scenario import load_scenario

    path = tmp_path / file
    source = BASELINE.read_text(encoding="utf-8").replace("name: baseline\n", "")
    path.write_text(source, encoding="utf-8")
    assert load_scenario(path).name


def test_ctrl_c_while_the_command_line_loads_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The console script's module imports the command line inside its own handling."""
    import importlib.abc

    from sim import entry

    class Interrupted(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: object = None, target: object = None) -> None:
            if name == "sim.cli":
                raise KeyboardInterrupt  # Ctrl-C while pandas, pydantic and Numba load

    monkeypatch.delitem(sys.modules, "sim.cli")
    monkeypatch.setattr(sys, "meta_path", [Interrupted(), *sys.meta_path])
    assert entry.main() == 130
    assert capsys.readouterr().err == "clmsim: interrupted while starting; nothing was run\n"


def test_importing_the_package_does_not_load_the_model() -> None:
    """``import sim`` is light (PEP 562): the console script starts in its own handling."""
    code = ("import sys, sim.entry; "
            "print(any(m in sys.modules for m in ('sim.model', 'mesa', 'pandas')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_a_bank_too_big_for_the_memory_is_one_line(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """population.size=10000000000 was a traceback ending in NumPy's _ArrayMemoryError."""
    import sim.runner

    def too_big(*args: Any, **kwargs: Any) -> None:
        np.empty(2**60, dtype=np.uint8)  # NumPy: "Unable to allocate 1.00 EiB for an array"

    monkeypatch.setattr(sim.runner, "run_scenario", too_big)
    result = cli("run", BASELINE, "--out", tmp_path, "--quiet", "--executor", "serial")
    assert result.code == 1 and result.err.count("\n") == 1, result.err
    assert "clmsim: error: out of memory (an array of 1.00 EiB)" in result.err
    assert "population.size" in result.err and "Traceback" not in result.err
