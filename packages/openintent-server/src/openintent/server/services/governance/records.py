"""Governance records: escalation and approval rows as wire models, the cost total
the ``max_cost`` rule reads, and the pure checks."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from piccolo.query.functions.aggregate import Sum

from openintent.exceptions import ConflictError, OpenIntentError
from openintent.models import ApprovalRequest, DecisionRecord, Escalation, Intent
from openintent.server.services._checks import text
from openintent.server.store import governance_tables
from openintent.server.store.costs_tables import CostRow
from openintent.server.store.database import load_json
from openintent.server.store.schema import register_tables

__all__ = [
    "GOVERNED_ACTIONS",
    "CostTotal",
    "DecisionSource",
    "PolicyRejected",
    "recorded_cost_total",
]

register_tables(governance_tables.TABLES, indexes=governance_tables.INDEXES)
log = logging.getLogger("openintent.server")
CostTotal = Callable[[str], Awaitable[float]]
DecisionSource = Callable[[str, int], Awaitable[list[DecisionRecord]]]
GOVERNED_ACTIONS = frozenset({"state", "status", "cost", "assign"})


class PolicyRejected(OpenIntentError):
    """A ``PUT …/governance`` body failed a value check: ``422`` with a string
    ``detail``, as the reference answers (not the list form of body validation)."""


async def recorded_cost_total(intent_id: str) -> float:
    """The amounts recorded for the intent that count against ``max_cost`` (RFC-0009).

    Records the costs area derived from LLM events are left out, as that area counts
    them for its own ``current_total``.
    """
    rows = await CostRow.select(Sum(CostRow.amount, alias="total")).where(
        (CostRow.intent_id == intent_id) & CostRow.source_ref.is_null()
    )
    return float(rows[0]["total"] or 0.0) if rows else 0.0


def _texts(**fields: str | None) -> None:
    """422 for strings the database cannot store (NUL characters)."""
    for name, value in fields.items():
        text(name, value)


def _check_version(current: Intent, if_match: int) -> None:
    if current.version != if_match:
        raise ConflictError("Version conflict", current_version=current.version, status_code=409)


def _escalation(row: dict[str, Any]) -> Escalation:
    return Escalation.from_dict(
        {
            "id": row["id"],
            "intent_id": row["intent_id"],
            "escalated_by": row["escalated_by"],
            "reason": row["reason"],
            "priority": row["priority"],
            "urgency": row["urgency"],
            "context": load_json(row["context"], {}),
            "status": row["status"],
            "created_at": row["created_at"],
            "resolved_at": row["resolved_at"],
            "resolved_by": row["resolved_by"] or None,
            "resolution": row["resolution"] or None,
            "resolution_notes": row["resolution_notes"] or None,
        }
    )


def _approval(row: dict[str, Any]) -> ApprovalRequest:
    return ApprovalRequest.from_dict(
        {
            "id": row["id"],
            "intent_id": row["intent_id"],
            "requested_by": row["requested_by"],
            "action": row["action"],
            "reason": row["reason"],
            "context": load_json(row["context"], {}),
            "status": row["status"],
            "created_at": row["created_at"],
            "decided_at": row["decided_at"],
            "decided_by": row["decided_by"],
            "decision_notes": row["decision_notes"],
        }
    )
