"""Tables of RFC-0012: tasks, the dependency edges between them, plans.

``depends_on`` is kept twice on purpose: as the ordered JSON list the task was given
(returned as is) and as one ``oi_task_dependencies`` row per edge, which is what the
server queries: who depends on a task (``blocks``, promotion to ``ready``) and whether
a new edge would close a cycle. Both are written in the same transaction.

Deadlines are timestamps the service compares with the clock: ``deadline_at`` of a
claimed or running task with ``timeout_seconds``, ``retry_at`` of a retried task (no
claim before it), ``checkpoint_due_at`` of a plan waiting at a checkpoint with
``timeout_hours``. JSON documents are text, as everywhere in the store.
"""

from __future__ import annotations

from piccolo.columns import BigSerial, Integer, Real, Text, Timestamp, Varchar
from piccolo.table import Table

__all__ = ["INDEXES", "TABLES", "PlanRow", "TaskDependencyRow", "TaskRow"]


class TaskRow(Table, tablename="oi_tasks"):
    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    intent_id = Varchar(length=255, index=True)
    plan_id = Varchar(length=36, null=True, default=None, index=True)
    name = Text()
    description = Text(null=True, default=None)
    status = Varchar(length=32, default="pending")
    priority = Text(default="normal")
    input = Text(default="{}")
    output = Text(null=True, default=None)
    artifacts = Text(default="[]")
    assigned_agent = Text(null=True, default=None)
    lease_id = Varchar(length=36, null=True, default=None)
    capabilities_required = Text(default="[]")
    depends_on = Text(default="[]")
    parent_task_id = Varchar(length=36, null=True, default=None, index=True)
    retry_policy = Text(null=True, default=None)
    timeout_seconds = Integer(null=True, default=None)
    attempt = Integer(default=1)
    max_attempts = Integer(default=3)
    permissions = Text(default="inherit")
    memory_policy = Text(null=True, default=None)
    requires_tools = Text(default="[]")
    blocked_reason = Text(null=True, default=None)
    error = Text(null=True, default=None)
    metadata_json = Text(default="{}")
    progress_percentage = Real(null=True, default=None)
    progress_message = Text(null=True, default=None)
    progress_at = Timestamp(null=True, default=None)
    version = Integer(default=1)
    created_at = Timestamp()
    started_at = Timestamp(null=True, default=None)
    completed_at = Timestamp(null=True, default=None)
    deadline_at = Timestamp(null=True, default=None)
    retry_at = Timestamp(null=True, default=None)
    suspended_at = Timestamp(null=True, default=None)


class TaskDependencyRow(Table, tablename="oi_task_dependencies"):
    """``task_id`` waits for ``depends_on_id`` (both tasks of ``intent_id``)."""

    seq = BigSerial(primary_key=True)
    intent_id = Varchar(length=255, index=True)
    task_id = Varchar(length=36, index=True)
    depends_on_id = Varchar(length=36, index=True)


class PlanRow(Table, tablename="oi_plans"):
    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    intent_id = Varchar(length=255, index=True)
    version = Integer(default=1)
    state = Varchar(length=32, default="draft")
    tasks = Text(default="[]")
    checkpoints = Text(default="[]")
    conditions = Text(default="[]")
    on_failure = Varchar(length=64, default="pause_and_escalate")
    on_complete = Text(default="notify")
    metadata_json = Text(default="{}")
    created_at = Timestamp()
    updated_at = Timestamp()
    activated_at = Timestamp(null=True, default=None)
    pause_reason = Text(null=True, default=None)
    checkpoint_due_at = Timestamp(null=True, default=None)


TABLES: list[type[Table]] = [TaskRow, TaskDependencyRow, PlanRow]

INDEXES: list[str] = [
    "CREATE UNIQUE INDEX IF NOT EXISTS oi_task_dependencies_edge "
    "ON oi_task_dependencies (task_id, depends_on_id)",
    "CREATE INDEX IF NOT EXISTS oi_tasks_intent_status ON oi_tasks (intent_id, status)",
]
