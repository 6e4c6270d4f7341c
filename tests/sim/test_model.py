"""Conservation laws and the ledger: nothing is created or lost by accident."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.model import LifecycleModel
from sim.scenario import load_scenario
from tests.sim.util import SCENARIOS, scaled


@pytest.fixture(scope="module")
def run() -> tuple[LifecycleModel, pd.DataFrame]:
    scenario = scaled(SCENARIOS / "baseline.yaml", 20_000, horizon_months=36)
    model = LifecycleModel(scenario)
    for _ in range(36):
        model.step()
    return model, model.monthly_frame()


def test_customers_are_conserved(run: tuple[LifecycleModel, pd.DataFrame]) -> None:
    _, df = run
    start = df.customers.iloc[0]
    acquired, churned = df.acquired.cumsum(), df.churned.cumsum()
    np.testing.assert_array_equal(start + acquired, df.customers + churned)
    assert churned.iloc[-1] > 0 and acquired.iloc[-1] > 0  # flows really happened


def test_prospects_are_conserved(run: tuple[LifecycleModel, pd.DataFrame]) -> None:
    _, df = run
    change = df.prospects.diff().iloc[1:]
    flows = (df.arrivals - df.acquired - df.lapsed).iloc[1:]
    np.testing.assert_array_equal(change, flows)


def test_every_row_ever_is_accounted_for(run: tuple[LifecycleModel, pd.DataFrame]) -> None:
    model, df = run
    records = model.absorption_records()
    assert records.id.is_unique
    last = df.iloc[-1]
    absorbed = (records.absorbed_month >= 0).sum()
    assert len(records) == last.customers + last.prospects + absorbed
    assert absorbed == df.churned.sum() + df.lapsed.sum()
    assert len(records) == df.customers.iloc[0] + df.prospects.iloc[0] + df.arrivals.sum()


def test_aum_is_conserved(run: tuple[LifecycleModel, pd.DataFrame]) -> None:
    """AUM changes only by market drift, net deposits, new customers and churn outflow."""
    _, df = run
    change = df.aum.diff().iloc[1:]
    flows = (df.aum_market + df.aum_net_flow + df.aum_acquired - df.aum_churned).iloc[1:]
    np.testing.assert_allclose(change, flows, rtol=1e-9, atol=1e-3)
    assert (df.aum_churned.iloc[1:] > 0).all()


def test_ledger_balances(run: tuple[LifecycleModel, pd.DataFrame]) -> None:
    _, df = run
    revenue_cols = [c for c in df.columns if c.startswith("revenue_")]
    cost_cols = [c for c in df.columns if c.startswith("cost_")]
    assert revenue_cols and cost_cols
    np.testing.assert_allclose(df[revenue_cols].sum(axis=1), df.revenue, rtol=1e-12)
    np.testing.assert_allclose(df[cost_cols].sum(axis=1), df.cost, rtol=1e-12)
    np.testing.assert_allclose(df.revenue - df.cost, df.profit, rtol=1e-12, atol=1e-6)
    assert (df[revenue_cols + cost_cols] >= 0).all().all()


def test_ledger_matches_the_population() -> None:
    """One month's bookings recomputed independently from the customers' state."""
    scenario = scaled(SCENARIOS / "baseline.yaml", 5_000, horizon_months=3)
    model = LifecycleModel(scenario)
    for _ in range(3):
        model.step()
    pop, econ, m = model.population, scenario.economics, model.metrics
    cust = model.is_customer()
    assert m["revenue_interest_margin"] == pytest.approx(
        pop.aum[cust].sum() * econ.aum_margin_annual / 12)
    assert m["revenue_fees"] == pytest.approx(pop.products[cust].sum() * econ.fee_per_product_month)
    for c, name in enumerate(model.channel_names):
        users = (cust & (pop.channel == c)).sum()
        assert m[f"cost_servicing_{name}"] == pytest.approx(
            users * econ.servicing_cost_per_month[name])
    assert m["cost_acquisition"] == m["acquired"] * econ.acquisition_cost
    cumulative = model.ledger.total
    assert sum(v for (side, _, _), v in cumulative.items() if side == "revenue") == pytest.approx(
        model.monthly_frame().revenue.sum())


def test_ledger_rejects_negative_amounts() -> None:
    from sim.ledger import Ledger

    with pytest.raises(ValueError, match="must be finite"):
        Ledger().book("cost", "voucher", -1.0)
    with pytest.raises(ValueError, match="must be finite"):
        Ledger().book("cost", "voucher", float("nan"))


def test_customer_view_is_read_only(run: tuple[LifecycleModel, pd.DataFrame]) -> None:
    model, _ = run
    first_id = int(model.population.id[0])
    view = model.customer(first_id)
    assert view.id == first_id
    assert view.aum == pytest.approx(float(model.population.aum[0]))
    assert set(view.as_dict()) >= {"stage", "segment", "tier", "satisfaction"}
    with pytest.raises(AttributeError):
        view.aum = 0.0
    with pytest.raises(KeyError):
        model.customer(-1)


def test_stage_counts_and_segments_are_consistent(run: tuple[LifecycleModel, pd.DataFrame]) -> None:
    model, df = run
    customer_stages = [f"stage_{s}" for s, r in zip(model.stage_names, model.transitions.roles,
                                                     strict=True) if r == "customer"]
    np.testing.assert_array_equal(df[customer_stages].sum(axis=1), df.customers)
    segments = [f"segment_{s}" for s in "ABCD"]
    np.testing.assert_array_equal(df[segments].sum(axis=1), df.customers)
    tiers = [c for c in df.columns if c.startswith("tier_") and c not in ("tier_up", "tier_down")]
    np.testing.assert_array_equal(df[tiers].sum(axis=1), df.customers)


def test_datacollector_is_mesa(run: tuple[LifecycleModel, pd.DataFrame]) -> None:
    model, df = run
    assert model.steps == 36
    assert list(df.month) == list(range(37))
    assert model.datacollector.get_model_vars_dataframe().shape[0] == 37


def test_the_collector_stores_what_mesas_own_stores() -> None:
    """The model's DataCollector takes each month's metrics as they are; Mesa's own (every
    reporter called, its value deep-copied) makes the same table, values and types."""
    import mesa

    scenario = scaled(SCENARIOS / "playbook_branches.yaml", 3_000, horizon_months=3)
    model = LifecycleModel(scenario)
    mesas = mesa.DataCollector(model_reporters=model.metrics_builder.reporters())
    mesas.collect(model)
    for _ in range(3):
        model.step()
        mesas.collect(model)
    ours = model.datacollector.get_model_vars_dataframe()
    pd.testing.assert_frame_equal(ours, mesas.get_model_vars_dataframe())
    for name, values in mesas.model_vars.items():
        assert [type(v) for v in model.datacollector.model_vars[name]] == [type(v) for v in values]


def test_columns_never_share_memory() -> None:
    """A write to one column must never show up in another (they were once aliased)."""
    scenario = scaled(SCENARIOS / "baseline.yaml", 2_000, horizon_months=2,
                      market__prospect_arrivals_per_month=0)
    model = LifecycleModel(scenario)
    columns = model.population.columns()
    arrays = list(columns.values())
    for i, a in enumerate(arrays):
        for b in arrays[i + 1:]:
            assert not np.shares_memory(a, b)
    assert model.metrics["contacts"] == 0.0


def test_rows_a_strategy_adds_in_a_customer_stage_count_as_customers_that_month(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """four_stage's arrivals enter a customer stage: referrals a strategy adds are customers
    at once, for the strategies after it and for the branches (not padded as prospects)."""
    from sim.model import LifecycleModel as Model

    scenario = load_scenario(SCENARIOS / "four_stage.yaml", [
        "population.size=5000", "horizon_months=3",
        "strategies=[{name: referral, target: {stages: [formation, stability]}},"
        " {name: voucher, target: {stages: [exploration]}}]"])
    extended = []
    real = Model._with_added

    def checked(self: Model, customers: np.ndarray) -> np.ndarray:
        out = real(self, customers)
        np.testing.assert_array_equal(out, self.is_customer())
        extended.append(len(out) - len(customers))
        return out

    monkeypatch.setattr(Model, "_with_added", checked)
    model = Model(scenario)
    for _ in range(3):
        model.step()
    assert max(extended) > 0  # referrals were added within a month and counted


def test_private_banking_crossings_follow_each_customers_aum_month_to_month() -> None:
    """private_banking_up/down count customers who stayed and whose AUM crossed the
    threshold between last month's close and this month's (DOMAIN §3: customers near 6M
    go in and out of private banking), recomputed here from the rows by id."""
    scenario = scaled(SCENARIOS / "baseline.yaml", 5_000, horizon_months=12,
                      private_banking_threshold=1_000_000)  # enough customers near it
    model = LifecycleModel(scenario)
    threshold = scenario.private_banking_threshold
    ups = downs = 0
    for _ in range(12):
        pop = model.population
        cust = model.is_customer()
        before = dict(zip(pop.id[cust].tolist(), pop.aum[cust].tolist(), strict=True))
        model.step()
        pop, cust = model.population, model.is_customer()
        after = dict(zip(pop.id[cust].tolist(), pop.aum[cust].tolist(), strict=True))
        stayed = before.keys() & after.keys()
        up = sum(before[i] < threshold <= after[i] for i in stayed)
        down = sum(after[i] < threshold <= before[i] for i in stayed)
        assert model.metrics["private_banking_up"] == up
        assert model.metrics["private_banking_down"] == down
        ups, downs = ups + up, downs + down
    assert ups > 0 and downs > 0  # crossings really happened


def test_an_arrivals_opening_balance_pays_the_transaction_cost() -> None:
    """Four-stage newcomers arrive as customers holding AUM: that money comes in through
    their channel like any other new money (it was free: about 28% of the bank's new money)."""
    scenario = scaled(SCENARIOS / "four_stage.yaml", 5_000, horizon_months=3)
    model = LifecycleModel(scenario)
    for _ in range(3):
        model.step()
    pop, econ = model.population, scenario.economics
    new = (pop.entered_month == model.month) & model.is_customer()
    assert new.sum() > 20 and (pop.aum[new] > 0).all()
    channel = np.array(model.channel_names)[pop.channel[new]]
    servicing = np.array([econ.servicing_cost_per_month[c] for c in channel])
    per_10k = np.array([econ.transaction_cost_per_10k[c] for c in channel])
    np.testing.assert_allclose(
        pop.cost_month[new],
        servicing + pop.aum[new] / 10_000 * per_10k + econ.acquisition_cost, rtol=1e-12)


def test_the_collector_calls_a_reporter_put_in_place_of_its_own() -> None:
    """The model's DataCollector takes ``model.metrics`` as they are only while its reporters
    are its own: one replaced (as on Mesa's DataCollector, e.g. by a page or a plugin)
    is called, as Mesa's own collect calls it."""
    scenario = scaled(SCENARIOS / "baseline.yaml", 2_000, horizon_months=2)
    model = LifecycleModel(scenario)
    model.datacollector.model_reporters["customers"] = lambda m: -1
    model.step()
    model.step()
    assert list(model.datacollector.model_vars["customers"])[1:] == [-1, -1]
