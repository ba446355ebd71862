"""``PlanService``: reads and writes of RFC-0012 plans, assembled from the plan state
machine and checkpoints.

A plan's tasks are the ids in ``tasks`` (its order) plus the tasks created with its
``plan_id``; all must belong to the plan's intent (422 otherwise). ``PATCH`` with
``state`` may jump ahead along the table, as for tasks; ``completed`` needs every task
``completed`` or ``skipped``. Progress is derived from the tasks on every read
(``progress`` in the plan, and ``GET /plans/{id}/progress``), never stored.
``conditions`` are stored, not evaluated.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from openintent.core.converter import format_timestamp, unstructure
from openintent.exceptions import ConflictError, NotFoundError, ValidationError
from openintent.models import (
    Checkpoint,
    EventType,
    Plan,
    PlanActionRequest,
    PlanCreateRequest,
    PlanProgress,
    PlanUpdateRequest,
    TaskStatus,
)
from openintent.server.ids import new_id
from openintent.server.services import Services, idempotency
from openintent.server.services._checks import text
from openintent.server.services.guards import WriteAttempt
from openintent.server.services.principal import Principal
from openintent.server.services.tasks.checkpoints import PlanCheckpoints
from openintent.server.services.tasks.plan_records import (
    _P,
    TERMINAL,
    Row,
    _check_texts,
    _checkpoint_values,
    plan_from_row,
)
from openintent.server.services.tasks.plan_states import PlanStateMachine
from openintent.server.services.tasks.records import JUMP, STEP, SUSPENDED
from openintent.server.services.tasks_common import announce, check_version, lock_intent
from openintent.server.store.database import dump_json, load_json
from openintent.server.store.tasks_tables import PlanRow, TaskRow

if TYPE_CHECKING:
    from openintent.server.services.tasks.service import TaskService

__all__ = ["PlanService"]


class PlanService(PlanStateMachine, PlanCheckpoints):
    def __init__(self, services: Services, tasks: TaskService) -> None:
        self.db = services.db
        self.intents = services.intents
        self.registry = services.registry
        self.tasks = tasks

    @property
    def followups(self) -> Any:
        return self.tasks.followups

    def now(self) -> dt.datetime:
        return self.tasks.clock()

    async def get(self, principal: Principal, plan_id: str) -> Plan:
        row = await self.row(plan_id)
        await self.tasks.authorize_read(principal, row["intent_id"])
        if await self.tasks.sweep_if_due(row["intent_id"]):
            row = await self.row(plan_id)
        return await self.render(row)

    async def of_intent(self, intent_id: str) -> list[Plan]:
        """Plans of the intent in creation order; an unknown intent has none."""
        await self.tasks.sweep_if_due(intent_id)
        rows = await PlanRow.select().where(PlanRow.intent_id == intent_id).order_by(PlanRow.seq)
        return [await self.render(row) for row in rows]

    async def current(self, intent_id: str) -> Plan:
        await self.tasks.sweep_if_due(intent_id)
        row = await self._current_row(intent_id)
        if row is None:
            raise NotFoundError("Plan not found", status_code=404)
        return await self.render(row)

    async def progress(self, principal: Principal, plan_id: str) -> PlanProgress:
        plan = await self.get(principal, plan_id)
        assert plan.progress is not None
        return plan.progress

    async def checkpoints(self, principal: Principal, plan_id: str) -> list[Checkpoint]:
        return (await self.get(principal, plan_id)).checkpoints

    async def row(self, plan_id: str) -> Row:
        rows = await PlanRow.select().where(PlanRow.id == plan_id).limit(1)
        if not rows:
            raise NotFoundError("Plan not found", status_code=404)
        return rows[0]

    async def render(self, row: Row) -> Plan:
        members = await self.members(row)
        suspended = [
            {
                "task_id": m["id"],
                "intent_id": m["intent_id"],
                "suspended_since": format_timestamp(m["suspended_at"] or m["created_at"]),
                "expires_at": None,
            }
            for m in members
            if m["status"] == TaskStatus.BLOCKED.value and m["blocked_reason"] == SUSPENDED
        ]
        return plan_from_row(row, PlanProgress.of([m["status"] for m in members], suspended))

    async def members(self, row: Row) -> list[Row]:
        """The plan's tasks: its ``tasks`` in order, then those linked by ``plan_id``."""
        ids = load_json(row["tasks"], [])
        where = TaskRow.plan_id == row["id"]
        if ids:
            where = where | TaskRow.id.is_in(ids)
        rows = await TaskRow.select().where(where).order_by(TaskRow.seq)
        position = {task_id: i for i, task_id in enumerate(ids)}
        return sorted(rows, key=lambda r: position.get(r["id"], len(ids)))

    async def containing(self, task: Row) -> list[Row]:
        rows = (
            await PlanRow.select()
            .where(PlanRow.intent_id == task["intent_id"])
            .order_by(PlanRow.seq)
        )
        return [
            r for r in rows if r["id"] == task["plan_id"] or task["id"] in load_json(r["tasks"], [])
        ]

    async def require_in_intent(self, intent_id: str, plan_id: str) -> Row:
        rows = await PlanRow.select().where(
            (PlanRow.id == plan_id) & (PlanRow.intent_id == intent_id)
        )
        if not rows:
            raise ValidationError(
                f"plan_id: no plan {plan_id} in this intent",
                errors=[{"loc": ["body", "plan_id"], "msg": "unknown plan (same intent only)"}],
            )
        return rows[0]

    async def check_size(
        self, row: Row, *, extra_task: bool = False, count: int | None = None
    ) -> None:
        """The coordinator's ``max_tasks_per_plan`` guardrail."""
        coordinators = self.registry.get("coordinators")
        if coordinators is None:
            return
        if count is None:
            count = len(await self.members(row)) + (1 if extra_task else 0)
        await coordinators.check_plan_size(row["intent_id"], count)

    async def create(
        self, principal: Principal, req: PlanCreateRequest, idempotency_key: str | None = None
    ) -> Plan:
        """Create a plan; a repeated ``idempotency_key`` answers the plan created first."""
        _check_texts(req)
        key = idempotency.scoped_key(principal, "create_plan", idempotency_key or "")
        stored = None
        async with self.db.write():
            intent = await self.intents.get(req.intent_id)
            await self._enter(principal, intent.id)
            if idempotency_key:
                stored = await idempotency.claim(key)
            if stored is None:
                row = await self._insert(principal, req)
                if idempotency_key:
                    await idempotency.record(key, {"id": row["id"]})
        if stored is not None:
            return await self.render(await self.row(stored["id"]))
        await self.followups.drain()
        return await self.render(row)

    async def put_current(
        self, principal: Principal, intent_id: str, if_match: int | None, req: PlanCreateRequest
    ) -> Plan:
        """``POST /intents/{id}/plan``: revise the current plan, or create the first."""
        _check_texts(req)
        async with self.db.write():
            intent = await self.intents.get(intent_id)
            await self._enter(principal, intent.id)
            row = await self._current_row(intent_id)
            if row is None or row["state"] in TERMINAL:
                row = await self._insert(principal, req)
            else:
                check_version(if_match, row["version"])
                values = await self._revision(row, req.tasks, req.checkpoints)
                values |= {
                    "conditions": dump_json(unstructure(req.conditions)),
                    "on_failure": req.on_failure.value,
                    "on_complete": req.on_complete,
                    "metadata_json": dump_json(req.metadata),
                }
                row = await self._cas(row, values)
        await self.followups.drain()
        return await self.render(row)

    async def update(
        self, principal: Principal, plan_id: str, if_match: int, req: PlanUpdateRequest
    ) -> Plan:
        async with self.db.write():
            row = await self._load(principal, plan_id)
            check_version(if_match, row["version"])
            values = await self._revision(row, req.tasks, req.checkpoints)
            target = req.state or _P(row["state"])
            row = await self.set_state(row, target, principal.actor, mode=JUMP, values=values)
        await self.followups.drain()
        return await self.render(await self.row(plan_id))

    async def act(
        self,
        principal: Principal,
        plan_id: str,
        action: str,
        if_match: int | None,
        req: PlanActionRequest,
    ) -> Plan:
        """``activate``, ``pause``, ``resume`` or ``cancel``: one step of the table."""
        text("reason", req.reason)
        targets = {
            "activate": _P.ACTIVE,
            "pause": _P.PAUSED,
            "resume": _P.ACTIVE,
            "cancel": _P.CANCELLED,
        }
        async with self.db.write():
            row = await self._load(principal, plan_id)
            check_version(if_match, row["version"])
            expected = {"activate": _P.DRAFT, "resume": _P.PAUSED}.get(action)
            if expected is not None and row["state"] != expected.value:
                raise ConflictError(
                    f"Only a {expected.value} plan can {action}; this one is '{row['state']}'",
                    current_version=row["version"],
                    status_code=409,
                )
            await self.set_state(
                row, targets[action], principal.actor, mode=STEP, reason=req.reason
            )
        await self.followups.drain()
        return await self.render(await self.row(plan_id))

    async def _insert(self, principal: Principal, req: PlanCreateRequest) -> Row:
        intent_id = req.intent_id
        tasks = list(dict.fromkeys(req.tasks))
        await self.tasks.require_tasks(intent_id, tasks, "tasks")
        cps = await self._checkpoints(intent_id, req.checkpoints, previous=[])
        coordinators = self.registry.get("coordinators")
        if coordinators is not None:
            await coordinators.check_plan_size(intent_id, len(tasks))
        now = self.now()
        plan_id = new_id()
        await PlanRow.insert(
            PlanRow(
                id=plan_id,
                intent_id=intent_id,
                version=1,
                state=_P.DRAFT.value,
                tasks=dump_json(tasks),
                checkpoints=dump_json(cps),
                conditions=dump_json(unstructure(req.conditions)),
                on_failure=req.on_failure.value,
                on_complete=req.on_complete,
                metadata_json=dump_json(req.metadata),
                created_at=now,
                updated_at=now,
            )
        )
        await announce(
            self.db,
            intent_id,
            EventType.PLAN_CREATED,
            principal.actor,
            {"plan_id": plan_id, "task_count": len(tasks)},
        )
        return await self.row(plan_id)

    async def _revision(
        self, row: Row, tasks: list[str] | None, checkpoints: list[Checkpoint] | None
    ) -> dict[str, Any]:
        """Column values for a revised task list and/or checkpoint list (validated)."""
        values: dict[str, Any] = {}
        if tasks is not None:
            ids = list(dict.fromkeys(tasks))
            await self.tasks.require_tasks(row["intent_id"], ids, "tasks")
            linked = await TaskRow.count().where(
                (TaskRow.plan_id == row["id"]) & TaskRow.id.not_in(ids or [""])
            )
            await self.check_size(row, count=len(ids) + int(linked))
            values["tasks"] = dump_json(ids)
        if checkpoints is not None:
            previous = load_json(row["checkpoints"], [])
            cps = await self._checkpoints(row["intent_id"], checkpoints, previous=previous)
            values |= _checkpoint_values(cps)
        return values

    async def _current_row(self, intent_id: str) -> Row | None:
        rows = (
            await PlanRow.select()
            .where(PlanRow.intent_id == intent_id)
            .order_by(PlanRow.seq, ascending=False)
        )
        live = [r for r in rows if r["state"] not in TERMINAL]
        return next(iter(live or rows), None)

    async def _enter(self, principal: Principal, intent_id: str) -> None:
        await lock_intent(self.db, intent_id)
        await self.tasks.sweep_locked(intent_id)
        intent = await self.intents.get(intent_id)
        await self.intents.check(WriteAttempt(principal, intent, "plan"))

    async def _load(self, principal: Principal, plan_id: str) -> Row:
        row = await self.row(plan_id)
        await self._enter(principal, row["intent_id"])
        return await self.row(plan_id)

    async def _cas(self, row: Row, values: dict[str, Any]) -> Row:
        update: dict[Any, Any] = {
            PlanRow.version: PlanRow.version + 1,
            PlanRow.updated_at: self.now(),
        }
        for name, value in values.items():
            update[getattr(PlanRow, name)] = value
        rows = (
            await PlanRow.update(update)
            .where((PlanRow.id == row["id"]) & (PlanRow.version == row["version"]))
            .returning(*PlanRow.all_columns())
        )
        if not rows:
            latest = await self.row(row["id"])
            raise ConflictError(
                "Version conflict", current_version=latest["version"], status_code=409
            )
        return dict(rows[0])
