"""clmsim: agent-based simulation of a retail bank's customer lifecycle.

The public API is small (as Mesa's is): load a scenario, build a model, run it.

    >>> from sim import load_scenario, LifecycleModel
    >>> model = LifecycleModel(load_scenario("scenarios/baseline.yaml"))
    >>> model.step()  # one month
"""

from __future__ import annotations

from sim.model import LifecycleModel
from sim.scenario import ScenarioError, load_scenario
from sim.schema import Scenario

__all__ = ["LifecycleModel", "Scenario", "ScenarioError", "load_scenario"]
