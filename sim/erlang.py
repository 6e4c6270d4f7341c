"""Erlang C: the analytic M/M/c queue (ARCHITECTURE decision 4).

A branch with ``c`` tellers, Poisson arrivals at rate λ and exponential
service at rate μ per teller is the M/M/c queue. Its steady state is known in
closed form (Erlang 1917; formulas as in ``REFERENCES.md``, "Erlang C"):

* offered load a = λ/μ, utilisation ρ = a/c, which must be below 1;
* C = [aᶜ/c! · c/(c−a)] / [Σ_{k<c} aᵏ/k! + aᶜ/c! · c/(c−a)] = P(wait);
* Wq = C/(cμ−λ), W = Wq + 1/μ, Lq = λ·Wq, P(Wq > t) = C·e^{−(cμ−λ)t}.

The simulated branch (:mod:`sim.branch_day`) must reproduce these numbers when
configured as M/M/c; the tests check it. Rates may be in any time unit as
long as λ, μ and t share it (per minute throughout clmsim).

C is computed from the Erlang B recursion B₀ = 1, Bₖ = a·Bₖ₋₁/(k + a·Bₖ₋₁),
C = B_c / (1 − ρ(1 − B_c)), which never forms aᶜ or c! and so stays exact for
hundreds of servers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "ErlangC",
    "UnstableQueueError",
    "erlang_c",
    "mean_queue_length",
    "mean_time_in_system",
    "mean_wait",
    "prob_wait",
    "prob_wait_exceeds",
]


class UnstableQueueError(ValueError):
    """Offered load at or above capacity (ρ ≥ 1): the queue grows without bound."""


def _check(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Validate the inputs and return the utilisation ρ = λ / (cμ)."""
    if isinstance(servers, bool) or not isinstance(servers, int) or servers < 1:
        raise ValueError(f"servers must be a whole number >= 1, got {servers!r}")
    for name, value in (("arrival_rate", arrival_rate), ("service_rate", service_rate)):
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    rho = arrival_rate / (servers * service_rate)
    if rho >= 1.0:
        raise UnstableQueueError(
            f"utilisation rho = arrival_rate / (servers * service_rate) = {arrival_rate:g} / "
            f"({servers} * {service_rate:g}) = {rho:.4g}; Erlang C needs rho < 1 "
            f"(at least {math.floor(arrival_rate / service_rate) + 1} servers)"
        )
    return rho


def prob_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Probability that an arriving customer has to queue (the Erlang C formula).

    Args:
        arrival_rate: λ, arrivals per unit time.
        service_rate: μ, services per unit time per server (1 / mean service time).
        servers: c, number of identical servers (tellers).

    Returns:
        C(c, a) in (0, 1).

    Raises:
        ValueError: A rate is not positive and finite or ``servers`` is not a whole number ≥ 1.
        UnstableQueueError: ρ = λ/(cμ) ≥ 1.
    """
    rho = _check(arrival_rate, service_rate, servers)
    load = arrival_rate / service_rate
    blocking = 1.0  # Erlang B with 0 servers
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
    return blocking / (1.0 - rho * (1.0 - blocking))


def mean_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean time in the queue before service, Wq = C / (cμ − λ), over all customers."""
    c = prob_wait(arrival_rate, service_rate, servers)
    return c / (servers * service_rate - arrival_rate)


def mean_time_in_system(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean time from arrival to departure, W = Wq + 1/μ."""
    return mean_wait(arrival_rate, service_rate, servers) + 1.0 / service_rate


def mean_queue_length(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean number waiting (not in service), Lq = λ·Wq (Little's law)."""
    return arrival_rate * mean_wait(arrival_rate, service_rate, servers)


def prob_wait_exceeds(arrival_rate: float, service_rate: float, servers: int, t: float) -> float:
    """Probability that the wait in queue exceeds ``t``: C·exp(−(cμ − λ)·t).

    Args:
        arrival_rate: λ, arrivals per unit time.
        service_rate: μ per server.
        servers: c.
        t: Threshold in the same time unit, ≥ 0.

    Returns:
        P(Wq > t).
    """
    if not math.isfinite(t) or t < 0:
        raise ValueError(f"t must be a finite number >= 0, got {t!r}")
    c = prob_wait(arrival_rate, service_rate, servers)
    return c * math.exp(-(servers * service_rate - arrival_rate) * t)


@dataclass(frozen=True)
class ErlangC:
    """All steady-state M/M/c figures at once, for reports and tests."""

    arrival_rate: float
    service_rate: float
    servers: int
    utilisation: float
    prob_wait: float
    mean_wait: float
    mean_time_in_system: float
    mean_queue_length: float


def erlang_c(arrival_rate: float, service_rate: float, servers: int) -> ErlangC:
    """Compute every Erlang C figure for one (λ, μ, c).

    Example (the worked case of ``REFERENCES.md``: 60 arrivals an hour, 2.5
    minutes' service, 3 tellers, in minutes):

    >>> q = erlang_c(1.0, 1 / 2.5, 3)
    >>> round(q.prob_wait, 4), round(q.mean_wait, 3)
    (0.7022, 3.511)
    """
    c = prob_wait(arrival_rate, service_rate, servers)
    wq = c / (servers * service_rate - arrival_rate)
    return ErlangC(
        arrival_rate=arrival_rate,
        service_rate=service_rate,
        servers=servers,
        utilisation=arrival_rate / (servers * service_rate),
        prob_wait=c,
        mean_wait=wq,
        mean_time_in_system=wq + 1.0 / service_rate,
        mean_queue_length=arrival_rate * wq,
    )
