"""The per-agent reference and the vectorised model simulate the same bank.

Both models run the baseline scaled to 5,000 customers for 24 months with the
same seeds (their draws differ: the reference draws per agent from Python's
``random``), and their outcomes are compared with tests whose error comes
from sampling alone, because customers do not interact:

* stage at month 24 of the month-0 cohort: each row independently ends in one
  stage, so the counts are multinomial — a chi-square test of homogeneity on
  the 2 × stages table; the same for the prospects who arrived later (Poisson
  arrivals thinned into stages give independent Poisson counts, for which the
  same test is valid conditional on the totals);
* churn, lapse and acquisition totals: each row churns at most once, so a
  total is a sum of independent Bernoulli events, with variance
  Σ pᵢ(1 − pᵢ) ≤ its mean (and exactly its mean for thinned Poisson
  arrivals): z = (a − b) / √(a + b) is a slightly conservative two-sample test;
* churn month by month: chi-square homogeneity of the 2 × 24 table;
* satisfaction, share of wallet and log wealth of the customers at month 24:
  independent across customers, so Welch's t-test;
* segments at month 24: chi-square as for stages.

Each test rejects at ALPHA = 0.001 (a family of ten such tests has a false
alarm rate below 1%). A negative control shows the tests have power: a model
whose decline→churned probability is a third higher is rejected.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # ``benchmarks`` lives at the repository root, outside the package
    sys.path.insert(0, str(ROOT))

from benchmarks.agreement import count_difference_p, homogeneity_p  # noqa: E402
from benchmarks.engine import BASELINE, baseline_overrides  # noqa: E402
from benchmarks.reference_agents import ReferenceModel  # noqa: E402
from sim.model import LifecycleModel  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from sim.schema import Scenario  # noqa: E402

SIZE, MONTHS = 5_000, 24
SEEDS = (11, 12, 13, 14)
ALPHA = 1e-3
#: Negative control: decline→churned 0.03 → 0.04.
STRONGER_CHURN = "lifecycle.transitions.decline.churned=0.04"


@dataclass
class Outcome:
    """What one model produced, summed over the seeds."""

    initial_stages: np.ndarray  # month-0 rows by stage at the end (absorbed included)
    arrival_stages: np.ndarray  # rows that arrived later, by stage at the end
    monthly_churn: np.ndarray  # churned customers per month, months 1..MONTHS
    totals: dict[str, int]  # churned, lapsed, acquired, arrivals
    segments: np.ndarray  # customers by segment at the end
    satisfaction: np.ndarray  # per live customer at the end
    share_of_wallet: np.ndarray
    log_wealth: np.ndarray


def _scenario(*extra: str) -> Scenario:
    return load_scenario(BASELINE, [*baseline_overrides(SIZE, MONTHS), *extra])


def _summarise(runs: list[dict[str, np.ndarray]]) -> Outcome:
    def total(key: str) -> np.ndarray:
        return np.sum([r[key] for r in runs], axis=0)

    def joined(key: str) -> np.ndarray:
        return np.concatenate([r[key] for r in runs])

    return Outcome(
        initial_stages=total("initial_stages"),
        arrival_stages=total("arrival_stages"),
        monthly_churn=total("monthly_churn"),
        totals={k: int(total(k)) for k in ("churned", "lapsed", "acquired", "arrivals")},
        segments=total("segments"),
        satisfaction=joined("satisfaction"),
        share_of_wallet=joined("share_of_wallet"),
        log_wealth=joined("log_wealth"),
    )


def run_vectorised(scenario: Scenario) -> Outcome:
    runs = []
    for seed in SEEDS:
        model = LifecycleModel(scenario, seed=seed)
        for _ in range(MONTHS):
            model.step()
        pop, frame = model.population, model.monthly_frame()
        assert len(model.absorption_records()) == len(pop), "table compacted; counts incomplete"
        n_stages = len(model.stage_names)
        initial = pop.entered_month == 0
        customer = model.is_customer()
        runs.append({
            "initial_stages": np.bincount(pop.stage[initial], minlength=n_stages),
            "arrival_stages": np.bincount(pop.stage[~initial], minlength=n_stages),
            "monthly_churn": frame.churned.to_numpy()[1:],
            **{k: frame[k].iloc[1:].sum() for k in ("churned", "lapsed", "acquired", "arrivals")},
            "segments": np.bincount(pop.segment[customer], minlength=4),
            "satisfaction": pop.satisfaction[customer],
            "share_of_wallet": pop.share_of_wallet[customer],
            "log_wealth": np.log(pop.total_wealth[customer]),
        })
    return _summarise(runs)


def run_reference(scenario: Scenario) -> Outcome:
    runs = []
    for seed in SEEDS:
        model = ReferenceModel(scenario, seed=seed)
        for _ in range(MONTHS):
            model.step()
        frame = model.datacollector.get_model_vars_dataframe()
        customers = model.live_customers()
        runs.append({
            "initial_stages": np.array(model.final_stage_counts(initial=True)),
            "arrival_stages": np.array(model.final_stage_counts(initial=False)),
            "monthly_churn": frame.churned.to_numpy()[1:],
            **{k: frame[k].iloc[1:].sum() for k in ("churned", "lapsed", "acquired", "arrivals")},
            "segments": np.bincount([a.segment for a in customers], minlength=4),
            "satisfaction": np.array([a.satisfaction for a in customers]),
            "share_of_wallet": np.array([a.share_of_wallet for a in customers]),
            "log_wealth": np.log([a.total_wealth for a in customers]),
        })
    return _summarise(runs)


@pytest.fixture(scope="module")
def reference() -> Outcome:
    return run_reference(_scenario())


@pytest.fixture(scope="module")
def vectorised() -> Outcome:
    return run_vectorised(_scenario())


@pytest.mark.parametrize("cohort", ["initial_stages", "arrival_stages"])
def test_stage_distribution_agrees(reference: Outcome, vectorised: Outcome, cohort: str) -> None:
    ref, vec = getattr(reference, cohort), getattr(vectorised, cohort)
    assert ref.sum() > 1000 and vec.sum() > 1000
    assert homogeneity_p(ref, vec) > ALPHA, (ref, vec)


def test_initial_cohort_is_the_same_size(reference: Outcome, vectorised: Outcome) -> None:
    assert reference.initial_stages.sum() == vectorised.initial_stages.sum()


@pytest.mark.parametrize("flow", ["churned", "lapsed", "acquired", "arrivals"])
def test_flow_totals_agree(reference: Outcome, vectorised: Outcome, flow: str) -> None:
    ref, vec = reference.totals[flow], vectorised.totals[flow]
    assert ref > 500 and vec > 500  # enough events for the normal approximation
    assert count_difference_p(ref, vec) > ALPHA, (flow, ref, vec)


def test_churn_month_by_month_agrees(reference: Outcome, vectorised: Outcome) -> None:
    assert homogeneity_p(reference.monthly_churn, vectorised.monthly_churn) > ALPHA


@pytest.mark.parametrize("attribute", ["satisfaction", "share_of_wallet", "log_wealth"])
def test_customer_state_agrees(reference: Outcome, vectorised: Outcome, attribute: str) -> None:
    ref, vec = getattr(reference, attribute), getattr(vectorised, attribute)
    p = stats.ttest_ind(ref, vec, equal_var=False).pvalue
    assert p > ALPHA, (attribute, ref.mean(), vec.mean())


def test_segments_agree(reference: Outcome, vectorised: Outcome) -> None:
    assert homogeneity_p(reference.segments, vectorised.segments) > ALPHA


def test_tests_detect_a_third_more_churn_from_decline(reference: Outcome) -> None:
    """Negative control: the same tests reject a model with decline→churned 0.03 → 0.04."""
    changed = run_vectorised(_scenario(STRONGER_CHURN))
    assert count_difference_p(reference.totals["churned"], changed.totals["churned"]) < ALPHA
    assert homogeneity_p(reference.initial_stages, changed.initial_stages) < ALPHA


def test_engine_benchmark_quick_runs_and_prints_the_ratio() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "engine.py"), "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "ratio per customer-month:" in result.stdout
    assert "per-agent reference" in result.stdout
