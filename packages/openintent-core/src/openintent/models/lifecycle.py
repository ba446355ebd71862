"""RFC-0016: agent records, capacity, heartbeats and health.

The reference server stores heartbeat thresholds but never evaluates them; the RFC
derives health from the age of the last heartbeat (:func:`derive_agent_status`) and
defines the lifecycle transitions (:data:`AGENT_TRANSITIONS`). ``capacity`` and
``heartbeat_config`` are stored as given, and heartbeats merge ``current_load`` and
``tasks_in_progress`` into ``capacity`` (:func:`merge_heartbeat`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from openintent.core.converter import wire_field
from openintent.models._base import WireModel
from openintent.models._wire_hooks import omit_empty, sparse, verbatim
from openintent.models.enums import AgentStatus, EventType

__all__ = [
    "AGENT_TRANSITIONS",
    "HEARTBEAT_STATUSES",
    "AgentCapacity",
    "AgentEvent",
    "AgentHeartbeatResponse",
    "AgentRecord",
    "AgentRegisterRequest",
    "AgentStatusUpdateRequest",
    "Heartbeat",
    "HeartbeatConfig",
    "derive_agent_status",
    "merge_heartbeat",
    "pool_available_capacity",
]

_A = AgentStatus
#: RFC-0016 §6.2. ``dead``/``deregistered`` come back only by re-registering.
AGENT_TRANSITIONS: Mapping[AgentStatus, frozenset[AgentStatus]] = {
    _A.REGISTERING: frozenset({_A.ACTIVE}),
    _A.ACTIVE: frozenset({_A.DRAINING, _A.UNHEALTHY}),
    _A.UNHEALTHY: frozenset({_A.ACTIVE, _A.DEAD, _A.DRAINING}),
    _A.DRAINING: frozenset({_A.DEREGISTERED, _A.DEAD}),
    _A.DEAD: frozenset({_A.ACTIVE}),
    _A.DEREGISTERED: frozenset({_A.ACTIVE}),
}
#: The statuses an agent may claim in a heartbeat (RFC-0016 §6.2).
HEARTBEAT_STATUSES = frozenset({_A.ACTIVE, _A.DRAINING})


@verbatim()
@attrs.define(slots=False)
class HeartbeatConfig(WireModel):
    """Heartbeat interval and the silences after which an agent is unhealthy, then dead."""

    interval_seconds: int = 30
    unhealthy_after_seconds: int = 90
    dead_after_seconds: int = 300

    def problems(self) -> list[str]:
        """The RFC's registration rules this config breaks (the reference checks none).

        Not enforced by the request model: reference-era agents register with configs
        such as 1/2/3 seconds, which these rules reject.
        """
        found = []
        if self.interval_seconds <= 0:
            found.append("interval_seconds must be positive")
        if self.unhealthy_after_seconds < 2 * self.interval_seconds:
            found.append("unhealthy_after_seconds must be at least 2 x interval_seconds")
        if self.dead_after_seconds < 2 * self.unhealthy_after_seconds:
            found.append("dead_after_seconds must be at least 2 x unhealthy_after_seconds")
        return found


@verbatim()
@attrs.define(slots=False)
class AgentCapacity(WireModel):
    """Advisory capacity; heartbeats also store ``tasks_in_progress`` here (kept as given)."""

    max_concurrent_tasks: int = 5
    current_load: int = 0

    @property
    def available(self) -> int:
        return max(0, self.max_concurrent_tasks - self.current_load)


def derive_agent_status(
    status: AgentStatus,
    last_heartbeat_at: dt.datetime | None,
    now: dt.datetime,
    config: HeartbeatConfig | None = None,
) -> AgentStatus:
    """The status the silence since ``last_heartbeat_at`` implies (RFC-0016 §6.2).

    ``active``/``unhealthy``: past ``dead_after_seconds`` -> ``dead``, past
    ``unhealthy_after_seconds`` -> ``unhealthy``, else ``active`` (a fresh heartbeat
    revives an unhealthy agent). ``draining`` dies the same way but is not otherwise
    changed. ``registering``, ``dead`` and ``deregistered`` are left alone, and so is
    everything when ``last_heartbeat_at`` is ``None``.
    """
    if last_heartbeat_at is None or status not in (_A.ACTIVE, _A.UNHEALTHY, _A.DRAINING):
        return status
    cfg = config or HeartbeatConfig()
    silence = (now - last_heartbeat_at).total_seconds()
    if silence > cfg.dead_after_seconds:
        return _A.DEAD
    if status == _A.DRAINING:
        return status
    if silence > cfg.unhealthy_after_seconds:
        return _A.UNHEALTHY
    return _A.ACTIVE


@omit_empty("previous_keys")
@attrs.define
class AgentRecord(WireModel):
    """A registered agent. Metadata is ``agent_metadata`` on the reference server.

    The RFC-0018 identity fields are written only once an identity is registered.
    """

    agent_id: str
    status: AgentStatus = AgentStatus.ACTIVE
    role_id: str | None = None
    name: str | None = None
    capabilities: list[str] = attrs.field(factory=list)
    capacity: AgentCapacity | None = None
    endpoint: str | None = None
    heartbeat_config: HeartbeatConfig | None = None
    metadata: dict[str, Any] = wire_field(
        factory=dict, key="agent_metadata", aliases=("metadata",), emit_aliases=("metadata",)
    )
    registered_at: dt.datetime | None = None
    last_heartbeat_at: dt.datetime | None = None
    drain_timeout_seconds: int | None = None
    version: int = 1
    public_key: str | None = wire_field(default=None, omit_if_none=True)
    did: str | None = wire_field(default=None, omit_if_none=True)
    key_algorithm: str | None = wire_field(default=None, omit_if_none=True)
    key_registered_at: dt.datetime | None = wire_field(default=None, omit_if_none=True)
    key_expires_at: dt.datetime | None = wire_field(default=None, omit_if_none=True)
    previous_keys: list[str] = attrs.field(factory=list)

    def health(self, now: dt.datetime) -> AgentStatus:
        """:func:`derive_agent_status` for this record; silence counts from registration
        when no heartbeat has arrived yet."""
        since = self.last_heartbeat_at or self.registered_at
        return derive_agent_status(self.status, since, now, self.heartbeat_config)

    def can_transition_to(self, target: AgentStatus) -> bool:
        return target in AGENT_TRANSITIONS[self.status]

    @property
    def available_capacity(self) -> int:
        return (self.capacity or AgentCapacity()).available


def pool_available_capacity(records: Iterable[AgentRecord], role_id: str) -> int:
    """RFC-0016: a role's pool capacity, sum of max minus sum of load over live members."""
    live = [r for r in records if r.role_id == role_id and r.status in (_A.ACTIVE, _A.UNHEALTHY)]
    capacities = [r.capacity or AgentCapacity() for r in live]
    return sum(c.max_concurrent_tasks for c in capacities) - sum(c.current_load for c in capacities)


@sparse
@attrs.define(slots=False)
class Heartbeat(WireModel):
    """Body of ``POST /api/v1/agents/{id}/heartbeat`` (``agent_id`` is in the path).

    The reference server ignores ``status`` and ``client_timestamp``.
    """

    agent_id: str = ""
    status: AgentStatus = AgentStatus.ACTIVE
    current_load: int = 0
    tasks_in_progress: list[str] = attrs.field(factory=list)
    client_timestamp: dt.datetime | None = None

    def clock_drift_exceeded(
        self, received_at: dt.datetime, config: HeartbeatConfig | None = None
    ) -> bool:
        """RFC-0016: warn when the client clock is off by more than two intervals."""
        if self.client_timestamp is None:
            return False
        interval = (config or HeartbeatConfig()).interval_seconds
        return abs((self.client_timestamp - received_at).total_seconds()) > 2 * interval


def merge_heartbeat(capacity: Mapping[str, Any] | None, heartbeat: Heartbeat) -> dict[str, Any]:
    """The stored ``capacity`` after a heartbeat: the old object with the load fields replaced.

    As in the reference, an empty heartbeat writes ``0`` and ``[]``, and an agent
    registered without capacity gets an object.
    """
    merged = dict(capacity or {})
    merged["current_load"] = heartbeat.current_load
    merged["tasks_in_progress"] = list(heartbeat.tasks_in_progress)
    return merged


@attrs.define
class AgentHeartbeatResponse(WireModel):
    """Answer of the agent heartbeat endpoint.

    ``status``, ``server_timestamp`` and ``next_heartbeat_at`` are the reference's keys;
    ``acknowledged``, ``agent_status`` and ``pending_commands`` (RFC-0016, e.g.
    ``{"command": "drain", ...}`` while the agent is draining) are extras a server may add.
    """

    server_timestamp: dt.datetime
    next_heartbeat_at: dt.datetime
    status: str = "ok"
    acknowledged: bool | None = wire_field(default=None, omit_if_none=True)
    agent_status: AgentStatus | None = wire_field(default=None, omit_if_none=True)
    pending_commands: list[dict[str, Any]] | None = wire_field(default=None, omit_if_none=True)


@attrs.define
class AgentEvent(WireModel):
    """An entry of an agent's lifecycle log (``agent.registered``, ``agent.lifecycle``, …).

    RFC-0016 puts these on a system log; intent event logs are per intent, so a server
    keeps one log per agent.
    """

    id: str
    agent_id: str
    event_type: EventType | str
    actor: str | None = None
    payload: dict[str, Any] = attrs.field(factory=dict)
    created_at: dt.datetime | None = None


# -- request bodies -------------------------------------------------------------------


@sparse
@attrs.define(slots=False)
class AgentRegisterRequest(WireModel):
    """Body of ``POST /api/v1/agents/register``; ``metadata`` becomes ``agent_metadata``.

    ``agent_id`` is required there; RFC-0016's ``POST /api/v1/agents`` may leave it out
    and have the server choose one, so the model lets the endpoint decide.
    """

    agent_id: str | None = None
    role_id: str | None = None
    name: str | None = None
    capabilities: list[str] = attrs.field(factory=list)
    capacity: AgentCapacity | None = None
    endpoint: str | None = None
    heartbeat_config: HeartbeatConfig | None = None
    metadata: dict[str, Any] = wire_field(factory=dict, aliases=("agent_metadata",))
    drain_timeout_seconds: int | None = None


@sparse
@attrs.define(slots=False)
class AgentStatusUpdateRequest(WireModel):
    """Body of ``PATCH /api/v1/agents/{id}/status`` (no ``If-Match``: the client never sends it)."""

    status: AgentStatus
    drain_timeout_seconds: int | None = None
