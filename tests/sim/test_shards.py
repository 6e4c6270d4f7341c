"""One bank split by branch into shards (issue 7): same statistics, conserved totals, any executor.

The small bank is ``scenarios/playbook_branches.yaml`` at 3,000 customers in 4
branches, with its strategies' budgets scaled down with the bank (so they bind
as in the full-size bank) and its desks small enough to queue: every coupling
between shards (budgets, RM hours, online platform, complaint desk, call
centre) is exercised.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.model import LifecycleModel
from sim.runner import run_replication, run_scenario
from sim.schema import Scenario
from sim.shard_run import ShardedRun, run_sharded
from sim.shards import (
    SHARD_ID_SHIFT,
    ShardError,
    check_shards,
    shard_branches,
)
from sim.summary import per_replication
from strategies import registry
from strategies.base import Strategy
from tests.sim.util import SCENARIOS, small_bank

#: Replications per arm of the statistical comparison.
REPLICATIONS = 8
#: Headline figures compared between sharded and unsharded runs.
KEY_METRICS = ("customers_end", "churned", "acquired", "aum_end", "profit",
               "strategy_cost_total", "mean_satisfaction_end", "channels_mean_wait",
               "channels_complaints")
#: Family-wise false-alarm rate of the comparison, Bonferroni-split over metrics × shard counts.
FAMILY_ALPHA = 0.05
ALPHA = FAMILY_ALPHA / (len(KEY_METRICS) * 2)


def figures(scenario: Scenario, shards: int) -> pd.DataFrame:
    """Headline figures of each replication, sharded or not."""
    rows = []
    for rep in range(REPLICATIONS):
        monthly = run_replication(scenario, rep, shards=shards)
        row = per_replication(monthly).iloc[0]
        row["mean_satisfaction_end"] = monthly["mean_satisfaction"].iloc[-1]
        rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def bank() -> Scenario:
    return small_bank()


@pytest.fixture(scope="module")
def unsharded(bank: Scenario) -> pd.DataFrame:
    return figures(bank, 1)


def welch(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, float]:
    """Welch's two-sample t-test p-value of each key metric."""
    return {m: float(stats.ttest_ind(a[m], b[m], equal_var=False).pvalue) for m in KEY_METRICS}


# -- statistics -----------------------------------------------------------------------------


@pytest.mark.parametrize("shards", [2, 3])
def test_sharded_bank_is_statistically_indistinguishable(
    bank: Scenario, unsharded: pd.DataFrame, shards: int
) -> None:
    """Means over 8 replications agree on every key metric (Welch, Bonferroni over 18 tests).

    Power: with 8 replications a difference of about 4 standard errors of the
    difference is needed for this test to see it (e.g. ~2% of customers, ~7% of
    strategy spending in this small bank); the negative control below shows a
    real change of that order is seen.
    """
    sharded = figures(bank, shards)
    p = welch(unsharded, sharded)
    assert min(p.values()) > ALPHA, p


def test_the_same_test_detects_a_real_change(bank: Scenario, unsharded: pd.DataFrame) -> None:
    """Negative control: twice the base churn of mature customers (≈ +2 points a year), sharded."""
    data = bank.model_dump(mode="python")
    data["lifecycle"]["transitions"]["maturity"]["churned"] *= 2
    churnier = Scenario.model_validate(data)
    p = welch(unsharded, figures(churnier, 2))
    assert p["churned"] < ALPHA and p["customers_end"] < ALPHA, p


# -- conservation -----------------------------------------------------------------------------


def test_shards_split_the_branches_and_the_initial_bank_exactly(bank: Scenario) -> None:
    run = ShardedRun(bank, 0, 3)
    blocks = [shard_branches(4, i, 3) for i in range(3)]
    assert sorted(np.concatenate(blocks).tolist()) == [0, 1, 2, 3]
    models: list[LifecycleModel] = [s.model for s in run.shards]
    for model, block in zip(models, blocks, strict=True):
        assert set(np.unique(model.population.branch)) <= set(block.tolist())
    first = run.monthly_frame().iloc[0]
    assert first["customers"] == bank.population.size
    assert first["prospects"] == bank.population.prospects
    assert sum(int(m.is_customer().sum()) for m in models) == bank.population.size


def test_ids_are_unique_across_shards_and_carry_the_shard(bank: Scenario) -> None:
    run = ShardedRun(bank, 0, 3)
    for _ in range(6):  # arrivals and referrals add rows every month
        run.step()
    ids = run.call("ids")
    everything = np.concatenate(ids)
    assert len(np.unique(everything)) == len(everything)
    for index, shard_ids in enumerate(ids):
        assert np.all(shard_ids >> SHARD_ID_SHIFT == index)


def test_budgets_bank_wide_are_never_exceeded() -> None:
    # total budgets that run out within the horizon: the bank's spend must stop at them
    data = small_bank().model_dump(mode="python")
    for spec in data["strategies"]:
        spec["budget"]["total"] = 3 * spec["budget"]["monthly"]
    tight = Scenario.model_validate(data)
    for shards in (1, 3):
        monthly = run_replication(tight, 0, shards=shards)
        for spec in tight.strategies:
            spent = monthly[f"cost_strategy_{spec.name}"]
            assert (spent <= spec.budget.monthly + 1e-6).all(), spec.name
            assert spent.sum() <= spec.budget.total + 1e-6, spec.name
        # the budgets bind: most of the bank's total is spent
        total = sum(s.budget.total for s in tight.strategies)
        assert monthly["strategy_cost_total"].sum() > 0.6 * total


def test_a_budget_smaller_than_a_purchase_per_shard_is_still_spent() -> None:
    """A reviewer's case: 1,200 a month (3,000 in all) of 500 CNY vouchers bought 6 vouchers
    unsharded and none in 5 shards (each part below 500). Such parts are now pooled and
    given out in whole vouchers; the bank still never spends more than its budget."""
    from sim.scenario import load_scenario

    sets = ["population.size=3000", "population.prospects=300",
            "market.prospect_arrivals_per_month=30", "horizon_months=8",
            "strategies.0.budget={monthly: 1200, total: 3000}"]
    scenario = load_scenario(SCENARIOS / "voucher.yaml", sets)
    for shards in (1, 5):
        spent = run_replication(scenario, 0, shards=shards)["cost_strategy_voucher"]
        assert (spent <= 1200 + 1e-6).all() and spent.sum() <= 3000 + 1e-6
        assert spent.sum() == 3000, (shards, spent.tolist())  # every voucher the bank could buy


def test_parts_too_small_to_buy_go_out_whole_in_proportion_to_the_parts() -> None:
    from sim.shards import Coordinator

    coordinator = Coordinator(small_bank(), 4)
    parts = np.array([240.0, 360.0, 0.0, 900.0])  # the last can buy one by itself
    units = np.array([500.0, 500.0, 500.0, 500.0])
    given = np.array([coordinator._whole_purchases(parts, units) for _ in range(4000)])
    assert (given[:, 3] == 900).all() and (given[:, 2] == 0).all()
    # the pool (600) buys one voucher a month, never two; taken by 0 or 1 as 240 : 360
    assert set(np.unique(given[:, :2].sum(axis=1))) == {500.0}
    share = (given[:, 1] > 0).mean()
    assert abs(share - 0.6) < 4 * np.sqrt(0.6 * 0.4 / 4000)
    # parts that can buy something, or whose purchase is not known yet, are left alone
    np.testing.assert_array_equal(coordinator._whole_purchases(parts, np.full(4, np.inf)), parts)
    np.testing.assert_array_equal(coordinator._whole_purchases(parts, np.full(4, 200.0)), parts)


def test_fixed_capacity_and_its_cost_add_up_to_the_bank(bank: Scenario) -> None:
    whole = run_replication(bank, 0)
    sharded = run_replication(bank, 0, shards=3)
    for col in ("cost_staff_teller", "cost_staff_relationship_manager", "cost_machines_vtm",
                "cost_call_centre", "cost_online_platform", "channels_rm_minutes"):
        np.testing.assert_allclose(sharded[col], whole[col], rtol=1e-12, err_msg=col)


def test_one_shard_is_the_unsharded_model_bit_for_bit(bank: Scenario, tmp_path: Path) -> None:
    short = bank.model_copy(update={"horizon_months": 4, "replications": 2})
    a = LifecycleModel(short, 1)
    b = LifecycleModel(short, 1, shard=(0, 1))
    for _ in range(4):
        a.step()
        b.step()
    pd.testing.assert_frame_equal(a.monthly_frame(), b.monthly_frame(), check_exact=True)
    plain = run_scenario(short, tmp_path / "plain", executor="serial", figures=False)
    one = run_scenario(short, tmp_path / "one", executor="serial", figures=False, shards=1)
    pd.testing.assert_frame_equal(plain.monthly, one.monthly, check_exact=True)


def test_resume_refuses_another_shard_count_and_touches_nothing(
    bank: Scenario, tmp_path: Path
) -> None:
    """A run resumed with another --shards would mix differently computed replications."""
    short = bank.model_copy(update={"horizon_months": 2, "replications": 2})
    run_dir = tmp_path / "run"
    run_scenario(short, run_dir, executor="serial", figures=False, shards=2)
    (run_dir / "replications" / "rep-0001.parquet").unlink()  # as if interrupted
    before = {p: p.stat().st_mtime_ns for p in run_dir.rglob("*")}
    for other in (1, 3):
        with pytest.raises(FileExistsError, match="--shards 2"):
            run_scenario(short, run_dir, executor="serial", figures=False, shards=other,
                         resume=True)
    assert {p: p.stat().st_mtime_ns for p in run_dir.rglob("*")} == before
    result = run_scenario(short, run_dir, executor="serial", figures=False, shards=2,
                          resume=True)
    assert sorted(result.monthly["replication"].unique()) == [0, 1]


def test_too_many_shards_for_the_branches_is_refused(bank: Scenario) -> None:
    with pytest.raises(ShardError, match="4 branch"):
        check_shards(bank, 5)
    with pytest.raises(ShardError, match=">= 1"):
        check_shards(bank, 0)


# -- executors ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Any:
    """A real Dask cluster with two workers (threads of this process: quick to start)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as local:
        yield local


def test_dask_actors_give_the_in_process_results(cluster: Any) -> None:
    from distributed import Client

    scenario = small_bank(size=2000, months=6)
    local = run_sharded(scenario, 1, 3)
    with Client(cluster) as client:
        remote = run_sharded(scenario, 1, 3, client=client)
    pd.testing.assert_frame_equal(local, remote, check_exact=True)


def test_runner_writes_a_sharded_run_like_an_unsharded_one(cluster: Any, tmp_path: Path) -> None:
    scenario = small_bank(size=2000, months=4).model_copy(update={"replications": 2})
    serial = run_scenario(scenario, tmp_path / "serial", executor="serial", figures=False,
                          shards=2)
    dask = run_scenario(scenario, tmp_path / "dask", executor="dask", figures=False,
                        scheduler=cluster.scheduler_address, shards=2)
    pd.testing.assert_frame_equal(serial.monthly, dask.monthly, check_exact=True)
    whole = run_scenario(scenario, tmp_path / "whole", executor="serial", figures=False)
    assert list(serial.monthly.columns) == list(whole.monthly.columns)
    assert (serial.monthly.dtypes == whole.monthly.dtypes).all()
    assert list(serial.summary.index) == list(whole.summary.index)
    manifest = json.loads((serial.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["shards"] == 2


def _worker_addresses(dask_scheduler: Any) -> list[str]:
    return list(dask_scheduler.workers)


# a restarted worker asks for the default dashboard port, which another cluster may hold
@pytest.mark.filterwarnings("ignore:Port 8787 is already in use:UserWarning")
def test_a_lost_worker_reruns_the_replication_with_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker killed in month 3: the replication runs again on the restarted workers and
    gives the undisturbed result; the progress bar hears of each month once."""
    import contextlib
    import os
    import time

    from distributed import Client, LocalCluster

    import sim.shard_run

    scenario = small_bank(size=2000, months=6)
    local = run_sharded(scenario, 1, 2)
    attempts = []

    class Counted(sim.shard_run.ShardedRun):
        def __init__(self, *args: Any) -> None:
            attempts.append(1)
            super().__init__(*args)

    monkeypatch.setattr(sim.shard_run, "ShardedRun", Counted)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        victim = sorted(client.scheduler_info()["workers"])[1]
        months: list[int] = []

        def on_month(n: int) -> None:
            months.append(n)
            if len(months) == 3 and len(attempts) == 1:
                with contextlib.suppress(Exception):  # it dies before it can answer
                    client.run(os._exit, 1, workers=[victim])
                # between months no call is in flight; once the scheduler knows, the next
                # call fails at once (a call in flight when a worker dies waits for Dask's
                # comm timeout, ~30 s, before failing: too slow for a test)
                for _ in range(200):
                    if victim not in client.run_on_scheduler(_worker_addresses):
                        break
                    time.sleep(0.05)

        remote = run_sharded(scenario, 1, 2, client=client, on_month=on_month)
    assert len(attempts) == 2  # the kill broke the first attempt
    assert months == [1] * 6
    pd.testing.assert_frame_equal(local, remote, check_exact=True)


# -- command line -----------------------------------------------------------------------------

SMALL = ["--set", "population.size=2000", "--set", "population.prospects=300",
         "--set", "market.prospect_arrivals_per_month=30", "--set", "horizon_months=3",
         "--replications", "2", "--no-figures", "--quiet"]


def test_cli_runs_a_sharded_bank(cli: Callable[..., Any], tmp_path: Path) -> None:
    branches = SCENARIOS / "branches.yaml"
    result = cli("run", branches, "--shards", "2", "--executor", "serial", *SMALL,
                 "--out", tmp_path, "--run-id", "sharded")
    assert result.code == 0, result.err
    run_dir = tmp_path / "branches" / "sharded"
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["shards"] == 2
    monthly = pd.read_parquet(run_dir / "monthly.parquet")
    assert (monthly.loc[monthly.month == 0, "customers"] == 2000).all()
    assert (run_dir / "summary.csv").exists()
    result = cli("run", branches, "--shards", "1", "--executor", "serial", *SMALL,
                 "--out", tmp_path, "--run-id", "one")
    assert result.code == 0, result.err
    result = cli("run", branches, "--executor", "serial", *SMALL,
                 "--out", tmp_path, "--run-id", "plain")
    assert result.code == 0, result.err
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "branches" / "one" / "monthly.parquet"),
        pd.read_parquet(tmp_path / "branches" / "plain" / "monthly.parquet"), check_exact=True)


@pytest.mark.parametrize(("args", "expected"), [
    (["--shards", "0"], "--shards: got 0; expected an integer >= 1"),
    (["--shards", "11"], "has 10 branch(es)"),
    (["--shards", "2", "--set", "population.branches=1"], "has 1 branch(es)"),
    (["--shards", "two"], "invalid int value"),
])
def test_cli_refuses_bad_shards_in_one_line(
    cli: Callable[..., Any], tmp_path: Path, args: list[str], expected: str
) -> None:
    result = cli("run", SCENARIOS / "branches.yaml", *args, *SMALL, "--out", tmp_path)
    assert result.code == 2
    assert len(result.err_lines) == 1 and expected in result.err_lines[0], result.err
    assert "Traceback" not in result.err
    assert not any(tmp_path.iterdir())


def test_an_error_a_shard_raises_on_dask_is_the_models_not_a_lost_worker(
    cluster: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An OSError raised inside a shard (a plugin's missing file, say) reaches the caller at
    once: it is not retried as if the worker had been lost."""
    from distributed import Client

    import sim.shard_run

    attempts = []

    class Counted(sim.shard_run.ShardedRun):
        def __init__(self, *args: Any) -> None:
            attempts.append(1)
            super().__init__(*args)

    def broken(self: Any, coupling: Any) -> None:
        raise FileNotFoundError("strategy table.csv")

    monkeypatch.setattr(sim.shard_run, "ShardedRun", Counted)
    monkeypatch.setattr(sim.shard_run.ShardWorker, "step", broken)  # the workers are threads here
    with Client(cluster) as client, pytest.raises(FileNotFoundError, match=r"table\.csv"):
        run_sharded(small_bank(size=2000, months=3), 1, 2, client=client)
    assert len(attempts) == 1


def test_a_replication_that_keeps_losing_workers_fails_after_the_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sim.shard_run
    from sim.executors import DASK_RETRIES, WorkerLostError

    tries, waits = [], []

    def lose(*_: Any) -> pd.DataFrame:
        tries.append(1)
        raise sim.shard_run._WorkerGone("Unable to contact Actor's worker")

    class Client:  # what run_sharded asks of a distributed.Client before it runs
        def scheduler_info(self) -> dict[str, Any]:
            return {"workers": {"a": {}, "b": {}}}

    monkeypatch.setattr(sim.shard_run, "_run_once", lose)
    monkeypatch.setattr(sim.shard_run, "_await_workers", lambda client, n: waits.append(n))
    with pytest.raises(WorkerLostError, match=r"replication 4: .* each of 3 attempts"):
        run_sharded(small_bank(size=2000, months=2), 4, 2, client=Client())
    assert len(tries) == DASK_RETRIES + 1 == 3
    assert waits == [2] * DASK_RETRIES  # waited for both workers between attempts


@pytest.mark.parametrize("error", ["dask", "processes"])
def test_cli_reports_lost_workers_in_one_line_and_exit_1(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: str,
) -> None:
    from concurrent.futures.process import BrokenProcessPool

    import sim.runner
    from sim.executors import WorkerLostError

    def lost(*_: Any, **__: Any) -> None:
        if error == "processes":  # what map_unordered raises when the pool breaks twice
            raise BrokenProcessPool("A process in the process pool was terminated abruptly")
        raise WorkerLostError("replication 0: a Dask worker was lost in each of 3 attempts")

    monkeypatch.setattr(sim.runner, "run_scenario", lost)
    result = cli("run", SCENARIOS / "branches.yaml", "--shards", "2", "--executor", "dask",
                 *SMALL, "--out", tmp_path, "--run-id", "lost")
    assert result.code == 1  # the input was fine: not 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "workers lost" in lines[0] and "--resume" in lines[0]


@pytest.mark.filterwarnings("ignore:Port 8787 is already in use:UserWarning")
def test_a_cluster_without_workers_is_one_clear_error() -> None:
    from distributed import Client, LocalCluster

    from sim.executors import WorkerLostError

    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as empty, Client(
            empty) as client, pytest.raises(WorkerLostError, match="no Dask worker"):
        run_sharded(small_bank(size=2000, months=2), 0, 2, client=client)


def test_no_worker_back_after_a_loss_is_one_clear_error() -> None:
    import sim.shard_run
    from sim.executors import WorkerLostError

    class Gone:  # a client whose lost worker never comes back, and no other is left
        def wait_for_workers(self, n_workers: int, timeout: float) -> None:
            raise TimeoutError

        def scheduler_info(self) -> dict[str, Any]:
            return {"workers": {}}

    with pytest.raises(WorkerLostError, match="no Dask worker left"):
        sim.shard_run._await_workers(Gone(), 2, timeout=0.1)


class _LumpSum(Strategy):
    """Test strategy: a campaign of 1,000 CNY a month, cut to the budget (ctx.spend)."""

    name = "lump_sum_probe"
    scope: ClassVar[str] = "bank"
    cost_kinds: ClassVar[tuple[str, ...]] = ("campaign",)

    def apply(self, ctx: Any) -> None:
        ctx.spend("campaign", 1000.0)


@pytest.fixture
def lump_sum() -> Iterator[None]:
    registry.register(_LumpSum)
    yield
    registry._REGISTRY.pop("lump_sum_probe", None)


def test_a_lump_sum_is_spent_in_parts_as_unsharded(lump_sum: None) -> None:
    """``ctx.spend`` spends what is left of a lump sum: any part of the budget buys some.

    A 600 a month budget for a 1,000 campaign spends 600 a month unsharded. Taking the
    1,000 as a purchase that parts below it cannot buy, 4 shards spent it in month 1
    only: the pool (600) never bought a whole 1,000.
    """
    scenario = small_bank(months=4, strategies=[
        {"name": "lump_sum_probe", "budget": {"monthly": 600}}])
    for shards in (1, 4):
        spent = run_replication(scenario, 0, shards=shards)["cost_strategy_lump_sum_probe"]
        np.testing.assert_allclose(spent.iloc[1:], 600.0, err_msg=f"{shards} shards")


class _CheapThenDear(Strategy):
    """Test strategy: buys its two poorest customers a 100 and a 10,000 CNY purchase a month."""

    name = "cheap_then_dear_probe"
    scope: ClassVar[str] = "bank"
    cost_kinds: ClassVar[tuple[str, ...]] = ("purchase",)

    def apply(self, ctx: Any) -> None:
        pop = ctx.population
        rows = np.flatnonzero(ctx.targets)
        poorest = rows[np.argsort(pop.aum[rows], kind="stable")][:2]
        wanted = np.zeros(len(pop), bool)
        wanted[poorest] = True
        costs = np.full(len(pop), 10_000.0)
        costs[poorest[0]] = 100.0  # first in the budget's priority order (lowest_value)
        ctx.fund("purchase", wanted, costs)


@pytest.fixture
def cheap_then_dear() -> Iterator[None]:
    registry.register(_CheapThenDear)
    yield
    registry._REGISTRY.pop("cheap_then_dear_probe", None)


def test_a_part_that_buys_the_first_purchase_in_priority_order_is_not_pooled(
        cheap_then_dear: None) -> None:
    """A shard that bought everything it wanted took its dearest purchase as what buying
    anything takes. Month 1 buys everything (40,400 of 80,000); from month 2 each
    shard's part (about 9,900) buys its 100 CNY purchase, first in priority order, but
    was pooled as too small for a 10,000 one and given out in whole 10,000s: 3 of 4."""
    scenario = small_bank(months=3, strategies=[
        {"name": "cheap_then_dear_probe",
         "budget": {"total": 80_000, "priority": "lowest_value"}}])
    spent = run_replication(scenario, 0, shards=4)["cost_strategy_cheap_then_dear_probe"]
    assert spent.iloc[1] == 40_400
    np.testing.assert_array_equal(spent.iloc[2:], 400.0)
