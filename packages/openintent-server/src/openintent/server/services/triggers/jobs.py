"""The scheduler's trigger jobs: due schedules (each due time claimed once across
processes; missed ones recorded, not back-filled), event triggers, queued firings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from openintent.models import TriggerType
from openintent.server.ids import new_id
from openintent.server.services.triggers.firing import Cause, acting_for, trigger_from_row
from openintent.server.services.triggers.records import MISFIRE_GRACE
from openintent.server.store.database import dump_json, load_json
from openintent.server.store.triggers_tables import TriggerFiringRow, TriggerRow

__all__ = ["TriggerJobs"]


class TriggerJobs:
    """Periodic jobs (mixed into ``TriggerService``)."""

    async def run_schedules(self, limit: int = 100) -> int:
        """Fire the schedule triggers that are due; returns how many intents were made."""
        now = self.clock()
        due = (
            await TriggerRow.select(TriggerRow.trigger_id, TriggerRow.schedule_seq)
            .where(
                (TriggerRow.type == TriggerType.SCHEDULE.value)
                & (TriggerRow.enabled == True)  # noqa: E712
                & TriggerRow.next_fire_at.is_not_null()
                & (TriggerRow.next_fire_at <= now)
            )
            .order_by(TriggerRow.next_fire_at)
            .limit(limit)
        )
        made = 0
        for item in due:
            async with self.db.write():
                made += await self._fire_due(item["trigger_id"], item["schedule_seq"], now)
        return made

    async def _fire_due(self, trigger_id: str, seen_seq: int, now: dt.datetime) -> int:
        row = await self.firer.lock(trigger_id)
        if row is None or row["schedule_seq"] != seen_seq or not row["enabled"]:
            return 0  # changed, or already claimed by another process
        due_at = row["next_fire_at"]
        if due_at is None or due_at > now:
            return 0
        condition = trigger_from_row(row).condition
        one_shot = condition is None or condition.cron is None
        values: dict[Any, Any] = {
            TriggerRow.next_fire_at: None
            if one_shot or condition is None
            else condition.next_fire_after(now),
            TriggerRow.schedule_seq: TriggerRow.schedule_seq + 1,
        }
        claimed = (
            await TriggerRow.update(values)
            .where((TriggerRow.trigger_id == trigger_id) & (TriggerRow.schedule_seq == seen_seq))
            .returning(TriggerRow.trigger_id)
        )
        if not claimed:
            return 0
        cause = Cause(
            source="schedule",
            claim=f"{trigger_id}|schedule|{due_at.isoformat()}",
            principal=acting_for(row),
            due_at=due_at,
        )
        if now - due_at > MISFIRE_GRACE:
            await TriggerFiringRow.insert(
                TriggerFiringRow(
                    id=new_id(),
                    trigger_id=trigger_id,
                    claim=cause.claim,
                    source="schedule",
                    outcome="missed",
                    due_at=due_at,
                    detail=dump_json({"reason": "no scheduler ran at the due time"}),
                    fired_at=now,
                )
            ).on_conflict(action="DO NOTHING")
            made = 0
        else:
            made = int((await self.firer.fire(trigger_id, cause, now)).outcome == "created")
        if one_shot:
            # ``at`` fires once; disabling is part of firing, so ``version`` stays.
            await TriggerRow.update({TriggerRow.enabled: False}).where(
                TriggerRow.trigger_id == trigger_id
            )
        return made

    async def run_events(self) -> int:
        """Fire event triggers for events logged since the last pass."""
        return await self.tail.run(self.clock())

    async def run_queue(self) -> int:
        """Release queued firings whose blocking intents have finished."""
        now = self.clock()
        rows = await TriggerRow.select(TriggerRow.trigger_id).where(
            TriggerRow.queued_at.is_not_null() & (TriggerRow.enabled == True)  # noqa: E712
        )
        made = 0
        for item in rows:
            async with self.db.write():
                row = await self.firer.lock(item["trigger_id"])
                if row is None or row["queued_at"] is None or not row["enabled"]:
                    continue
                trigger = trigger_from_row(row)
                template_type = trigger.intent_template.type if trigger.intent_template else ""
                if await self.firer.active_intent(trigger, template_type) is not None:
                    continue
                saved = load_json(row["queued_variables"], {})
                await TriggerRow.update(
                    {TriggerRow.queued_at: None, TriggerRow.queued_variables: None}
                ).where(TriggerRow.trigger_id == trigger.trigger_id)
                cause = Cause(
                    source="queue",
                    claim=f"{trigger.trigger_id}|queue|{row['queued_at'].isoformat()}",
                    principal=acting_for(row),
                    variables=saved.get("variables") or {},
                    context=saved.get("context") or {},
                    cause_intent_id=saved.get("cause_intent_id"),
                )
                outcome = await self.firer.fire(trigger.trigger_id, cause, now)
                made += outcome.outcome == "created"
        return made
