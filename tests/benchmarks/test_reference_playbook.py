"""The per-agent reference runs the playbook's strategies as the vectorised model does.

Both models run ``scenarios/abc_d_playbook.yaml`` (the seven strategies of the
A/B/C/D playbook) and ``scenarios/baseline.yaml`` scaled by
``benchmarks.engine.baseline_overrides`` to 2,000 customers — budgets and RM
hours scale with the bank, so the pricing subsidy's and the decline
responses' budgets and the RM hours bind as in the full-size bank and the
budgets' priority order matters — for 12 months with the same 16 seeds.
The reference decides every strategy customer by customer
(``benchmarks/reference_strategies.py``) with its own draws, so the two
models agree only in distribution.

**Tolerances.** A strategy's budget and the shared RM hours couple the
customers, and profit and strategy costs are sums of heavy-tailed AUMs, so no
simple count distribution applies. Each outcome is summarised once per run
(one number per seed), and the two models' means over the seeds are compared
with Welch's t-test: the tolerance on the difference is the critical t times
√(s²_ref/n + s²_vec/n), i.e. it is the seed-to-seed spread measured in the
test itself: about ±3.7 standard errors of the difference with 16 seeds a
side. Measured over five sets of 16 seeds, that is about ±1% of the mean for
the customer count, ±3-5% for branch customers and contacts, ±6-10% for churn,
AUM, the total strategy cost and the costs of abandon_d, outreach and the
decline responses, and ±10-20% for profit and the costs of the rarer or
AUM-priced items (cross-sell onboarding, vouchers, subsidy, tiered service).
Each test rejects at ALPHA = 0.001, so the fourteen outcomes below raise a
false alarm in about 1.4% of runs (none in those five sets: the smallest p
was 0.08). A negative control shows the
tolerance bites: a vectorised model whose ``abandon_d`` moves 15% instead of
10% of its branch users a month is rejected on that strategy's cost.

**Direction.** In each model the playbook's effect is playbook minus baseline
per seed (the same seed draws the same month-0 population with or without
strategies). Over 12 months the playbook lowers churn (by about 13%), lowers
profit (its costs come before the customers it keeps pay back), raises AUM
(vouchers, subsidies) and empties the branch (abandon_d). In both models the
effect must go that way, significantly: a one-sided one-sample t-test with
p < ALPHA_EFFECT = 0.01 (a reference whose strategies did nothing passes one
outcome with probability 1% and all four with far less); the churn effect,
the weakest, was 5.7-7.7 standard errors in the reference in those five sets. The two models'
effects must also agree in size (Welch, p > ALPHA).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # ``benchmarks`` lives at the repository root, outside the package
    sys.path.insert(0, str(ROOT))

from benchmarks.engine import BASELINE, PLAYBOOK, baseline_overrides  # noqa: E402
from benchmarks.reference_agents import ReferenceModel  # noqa: E402
from sim.model import LifecycleModel  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

SIZE, MONTHS = 2_000, 12
SEEDS = tuple(range(31, 47))
ALPHA = 1e-3
ALPHA_EFFECT = 0.01
STRATEGIES = ("abandon_d", "cross_sell", "voucher", "pricing_subsidy", "outreach",
              "decline_response", "tiered_service")
#: Outcomes compared between the models: ending counts, and sums over months 1-12.
AT_END = ("customers", "aum", "channel_branch")
SUMMED = ("churned", "profit", "strategy_cost_total", "contacts",
          *(f"cost_strategy_{s}" for s in STRATEGIES))
#: Playbook minus baseline, with the vectorised effect's sign at this size.
EFFECTS = {"churned": -1, "profit": -1, "aum": +1, "channel_branch": -1}
#: Negative control: abandon_d moves 15% of its branch users a month, not 10%.
FASTER_MIGRATION = "strategies.0.params.migration_rate=0.15"

Outcomes = dict[str, np.ndarray]  # outcome -> one value per seed


def run(model_class: type, path: Path, *extra: str) -> Outcomes:
    scenario = load_scenario(path, [*baseline_overrides(SIZE, MONTHS, path), *extra])
    runs = []
    for seed in SEEDS:
        model = model_class(scenario, seed=seed)
        for _ in range(MONTHS):
            model.step()
        frame = model.datacollector.get_model_vars_dataframe().iloc[1:]
        row = {key: float(frame[key].iloc[-1]) for key in AT_END}
        row.update({key: float(frame[key].sum()) for key in SUMMED if key in frame})
        runs.append(row)
    return {key: np.array([r[key] for r in runs]) for key in runs[0]}


@pytest.fixture(scope="module")
def vectorised() -> Outcomes:
    return run(LifecycleModel, PLAYBOOK)


@pytest.fixture(scope="module")
def reference() -> Outcomes:
    return run(ReferenceModel, PLAYBOOK)


@pytest.fixture(scope="module")
def effects(vectorised: Outcomes, reference: Outcomes) -> dict[str, Outcomes]:
    """Per model, playbook minus baseline per seed."""
    out = {}
    for name, model_class, playbook in (("vectorised", LifecycleModel, vectorised),
                                        ("reference", ReferenceModel, reference)):
        baseline = run(model_class, BASELINE)
        out[name] = {key: playbook[key] - baseline[key] for key in EFFECTS}
    return out


def welch_p(a: np.ndarray, b: np.ndarray) -> float:
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def test_reference_runs_every_strategy_of_the_playbook(reference: Outcomes) -> None:
    for strategy in STRATEGIES:
        assert (reference[f"cost_strategy_{strategy}"] > 0).all(), strategy


@pytest.mark.parametrize("outcome", [*AT_END, *SUMMED])
def test_playbook_outcomes_agree(reference: Outcomes, vectorised: Outcomes, outcome: str) -> None:
    ref, vec = reference[outcome], vectorised[outcome]
    assert welch_p(ref, vec) > ALPHA, (outcome, ref.mean(), vec.mean(), ref.std(), vec.std())


def test_tolerance_detects_a_strategy_half_as_active_again(reference: Outcomes) -> None:
    """Negative control: abandon_d migrating 15% instead of 10% a month is rejected."""
    changed = run(LifecycleModel, PLAYBOOK, FASTER_MIGRATION)
    key = "cost_strategy_abandon_d"
    assert welch_p(reference[key], changed[key]) < ALPHA, (reference[key].mean(),
                                                            changed[key].mean())


@pytest.mark.parametrize("outcome", list(EFFECTS))
def test_playbook_moves_outcomes_the_same_way(
    effects: dict[str, Outcomes], outcome: str
) -> None:
    vec, ref = effects["vectorised"][outcome], effects["reference"][outcome]
    side = "less" if EFFECTS[outcome] < 0 else "greater"
    for effect in (vec, ref):
        p = stats.ttest_1samp(effect, 0.0, alternative=side).pvalue
        assert p < ALPHA_EFFECT, (outcome, side, vec.mean(), ref.mean(), p)
    assert welch_p(ref, vec) > ALPHA, (outcome, ref.mean(), vec.mean())


def test_reference_agents_keep_compact_instance_dicts() -> None:
    """At most 29 attributes an agent (see ``Customer``): no silent slowdown of the yardstick."""
    scenario = load_scenario(PLAYBOOK, baseline_overrides(500, 3, PLAYBOOK))
    model = ReferenceModel(scenario, seed=1)
    for _ in range(3):
        model.step()
    assert max(len(vars(agent)) for agent in model.agents) <= 29


def test_scaling_keeps_budgets_and_staff_per_customer() -> None:
    full = load_scenario(PLAYBOOK)
    small = load_scenario(PLAYBOOK, baseline_overrides(SIZE, MONTHS, PLAYBOOK))
    factor = SIZE / full.population.size
    assert small.capacity.rm_hours_per_month == pytest.approx(
        full.capacity.rm_hours_per_month * factor, rel=5e-3)
    for before, after in zip(full.strategies, small.strategies, strict=True):
        for key in ("monthly", "total"):
            if getattr(before.budget, key) is None:
                assert getattr(after.budget, key) is None
            else:
                assert getattr(after.budget, key) == pytest.approx(
                    getattr(before.budget, key) * factor, rel=5e-3)
        assert after.budget.priority == before.budget.priority


def test_engine_benchmark_quick_playbook_names_the_scenario() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "engine.py"), "--quick", "--playbook"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "engine benchmark on abc_d_playbook" in result.stdout
    assert "ratio per customer-month:" in result.stdout
    assert "on abc_d_playbook" in result.stdout and "issue 7 target ≥ 30×" in result.stdout


@pytest.mark.parametrize(("when_short", "served"), [("stop", []), ("skip", [2, 3])])
def test_reference_budget_stops_or_skips_as_the_model(when_short: str, served: list[int]) -> None:
    # the reference mirrors sim's fund(): in priority order (here the dearest first),
    # stop at the first who does not fit, or pass over them (tests/sim: the model's side)
    from types import SimpleNamespace

    from benchmarks.reference_strategies import ReferenceStrategy

    stub = SimpleNamespace(priority=lambda cost: -cost, skip_when_short=when_short == "skip")
    stub._in_priority = lambda wanted: ReferenceStrategy._in_priority(stub, wanted)
    costs = [500.0, 60.0, 200.0, 90.0]
    chosen, used = ReferenceStrategy._serve(stub, costs, costs, 300.0)
    assert list(chosen) == served and used == sum(costs[i] for i in served)
