"""The model behind the lifecycle page: levers as keyword arguments, flows, pictures.

Mesa's SolaraViz rebuilds a model on Reset by calling its class with the
slider values as keyword arguments, so :class:`VizModel` takes the levers a
teacher moves (strategies on or off, voucher face value, outreach calls, price
subsidy, tellers) and turns them into ``--set`` overrides of the scenario the
page was started with. It also keeps the stage-to-stage flows of the last
month (matched by customer id, vectorised) for the flow diagram. Drawing
functions here return matplotlib figures in the colours of :mod:`sim.palette`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import FancyArrowPatch

from sim.model import LifecycleModel
from sim.palette import stage_colours
from sim.scaling import scale_overrides
from sim.scenario import load_scenario
from sim.schema import Scenario
from strategies import registry

__all__ = ["PAGE_POPULATION", "VizModel", "draw_dots", "draw_flows", "lever_overrides",
           "levers", "page_scenario"]

#: Customers on the page unless the user sets ``population.size``: a month takes well under
#: a second, so play looks alive.
PAGE_POPULATION = 20_000
#: Customers drawn as dots.
DOTS = 400


def _strategy_index(scenario: Scenario, name: str) -> int | None:
    names = [s.name for s in scenario.strategies]
    return names.index(name) if name in names else None


def page_scenario(path: Path, overrides: list[str]) -> Scenario:
    """The scenario as the page runs it: a small bank unless the user set its size.

    Everything counted for the whole bank shrinks with it (unless set
    explicitly), so a customer meets the same bank, only less of it:
    prospects and monthly arrivals, RM outreach hours, strategy budgets, and,
    with channels, the number of branches (whole branches, so each keeps its
    load and queues), call-centre agents, online capacity and complaint
    handlers (:func:`sim.scaling.scale_overrides`).
    """
    keys = {o.split("=", 1)[0].strip() for o in overrides}
    scenario = load_scenario(path, overrides)
    if "population.size" in keys:
        base = load_scenario(path, [o for o in overrides
                                    if o.split("=", 1)[0].strip() != "population.size"])
        size = scenario.population.size
    else:
        base, size = scenario, min(scenario.population.size, PAGE_POPULATION)
    if size == base.population.size:
        return scenario
    extra = scale_overrides(base, size, keep=keys, whole_branches="population.size" not in keys)
    return load_scenario(path, [*overrides, *extra])


@dataclass(frozen=True)
class _Lever:
    """A slider over one strategy parameter."""

    strategy: str
    key: str  #: the parameter, dotted into mappings (``contacts_per_month.phone``)
    label: str
    low: int
    high: int
    step: int
    off_at_zero: bool = False  #: 0 means "without the strategy" (which refuses 0)
    #: Parameters of per-group plans (``{group: {channel: rate}}``) whose entries for the
    #: lever's channel move with it in proportion: the lever reads the base plan's rate
    #: and scales every group's, so 0 stops them all and a scenario's own mix (tiers
    #: from 200k CNY called twice as often, D never) stays as the file has it.
    scales: tuple[str, ...] = ()


#: The page's strategy levers by keyword of :class:`VizModel`. Slider ranges are the
#: page's choice, from off to three or four times each parameter's default (voucher
#: 500 CNY, outreach 2 calls, subsidy 20 bp: the strategies' docstrings give sources).
_LEVERS = {
    "voucher_value": _Lever("voucher", "face_value", "voucher face value (CNY)", 0, 2000, 50),
    "outreach_calls": _Lever("outreach", "contacts_per_month.phone",
                             "outreach: RM calls a month (segment and tier plans in "
                             "proportion)", 0, 6, 1, scales=("by_segment", "by_tier")),
    "subsidy_bp": _Lever("pricing_subsidy", "bump_bp", "price subsidy (bp; 0 = none)",
                         0, 60, 5, off_at_zero=True),  # a subsidy of 0 bp is no subsidy
}


def _built(scenario: Scenario, i: int) -> Any:
    """Strategy ``i`` as built, so a parameter the scenario leaves out has its default."""
    return registry.build(scenario.strategies[i].name, dict(scenario.strategies[i].params))


def _lever_value(scenario: Scenario, i: int, spec: _Lever) -> float:
    """The scenario's value of a lever's parameter (the strategy's default if unset)."""
    value: Any = _built(scenario, i)
    for part in spec.key.split("."):
        value = value.get(part, spec.low) if isinstance(value, Mapping) else getattr(
            value, part, spec.low)
    return float(value)


def _scaled_groups(scenario: Scenario, i: int, spec: _Lever, value: float) -> list[str]:
    """Overrides moving each group plan's rate of the lever's channel with the lever.

    A group's rate is multiplied by ``value`` over the base plan's rate; with a base plan
    of no calls there is nothing to scale by and the groups keep theirs.
    """
    base = _lever_value(scenario, i, spec)
    if base == 0 or value == base:
        return []
    channel = spec.key.rsplit(".", 1)[-1]
    built = _built(scenario, i)
    out = []
    for param in spec.scales:
        for group, plan in (getattr(built, param, None) or {}).items():
            if channel in plan:
                rate = float(plan[channel]) * value / base
                out.append(f"strategies.{i}.params.{param}.{group}.{channel}={rate!r}")
    return out


def levers(scenario: Scenario) -> dict[str, dict[str, Any]]:
    """SolaraViz ``model_params`` for the levers this scenario has, at its own values."""
    params: dict[str, dict[str, Any]] = {}
    if scenario.strategies:
        params["strategies_on"] = {"type": "Checkbox", "value": True,
                                   "label": "strategies on"}
    for lever, spec in _LEVERS.items():
        i = _strategy_index(scenario, spec.strategy)
        if i is None:
            continue
        params[lever] = {"type": "SliderInt", "value": int(_lever_value(scenario, i, spec)),
                         "label": spec.label, "min": spec.low, "max": spec.high,
                         "step": spec.step}
    channels = getattr(scenario, "channels", None)
    if channels is not None:
        params["tellers"] = {"type": "SliderInt", "value": int(channels.default.tellers),
                             "label": "tellers per branch", "min": 1, "max": 8, "step": 1}
    return params


def lever_overrides(scenario: Scenario, values: dict[str, Any]) -> list[str]:
    """``--set`` overrides for lever values (``None`` = leave the scenario's value).

    A lever that is ``off_at_zero`` gives no override at 0: the strategy is
    dropped instead (:class:`VizModel` does it), as it would refuse 0. A lever
    that ``scales`` group plans moves their rates in proportion: with the
    outreach scenario's base plan of 1 call, 3 calls on the slider give its
    tiers from 200k CNY 6 instead of their 2 (the slider moved only the base
    plan, so at 0 those tiers were still called twice a month).
    """
    out = []
    for lever, spec in _LEVERS.items():
        i = _strategy_index(scenario, spec.strategy)
        if spec.off_at_zero and values.get(lever) == 0:
            continue  # the strategy is dropped instead (VizModel); 0 would not validate
        if values.get(lever) is not None and i is not None:
            out += _scaled_groups(scenario, i, spec, float(values[lever]))
            out.append(f"strategies.{i}.params.{spec.key}={int(values[lever])}")
    if values.get("tellers") is not None and getattr(scenario, "channels", None) is not None:
        out.append(f"channels.default.tellers={int(values['tellers'])}")
    return out


class VizModel(LifecycleModel):
    """:class:`LifecycleModel` of the page's scenario, rebuilt from slider values.

    The scenario file and overrides come from ``CLMSIM_VIZ_SCENARIO`` and
    ``CLMSIM_VIZ_OVERRIDES`` (set by ``clmsim viz``), or from ``path``.
    """

    def __init__(
        self,
        strategies_on: bool = True,
        voucher_value: int | None = None,
        outreach_calls: int | None = None,
        subsidy_bp: int | None = None,
        tellers: int | None = None,
        path: str | None = None,
        overrides: str | None = None,
    ) -> None:
        path = path or os.environ.get("CLMSIM_VIZ_SCENARIO", "scenarios/baseline.yaml")
        text = os.environ.get("CLMSIM_VIZ_OVERRIDES", "") if overrides is None else overrides
        base = [line for line in text.splitlines() if line.strip()]
        scenario = page_scenario(Path(path), base)
        values = {"voucher_value": voucher_value, "outreach_calls": outreach_calls,
                  "subsidy_bp": subsidy_bp, "tellers": tellers}
        extra = lever_overrides(scenario, values)
        if extra:
            scenario = page_scenario(Path(path), [*base, *extra])
        off = {spec.strategy for lever, spec in _LEVERS.items()
               if spec.off_at_zero and values[lever] == 0}
        if not strategies_on or off:
            kept = [s for s in scenario.strategies if strategies_on and s.name not in off]
            scenario = scenario.model_copy(update={"strategies": kept})
        super().__init__(scenario)
        self.flows = pd.DataFrame(0, index=self.stage_names, columns=self.stage_names)
        self.arrivals = pd.Series(0, index=self.stage_names)
        self._frame: tuple[int, pd.DataFrame] | None = None

    def monthly_frame(self) -> pd.DataFrame:
        """Monthly metrics so far, built once a month and shared (do not modify it).

        The page's counter and each of its charts read it after every step;
        each build from the data collector takes about half as long as the
        page model's step, so it is built once a month, not five times.
        """
        if self._frame is None or self._frame[0] != self.month:
            self._frame = (self.month, super().monthly_frame())
        return self._frame[1]

    def step(self) -> None:
        """Simulate one month and record its stage-to-stage flows."""
        before_ids = self.population.id.copy()
        before_stage = self.population.stage.copy()
        super().step()
        pop = self.population
        _, i_old, i_new = np.intersect1d(before_ids, pop.id, assume_unique=True,
                                         return_indices=True)
        n = len(self.stage_names)
        pairs = before_stage[i_old].astype(np.int64) * n + pop.stage[i_new]
        counts = np.bincount(pairs, minlength=n * n).reshape(n, n)
        kept = np.zeros(len(before_ids), bool)
        kept[i_old] = True
        gone = ~kept & ~self.is_absorbing_stage[before_stage]
        absorbing = np.flatnonzero(self.is_absorbing_stage)
        if gone.any() and len(absorbing):  # rows archived this month had just been absorbed
            counts[:, absorbing[0]] += np.bincount(before_stage[gone], minlength=n)
        new = np.ones(len(pop), bool)
        new[i_new] = False
        self.flows = pd.DataFrame(counts, index=self.stage_names, columns=self.stage_names)
        self.arrivals = pd.Series(np.bincount(pop.stage[new], minlength=n),
                                  index=self.stage_names)


def draw_flows(model: VizModel) -> plt.Figure:
    """Lifecycle flow diagram: stages as boxes, last month's moves as arrows sized by count."""
    names = model.stage_names
    colours = stage_colours(names)
    stock = np.bincount(model.population.stage, minlength=len(names))
    fig, ax = plt.subplots(figsize=(11, 5))
    x = np.arange(len(names)) * 2.0
    flows = model.flows.to_numpy()
    moved = flows.copy()
    np.fill_diagonal(moved, 0)
    biggest = max(int(moved.max()), 1)
    for i, j in zip(*np.nonzero(moved), strict=True):
        forward = j > i
        width = 0.8 + 7 * moved[i, j] / biggest
        ax.add_patch(FancyArrowPatch((x[i], 0.15 if forward else -0.15),
                                     (x[j], 0.15 if forward else -0.15),
                                     # rad < 0 bends left of the way travelled: above for a
                                     # forward move, below (by its label) for a backward one
                                     connectionstyle="arc3,rad=-0.35", arrowstyle="-|>",
                                     mutation_scale=12, linewidth=width, alpha=0.55,
                                     color=colours[names[i]]))
        mid = (x[i] + x[j]) / 2
        apex = 0.15 + 0.35 * abs(j - i)  # arc3: the bulge is rad × the chord / 2
        ax.text(mid, apex if forward else -apex, f"{moved[i, j]:,}",
                ha="center", va="center", fontsize=11)
    for k, name in enumerate(names):
        ax.text(x[k], 0, f"{name}\n{stock[k]:,}", ha="center", va="center", fontsize=12,
                color="white", fontweight="bold",
                bbox={"boxstyle": "round,pad=0.4", "facecolor": colours[name],
                      "edgecolor": "none"})
    arrivals = int(model.arrivals.sum())
    reach = 0.5 + 0.35 * (len(names) - 1)
    ax.set(xlim=(-1.2, x[-1] + 1.2), ylim=(-reach, reach),
           title=f"month {model.month}: customers moving between stages last month\n"
                 f"(forward above, backward below; {arrivals:,} new arrivals)")
    ax.axis("off")
    return fig


def draw_dots(model: VizModel) -> plt.Figure:
    """A sample of customers as dots: tenure against AUM, coloured by stage."""
    pop = model.population
    names = model.stage_names
    colours = stage_colours(names)
    rows = np.flatnonzero(model.is_customer())
    if len(rows) > DOTS:
        rows = rows[np.linspace(0, len(rows) - 1, DOTS).astype(np.int64)]
    stage = pop.stage[rows]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for k, name in enumerate(names):
        pick = stage == k
        if pick.any():
            ax.scatter(pop.tenure[rows][pick], np.maximum(pop.aum[rows][pick], 1.0), s=14,
                       color=colours[name], label=name, alpha=0.8)
    ax.set(yscale="log", xlabel="tenure (months)", ylabel="AUM (CNY, log scale)",
           title=f"{len(rows)} customers, coloured by stage")
    ax.legend(loc="lower right", fontsize="small")
    return fig
