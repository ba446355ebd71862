"""Trigger records: the webhook signature, placement of a trigger (next due time or
webhook route), a stored firing as the wire ``TriggerFiring``, and the pure checks."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any

from openintent.exceptions import ValidationError
from openintent.models import TriggerCondition, TriggerFiring, TriggerType
from openintent.server.services._checks import invalid
from openintent.server.store.database import load_json
from openintent.server.store.schema import register_tables
from openintent.server.store.triggers_tables import (
    TRIGGER_INDEXES,
    TriggerCursorRow,
    TriggerFiringRow,
    TriggerIntentRow,
    TriggerRow,
)

__all__ = ["MISFIRE_GRACE", "NOT_FOUND", "signature"]

register_tables(
    [TriggerRow, TriggerFiringRow, TriggerIntentRow, TriggerCursorRow], indexes=TRIGGER_INDEXES
)
NOT_FOUND = "Trigger not found"
#: A due time later than this is "missed", not fired (no back-fill after downtime).
MISFIRE_GRACE = dt.timedelta(seconds=60)


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
