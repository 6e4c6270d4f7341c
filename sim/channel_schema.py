"""Scenario schema of the ``channels:`` section: branches, staff, machines, complaints (issue 4).

The section is optional. Without it the model runs as before: no queues, no
complaints, relationship-manager (RM) time from ``capacity.rm_hours_per_month``.
With it, every branch is a :class:`~sim.branch_day.BranchDay` (DOMAIN §5:
tellers, a lobby manager routing simple transactions to smart devices (VTMs),
RMs with monthly hours), the call centre and the online platform have capacity
and cost, and bad experiences lead to complaints handled against the
3-working-day target of DOMAIN §4. The numbers and their sources live in
``scenarios/branches.yaml``; what they mean is in ``docs/channels.md``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator

from sim.branch_day import DEFAULT_ARRIVAL_PROFILE, ServiceTime, profile_weights

__all__ = [
    "BranchConfig", "BranchOverride", "CallCentre", "Channels", "Complaints", "Online",
    "StaffCost",
]  # fmt: skip

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
Count = Annotated[int, Strict()]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class BranchConfig(_Section):
    """One branch's hours, staff, machines and customer behaviour (DOMAIN §5)."""

    opening_hour: float = Field(9.0, ge=0.0, le=24.0)
    closing_hour: float = Field(17.0, ge=0.0, le=24.0)
    tellers: Count = Field(ge=1)
    vtms: Count = Field(0, ge=0, description="self-service machines (smart teller machines)")
    lobby_managers: Count = Field(1, ge=0, description="route simple visits to the VTMs")
    simple_share: Probability = Field(
        0.0, description="share of branch users' visits that a VTM could serve")
    routing_share: Probability = Field(
        0.0, description="share of simple visits the lobby manager sends to a VTM "
        "(0 when the branch has no lobby manager)")
    teller_service: ServiceTime
    vtm_service: ServiceTime | None = None
    balk_queue_length: Count | None = Field(None, ge=1)
    patience_minutes: Positive | None = None
    relationship_managers: Count = Field(0, ge=0)
    rm_hours_per_month: NonNegative = Field(0.0, description="outreach hours per RM a month")

    @model_validator(mode="after")
    def _check(self) -> BranchConfig:
        if self.closing_hour <= self.opening_hour:
            raise ValueError(f"closing_hour {self.closing_hour} must be after opening_hour "
                             f"{self.opening_hour}")
        if self.vtms > 0 and self.vtm_service is None:
            raise ValueError(f"vtms={self.vtms} needs vtm_service")
        return self


class BranchOverride(_Section):
    """Per-branch changes to ``channels.default``: any field of :class:`BranchConfig`."""

    opening_hour: float | None = Field(None, ge=0.0, le=24.0)
    closing_hour: float | None = Field(None, ge=0.0, le=24.0)
    tellers: Count | None = Field(None, ge=1)
    vtms: Count | None = Field(None, ge=0)
    lobby_managers: Count | None = Field(None, ge=0)
    simple_share: Probability | None = None
    routing_share: Probability | None = None
    teller_service: ServiceTime | None = None
    vtm_service: ServiceTime | None = None
    balk_queue_length: Count | None = Field(None, ge=1)
    patience_minutes: Positive | None = None
    relationship_managers: Count | None = Field(None, ge=0)
    rm_hours_per_month: NonNegative | None = None


class CallCentre(_Section):
    """The call centre: an M/M/c queue solved by Erlang C (``sim/erlang.py``)."""

    # Erlang C sums over the agents every month: 10**20 of them never finished
    agents: Count = Field(0, ge=0, le=1_000_000)
    hours_per_day: Positive = 8.0
    calls_per_customer_month: NonNegative = 0.0
    handle_minutes: Positive = 5.0
    cost_per_agent_month: NonNegative = 0.0


class Online(_Section):
    """The online platform's capacity (DOMAIN §5: mobile banking, WeChat, mini-programs).

    Online-preferring customers start ``sessions_per_transaction`` sessions per
    transaction (their monthly activity). When the month's demand exceeds
    ``capacity_sessions_per_month`` the excess share of sessions fails; each
    online customer meets a failure with that probability and counts it as a
    wait of ``failure_perceived_wait_minutes`` (satisfaction and the wait driver).
    """

    capacity_sessions_per_month: NonNegative | None = Field(
        None, description="None: unlimited")
    sessions_per_transaction: NonNegative = 1.0
    failure_perceived_wait_minutes: NonNegative = 10.0


class StaffCost(_Section):
    """Monthly cost in CNY of each person or machine, booked as ledger cost kinds."""

    teller: NonNegative = 0.0
    relationship_manager: NonNegative = 0.0
    lobby_manager: NonNegative = 0.0
    vtm: NonNegative = 0.0
    online_platform: NonNegative = Field(0.0, description="whole online channel, a month")


class Complaints(_Section):
    """Bad experiences, complaints and their handling (DOMAIN §2, §4)."""

    long_wait_minutes: Positive = 10.0
    prob_after_long_wait: Probability = 0.0
    prob_after_balk: Probability = 0.0
    prob_after_failed_contact: Probability = 0.0
    target_working_days: Positive = Field(3.0, description="DOMAIN §4: answer within 3 days")
    handling_minutes: Positive = 60.0
    handler_hours_per_month: NonNegative = Field(
        0.0, description="staff hours a month for complaints, whole bank")
    late_weight: NonNegative = Field(
        1.0, description="a late or unresolved complaint counts this many extra complaints")


class Channels(_Section):
    """Branches, call centre, online channel, staff costs and complaints (issue 4)."""

    default: BranchConfig
    branches: dict[Annotated[int, Field(ge=0)], BranchOverride] = Field(
        default_factory=dict, description="branch index -> overrides of default")
    visits_per_customer_month: dict[str, NonNegative] = Field(
        description="branch visits a month per customer, by channel preference")
    visits_activity_elasticity: NonNegative = Field(
        0.5, description="visits scale with (activity / mean activity) to this power; "
        "0: activity does not matter, 1: proportional")
    machine_users: list[str] = Field(
        default_factory=list, description="channel preferences whose visits go to a VTM")
    arrival_profile: tuple[Annotated[float, Field(ge=0.0)], ...] | None = Field(
        None, min_length=1, description="None: the bank_calls shape (REFERENCES.md)")
    days_per_month: Count = Field(22, ge=1, le=31)
    sampled_days: Count = Field(3, ge=1, le=31)
    load_bucket: float = Field(0.02, gt=0.0, le=0.5, description="relative width of a "
                               "cached arrival-rate bucket")
    balk_perceived_wait_minutes: NonNegative = Field(
        15.0, description="wait a customer who balked counts for satisfaction")
    call_centre: CallCentre = Field(default_factory=CallCentre)
    online: Online = Field(default_factory=Online)
    staff_cost: StaffCost = Field(default_factory=StaffCost)
    complaints: Complaints = Field(default_factory=Complaints)

    @model_validator(mode="after")
    def _check(self) -> Channels:
        problems = []
        if self.sampled_days > self.days_per_month:
            problems.append(f"sampled_days: {self.sampled_days} exceeds days_per_month "
                            f"{self.days_per_month}")
        for index, override in self.branches.items():
            try:
                config = self.branch_config(index)
            except ValueError as exc:
                problems.append(f"branches.{index}: {exc}")
                continue
            if override.routing_share and not config.lobby_managers:
                problems.append(f"branches.{index}.routing_share: no lobby manager to route")
        indices: list[int | None] = [None, *self.branches]
        for which in indices:
            where = "default" if which is None else f"branches.{which}"
            try:
                config = self.branch_config(which)
                profile = self.arrival_profile
                if profile is None:
                    profile_weights(config.opening_hour, config.closing_hour,
                                    DEFAULT_ARRIVAL_PROFILE)
                elif sum(profile) <= 0:
                    problems.append("arrival_profile: no slot has a positive intensity")
            except ValueError as exc:
                if which is None or not any(p.startswith(where) for p in problems):
                    problems.append(f"{where}: {exc}; give channels.arrival_profile")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def branch_config(self, index: int | None) -> BranchConfig:
        """The configuration of branch ``index`` (``None``: the default)."""
        override = self.branches.get(index) if index is not None else None
        if override is None:
            return self.default
        changes = override.model_dump(exclude_none=True)
        return BranchConfig(**{**self.default.model_dump(), **changes})
