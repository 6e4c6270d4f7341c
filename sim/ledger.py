"""The bank's ledger: revenue and costs by kind, month by month.

Every amount the model or a strategy books goes through :meth:`Ledger.book`
with a kind (``interest_margin``, ``servicing``, ``acquisition``...) and,
for strategies, the strategy's name. Profit is derived, never stored, so it
cannot drift from revenue minus costs.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

__all__ = ["Ledger"]

Side = Literal["revenue", "cost"]


class Ledger:
    """Monthly and cumulative revenue and costs in CNY."""

    def __init__(self) -> None:
        self.month: dict[tuple[Side, str, str], float] = defaultdict(float)
        self.total: dict[tuple[Side, str, str], float] = defaultdict(float)

    def book(self, side: Side, kind: str, amount: float, owner: str = "bank") -> None:
        """Book ``amount`` CNY of revenue or cost.

        Args:
            side: ``"revenue"`` or ``"cost"``.
            kind: What it is for, e.g. ``"servicing_branch"`` or ``"voucher"``.
            amount: Non-negative amount in CNY.
            owner: ``"bank"`` for the business as usual, else the strategy's name.

        Raises:
            ValueError: If ``amount`` is negative or not finite.
        """
        if not amount >= 0 or amount == float("inf"):
            raise ValueError(f"ledger amounts must be finite and >= 0, got {amount} for {kind}")
        self.month[(side, kind, owner)] += float(amount)

    def close_month(self) -> dict[tuple[Side, str, str], float]:
        """End the month: add it to the running totals and return its entries."""
        entries = dict(self.month)
        for key, amount in entries.items():
            self.total[key] += amount
        self.month = defaultdict(float)
        return entries

    @staticmethod
    def side_total(entries: dict[tuple[Side, str, str], float], side: Side) -> float:
        """Sum of one side of ``entries``."""
        return sum(v for (s, _, _), v in entries.items() if s == side)
