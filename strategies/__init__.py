"""Marketing strategies as plugins (ARCHITECTURE decision 3).

A strategy is a small class registered by name (the name of its module); its
constructor is its configuration. Scenarios switch strategies on by name in
their ``strategies:`` list; see :mod:`strategies.registry`. This package never
imports the simulator (``sim``): a strategy acts on the population handed to it.
"""

from __future__ import annotations

import importlib
import pkgutil

from strategies import registry
from strategies.base import Strategy

__all__ = ["Strategy", "registry"]

# Built-in strategies: every module here but the base, the registry and the
# private helpers (leading underscore) defines one and registers it on import.
for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("base", "registry") and not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")

