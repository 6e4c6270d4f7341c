"""Helpers for the model tests: small, fast versions of the shipped scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.scenario import read_scenario_dict, scenario_from_dict
from sim.schema import Scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def scaled(path: Path | str, size: int, **changes: Any) -> Scenario:
    """Load a scenario with its population (prospects, arrivals) scaled to ``size`` customers.

    ``changes`` are top-level or dotted (``a__b``) keys set after scaling.
    """
    data = read_scenario_dict(path)
    data.setdefault("name", Path(path).stem)
    factor = size / data["population"]["size"]
    data["population"]["size"] = size
    data["population"]["prospects"] = round(data["population"].get("prospects", 0) * factor)
    market = data["market"]
    market["prospect_arrivals_per_month"] = market["prospect_arrivals_per_month"] * factor
    for key, value in changes.items():
        node = data
        *parents, last = key.split("__")
        for part in parents:
            node = node[part]
        node[last] = value
    return scenario_from_dict(data, str(path))
