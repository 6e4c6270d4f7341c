"""Helpers shared by the strategy tests: small models, runs, same-seed pairs, budgets, ids.

Two ways to build a small model are in use, and both are kept as they were so
that every seeded number the tests assert on stays the same:

* ``small_model(path, *overrides)``: ``--set``-style overrides on top of
  ``SMALL`` (10,000 customers, 24 months) or another ``small(...)`` list;
* ``scaled_model(size, strategies, path, **changes)`` and ``run_months``:
  ``tests.sim.util.scaled`` with a strategy list and dotted changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pytest

from sim.model import LifecycleModel
from sim.scenario import ScenarioError, load_scenario
from tests.sim.util import SCENARIOS, scaled

M = TypeVar("M")

#: The override that switches every strategy off: the "without" run of a same-seed pair.
NO_STRATEGIES = "strategies=[]"
#: A channel preference with no self-service channel, for "missing destination" checks.
NO_SELF_SERVICE = ("population.channel_preference={online: {intercept: -3.55, digital: 2.6}, "
                   "branch: {intercept: 0.0, age: 0.02}}")


def small(size: int = 10_000, prospects: int = 1_750, arrivals: float = 158,
          months: int = 24) -> list[str]:
    """Overrides for a small population of ``size`` customers over ``months`` months."""
    return [f"population.size={size}", f"population.prospects={prospects}",
            f"market.prospect_arrivals_per_month={arrivals}", f"horizon_months={months}"]


#: 10,000 customers, 1,750 prospects, 158 arrivals a month, 24 months.
SMALL = small()


def budget(monthly: float, total: float) -> list[str]:
    """Overrides giving the first strategy a ``monthly`` and a ``total`` budget."""
    return [f"strategies.0.budget.monthly={monthly}", f"strategies.0.budget.total={total}"]


def small_model(path: Path, *overrides: str, base: Sequence[str] = SMALL) -> LifecycleModel:
    """A model of the scenario at ``path`` with ``base`` and then ``overrides`` applied."""
    return LifecycleModel(load_scenario(path, [*base, *overrides]))


def scaled_model(size: int, strategies: list[dict[str, Any]] | None = None,
                 path: str = "baseline.yaml", **changes: Any) -> LifecycleModel:
    """A model of ``scenarios/path`` scaled to ``size`` (with ``strategies`` if given)."""
    if strategies is not None:
        changes["strategies"] = strategies
    return LifecycleModel(scaled(SCENARIOS / path, size, **changes))


def advance(*models: LifecycleModel, months: int) -> None:
    """Step every model ``months`` months, in lockstep."""
    for _ in range(months):
        for model in models:
            model.step()


def finish(model: LifecycleModel, months: int | None = None) -> pd.DataFrame:
    """Step ``model`` ``months`` months (default: its horizon); return its monthly frame."""
    advance(model, months=months or model.scenario.horizon_months)
    return model.monthly_frame()


def run_months(size: int, months: int, strategies: list[dict[str, Any]] | None = None,
               path: str = "baseline.yaml", **changes: Any) -> LifecycleModel:
    """A small model of ``path`` (with ``strategies`` if given) after ``months`` months."""
    model = scaled_model(size, strategies, path, horizon_months=max(months, 1), **changes)
    advance(model, months=months)
    return model


def with_and_without(build: Callable[..., M], *overrides: str) -> tuple[M, M]:
    """``build(*overrides)`` and, from the same seed, ``build`` with no strategies at all."""
    return build(*overrides), build(NO_STRATEGIES)


def run_with_and_without(size: int, months: int, path: str
                         ) -> tuple[LifecycleModel, LifecycleModel]:
    """``path`` as shipped and with no strategies, same seed, after ``months`` months."""
    return run_months(size, months, path=path), run_months(size, months, path=path, strategies=[])


def strategy_spec(name: str, params: dict[str, Any] | None = None,
                  budget: dict[str, Any] | None = None, **target: Any) -> dict[str, Any]:
    """A ``strategies:`` entry for ``name`` (an empty target is the default: everyone)."""
    return {"name": name, "params": params or {}, "target": target, "budget": budget or {}}


# --- mapping customers between two runs -------------------------------------------------------

def id_source(ids: np.ndarray) -> np.ndarray:
    """Which stream brought each customer id (``sim.streams``: bits 32-39)."""
    return (ids >> 32) & 0xFF


def rows_of(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Row numbers of the ``wanted`` ids (all present) in the id column ``ids``."""
    order = np.argsort(ids)
    return order[np.searchsorted(ids, wanted, sorter=order)]


def customers_among(model: LifecycleModel, ids: np.ndarray) -> np.ndarray:
    """Rows of ``model`` holding one of ``ids`` who are still customers."""
    return np.isin(model.population.id, ids) & model.is_customer()


def values_by_id(model: LifecycleModel, column: str, *,
                 customers_only: bool = True) -> dict[int, Any]:
    """``{customer id: value of column}`` over the customers (or the whole population)."""
    pop = model.population
    rows = model.is_customer() if customers_only else slice(None)
    return dict(zip(pop.id[rows].tolist(), getattr(pop, column)[rows].tolist(), strict=True))


def churned(model: LifecycleModel, ids: np.ndarray) -> int:
    """How many of ``ids`` have churned (been absorbed) so far."""
    records = model.absorption_records()
    return int((records.id.isin(ids) & (records.absorbed_month >= 0)).sum())


# --- assertions ---------------------------------------------------------------------------------

def assert_within_budget(cost: pd.Series, monthly: float, total: float) -> None:
    """No month above ``monthly``; never, cumulatively, above ``total``."""
    assert (cost <= monthly + 1e-6).all()
    assert cost.sum() <= total + 1e-6
    assert (cost.cumsum() <= total + 1e-6).all()


def assert_budget_binds(df: pd.DataFrame, name: str, monthly: float, total: float) -> pd.Series:
    """Strategy ``name`` spends exactly its caps, then funds no one; return the months after."""
    cost = df[f"cost_strategy_{name}"]
    assert_within_budget(cost, monthly, total)
    assert cost.max() == monthly and cost.sum() == total
    # with the money gone, no one else is funded
    used_up = cost.cumsum().shift(fill_value=0) >= total - 1e-6
    assert used_up.any() and (df[f"strategy_{name}_funded"][used_up] == 0).all()
    return used_up


def assert_refused(cls: Callable[..., Any], params: dict[str, Any], match: str) -> None:
    """Building ``cls(**params)`` raises a ValueError matching ``match``."""
    with pytest.raises(ValueError, match=match):
        cls(**params)


def assert_refused_at_load(path: Path, override: str, match: str) -> None:
    """Loading ``path`` with ``override`` raises a ScenarioError matching ``match``."""
    with pytest.raises(ScenarioError, match=match):
        load_scenario(path, [override])


def assert_params_stored(cls: Callable[..., Any], params: dict[str, Any]) -> None:
    """``cls(**params).get_params()`` gives ``params`` back as given."""
    assert cls(**params).get_params() == params
