"""Driver effects move transition probabilities exactly as the multinomial logit says."""

from __future__ import annotations

import numpy as np

from sim.lifecycle import TransitionTable
from sim.schema import DRIVERS
from tests.sim.util import SCENARIOS, scaled


def test_transition_frequencies_match_the_logit_formula() -> None:
    life = scaled(SCENARIOS / "baseline.yaml", 1_000).lifecycle
    table = TransitionTable(life)
    stages = table.stage_names
    n = 400_000
    rng = np.random.default_rng(3)
    for source, x_sat, x_gap in (("maturity", 0.2, 0.1), ("decline", -0.3, 0.5),
                                 ("growth", 0.1, 0.0)):
        i = stages.index(source)
        stage = np.full(n, i, dtype=np.int8)
        drivers = {d: np.zeros(n) for d in DRIVERS}
        drivers["satisfaction"][:] = x_sat
        drivers["price_gap"][:] = x_gap
        new = table.step(stage, drivers, rng.random(n))
        row = life.transitions[source]
        effects = life.driver_effects
        weights = {}
        for target, p in row.items():
            beta = effects.get(f"{source}->{target}", {})
            eta = beta.get("satisfaction", 0.0) * x_sat + beta.get("price_gap", 0.0) * x_gap
            weights[target] = p * np.exp(eta)
        denom = 1.0 - sum(row.values()) + sum(weights.values())
        for target, w in weights.items():
            expected = w / denom
            observed = np.mean(new == stages.index(target))
            se = np.sqrt(expected * (1 - expected) / n)
            assert abs(observed - expected) < 4.5 * se, (source, target, observed, expected)
        stay = np.mean(new == i)
        expected_stay = (1.0 - sum(row.values())) / denom
        assert abs(stay - expected_stay) < 4.5 * np.sqrt(expected_stay * (1 - expected_stay) / n)
