"""What goes wrong inside a strategy plugin, said in one line naming it (issue 7).

A plugin's bug used to surface as a bare traceback, or months later as an
error that named no strategy (NaN in the ledger), or not at all (negative
counts in the results). :mod:`sim.strategy_runtime` turns each into a
:class:`StrategyError` in the month it happens; ``clmsim`` prints it as one
line and exits 1, keeping finished replications.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from sim.population import FIELDS

__all__ = ["NON_NEGATIVE", "StrategyError", "check_written", "plugin_failed"]

#: Columns that count or hold money: never negative (house rule: no negative counts).
NON_NEGATIVE = frozenset({"aum", "total_wealth", "contacts", "complaints", "products",
                          "payments_month", "payments_ytd", "wait_minutes"})


class StrategyError(RuntimeError):
    """A strategy plugin failed in ``apply``: one line naming it, the replication and month.

    Built from a message alone, so it crosses process and Dask boundaries intact.
    """


def _failure(name: str, replication: int, month: int, what: str) -> StrategyError:
    return StrategyError(f"strategy {name!r} failed in replication {replication}, "
                         f"month {month}: {what}")


def check_written(
    name: str, replication: int, month: int, columns: Mapping[str, np.ndarray]
) -> None:
    """Refuse NaN or infinite values, and negative counts, in columns strategy ``name`` touched.

    Checked before they are written back: left in, they surface months later as
    an error that names no strategy (or as negative counts).
    """
    for column, values in columns.items():
        if column not in FIELDS or not len(values) or values.dtype.kind not in "fiu":
            continue
        lowest = values.min()
        if values.dtype.kind == "f" and not (np.isfinite(lowest) and np.isfinite(values.max())):
            problem = "a NaN or infinite value"
        elif column in NON_NEGATIVE and lowest < 0:
            problem = f"a negative value ({lowest})"
        else:
            continue
        raise _failure(name, replication, month, f"it wrote {problem} into column {column!r}")


def plugin_failed(name: str, replication: int, month: int, exc: Exception) -> StrategyError:
    """The error to raise when strategy ``name``'s plugin raised ``exc`` during a month.

    It points at the plugin's line, not at the runtime's checks the call passed through.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    ours = str(Path(__file__).parent)
    theirs = [f for f in frames if not f.filename.startswith(ours)] or frames
    where = f" (at {theirs[-1].filename}:{theirs[-1].lineno})" if theirs else ""
    return _failure(name, replication, month, f"{type(exc).__name__}: {exc}{where}")
