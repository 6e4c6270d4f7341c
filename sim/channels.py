"""Branches, call centre and complaints in the monthly step (ARCHITECTURE step 3, issue 4).

Each month, after the strategies and before the response:

1. **Visits.** Every customer makes ``visits_per_customer_month[channel]``
   branch visits on average (a fractional rate is met on average with a
   keyed draw). Customers whose channel is in ``machine_users`` (self-service)
   go straight to a VTM; a branch user's simple visit is sent to a VTM by the
   lobby manager with probability ``simple_share × routing_share``.
2. **Queues.** Each branch-month's load (visits a business day and the share
   going to machines) selects a :class:`~sim.branch_day.BranchDay`. Its
   ``sampled_days`` days are simulated in SimPy (:mod:`sim.day_sampling`) and
   cached by (branch configuration, load bucket) (:mod:`sim.day_pools`): the
   load is rounded to a geometric grid of relative width ``load_bucket``, so
   branches and months with the same configuration and nearly the same load
   share simulated days.
   Ratios (mean wait, shares over 5/10 minutes, balk and renege rates,
   utilisation) come from the cached days; counts are those ratios times the
   month's actual visits. Why this is unbiased and how large its error is:
   ``docs/channels.md``.
3. **Outcomes.** Each visiting customer gets the outcome of one simulated visit
   of their branch-month and desk (teller or VTM), picked with a keyed draw
   (:mod:`sim.streams`): wait minutes, balked, reneged. A customer who balked
   counts ``balk_perceived_wait_minutes`` of wait for satisfaction. Written to
   ``population.wait_minutes``.
4. **Complaints.** A long wait, a balk or a contact an RM could not make
   (strategies' ``ctx.staff``) leads to a complaint with the configured
   probabilities. Complaints are handled first come, first served by
   ``handler_hours_per_month`` of staff time (a fluid queue over the month's
   working days, backlog carried over); one not answered within
   ``target_working_days`` (3, DOMAIN §4) is late and counts ``1 + late_weight``
   in ``population.complaints``, the ``complaints`` driver of the lifecycle.
5. **RMs.** Each branch's relationship managers have their monthly minutes;
   strategies' calls and visits (``ctx.staff``) are served from the
   customer's own branch (:meth:`ChannelSystem.allocate_rm`); a contact that
   does not fit is not made and may lead to a complaint (point 4).
6. **Call centre and costs.** The call centre is M/M/c, solved exactly by
   Erlang C (:mod:`sim.erlang`). Staff, machine, call-centre and online costs
   are booked in the ledger every month.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from sim import kernels
from sim.day_pools import FIGURES, DayPool, DayPools, pooled_visits
from sim.erlang import UnstableQueueError, erlang_c
from sim.streams import draw_key, keyed_uniform, uniform_from_key

if TYPE_CHECKING:
    from sim.channel_schema import BranchConfig, Channels
    from sim.model import LifecycleModel

__all__ = ["BRANCH_METRICS", "COST_KINDS", "ChannelSystem", "DayPool", "call_centre_metrics",
           "complaint_desk", "desk_capacity_per_day", "online_utilisation"]

#: Per-branch monthly metrics: column ``branch{b}_{name}`` in monthly.parquet.
BRANCH_METRICS = (
    "visits", "mean_wait", "p90_wait", "share_wait_over_5", "share_wait_over_10",
    "balks", "reneges", "teller_utilisation", "machine_utilisation", "complaints",
    "rm_utilisation", "contacts_requested", "contacts_delivered",
)  # fmt: skip
#: Branch metrics that are counts: the bank's figure is their sum.
BRANCH_COUNTS = ("visits", "balks", "reneges", "complaints", "contacts_requested",
                 "contacts_delivered")
#: Bank-wide monthly metrics (prefix ``channels_``).
BANK_METRICS = (
    *BRANCH_METRICS, "rm_minutes", "rm_minutes_used",
    "complaints_late", "complaints_backlog", "complaint_handling_days",
    "call_centre_calls", "call_centre_prob_wait", "call_centre_mean_wait",
    "call_centre_utilisation", "online_sessions", "online_utilisation", "online_failed",
)  # fmt: skip
#: Ledger cost kinds booked by the channels (column ``cost_{kind}``).
COST_KINDS = ("staff_teller", "staff_relationship_manager", "staff_lobby_manager",
              "machines_vtm", "call_centre", "online_platform")
#: Fewer keyed draws than this are taken in NumPy rather than in the compiled loop.
FEW_DRAWS = 10_000


def desk_capacity_per_day(spec: Channels) -> float:
    """Complaints the bank's desk handles in a working day (handler hours over handling time)."""
    c = spec.complaints
    return 60.0 * c.handler_hours_per_month / c.handling_minutes / spec.days_per_month


def complaint_desk(
    backlog: float, arrivals_by_day: np.ndarray, per_day: float
) -> tuple[np.ndarray, float]:
    """A fluid first-come-first-served complaint queue, day by day.

    Args:
        backlog: Complaints waiting at the start of the month.
        arrivals_by_day: Complaints filed on each working day.
        per_day: Complaints handled a working day.

    Returns:
        Working days a complaint filed on each day waits (behind the backlog
        and half of its own day's arrivals), and the backlog at the month's end.
    """
    handling_days = np.empty(len(arrivals_by_day))
    for d, arrivals in enumerate(arrivals_by_day):
        ahead = backlog + arrivals / 2.0
        handling_days[d] = ahead / per_day if per_day > 0 else np.inf
        backlog = max(backlog + arrivals - per_day, 0.0)
    return handling_days, backlog


class ChannelSystem:
    """The bank's branches, call centre and complaint desk for one model run.

    Args:
        model: The model whose scenario has a ``channels`` section.
    """

    def __init__(self, model: LifecycleModel) -> None:
        spec = model.scenario.channels
        assert spec is not None  # the model only builds this with channels configured
        self.spec: Channels = spec
        self.n_branches = model.scenario.population.branches
        self.configs: list[BranchConfig] = [spec.branch_config(b)
                                            for b in range(self.n_branches)]
        names = model.channel_names
        self.visit_rate = np.array([spec.visits_per_customer_month.get(c, 0.0) for c in names])
        self.machine_user = np.array([c in spec.machine_users for c in names])
        #: each branch's share of visits the lobby manager sends to a machine, if it has one
        self.route_share = np.array([
            c.simple_share * c.routing_share * (c.vtms > 0) * (c.lobby_managers > 0)
            for c in self.configs])
        self.has_vtm = np.array([c.vtms > 0 for c in self.configs])
        # issue 7 (sim/shards.py): a shard staffs and pays only its own branches and its part
        # of the bank-wide desks (call centre, online platform, complaint handlers)
        self.shard = getattr(model, "shard", None)
        self.owned = (np.ones(self.n_branches, bool) if self.shard is None
                      else self.shard.owns(self.n_branches))
        self.rm_minutes_by_branch = self.owned * np.array(
            [60.0 * c.relationship_managers * c.rm_hours_per_month for c in self.configs])
        self.rm_minutes = float(self.rm_minutes_by_branch.sum())
        self.rm_left = self.rm_minutes_by_branch.copy()
        self.contacts_requested = np.zeros(self.n_branches)
        self.contacts_delivered = np.zeros(self.n_branches)
        self.backlog = 0.0
        self.complaint_arrivals = np.zeros(spec.days_per_month)  # issue 7: by working day
        self.seconds = 0.0  #: wall time spent in :meth:`serve` (for the benchmark)
        self.pools = DayPools(spec, self.configs, (model.seed_value, model.replication))
        self.metric_names = [f"branch{b}_{m}" for b in range(self.n_branches)
                             for m in BRANCH_METRICS]
        self.metric_names += [f"channels_{m}" for m in BANK_METRICS]
        self.metrics = dict.fromkeys(self.metric_names, 0.0)
        #: the branch metrics' names metric by metric (the rows of _branch_metrics' table)
        self._by_metric = [f"branch{b}_{m}" for m in BRANCH_METRICS for b in range(self.n_branches)]
        minutes = [60.0 * (c.closing_hour - c.opening_hour) for c in self.configs]
        self._teller_minutes = np.array(
            [c.tellers * t for c, t in zip(self.configs, minutes, strict=True)])
        self._vtm_minutes = np.array(
            [c.vtms * t for c, t in zip(self.configs, minutes, strict=True)])

    @property
    def days_simulated(self) -> int:
        """Branch-days simulated in SimPy so far (cache misses × ``sampled_days``)."""
        return self.pools.days_simulated

    # ------------------------------------------------------------- the month
    def start_month(self) -> float:
        """Give every branch its RMs' minutes for the month; return the bank's total."""
        self.rm_left = self.rm_minutes_by_branch.copy()
        self.contacts_requested[:] = 0.0
        self.contacts_delivered[:] = 0.0
        return self.rm_minutes

    def rm_fits(self, branch: np.ndarray, minutes: np.ndarray,
                serve: np.ndarray | None = None) -> bool:
        """Whether every branch has the RM minutes its customers here ask for.

        ``serve``: the customers' contacts, to serve them all at once if so,
        as :meth:`allocate_rm` would in the order given (then serving each),
        in one compiled pass with the demand's sums.
        """
        if serve is not None:
            done = kernels.allocate_if_all_fit(
                branch, np.asarray(minutes, np.float64), np.asarray(serve, np.float64),
                self.rm_left, self.contacts_requested, self.contacts_delivered)
            if done >= 0:  # else a branch code out of range: refused as bincount refuses it
                return bool(done)
            fits = self.rm_fits(branch, minutes)
            if fits:
                self.allocate_rm(branch, minutes, serve)
            return fits
        demand = np.bincount(branch, weights=minutes, minlength=self.n_branches)
        return bool((demand <= self.rm_left + 1e-9).all())

    def allocate_rm(self, branch: np.ndarray, minutes: np.ndarray,
                    contacts: np.ndarray, key: np.ndarray | None = None) -> np.ndarray:
        """Give customers, in priority order, their branch's RM minutes while they last.

        Within each branch customers are served in the order given, in one
        pass, until the next one's minutes would not fit (as ``ctx.staff``
        does bank-wide without channels). ``branch``, ``minutes`` and
        ``contacts``: each customer's. Returns the mask of those served.

        ``key``: each customer's priority key; they are then served in the
        order of a stable sort by it rather than in the order given, which
        needs no sort when every customer needs the same minutes and has the
        same contacts (the only case taken: a ValueError otherwise).
        """
        if key is not None:
            minutes, contacts = np.asarray(minutes, np.float64), np.asarray(contacts, np.float64)
            if not (kernels.same_bits(minutes) and kernels.same_bits(contacts)):
                raise ValueError("allocate_rm: a key needs equal minutes and contacts")
            if not len(minutes):
                return np.zeros(0, bool)
            return kernels.branch_prefixes(  # each branch's first served, found unsorted
                branch, np.asarray(key, np.float64), float(minutes[0]), float(contacts[0]),
                self.rm_left, self.contacts_requested, self.contacts_delivered)
        return kernels.allocate_minutes(  # one compiled pass in the order given
            branch.astype(np.intp), np.asarray(minutes, np.float64),
            np.asarray(contacts, np.float64), self.rm_left, self.contacts_requested,
            self.contacts_delivered)

    def rm_refuses(self, branch: np.ndarray, minutes: np.ndarray, contacts: np.ndarray) -> bool:
        """Whether no branch can serve any of these customers, in whatever order.

        If so, their contacts are counted as requested, as :meth:`allocate_rm`
        would (see :func:`sim.kernels.refuse_minutes`).
        """
        return bool(kernels.refuse_minutes(branch, np.asarray(minutes, np.float64),
                                           np.asarray(contacts, np.float64), self.rm_left,
                                           self.contacts_requested))

    def serve(self, model: LifecycleModel, customers: np.ndarray | None = None) -> None:
        """Serve this month's visits; set waits and complaints; book costs; fill metrics.

        Keyed draws are taken only for the rows that need them (customers who
        may visit, visitors, bad experiences): a draw depends on the customer's
        id, not on which other rows are drawn, so this changes no result.
        ``customers``: the mask of customers, if the caller has it (default:
        ``model.is_customer()``).
        """
        started = time.perf_counter()
        pop, spec, n = model.population, self.spec, self.n_branches
        if customers is None:
            customers = model.is_customer()
        # the more active visit more (DOMAIN §2: A very active, C inactive); each channel
        # group keeps its mean, so visits_per_customer_month stays the calibrated average
        rows, visits = kernels.branch_visits(
            customers, pop.channel, pop.activity_rate, pop.id,
            self._key(model, "channels/visits"),
            np.asarray(self.visit_rate, np.float64), float(spec.visits_activity_elasticity),
            pop.visit_weight)
        branch, own_machine, staff_visits, machine_visits = kernels.visitor_loads(
            rows, visits, pop.channel, pop.branch, self.machine_user, n)
        pools = self.pools.month(staff_visits, machine_visits)
        # each visitor's desk (no VTM: a teller), simulated visit and wait, in one pass
        pool_wait, pool_balked, offsets, sizes = pooled_visits(pools)
        wait, balked, picked = kernels.visit_outcomes(
            rows, pop.id, branch, own_machine, self.route_share, self.has_vtm,
            self._key(model, "channels/route"), self._key(model, "channels/outcome"),
            pool_wait, pool_balked, offsets, sizes, float(spec.balk_perceived_wait_minutes),
            pop.wait_minutes)
        self._online(model, customers)
        filed = self._complaints(model, rows, wait, balked)
        table = self._branch_metrics(pools, staff_visits + machine_visits, pop.branch[filed])
        self._bank_metrics(
            model, table, kernels.joined_wait_quantile(pool_wait, pool_balked, picked, 0.9),
            float(np.count_nonzero(customers)))  # as its sum (a mask), 0.34 -> 0.05 ms at 1M
        self._book(model)
        self.seconds += time.perf_counter() - started

    @staticmethod
    def _key(model: LifecycleModel, purpose: str) -> np.uint64:
        """The month's key of ``purpose``'s keyed draws (for the compiled passes)."""
        return draw_key(model.seed_value, model.replication, purpose, model.month)

    @staticmethod
    def _draw(model: LifecycleModel, purpose: str, rows: np.ndarray) -> np.ndarray:
        """The month's keyed U(0, 1) draws of ``rows`` (the same as for the whole table).

        A few rows (the month's complaints) are drawn in NumPy, which gives the same
        numbers: waking the compiled loop's threads costs more when the other core is busy.
        """
        ids = model.population.id[rows]
        if ids.size < FEW_DRAWS:
            return uniform_from_key(ids, ChannelSystem._key(model, purpose))
        return keyed_uniform(model.seed_value, model.replication, purpose, model.month, ids)

    def _complaints(self, model: LifecycleModel, rows: np.ndarray, wait: np.ndarray,
                    balked: np.ndarray) -> np.ndarray:
        """File and handle this month's complaints; set ``population.complaints``.

        Args:
            model: The model.
            rows: This month's visitors; ``wait`` and ``balked`` are theirs.
            wait: Minutes queued.
            balked: Whether they walked out.

        Returns:
            The rows that filed a complaint.
        """
        c, pop, days = self.spec.complaints, model.population, self.spec.days_per_month
        # with no complaints after failed contacts, a row with only those keeps 1.0 ** failed = 1.0
        # exactly: below 1 - keep = 0 no draw falls, it never files, so it is no candidate
        candidates, long_wait, walked_out, failed, u = kernels.complaint_candidates(
            rows, wait, balked, float(c.long_wait_minutes), pop.contacts_failed, pop.id,
            self._key(model, "channels/complaint"), c.prob_after_failed_contact > 0)
        keep = ((1.0 - c.prob_after_long_wait * long_wait)
                * (1.0 - c.prob_after_balk * walked_out)
                * (1.0 - c.prob_after_failed_contact) ** failed)
        filed = candidates[u < 1.0 - keep]
        day = np.minimum((self._draw(model, "channels/complaint_day", filed) * days)
                         .astype(np.intp), days - 1)
        arrivals = np.bincount(day, minlength=days).astype(float)
        queue, others = self.backlog, 0.0
        if self.shard is not None:  # issue 7: the bank's one desk, its backlog and the
            queue, others = self.shard.desk  # other shards' complaints a day (sim/shards.py)
            self.complaint_arrivals = arrivals
        handling_days, self.backlog = complaint_desk(
            queue, arrivals + others, desk_capacity_per_day(self.spec))
        late = handling_days[day] > c.target_working_days
        pop.complaints[:] = 0.0
        pop.complaints[filed] = 1.0 + c.late_weight * late
        received = filed.size
        m = self.metrics
        m["channels_complaints_late"] = float(late.sum())
        m["channels_complaints_backlog"] = self.backlog
        spread = handling_days[day]
        m["channels_complaint_handling_days"] = (
            float(np.minimum(spread, 10 * days).mean()) if received else 0.0)
        return filed

    # ------------------------------------------------------------- metrics
    def _branch_metrics(self, pools: list[DayPool | None], totals: np.ndarray,
                        complaint_branch: np.ndarray) -> np.ndarray:
        """Set the ``branch{b}_*`` metrics; return them, one row per metric of BRANCH_METRICS.

        Whole arrays at a time, element by element the same arithmetic (and
        floats) as branch by branch: 67 branches' 13 metrics looked up by
        names built each month cost 0.2 ms a month.
        """
        n = self.n_branches
        figures = np.array([pool.figures if pool is not None else np.zeros(len(FIGURES))
                            for pool in pools]).reshape(n, len(FIGURES)).T
        table = np.empty((len(BRANCH_METRICS), n))
        table[0] = totals  # visits
        table[1:5] = figures[:4]  # mean wait, p90 wait, shares over 5 and 10 minutes
        table[5] = figures[4] * totals  # balks
        table[6] = figures[5] * totals  # reneges
        table[7:9] = figures[6:8]  # teller and machine utilisation
        table[9] = np.bincount(complaint_branch, minlength=n)
        capacity = self.rm_minutes_by_branch
        with np.errstate(divide="ignore", invalid="ignore"):  # no RMs: 0
            table[10] = np.where(capacity > 0, 1.0 - self.rm_left / capacity, 0.0)
        table[11] = self.contacts_requested
        table[12] = self.contacts_delivered
        self.metrics.update(zip(self._by_metric, table.ravel().tolist(), strict=True))
        return table

    def _bank_metrics(self, model: LifecycleModel, table: np.ndarray, p90_wait: float,
                      customers: float) -> None:
        """The ``channels_*`` metrics from the branches' (``table``: :meth:`_branch_metrics`)."""
        m, column = self.metrics, dict(zip(BRANCH_METRICS, table, strict=True))
        visits = column["visits"]
        total = max(visits.sum(), 1e-12)
        m["channels_visits"] = float(visits.sum())
        for name in ("mean_wait", "share_wait_over_5", "share_wait_over_10"):
            m[f"channels_{name}"] = float(_in_order(column[name] * visits) / total)
        m["channels_p90_wait"] = p90_wait
        for name in BRANCH_COUNTS[1:]:
            m[f"channels_{name}"] = _in_order(column[name])
        tellers, vtms = self._teller_minutes, self._vtm_minutes
        m["channels_teller_utilisation"] = float(
            column["teller_utilisation"] @ tellers / max(tellers.sum(), 1e-12))
        m["channels_machine_utilisation"] = float(
            column["machine_utilisation"] @ vtms / max(vtms.sum(), 1e-12))
        used = self.rm_minutes - model.staff_minutes_left
        m["channels_rm_minutes"] = self.rm_minutes
        m["channels_rm_minutes_used"] = used
        m["channels_rm_utilisation"] = used / self.rm_minutes if self.rm_minutes > 0 else 0.0
        self._call_centre(customers)

    def _online(self, model: LifecycleModel, customers: np.ndarray) -> None:
        """Online sessions against the platform's capacity; failures feel like a wait."""
        pop, on, m = model.population, self.spec.online, self.metrics
        code = model.channel_names.index("online") if "online" in model.channel_names else -1
        activity = (kernels.channel_values(customers, pop.channel, code, pop.activity_rate)
                    if code >= 0 else pop.activity_rate[:0])  # the users' (in row order)
        sessions = float(activity.sum()) * on.sessions_per_transaction
        capacity = on.capacity_sessions_per_month
        if self.shard is not None and capacity is not None:  # issue 7: the shard's part
            capacity *= self.shard.parts["online_capacity"]
        failed_share = 0.0 if capacity is None or sessions <= capacity else 1 - capacity / sessions
        m["channels_online_sessions"] = sessions
        m["channels_online_utilisation"] = online_utilisation(sessions, capacity)
        failed = np.empty(0, np.intp)  # within capacity: no draws needed
        if failed_share > 0:
            users = np.flatnonzero(customers & (pop.channel == code))
            failed = users[self._draw(model, "channels/online", users) < failed_share]
        pop.wait_minutes[failed] = on.failure_perceived_wait_minutes
        m["channels_online_failed"] = float(failed.size)

    def _call_centre(self, customers: float) -> None:
        calls = self.spec.call_centre.calls_per_customer_month * customers
        self.metrics.update(call_centre_metrics(self.spec, calls))

    def _book(self, model: LifecycleModel) -> None:
        cost = self.spec.staff_cost
        configs = [c for c, owned in zip(self.configs, self.owned, strict=True) if owned]
        bank_part = 1.0 if self.shard is None else self.shard.branch_share  # issue 7
        amounts = {
            "staff_teller": cost.teller * sum(c.tellers for c in configs),
            "staff_relationship_manager": cost.relationship_manager
            * sum(c.relationship_managers for c in configs),
            "staff_lobby_manager": cost.lobby_manager * sum(c.lobby_managers for c in configs),
            "machines_vtm": cost.vtm * sum(c.vtms for c in configs),
            "call_centre": self.spec.call_centre.cost_per_agent_month
            * self.spec.call_centre.agents * bank_part,
            "online_platform": cost.online_platform * bank_part,
        }
        for kind, amount in amounts.items():
            model.ledger.book("cost", kind, float(amount))


def _in_order(values: np.ndarray) -> float:
    """The sum of ``values`` added one by one from the first (as ``sum`` adds a list)."""
    total = 0.0
    for value in values.tolist():
        total += value
    return total


def call_centre_metrics(spec: Channels, calls: float) -> dict[str, float]:
    """The bank's call centre (M/M/c, Erlang C) this month: calls, waits, utilisation.

    Args:
        spec: The scenario's channels section.
        calls: Calls this month (the bank's; :mod:`sim.shards` adds its shards' calls).

    Returns:
        The ``channels_call_centre_*`` metrics.
    """
    cc = spec.call_centre
    m = {"channels_call_centre_calls": calls}
    if cc.agents == 0 or calls == 0:
        return m | {f"channels_call_centre_{key}": 0.0
                    for key in ("prob_wait", "mean_wait", "utilisation")}
    rate = calls / spec.days_per_month / (cc.hours_per_day * 60.0)
    load = rate * cc.handle_minutes / cc.agents
    m["channels_call_centre_utilisation"] = min(load, 1.0)
    try:
        result = erlang_c(rate, 1.0 / cc.handle_minutes, cc.agents)
        m["channels_call_centre_prob_wait"] = result.prob_wait
        m["channels_call_centre_mean_wait"] = result.mean_wait
    except UnstableQueueError:  # overloaded: everyone waits, the queue grows all day
        m["channels_call_centre_prob_wait"] = 1.0
        m["channels_call_centre_mean_wait"] = cc.hours_per_day * 60.0
    return m


def online_utilisation(sessions: float, capacity: float | None) -> float:
    """Online sessions over the platform's capacity, at most 1 (0 when unlimited)."""
    return 0.0 if capacity is None or capacity == 0 else min(sessions / capacity, 1.0)
