"""The sweep file (``clmsim sweep SWEEP.yaml``): schema and loading.

Example::

    base: ../voucher.yaml          # scenario swept, relative to this file
    set: [population.size=5000]    # overrides applied to the base first
    design: grid                   # grid | lhs | sobol | morris (sim.designs)
    samples: 4                     # levels per range (grid) or base sample size
    replications: 2                # per point; replication r shares seeds across points
    parameters:
      strategies.0.params.face_value: {values: [200, 500, 1000]}
      market.competitor_yield: {range: [0.050, 0.055]}
    outputs: [profit, retention_12m]

Problems are reported like scenario problems: one line naming the file, key
path, value and expectation (:class:`sim.scenario.ScenarioError`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.designs import DESIGNS, ParameterSpec
from sim.scenario import (
    ScenarioError,
    _read_yaml,
    apply_overrides,
    default_name,
    load_scenario,
    override_value,
    parse_override,
    scenario_from_dict,
    set_values,
)
from sim.scenario_errors import _short

#: Most runs (points × replications) one sweep may plan: a day of one-second runs on 12
#: cores. A larger design is almost always a mistake (a grid over many ranges), and its
#: plan alone would fill the memory before the first run.
MAX_RUNS = 1_000_000
#: Where inside a range the sweep is probed before it runs: any share that puts a whole-number
#: range's point between two whole numbers (1/π, not a round fraction) does.
FRACTIONAL_POINT = 0.3183

__all__ = ["Parameter", "SweepSpec", "load_sweep"]


class Parameter(BaseModel):
    """A swept value: ``range: [lo, hi]`` or ``values: [...]``."""

    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re",
                              allow_inf_nan=False)
    range: tuple[float, float] | None = None
    values: list[Any] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_of(self) -> Parameter:
        if (self.range is None) == (self.values is None):
            raise ValueError("expected exactly one of range: [lo, hi] or values: [...]")
        if self.range is not None and not self.range[0] < self.range[1]:
            raise ValueError(f"range: got {list(self.range)}; expected lo < hi")
        return self


class SweepSpec(BaseModel):
    """A validated sweep file."""

    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re")
    name: str = Field(default="sweep", pattern=r"^\w[\w.-]*$")  # a folder: as Scenario.name
    base: str
    set: list[str] = Field(default_factory=list)
    design: str = "grid"
    samples: int = Field(default=4, ge=1)
    replications: int = Field(default=1, ge=1)
    seed: int | None = Field(default=None, ge=0)
    parameters: dict[str, Parameter] = Field(min_length=1)
    outputs: list[str] = Field(default_factory=lambda: ["profit"], min_length=1)

    @model_validator(mode="after")
    def _design_fits(self) -> SweepSpec:
        if self.design not in DESIGNS:
            raise ValueError(f"design: got {self.design!r}; expected one of "
                             f"{', '.join(DESIGNS)}")
        design = DESIGNS[self.design]
        if self.samples < design.min_samples:
            raise ValueError(f"samples: got {self.samples}; design {self.design} needs at least "
                             f"{design.min_samples} for its confidence intervals")
        if design.power_of_two and self.samples & (self.samples - 1):
            below = 1 << (self.samples.bit_length() - 1)
            raise ValueError(f"samples: got {self.samples}; design {self.design} needs a power "
                             f"of 2 (its Sobol' sequence is balanced only then), e.g. {below} "
                             f"or {2 * below}")
        if design.needs_ranges:
            listed = [k for k, p in self.parameters.items() if p.range is None]
            if listed:
                raise ValueError(f"parameters.{listed[0]}: design {self.design} needs "
                                 "range: [lo, hi], not values")
        points = design.count(self.specs(), self.samples)
        if points * self.replications > MAX_RUNS:
            raise ValueError(
                f"samples: design {self.design} over {len(self.parameters)} parameters at "
                f"samples={self.samples} is {points:,} points × {self.replications} "
                f"replications, more than {MAX_RUNS:,} runs; use fewer samples"
                + (" (levels per range) or values: lists" if self.design == "grid" else "")
                + ", or split the sweep")
        return self

    def specs(self) -> list[ParameterSpec]:
        """The parameters as design specifications, in file order."""
        return [ParameterSpec(k, p.range[0] if p.range else None,
                              p.range[1] if p.range else None,
                              None if p.values is None else tuple(p.values))
                for k, p in self.parameters.items()]


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for item in exc.errors(include_url=False):
        path = ".".join(str(p) for p in item["loc"])
        msg = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            msg = "unknown key"
        elif item["type"] == "missing":
            msg = "required key is missing"
        elif item["type"] != "value_error":
            # the value as written: 5, not '5' (a number read as the string it is not)
            msg = f"got {_short(item.get('input'))}; {msg[:1].lower()}{msg[1:]}"
        problems.append((path, msg))
    return problems


def load_sweep(
    path: str | Path,
    overrides: list[str] | None = None,
    *,
    resume_in: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[SweepSpec, Path]:
    """Read and validate a sweep file; check its base scenario and parameter paths.

    Every design point's scenario is validated before this returns (no run can then
    fail on its input), but for points already run in ``resume_in``.

    Args:
        path: The sweep YAML file.
        overrides: ``key.path=value`` changes to the sweep file itself
            (e.g. ``samples=64``).
        resume_in: The root of sweep folders (``clmsim sweep --out``): where this
            sweep's folder holds this very sweep, its points with a run on disk are
            valid and not checked again.
        progress: Called with (points checked, points to check) as the design points
            are checked (about 0.15 ms a point).

    Returns:
        The spec and the resolved base scenario path.

    Raises:
        ScenarioError: One line per problem, naming the sweep file.
    """
    path = Path(path)
    data = _apply_sweep_overrides(_read_yaml(path, "sweep"), overrides or [])
    data.setdefault("name", default_name(path))
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(str(path), _problems(exc)) from None
    base = (path.parent / spec.base).resolve()
    if not base.is_file():
        what = "that is a directory, expected" if base.is_dir() else "no such"
        raise ScenarioError(str(path), [("base", f"got {spec.base!r}; {what} scenario file")])
    try:
        load_scenario(base, spec.set)
    except ScenarioError as exc:
        raise ScenarioError(str(path), [("set", exc.one_line())]) from None
    for key, param in spec.parameters.items():
        for probe in _probes(param, spec):  # every value, or the points a range can give
            text = override_value(probe)  # as the runs will read it (None is null)
            try:
                load_scenario(base, [*spec.set, f"{key}={text}"])
            except ScenarioError as exc:  # the value's problems, not "(from --set ...)"
                why = "; ".join(f"{where}: {msg}".split(" (from --set ")[0]
                                for where, msg in exc.problems)
                raise ScenarioError(str(path), [(f"parameters.{key}",
                                                 f"value {text}: {why}")]) from None
    _check_points(path, spec, base, resume_in, progress)
    unknown = sorted(set(spec.outputs) - set(output_names(base, spec.set)))
    if unknown:
        raise ScenarioError(str(path), [("outputs", f"unknown output(s) {unknown}; a sweep "
                                         "records the figures of `clmsim run`'s summary.csv "
                                         "(e.g. profit, retention_end, aum_end)")])
    return spec, base


def _apply_sweep_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """``--set`` changes to a sweep file, where a parameter's name is itself a dotted path.

    ``parameters.market.competitor_yield.range=[0.05,0.06]`` sets that parameter's range
    (a new parameter, or ``values`` replaced by a range); plain dotted paths split on
    every dot could not reach it ("parameters.market: unknown key").
    """
    data = dict(data)
    for text in overrides:
        key = text.split("=", 1)[0].strip()
        name, _, field = key.removeprefix("parameters.").rpartition(".")
        parameters = data.get("parameters", {})
        if not (key.startswith("parameters.") and name and field in ("range", "values")
                and isinstance(parameters, dict)):
            data = apply_overrides(data, [text])
            continue
        data["parameters"] = {**parameters, name: {field: parse_override(text)[1]}}
    return data


#: Points checked between two calls of ``load_sweep``'s progress.
CHECK_BATCH = 500


def _check_points(path: Path, spec: SweepSpec, base: Path, resume_in: Path | None,
                  progress: Callable[[int, int], None] | None) -> None:
    """Validate the scenario of every design point before the first run.

    Each value was checked alone (:func:`_probes`); a combination can still be refused,
    two transition probabilities out of one stage summing past 1, say. It was found
    when that point's run started, after the runs before it, the error naming neither
    the sweep file nor the point. Each point's values are set on the base mapping
    without copying the rest or passing through YAML (:func:`sim.scenario.set_values`);
    points already run in the sweep's folder are skipped.
    """
    from sim.sweep import base_mapping, design_points, point_overrides, points_run

    data = base_mapping(spec, base)
    points = design_points(spec)
    if resume_in is not None:
        points = points.drop(index=sorted(points_run(spec, base, resume_in / spec.name)),
                             errors="ignore")  # a stray run file of no point: nothing to skip
    names = list(points.columns)
    tick = progress or (lambda done, total: None)
    tick(0, len(points))
    for done, (point, values) in enumerate(
        zip(points.index, points.itertuples(index=False), strict=True), start=1
    ):
        changes = [(k, v.item() if isinstance(v, np.generic) else v)
                   for k, v in zip(names, values, strict=True)]
        try:
            scenario_from_dict(set_values(data, changes), str(base))
        except ScenarioError as exc:
            sets = next(point_overrides(points.loc[[point]]))[1]
            raise ScenarioError(str(path), [("parameters", f"design point {point} "
                                             f"({', '.join(sets)}): {exc.one_line()}")]) from None
        if done % CHECK_BATCH == 0 or done == len(points):
            tick(done, len(points))


def _probes(param: Parameter, spec: SweepSpec) -> list[Any]:
    """The values a sweep may give ``param``, as far as they can be checked beforehand.

    A grid's range gives its ``samples`` levels: each is checked. The sampling
    designs give any point of a range: its ends and a point inside that is not
    a whole number, so a range over a whole-number setting (months, counts) is
    refused here rather than in the middle of a sweep.
    """
    if param.values is not None:
        return list(param.values)
    low, high = param.range  # type: ignore[misc]
    if spec.design == "grid":
        return [float(x) for x in np.linspace(low, high, spec.samples)]
    return [low, high, low + FRACTIONAL_POINT * (high - low)]


def output_names(base: Path, sets: list[str]) -> list[str]:
    """The figures a run of ``base`` (with ``sets``) records, from a tiny run of it.

    The names depend on the scenario (its strategies, channels, labels and
    horizon), so a bank of 200 customers is simulated over the same horizon.
    """
    from sim.runner import run_replication
    from sim.scaling import scale_overrides
    from sim.summary import UPLIFT_FIGURES, per_replication

    scenario = load_scenario(base, sets)
    tiny = load_scenario(base, [*sets, *scale_overrides(scenario, 200)])
    names = list(per_replication(run_replication(tiny, 0)).columns)
    # figures a run records only with enough months, or with both a treated and a control
    # group: the tiny run may lack them where the sweep's points have them
    names += ["retention_12m", "annual_attrition_year1"]
    names += [f"strategy_{s.name}_{figure}" for s in scenario.strategies
              for figure in UPLIFT_FIGURES]
    return names

