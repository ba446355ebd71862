"""Coordinator lease records: the status a stored lease has at a given time, the
row-to-wire mappings for leases and decision records, the pure checks, and the spend of
an intent in USD."""

from __future__ import annotations

import datetime as dt
from typing import Any

from piccolo.query.functions.aggregate import Sum

from openintent.core.converter import unstructure
from openintent.exceptions import ValidationError
from openintent.models import (
    FAILOVER_AFTER_MISSED_HEARTBEATS,
    UNRESPONSIVE_AFTER_MISSED_HEARTBEATS,
    CoordinatorLease,
    CoordinatorLeaseCreateRequest,
    CoordinatorStatus,
    DecisionRecord,
    Guardrails,
)
from openintent.server.services._checks import text
from openintent.server.store import coordinators_tables
from openintent.server.store.coordinators_tables import CoordinatorLeaseRow
from openintent.server.store.costs_tables import CostRow
from openintent.server.store.database import dump_json, load_json
from openintent.server.store.schema import register_tables

__all__ = [
    "HELD",
    "HELD_PORTFOLIO",
    "MAX_INTERVAL",
    "L",
    "Row",
    "lease_from_row",
    "spent_usd",
    "status_at",
]

register_tables(coordinators_tables.TABLES, indexes=coordinators_tables.INDEXES)
_C = CoordinatorStatus
MAX_INTERVAL = 30 * 24 * 3600
HELD = "Coordinator lease already held for this intent"
HELD_PORTFOLIO = "Coordinator lease already held for this portfolio"
Row = dict[str, Any]
L = CoordinatorLeaseRow


def status_at(row: Row, now: dt.datetime) -> CoordinatorStatus:
    """The lease's status at ``now``, from its stored status and liveness timestamps."""
    if not row["active"]:
        return _C(row["status"])
    if now >= row["dead_at"]:
        expired = row["expires_at"] is not None and now >= row["expires_at"]
        return _C.COMPLETED if expired else _C.UNRESPONSIVE
    if now >= row["unresponsive_at"]:
        return _C.UNRESPONSIVE
    return _C(row["status"])


def lease_from_row(row: Row, now: dt.datetime) -> CoordinatorLease:
    return CoordinatorLease.from_dict(
        {
            "id": row["id"],
            "intent_id": row["intent_id"],
            "portfolio_id": row["portfolio_id"],
            "agent_id": row["agent_id"],
            "role": row["role"],
            "supervisor_id": row["supervisor_id"],
            "coordinator_type": row["coordinator_type"],
            "scope": row["scope"],
            "status": status_at(row, now).value,
            "guardrails": load_json(row["guardrails"]),
            "heartbeat_interval_seconds": row["heartbeat_interval_seconds"],
            "last_heartbeat": row["last_heartbeat"],
            "granted_at": row["granted_at"],
            "expires_at": row["expires_at"],
            "version": row["version"],
            "lease_metadata": load_json(row["metadata_json"], {}),
            "last_heartbeat_report": load_json(row["last_report"]),
        }
    )


def _deadlines(
    seen: dt.datetime, interval: int, expires_at: dt.datetime | None
) -> tuple[dt.datetime, dt.datetime]:
    """``unresponsive_at`` and ``dead_at`` for a coordinator last heard of at ``seen``."""
    unresponsive = seen + dt.timedelta(seconds=interval * UNRESPONSIVE_AFTER_MISSED_HEARTBEATS)
    dead = seen + dt.timedelta(seconds=interval * FAILOVER_AFTER_MISSED_HEARTBEATS)
    if expires_at is not None:
        unresponsive, dead = min(unresponsive, expires_at), min(dead, expires_at)
    return unresponsive, dead


def _decision(row: Row) -> DecisionRecord:
    return DecisionRecord.from_dict(
        {
            "id": row["id"],
            "coordinator_id": row["coordinator_id"],
            "intent_id": row["intent_id"],
            "decision_type": row["decision_type"],
            "summary": row["summary"],
            "rationale": row["rationale"],
            "alternatives_considered": load_json(row["alternatives_considered"], []),
            "confidence": row["confidence"],
            "timestamp": row["timestamp"],
        }
    )


def _slot(intent_id: str | None, portfolio_id: str | None) -> str | None:
    if intent_id is not None:
        return f"intent:{intent_id}"
    if portfolio_id is not None:
        return f"portfolio:{portfolio_id}"
    return None


def _guardrails(row: Row) -> Guardrails | None:
    stored = load_json(row["guardrails"])
    return None if stored is None else Guardrails.from_dict(stored)


def _dump_guardrails(guardrails: Guardrails | None) -> str | None:
    return None if guardrails is None else dump_json(unstructure(guardrails))


def _keys(guardrails: Guardrails | None) -> list[str]:
    return [] if guardrails is None else list(unstructure(guardrails))


def _invalid(field: str, msg: str) -> ValidationError:
    return ValidationError(f"{field}: {msg}", errors=[{"loc": ["body", field], "msg": msg}])


def _check_lease_texts(req: CoordinatorLeaseCreateRequest) -> None:
    text("agent_id", req.agent_id, required=True)
    for name in ("intent_id", "portfolio_id", "role", "supervisor_id"):
        text(name, getattr(req, name))


def _usd(amount: float, unit: str) -> float:
    """A cost in dollars; units other than ``usd`` and ``cents`` are not money."""
    unit = unit.strip().lower()
    if unit == "usd":
        return amount
    if unit == "cents":
        return amount / 100.0
    return 0.0


async def spent_usd(intent_id: str) -> float:
    rows = (
        await CostRow.select(CostRow.unit, Sum(CostRow.amount, alias="total"))
        .where(CostRow.intent_id == intent_id)
        .group_by(CostRow.unit)
    )
    return round(sum(_usd(float(r["total"] or 0.0), r["unit"]) for r in rows), 10)
