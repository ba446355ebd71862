"""Task and checkpoint deadlines, and the intent-suspension mirror.

A claimed or running task with ``timeout_seconds`` fails when its deadline passes.
Deadlines are stored timestamps, honoured on every read and write of the intent's tasks
and plans (and by ``sweep_all`` for the scheduler). While an intent waits for human
input (RFC-0026 ``suspended_awaiting_input``) its running tasks are blocked.
"""

from __future__ import annotations

from openintent.models import IntentStatus
from openintent.server.services.guards import WriteAttempt
from openintent.server.services.tasks.records import _S, FORCE, SUSPENDED, WORK
from openintent.server.services.tasks_common import SYSTEM_ACTOR, lock_intent
from openintent.server.store.tasks_tables import PlanRow, TaskRow

__all__ = ["TaskDeadlines"]


class TaskDeadlines:
    """Sweeps of what has fallen due, and the suspension guard (mixed into ``TaskService``)."""

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
