"""The lifecycle page (``clmsim viz``): Mesa's SolaraViz around :class:`VizModel`.

Served by ``solara run`` (see :mod:`sim.viz.serve`); the scenario comes from
the environment. Charts redraw after every step: stage counts, segment mix,
cumulative profit (million CNY), branch waits when the scenario has
channels, a sample of customers as dots coloured by stage, and the
stage-to-stage flows of the last month.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import matplotlib.pyplot as plt
import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from sim.figures import draw_channels, draw_profit, draw_segments, draw_stages
from sim.palette import style_slide
from sim.viz.model import VizModel, draw_dots, draw_flows, levers

__all__ = ["page"]


def _chart(draw: Callable[[VizModel], plt.Figure]) -> Callable[[VizModel], Any]:
    """A SolaraViz component drawing ``draw(model)`` as a PNG after each step."""

    @solara.component
    def Chart(model: VizModel) -> None:
        update_counter.get()
        slide: Any = style_slide()  # the same slide-size fonts as clmsim run's figures
        with plt.rc_context(slide):
            fig = draw(model)
            fig.tight_layout()
        solara.FigureMatplotlib(fig, format="png", dependencies=[update_counter.value])
        plt.close(fig)

    return Chart


@solara.component
def StepCounter(model: VizModel) -> None:
    """Month reached, customers and profit so far, as text (the browser test reads it)."""
    update_counter.get()
    profit = float(model.monthly_frame()["profit"].sum()) / 1e6
    solara.Markdown(f"**month {model.month}** · {int(model.is_customer().sum()):,} customers "
                    f"· cumulative profit {profit:,.3f} million CNY "
                    f"· scenario `{model.scenario.name}`")


def _monthly(draw: Callable[[Any, str], plt.Figure]) -> Callable[[VizModel], plt.Figure]:
    return lambda model: draw(model.monthly_frame(), model.scenario.name)


def _components(model: VizModel) -> list[Any]:
    charts = [StepCounter, _chart(_monthly(draw_stages)), _chart(draw_flows),
              _chart(draw_dots), _chart(_monthly(draw_segments)), _chart(_monthly(draw_profit))]
    if model.channels is not None:
        charts.append(_chart(_monthly(draw_channels)))
    return charts


_model = VizModel()
page = SolaraViz(_model, components=_components(_model), model_params=levers(_model.scenario),
                 name=f"clmsim: {_model.scenario.name}", play_interval=300)
