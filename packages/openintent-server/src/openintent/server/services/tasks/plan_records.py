"""Plan records: plan and checkpoint states, a stored row as the wire ``Plan``, and the
pure checks on checkpoints, transitions and request texts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from openintent.core.converter import format_timestamp, parse_timestamp
from openintent.exceptions import ConflictError
from openintent.models import (
    PLAN_TRANSITIONS,
    Plan,
    PlanCreateRequest,
    PlanProgress,
    PlanState,
    plan_transition_path,
)
from openintent.server.services._checks import text
from openintent.server.services.tasks.records import FORCE, STEP
from openintent.server.store.database import dump_json, load_json

__all__ = [
    "APPROVED",
    "CHECKPOINT_PAUSE",
    "EXPIRED",
    "PASSED",
    "PENDING",
    "REACHED",
    "REJECTED",
    "TERMINAL",
    "Row",
    "plan_from_row",
]

_P = PlanState
TERMINAL = frozenset({_P.COMPLETED.value, _P.FAILED.value, _P.CANCELLED.value})
PENDING, REACHED, PASSED = "pending", "reached", "passed"
APPROVED, REJECTED, EXPIRED = "approved", "rejected", "expired"
CHECKPOINT_PAUSE = "checkpoint:"
Row = dict[str, Any]


def plan_from_row(row: Row, progress: PlanProgress | None = None) -> Plan:
    plan = Plan.from_dict(
        {
            "id": row["id"],
            "intent_id": row["intent_id"],
            "version": row["version"],
            "state": row["state"],
            "tasks": load_json(row["tasks"], []),
            "checkpoints": load_json(row["checkpoints"], []),
            "conditions": load_json(row["conditions"], []),
            "on_failure": row["on_failure"],
            "on_complete": row["on_complete"],
            "plan_metadata": load_json(row["metadata_json"], {}),
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }
    )
    plan.progress = progress
    return plan


_SERVER_KEYS = (
    "status",
    "approved_by",
    "approved_at",
    "rejected_by",
    "rejected_at",
    "rejection_reason",
    "reached_at",
    "escalated_at",
)


def _iso(value: dt.datetime) -> str:
    return format_timestamp(value)


def _due(cp: dict[str, Any]) -> dt.datetime | None:
    """When a waiting checkpoint times out (``None``: no timeout, or already escalated)."""
    hours = cp.get("timeout_hours")
    if cp.get("status") != REACHED or not cp.get("reached_at") or cp.get("escalated_at"):
        return None
    if not isinstance(hours, int) or isinstance(hours, bool):
        return None
    return parse_timestamp(cp["reached_at"]) + dt.timedelta(hours=hours)


def _checkpoint_values(cps: list[dict[str, Any]]) -> dict[str, Any]:
    dues = [d for d in (_due(cp) for cp in cps) if d is not None]
    return {"checkpoints": dump_json(cps), "checkpoint_due_at": min(dues) if dues else None}


def _require_open_checkpoints(row: Row, cps: list[dict[str, Any]]) -> None:
    for cp in cps:
        if cp.get("status") == REACHED:
            raise ConflictError(
                f"Plan is waiting for approval of checkpoint '{cp.get('id')}'",
                current_version=row["version"],
                status_code=409,
            )
        if cp.get("status") == REJECTED:
            raise ConflictError(
                f"Checkpoint '{cp.get('id')}' was rejected; revise the plan's checkpoints first",
                current_version=row["version"],
                status_code=409,
            )


def _path(row: Row, current: PlanState, target: PlanState, mode: str) -> tuple[PlanState, ...]:
    if mode == FORCE:
        return (target,)
    if mode == STEP:
        path: tuple[PlanState, ...] | None = (
            (target,) if target in PLAN_TRANSITIONS[current] else None
        )
    else:
        path = plan_transition_path(current, target)
    if not path:
        raise ConflictError(
            f"Plan cannot move from '{current.value}' to '{target.value}'",
            current_version=row["version"],
            status_code=409,
        )
    return path


def _check_texts(req: PlanCreateRequest) -> None:
    text("intent_id", req.intent_id)
    text("on_complete", req.on_complete)
    for i, task_id in enumerate(req.tasks):
        text(f"tasks[{i}]", task_id)
