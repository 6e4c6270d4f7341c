"""clmsim: agent-based simulation of a retail bank's customer lifecycle.

The public API is small (as Mesa's is): load a scenario, build a model, run it.

    >>> from sim import load_scenario, LifecycleModel
    >>> model = LifecycleModel(load_scenario("scenarios/baseline.yaml"))
    >>> model.step()  # one month

The names are imported when first used (PEP 562), so importing a light part
of the package (``sim.scenario``, or the command line before it knows what
to do) does not pay for Mesa, SciPy and Numba.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

# Same scenario, same seed, same results on every installation: with Intel's SVML present
# (icc_rt, as in some conda environments) Numba would vectorise the kernels' loops of log
# and exp with SVML's functions, whose last bits differ from the platform libm's. Set
# before Numba is first imported (it reads its settings then); a user's own value stands.
os.environ.setdefault("NUMBA_DISABLE_INTEL_SVML", "1")

if TYPE_CHECKING:
    from sim.model import LifecycleModel
    from sim.scenario import ScenarioError, load_scenario
    from sim.schema import Scenario

__all__ = ["LifecycleModel", "Scenario", "ScenarioError", "load_scenario"]

_HOMES = {"LifecycleModel": "sim.model", "Scenario": "sim.schema",
          "ScenarioError": "sim.scenario", "load_scenario": "sim.scenario"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
