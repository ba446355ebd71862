"""``TriggerService``: reads and writes of RFC-0017 triggers and manual firing,
assembled from webhook receipt and the scheduler's jobs."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from openintent.core.converter import to_dict, to_wire, utcnow
from openintent.exceptions import ConflictError, NotFoundError, OpenIntentError
from openintent.models import (
    Trigger,
    TriggerCreateRequest,
    TriggerFireResponse,
    TriggerFiring,
    TriggerType,
    TriggerUpdateRequest,
)
from openintent.server.ids import new_id
from openintent.server.services import idempotency
from openintent.server.services._checks import invalid, text
from openintent.server.services.agents import Clock
from openintent.server.services.intents import IntentService
from openintent.server.services.principal import Principal
from openintent.server.services.triggers.events import EventTail
from openintent.server.services.triggers.firing import Cause, Firer, trigger_from_row
from openintent.server.services.triggers.jobs import TriggerJobs
from openintent.server.services.triggers.records import (
    NOT_FOUND,
    _check_condition,
    _firing,
    _is_unique_violation,
    _placement,
)
from openintent.server.services.triggers.webhooks import TriggerWebhooks
from openintent.server.store.database import Database, dump_json
from openintent.server.store.triggers_tables import TriggerFiringRow, TriggerRow

__all__ = ["TriggerService"]


class TriggerService(TriggerWebhooks, TriggerJobs):
    def __init__(self, db: Database, intents: IntentService, clock: Clock = utcnow) -> None:
        self.db = db
        self.clock = clock  # tests substitute a fake clock for long schedules
        self.firer = Firer(db, intents)
        self.tail = EventTail(db, self.firer)

    async def get(self, trigger_id: str) -> Trigger:
        rows = await TriggerRow.select().where(TriggerRow.trigger_id == trigger_id).limit(1)
        if not rows:
            raise NotFoundError(NOT_FOUND, status_code=404)
        return trigger_from_row(rows[0])

    async def find(
        self,
        *,
        namespace: str | None = None,
        trigger_type: TriggerType | None = None,
        enabled: bool | None = None,
    ) -> list[Trigger]:
        query = TriggerRow.select().order_by(TriggerRow.seq)
        if namespace is not None:
            query = query.where(TriggerRow.namespace == namespace)
        if trigger_type is not None:
            query = query.where(TriggerRow.type == trigger_type.value)
        if enabled is not None:
            query = query.where(TriggerRow.enabled == enabled)
        return [trigger_from_row(row) for row in await query]

    async def history(
        self, trigger_id: str, *, limit: int = 100, offset: int = 0
    ) -> list[TriggerFiring]:
        """Newest first; still served after the trigger is deleted."""
        rows = (
            await TriggerFiringRow.select()
            .where(TriggerFiringRow.trigger_id == trigger_id)
            .order_by(TriggerFiringRow.seq, ascending=False)
            .limit(limit)
            .offset(offset)
        )
        known = rows or await TriggerRow.exists().where(TriggerRow.trigger_id == trigger_id)
        if not known and not await TriggerFiringRow.exists().where(
            TriggerFiringRow.trigger_id == trigger_id
        ):
            raise NotFoundError(NOT_FOUND, status_code=404)
        return [_firing(row) for row in rows]

    async def create(
        self, principal: Principal, req: TriggerCreateRequest, idempotency_key: str | None = None
    ) -> Trigger:
        text("name", req.name, required=True)
        text("namespace", req.namespace)
        if req.namespace is not None and len(req.namespace) > 255:
            raise invalid("namespace", "must be at most 255 characters")
        condition = req.parsed_condition()
        _check_condition(req.type, condition)
        now = self.clock()
        raw = dict(req.condition) if req.condition is not None else None
        secret = raw.pop("secret", None) if raw is not None else None
        values = {
            "trigger_id": new_id(),
            "name": req.name,
            "type": req.type.value,
            "enabled": req.enabled,
            "condition": None if raw is None else dump_json(raw),
            "secret": secret if isinstance(secret, str) else None,
            "intent_template": None
            if req.intent_template is None
            else dump_json(to_dict(req.intent_template)),
            "deduplication": req.deduplication.value,
            "namespace": req.namespace,
            "fire_count": 0,
            "version": 1,
            "created_by": principal.key,
            "created_at": now,
            "updated_at": now,
            "last_fired_at": None,
            "schedule_seq": 0,
            **_placement(req.type, condition, req.enabled, now),
        }
        async with self.db.write():
            key = idempotency.scoped_key(principal, "create_trigger", idempotency_key or "")
            if idempotency_key and (stored := await idempotency.claim(key)) is not None:
                return Trigger.from_dict(stored)
            inserted = (
                await TriggerRow.insert(TriggerRow(**values))
                .on_conflict(action="DO NOTHING")
                .returning(*TriggerRow.all_columns())
            )
            if not inserted:
                raise self._path_taken(values)
            trigger = trigger_from_row(inserted[0])
            if idempotency_key:
                await idempotency.record(key, to_wire(trigger))
        return trigger

    async def update(
        self, principal: Principal, trigger_id: str, if_match: int, req: TriggerUpdateRequest
    ) -> Trigger:
        now = self.clock()
        async with self.db.write():
            row = await self.firer.lock(trigger_id)
            if row is None:
                raise NotFoundError(NOT_FOUND, status_code=404)
            if row["version"] != if_match:
                raise ConflictError(
                    "Version conflict", current_version=row["version"], status_code=409
                )
            trigger_type = TriggerType(row["type"])
            values: dict[str, Any] = {}
            if req.enabled is not None:
                values["enabled"] = req.enabled
            condition = trigger_from_row(row).condition
            if req.condition is not None:
                condition = req.parsed_condition()
                _check_condition(trigger_type, condition)
                raw = dict(req.condition)
                if "secret" in raw:
                    secret = raw.pop("secret")
                    values["secret"] = secret if isinstance(secret, str) else None
                values["condition"] = dump_json(raw)
            if req.intent_template is not None:
                values["intent_template"] = dump_json(to_dict(req.intent_template))
            if req.deduplication is not None:
                values["deduplication"] = req.deduplication.value
            enabled = values.get("enabled", bool(row["enabled"]))
            values |= _placement(trigger_type, condition, enabled, now)
            values |= {"version": row["version"] + 1, "updated_at": now}
            try:
                rows = (
                    await TriggerRow.update(
                        {
                            **{getattr(TriggerRow, k): v for k, v in values.items()},
                            TriggerRow.schedule_seq: TriggerRow.schedule_seq + 1,
                        }
                    )
                    .where(TriggerRow.trigger_id == trigger_id)
                    .returning(*TriggerRow.all_columns())
                )
            except Exception as exc:
                if _is_unique_violation(exc):
                    raise self._path_taken(values) from None
                raise
        return trigger_from_row(rows[0])

    async def delete(self, principal: Principal, trigger_id: str) -> None:
        async with self.db.write():
            removed = (
                await TriggerRow.delete()
                .where(TriggerRow.trigger_id == trigger_id)
                .returning(TriggerRow.trigger_id)
            )
            if not removed:
                raise NotFoundError(NOT_FOUND, status_code=404)

    async def fire(self, principal: Principal, trigger_id: str) -> TriggerFireResponse:
        """Manual fire: bypasses the condition, honours ``enabled`` and deduplication."""
        now = self.clock()
        cause = Cause(
            source="manual", claim=f"{trigger_id}|manual|{uuid.uuid4()}", principal=principal
        )
        async with self.db.write():
            outcome = await self.firer.fire(trigger_id, cause, now)
        if outcome.outcome == "missing":
            raise NotFoundError(NOT_FOUND, status_code=404)
        if outcome.outcome == "disabled":
            raise ConflictError("Trigger is disabled; enable it to fire", status_code=409)
        if outcome.intent is None:
            return TriggerFireResponse(
                fire_count=outcome.fire_count, status=outcome.outcome, deduplicated=True
            )
        return TriggerFireResponse(
            fire_count=outcome.fire_count,
            intent_id=outcome.intent.id,
            intent=outcome.intent,
        )

    @staticmethod
    def _path_taken(values: Mapping[str, Any]) -> OpenIntentError:
        return ConflictError(
            f"Another trigger already receives {values.get('webhook_method')} "
            f"{values.get('webhook_path')}",
            status_code=409,
        )
