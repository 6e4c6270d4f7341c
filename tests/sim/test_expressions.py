"""Expressions for labels and targeting: right answers, and no way to run code."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from sim.expressions import Expression, ExpressionError

COLUMNS = {
    "age": np.array([25.0, 45.0, 70.0]),
    "aum": np.array([10_000.0, 300_000.0, 7_000_000.0]),
    "channel": np.array([0, 2, 2]),
    "segment": np.array([0, 1, 3]),
    "payments_ytd": np.array([5, 1, 0]),
}
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
CATEGORIES = {"channel": ("online", "self_service", "branch"), "segment": ("A", "B", "C", "D")}


def ev(text: str) -> list[bool]:
    expr = Expression(text, frozenset(COLUMNS) | {"mobile_spender"}, CATEGORIES)
    return np.asarray(expr.evaluate(COLUMNS, 3)).tolist()


@pytest.mark.parametrize(("text", "expected"), [
    ("age < 40", [True, False, False]),
    ("channel == 'online' and payments_ytd >= 4", [True, False, False]),
    ("segment in ['B', 'D']", [False, True, True]),
    ("not (segment == 'A') or age > 60", [False, True, True]),
    ("'branch' == channel", [False, True, True]),
    ("50000 <= aum < 6000000", [False, True, False]),
    ("log10(aum) > 6", [False, False, True]),
    ("aum / 1000 - age * 2 > 0", [False, True, True]),
    ("segment not in ['A']", [False, True, True]),
])
def test_evaluates_over_arrays(text: str, expected: list[bool]) -> None:
    assert ev(text) == expected


@pytest.mark.parametrize("text", [
    "__import__('os').system('echo pwned')",
    "age.__class__",
    "COLUMNS['age']",
    "(lambda: 1)()",
    "open('x')",
    "[a for a in age]",
    "age if age else 1",
    "None == age",
])
def test_refuses_anything_that_could_run_code(text: str) -> None:
    with pytest.raises(ExpressionError):
        Expression(text, frozenset(COLUMNS), CATEGORIES)


def test_unknown_name_and_category_are_clear() -> None:
    with pytest.raises(ExpressionError, match="unknown name 'agee'"):
        Expression("agee > 1", frozenset(COLUMNS), CATEGORIES)
    with pytest.raises(ExpressionError, match="has no category 'mobile'"):
        ev("channel == 'mobile'")
    with pytest.raises(ExpressionError, match="cannot parse"):
        Expression("age >", frozenset(COLUMNS), CATEGORIES)


def test_label_in_a_scenario_counts_mobile_spenders() -> None:
    from sim.model import LifecycleModel
    from sim.scenario import load_scenario
    from tests.sim.util import SCENARIOS

    model = LifecycleModel(load_scenario(SCENARIOS / "baseline.yaml", [
        "population.size=5000", "population.prospects=800",
        "market.prospect_arrivals_per_month=80", "horizon_months=6"]))
    for _ in range(6):
        model.step()
    pop = model.population
    expected = model.is_customer() & (pop.channel == 0) & (pop.payments_ytd >= 4)
    np.testing.assert_array_equal(pop.mobile_spender, expected)
    assert model.monthly_frame().label_mobile_spender.iloc[-1] == expected.sum() > 0


def test_bad_label_or_target_is_a_scenario_error() -> None:
    from sim.scenario import ScenarioError, load_scenario
    from tests.sim.util import SCENARIOS

    with pytest.raises(ScenarioError, match=r"labels\.x: .*unknown name 'nope'"):
        load_scenario(SCENARIOS / "baseline.yaml", ["labels.x=nope > 1"])
    with pytest.raises(ScenarioError, match=r"target\.where"):
        load_scenario(SCENARIOS / "baseline.yaml",
                      ["strategies=[{name: voucher, target: {where: 'age.real > 1'}}]"])


def test_an_expression_is_parsed_once_and_a_refused_one_every_time() -> None:
    """Scenarios share parsed expressions (a sweep validates the same labels at each point);
    a label's names and categories are part of what is shared."""
    from sim.scenario import ScenarioError, load_scenario
    from tests.sim.util import SCENARIOS

    one, two = (load_scenario(SCENARIOS / "baseline.yaml", [f"population.size={n}"])
                for n in (100, 200))
    assert one.expression("age > 30") is two.expression("age > 30")
    three = load_scenario(SCENARIOS / "baseline.yaml", ["tiers=[{name: all, min_aum: 0}]"])
    assert three.expression("tier == 'all'").categories["tier"] == ("all",)
    with pytest.raises(ExpressionError, match="has no category 'all'"):
        one.expression("tier == 'all'")
    for _ in range(2):
        with pytest.raises(ScenarioError, match=r"labels\.x: .*unknown name 'nope'"):
            load_scenario(SCENARIOS / "baseline.yaml", ["labels.x=nope > 1"])


@pytest.mark.parametrize(("expr", "message"), [
    ("channel == 'mobile'", "channel has no category 'mobile'"),
    ("stage in ['growth', 'matured']", "stage has no category 'matured'"),
    ("segment == 'E'", "segment has no category 'E'"),
    ("age == 'old'", "age is not categorical"),
])
def test_wrong_categories_fail_at_load_time_not_at_run_time(expr: str, message: str) -> None:
    from sim.scenario import ScenarioError, load_scenario
    from tests.sim.util import SCENARIOS

    with pytest.raises(ScenarioError, match=message):
        load_scenario(SCENARIOS / "baseline.yaml", [f"labels.x={expr}"])


def test_functions_only_read_their_arguments() -> None:
    """NumPy's ``maximum(a, b, c)`` writes into ``c``; the expressions' ``max`` cannot."""
    from sim.expressions import _FUNCTIONS

    age = COLUMNS["age"].copy()
    with pytest.raises(TypeError):  # no third argument to write into
        _FUNCTIONS["max"](age, 100.0, age)
    np.testing.assert_array_equal(age, COLUMNS["age"])
    columns = {name: column.copy() for name, column in COLUMNS.items()}
    expr = Expression("max(age, 100) > 50 and min(aum, 1.0) < 2", frozenset(columns), CATEGORIES)
    assert np.asarray(expr.evaluate(columns, 3)).tolist() == [True, True, True]
    for name, column in COLUMNS.items():
        np.testing.assert_array_equal(columns[name], column)


def test_truth_values_count_as_0_and_1_in_arithmetic() -> None:
    """``-young`` or ``(age > 30) - (aum > 2)``: NumPy refuses ``-`` on booleans mid-run."""
    assert ev("-(age < 40) < 0") == [True, False, False]
    assert ev("(age > 30) - (aum > 20000) == 0") == [True, True, True]
    assert ev("abs((age > 30) - 1) > 0") == [True, False, False]


@pytest.mark.parametrize(("text", "message"), [
    ("max(age, 0.0, age) < 0", "max takes 2 argument(s), got 3"),
    ("min(age) > 1", "min takes 2 argument(s), got 1"),
    ("abs() > 1", "abs takes 1 argument(s), got 0"),
    ("'a' + 1 > 0", "a string cannot be used in arithmetic"),
    ("age < 60 < 'x'", "a string can only be compared with a categorical column"),
    ("age == [1, 2]", "a list can only follow 'in'"),
    ("age in [aum, 3]", "the list after 'in' holds numbers or strings"),
    ("age in 3", "'in' needs a literal list"),
    ("channel + 1 > 0", "a category cannot be used in arithmetic"),
    ("'online'", "expected a condition"),
    ("-'a' < 1", "a string cannot be negated"),
])
def test_what_cannot_be_computed_is_refused_before_any_data(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        Expression(text, frozenset(COLUMNS), CATEGORIES)


def test_a_label_cannot_change_the_model(tmp_path: Path) -> None:
    """A label that tried to write into columns leaves a run as it was (reviewer's case)."""
    from sim.cli import main

    path = tmp_path / "l.yaml"
    path.write_text(f"extends: {SCENARIOS / 'baseline.yaml'}\nlabels:\n"
                    "  harmless: \"max(satisfaction, 0.0, satisfaction) < 0\"\n")
    assert main(["validate", str(path)]) == 2
