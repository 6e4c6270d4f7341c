from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from sim.report import build_report
from sim.runner import run_scenario
from sim.schema import Scenario


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.urls: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                if tag == "img":
                    self.images.append(value)
                if value.startswith(("http://", "https://", "//")):
                    self.urls.append(value)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, tiny_scenario: Scenario) -> Path:
    out = tmp_path_factory.mktemp("report") / "run"
    return run_scenario(tiny_scenario, out, executor="serial").run_dir


def _parse(path: Path) -> tuple[_Page, str]:
    page = _Page()
    text = path.read_text(encoding="utf-8")
    page.feed(text)
    return page, text


def test_report_is_self_contained_with_headline_and_figures(run_dir: Path) -> None:
    import pandas as pd

    path = build_report(run_dir)
    assert path == run_dir / "report.html"
    page, text = _parse(path)
    body = " ".join(page.text)
    summary = pd.read_csv(run_dir / "summary.csv", index_col="metric")
    assert f"{summary.loc['customers_end', 'mean']:,.0f}" in body
    assert f"{summary.loc['profit', 'mean'] * 1e-6:,.1f}" in body
    assert "95% interval" in body and "profit (million CNY)" in body
    assert len(page.images) >= 3
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    assert page.urls == []
    assert "http://" not in text and "https://" not in text
    assert "<details>" in text and "horizon_months" in body


def test_report_shows_paired_differences_of_a_comparison(tmp_path: Path) -> None:
    (tmp_path / "comparison.csv").write_text(
        "metric,mean_difference,ci95_low,ci95_high,pairs\n"
        "profit,1234567.0,1000000.0,1469134.0,5\n", encoding="utf-8")
    page, _ = _parse(build_report(tmp_path))
    body = " ".join(page.text)
    assert "Paired differences" in body and "1,234,567" in body and "mean_difference" in body


def test_cli_report_writes_the_file_and_refuses_a_non_results_dir(
    run_dir: Path, tmp_path: Path, cli
) -> None:
    result = cli("report", run_dir, "--out", tmp_path / "r.html")
    assert result.code == 0 and (tmp_path / "r.html").exists()
    bad = cli("report", tmp_path / "nowhere")
    assert bad.code == 2 and "summary.csv" in bad.err


def test_a_report_that_fails_half_way_leaves_the_last_one_whole(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli
) -> None:
    """With the disk full (here: ``ulimit -f 40``) the report was written in place: the
    good report.html of an earlier call was left cut off at the limit."""
    out = tmp_path / "report.html"
    build_report(run_dir, out)
    good = out.read_bytes()
    write_text = Path.write_text

    def disk_full(self: Path, data: str, *args: object, **kwargs: object) -> int:
        write_text(self, data[: len(data) // 2], *args, **kwargs)  # type: ignore[arg-type]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_full)
    with pytest.raises(OSError, match="No space left"):
        build_report(run_dir, out)
    assert out.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]  # no temporary left
    monkeypatch.setattr(Path, "write_text", write_text)
    folder = cli("report", run_dir, "--out", tmp_path)
    assert folder.code == 2 and folder.err.count("\n") == 1 and "is a directory" in folder.err


def test_a_comparison_report_reads_as_the_printed_comparison(tmp_path: Path) -> None:
    """The report dumped comparison.csv raw: a retention difference read 4.561e-05 and AUM
    64,886,086 (CNY) where every other table is in percent and million CNY."""
    import numpy as np
    import pandas as pd

    from sim.compare import comparison_table

    base = pd.DataFrame({"replication": range(4), "retention_12m": [0.90, 0.91, 0.89, 0.91],
                         "aum_end": [64.1e6, 65.0e6, 64.9e6, 65.5e6],
                         "churned": [113.0, 112.0, 115.0, 113.0]})
    other = base.assign(retention_12m=base["retention_12m"] + [0.0, 1e-4, 0.0, 1e-4],
                        aum_end=base["aum_end"] + 4.5e6, churned=base["churned"] + [1, 0, 1, 0])
    table = comparison_table(["baseline", "voucher"], [base, other])
    table.to_csv(tmp_path / "comparison.csv", index=False)
    page, _ = _parse(build_report(tmp_path))
    cells = [t.strip() for t in page.text if t.strip()]
    row = table.set_index(["metric", "scenario"]).loc[("aum_end", "voucher")]
    assert "AUM at the end (m CNY)" in cells and f"{row['mean'] * 1e-6:,.2f}" in cells
    assert f"{row['diff_ci95_low'] * 1e-6:,.2f} … {row['diff_ci95_high'] * 1e-6:,.2f} *" in cells
    assert "retention at 12 months" in cells and "0.00% … 0.01%" in cells
    churned = table.set_index(["metric", "scenario"]).loc[("churned", "voucher")]
    assert churned["diff_ci95_low"] < 0 and "0 … 1" in cells  # -0.4 rounds to 0, not -0
    assert not [c for c in cells if "e-0" in c or "e+0" in c]
    assert np.isclose(row["diff"], 4.5e6)


def test_a_comparison_of_scenarios_named_by_numbers_marks_its_reference(tmp_path: Path) -> None:
    """pandas reads scenario names such as 2024 (from 2024.yaml) back as numbers: the first
    one's row was not taken for the reference, and showed a difference of 0.00 to itself."""
    import pandas as pd

    from sim.compare import comparison_table

    base = pd.DataFrame({"replication": range(3), "profit": [1e6, 2e6, 3e6]})
    table = comparison_table(["2024", "2025"], [base, base.assign(profit=base["profit"] + 5e5)])
    table.to_csv(tmp_path / "comparison.csv", index=False)
    page, _ = _parse(build_report(tmp_path))
    cells = [t.strip() for t in page.text if t.strip()]
    assert cells.count("reference") == 1 and "0.50" in cells


@pytest.mark.parametrize(("name", "content", "message"), [
    ("summary.csv", "a,b\n1,2\n", "summary.csv: ci95_high, ci95_low, mean, metric: column "
     "missing"),
    ("summary.csv", "metric,mean,ci95_low,ci95_high\nprofit,abc,1,2\n",
     "summary.csv: mean: got 'abc'; expected a number"),
    ("comparison.csv", "", "comparison.csv: not a CSV table clmsim wrote"),
    ("manifest.json", "{bad", "manifest.json: not JSON clmsim wrote"),
])
def test_a_results_file_clmsim_did_not_write_is_one_line_exit_2(
    run_dir: Path, tmp_path: Path, cli, name: str, content: str, message: str
) -> None:
    """A hand-edited or foreign summary.csv, comparison.csv or manifest.json ended
    ``clmsim report`` in a pandas or json traceback (exit 1)."""
    import shutil

    folder = tmp_path / "results"
    shutil.copytree(run_dir, folder)
    (folder / "report.html").write_text("the last good report", encoding="utf-8")
    (folder / name).write_text(content, encoding="utf-8")
    result = cli("report", folder)
    assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert f"{folder / name}: " in result.err and message in result.err
    assert (folder / "report.html").read_text(encoding="utf-8") == "the last good report"
