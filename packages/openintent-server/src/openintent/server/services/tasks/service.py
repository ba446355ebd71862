"""``TaskService``: reads, create and ``PATCH`` of RFC-0012 tasks, assembled from the
area's parts (actions, state machine, retries, dependencies, deadlines).

Every change is one transaction (on PostgreSQL under the intent's row lock) that also
writes its ``task.*`` event to the intent's log, so concurrent claims of one task have
exactly one winner.
"""

from __future__ import annotations

from typing import Any

from openintent.core.converter import unstructure, utcnow
from openintent.exceptions import NotFoundError
from openintent.models import (
    EventType,
    Permission,
    Task,
    TaskCreateRequest,
    TaskStatus,
    TaskUpdateRequest,
)
from openintent.server.ids import new_id
from openintent.server.services import Services, idempotency
from openintent.server.services._checks import integer, text
from openintent.server.services.guards import WriteAttempt
from openintent.server.services.intents import IntentService
from openintent.server.services.principal import Principal
from openintent.server.services.tasks.actions import TaskActions
from openintent.server.services.tasks.deadlines import TaskDeadlines
from openintent.server.services.tasks.dependencies import TaskDependencies
from openintent.server.services.tasks.records import _S, JUMP, Row, task_from_row
from openintent.server.services.tasks.retries import TaskRetries
from openintent.server.services.tasks.state_machine import TaskStateMachine
from openintent.server.services.tasks_common import (
    Clock,
    Followups,
    announce,
    check_version,
    lock_intent,
)
from openintent.server.store.database import Database, dump_json
from openintent.server.store.tasks_tables import TaskDependencyRow, TaskRow

__all__ = ["TaskService"]


class TaskService(TaskActions, TaskStateMachine, TaskRetries, TaskDependencies, TaskDeadlines):
    def __init__(self, services: Services) -> None:
        self.db: Database = services.db
        self.intents: IntentService = services.intents
        self.registry = services.registry
        self.clock: Clock = utcnow
        self.followups = Followups(services.registry)
        # The plan service (same area) is attached by ``install``.
        self.plans: Any = None

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

    async def create(
        self, principal: Principal, req: TaskCreateRequest, idempotency_key: str | None = None
    ) -> Task:
        """Create a task; a repeated ``idempotency_key`` answers the task created first."""
        _check_create(req)
        key = idempotency.scoped_key(principal, "create_task", idempotency_key or "")
        stored = None
        async with self.db.write():
            intent = await self.intents.get(req.intent_id)
            await self._enter(principal, intent.id, {"action": "create"})
            if idempotency_key:
                stored = await idempotency.claim(key)
            if stored is None:
                row = await self.insert(principal, req)
                if idempotency_key:
                    await idempotency.record(key, {"id": row["id"]})
        if stored is not None:
            rows = await TaskRow.select().where(TaskRow.id == stored["id"])
            return (await self.render(rows))[0]
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
        task_id = new_id()
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

    async def authorize_read(self, principal: Principal, intent_id: str) -> None:
        access = self.registry.get("access")
        if access is not None:
            await access.authorize(principal, intent_id, Permission.READ)


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
