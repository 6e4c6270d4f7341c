"""A shareable, self-contained HTML report of a run (or a comparison) directory.

The report is one file, ``report.html``, written into the results directory.
Everything it shows is embedded: the resolved scenario (in a collapsible
block), the headline table with 95% intervals from ``summary.csv``, the
per-strategy and channel figures when the run has them, every PNG under
``figures/`` as a base64 ``data:`` URI, and, for a comparison directory
(one holding ``comparison.csv``), the paired differences. It references no
external asset, so it opens offline in any browser and reads without clmsim.
"""

from __future__ import annotations

import base64
import errno
import html
import json
import math
from pathlib import Path

import pandas as pd

from sim.compare import metric_format, no_difference, shown
from sim.runner import atomic_write
from sim.scenario_errors import ScenarioError
from sim.summary import HEADLINE, STRATEGY_COLUMNS, summary_strategies

__all__ = ["build_report"]

_CSS = """
body{font-family:system-ui,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;
color:#222;line-height:1.4}
h1{font-size:1.8em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}th,td{padding:.3em .8em;border-bottom:1px solid #eee}
th{background:#f4f4f4;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}pre{background:#f8f8f8;padding:1em;
overflow:auto;font-size:.85em}.note{color:#666;font-size:.9em}
"""

def _fmt(fmt: str, value: float, scale: float = 1.0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return shown(fmt, scale * float(value))


def _interval(fmt: str, low: float, high: float, scale: float) -> str:
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        return "—"
    return f"{_fmt(fmt, low, scale)} … {_fmt(fmt, high, scale)}"


def _table(header: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    numeric = ' class="num"'
    for row in rows:
        cells = "".join(
            f"<td{numeric if i >= numeric_from else ''}>{html.escape(c)}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _headline(summary: pd.DataFrame, channels: bool) -> str:
    rows = []
    for key, label, fmt, scale in HEADLINE:
        if key not in summary.index or key.startswith(("channels_", "staff_")) != channels:
            continue
        s = summary.loc[key]
        rows.append([label, _fmt(fmt, s["mean"], scale),
                     _interval(fmt, s["ci95_low"], s["ci95_high"], scale)])
    if not rows:
        return ""
    return _table(["metric", "mean", "95% interval"], rows)


def _strategies(summary: pd.DataFrame) -> str:
    names = summary_strategies(summary)
    if not names:
        return ""
    rows = []
    for name in names:
        row = [name]
        for key, _, _, fmt, scale in STRATEGY_COLUMNS:
            metric = f"strategy_{name}_{key}"
            if metric not in summary.index:
                row.append("n/a")
                continue
            s = summary.loc[metric]
            cell = _fmt(fmt, s["mean"], scale)
            if not math.isnan(s["ci95_low"]):
                cell += f" ({_interval(fmt, s['ci95_low'], s['ci95_high'], scale)})"
            row.append(cell)
        rows.append(row)
    header = ["strategy"] + [label for _, _, label, _, _ in STRATEGY_COLUMNS]
    return ("<h2>Strategies: cost and uplift over the hold-out</h2>"
            "<p class='note'>Mean (95% interval) over replications; uplift is treated "
            "minus hold-out.</p>" + _table(header, rows))


#: The columns of ``clmsim compare``'s comparison.csv (:func:`sim.compare.comparison_table`).
_COMPARISON = {"metric", "scenario", "mean", "diff", "diff_ci95_low", "diff_ci95_high",
               "excludes_zero"}


def _comparison(run_dir: Path) -> str:
    path = run_dir / "comparison.csv"
    if not path.exists():
        return ""
    frame = _read_table(path, set(), ())  # any table; clmsim compare's is formatted
    if set(frame.columns) >= _COMPARISON:
        _check_numbers(path, frame, ("mean", "diff", "diff_ci95_low", "diff_ci95_high"))
        return _paired_differences(frame)
    header = [str(c) for c in frame.columns]
    rows = [[_cell(v) for v in record] for record in frame.itertuples(index=False)]
    return ("<h2>Paired differences (comparison)</h2><p class='note'>From comparison.csv: "
            "each replication of one scenario is paired with the same replication (same "
            "random streams) of the other.</p>" + _table(header, rows))


def _paired_differences(frame: pd.DataFrame) -> str:
    """comparison.csv as ``clmsim compare`` prints it: labelled, in percent and million CNY.

    The raw CSV showed a retention difference as ``4.561e-05`` and AUM in CNY
    (``64,886,086``) beside the million CNY of every other table.
    """
    first = str(frame["scenario"].iloc[0])
    rows = []
    for metric, sub in frame.groupby("metric", sort=False):
        label, fmt, scale = metric_format(str(metric))
        reference = sub.loc[sub["scenario"].astype(str) == first, "mean"]
        reference_mean = float(reference.iloc[0]) if len(reference) else math.nan
        for r in sub.itertuples(index=False):
            mean = _fmt(fmt, r.mean, scale)
            if str(r.scenario) == first:  # pandas reads a name such as 2024 as a number
                rows.append([label, str(r.scenario), mean, "reference", ""])
                continue
            if math.isnan(r.diff):
                why = no_difference(r.mean, reference_mean, first)
                rows.append([label, str(r.scenario), mean, why, "—"])
                continue
            mark = " *" if r.excludes_zero else ""
            rows.append([label, str(r.scenario), mean, _fmt(fmt, r.diff, scale),
                         _interval(fmt, r.diff_ci95_low, r.diff_ci95_high, scale) + mark])
    header = ["metric", "scenario", "mean", f"difference to {first}", "95% interval"]
    return ("<h2>Paired differences (comparison)</h2><p class='note'>From comparison.csv: "
            "each replication of a scenario is paired with the same replication (same random "
            f"streams) of {html.escape(first)}; * the interval excludes zero.</p>"
            + _table(header, rows, numeric_from=2))


def _cell(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def _figures(run_dir: Path) -> str:
    paths = sorted(run_dir.glob("figures/*.png"))
    if not paths:
        return ""
    parts = ["<h2>Figures</h2>"]
    for path in paths:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        parts.append(f"<figure><img alt='{html.escape(path.stem)}' "
                     f"src='data:image/png;base64,{data}'><figcaption>{html.escape(path.stem)}"
                     "</figcaption></figure>")
    return "".join(parts)


#: The columns of summary.csv the report reads (:mod:`sim.summary`), all numbers.
_SUMMARY_NUMBERS = ("mean", "ci95_low", "ci95_high")


def _read_table(path: Path, names: set[str], numbers: tuple[str, ...]) -> pd.DataFrame:
    """A results CSV, or one line naming it and what is wrong (malformed, columns missing).

    A summary.csv that clmsim did not write (or one edited by hand) ended the report
    in a pandas traceback.
    """
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), [("", f"not a CSV table clmsim wrote ({exc})")]) from None
    missing = sorted((names | set(numbers)) - set(frame.columns))
    if missing:
        raise ScenarioError(str(path), [(", ".join(missing), "column missing; expected the "
                                         f"{path.name} that clmsim wrote")])
    _check_numbers(path, frame, numbers)
    return frame


def _check_numbers(path: Path, frame: pd.DataFrame, numbers: tuple[str, ...]) -> None:
    for column in numbers:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = frame[column][values.isna() & frame[column].notna()]
        if len(bad):
            raise ScenarioError(str(path), [(column, f"got {str(bad.iloc[0])!r}; expected "
                                             "a number")])
        frame[column] = values


def _read_manifest(path: Path) -> dict[str, object]:
    if not path.exists():
        return {}
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), [("", f"not JSON clmsim wrote ({exc})")]) from None
    if not isinstance(manifest, dict):
        raise ScenarioError(str(path), [("", "expected a JSON object (the run's manifest)")])
    return manifest


def build_report(run_dir: Path, out: Path | None = None) -> Path:
    """Write ``report.html`` for the results in ``run_dir`` and return its path.

    Args:
        run_dir: A run directory (``summary.csv``, ``scenario.resolved.yaml``,
            ``figures/``) or a comparison directory (``comparison.csv``).
        out: Where to write; default ``run_dir / "report.html"``.

    Returns:
        The path of the written report.

    Raises:
        FileNotFoundError: ``run_dir`` holds neither a summary nor a comparison.
        ScenarioError: One of its files is not as clmsim writes it (one line naming it).
    """
    summary_path = run_dir / "summary.csv"
    if not summary_path.exists() and not (run_dir / "comparison.csv").exists():
        raise FileNotFoundError(f"{run_dir}: no summary.csv or comparison.csv; is it a results "
                                "directory?")
    manifest = _read_manifest(run_dir / "manifest.json")
    title = str(manifest.get("scenario", run_dir.name))
    parts = [f"<h1>clmsim report: {html.escape(title)}</h1>"]
    if manifest:
        parts.append("<p class='note'>" + html.escape(
            f"{manifest.get('replications', '?')} replications × "
            f"{manifest.get('horizon_months', '?')} months, seed {manifest.get('seed', '?')}, "
            f"clmsim {manifest.get('version', '?')}, finished {manifest.get('finished_at', '?')}"
        ) + "</p>")
    yaml_path = run_dir / "scenario.resolved.yaml"
    if yaml_path.exists():
        parts.append("<h2>Scenario</h2><details><summary>resolved scenario (YAML)</summary><pre>"
                     + html.escape(yaml_path.read_text("utf-8")) + "</pre></details>")
    parts.append(_comparison(run_dir))
    if summary_path.exists():
        summary = _read_table(summary_path, {"metric"}, _SUMMARY_NUMBERS).set_index("metric")
        parts.append("<h2>Headline figures</h2><p class='note'>Mean and 95% t-interval "
                     "across replications, clipped to the values a figure can take (counts, "
                     "costs and shares stop at 0, shares at 100%); money in CNY.</p>"
                     + _headline(summary, False))
        parts.append(_strategies(summary))
        channels = _headline(summary, True)
        if channels:
            parts.append("<h2>Branches and channels</h2>" + channels)
    parts.append(_figures(run_dir))
    page = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>clmsim report: {html.escape(title)}</title><style>{_CSS}</style></head>"
            f"<body>{''.join(parts)}</body></html>\n")
    target = out or run_dir / "report.html"
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory, expected a file name", str(target))
    # atomically: a report that fails half-way (a full disk) leaves the last one whole
    atomic_write(target, lambda p: p.write_text(page, encoding="utf-8"))
    return target
