"""Every registered strategy behaves as a plugin must (cf. scikit-learn's check_estimator).

For each strategy: it builds from its defaults; its parameters round-trip
through YAML; it runs three months; it books costs only under its own name
and declared kinds; and — with a target and a hold-out — it leaves every
customer outside its target, and every customer in its hold-out, exactly as
the same seed leaves them without it (draws are keyed by customer id, so
any difference is the strategy's doing).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import yaml

from sim.population import FIELDS
from sim.scenario import load_scenario
from strategies import registry
from strategies.base import Strategy
from tests.sim.util import SCENARIOS
from tests.strategies.util import (
    finish,
    id_source,
    rows_of,
    small,
    small_model,
    with_and_without,
)

NAMES = sorted(registry.available())
build = partial(small_model, SCENARIOS / "baseline.yaml",
                base=small(6_000, 1_000, 95, months=3))
#: Strategy-specific target used for the isolation check (default: the A and C classes).
TARGETS = {"decline_response": "{stages: [decline], segments: [A, B, C]}"}


def test_the_nine_built_ins_are_registered() -> None:
    assert {"voucher", "outreach", "pricing_subsidy", "abandon_d", "decline_response",
            "tiered_service", "channel_migration", "referral", "cross_sell"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_builds_from_defaults_and_round_trips_through_yaml(name: str) -> None:
    cls = registry.get(name)
    assert issubclass(cls, Strategy) and cls.name == name
    strategy = cls()
    params = strategy.get_params()
    assert set(params) == set(cls.param_names())
    again = registry.build(name, yaml.safe_load(yaml.safe_dump(params)))
    assert again.get_params() == params
    assert cls.__init__.__doc__ or cls.__doc__, "parameters must be documented"
    assert isinstance(getattr(cls, "cost_kinds", None), tuple) and cls.cost_kinds


@pytest.mark.parametrize("name", NAMES)
def test_unknown_parameter_fails_at_load_time(name: str) -> None:
    with pytest.raises(Exception, match="unknown parameter"):
        load_scenario(SCENARIOS / "baseline.yaml",
                      [f"strategies=[{{name: {name}, params: {{no_such_knob: 1}}}}]"])


@pytest.mark.parametrize("name", NAMES)
def test_runs_books_its_costs_and_leaves_others_alone(name: str) -> None:
    target = TARGETS.get(name, "{segments: [A, C]}")
    spec = f"strategies=[{{name: {name}, target: {target}, holdout: 0.3}}]"
    with_it, without = with_and_without(build, spec)
    df = finish(with_it, 3)
    finish(without, 3)
    kinds = [f"strategy_{name}_cost_{k}" for k in registry.get(name).cost_kinds]
    np.testing.assert_allclose(df[kinds].sum(axis=1), df[f"cost_strategy_{name}"])
    assert df[f"cost_strategy_{name}"].sum() > 0, "a strategy that acts should cost something"
    assert df[f"strategy_{name}_treated"].iloc[1:].sum() > 0

    a, b = with_it.population, without.population
    cohort = getattr(a, f"cohort_{name}")
    untouched_ids = a.id[cohort != 1]  # never targeted, or in the hold-out
    assert (cohort == 2).sum() > 0
    from_market = id_source(untouched_ids) < 2  # not prospects the strategy brought
    assert np.isin(untouched_ids[from_market], b.id).all(), f"{name} changed who is still here"
    common = np.intersect1d(untouched_ids, b.id)
    assert len(common) > 1000
    rows_a, rows_b = rows_of(a.id, common), rows_of(b.id, common)
    for column in FIELDS:
        if column in ("revenue_month", "cost_month"):
            continue
        np.testing.assert_array_equal(
            getattr(a, column)[rows_a], getattr(b, column)[rows_b],
            err_msg=f"{name} changed {column} of customers outside its target or in its hold-out")
