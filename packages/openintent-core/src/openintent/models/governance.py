"""RFC-0004 governance: arbitration, decisions, escalations, approvals, the policy.

Arbitration requests and RFC-0003 decisions exist in the reference server only as
events plus a short acknowledgement; the models here are supersets of that
acknowledgement carrying what the reference client requires (README C13).
RFC-0013 decision records live with the coordinator models.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import attrs

from openintent.core.converter import structure, wire_field
from openintent.exceptions import ValidationError
from openintent.models._base import WireModel
from openintent.models.enums import (
    ApprovalStatus,
    CompletionMode,
    EscalationPriority,
    EscalationStatus,
    WriteScope,
)

__all__ = [
    "ApprovalCreateRequest",
    "ApprovalRequest",
    "ArbitrationCreateRequest",
    "ArbitrationRequest",
    "Decision",
    "DecisionCreateRequest",
    "Escalation",
    "EscalationCreateRequest",
    "EscalationResolveRequest",
    "GovernancePolicy",
    "GovernanceViolation",
    "IntentGovernance",
    "governance_policy_error",
    "validate_governance_policy",
]


@attrs.define
class ArbitrationRequest(WireModel):
    """Answer to ``POST /intents/{id}/arbitrate``.

    The reference server sends only ``message`` and ``status``; the other keys are the
    ones the reference client requires and appear once set.
    """

    id: str | None = wire_field(default=None, omit_if_none=True)
    intent_id: str | None = wire_field(default=None, omit_if_none=True)
    requester_id: str | None = wire_field(
        default=None, aliases=("requested_by",), omit_if_none=True
    )
    reason: str | None = wire_field(default=None, omit_if_none=True)
    context: dict[str, Any] | None = wire_field(default=None, omit_if_none=True)
    status: str = "pending"
    created_at: dt.datetime | None = wire_field(default=None, omit_if_none=True)
    message: str = "Arbitration requested"


# Keyword-only: mypy takes every ``wire_field`` for a defaulted field.
@attrs.define(kw_only=True)
class Decision(WireModel):
    """Answer to ``POST /intents/{id}/decisions`` (an RFC-0003 decision).

    The reference server sends ``message``, ``decision_id`` and ``outcome``; the
    reference client needs ``id`` (the same value) and ``reasoning`` (the server's
    ``rationale``), both emitted as aliases.
    """

    id: str = wire_field(key="decision_id", aliases=("id",), emit_aliases=("id",))
    outcome: str
    intent_id: str | None = wire_field(default=None, omit_if_none=True)
    decision_maker_id: str | None = wire_field(
        default=None, aliases=("decided_by",), omit_if_none=True
    )
    decision_type: str | None = wire_field(default=None, omit_if_none=True)
    reasoning: str | None = wire_field(
        default=None,
        key="rationale",
        aliases=("reasoning",),
        emit_aliases=("reasoning",),
        omit_if_none=True,
    )
    created_at: dt.datetime | None = wire_field(default=None, omit_if_none=True)
    message: str = "Decision recorded"


@attrs.define
class Escalation(WireModel):
    """A request for human attention; resolution keys are absent until set."""

    id: str
    intent_id: str
    escalated_by: str
    reason: str
    priority: EscalationPriority | str = EscalationPriority.MEDIUM
    urgency: EscalationPriority | str = EscalationPriority.MEDIUM
    context: dict[str, Any] = attrs.field(factory=dict)
    status: EscalationStatus = EscalationStatus.PENDING
    created_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = wire_field(default=None, omit_if_none=True)
    resolved_by: str | None = wire_field(default=None, omit_if_none=True)
    resolution: str | None = wire_field(default=None, omit_if_none=True)
    resolution_notes: str | None = wire_field(default=None, omit_if_none=True)

    @property
    def is_resolved(self) -> bool:
        return self.status == EscalationStatus.RESOLVED


@attrs.define
class ApprovalRequest(WireModel):
    """A request for sign-off on ``action``; ``"complete"`` feeds the completion gate."""

    id: str
    intent_id: str
    requested_by: str
    action: str
    reason: str = ""
    context: dict[str, Any] = attrs.field(factory=dict)
    status: ApprovalStatus = ApprovalStatus.PENDING
    created_at: dt.datetime | None = None
    decided_at: dt.datetime | None = wire_field(default=None, omit_if_none=True)
    decided_by: str | None = wire_field(default=None, omit_if_none=True)
    decision_notes: str | None = wire_field(default=None, omit_if_none=True)

    @property
    def is_pending(self) -> bool:
        return self.status == ApprovalStatus.PENDING


# -- governance policy ----------------------------------------------------------------


@attrs.define
class GovernancePolicy(WireModel):
    """The six policy keys the server reads, defaults filled in (``effective_policy``).

    The stored policy is a free JSON object (other keys are kept verbatim on the
    intent); this model is the interpreted view of it.
    """

    completion_mode: CompletionMode = CompletionMode.AUTO
    quorum_threshold: float = 0.6
    write_scope: WriteScope = WriteScope.ANY
    allowed_agents: list[str] = attrs.field(factory=list)
    max_cost: float | None = None
    require_status_reason: bool = False

    @classmethod
    def effective(cls, policy: Mapping[str, Any] | None) -> GovernancePolicy:
        """The policy in force for a stored ``governance_policy`` (``None``/``{}`` = defaults)."""
        return structure(dict(policy or {}), cls)

    @classmethod
    def lenient(cls, policy: Mapping[str, Any] | None) -> GovernancePolicy:
        """Like :meth:`effective`, but a key with an unusable value keeps its default.

        For enforcement of policies that were stored without validation (a policy given
        at intent creation is not checked, as in the reference), where one bad key must
        neither disable the others nor turn every write into an error.
        """
        stored = dict(policy or {})
        try:
            return cls.effective(stored)
        except ValidationError:
            pass
        usable: dict[str, Any] = {}
        for a in attrs.fields(cls):
            if a.name not in stored:
                continue
            try:
                structure({a.name: stored[a.name]}, cls)
            except ValidationError:
                continue
            usable[a.name] = stored[a.name]
        return structure(usable, cls)

    @property
    def is_default(self) -> bool:
        return self == GovernancePolicy()

    def allows_agent(self, agent_id: str) -> bool:
        """``allowed_agents`` restricts only when non-empty."""
        return not self.allowed_agents or agent_id in self.allowed_agents

    def required_approvals(self, assigned_agents: int) -> int:
        """Quorum size for ``assigned_agents`` assignment rows: max(1, floor(n * threshold))."""
        return max(1, math.floor(assigned_agents * self.quorum_threshold))


_COMPLETION_MODES = tuple(m.value for m in CompletionMode)
_WRITE_SCOPES = tuple(s.value for s in WriteScope)


def _set_literal(values: tuple[str, ...]) -> str:
    # The reference prints a Python set (order varies per run); ours is fixed.
    return "{" + ", ".join(repr(v) for v in values) + "}"


def _number(value: object) -> float | None:
    """The value as a number; ``None`` for non-numbers (booleans included) and NaN."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return float(value)


def governance_policy_error(policy: object) -> str | None:
    """The ``422`` detail for a ``PUT …/governance`` body, or ``None`` when it is valid.

    The first four checks, their order and texts are the reference server's. The type
    checks of ``allowed_agents`` and ``require_status_reason`` are ours: the reference
    stores any value there, which its own enforcement then misreads.
    """
    if not isinstance(policy, Mapping):
        return "governance policy must be a JSON object"
    mode = policy.get("completion_mode", CompletionMode.AUTO.value)
    if not isinstance(mode, str) or mode not in _COMPLETION_MODES:
        return (
            f"Invalid completion_mode '{mode}'. Must be one of: {_set_literal(_COMPLETION_MODES)}"
        )
    scope = policy.get("write_scope", WriteScope.ANY.value)
    if not isinstance(scope, str) or scope not in _WRITE_SCOPES:
        return f"Invalid write_scope '{scope}'. Must be one of: {_set_literal(_WRITE_SCOPES)}"
    if "quorum_threshold" in policy:
        threshold = _number(policy["quorum_threshold"])
        if threshold is None or not 0 < threshold <= 1:
            return "quorum_threshold must be a number between 0 (exclusive) and 1 (inclusive)"
    if policy.get("max_cost") is not None:
        max_cost = _number(policy["max_cost"])
        if max_cost is None or max_cost < 0:
            return "max_cost must be a non-negative number"
    if "allowed_agents" in policy:
        agents = policy["allowed_agents"]
        if not isinstance(agents, list) or not all(isinstance(a, str) for a in agents):
            return "allowed_agents must be a list of strings"
    if "require_status_reason" in policy and not isinstance(policy["require_status_reason"], bool):
        return "require_status_reason must be a boolean"
    return None


def validate_governance_policy(policy: object) -> GovernancePolicy:
    """Check a policy as ``PUT …/governance`` does; return its effective form.

    Raises :class:`ValidationError` whose message is the ``422`` detail text.
    """
    error = governance_policy_error(policy)
    if error is None and isinstance(policy, Mapping):
        return GovernancePolicy.effective(policy)
    message = error or "governance policy must be a JSON object"
    raise ValidationError(message, errors=[message])


@attrs.define
class IntentGovernance(WireModel):
    """Body of ``GET /intents/{id}/governance``: the stored policy and its effective form."""

    intent_id: str
    governance_policy: dict[str, Any] = attrs.field(factory=dict)
    effective_policy: GovernancePolicy = attrs.field(factory=GovernancePolicy)

    @classmethod
    def of(cls, intent_id: str, policy: Mapping[str, Any] | None) -> IntentGovernance:
        stored = dict(policy or {})
        return cls(intent_id, stored, GovernancePolicy.effective(stored))


@attrs.define(kw_only=True)
class GovernanceViolation(WireModel):
    """The ``detail`` object of a governance ``403``; ``mode`` only for ``completion_mode``."""

    error: str = "governance_violation"
    rule: str
    mode: CompletionMode | None = wire_field(default=None, omit_if_none=True)
    message: str


# -- request bodies -------------------------------------------------------------------


@attrs.define
class ArbitrationCreateRequest(WireModel):
    """Body of ``POST /intents/{id}/arbitrate``; ``requested_by`` falls back to the caller."""

    reason: str
    requested_by: str | None = wire_field(default=None, aliases=("requester_id",))
    context: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class DecisionCreateRequest(WireModel):
    """Body of ``POST /intents/{id}/decisions``; the reference client says ``reasoning``."""

    decision_type: str
    outcome: str
    decided_by: str | None = wire_field(default=None, aliases=("decision_maker_id",))
    rationale: str = wire_field(default="", aliases=("reasoning",))


@attrs.define
class EscalationCreateRequest(WireModel):
    """Body of ``POST /intents/{id}/escalations``; ``escalated_by`` falls back to the caller."""

    reason: str
    priority: EscalationPriority | str = EscalationPriority.MEDIUM
    urgency: EscalationPriority | str = EscalationPriority.MEDIUM
    context: dict[str, Any] = attrs.field(factory=dict)
    escalated_by: str | None = None


@attrs.define
class EscalationResolveRequest(WireModel):
    """Body of ``POST /escalations/{id}/resolve``."""

    resolution: str
    notes: str | None = wire_field(default=None, aliases=("resolution_notes",))
    resolved_by: str | None = None


@attrs.define
class ApprovalCreateRequest(WireModel):
    """Body of ``POST /intents/{id}/approvals``; ``requested_by`` falls back to the caller."""

    action: str
    reason: str = ""
    context: dict[str, Any] = attrs.field(factory=dict)
    requested_by: str | None = None
