"""Task records: the status groups and transition modes of RFC-0012 tasks, and a
stored row as the wire ``Task``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from openintent.models import Task, TaskStatus
from openintent.server.store import tasks_tables
from openintent.server.store.database import load_json
from openintent.server.store.schema import register_tables

__all__ = [
    "DELEGATED",
    "ESCALATION",
    "FINISHED",
    "FORCE",
    "JUMP",
    "RESOLVED",
    "STEP",
    "SUSPENDED",
    "WORK",
    "Row",
    "task_from_row",
]

register_tables(tasks_tables.TABLES, indexes=tasks_tables.INDEXES)
_S = TaskStatus
WORK = frozenset({_S.CLAIMED, _S.RUNNING})
FINISHED = frozenset({_S.COMPLETED, _S.FAILED, _S.CANCELLED, _S.SKIPPED})
#: Dependencies in these statuses let their dependents go ahead.
RESOLVED = frozenset({_S.COMPLETED.value, _S.SKIPPED.value})
#: How a move follows the transition table: one edge, ahead along it (PATCH), or the
#: server's own moves that skip it (timeouts, plan cancellation, suspension).
STEP, JUMP, FORCE = "step", "jump", "force"
DELEGATED = "delegated"
ESCALATION = "escalation"
SUSPENDED = "intent_suspended"
Row = dict[str, Any]


def task_from_row(row: Row, blocks: Iterable[str] = ()) -> Task:
    progress = None
    if row["progress_at"] is not None:
        progress = {
            "percentage": row["progress_percentage"],
            "message": row["progress_message"],
            "updated_at": row["progress_at"],
        }
    return Task.from_dict(
        {
            "id": row["id"],
            "intent_id": row["intent_id"],
            "plan_id": row["plan_id"],
            "name": row["name"],
            "description": row["description"],
            "status": row["status"],
            "priority": row["priority"],
            "input": load_json(row["input"], {}),
            "output": load_json(row["output"]),
            "artifacts": load_json(row["artifacts"], []),
            "assigned_agent": row["assigned_agent"],
            "lease_id": row["lease_id"],
            "capabilities_required": load_json(row["capabilities_required"], []),
            "depends_on": load_json(row["depends_on"], []),
            "blocks": list(blocks),
            "parent_task_id": row["parent_task_id"],
            "retry_policy": row["retry_policy"],
            "timeout_seconds": row["timeout_seconds"],
            "attempt": row["attempt"],
            "max_attempts": row["max_attempts"],
            "permissions": row["permissions"],
            "memory_policy": load_json(row["memory_policy"]),
            "requires_tools": load_json(row["requires_tools"], []),
            "blocked_reason": row["blocked_reason"],
            "error": row["error"],
            "task_metadata": load_json(row["metadata_json"], {}),
            "version": row["version"],
            "created_at": row["created_at"],
            "started_at": row["started_at"],
            "completed_at": row["completed_at"],
            "progress": progress,
        }
    )


def _ms(start: dt.datetime | None, end: dt.datetime) -> int | None:
    return None if start is None else int((end - start).total_seconds() * 1000)
