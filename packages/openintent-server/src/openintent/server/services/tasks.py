"""RFC-0012 rules for tasks: the state machine, dependencies, claims, retries, timeouts.

The reference server keeps tasks as plain records; this one runs the RFC's lifecycle.

State machine (``openintent.models.TASK_TRANSITIONS``). The action endpoints
(``claim``, ``start``, ``complete``, ``fail``, ``retry``, ``cancel``, ...) take exactly one
step of the table. ``PATCH /tasks/{id}``, which reference-era callers use to jump
(``pending -> completed``), may move *ahead* along the table (``task_transition_path``)
but never back, never out of ``completed``/``cancelled``/``skipped``, and out of
``failed`` only through a retry. A refused move is 409 and changes nothing.

Dependencies. ``depends_on`` must name tasks of the same intent (422 otherwise); a
change through ``PATCH`` (ours: ``depends_on`` in the body, while the task is still
``pending``) that would close a cycle is 400. A task leaves ``pending`` for work only
once every dependency is ``completed`` or ``skipped``; the moment the last one
finishes, the task is promoted to ``ready`` (``task.ready``). ``blocks`` is computed.

Timestamps. ``started_at`` when a task starts running (again after a retry),
``completed_at`` when it finishes (completed, failed, cancelled, skipped).

Retries (RFC-0010). ``failed -> ready`` adds one to ``attempt`` while ``attempt <
max_attempts`` and, when the intent has a retry policy, while its strategy is not
``none`` and ``attempt <= max_retries``; the policy's delay sets the earliest claim and
its ``fallback_agent_id`` (else nobody) becomes the assignee.

Claims. A claim takes a ``ready`` task (or a ``pending`` one whose dependencies are
met) for one agent (``agent_id``, else ``X-Agent-ID``, else the key); a task assigned
ahead (delegation, PATCH) is claimed only by its agent. Starting, progress, completion,
failure and delegation are the holder's (403 for anyone else).
Every failure is also recorded as an RFC-0010 failure record of the intent, which the
coordinator guardrail ``auto_escalate_after_failures`` counts.

Timeouts. A claimed or running task with ``timeout_seconds`` fails when its deadline
passes. Deadlines are stored timestamps, honoured on every read and write of the
intent's tasks and plans (and by :meth:`TaskService.sweep_all` for a scheduler).

Every change is one transaction (on PostgreSQL under the intent's row lock) that also
writes its ``task.*`` event to the intent's log, so concurrent claims of one task have
exactly one winner. Plan effects (checkpoints, completion, ``on_failure``) are in
``tasks_plans.py``; coordinator guardrails are asked through the ``coordinators``
service.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from openintent.core.converter import unstructure, utcnow
from openintent.exceptions import ConflictError, ForbiddenError, NotFoundError, ValidationError
from openintent.models import (
    TASK_TRANSITIONS,
    EventType,
    IntentStatus,
    Permission,
    RetryPolicy,
    RetryStrategy,
    Task,
    TaskActorRequest,
    TaskCancelRequest,
    TaskCompleteRequest,
    TaskCreateRequest,
    TaskDelegateRequest,
    TaskEscalateRequest,
    TaskFailRequest,
    TaskProgressRequest,
    TaskStatus,
    TaskUpdateRequest,
    task_transition_path,
)
from openintent.server.services import Services
from openintent.server.services._checks import INT32_MAX, integer, text
from openintent.server.services.guards import WriteAttempt
from openintent.server.services.intents import IntentService
from openintent.server.services.principal import Principal
from openintent.server.services.tasks_common import (
    SYSTEM_ACTOR,
    Clock,
    Followups,
    announce,
    check_version,
    lock_intent,
    names_of,
)
from openintent.server.store import tasks_tables
from openintent.server.store.database import Database, dump_json, load_json
from openintent.server.store.retry_tables import FailureRow, RetryPolicyRow
from openintent.server.store.schema import register_tables
from openintent.server.store.tasks_tables import PlanRow, TaskDependencyRow, TaskRow

__all__ = ["TaskService", "install", "task_from_row"]

register_tables(tasks_tables.TABLES, indexes=tasks_tables.INDEXES)

_S = TaskStatus
WORK = frozenset({_S.CLAIMED, _S.RUNNING})
FINISHED = frozenset({_S.COMPLETED, _S.FAILED, _S.CANCELLED, _S.SKIPPED})
#: Dependencies in these statuses let their dependents go ahead.
RESOLVED = frozenset({_S.COMPLETED.value, _S.SKIPPED.value})

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


class TaskService:
    def __init__(self, services: Services) -> None:
        self.db: Database = services.db
        self.intents: IntentService = services.intents
        self.registry = services.registry
        self.clock: Clock = utcnow
        self.followups = Followups(services.registry)
        # The plan service (same area) is attached by ``install``.
        self.plans: Any = None

    # -- reads ------------------------------------------------------------------------

    async def get(self, principal: Principal, task_id: str) -> Task:
        row = await self.row(task_id)
        await self.authorize_read(principal, row["intent_id"])
        if await self.sweep_if_due(row["intent_id"]):
            row = await self.row(task_id)
        return (await self.render([row]))[0]

    async def of_intent(
        self, intent_id: str, *, status: TaskStatus | None, limit: int, offset: int
    ) -> list[Task]:
        """Tasks of the intent in creation order; an unknown intent has none (``[]``)."""
        await self.sweep_if_due(intent_id)
        query = TaskRow.select().where(TaskRow.intent_id == intent_id)
        if status is not None:
            query = query.where(TaskRow.status == status.value)
        rows = await query.order_by(TaskRow.seq).limit(limit).offset(offset)
        return await self.render(rows)

    async def row(self, task_id: str) -> Row:
        rows = await TaskRow.select().where(TaskRow.id == task_id).limit(1)
        if not rows:
            raise NotFoundError("Task not found", status_code=404)
        return rows[0]

    async def render(self, rows: list[Row]) -> list[Task]:
        """Tasks with ``blocks`` (the tasks that wait for each) filled in."""
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        edges = (
            await TaskDependencyRow.select(
                TaskDependencyRow.task_id, TaskDependencyRow.depends_on_id
            )
            .where(TaskDependencyRow.depends_on_id.is_in(ids))
            .order_by(TaskDependencyRow.seq)
        )
        blocks: dict[str, list[str]] = {}
        for edge in edges:
            blocks.setdefault(edge["depends_on_id"], []).append(edge["task_id"])
        return [task_from_row(row, blocks.get(row["id"], ())) for row in rows]

    # -- create and PATCH -------------------------------------------------------------

    async def create(self, principal: Principal, req: TaskCreateRequest) -> Task:
        _check_create(req)
        async with self.db.write():
            intent = await self.intents.get(req.intent_id)
            await self._enter(principal, intent.id, {"action": "create"})
            row = await self.insert(principal, req)
        await self.followups.drain()
        return (await self.render([row]))[0]

    async def insert(
        self, principal: Principal, req: TaskCreateRequest, assigned_agent: str | None = None
    ) -> Row:
        """Store a new task inside the caller's write (checks, edges, ``task.created``)."""
        intent_id = req.intent_id
        deps = list(dict.fromkeys(req.depends_on))
        await self.require_tasks(intent_id, deps, "depends_on")
        depth = 0
        if req.parent_task_id is not None:
            await self.require_tasks(intent_id, [req.parent_task_id], "parent_task_id")
            depth = await self._depth(req.parent_task_id) + 1
        coordinators = self.registry.get("coordinators")
        if coordinators is not None:
            await coordinators.check_capabilities(intent_id, req.capabilities_required)
            if depth:
                await coordinators.check_delegation_depth(intent_id, depth)
        if req.plan_id is not None:
            plan = await self.plans.require_in_intent(intent_id, req.plan_id)
            await self.plans.check_size(plan, extra_task=True)
        now = self.clock()
        task_id = str(uuid.uuid4())
        await TaskRow.insert(
            TaskRow(
                id=task_id,
                intent_id=intent_id,
                plan_id=req.plan_id,
                name=req.name,
                description=req.description,
                status=_S.PENDING.value,
                priority=req.priority,
                input=dump_json(req.input),
                output=None,
                artifacts="[]",
                assigned_agent=assigned_agent,
                lease_id=None,
                capabilities_required=dump_json(req.capabilities_required),
                depends_on=dump_json(deps),
                parent_task_id=req.parent_task_id,
                retry_policy=None,
                timeout_seconds=req.timeout_seconds,
                attempt=1,
                max_attempts=req.max_attempts,
                permissions=req.permissions,
                memory_policy=dump_json(unstructure(req.memory_policy))
                if req.memory_policy is not None
                else None,
                requires_tools=dump_json(unstructure(req.requires_tools)),
                blocked_reason=None,
                error=None,
                metadata_json=dump_json(req.metadata),
                version=1,
                created_at=now,
            )
        )
        await self._write_edges(intent_id, task_id, deps)
        await announce(
            self.db,
            intent_id,
            EventType.TASK_CREATED,
            principal.actor,
            {
                "task_id": task_id,
                "name": req.name,
                "capabilities_required": req.capabilities_required,
            },
        )
        return await self.row(task_id)

    async def update(
        self, principal: Principal, task_id: str, if_match: int, req: TaskUpdateRequest
    ) -> Task:
        """``PATCH``: compare-and-set on ``version``, then the (permissive) move."""
        for name in ("assigned_agent", "error", "blocked_reason"):
            text(name, getattr(req, name))
        changes = req.changes()
        async with self.db.write():
            row = await self._load(principal, task_id)
            check_version(if_match, row["version"])
            values: dict[str, Any] = {}
            for name in ("assigned_agent", "error", "blocked_reason"):
                if name in changes:
                    values[name] = changes[name]
            if "output" in changes:
                values["output"] = dump_json(changes["output"])
            if req.depends_on is not None:
                row = await self._replace_dependencies(row, list(dict.fromkeys(req.depends_on)))
            row = await self.move(row, req.status, principal.actor, mode=JUMP, values=values)
        await self.followups.drain()
        return (await self.render([row]))[0]

    # -- actions ----------------------------------------------------------------------

    async def claim(
        self, principal: Principal, task_id: str, if_match: int | None, req: TaskActorRequest
    ) -> Task:
        text("agent_id", req.agent_id)
        agent = principal.fallback(req.agent_id)

        async def act(row: Row) -> Row:
            if row["status"] == _S.CLAIMED.value:
                raise ConflictError(
                    f"Task is already claimed by {row['assigned_agent']}",
                    current_version=row["version"],
                    status_code=409,
                )
            _check_holder(row, principal, agent)  # a task assigned ahead is claimed by its agent
            if row["status"] == _S.PENDING.value:
                row = await self.move(row, _S.READY, principal.actor, mode=STEP)
            return await self.move(
                row, _S.CLAIMED, principal.actor, mode=STEP, values={"assigned_agent": agent}
            )

        return await self._act(principal, task_id, if_match, act)

    async def start(
        self, principal: Principal, task_id: str, if_match: int | None, req: TaskActorRequest
    ) -> Task:
        async def act(row: Row) -> Row:
            _check_holder(row, principal, req.agent_id)
            return await self.move(row, _S.RUNNING, principal.actor, mode=STEP)

        return await self._act(principal, task_id, if_match, act)

    async def complete(
        self, principal: Principal, task_id: str, if_match: int | None, req: TaskCompleteRequest
    ) -> Task:
        for i, artifact in enumerate(req.artifacts):
            text(f"artifacts[{i}]", artifact)

        async def act(row: Row) -> Row:
            _check_holder(row, principal, req.agent_id)
            values: dict[str, Any] = {"artifacts": dump_json(req.artifacts)}
            if req.output is not None:
                values["output"] = dump_json(req.output)
            return await self.move(row, _S.COMPLETED, principal.actor, mode=STEP, values=values)

        return await self._act(principal, task_id, if_match, act)

    async def fail(
        self, principal: Principal, task_id: str, if_match: int | None, req: TaskFailRequest
    ) -> Task:
        text("error", req.error)

        async def act(row: Row) -> Row:
            _check_holder(row, principal, req.agent_id)
            return await self.move(
                row, _S.FAILED, principal.actor, mode=STEP, values={"error": req.error}
            )

        return await self._act(principal, task_id, if_match, act)

    async def retry(
        self, principal: Principal, task_id: str, if_match: int | None, req: TaskActorRequest
    ) -> Task:
        async def act(row: Row) -> Row:
            return await self.move(row, _S.READY, principal.actor, mode=STEP)

        return await self._act(principal, task_id, if_match, act)

    async def cancel(
        self, principal: Principal, task_id: str, if_match: int | None, req: TaskCancelRequest
    ) -> Task:
        text("reason", req.reason)

        async def act(row: Row) -> Row:
            return await self.move(
                row, _S.CANCELLED, principal.actor, mode=STEP, note={"reason": req.reason}
            )

        return await self._act(principal, task_id, if_match, act)

    async def progress(
        self, principal: Principal, task_id: str, if_match: int | None, req: TaskProgressRequest
    ) -> Task:
        text("message", req.message)

        async def act(row: Row) -> Row:
            _check_holder(row, principal, req.agent_id)
            if row["status"] != _S.RUNNING.value:
                raise ConflictError(
                    f"Only a running task reports progress; this one is '{row['status']}'",
                    current_version=row["version"],
                    status_code=409,
                )
            updated = await self._cas(
                row,
                {
                    "progress_percentage": req.percentage,
                    "progress_message": req.message,
                    "progress_at": self.clock(),
                },
            )
            await announce(
                self.db,
                row["intent_id"],
                EventType.TASK_PROGRESS,
                principal.actor,
                {"task_id": row["id"], "percentage": req.percentage, "message": req.message},
            )
            return updated

        return await self._act(principal, task_id, if_match, act)

    async def delegate(
        self, principal: Principal, task_id: str, if_match: int | None, req: TaskDelegateRequest
    ) -> Task:
        """Create a sub-task; the parent waits (``blocked``/``delegated``) until it is done."""
        for name in ("name", "description", "capability", "delegated_to", "agent_id"):
            text(name, getattr(req, name))
        sub_id: list[str] = []

        async def act(row: Row) -> Row:
            _check_holder(row, principal, req.agent_id)
            if row["status"] != _S.RUNNING.value:
                raise ConflictError(
                    f"Only a running task delegates; this one is '{row['status']}'",
                    current_version=row["version"],
                    status_code=409,
                )
            sub = await self.insert(
                principal,
                TaskCreateRequest(
                    intent_id=row["intent_id"],
                    name=req.name or f"{row['name']}/{req.capability or 'sub-task'}",
                    plan_id=row["plan_id"],
                    description=req.description,
                    priority=row["priority"],
                    input=req.input,
                    capabilities_required=[req.capability] if req.capability else [],
                    parent_task_id=row["id"],
                ),
                assigned_agent=req.delegated_to,
            )
            sub_id.append(sub["id"])
            await announce(
                self.db,
                row["intent_id"],
                EventType.TASK_DELEGATED,
                principal.actor,
                {
                    "task_id": row["id"],
                    "sub_task_id": sub["id"],
                    "capability": req.capability,
                    "delegated_to": req.delegated_to,
                },
            )
            return await self.move(
                await self.row(row["id"]),
                _S.BLOCKED,
                principal.actor,
                mode=STEP,
                values={"blocked_reason": DELEGATED},
                note={"blocked_by": [sub["id"]]},
            )

        await self._act(principal, task_id, if_match, act)
        return (await self.render([await self.row(sub_id[0])]))[0]

    async def escalate(
        self, principal: Principal, task_id: str, if_match: int | None, req: TaskEscalateRequest
    ) -> Task:
        """Ask a human; a running task waits (``blocked``/``escalation``) meanwhile."""
        text("reason", req.reason, required=True)
        text("agent_id", req.agent_id)

        async def act(row: Row) -> Row:
            if _S(row["status"]) in FINISHED:
                raise ConflictError(
                    f"Task is '{row['status']}'; there is nothing left to escalate",
                    current_version=row["version"],
                    status_code=409,
                )
            by = principal.fallback(req.agent_id)
            coordinators = self.registry.get("coordinators")
            supervisor = (
                await coordinators.supervisor_of(row["intent_id"]) if coordinators else None
            )
            await announce(
                self.db,
                row["intent_id"],
                EventType.TASK_ESCALATED,
                principal.actor,
                {"task_id": row["id"], "reason": req.reason, "escalated_to": supervisor},
            )
            self.followups.escalate(
                row["intent_id"],
                by,
                req.reason,
                {"task_id": row["id"], "task_name": row["name"]},
                req.priority,
            )
            if row["status"] != _S.RUNNING.value:
                return row
            return await self.move(
                row,
                _S.BLOCKED,
                principal.actor,
                mode=STEP,
                values={"blocked_reason": ESCALATION},
                note={"reason": req.reason},
            )

        return await self._act(principal, task_id, if_match, act)

    # -- the state machine ------------------------------------------------------------

    async def move(
        self,
        row: Row,
        target: TaskStatus,
        actor: str,
        *,
        mode: str,
        values: dict[str, Any] | None = None,
        note: dict[str, Any] | None = None,
    ) -> Row:
        """Move a task (inside a write holding the intent's lock); returns the new row.

        ``mode``: ``step`` = one edge of the table, ``jump`` = ahead along it (PATCH,
        same status allowed: a plain field update), ``force`` = the server's own moves
        (timeouts, plan cancellation, suspension), which skip the table and work checks.
        """
        current = _S(row["status"])
        values = dict(values or {})
        if target == current:
            if mode != JUMP:
                raise ConflictError(
                    f"Task is already '{current.value}'",
                    current_version=row["version"],
                    status_code=409,
                )
            return await self._cas(row, values)
        path = _path(row, current, target, mode)
        now = self.clock()
        retry = current == _S.FAILED and path[0] == _S.READY
        if retry:
            values.update(await self._retry_values(row, now))
        if (
            current == _S.PENDING
            and mode != FORCE
            and any(s not in (_S.SKIPPED, _S.CANCELLED) for s in path)
        ):
            await self._require_dependencies(row)
        if (
            mode != FORCE
            and any(s in WORK for s in path)
            and current not in (_S.CLAIMED, _S.RUNNING, _S.BLOCKED)
        ):
            await self._require_work_allowed(row, now, values.get("retry_at", row["retry_at"]))
        if _S.CLAIMED in path:
            values["lease_id"] = str(uuid.uuid4())
        if _S.RUNNING in path and (row["started_at"] is None or retry):
            values["started_at"] = now
        if target in WORK and row["timeout_seconds"]:
            values["deadline_at"] = now + dt.timedelta(seconds=row["timeout_seconds"])
        elif target not in WORK:
            values["deadline_at"] = None
        if target in WORK:
            values["retry_at"] = None
        if target in FINISHED:
            values["completed_at"] = now
        if current == _S.BLOCKED:
            values.setdefault("blocked_reason", None)
            values.setdefault("suspended_at", None)
        will_retry = False
        if target == _S.FAILED:
            will_retry = await self.plans.wants_retry(row) and await self._retry_allowed(row)
        updated = await self._cas(row, {"status": target.value, **values})
        note = dict(note or {})
        await self._announce_move(updated, current, target, actor, now, dict(note), will_retry)
        await self._after_move(
            updated, target, actor, will_retry, timed_out=note.get("reason") == "timeout"
        )
        return await self.row(updated["id"])

    async def _announce_move(
        self,
        row: Row,
        current: TaskStatus,
        target: TaskStatus,
        actor: str,
        now: dt.datetime,
        note: dict[str, Any],
        will_retry: bool,
    ) -> None:
        task_id = row["id"]
        event: EventType
        payload: dict[str, Any] = {"task_id": task_id}
        if target == _S.READY and current == _S.FAILED:
            event = EventType.TASK_RETRYING
            payload |= {
                "attempt": row["attempt"],
                "next_attempt_at": (row["retry_at"] or now).isoformat(),
            }
        elif target == _S.READY:
            event = EventType.TASK_READY
            payload["resolved_dependencies"] = load_json(row["depends_on"], [])
        elif target == _S.CLAIMED:
            event = EventType.TASK_CLAIMED
            payload |= {"agent_id": row["assigned_agent"], "lease_id": row["lease_id"]}
        elif target == _S.RUNNING and current == _S.BLOCKED:
            event = EventType.TASK_UNBLOCKED
            payload["resolution"] = note.pop("resolution", "resumed")
        elif target == _S.RUNNING:
            event = EventType.TASK_STARTED
            payload["agent_id"] = row["assigned_agent"]
        elif target == _S.COMPLETED:
            event = EventType.TASK_COMPLETED
            payload |= {
                "output": load_json(row["output"]),
                "artifacts": load_json(row["artifacts"], []),
                "duration_ms": _ms(row["started_at"], now),
            }
        elif target == _S.FAILED:
            event = EventType.TASK_FAILED
            payload |= {"error": row["error"], "attempt": row["attempt"], "will_retry": will_retry}
        elif target == _S.BLOCKED:
            event = EventType.TASK_BLOCKED
            payload |= {"reason": row["blocked_reason"], "blocked_by": note.pop("blocked_by", [])}
        elif target == _S.CANCELLED:
            event = EventType.TASK_CANCELLED
            payload["reason"] = note.pop("reason", None)
        else:
            event = EventType.TASK_SKIPPED
            payload |= {
                "condition_id": note.pop("condition_id", None),
                "reason": note.pop("reason", None),
            }
        payload |= note
        await announce(self.db, row["intent_id"], event, actor, payload)

    async def _after_move(
        self, row: Row, target: TaskStatus, actor: str, will_retry: bool, *, timed_out: bool
    ) -> None:
        if target in (_S.COMPLETED, _S.SKIPPED):
            await self._promote_dependents(row)
            await self._resume_parent(row)
            await self.plans.on_task_finished(row, actor)
        elif target == _S.FAILED:
            await self._record_failure(row, timed_out)
            await self.plans.on_task_failed(row, actor, will_retry)
            if will_retry:
                await self.move(await self.row(row["id"]), _S.READY, SYSTEM_ACTOR, mode=STEP)

    # -- checks -----------------------------------------------------------------------

    async def _require_dependencies(self, row: Row) -> None:
        waiting = await self._unresolved(row)
        if waiting:
            raise ConflictError(
                "Task depends on unfinished tasks: " + ", ".join(waiting),
                current_version=row["version"],
                status_code=409,
            )

    async def _unresolved(self, row: Row) -> list[str]:
        deps = load_json(row["depends_on"], [])
        if not deps:
            return []
        rows = await TaskRow.select(TaskRow.id, TaskRow.status).where(TaskRow.id.is_in(deps))
        done = {r["id"] for r in rows if r["status"] in RESOLVED}
        return [d for d in deps if d not in done]

    async def _require_work_allowed(
        self, row: Row, now: dt.datetime, retry_at: dt.datetime | None
    ) -> None:
        if retry_at is not None and now < retry_at:
            raise ConflictError(
                f"Task may be retried from {retry_at.isoformat()}",
                current_version=row["version"],
                status_code=409,
            )
        for plan in await self.plans.containing(row):
            if plan["state"] == "paused":
                raise ConflictError(
                    f"Plan {plan['id']} is paused", current_version=row["version"], status_code=409
                )
            if plan["state"] in ("completed", "failed", "cancelled"):
                raise ConflictError(
                    f"Plan {plan['id']} is {plan['state']}",
                    current_version=row["version"],
                    status_code=409,
                )
        coordinators = self.registry.get("coordinators")
        if coordinators is not None:
            await coordinators.check_work(row["intent_id"], starting_task=row["id"])

    async def _retry_policy(self, intent_id: str) -> RetryPolicy | None:
        rows = await RetryPolicyRow.select().where(RetryPolicyRow.intent_id == intent_id).limit(1)
        if not rows:
            return None
        r = rows[0]
        return RetryPolicy(
            id=r["id"],
            intent_id=intent_id,
            strategy=RetryStrategy(r["strategy"]),
            max_retries=r["max_retries"],
            base_delay_ms=r["base_delay_ms"],
            max_delay_ms=r["max_delay_ms"],
            jitter=bool(r["jitter"]),
            fallback_agent_id=r["fallback_agent_id"],
        )

    async def _retry_refusal(self, row: Row) -> str | None:
        attempt = row["attempt"]
        if attempt >= row["max_attempts"]:
            return f"Task has used all {row['max_attempts']} attempts"
        policy = await self._retry_policy(row["intent_id"])
        if policy is not None and policy.strategy == RetryStrategy.NONE:
            return "The intent's retry policy allows no retries (strategy 'none')"
        if policy is not None and attempt > policy.max_retries:
            return f"The intent's retry policy allows {policy.max_retries} retries"
        return None

    async def _retry_allowed(self, row: Row) -> bool:
        return await self._retry_refusal(row) is None

    async def _retry_values(self, row: Row, now: dt.datetime) -> dict[str, Any]:
        refusal = await self._retry_refusal(row)
        if refusal is not None:
            raise ConflictError(refusal, current_version=row["version"], status_code=409)
        policy = await self._retry_policy(row["intent_id"])
        delay = policy.delay_ms(row["attempt"]) if policy is not None else 0
        return {
            # A retry ends the failed claim; RFC-0010's fallback agent gets the next try.
            "assigned_agent": policy.fallback_agent_id if policy is not None else None,
            "attempt": row["attempt"] + 1,
            "error": None,
            "started_at": None,
            "completed_at": None,
            "lease_id": None,
            "progress_percentage": None,
            "progress_message": None,
            "progress_at": None,
            "retry_at": now + dt.timedelta(milliseconds=delay) if delay else None,
        }

    # -- effects ----------------------------------------------------------------------

    async def _promote_dependents(self, row: Row) -> None:
        """Dependents whose last unfinished dependency this was become ``ready``."""
        edges = await TaskDependencyRow.select(TaskDependencyRow.task_id).where(
            TaskDependencyRow.depends_on_id == row["id"]
        )
        ids = [e["task_id"] for e in edges]
        if not ids:
            return
        waiting = (
            await TaskRow.select()
            .where(TaskRow.id.is_in(ids) & (TaskRow.status == _S.PENDING.value))
            .order_by(TaskRow.seq)
        )
        for dependent in waiting:
            if not await self._unresolved(dependent):
                await self.move(dependent, _S.READY, SYSTEM_ACTOR, mode=FORCE)

    async def promote_if_ready(self, row: Row) -> None:
        """``pending -> ready`` when the dependencies allow it (plan activation)."""
        if row["status"] == _S.PENDING.value and not await self._unresolved(row):
            await self.move(row, _S.READY, SYSTEM_ACTOR, mode=FORCE)

    async def _resume_parent(self, row: Row) -> None:
        """A task waiting on its delegated sub-tasks runs again once they are all done."""
        parent_id = row["parent_task_id"]
        if parent_id is None:
            return
        parents = await TaskRow.select().where(TaskRow.id == parent_id)
        if not parents or parents[0]["status"] != _S.BLOCKED.value:
            return
        if parents[0]["blocked_reason"] != DELEGATED:
            return
        children = await TaskRow.select(TaskRow.status).where(TaskRow.parent_task_id == parent_id)
        if all(c["status"] in RESOLVED for c in children):
            await self.move(
                parents[0],
                _S.RUNNING,
                SYSTEM_ACTOR,
                mode=FORCE,
                note={"resolution": "sub_tasks_completed"},
            )

    async def _record_failure(self, row: Row, timed_out: bool) -> None:
        """The failure as an RFC-0010 record of the intent, then the guardrail check."""
        await FailureRow.insert(
            FailureRow(
                id=str(uuid.uuid4()),
                intent_id=row["intent_id"],
                agent_id=row["assigned_agent"],
                attempt_number=min(row["attempt"], INT32_MAX),
                error_type="task_timeout" if timed_out else "task_failed",
                error_message=row["error"] or "",
                retry_scheduled_at=None,
                recoverable=await self._retry_allowed(row),
                metadata_json=dump_json({"task_id": row["id"], "task_name": row["name"]}),
                occurred_at=self.clock(),
            )
        )
        coordinators = self.registry.get("coordinators")
        if coordinators is not None:
            await coordinators.after_failure(row["intent_id"], row["id"])

    # -- dependencies -----------------------------------------------------------------

    async def require_tasks(self, intent_id: str, ids: list[str], field: str) -> None:
        if not ids:
            return
        for i, value in enumerate(ids):
            text(f"{field}[{i}]", value)
        rows = await TaskRow.select(TaskRow.id).where(
            TaskRow.id.is_in(ids) & (TaskRow.intent_id == intent_id)
        )
        missing = [i for i in ids if i not in {r["id"] for r in rows}]
        if missing:
            raise ValidationError(
                f"{field}: no task {', '.join(missing)} in this intent",
                errors=[
                    {
                        "loc": ["body", field],
                        "msg": f"unknown task {m} (tasks of the same intent only)",
                    }
                    for m in missing
                ],
            )

    async def _write_edges(self, intent_id: str, task_id: str, deps: list[str]) -> None:
        await TaskDependencyRow.delete().where(TaskDependencyRow.task_id == task_id)
        if deps:
            await TaskDependencyRow.insert(
                *[
                    TaskDependencyRow(intent_id=intent_id, task_id=task_id, depends_on_id=d)
                    for d in deps
                ]
            )

    async def _replace_dependencies(self, row: Row, deps: list[str]) -> Row:
        if row["status"] != _S.PENDING.value:
            raise ConflictError(
                "Dependencies can change only while the task is pending",
                current_version=row["version"],
                status_code=409,
            )
        await self.require_tasks(row["intent_id"], deps, "depends_on")
        cycle = await self._cycle(row["id"], deps)
        if cycle is not None:
            message = "Dependency would create cycle: " + " -> ".join(cycle)
            raise ValidationError(
                message,
                errors=[{"loc": ["body", "depends_on"], "msg": "would create a cycle"}],
                status_code=400,
            )
        await self._write_edges(row["intent_id"], row["id"], deps)
        # Part of the PATCH's one version bump: written straight, not compare-and-set.
        await TaskRow.update({TaskRow.depends_on: dump_json(deps)}).where(TaskRow.id == row["id"])
        return await self.row(row["id"])

    async def _cycle(self, task_id: str, deps: list[str]) -> list[str] | None:
        """The chain from ``task_id`` back to itself through ``deps``, if any."""
        if task_id in deps:
            return [task_id, task_id]
        came_from = dict.fromkeys(deps, task_id)
        frontier = list(deps)
        while frontier:
            edges = await TaskDependencyRow.select().where(
                TaskDependencyRow.task_id.is_in(frontier)
            )
            frontier = []
            for edge in edges:
                dep, node = edge["depends_on_id"], edge["task_id"]
                if dep == task_id:
                    chain = [node]
                    while chain[-1] != task_id:
                        chain.append(came_from[chain[-1]])
                    return [task_id, *reversed(chain[:-1]), task_id]
                if dep not in came_from:
                    came_from[dep] = node
                    frontier.append(dep)
        return None

    async def _depth(self, task_id: str) -> int:
        """How many parents ``task_id`` has (its delegation depth)."""
        depth, current, seen = 0, task_id, {task_id}
        while True:
            rows = await TaskRow.select(TaskRow.parent_task_id).where(TaskRow.id == current)
            parent = rows[0]["parent_task_id"] if rows else None
            if parent is None or parent in seen:
                return depth
            depth, current = depth + 1, parent
            seen.add(parent)

    # -- deadlines --------------------------------------------------------------------

    async def _due(self, intent_id: str) -> bool:
        now = self.clock()
        overdue = await TaskRow.exists().where(
            (TaskRow.intent_id == intent_id)
            & TaskRow.status.is_in([s.value for s in WORK])
            & (TaskRow.deadline_at <= now)
        )
        return bool(overdue) or bool(
            await PlanRow.exists().where(
                (PlanRow.intent_id == intent_id) & (PlanRow.checkpoint_due_at <= now)
            )
        )

    async def sweep_if_due(self, intent_id: str) -> bool:
        """Apply what has fallen due before a read; ``True`` if anything was due."""
        if not await self._due(intent_id):
            return False
        async with self.db.write():
            await lock_intent(self.db, intent_id)
            await self.sweep_locked(intent_id)
        await self.followups.drain()
        return True

    async def sweep_locked(self, intent_id: str) -> None:
        """Fail tasks past their deadline, apply checkpoint timeouts (inside a write)."""
        now = self.clock()
        rows = (
            await TaskRow.select()
            .where(
                (TaskRow.intent_id == intent_id)
                & TaskRow.status.is_in([s.value for s in WORK])
                & (TaskRow.deadline_at <= now)
            )
            .order_by(TaskRow.seq)
        )
        for row in rows:
            await self.move(
                row,
                _S.FAILED,
                SYSTEM_ACTOR,
                mode=FORCE,
                values={"error": f"timed out after {row['timeout_seconds']} s"},
                note={"reason": "timeout"},
            )
        await self.plans.sweep_locked(intent_id, now)

    async def sweep_all(self) -> int:
        """Every intent with something due (for a periodic scheduler job)."""
        now = self.clock()
        tasks = await TaskRow.select(TaskRow.intent_id).where(
            TaskRow.status.is_in([s.value for s in WORK]) & (TaskRow.deadline_at <= now)
        )
        plans = await PlanRow.select(PlanRow.intent_id).where(PlanRow.checkpoint_due_at <= now)
        intents = sorted({r["intent_id"] for r in [*tasks, *plans]})
        for intent_id in intents:
            await self.sweep_if_due(intent_id)
        return len(intents)

    # -- the intent-status guard (RFC-0026 suspension mirror) -------------------------

    async def on_intent_write(self, attempt: WriteAttempt) -> None:
        """While an intent waits for human input its running tasks are blocked."""
        if attempt.action != "status" or attempt.target_status is None:
            return
        suspended = IntentStatus.SUSPENDED_AWAITING_INPUT.value
        before, after = str(attempt.intent.status), attempt.target_status
        if (before == suspended) == (after == suspended):
            return
        intent_id = attempt.intent.id
        await lock_intent(self.db, intent_id)
        if after == suspended:
            rows = await TaskRow.select().where(
                (TaskRow.intent_id == intent_id) & (TaskRow.status == _S.RUNNING.value)
            )
            for row in rows:
                await self.move(
                    row,
                    _S.BLOCKED,
                    SYSTEM_ACTOR,
                    mode=FORCE,
                    values={"blocked_reason": SUSPENDED, "suspended_at": self.clock()},
                    note={"suspended_intent_id": intent_id},
                )
        else:
            rows = await TaskRow.select().where(
                (TaskRow.intent_id == intent_id)
                & (TaskRow.status == _S.BLOCKED.value)
                & (TaskRow.blocked_reason == SUSPENDED)
            )
            for row in rows:
                await self.move(
                    row, _S.RUNNING, SYSTEM_ACTOR, mode=FORCE, note={"resolution": "intent_resumed"}
                )

    # -- helpers ----------------------------------------------------------------------

    async def _enter(self, principal: Principal, intent_id: str, extra: dict[str, Any]) -> None:
        """Start a write on the intent's tasks: lock, apply what is due, run the guards."""
        await lock_intent(self.db, intent_id)
        await self.sweep_locked(intent_id)
        intent = await self.intents.get(intent_id)
        await self.intents.check(WriteAttempt(principal, intent, "task", extra=extra))

    async def _load(self, principal: Principal, task_id: str) -> Row:
        row = await self.row(task_id)
        await self._enter(principal, row["intent_id"], {"task_id": task_id})
        return await self.row(task_id)

    async def _act(
        self, principal: Principal, task_id: str, if_match: int | None, act: Any
    ) -> Task:
        async with self.db.write():
            row = await self._load(principal, task_id)
            check_version(if_match, row["version"])
            row = await self.row((await act(row))["id"])
        await self.followups.drain()
        return (await self.render([row]))[0]

    async def _cas(self, row: Row, values: dict[str, Any]) -> Row:
        """One conditional UPDATE on ``version``; no row means someone else won."""
        update: dict[Any, Any] = {TaskRow.version: TaskRow.version + 1}
        for name, value in values.items():
            update[getattr(TaskRow, name)] = value
        rows = (
            await TaskRow.update(update)
            .where((TaskRow.id == row["id"]) & (TaskRow.version == row["version"]))
            .returning(*TaskRow.all_columns())
        )
        if not rows:
            latest = await self.row(row["id"])
            raise ConflictError(
                "Version conflict", current_version=latest["version"], status_code=409
            )
        return dict(rows[0])

    async def authorize_read(self, principal: Principal, intent_id: str) -> None:
        access = self.registry.get("access")
        if access is not None:
            await access.authorize(principal, intent_id, Permission.READ)


def _path(row: Row, current: TaskStatus, target: TaskStatus, mode: str) -> tuple[TaskStatus, ...]:
    if mode == FORCE:
        return (target,)
    if mode == STEP:
        path: tuple[TaskStatus, ...] | None = (
            (target,) if target in TASK_TRANSITIONS[current] else None
        )
    else:
        path = task_transition_path(current, target)
    if not path:
        raise ConflictError(
            f"Task cannot move from '{current.value}' to '{target.value}'",
            current_version=row["version"],
            status_code=409,
        )
    return path


def _check_holder(row: Row, principal: Principal, agent_id: str | None) -> None:
    """Only the agent holding the claim works on a claimed task."""
    holder = row["assigned_agent"]
    if holder is None or holder in names_of(principal, agent_id):
        return
    raise ForbiddenError(f"Task is claimed by {holder}", status_code=403)


def _check_create(req: TaskCreateRequest) -> None:
    text("name", req.name, required=True)
    for name in (
        "intent_id",
        "plan_id",
        "description",
        "priority",
        "permissions",
        "parent_task_id",
    ):
        text(name, getattr(req, name))
    for i, capability in enumerate(req.capabilities_required):
        text(f"capabilities_required[{i}]", capability)
    integer("timeout_seconds", req.timeout_seconds, low=1)
    integer("max_attempts", req.max_attempts, low=1, high=1000)


def install(services: Services) -> None:
    from openintent.server.services.tasks_plans import PlanService

    tasks = TaskService(services)
    plans = PlanService(services, tasks)
    tasks.plans = plans
    services.add("tasks", tasks)
    services.add("plans", plans)
    services.intents.guards.append(tasks.on_intent_write)
