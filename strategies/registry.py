"""Registry of strategies, keyed by name.

Built-in strategies register themselves with :func:`register`; third-party
packages add theirs through the ``clmsim.strategies`` entry-point group
(``name = "package.module:Class"``). A scenario can only name a registered
strategy: YAML never points at arbitrary code.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from strategies.base import Strategy

ENTRY_POINT_GROUP = "clmsim.strategies"
_REGISTRY: dict[str, type[Strategy]] = {}
_entry_points_loaded = False


class StrategyConfigError(ValueError):
    """A scenario names an unknown strategy or gives it an unknown parameter."""


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator adding a strategy to the registry; duplicate names are an error."""
    if not cls.name:
        raise TypeError(f"{cls.__qualname__} must set a non-empty 'name'")
    module = cls.__module__
    if module.startswith("strategies.") and module.rsplit(".", 1)[-1] != cls.name:
        raise ValueError(f"built-in strategy {cls.__qualname__} must be named after its module "
                         f"({module.rsplit('.', 1)[-1]!r}), not {cls.name!r}")
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"strategy name {cls.name!r} is already registered")
    _REGISTRY[cls.name] = cls
    return cls


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        cls = ep.load()
        if not (isinstance(cls, type) and issubclass(cls, Strategy)):
            raise TypeError(f"entry point {ep.name!r} is not a Strategy subclass")
        register(cls)


def available() -> dict[str, type[Strategy]]:
    """Return every registered strategy class by name."""
    _load_entry_points()
    return dict(sorted(_REGISTRY.items()))


def get(name: str) -> type[Strategy]:
    """Return the strategy class registered as ``name``."""
    classes = available()
    if name not in classes:
        valid = ", ".join(classes) or "none registered yet"
        raise StrategyConfigError(f"unknown strategy {name!r}; valid names: {valid}")
    return classes[name]


def check_spec(name: str, params: dict[str, Any], where: str = "strategies") -> None:
    """Check that ``name`` is registered and ``params`` are its constructor's arguments.

    Raises:
        StrategyConfigError: Naming ``where``, the bad value and the valid choices.
    """
    try:
        cls = get(name)
    except StrategyConfigError as exc:
        raise StrategyConfigError(f"{where}.name: {exc}") from None
    valid = cls.param_names()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise StrategyConfigError(
            f"{where}.params: unknown parameter(s) {unknown} for {name!r}; valid: {valid}"
        )


def build(name: str, params: dict[str, Any]) -> Strategy:
    """Construct the strategy ``name`` from its parameters."""
    check_spec(name, params)
    return get(name)(**params)
