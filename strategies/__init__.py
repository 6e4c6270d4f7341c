"""Marketing strategies as plugins (ARCHITECTURE decision 3).

A strategy is a small class registered by name (the name of its module); its
constructor is its configuration. Scenarios switch strategies on by name in
their ``strategies:`` list; see :mod:`strategies.registry`. This package never
imports the simulator (``sim``): a strategy acts on the population handed to it.
"""

from __future__ import annotations

from strategies import registry
from strategies.base import Strategy

__all__ = ["Strategy", "registry"]
