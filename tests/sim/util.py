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


def small_bank(size: int = 3000, months: int = 18, **changes: Any) -> Scenario:
    """The playbook bank with branches, small: budgets scaled with the bank, desks that queue.

    ``scenarios/playbook_branches.yaml`` at ``size`` customers in 4 branches, its
    strategies' budgets scaled down with the bank (so they bind as in the full-size
    bank) and its desks small enough to queue (tests of sharded runs, issue 7).
    """
    data = read_scenario_dict(SCENARIOS / "playbook_branches.yaml")
    factor = size / data["population"]["size"]
    strategies = []
    for spec in data["strategies"]:
        budget = {k: v * factor if k in ("monthly", "total") else v
                  for k, v in spec.get("budget", {}).items()}
        strategies.append({**spec, "budget": budget})
    ch = data["channels"]
    settings: dict[str, Any] = dict(
        horizon_months=months, population__branches=4, strategies=strategies,
        channels__default={**ch["default"], "tellers": 1, "vtms": 1,
                           "relationship_managers": 1, "rm_hours_per_month": 12},
        channels__visits_per_customer_month={"branch": 4.0, "self_service": 4.0, "online": 0.0},
        channels__sampled_days=1, channels__load_bucket=0.1,
        channels__call_centre={**ch["call_centre"], "agents": 2},
        channels__online={**ch["online"], "capacity_sessions_per_month": 3000},
        channels__complaints={**ch["complaints"], "handler_hours_per_month": 20},
    )
    settings.update(changes)
    return scaled(SCENARIOS / "playbook_branches.yaml", size, **settings)
