from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.figures import draw_segments, draw_stages, write_figures
from sim.palette import SEGMENT_COLOURS, STAGE_COLOURS, stage_colours


def test_every_stage_name_gets_a_colour_and_known_ones_are_fixed() -> None:
    colours = stage_colours(["maturity", "x1", "x2", "churned"])
    assert colours["maturity"] == STAGE_COLOURS["maturity"]
    assert colours["churned"] == STAGE_COLOURS["churned"]
    assert colours["x1"] != colours["x2"]


def _monthly() -> pd.DataFrame:
    return pd.DataFrame({"replication": 0, "month": [0, 1, 2], "stage_growth": [5, 6, 7],
                         "stage_maturity": [9, 9, 8], "segment_A": [1, 2, 3],
                         "segment_B": [3, 3, 3], "profit": [0.0, 1e6, 2e6]})


def test_figures_use_the_palette_for_stages_and_segments() -> None:
    import matplotlib.colors as mcolors

    ax = draw_stages(_monthly(), "t").axes[0]
    lines = {line.get_label(): mcolors.to_hex(line.get_color()) for line in ax.get_lines()}
    assert lines["growth"] == STAGE_COLOURS["growth"]
    assert lines["maturity"] == STAGE_COLOURS["maturity"]
    ax = draw_segments(_monthly(), "t").axes[0]
    faces = [mcolors.to_hex(p.get_facecolor()[0]) for p in ax.collections]
    assert faces[:2] == [SEGMENT_COLOURS["A"], SEGMENT_COLOURS["B"]]


def test_profit_figure_title_names_cny(tmp_path: Path) -> None:
    paths = write_figures(_monthly(), tmp_path, "t")
    assert [p.name for p in paths] == ["stages.png", "segments.png", "profit.png"]
    from sim.figures import draw_profit

    assert "CNY" in draw_profit(_monthly(), "t").axes[0].get_title()
