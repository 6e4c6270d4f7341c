"""Run a sweep: design → runs (streamed to disk, resumable) → tidy table → sensitivity.

Layout of a sweep directory::

    sweep.yaml  design.csv  runs.parquet  sensitivity.csv  figures/sensitivity.png
    runs/point-00000-rep-0000.parquet ...

Each run (point × replication) is one job for :func:`sim.executors.map_unordered`;
the worker writes its one-row result (inputs and outcomes) by atomic rename and
returns only its file name, so memory stays flat however many runs there are.
Re-running the same sweep skips runs already on disk, so a sweep killed with
``kill -9`` resumes and ends with the same ``runs.parquet``. Replication *r*
of every point uses the same seed: differences between points are sharp
(common random numbers).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import closing
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from sim.designs import DESIGNS
from sim.executors import ExecutorName, map_unordered
from sim.runner import atomic_write, made_for_results, remove_temporaries, run_replication
from sim.scenario import (
    apply_overrides,
    default_name,
    load_scenario,
    override_value,
    parse_override,
    read_scenario_dict,
    scenario_from_dict,
    scenario_hash,
)
from sim.summary import per_replication
from sim.sweep_schema import SweepSpec

__all__ = ["base_mapping", "design_points", "point_overrides", "points_run", "run_sweep",
           "sensitivity", "sweep_identity"]

Job = tuple[dict[str, Any], list[str], int, int, list[str], str]


def design_points(spec: SweepSpec) -> pd.DataFrame:
    """The design's points: one row per point, one column per parameter."""
    seed = spec.seed if spec.seed is not None else 0
    x = DESIGNS[spec.design].sample(spec.specs(), spec.samples, seed)
    frame = pd.DataFrame(x, columns=list(spec.parameters))
    frame.index.name = "point"
    return frame


#: A run file's name (:func:`_run_path`): its point and replication.
_RUN_FILE = re.compile(r"point-([0-9]+)-rep-([0-9]+)\.parquet")


def _run_path(sweep_dir: Path, point: int, rep: int) -> Path:
    return sweep_dir / "runs" / f"point-{point:05d}-rep-{rep:04d}.parquet"


def _value(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _one_run(job: Job) -> str:
    """Simulate one point × replication and write its one-row table (a picklable job)."""
    base, sets, point, rep, outputs, path = job
    scenario = scenario_from_dict(apply_overrides(base, sets), "sweep")
    figures = per_replication(run_replication(scenario, rep)).iloc[0]
    row: dict[str, Any] = {"point": point, "replication": rep}
    for text in sets:
        keys, parsed = parse_override(text)  # a number, or a name (a strategy's channel, say)
        row[".".join(keys)] = float(parsed) if isinstance(parsed, int | float) else parsed
    for name in outputs:
        row[name] = float(figures.get(name, np.nan))
    atomic_write(Path(path), lambda p: pd.DataFrame([row]).to_parquet(p, index=False))
    return path


def sweep_identity(spec: SweepSpec, base: Path) -> str:
    """What a sweep folder's ``sweep.yaml`` holds: the sweep, its base's hash, clmsim's version.

    The folder holds this sweep of this bank by this version: an edited base scenario (or
    an upgrade) must not be resumed into runs of the old one.
    """
    identity = {**spec.model_dump(mode="json"),
                "base_scenario_sha256": scenario_hash(load_scenario(base, spec.set)),
                "clmsim": version("clmsim")}
    return yaml.safe_dump(identity, sort_keys=False)


def points_run(spec: SweepSpec, base: Path, sweep_dir: Path) -> set[int]:
    """The design points with a run on disk in ``sweep_dir``, if it holds this very sweep.

    Each ran, so its scenario was valid: resuming need not check it again. A folder of
    another sweep (or none) has none.
    """
    marker = sweep_dir / "sweep.yaml"
    try:
        if marker.read_text(encoding="utf-8") != sweep_identity(spec, base):
            return set()
    except (OSError, UnicodeDecodeError):
        return set()
    # run files only, as _run_path names them: a stray 'point-old-rep-0.parquet' is none
    found = (_RUN_FILE.fullmatch(p.name) for p in (sweep_dir / "runs").glob("point-*.parquet"))
    return {int(m[1]) for m in found if m}


def base_mapping(spec: SweepSpec, base: Path) -> dict[str, Any]:
    """The base scenario as every point starts from it: ``set:`` and the sweep's seed applied."""
    data = read_scenario_dict(base)
    data.setdefault("name", default_name(base))
    data = apply_overrides(data, spec.set)
    if spec.seed is not None:
        data["seed"] = spec.seed
    return data


def point_overrides(points: pd.DataFrame) -> Iterator[tuple[int, list[str]]]:
    """Each point's number and its ``key.path=value`` overrides of the base scenario."""
    for point, values in zip(points.index, points.itertuples(index=False), strict=True):
        yield int(point), [f"{k}={override_value(_value(v))}"
                           for k, v in zip(points.columns, values, strict=True)]


def _jobs(spec: SweepSpec, base: Path, points: pd.DataFrame, sweep_dir: Path) -> list[Job]:
    """The runs not yet on disk (small tuples; the base mapping is shared, not copied)."""
    data = base_mapping(spec, base)
    jobs: list[Job] = []
    for point, sets in point_overrides(points):
        for rep in range(spec.replications):
            path = _run_path(sweep_dir, int(point), rep)
            if not path.exists():
                jobs.append((data, sets, int(point), rep, list(spec.outputs), str(path)))
    return jobs


def run_sweep(
    spec: SweepSpec,
    base: Path,
    sweep_dir: Path,
    *,
    executor: ExecutorName = "processes",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    figures: bool = True,
) -> Path:
    """Run every missing run of the sweep, then write ``runs.parquet`` (and sensitivity).

    Args:
        spec: The validated sweep.
        base: The base scenario file.
        sweep_dir: Where results go; an existing one for the same sweep is resumed.
        executor: Where runs execute (:mod:`sim.executors`).
        workers: Workers for ``processes`` or a local Dask cluster.
        scheduler: Dask scheduler address.
        progress: Called with (runs done, runs in total) after each run.
        figures: Whether to draw ``figures/sensitivity.png``.

    Returns:
        The path of ``runs.parquet``.

    Raises:
        FileExistsError: If ``sweep_dir`` holds a different sweep.
    """
    sweep_dir = sweep_dir.resolve()  # workers (maybe on other machines) write here
    points = design_points(spec)
    text = sweep_identity(spec, base)
    marker = sweep_dir / "sweep.yaml"
    if marker.exists() and marker.read_text(encoding="utf-8") != text:
        raise FileExistsError(f"{sweep_dir} holds a different sweep (its sweep file, its base "
                              "scenario or clmsim's version differ); choose another --out")
    with made_for_results(sweep_dir, "runs/*.parquet"):  # an unreachable --scheduler: undone
        for folder in (sweep_dir, sweep_dir / "runs", sweep_dir / "figures"):
            remove_temporaries(folder)  # of a sweep killed while writing its files
        atomic_write(marker, lambda p: p.write_text(text, encoding="utf-8"))
        atomic_write(sweep_dir / "design.csv", points.to_csv)
        total = len(points) * spec.replications
        jobs = _jobs(spec, base, points, sweep_dir)
        done = total - len(jobs)
        tick = progress or (lambda d, t: None)
        tick(done, total)
        # closing: an interrupt (Ctrl-C, SIGTERM) here stops the workers now, not at garbage
        # collection
        with closing(map_unordered(_one_run, jobs, executor=executor, workers=workers,
                                   scheduler=scheduler)) as finished:
            for _ in finished:
                done += 1
                tick(done, total)
        del jobs
    out = sweep_dir / "runs.parquet"
    atomic_write(out, lambda p: _collect(sweep_dir, len(points), spec.replications, p))
    design = DESIGNS[spec.design]
    if design.analyse is not None:
        table = sensitivity(spec, points, out)
        atomic_write(sweep_dir / "sensitivity.csv", lambda p: table.to_csv(p, index=False))
        if figures:
            from sim.sweep_figures import sensitivity_figure

            sensitivity_figure(table, design.index, sweep_dir / "figures" / "sensitivity.png")
    return out


def _collect(sweep_dir: Path, n_points: int, reps: int, dest: Path, batch: int = 1000) -> None:
    """Concatenate the run files in (point, replication) order, a batch at a time."""
    writer: pq.ParquetWriter | None = None
    paths = (_run_path(sweep_dir, p, r) for p in range(n_points) for r in range(reps))
    try:
        while True:
            chunk = [pd.read_parquet(p) for _, p in zip(range(batch), paths, strict=False)]
            if not chunk:
                break
            table = pa.Table.from_pandas(pd.concat(chunk, ignore_index=True),
                                         preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(dest, table.schema)
            writer.write_table(table.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()


def sensitivity(spec: SweepSpec, points: pd.DataFrame, runs: Path) -> pd.DataFrame:
    """Sensitivity indices of each output (mean over replications per point), via SALib.

    An output missing at any point (``retention_12m`` of a shorter run, a strategy's ROI
    where it spent nothing) has no indices: NaN, not SALib's 0 ± 0 for a constant output.
    Nor has an output the same at every point under a design whose indices are shares of
    its variance (Sobol: ``acquired`` when only churn parameters are swept), where SALib
    printed NumPy's "invalid value encountered in divide" and reported 0 ± 0.
    """
    design = DESIGNS[spec.design]
    analyse = design.analyse
    assert analyse is not None
    means = pd.read_parquet(runs, columns=["point", *spec.outputs]).groupby("point").mean()
    x = points.to_numpy(dtype=float)
    seed = spec.seed if spec.seed is not None else 0
    tables = []
    for name in spec.outputs:
        y = means[name].reindex(points.index).to_numpy(dtype=float)
        undefined = np.isnan(y).any() or (design.needs_variance and bool(np.ptp(y) == 0))
        # not recorded at some point, or no variance to share out: SALib gives 0 ± 0
        table = analyse(spec.specs(), x, np.where(undefined, np.nan, y), seed)
        if undefined:
            table.loc[:, table.columns != "parameter"] = np.nan
        table.insert(0, "output", name)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)
