"""One palette for every figure: a stage or a segment has the same colour everywhere.

Stages are coloured along the lifecycle (DOMAIN §1): prospects grey, onboarding
and growth in greens, maturity blue, decline orange, absorbing states red.
Names not known here (a scenario may define its own stages) take the next
colour of a colour-blind-safe cycle, in stage order, so a figure is always
drawable. Segments follow DOMAIN §2's A/B/C/D classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["SEGMENT_COLOURS", "SEGMENT_NAMES", "STAGE_COLOURS", "segment_colour", "stage_colours",
           "style_slide"]

#: Colours of the stages of the shipped lifecycles, by stage name.
STAGE_COLOURS: dict[str, str] = {
    "potential": "#9e9e9e",
    "prospect": "#9e9e9e",
    "onboarding": "#a6d854",
    "growth": "#1b9e77",
    "maturity": "#1f5fa8",
    "mature": "#1f5fa8",
    "decline": "#f28e2b",
    "declining": "#f28e2b",
    "churned": "#d62728",
    "lapsed": "#8c2d04",
    "dormant": "#b07aa1",
}
#: Colours of the DOMAIN §2 classes.
SEGMENT_COLOURS: dict[str, str] = {"A": "#1f5fa8", "B": "#e6ab02", "C": "#7570b3", "D": "#a0a0a0"}
#: Readable names of the DOMAIN §2 classes.
SEGMENT_NAMES: dict[str, str] = {"A": "A growth", "B": "B cultivation", "C": "C potential",
                                 "D": "D general"}
_FALLBACK = ("#17becf", "#bcbd22", "#e377c2", "#8c564b", "#7f7f7f", "#ff9896")


def stage_colours(names: Sequence[str]) -> dict[str, str]:
    """Colour of each stage name; unknown names take fallback colours in order."""
    out: dict[str, str] = {}
    spare = iter(_FALLBACK * (1 + len(names) // len(_FALLBACK)))
    for name in names:
        out[name] = STAGE_COLOURS.get(name) or next(spare)
    return out


def segment_colour(name: str) -> str:
    """Colour of a segment (``"A"`` … ``"D"``); grey for an unknown one."""
    return SEGMENT_COLOURS.get(name, "#cccccc")


def style_slide() -> dict[str, Any]:
    """Matplotlib rc settings that keep figures readable on a projected slide."""
    return {"font.size": 13, "axes.titlesize": 15, "axes.labelsize": 13, "legend.fontsize": 11,
            "xtick.labelsize": 12, "ytick.labelsize": 12, "lines.linewidth": 2.2,
            "axes.spines.top": False, "axes.spines.right": False}
