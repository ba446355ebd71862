"""The task state machine (``openintent.models.TASK_TRANSITIONS``).

The action endpoints (``claim``, ``start``, ``complete``, ``fail``, ``retry``, ``cancel``,
...) take exactly one step of the table. ``PATCH /tasks/{id}``, which reference-era
callers use to jump (``pending -> completed``), may move *ahead* along the table
(``task_transition_path``) but never back, never out of ``completed``/``cancelled``/
``skipped``, and out of ``failed`` only through a retry. A refused move is 409 and
changes nothing.

Timestamps: ``started_at`` when a task starts running (again after a retry),
``completed_at`` when it finishes (completed, failed, cancelled, skipped). Every move
writes its ``task.*`` event to the intent's log in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from openintent.exceptions import ConflictError
from openintent.models import TASK_TRANSITIONS, EventType, TaskStatus, task_transition_path
from openintent.server.ids import new_id
from openintent.server.services.tasks.records import (
    _S,
    FINISHED,
    FORCE,
    JUMP,
    RESOLVED,
    STEP,
    WORK,
    Row,
    _ms,
)
from openintent.server.services.tasks_common import SYSTEM_ACTOR, announce
from openintent.server.store.database import load_json
from openintent.server.store.tasks_tables import TaskRow

__all__ = ["TaskStateMachine"]


class TaskStateMachine:
    """``move`` and the checks and effects of a move (mixed into ``TaskService``)."""

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
            values["lease_id"] = new_id()
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
        if target in (_S.COMPLETED, _S.CANCELLED) or (target == _S.FAILED and not will_retry):
            await self._end_task_memory(row, actor)

    async def _end_task_memory(self, row: Row, actor: str) -> None:
        """RFC-0015: the task ended, so its working memory is archived (unless its
        ``memory_policy.archive_on_completion`` is off)."""
        memory = self.registry.get("memory")
        if memory is None:
            return
        policy = load_json(row["memory_policy"]) or {}
        await memory.end_task(
            row["id"],
            intent_id=row["intent_id"],
            actor=actor,
            archive=policy.get("archive_on_completion", True) is not False,
        )

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
