"""RFC-0017 rules: triggers that actually fire.

Records keep the reference's shape and CRUD rules (200 on create, bare arrays, PATCH
compare-and-set on ``If-Match``). What the reference only stores is done here:

* ``type``, ``deduplication`` and the condition's fit to the type are validated (422:
  a bad cron, an unknown timezone, a webhook without ``path``); a webhook ``(path,
  method)`` belongs to one trigger (409).
* Schedule triggers fire at each cron match (five fields, or six with seconds) in their
  ``timezone``, inside ``[starts_at, ends_at]``; ``at`` fires once, then disables the
  trigger. Due times missed while no server ran are not back-filled (one ``missed``
  history entry records the gap). :meth:`TriggerService.run_schedules` is the
  scheduler's job; each due time is claimed by compare-and-set and by its unique
  firing claim, so several processes fire it once.
* Event triggers: ``services.trigger_events``. Webhook triggers: :meth:`receive`
  behind ``/webhooks/<path>`` (no API key), HMAC-SHA256 of the raw body with the
  trigger's ``secret`` in ``X-OpenIntent-Signature: sha256=<hex>`` when a secret is
  set (401 otherwise), ``transform`` expanded into the intent's state, 202 with the
  intent or 200 ``deduplicated``, at most ``WEBHOOK_RATE_PER_MINUTE`` per trigger (429).
* Manual fire creates the intent too (200, ``{"status": "fired", "fire_count",
  "intent_id", "intent"}``); a disabled trigger never fires (409).
* Firing (any source) is ``services.trigger_firing``; its history is served at
  ``GET /api/v1/triggers/{id}/history`` and kept after the trigger is deleted.

The webhook secret is write-only: stored outside ``condition`` and never returned. A
PATCHed condition without a ``secret`` key keeps the stored secret (clients cannot read
it back to resend it); ``"secret": null`` removes it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from collections.abc import Mapping
from typing import Any

from openintent.core.converter import to_dict, utcnow
from openintent.exceptions import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    OpenIntentError,
    RateLimitError,
    ValidationError,
)
from openintent.models import (
    Trigger,
    TriggerCondition,
    TriggerCreateRequest,
    TriggerFireResponse,
    TriggerFiring,
    TriggerType,
    TriggerUpdateRequest,
    WebhookReceipt,
    render_template,
)
from openintent.server.services import Services
from openintent.server.services._checks import invalid, text
from openintent.server.services.agents import Clock
from openintent.server.services.intents import IntentService
from openintent.server.services.principal import Principal
from openintent.server.services.trigger_events import EventTail
from openintent.server.services.trigger_firing import Cause, Firer, acting_for, trigger_from_row
from openintent.server.store.database import Database, dump_json, load_json
from openintent.server.store.schema import register_tables
from openintent.server.store.triggers_tables import (
    TRIGGER_INDEXES,
    TriggerCursorRow,
    TriggerFiringRow,
    TriggerIntentRow,
    TriggerRow,
)

__all__ = ["WEBHOOK_RATE_PER_MINUTE", "TriggerService", "install", "signature"]

register_tables(
    [TriggerRow, TriggerFiringRow, TriggerIntentRow, TriggerCursorRow], indexes=TRIGGER_INDEXES
)

NOT_FOUND = "Trigger not found"
WEBHOOK_RATE_PER_MINUTE = 120
#: A due time later than this is "missed", not fired (no back-fill after downtime).
MISFIRE_GRACE = dt.timedelta(seconds=60)
SIGNATURE_HEADERS = ("x-openintent-signature", "x-hub-signature-256")
# Never copied into template variables: credentials of the sender.
_PRIVATE_HEADERS = frozenset({"authorization", "cookie", "x-api-key", *SIGNATURE_HEADERS})


def signature(secret: str, body: bytes) -> str:
    """The ``X-OpenIntent-Signature`` value a sender puts on ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _webhook_path(path: str | None) -> str | None:
    if path is None:
        return None
    if len(path) > 500 or any(c.isspace() or c in "?#" for c in path):
        raise invalid(
            "condition.path", "must be at most 500 characters, without spaces, '?' or '#'"
        )
    normal = "/" + path.strip("/")
    if normal == "/":
        raise invalid("condition.path", "must name a path below /webhooks/")
    return normal


def _check_condition(trigger_type: TriggerType, condition: TriggerCondition | None) -> None:
    if condition is None:
        return
    problems = condition.problems(trigger_type)
    if problems:
        raise ValidationError(
            "condition: " + "; ".join(problems),
            errors=[{"loc": ["body", "condition"], "msg": p} for p in problems],
        )


def _is_unique_violation(exc: BaseException) -> bool:
    text_ = f"{type(exc).__name__} {exc}".lower()
    return "unique" in text_


class TriggerService:
    def __init__(self, db: Database, intents: IntentService, clock: Clock = utcnow) -> None:
        self.db = db
        self.clock = clock  # tests substitute a fake clock for long schedules
        self.firer = Firer(db, intents)
        self.tail = EventTail(db, self.firer)

    # -- reads ------------------------------------------------------------------------

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

    # -- writes -----------------------------------------------------------------------

    async def create(self, principal: Principal, req: TriggerCreateRequest) -> Trigger:
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
            "trigger_id": str(uuid.uuid4()),
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
            inserted = (
                await TriggerRow.insert(TriggerRow(**values))
                .on_conflict(action="DO NOTHING")
                .returning(*TriggerRow.all_columns())
            )
            if not inserted:
                raise self._path_taken(values)
        return trigger_from_row(inserted[0])

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

    async def receive(
        self,
        method: str,
        path: str,
        body: bytes,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        payload: Any,
    ) -> tuple[int, WebhookReceipt]:
        """A webhook delivery; ``payload`` is the decoded body. Returns status and answer."""
        path = "/" + path.strip("/")
        rows = await TriggerRow.select().where(
            (TriggerRow.webhook_path == path) & (TriggerRow.webhook_method == method.upper())
        )
        if not rows:
            raise NotFoundError("No webhook trigger listens here", status_code=404)
        row = rows[0]
        secret = row["secret"]
        if secret is not None:
            sent = next((headers[h] for h in SIGNATURE_HEADERS if h in headers), "")
            if not hmac.compare_digest(sent.strip().encode(), signature(secret, body).encode()):
                raise AuthenticationError("Invalid or missing webhook signature", status_code=401)
        if not row["enabled"]:
            raise ConflictError("Trigger is disabled", status_code=409)
        now = self.clock()
        recent = await TriggerFiringRow.count().where(
            (TriggerFiringRow.trigger_id == row["trigger_id"])
            & (TriggerFiringRow.source == "webhook")
            & (TriggerFiringRow.fired_at > now - dt.timedelta(minutes=1))
        )
        if recent >= WEBHOOK_RATE_PER_MINUTE:
            raise RateLimitError("Too many webhook deliveries for this trigger", status_code=429)
        variables = {
            "body": payload,
            "headers": {k: v for k, v in headers.items() if k not in _PRIVATE_HEADERS},
            "query": dict(query),
        }
        condition = trigger_from_row(row).condition
        context: dict[str, Any] = {}
        if condition is not None and condition.transform:
            context = render_template(dict(condition.transform), variables)
        cause = Cause(
            source="webhook",
            claim=f"{row['trigger_id']}|webhook|{uuid.uuid4()}",
            principal=acting_for(row),
            variables=variables,
            context=context,
        )
        async with self.db.write():
            outcome = await self.firer.fire(row["trigger_id"], cause, now)
        if outcome.outcome == "missing":
            raise NotFoundError("No webhook trigger listens here", status_code=404)
        if outcome.outcome == "disabled":
            raise ConflictError("Trigger is disabled", status_code=409)
        if outcome.intent is not None:
            return 202, WebhookReceipt(trigger_id=row["trigger_id"], intent_id=outcome.intent.id)
        return 200, WebhookReceipt(
            trigger_id=row["trigger_id"], intent_id=outcome.blocking_intent_id, deduplicated=True
        )

    # -- scheduler jobs ---------------------------------------------------------------

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
                    id=str(uuid.uuid4()),
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

    # -- helpers ----------------------------------------------------------------------

    @staticmethod
    def _path_taken(values: Mapping[str, Any]) -> OpenIntentError:
        return ConflictError(
            f"Another trigger already receives {values.get('webhook_method')} "
            f"{values.get('webhook_path')}",
            status_code=409,
        )


def _placement(
    trigger_type: TriggerType,
    condition: TriggerCondition | None,
    enabled: bool,
    now: dt.datetime,
) -> dict[str, Any]:
    """Where the trigger waits: its next due time, or its webhook route."""
    values: dict[str, Any] = {"next_fire_at": None, "webhook_path": None, "webhook_method": None}
    if condition is None:
        return values
    if trigger_type == TriggerType.SCHEDULE and enabled:
        values["next_fire_at"] = condition.next_fire_after(now)
    if trigger_type == TriggerType.WEBHOOK:
        values["webhook_path"] = _webhook_path(condition.path)
        values["webhook_method"] = condition.method.upper()
    return values


def _firing(row: dict[str, Any]) -> TriggerFiring:
    return TriggerFiring(
        id=row["id"],
        trigger_id=row["trigger_id"],
        source=row["source"],
        outcome=row["outcome"],
        fired_at=row["fired_at"],
        intent_id=row["intent_id"],
        due_at=row["due_at"],
        event_id=row["event_id"],
        detail=load_json(row["detail"], {}),
    )


def install(services: Services) -> None:
    services.add("triggers", TriggerService(services.db, services.intents))
