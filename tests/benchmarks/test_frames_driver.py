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


# ---------------------------------------------------------------- the playbook's restated parts
# frames_reference.py cannot import sim (it runs in the mesa-frames environment), so the
# scenario merge, the scaling and the strategies' defaults are restated in
# benchmarks/frames_scenario.py; these tests hold them to clmsim's own.
if str(ROOT) not in sys.path:  # ``benchmarks`` lives at the repository root
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

from benchmarks import frames_scenario  # noqa: E402
from benchmarks.engine import BASELINE, PLAYBOOK  # noqa: E402
from benchmarks.frames import (  # noqa: E402
    clmsim_scaling,
    restated_default_differences,
    scaled,
    strategy_monthly,
)
from sim.scenario import read_scenario_dict  # noqa: E402
from strategies import registry  # noqa: E402


def test_restated_defaults_equal_the_plugins_own() -> None:
    assert restated_default_differences() == []


def test_a_drifted_default_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(frames_scenario.STRATEGY_DEFAULTS["voucher"], "face_value", 400.0)
    monkeypatch.setitem(frames_scenario.COST_KINDS, "outreach", ("phone", "sms"))
    monkeypatch.setitem(frames_scenario.SPEC_DEFAULTS, "priority", "random")
    problems = restated_default_differences()
    assert len(problems) == 3, problems
    assert any(p.startswith("voucher: parameter defaults") for p in problems)
    assert any(p.startswith("outreach: cost kinds") for p in problems)
    assert any(p.startswith("priority:") for p in problems)


@pytest.mark.parametrize("path", [BASELINE, PLAYBOOK])
def test_extends_merges_as_sim_scenario_does(path: Path) -> None:
    assert frames_scenario.read_merged(path) == read_scenario_dict(path)


@pytest.mark.parametrize("size", [20_000, 100_000, 1_000_000])
def test_scaling_matches_baseline_overrides(size: int) -> None:
    data = frames_scenario.read_scenario(PLAYBOOK, size, 24)
    assert frames_scenario.scaling_summary(data) == clmsim_scaling(scaled(PLAYBOOK, size, 24))
    assert [s["name"] for s in data["strategies"]] == [
        "abandon_d", "cross_sell", "voucher", "pricing_subsidy", "outreach",
        "decline_response", "tiered_service"]


def test_playbook_parameters_equal_clmsim_plugins() -> None:
    """Scenario parameters over restated defaults = what clmsim's plugins run with."""
    data = frames_scenario.read_scenario(PLAYBOOK, 20_000, 24)
    scenario = scaled(PLAYBOOK, 20_000, 24)
    for ours, spec in zip(data["strategies"], scenario.strategies, strict=True):
        own = registry.build(spec.name, dict(spec.params)).get_params()
        assert ours["params"] == {k: dict(v) if isinstance(v, dict) else v
                                  for k, v in own.items()}, spec.name
        target = {k: v for k, v in spec.target.model_dump().items() if v is not None}
        assert ours["target"] == target, spec.name


def test_what_the_frames_model_does_not_model_is_refused(tmp_path: Path) -> None:
    child = tmp_path / "labels.yaml"
    child.write_text(f"extends: {BASELINE}\nstrategies:\n  - name: outreach\n"
                     "    target: {labels: [mobile_spender]}\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="labels"):
        frames_scenario.read_scenario(child, 1000, 2)
    child.write_text(f"extends: {BASELINE}\nstrategies:\n  - name: referral\n",
                     encoding="utf-8")
    with pytest.raises(SystemExit, match="referral"):
        frames_scenario.read_scenario(child, 1000, 2)


def test_agreement_adds_each_strategy_cost_and_counts() -> None:
    names = strategy_monthly(scaled(PLAYBOOK, 2_000, 2))
    assert len(names) == 7 * 3 + 2
    assert "cost_strategy_tiered_service" in names and "strategy_voucher_funded" in names
    assert strategy_monthly(scaled(BASELINE, 2_000, 2)) == ()
