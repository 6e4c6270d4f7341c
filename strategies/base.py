"""Base class of every marketing strategy.

A strategy is configured entirely by the keyword arguments of its constructor
(as scikit-learn estimators are), so it can be written back to YAML, swept and
compared. Each month the model calls :meth:`Strategy.apply` with itself; the
strategy reads and changes the vectorised population and books its costs in
the model's ledger under its own name.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import Any, ClassVar


class Strategy(ABC):
    """A pluggable marketing strategy.

    Subclasses set ``name`` (equal to their module's name), take every
    setting as an explicit keyword argument with a default, store it under
    the same attribute name, and implement :meth:`apply`.
    """

    name: ClassVar[str] = ""
    #: What ``ctx.population`` holds in :meth:`apply`: ``"targets"`` (the default) — only
    #: the rows the strategy may treat this month, copied out and written back after
    #: (fast: a strategy for 5% of the bank costs 5% of a pass); ``"bank"`` — every row,
    #: for strategies that read customers outside their targets (referral reads the
    #: dissatisfied of the whole bank).
    scope: ClassVar[str] = "targets"

    @abstractmethod
    def apply(self, model: Any) -> None:
        """Act on ``model`` for one month: choose targets, change them, book costs."""

    def check_scenario(self, scenario: Any) -> None:
        """Raise ValueError if this configuration cannot run on ``scenario``.

        Called when the scenario is validated, so a mismatch (say, a tier name
        the scenario does not define) is a load-time error, not a crash in
        month one. The default accepts every scenario.
        """
        return None

    @classmethod
    def param_names(cls) -> list[str]:
        """Names of the constructor's keyword arguments, in order."""
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]

    def get_params(self) -> dict[str, Any]:
        """Return the configuration as given to the constructor."""
        return {name: getattr(self, name) for name in self.param_names()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
