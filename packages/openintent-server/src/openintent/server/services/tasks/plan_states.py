"""The plan state machine (``PLAN_TRANSITIONS``) and what task changes do to a plan.

``activate`` (draft -> active) promotes the plan's pending tasks whose dependencies are
met to ``ready``; ``cancel`` cancels its unfinished tasks too; an active plan completes
by itself when its last task finishes. ``on_failure`` when a task of an active plan
fails for good: ``retry`` retries the task while its limits allow (``task.retrying``),
then fails the plan; ``fail`` fails it; ``pause_and_escalate`` pauses it and files an
escalation; ``notify`` leaves it running.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from openintent.exceptions import ConflictError, ForbiddenError
from openintent.models import Checkpoint, EventType, PlanFailureAction, PlanState, TaskStatus
from openintent.server.services.tasks.plan_records import (
    _P,
    CHECKPOINT_PAUSE,
    PASSED,
    PENDING,
    REACHED,
    REJECTED,
    Row,
    _checkpoint_values,
    _iso,
    _path,
    _require_open_checkpoints,
)
from openintent.server.services.tasks.records import FORCE, JUMP, RESOLVED, STEP
from openintent.server.services.tasks_common import announce
from openintent.server.store.database import load_json

__all__ = ["PlanStateMachine"]


class PlanStateMachine:
    """Plan moves and task effects (mixed into ``PlanService``)."""

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
