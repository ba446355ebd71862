"""RFC-0003/0004/0013: arbitration, decisions, escalations, approvals, governance policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openintent.client._call import Call
from openintent.client._endpoint import Context
from openintent.client._parse import items, model, models, raw
from openintent.client.endpoints._util import api, if_match, value_of
from openintent.models import (
    ApprovalRequest,
    ArbitrationRequest,
    Decision,
    Escalation,
    EscalationPriority,
    EscalationStatus,
    Intent,
)

__all__ = [
    "approve_approval",
    "deny_approval",
    "escalate_to_human",
    "get_approval_status",
    "get_decisions",
    "get_governance_policy",
    "list_escalations",
    "record_decision",
    "remove_governance_policy",
    "request_approval",
    "request_arbitration",
    "resolve_escalation",
    "set_governance_policy",
]


def request_arbitration(
    ctx: Context, /, intent_id: str, reason: str, context: dict[str, Any] | None = None
) -> Call[ArbitrationRequest]:
    """Ask for arbitration; ``requested_by`` is sent too (the reference server needs it)."""
    body = {"reason": reason, "context": context or {}, "requested_by": ctx.agent_id}

    def read(data: Any) -> ArbitrationRequest:
        # The reference server answers only {"message", "status"}: fill in what we sent.
        known = {"intent_id": intent_id, "reason": reason, "requester_id": ctx.agent_id}
        merged = {**known, "context": body["context"], **(data or {})}
        return ArbitrationRequest.from_dict(merged)

    return Call("POST", api("intents", intent_id, "arbitrate"), read, json=body)


def record_decision(
    ctx: Context, /, intent_id: str, decision_type: str, outcome: str, reasoning: str
) -> Call[Decision]:
    """Record a governance decision; sends both ``reasoning`` and ``rationale``."""
    body = {
        "decision_type": value_of(decision_type),
        "outcome": outcome,
        "reasoning": reasoning,
        "rationale": reasoning,
        "decided_by": ctx.agent_id,
    }

    def read(data: Any) -> Decision:
        known = {
            "intent_id": intent_id,
            "decision_type": body["decision_type"],
            "outcome": outcome,
            "rationale": reasoning,
            "decided_by": ctx.agent_id,
        }
        return Decision.from_dict({**known, **(data or {})})

    return Call("POST", api("intents", intent_id, "decisions"), read, json=body)


def _as_decision(item: Any) -> Decision:
    # The reference server lists RFC-0013 decision records here (no ``outcome``);
    # read them as decisions: summary -> outcome, coordinator -> decision maker.
    if isinstance(item, Mapping) and "outcome" not in item and "summary" in item:
        item = {
            **item,
            "outcome": item.get("summary"),
            "decided_by": item.get("decided_by") or item.get("coordinator_id"),
            "created_at": item.get("created_at") or item.get("timestamp"),
        }
    return Decision.from_dict(item)


def get_decisions(ctx: Context, /, intent_id: str) -> Call[list[Decision]]:
    def read(data: Any) -> list[Decision]:
        return [_as_decision(item) for item in items(data, "decisions")]

    return Call("GET", api("intents", intent_id, "decisions"), read)


def escalate_to_human(
    ctx: Context,
    /,
    intent_id: str,
    reason: str,
    priority: EscalationPriority | str = "medium",
    urgency: EscalationPriority | str = "medium",
    context: dict[str, Any] | None = None,
) -> Call[Escalation]:
    body = {
        "reason": reason,
        "priority": value_of(priority),
        "urgency": value_of(urgency),
        "context": context or {},
        "escalated_by": ctx.agent_id,
    }
    return Call(
        "POST", api("intents", intent_id, "escalations"), model(Escalation), json=body, create=True
    )


def list_escalations(
    ctx: Context, /, intent_id: str | None = None, status: EscalationStatus | str | None = None
) -> Call[list[Escalation]]:
    params = {"intent_id": intent_id, "status": value_of(status)}
    return Call("GET", api("escalations"), models(Escalation, "escalations"), params=params)


def resolve_escalation(
    ctx: Context, /, escalation_id: str, resolution: str, notes: str | None = None
) -> Call[Escalation]:
    body = {"resolution": resolution, "notes": notes, "resolved_by": ctx.agent_id}
    return Call("POST", api("escalations", escalation_id, "resolve"), model(Escalation), json=body)


def request_approval(
    ctx: Context,
    /,
    intent_id: str,
    action: str,
    reason: str = "",
    context: dict[str, Any] | None = None,
) -> Call[ApprovalRequest]:
    body = {
        "action": action,
        "reason": reason,
        "context": context or {},
        "requested_by": ctx.agent_id,
    }
    return Call(
        "POST",
        api("intents", intent_id, "approvals"),
        model(ApprovalRequest),
        json=body,
        create=True,
    )


def get_approval_status(ctx: Context, /, intent_id: str, approval_id: str) -> Call[ApprovalRequest]:
    return Call("GET", api("intents", intent_id, "approvals", approval_id), model(ApprovalRequest))


def approve_approval(ctx: Context, /, intent_id: str, approval_id: str) -> Call[dict[str, Any]]:
    """Approve; an already decided request raises ``ConflictError`` (409)."""
    return Call("POST", api("intents", intent_id, "approvals", approval_id, "approve"), raw)


def deny_approval(ctx: Context, /, intent_id: str, approval_id: str) -> Call[dict[str, Any]]:
    return Call("POST", api("intents", intent_id, "approvals", approval_id, "deny"), raw)


def set_governance_policy(
    ctx: Context, /, intent_id: str, version: int, policy: dict[str, Any]
) -> Call[Intent]:
    return Call(
        "PUT",
        api("intents", intent_id, "governance"),
        model(Intent),
        json=dict(policy),
        headers=if_match(version),
    )


def get_governance_policy(ctx: Context, /, intent_id: str) -> Call[dict[str, Any]]:
    """``{"intent_id", "governance_policy", "effective_policy"}`` as the server sends it."""
    return Call("GET", api("intents", intent_id, "governance"), raw)


def remove_governance_policy(ctx: Context, /, intent_id: str, version: int) -> Call[Intent]:
    return Call(
        "DELETE", api("intents", intent_id, "governance"), model(Intent), headers=if_match(version)
    )
