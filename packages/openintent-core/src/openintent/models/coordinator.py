"""RFC-0013: coordinator leases, guardrails and decision records.

Escalations, approval requests and the governance policy are RFC-0004/0013 objects
modelled in ``governance.py``. The reference server keeps guardrails as opaque JSON;
the model reads the keys its client knows and keeps the rest (e.g. RFC-0014 tool
guardrails) untouched.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import attrs

from openintent.core.converter import wire_field
from openintent.models._base import WireModel
from openintent.models._wire_hooks import sparse, verbatim, wire_metadata
from openintent.models.enums import (
    CoordinatorScope,
    CoordinatorStatus,
    CoordinatorType,
    DecisionType,
    GuardrailExceedAction,
)

__all__ = [
    "FAILOVER_AFTER_MISSED_HEARTBEATS",
    "UNRESPONSIVE_AFTER_MISSED_HEARTBEATS",
    "CoordinatorActionRequest",
    "CoordinatorHandoffRequest",
    "CoordinatorHeartbeatRequest",
    "CoordinatorHeartbeatResponse",
    "CoordinatorLease",
    "CoordinatorLeaseCreateRequest",
    "CoordinatorUpdateRequest",
    "DecisionRecord",
    "DecisionRecordCreateRequest",
    "GuardrailStatus",
    "Guardrails",
]

#: RFC-0013 §6.6: two consecutive missed heartbeats make a coordinator unresponsive.
UNRESPONSIVE_AFTER_MISSED_HEARTBEATS = 2
#: RFC-0013 §6.6: after a grace of three heartbeat intervals another coordinator may take over.
FAILOVER_AFTER_MISSED_HEARTBEATS = 3


@verbatim()
@attrs.define(slots=False)
class Guardrails(WireModel):
    """Declarative bounds on a coordinator (budget, scope, time, review, memory)."""

    max_budget_usd: float | None = None
    warn_at_percentage: int = 80
    on_exceed: GuardrailExceedAction = GuardrailExceedAction.PAUSE_AND_ESCALATE
    max_tasks_per_plan: int = 20
    max_delegation_depth: int = 3
    max_concurrent_tasks: int = 10
    max_plan_versions: int = 5
    allowed_capabilities: list[str] | None = None
    max_plan_duration_hours: int | None = None
    max_task_wait_hours: int | None = None
    checkpoint_timeout_hours: int = 24
    require_progress_every_minutes: int | None = None
    requires_plan_review: bool = False
    requires_replan_review: bool = False
    auto_escalate_after_failures: int = 3
    require_human_for_capabilities: list[str] = attrs.field(factory=list)
    max_working_memory_per_task: int | None = None
    max_episodic_memory_per_agent: int | None = None
    allowed_semantic_namespaces: list[str] | None = None
    denied_semantic_namespaces: list[str] | None = None
    memory_archive_required: bool = True

    def budget_state(self, spent_usd: float) -> Literal["ok", "warning", "exceeded"]:
        """``exceeded`` past the budget, ``warning`` from ``warn_at_percentage`` of it."""
        if self.max_budget_usd is None:
            return "ok"
        if spent_usd > self.max_budget_usd:
            return "exceeded"
        if spent_usd * 100 >= self.max_budget_usd * self.warn_at_percentage:
            return "warning"
        return "ok"

    def allows_capability(self, capability: str) -> bool:
        """``allowed_capabilities`` of ``None`` means no restriction."""
        return self.allowed_capabilities is None or capability in self.allowed_capabilities

    def needs_human_for(self, capability: str) -> bool:
        return capability in self.require_human_for_capabilities


@attrs.define
class CoordinatorLease(WireModel):
    """The lease under which a coordinator governs an intent (or a portfolio).

    The client also reads ``type`` for ``coordinator_type``; metadata is
    ``lease_metadata`` on the reference server and ``metadata`` for its client.
    """

    id: str
    intent_id: str | None = None
    portfolio_id: str | None = None
    agent_id: str = ""
    role: str = "coordinator"
    supervisor_id: str | None = None
    coordinator_type: CoordinatorType = wire_field(default=CoordinatorType.LLM, aliases=("type",))
    scope: CoordinatorScope = CoordinatorScope.INTENT
    status: CoordinatorStatus = CoordinatorStatus.ACTIVE
    guardrails: Guardrails | None = None
    heartbeat_interval_seconds: int = 60
    last_heartbeat: dt.datetime | None = None
    granted_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    version: int = 1
    metadata: dict[str, Any] = wire_field(
        factory=dict, key="lease_metadata", aliases=("metadata",), emit_aliases=("metadata",)
    )
    # Not sent by the reference server: what the last heartbeat reported (RFC-0013 body).
    last_heartbeat_report: dict[str, Any] | None = wire_field(default=None, omit_if_none=True)

    def is_expired(self, now: dt.datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def next_heartbeat_at(self, now: dt.datetime) -> dt.datetime:
        """What the heartbeat endpoint answers: ``now`` plus the lease's interval."""
        return now + dt.timedelta(seconds=self.heartbeat_interval_seconds)

    def missed_heartbeats(self, now: dt.datetime) -> int:
        """Whole heartbeat intervals since the last heartbeat (or the grant)."""
        since = self.last_heartbeat or self.granted_at
        if since is None or self.heartbeat_interval_seconds <= 0:
            return 0
        return max(0, int((now - since).total_seconds() // self.heartbeat_interval_seconds))

    def is_unresponsive(self, now: dt.datetime) -> bool:
        return self.missed_heartbeats(now) >= UNRESPONSIVE_AFTER_MISSED_HEARTBEATS


@attrs.define
class CoordinatorHeartbeatResponse(WireModel):
    """Answer of ``POST /api/v1/coordinators/{id}/heartbeat``."""

    next_heartbeat_at: dt.datetime
    status: str = "ok"


@attrs.define
class GuardrailStatus(WireModel):
    """Answer of ``GET /coordinators/{id}/guardrails/status``: the checkable rules, now.

    ``budget_state`` is ``ok``, ``warning`` (from ``warn_at_percentage``) or
    ``exceeded``; ``spent_usd`` sums the intent's cost records in ``usd`` and ``cents``.
    """

    lease_id: str
    intent_id: str | None = None
    status: CoordinatorStatus = CoordinatorStatus.ACTIVE
    budget_state: str = "ok"
    max_budget_usd: float | None = None
    spent_usd: float = 0.0
    budget_percentage: float | None = None
    active_tasks: int = 0
    max_concurrent_tasks: int | None = None
    recorded_failures: int = 0
    auto_escalate_after_failures: int | None = None
    checked_at: dt.datetime | None = None


@attrs.define
class DecisionRecord(WireModel):
    """An auditable coordinator decision (``POST /api/v1/decisions``)."""

    id: str
    coordinator_id: str
    intent_id: str
    decision_type: DecisionType
    summary: str
    rationale: str = attrs.field(metadata=wire_metadata(aliases=("reasoning",)))
    alternatives_considered: list[dict[str, Any]] = attrs.field(factory=list)
    confidence: float | None = None
    timestamp: dt.datetime | None = None


# -- request bodies -------------------------------------------------------------------


def _positive(_: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value}")


def _unit_interval(_: Any, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be between 0 and 1, got {value}")


@sparse
@attrs.define(slots=False)
class CoordinatorLeaseCreateRequest(WireModel):
    """Body of ``POST /api/v1/coordinators``; ``metadata`` becomes ``lease_metadata``."""

    agent_id: str
    intent_id: str | None = None
    portfolio_id: str | None = None
    role: str = "coordinator"
    supervisor_id: str | None = None
    coordinator_type: CoordinatorType = wire_field(default=CoordinatorType.LLM, aliases=("type",))
    scope: CoordinatorScope = CoordinatorScope.INTENT
    guardrails: Guardrails | None = None
    heartbeat_interval_seconds: int = attrs.field(default=60, validator=_positive)
    expires_at: dt.datetime | None = None
    metadata: dict[str, Any] = wire_field(factory=dict, aliases=("lease_metadata",))


@sparse
@attrs.define(slots=False)
class DecisionRecordCreateRequest(WireModel):
    """Body of ``POST /api/v1/decisions`` (``reasoning`` accepted for ``rationale``)."""

    coordinator_id: str
    intent_id: str
    decision_type: DecisionType
    summary: str
    rationale: str = attrs.field(metadata=wire_metadata(aliases=("reasoning",)))
    alternatives_considered: list[dict[str, Any]] = attrs.field(factory=list)
    confidence: float | None = attrs.field(default=None, validator=_unit_interval)


@sparse
@attrs.define(slots=False)
class CoordinatorHeartbeatRequest(WireModel):
    """Optional body of a heartbeat (RFC-0013); the reference client sends none."""

    active_tasks: int | None = None
    pending_decisions: int | None = None
    budget_used_usd: float | None = None
    status_summary: str | None = None


def _positive_or_none(_: Any, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value}")


@sparse
@attrs.define(slots=False)
class CoordinatorUpdateRequest(WireModel):
    """Body of ``PATCH /coordinators/{id}``: only the keys sent change (``null`` clears
    ``supervisor_id`` / ``guardrails`` / ``expires_at``)."""

    role: str | None = None
    supervisor_id: str | None = None
    guardrails: Guardrails | None = None
    heartbeat_interval_seconds: int | None = attrs.field(default=None, validator=_positive_or_none)
    expires_at: dt.datetime | None = None
    metadata: dict[str, Any] | None = wire_field(default=None, aliases=("lease_metadata",))


@attrs.define
class CoordinatorHandoffRequest(WireModel):
    """Body of ``handoff`` and ``replace``: the agent taking over and what it inherits."""

    agent_id: str = attrs.field(metadata=wire_metadata(aliases=("to_agent_id", "to_agent")))
    reason: str | None = None
    state_summary: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class CoordinatorActionRequest(WireModel):
    """Body of ``pause`` / ``resume`` / release."""

    reason: str | None = None
