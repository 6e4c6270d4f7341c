"""The registry: names, duplicates, entry points; YAML can only name registered code."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from strategies import registry
from strategies.base import Strategy


class _Plugin(Strategy):
    name = "third_party_plugin"
    cost_kinds: ClassVar[tuple[str, ...]] = ("gift",)

    def __init__(self, *, gift_value: float = 10.0) -> None:
        self.gift_value = gift_value

    def apply(self, ctx: Any) -> None:
        ctx.fund("gift", ctx.targets, self.gift_value)


class _FakeEntryPoint:
    def __init__(self, name: str, obj: object) -> None:
        self.name, self._obj = name, obj

    def load(self) -> object:
        return self._obj


@pytest.fixture
def fresh_entry_points(monkeypatch: pytest.MonkeyPatch):
    def install(*eps: _FakeEntryPoint) -> None:
        monkeypatch.setattr(registry, "_entry_points_loaded", False)
        monkeypatch.setattr(registry, "entry_points", lambda group: list(eps))
    yield install
    registry._REGISTRY.pop("third_party_plugin", None)


def test_entry_point_strategy_is_registered(fresh_entry_points) -> None:
    fresh_entry_points(_FakeEntryPoint("third_party_plugin", _Plugin))
    assert registry.get("third_party_plugin") is _Plugin
    registry.check_spec("third_party_plugin", {"gift_value": 5})
    with pytest.raises(registry.StrategyConfigError, match="unknown parameter"):
        registry.check_spec("third_party_plugin", {"colour": "red"})


def test_entry_point_that_is_not_a_strategy_is_refused(fresh_entry_points) -> None:
    fresh_entry_points(_FakeEntryPoint("os_system", print))
    with pytest.raises(TypeError, match="not a Strategy subclass"):
        registry.available()


def test_duplicate_name_is_refused() -> None:
    class Impostor(Strategy):
        name = "voucher"

        def apply(self, ctx: Any) -> None:  # pragma: no cover - never run
            ctx.targets[:] = False

    with pytest.raises(ValueError, match="already registered"):
        registry.register(Impostor)


def test_built_in_name_must_equal_module_name() -> None:
    class Misnamed(Strategy):
        name = "something_else"

        def apply(self, ctx: Any) -> None:  # pragma: no cover - never run
            ctx.targets[:] = False

    Misnamed.__module__ = "strategies.voucher"
    with pytest.raises(ValueError, match="named after its module"):
        registry.register(Misnamed)


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(registry.StrategyConfigError, match=r"valid names: .*voucher"):
        registry.get("nosuch")
