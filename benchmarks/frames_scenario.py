"""The mesa-frames model's scenario: PyYAML, ``extends`` merged, scaled; restated defaults.

``benchmarks/frames_reference.py`` runs in the mesa-frames environment, where
``sim`` cannot be imported (no Mesa, SciPy or SimPy there), so what clmsim
gets from ``sim.scenario`` and the strategy plugins is restated here. This
module needs only the standard library and PyYAML, so clmsim's side
(``benchmarks/frames.py``, ``tests/benchmarks``) imports it too and checks
that the restated numbers still equal clmsim's own (:data:`STRATEGY_DEFAULTS`
against each plugin's constructor defaults, :data:`SPEC_DEFAULTS` against
``sim.schema``): they cannot drift apart silently.

What is reproduced of ``sim.scenario`` is only what ``baseline.yaml`` and
``abc_d_playbook.yaml`` need: ``extends:`` naming one or more parent files
(relative to the child), merged as ``sim.scenario.deep_merge`` does (mappings
merge key by key, lists and scalars replace), the parent's ``name`` dropped.
``replace:`` is refused rather than half-implemented.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = ["COST_KINDS", "SPEC_DEFAULTS", "STRATEGY_DEFAULTS", "SUPPORTED_TARGETS",
           "VOUCHER_REFERENCE_VALUE",
           "deep_merge", "read_merged", "read_scenario", "scaling_summary", "strategy_params",
           "three_figures"]

# ======================================================================================
# RESTATED DEFAULTS — keep equal to clmsim's. ``benchmarks/frames.py`` (before every
# agreement check) and ``tests/benchmarks/test_frames_driver.py`` compare them with the
# plugins' constructor defaults (``strategies/*.py``), their ``cost_kinds`` and the
# schema's defaults (``sim/schema.py``); a difference stops the benchmark.
# ======================================================================================
#: strategies/_common.py: CNY per contact and RM minutes per contact, by channel.
_COST_PER_CONTACT = {"phone": 5.0, "sms": 0.05, "push": 0.01, "visit": 100.0}
_RM_MINUTES = {"phone": 10.0, "visit": 60.0}
_MANAGED_TIERS = ("200k_1m", "1m_5m", "5m_6m", "private")
#: strategies/voucher.py: the value per CNY invested at which ``base_redemption`` holds.
VOUCHER_REFERENCE_VALUE = 500.0 / 100_000.0

#: Each strategy's parameters when the scenario's ``params`` leave them out.
STRATEGY_DEFAULTS: dict[str, dict[str, Any]] = {
    "abandon_d": {"migration_rate": 0.10, "migration_cost": 20.0,
                  "satisfaction_penalty": 0.05, "online_threshold": 0.5},
    "cross_sell": {"max_products": 5, "offer_channel": "sms",
                   "offer_cost": _COST_PER_CONTACT, "rm_minutes_per_offer": _RM_MINUTES,
                   "acceptance": {"push": 0.005, "sms": 0.01, "phone": 0.04, "visit": 0.08},
                   "satisfaction_effect": 4.0, "satisfaction_reference": 0.7,
                   "onboarding_cost": 50.0},
    "voucher": {"threshold": 100_000.0, "face_value": 500.0, "base_redemption": 0.10,
                "cooldown_months": 12, "satisfaction_bump": 0.02, "value_elasticity": 0.5},
    "pricing_subsidy": {"bump_bp": 20.0},
    "outreach": {"contacts_per_month": {"phone": 2, "sms": 4, "push": 0, "visit": 0},
                 "by_segment": None, "by_tier": None, "cost_per_contact": _COST_PER_CONTACT,
                 "rm_minutes_per_contact": _RM_MINUTES, "fatigue_threshold": 6.0,
                 "fatigue_penalty": 0.01},
    "decline_response": {"response_by_segment": {"A": "respond", "B": "rescue",
                                                 "C": "improve", "D": "abandon"},
                         "rescue_rm_minutes": 120.0, "rescue_cost": 300.0,
                         "rescue_yield_bump_bp": 20.0, "rescue_months": 6,
                         "rescue_satisfaction_boost": 0.15, "respond_rm_minutes": 10.0,
                         "respond_cost": 5.0, "improve_cost": 150.0,
                         "improve_satisfaction_bump": 0.05, "cooldown_months": 12},
    "tiered_service": {"contacts_per_month": dict.fromkeys(_MANAGED_TIERS, 2),
                       "sms_per_month": dict.fromkeys(_MANAGED_TIERS, 4),
                       "salons_per_year": {"200k_1m": 2, "1m_5m": 2, "5m_6m": 3, "private": 3},
                       "gifts_per_year": {"1m_5m": 1, "5m_6m": 1, "private": 1},
                       "president_visits_per_year": {"5m_6m": 2, "private": 2},
                       "contact_rm_minutes": 10.0, "contact_cost": 5.0, "sms_cost": 0.05,
                       "salon_cost": 200.0, "gift_cost": 200.0, "president_visit_cost": 500.0,
                       "salon_satisfaction_bump": 0.01, "gift_satisfaction_bump": 0.05,
                       "president_visit_satisfaction_bump": 0.02},
}
#: Each strategy's cost kinds (its ``cost_kinds``), the ledger's keys in this order.
COST_KINDS: dict[str, tuple[str, ...]] = {
    "abandon_d": ("migration",),
    "cross_sell": ("phone", "sms", "push", "visit", "onboarding"),
    "voucher": ("voucher",),
    "pricing_subsidy": ("subsidy_interest",),
    "outreach": ("phone", "sms", "push", "visit"),
    "decline_response": ("rescue_visit", "yield_bump", "respond_call", "improve_fix"),
    "tiered_service": ("contact", "sms", "salon", "gift", "president_visit"),
}
#: sim/schema.py: a strategy's hold-out share, budget priority and what a short budget does
#: when the file omits them, and the RM hours when ``capacity`` is left out.
SPEC_DEFAULTS: dict[str, Any] = {"holdout": 0.0, "priority": "highest_value",
                                 "when_short": "stop", "rm_hours_per_month": 0.0}
# ======================================================================================

#: Target keys the mesa-frames model supports (as the per-agent reference: no labels, where).
SUPPORTED_TARGETS = ("stages", "segments", "tiers", "channels")


def deep_merge(base: Mapping[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``change``: mappings merge, the rest replaces (as ``sim.scenario``)."""
    merged = copy.deepcopy(dict(base))
    for key, value in change.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def read_merged(path: Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a scenario YAML and resolve its ``extends:`` chain into one mapping.

    Parents (a path or a list of them, relative to the child) merge in order,
    later ones winning, then the child over them; a parent's ``name`` is
    dropped. ``replace:`` is not supported here.
    """
    path = Path(path)
    if path.resolve() in _chain:
        raise SystemExit(f"{path}: circular extends")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    parents = data.pop("extends", None)
    if "replace" in data:
        raise SystemExit(f"{path}: 'replace' is not supported here")
    if parents is None:
        return data
    base: dict[str, Any] = {}
    for name in parents if isinstance(parents, list) else [parents]:
        parent = Path(name) if Path(name).is_absolute() else path.parent / name
        base = deep_merge(base, read_merged(parent, (*_chain, path.resolve())))
    base.pop("name", None)
    return deep_merge(base, data)


def three_figures(x: float) -> float:
    """``x`` to three significant figures (as ``benchmarks.engine``)."""
    return float(f"{x:.3g}")


def strategy_params(name: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """A strategy's parameters: the scenario's over :data:`STRATEGY_DEFAULTS` (top level)."""
    if name not in STRATEGY_DEFAULTS:
        raise SystemExit(f"strategy {name!r} is not modelled here; it models "
                         f"{sorted(STRATEGY_DEFAULTS)}")
    unknown = sorted(set(params or {}) - set(STRATEGY_DEFAULTS[name]))
    if unknown:
        raise SystemExit(f"strategy {name!r}: unknown parameter(s) {unknown}")
    return {**copy.deepcopy(STRATEGY_DEFAULTS[name]), **copy.deepcopy(dict(params or {}))}


def read_scenario(path: Path, size: int, months: int) -> dict[str, Any]:
    """Read a scenario (``extends`` merged) and scale it to ``size`` customers.

    As ``benchmarks.engine.baseline_overrides``: prospects, monthly arrivals,
    RM hours (``capacity``) and every strategy's monthly and total budget
    scale by ``size / population.size`` to three significant figures. Each
    strategy gets its hold-out, budget priority and parameters filled in
    (``holdout``, ``budget: {monthly, total, priority, when_short}``, ``params``).

    Raises:
        SystemExit: For what the mesa-frames model does not model: channels,
            a strategy other than the playbook's seven, a target by labels or
            ``where``.
    """
    data = read_merged(path)
    if data.get("channels"):
        raise SystemExit(f"{path}: channels are not modelled here")
    pop = data["population"]
    factor = size / pop["size"]
    pop["prospects"] = int(three_figures(pop.get("prospects", 0) * factor))
    market = data["market"]
    market["prospect_arrivals_per_month"] = three_figures(
        market["prospect_arrivals_per_month"] * factor)
    pop["size"] = size
    data["horizon_months"] = months
    capacity = data.get("capacity") or {}
    hours = capacity.get("rm_hours_per_month")
    data["capacity"] = {"rm_hours_per_month": SPEC_DEFAULTS["rm_hours_per_month"]
                        if hours is None else three_figures(hours * factor)}
    strategies = []
    for spec in data.get("strategies") or []:
        target = dict(spec.get("target") or {})
        unsupported = sorted(k for k, v in target.items()
                             if k not in SUPPORTED_TARGETS and v is not None)
        if unsupported:
            raise SystemExit(f"{path}: strategy {spec['name']!r} targets by {unsupported}, "
                             "which is not modelled here")
        budget = spec.get("budget") or {}
        if isinstance(budget, int | float) and not isinstance(budget, bool):  # a total
            budget = {"total": budget}
        budget = {"monthly": budget.get("monthly"), "total": budget.get("total"),
                  "priority": budget.get("priority", SPEC_DEFAULTS["priority"]),
                  "when_short": budget.get("when_short", SPEC_DEFAULTS["when_short"])}
        for key in ("monthly", "total"):
            if budget[key] is not None:
                budget[key] = three_figures(budget[key] * factor)
        strategies.append({"name": spec["name"],
                           "params": strategy_params(spec["name"], spec.get("params")),
                           "target": target, "budget": budget,
                           "holdout": float(spec.get("holdout", SPEC_DEFAULTS["holdout"]))})
    data["strategies"] = strategies
    return data


def scaling_summary(data: dict[str, Any]) -> dict[str, Any]:
    """What scaling decided, for ``benchmarks/frames.py`` to check against clmsim's scenario.

    Prospects, arrivals, RM hours; each strategy's name, budgets, priority and hold-out.
    """
    return {
        "prospects": data["population"]["prospects"],
        "arrivals_per_month": data["market"]["prospect_arrivals_per_month"],
        "rm_hours_per_month": data["capacity"]["rm_hours_per_month"],
        "strategies": [{"name": s["name"], "monthly": s["budget"]["monthly"],
                        "total": s["budget"]["total"], "priority": s["budget"]["priority"],
                        "when_short": s["budget"]["when_short"], "holdout": s["holdout"]}
                       for s in data["strategies"]],
    }
