"""The runtime around strategies: staff in priority order, ids, new money, summary figures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from sim.model import LifecycleModel
from sim.scenario import load_scenario
from sim.summary import strategy_figures
from strategies import registry
from strategies.base import Strategy
from tests.sim.util import SCENARIOS

SMALL = ["population.size=8000", "population.prospects=1400",
         "market.prospect_arrivals_per_month=126", "horizon_months=2"]


class _Probe(Strategy):
    """Test strategy: asks for staff time, adds prospects twice a month."""

    name = "runtime_probe"
    cost_kinds: ClassVar[tuple[str, ...]] = ("call",)
    seen: ClassVar[list[Any]] = []

    def __init__(self, *, minutes: float = 10.0) -> None:
        self.minutes = minutes

    def apply(self, ctx: Any) -> None:
        pop = ctx.population
        due = np.where(pop.aum > 200_000, 2.0, 1.0)  # the wealthy are due two calls
        reached = ctx.staff(ctx.targets, self.minutes * due, due)
        ctx.fund("call", reached, 1.0)
        _Probe.seen.append((ctx.targets.copy(), reached, pop.aum.copy(), due))
        ctx.add_prospects(3)
        ctx.add_prospects(4)


@contextmanager
def registered(strategy: type[Strategy]) -> Iterator[None]:
    """``strategy`` in the registry while the test uses it (test strategies are not plugins)."""
    registry.register(strategy)
    try:
        yield
    finally:
        registry._REGISTRY.pop(strategy.name, None)


@pytest.fixture
def probe():
    _Probe.seen.clear()
    with registered(_Probe):
        yield _Probe


def build(*overrides: str) -> LifecycleModel:
    return LifecycleModel(load_scenario(SCENARIOS / "baseline.yaml", [*SMALL, *overrides]))


def test_staff_serves_in_priority_order_whatever_the_number_of_calls(probe) -> None:
    model = build("capacity.rm_hours_per_month=100",
                  "strategies=[{name: runtime_probe, budget: {priority: highest_value}}]")
    model.step()
    targets, reached, aum, due = probe.seen[0]
    assert 0 < reached.sum() < targets.sum()  # hours ran out
    assert aum[reached].min() >= aum[targets & ~reached].max()
    used = (10.0 * due[reached]).sum()
    assert used <= 100 * 60 and model.staff_minutes_left == pytest.approx(6000 - used)
    df = model.monthly_frame()
    assert df.strategy_runtime_probe_contacts_delivered.iloc[1] == due[reached].sum()


def test_prospects_added_twice_a_month_get_distinct_ids(probe) -> None:
    model = build("strategies=[{name: runtime_probe}]")
    for _ in range(2):
        model.step()
    ids = model.absorption_records().id
    assert ids.is_unique
    brought = ((ids.to_numpy() >> 32) & 0xFF) == 2
    assert brought.sum() == 2 * 7


def test_money_a_strategy_moves_in_pays_transaction_cost() -> None:
    def transaction_cost(strategies: str) -> float:
        model = build(strategies, "horizon_months=1")
        model.step()
        df = model.monthly_frame()
        return float(df.filter(like="cost_transaction_").iloc[1].sum()), df

    base, _ = transaction_cost("strategies=[]")
    with_vouchers, df = transaction_cost(
        "strategies=[{name: voucher, params: {base_redemption: 1.0}, target: {segments: [B]}}]")
    redeemed = df.strategy_voucher_funded.iloc[1]
    assert redeemed > 10
    # each redemption brings 100,000 CNY at 40-45 CNY per 10,000 (DOMAIN §2)
    assert with_vouchers - base >= 0.9 * redeemed * 100_000 / 10_000 * 40


def test_strategy_figures_by_hand() -> None:
    months = pd.DataFrame({
        "cost_strategy_s": [0.0, 100.0, 100.0],
        "strategy_s_contacts_requested": [0, 10, 10],
        "strategy_s_contacts_delivered": [0, 8, 9],
        "uplift_s_n_treated": [0, 10, 10], "uplift_s_n_control": [0, 5, 5],
        "uplift_s_active_treated": [0, 10, 9], "uplift_s_active_control": [0, 5, 4],
        "uplift_s_aum_treated": [0, 1000, 1200], "uplift_s_aum_control": [0, 500, 400],
        "uplift_s_revenue_treated": [0, 300, 300], "uplift_s_revenue_control": [0, 100, 100],
        "uplift_s_cost_treated": [0, 50, 50], "uplift_s_cost_control": [0, 20, 20],
        "uplift_s_active_brought": [0, 1, 1], "uplift_s_aum_brought": [0, 0, 0],
        "uplift_s_revenue_brought": [0, 10, 10], "uplift_s_cost_brought": [0, 30, 5],
    })
    out = strategy_figures("s", months.iloc[-1], months.iloc[1:])
    assert out["strategy_s_cost"] == 200
    assert out["strategy_s_contacts_delivered"] == 17
    assert out["strategy_s_uplift_retention"] == pytest.approx(9 / 10 - 4 / 5)
    assert out["strategy_s_uplift_aum_per_customer"] == pytest.approx(120 - 80)
    revenue_pc = 600 / 10 - 200 / 5          # 20 per treated customer
    cost_pc = 100 / 10 - 40 / 5              # 2 per treated customer
    brought = 20 - 35                        # referred customers: revenue - costs
    profit = (revenue_pc - cost_pc) * 10 + brought - 200
    assert out["strategy_s_incremental_revenue"] == pytest.approx(revenue_pc * 10 + 20)
    assert out["strategy_s_incremental_profit"] == pytest.approx(profit)
    assert out["strategy_s_roi"] == pytest.approx(profit / 200)
    assert out["strategy_s_uplift_profit_per_customer"] == pytest.approx((profit - brought) / 10)


def test_no_control_group_means_no_uplift_figures() -> None:
    last = pd.Series({"uplift_s_n_treated": 10, "uplift_s_n_control": 0,
                      "uplift_s_active_brought": 0})
    flows = pd.DataFrame({"cost_strategy_s": [5.0], "strategy_s_contacts_requested": [0],
                          "strategy_s_contacts_delivered": [0],
                          "uplift_s_revenue_brought": [0.0], "uplift_s_cost_brought": [0.0]})
    out = strategy_figures("s", last, flows)
    assert "strategy_s_roi" not in out and out["strategy_s_cost"] == 5.0


def test_a_subset_hands_out_model_owned_columns_read_only() -> None:
    """Stages, classes, ids and branches are the model's: a strategy cannot change them.

    Its copies of those columns are read-only (an in-place write raises instead of
    being silently lost) and are not copied back; its other columns are.
    """
    from sim.population import MODEL_OWNED

    model = LifecycleModel(load_scenario(SCENARIOS / "baseline.yaml",
                                         ["population.size=2000", "population.prospects=100"]))
    pop = model.population
    rows = np.flatnonzero(model.is_customer())[:50]
    subset = pop.subset(rows)
    assert {"segment", "stage", "tier", "id", "branch"} <= MODEL_OWNED
    with pytest.raises(ValueError, match="read-only"):
        subset.segment[0] = 3
    with pytest.raises(AttributeError, match="the model's"):
        subset.stage = 0
    subset.contacts[:] = 7.0
    before = pop.segment.copy()
    subset.write_back()
    np.testing.assert_array_equal(pop.contacts[rows], 7.0)
    np.testing.assert_array_equal(pop.segment, before)


@pytest.mark.parametrize("read_first", [False, True])
def test_add_at_changes_the_rows_whether_or_not_the_column_was_copied(read_first) -> None:
    """RowSubset.add_at is ``column[mask] += amount`` on the subset, written back: in the
    table's rows directly when the column was not copied, in the copy when it was."""
    model = LifecycleModel(load_scenario(SCENARIOS / "baseline.yaml",
                                         ["population.size=2000", "population.prospects=100"]))
    pop = model.population
    rows = np.flatnonzero(model.is_customer())[:60]
    pop.contacts[rows] = np.arange(60, dtype=np.float32) / 3
    expected = pop.contacts.copy()
    mask = np.arange(60) % 4 == 1
    expected[rows[mask]] += 1.0
    subset = pop.subset(rows)
    if read_first:
        subset.contacts[~mask] *= 1.0  # read (copied), unchanged
    subset.add_at("contacts", mask, 1.0)
    assert ("contacts" in subset._copies) == read_first  # not copied for the runtime's own add
    subset.write_back()
    np.testing.assert_array_equal(pop.contacts, expected)
    with pytest.raises(AttributeError, match="the model's"):
        subset.add_at("stage", mask, 1)
    # what is added is a count or money: finite, not negative, not past the column's type
    # (added to the table's rows, it would escape the check of the columns copied back)
    for table in (subset, pop):
        for bad in (-1.0, np.nan, np.inf, 1e39):
            with pytest.raises(ValueError, match=r"^add_at\('contacts'\) got an amount"):
                table.add_at("contacts", mask if table is subset else rows, bad)
    subset.write_back()
    np.testing.assert_array_equal(pop.contacts, expected)


class _Reorder(Strategy):
    """Test strategy: RM time for all (binding), AUM reversed in place, then pays for all."""

    name = "reorder_probe"
    cost_kinds: ClassVar[tuple[str, ...]] = ("call",)
    seen: ClassVar[list[np.ndarray]] = []

    def apply(self, ctx: Any) -> None:
        pop = ctx.population
        _Reorder.seen.append(ctx.staff(ctx.targets, 1.0))  # sorts by AUM: hours run out
        _Reorder.seen.append(pop.aum.copy())
        pop.aum[:] = pop.aum[::-1].copy()
        _Reorder.seen.append(ctx.fund("call", ctx.targets, 1.0))  # the budget runs out
        _Reorder.seen.append(pop.aum.copy())


def test_the_priority_order_follows_a_key_changed_in_place() -> None:
    """The sorted order is reused only while the key is unchanged (lowest_value reads aum)."""
    _Reorder.seen.clear()
    with registered(_Reorder):
        model = build("capacity.rm_hours_per_month=5", "strategies=[{name: reorder_probe, "
                      "budget: {monthly: 200, priority: lowest_value}}]")
        model.step()
    staffed, aum_before, paid, aum_after = _Reorder.seen
    assert staffed.sum() == 300 and paid.sum() == 200
    assert aum_before[staffed].max() <= aum_before[~staffed].min()
    assert aum_after[paid].max() <= aum_after[~paid].min()  # by the reversed AUM, not the old


def test_state_columns_of_any_dtype_survive_subsets_and_compaction() -> None:
    """Compiled row copies take the usual dtypes; others (float16) fall back to NumPy."""
    model = build()
    pop = model.population
    pop.add_column("probe_half", np.float16, 1.5)
    rows = np.arange(0, len(pop), 7)
    subset = pop.subset(rows)
    subset.probe_half[:] = 2.5
    subset.write_back()
    assert (pop.probe_half[rows] == 2.5).all() and (pop.probe_half[rows + 1] == 1.5).all()
    keep = np.ones(len(pop), bool)
    keep[::2] = False
    before = pop.probe_half[keep].copy()
    pop.keep(keep)
    np.testing.assert_array_equal(pop.probe_half, before)


def test_a_mask_of_the_wrong_length_is_refused_before_any_allocation() -> None:
    """fund and staff hand their rows to compiled loops that trust them: a plugin's mask
    longer than its population must be an error, not a write past an array's end."""
    from sim.strategy_runtime import StrategyContext

    model = LifecycleModel(load_scenario(SCENARIOS / "voucher.yaml", SMALL))
    runtime = model.strategies[0]
    pop = model.population
    ctx = StrategyContext(model, runtime, pop, np.ones(len(pop), bool), np.ones(len(pop), bool))
    too_long = np.ones(len(pop) + 5, bool)
    with pytest.raises(ValueError, match=r"voucher.*shape"):
        ctx.fund("voucher", too_long, 1.0)
    with pytest.raises(ValueError, match=r"voucher.*shape"):
        ctx.staff(too_long, 10.0)


class _Broken(Strategy):
    """Test strategy: a plugin author's bug, raised in the third month."""

    name = "runtime_broken"
    cost_kinds: ClassVar[tuple[str, ...]] = ()

    def apply(self, ctx: Any) -> None:
        if ctx._model.month == 3:
            raise KeyError("no_such_column")


def test_a_strategy_that_raises_is_named_with_its_replication_and_month(tmp_path, capsys) -> None:
    """A plugin's exception is one line naming the strategy, the replication, the month
    and the plugin's line; ``clmsim run`` prints it without a traceback and exits 1."""
    from sim.cli import EXIT_FAILED, main
    from sim.strategy_errors import StrategyError

    with registered(_Broken):
        model = build("strategies=[{name: runtime_broken}]", "horizon_months=4")
        with pytest.raises(StrategyError, match=r"^strategy 'runtime_broken' failed in "
                           r"replication 0, month 3: KeyError: 'no_such_column' "
                           r"\(at .*test_strategy_runtime.py:\d+\)$"):
            for _ in range(4):
                model.step()
        sets = [x for kv in [*SMALL, "horizon_months=4", "strategies=[{name: runtime_broken}]"]
                for x in ("--set", kv)]
        code = main(["run", str(SCENARIOS / "baseline.yaml"), *sets, "--replications", "1",
                     "--executor", "serial", "--out", str(tmp_path), "--no-figures", "--quiet"])
    err = capsys.readouterr().err
    assert code == EXIT_FAILED
    assert err.count("\n") == 1 and "Traceback" not in err
    # its only replication failed: no half-made run folder is left (it held only settings)
    assert list(tmp_path.iterdir()) == []
    assert "strategy 'runtime_broken' failed in replication 0, month 3" in err
    assert "use --resume" in err


def test_negative_or_nan_money_minutes_and_prospects_are_refused() -> None:
    """A negative cost treated customers for free and booked nothing, negative minutes
    gave RMs time they do not have, a negative count of prospects was dropped: all are
    a plugin's bug, refused naming the strategy, with nothing booked or spent."""
    from sim.strategy_runtime import StrategyContext

    model = LifecycleModel(load_scenario(SCENARIOS / "voucher.yaml", SMALL))
    runtime = model.strategies[0]
    pop = model.population
    everyone = np.ones(len(pop), bool)
    ctx = StrategyContext(model, runtime, pop, everyone, everyone)
    minutes = model.staff_minutes_left
    for call in (lambda: ctx.fund("voucher", everyone, -5.0),
                 lambda: ctx.fund("voucher", everyone, np.where(everyone, np.nan, 1.0)),
                 lambda: ctx.spend("voucher", -1000.0),
                 lambda: ctx.spend("voucher", float("inf")),
                 lambda: ctx.staff(everyone, -10.0),
                 lambda: ctx.staff(everyone, 10.0, -1.0)):
        with pytest.raises(ValueError, match=r"^strategy 'voucher': \w+\(\) got .* "
                                             r"expected a finite number >= 0$"):
            call()
    for count in (-50, float("nan")):
        with pytest.raises(ValueError, match=r"^strategy 'voucher': add_prospects\(\) got"):
            ctx.add_prospects(count)
    # finite minutes whose sum is too large for a float are refused by none of the checks
    # (the check reads the sum first): none fits the month's hours
    runtime.month_counts = dict.fromkeys(("contacts_requested", "contacts_delivered"), 0.0)
    with np.errstate(over="ignore"):
        assert not ctx.staff(everyone, 1e308).any()
    assert runtime.spent_total == 0.0 and model.staff_minutes_left == minutes
    assert len(model.population) == len(pop)


class _Writer(Strategy):
    """Test strategy: writes a bad value into one of the model's columns in month 2."""

    name = "runtime_writer"
    cost_kinds: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, column: str = "satisfaction", value: float = float("nan")) -> None:
        self.column, self.value = column, value

    def apply(self, ctx: Any) -> None:
        if ctx._model.month == 2:
            getattr(ctx.population, self.column)[:1] = self.value


@pytest.mark.parametrize(("column", "value", "problem"), [
    ("satisfaction", float("nan"), "a NaN or infinite value"),
    ("share_of_wallet", float("inf"), "a NaN or infinite value"),
    ("contacts", -5.0, r"a negative value \(-5.0\)"),
])
def test_a_strategy_writing_nan_or_negative_counts_is_named(column, value, problem) -> None:
    """A NaN written into satisfaction used to surface later as 'ledger amounts must be
    finite' with a traceback naming no strategy; a negative contact count reached the
    results. Both are refused in the month they are written, naming the strategy."""
    from sim.strategy_errors import StrategyError

    with registered(_Writer):
        model = build(f"strategies=[{{name: runtime_writer, params: {{column: {column}, "
                      f"value: {value}}}}}]", "horizon_months=3")
        model.step()
        with pytest.raises(StrategyError, match=rf"^strategy 'runtime_writer' failed in "
                           rf"replication 0, month 2: it wrote {problem} into column "
                           rf"'{column}'$"):
            model.step()


class _Unpicklable(Exception):
    def __init__(self, what: str, code: int) -> None:  # pickle rebuilds with args: fails
        super().__init__(f"{what} {code}")


class _BrokenOddly(Strategy):
    """Test strategy: raises an exception that cannot cross a process boundary."""

    name = "runtime_oddly"
    cost_kinds: ClassVar[tuple[str, ...]] = ()

    def apply(self, ctx: Any) -> None:
        raise _Unpicklable("odd", 7)


def test_a_plugin_exception_that_cannot_be_pickled_still_reaches_the_parent() -> None:
    """Raised in a worker process, such an exception broke the pool and was reported as
    'workers lost'; the strategy's error is rebuilt from its message alone."""
    import pickle

    from sim.strategy_errors import StrategyError

    # (whether _Unpicklable itself pickles depends on what else ran: distributed installs
    # tblib's pickling support, which rebuilds exceptions without calling __init__)
    with registered(_BrokenOddly):
        model = build("strategies=[{name: runtime_oddly}]")
        with pytest.raises(StrategyError) as caught:
            model.step()
    again = pickle.loads(pickle.dumps(caught.value))
    assert str(again) == str(caught.value)
    assert str(again).startswith("strategy 'runtime_oddly' failed in replication 0, month 1: "
                                 "_Unpicklable: odd 7 (at ")


class _BankStageWriter(Strategy):
    """Test strategy with the whole bank: tries to move every row back to stage 0."""

    name = "runtime_bank_stage"
    scope = "bank"
    cost_kinds: ClassVar[tuple[str, ...]] = ()

    def apply(self, ctx: Any) -> None:
        ctx.population.stage[:] = 0


def test_a_bank_scope_strategy_cannot_change_the_models_columns() -> None:
    """With scope = "bank" the plugin got the table itself, and changing ``stage`` in place
    revived churned customers without a booked flow; the model's own columns are now
    read-only during ``apply`` (as a subset's copies are), and writable again after."""
    from sim.population import MODEL_OWNED
    from sim.strategy_errors import StrategyError

    with registered(_BankStageWriter):
        model = build("strategies=[{name: runtime_bank_stage}]")
        before = model.population.stage.copy()
        with pytest.raises(StrategyError, match=r"^strategy 'runtime_bank_stage' failed in "
                           r"replication 0, month 1: ValueError: assignment destination is "
                           r"read-only"):
            model.step()
    np.testing.assert_array_equal(model.population.stage[: len(before)], before)
    columns = model.population.columns()
    assert all(columns[name].flags.writeable for name in MODEL_OWNED)


class _Subsidy(Strategy):
    """Test strategy: pays for every target at a cost in proportion to its AUM."""

    name = "runtime_subsidy"
    cost_kinds: ClassVar[tuple[str, ...]] = ("subsidy",)
    seen: ClassVar[list[Any]] = []

    def apply(self, ctx: Any) -> None:
        cost = ctx.population.aum * 0.001 + 1.0
        funded = ctx.fund("subsidy", ctx.targets, cost)
        _Subsidy.seen.append((ctx.targets.copy(), funded, cost.copy(),
                              ctx.population.aum.copy()))


@pytest.mark.parametrize("when_short", ["stop", "skip"])
def test_a_budget_short_of_the_first_in_order_stops_or_skips(when_short: str) -> None:
    # the dearest customer comes first under highest_value: a budget below their cost
    # buys nobody when it stops there, and the cheaper customers who fit when it skips
    _Subsidy.seen.clear()
    with registered(_Subsidy):
        model = build("strategies=[{name: runtime_subsidy, target: {segments: [A, B]}, "
                      f"budget: {{monthly: 300, when_short: {when_short}}}}}]")
        model.step()
    targets, funded, cost, aum = _Subsidy.seen[0]
    wanted = np.flatnonzero(targets)
    assert cost[wanted].max() > 300 > cost[wanted].min()  # the case in question
    spent = model.monthly_frame().cost_strategy_runtime_subsidy.iloc[1]
    if when_short == "stop":
        assert funded.sum() == 0 and spent == 0
        return
    # the greedy pass in priority order (highest AUM first, ties in row order)
    order = wanted[np.argsort(-aum[wanted], kind="stable")]
    expected, left = np.zeros_like(funded), 300.0
    for row in order:
        if cost[row] <= left + 1e-9:
            expected[row], left = True, left - cost[row]
    assert funded.sum() > 0
    np.testing.assert_array_equal(funded, expected)
    assert spent == pytest.approx(cost[funded].sum()) and spent <= 300


def test_contacts_are_counted_non_negative_and_taken_back_within_the_month() -> None:
    # a negative count_contacts was how a contact was taken back, so any plugin could
    # make the summary's contact counts anything; now counts are >= 0 and taking back
    # has its own call, bounded by the month's delivered contacts
    from sim.strategy_runtime import StrategyContext

    model = LifecycleModel(load_scenario(SCENARIOS / "voucher.yaml", SMALL))
    runtime = model.strategies[0]
    everyone = np.ones(len(model.population), bool)
    ctx = StrategyContext(model, runtime, model.population, everyone, everyone)
    runtime.month_counts = dict.fromkeys(("contacts_requested", "contacts_delivered"), 0.0)
    for requested, delivered in ((-1.0, 0.0), (0.0, -3.0), (float("nan"), 0.0)):
        with pytest.raises(ValueError, match=r"^strategy 'voucher': count_contacts\(\) got"):
            ctx.count_contacts(requested, delivered)
    ctx.count_contacts(10.0, 8.0)
    ctx.take_back_contacts(3.0)
    assert runtime.month_counts == {"contacts_requested": 10.0, "contacts_delivered": 5.0}
    with pytest.raises(ValueError, match=r"take_back_contacts\(\) got count 6.0; expected at most"):
        ctx.take_back_contacts(6.0)
    with pytest.raises(ValueError, match=r"take_back_contacts\(\) got count -1.0; expected a"):
        ctx.take_back_contacts(-1.0)
    assert runtime.month_counts["contacts_delivered"] == 5.0
