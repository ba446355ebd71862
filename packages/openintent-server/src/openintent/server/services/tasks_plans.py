"""RFC-0012 rules for plans: states, progress, checkpoints, failure policy.

A plan's tasks are the ids in ``tasks`` (its order) plus the tasks created with its
``plan_id``; all must belong to the plan's intent (422 otherwise).

States (``PLAN_TRANSITIONS``): ``activate`` (draft -> active, which promotes its
pending tasks whose dependencies are met to ``ready``), ``pause`` / ``resume``,
``cancel`` (its unfinished tasks are cancelled too). ``PATCH`` with ``state`` may jump
ahead along the table, as for tasks; ``completed`` needs every task ``completed`` or
``skipped``. An active plan completes by itself when its last task finishes.

Progress is derived from the tasks on every read (``progress`` in the plan, and
``GET /plans/{id}/progress``), never stored.

Checkpoints. When the task named by ``after_task`` completes in an active plan, the
checkpoint is ``reached`` (``plan.checkpoint_reached``); one that ``requires_approval``
pauses the plan until approved (``POST /plans/{id}/checkpoints/{cp}/approve``, by one
of ``approvers`` when that list is not empty), then the plan resumes. A rejected
checkpoint keeps the plan paused until the plan is revised. ``timeout_hours`` is
honoured like every deadline here: ``on_timeout`` ``escalate`` files an escalation,
``auto_approve`` approves, ``fail`` fails the plan. Checkpoint status is the server's
(``pending``, ``reached``, ``passed``, ``approved``, ``rejected``, ``expired``); a
revised list keeps the status of checkpoints whose id it keeps.

``on_failure`` when a task of an active plan fails for good: ``retry`` retries the task
while its limits allow (``task.retrying``), then fails the plan; ``fail`` fails it;
``pause_and_escalate`` pauses it and files an escalation; ``notify`` leaves it running.
``conditions`` are stored, not evaluated.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from openintent.core.converter import format_timestamp, parse_timestamp, unstructure
from openintent.exceptions import ConflictError, ForbiddenError, NotFoundError, ValidationError
from openintent.models import (
    PLAN_TRANSITIONS,
    Checkpoint,
    CheckpointDecisionRequest,
    CheckpointTimeoutAction,
    EventType,
    Plan,
    PlanActionRequest,
    PlanCreateRequest,
    PlanFailureAction,
    PlanProgress,
    PlanState,
    PlanUpdateRequest,
    TaskStatus,
    plan_transition_path,
)
from openintent.server.services import Services
from openintent.server.services._checks import text
from openintent.server.services.guards import WriteAttempt
from openintent.server.services.principal import Principal
from openintent.server.services.tasks import FORCE, JUMP, RESOLVED, STEP, SUSPENDED, TaskService
from openintent.server.services.tasks_common import (
    SYSTEM_ACTOR,
    announce,
    check_version,
    lock_intent,
    names_of,
)
from openintent.server.store.database import dump_json, load_json
from openintent.server.store.tasks_tables import PlanRow, TaskRow

__all__ = ["PlanService", "plan_from_row"]

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


class PlanService:
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

    # -- reads ------------------------------------------------------------------------

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

    # -- writes -----------------------------------------------------------------------

    async def create(self, principal: Principal, req: PlanCreateRequest) -> Plan:
        _check_texts(req)
        async with self.db.write():
            intent = await self.intents.get(req.intent_id)
            await self._enter(principal, intent.id)
            row = await self._insert(principal, req)
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

    async def decide_checkpoint(
        self,
        principal: Principal,
        plan_id: str,
        checkpoint_id: str,
        *,
        approve: bool,
        if_match: int | None,
        req: CheckpointDecisionRequest,
    ) -> Plan:
        text("decided_by", req.decided_by)
        text("reason", req.reason)
        async with self.db.write():
            row = await self._load(principal, plan_id)
            check_version(if_match, row["version"])
            cps = load_json(row["checkpoints"], [])
            cp = next((c for c in cps if c.get("id") == checkpoint_id), None)
            if cp is None:
                raise NotFoundError("Checkpoint not found", status_code=404)
            if cp.get("status") != REACHED:
                raise ConflictError(
                    f"Checkpoint is '{cp.get('status', PENDING)}', not waiting for a decision",
                    current_version=row["version"],
                    status_code=409,
                )
            approvers = Checkpoint.from_dict(cp).approvers
            if approvers and not names_of(principal) & set(approvers):
                raise ForbiddenError(
                    "Only the checkpoint's approvers may decide: " + ", ".join(approvers),
                    status_code=403,
                )
            by = principal.fallback(req.decided_by)
            if approve:
                row = await self._approve(row, cps, cp, by)
            else:
                cp |= {"status": REJECTED, "rejected_by": by, "rejected_at": _iso(self.now())}
                if req.reason:
                    cp["rejection_reason"] = req.reason
                row = await self._cas(row, _checkpoint_values(cps))
                await announce(
                    self.db,
                    row["intent_id"],
                    EventType.PLAN_CHECKPOINT_REJECTED,
                    principal.actor,
                    {
                        "plan_id": row["id"],
                        "checkpoint_id": checkpoint_id,
                        "rejected_by": by,
                        "reason": req.reason,
                    },
                )
        await self.followups.drain()
        return await self.render(await self.row(plan_id))

    # -- the state machine ------------------------------------------------------------

    async def set_state(
        self,
        row: Row,
        target: PlanState,
        actor: str,
        *,
        mode: str,
        values: dict[str, Any] | None = None,
        reason: str | None = None,
        failed_task_id: str | None = None,
        error: str | None = None,
    ) -> Row:
        current = _P(row["state"])
        values = dict(values or {})
        if target == current:
            if mode != JUMP:
                raise ConflictError(
                    f"Plan is already '{current.value}'",
                    current_version=row["version"],
                    status_code=409,
                )
            return await self._cas(row, values)
        path = _path(row, current, target, mode)
        now = self.now()
        members = await self.members(row)
        if _P.ACTIVE in path and mode != FORCE:
            if current == _P.PAUSED:
                _require_open_checkpoints(
                    row, load_json(values.get("checkpoints", row["checkpoints"]), [])
                )
            coordinators = self.registry.get("coordinators")
            if coordinators is not None:
                await coordinators.check_work(row["intent_id"])
            await self.check_size(row, count=len(members))
        if target == _P.COMPLETED and mode != FORCE:
            unfinished = [m["id"] for m in members if m["status"] not in RESOLVED]
            if unfinished:
                raise ConflictError(
                    "Plan has unfinished tasks: " + ", ".join(unfinished),
                    current_version=row["version"],
                    status_code=409,
                )
        if _P.ACTIVE in path and row["activated_at"] is None:
            values["activated_at"] = now
        values["pause_reason"] = reason if target == _P.PAUSED else None
        row = await self._cas(row, {"state": target.value, **values})
        await self._announce_state(
            row, current, target, actor, now, members, reason, failed_task_id, error
        )
        if target == _P.ACTIVE:
            for member in members:
                await self.tasks.promote_if_ready(await self.tasks.row(member["id"]))
            row = await self._maybe_complete(await self.row(row["id"]), actor)
        elif target == _P.CANCELLED:
            for member in members:
                fresh = await self.tasks.row(member["id"])
                if TaskStatus(fresh["status"]) not in (
                    TaskStatus.COMPLETED,
                    TaskStatus.FAILED,
                    TaskStatus.CANCELLED,
                    TaskStatus.SKIPPED,
                ):
                    await self.tasks.move(
                        fresh,
                        TaskStatus.CANCELLED,
                        actor,
                        mode=FORCE,
                        note={
                            "reason": f"plan {row['id']} cancelled"
                            + (f": {reason}" if reason else "")
                        },
                    )
        return await self.row(row["id"])

    async def _announce_state(
        self,
        row: Row,
        current: PlanState,
        target: PlanState,
        actor: str,
        now: dt.datetime,
        members: list[Row],
        reason: str | None,
        failed_task_id: str | None,
        error: str | None,
    ) -> None:
        payload: dict[str, Any] = {"plan_id": row["id"]}
        if target == _P.ACTIVE:
            event = EventType.PLAN_RESUMED if current == _P.PAUSED else EventType.PLAN_ACTIVATED
        elif target == _P.PAUSED:
            event = EventType.PLAN_PAUSED
            payload["reason"] = reason
        elif target == _P.COMPLETED:
            event = EventType.PLAN_COMPLETED
            statuses = [m["status"] for m in await self.members(row)]
            started = row["activated_at"]
            payload |= {
                "duration_ms": int((now - started).total_seconds() * 1000) if started else None,
                "tasks_completed": statuses.count(TaskStatus.COMPLETED.value),
                "tasks_skipped": statuses.count(TaskStatus.SKIPPED.value),
            }
        elif target == _P.FAILED:
            event = EventType.PLAN_FAILED
            payload |= {"failed_task_id": failed_task_id, "error": error or reason}
        else:
            # No ``plan.cancelled`` in the protocol's event types: the cancelled
            # tasks' ``task.cancelled`` events (reason names the plan) record it.
            return
        await announce(self.db, row["intent_id"], event, actor, payload)

    async def _maybe_complete(self, row: Row, actor: str) -> Row:
        if row["state"] != _P.ACTIVE.value:
            return row
        members = await self.members(row)
        if not members or any(m["status"] not in RESOLVED for m in members):
            return row
        if any(c.get("status") == REACHED for c in load_json(row["checkpoints"], [])):
            return row
        return await self.set_state(row, _P.COMPLETED, actor, mode=STEP)

    async def _maybe_resume(self, row: Row, actor: str) -> Row:
        """A plan paused by a checkpoint resumes once nothing holds it any more."""
        if row["state"] != _P.PAUSED.value or not (row["pause_reason"] or "").startswith(
            CHECKPOINT_PAUSE
        ):
            return row
        if any(c.get("status") in (REACHED, REJECTED) for c in load_json(row["checkpoints"], [])):
            return row
        try:
            return await self.set_state(row, _P.ACTIVE, actor, mode=STEP)
        except (ConflictError, ForbiddenError):
            return row  # a guardrail holds it: it stays paused until resumed by hand

    # -- effects of task changes ------------------------------------------------------

    async def wants_retry(self, task: Row) -> bool:
        return any(
            p["state"] == _P.ACTIVE.value and p["on_failure"] == PlanFailureAction.RETRY.value
            for p in await self.containing(task)
        )

    async def on_task_finished(self, task: Row, actor: str) -> None:
        for row in await self.containing(task):
            if row["state"] not in (_P.ACTIVE.value, _P.PAUSED.value):
                continue
            cps = load_json(row["checkpoints"], [])
            hold: str | None = None
            reached = False
            for cp in cps:
                if cp.get("after_task") != task["id"] or cp.get("status", PENDING) != PENDING:
                    continue
                requires = Checkpoint.from_dict(cp).requires_approval
                cp |= {"status": REACHED if requires else PASSED, "reached_at": _iso(self.now())}
                reached = True
                await announce(
                    self.db,
                    row["intent_id"],
                    EventType.PLAN_CHECKPOINT_REACHED,
                    actor,
                    {
                        "plan_id": row["id"],
                        "checkpoint_id": cp.get("id"),
                        "requires_approval": requires,
                    },
                )
                if requires and hold is None:
                    hold = str(cp.get("id"))
            if reached:
                row = await self._cas(row, _checkpoint_values(cps))
            if hold is not None and row["state"] == _P.ACTIVE.value:
                await self.set_state(
                    row, _P.PAUSED, actor, mode=STEP, reason=f"{CHECKPOINT_PAUSE}{hold}"
                )
            else:
                await self._maybe_complete(row, actor)

    async def on_task_failed(self, task: Row, actor: str, will_retry: bool) -> None:
        if will_retry:
            return
        for row in await self.containing(task):
            if row["state"] != _P.ACTIVE.value:
                continue
            action = row["on_failure"]
            if action in (PlanFailureAction.RETRY.value, PlanFailureAction.FAIL.value):
                await self.set_state(
                    row,
                    _P.FAILED,
                    actor,
                    mode=FORCE,
                    failed_task_id=task["id"],
                    error=task["error"] or f"task {task['id']} failed",
                )
            elif action == PlanFailureAction.PAUSE_AND_ESCALATE.value:
                reason = f"task {task['name']} ({task['id']}) failed: {task['error'] or 'no error given'}"
                await self.set_state(
                    row, _P.PAUSED, actor, mode=STEP, reason=f"task_failed:{task['id']}"
                )
                await self._escalate_failure(row, task, reason, actor)

    async def _escalate_failure(self, row: Row, task: Row, reason: str, actor: str) -> None:
        coordinators = self.registry.get("coordinators")
        supervisor = await coordinators.supervisor_of(row["intent_id"]) if coordinators else None
        await announce(
            self.db,
            row["intent_id"],
            EventType.TASK_ESCALATED,
            actor,
            {"task_id": task["id"], "reason": reason, "escalated_to": supervisor},
        )
        self.followups.escalate(
            row["intent_id"],
            actor,
            reason,
            {"plan_id": row["id"], "task_id": task["id"], "on_failure": row["on_failure"]},
        )

    # -- checkpoint deadlines ---------------------------------------------------------

    async def sweep_locked(self, intent_id: str, now: dt.datetime) -> None:
        rows = await PlanRow.select().where(
            (PlanRow.intent_id == intent_id) & (PlanRow.checkpoint_due_at <= now)
        )
        for row in rows:
            cps = load_json(row["checkpoints"], [])
            approved: list[dict[str, Any]] = []
            expired: dict[str, Any] | None = None
            for cp in cps:
                due = _due(cp)
                if due is None or due > now:
                    continue
                action = Checkpoint.from_dict(cp).on_timeout
                if action == CheckpointTimeoutAction.AUTO_APPROVE:
                    cp |= {
                        "status": APPROVED,
                        "approved_by": SYSTEM_ACTOR,
                        "approved_at": _iso(now),
                    }
                    approved.append(cp)
                elif action == CheckpointTimeoutAction.FAIL:
                    cp["status"] = EXPIRED
                    expired = expired or cp
                else:
                    cp["escalated_at"] = _iso(now)
                    self.followups.escalate(
                        intent_id,
                        SYSTEM_ACTOR,
                        f"checkpoint '{cp.get('id')}' of plan {row['id']} is still waiting for "
                        "approval",
                        {"plan_id": row["id"], "checkpoint_id": cp.get("id")},
                    )
            row = await self._cas(row, _checkpoint_values(cps))
            for cp in approved:
                await announce(
                    self.db,
                    intent_id,
                    EventType.PLAN_CHECKPOINT_APPROVED,
                    SYSTEM_ACTOR,
                    {
                        "plan_id": row["id"],
                        "checkpoint_id": cp.get("id"),
                        "approved_by": SYSTEM_ACTOR,
                    },
                )
            if expired is not None and row["state"] not in TERMINAL:
                await self.set_state(
                    row,
                    _P.FAILED,
                    SYSTEM_ACTOR,
                    mode=FORCE,
                    failed_task_id=expired.get("after_task"),
                    error=f"checkpoint '{expired.get('id')}' timed out",
                )
            elif approved:
                await self._maybe_resume(await self.row(row["id"]), SYSTEM_ACTOR)

    # -- helpers ----------------------------------------------------------------------

    async def _approve(
        self, row: Row, cps: list[dict[str, Any]], cp: dict[str, Any], by: str
    ) -> Row:
        cp |= {"status": APPROVED, "approved_by": by, "approved_at": _iso(self.now())}
        row = await self._cas(row, _checkpoint_values(cps))
        await announce(
            self.db,
            row["intent_id"],
            EventType.PLAN_CHECKPOINT_APPROVED,
            by,
            {"plan_id": row["id"], "checkpoint_id": cp.get("id"), "approved_by": by},
        )
        row = await self._maybe_resume(row, by)
        return await self._maybe_complete(row, by)

    async def _insert(self, principal: Principal, req: PlanCreateRequest) -> Row:
        intent_id = req.intent_id
        tasks = list(dict.fromkeys(req.tasks))
        await self.tasks.require_tasks(intent_id, tasks, "tasks")
        cps = await self._checkpoints(intent_id, req.checkpoints, previous=[])
        coordinators = self.registry.get("coordinators")
        if coordinators is not None:
            await coordinators.check_plan_size(intent_id, len(tasks))
        now = self.now()
        plan_id = str(uuid.uuid4())
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

    async def _checkpoints(
        self, intent_id: str, checkpoints: list[Checkpoint], *, previous: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Stored form of a checkpoint list; the server owns the status keys."""
        seen: set[str] = set()
        after = [c.after_task for c in checkpoints if c.after_task]
        await self.tasks.require_tasks(
            intent_id, list(dict.fromkeys(after)), "checkpoints.after_task"
        )
        kept = {c.get("id"): c for c in previous}
        stored = []
        for i, checkpoint in enumerate(checkpoints):
            text(f"checkpoints[{i}].id", checkpoint.id, required=True)
            if checkpoint.id in seen:
                raise ValidationError(
                    f"checkpoints: duplicate id {checkpoint.id!r}",
                    errors=[{"loc": ["body", "checkpoints", i, "id"], "msg": "duplicate id"}],
                )
            seen.add(checkpoint.id)
            cp = unstructure(checkpoint)
            for key in _SERVER_KEYS:
                cp.pop(key, None)
            old = kept.get(checkpoint.id)
            if old is not None and old.get("after_task") == checkpoint.after_task:
                cp |= {k: old[k] for k in _SERVER_KEYS if k in old}
            cp.setdefault("status", PENDING)
            stored.append(cp)
        return stored

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
