"""Helpers shared by the RFC-0012 (tasks, plans) and RFC-0013 (coordinators) services.

* ``Clock``: every deadline in these areas (task timeouts, retry delays, checkpoint
  timeouts, coordinator heartbeats and expiry) is a stored timestamp compared with
  ``service.clock()``; tests replace the clock to move time without sleeping.
* ``announce``: an event in the intent's log plus its stream messages, in the caller's
  write transaction.
* ``lock_intent``: PostgreSQL's row lock that serialises the writes of one intent's
  tasks, plans and coordinator (SQLite write transactions are serial already).
* ``Followups``: escalations filed through the governance area once the write that
  decided them has committed (``GovernanceService.escalate`` opens its own
  transaction, and a refused write must not leave one behind).
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import Any

from openintent.core.converter import to_wire
from openintent.exceptions import ConflictError, ForbiddenError, ValidationError
from openintent.models import (
    EscalationCreateRequest,
    EscalationPriority,
    EventType,
    GovernanceViolation,
    IntentEvent,
)
from openintent.server import channels
from openintent.server.services.events import record_event
from openintent.server.services.principal import Principal
from openintent.server.store.database import Database, current_unit
from openintent.server.store.tables import IntentRow

__all__ = [
    "SYSTEM_ACTOR",
    "Clock",
    "Followups",
    "announce",
    "check_version",
    "guardrail_violation",
    "lock_intent",
    "names_of",
    "precondition_required",
]

log = logging.getLogger("openintent.server")

Clock = Callable[[], dt.datetime]

#: Actor of what the server does by itself (timeouts, automatic retries, promotions).
SYSTEM_ACTOR = "system"


async def announce(
    db: Database,
    intent_id: str,
    event_type: EventType,
    actor: str | None,
    payload: dict[str, Any],
) -> IntentEvent:
    """Log an event and stream it on the intent's channels (inside ``db.write()``)."""
    event = await record_event(intent_id, event_type, actor, payload)
    data = to_wire(event)
    await db.emit(channels.intent(intent_id), event_type.value, data)
    await db.emit(channels.runtime_intent(intent_id), event_type.value, data)
    return event


async def lock_intent(db: Database, intent_id: str) -> None:
    if not db.is_sqlite:
        await IntentRow.raw("SELECT id FROM oi_intents WHERE id = {} FOR UPDATE", intent_id)


def precondition_required() -> ValidationError:
    """428 of the RFC-0012..0017 PATCH endpoints without a usable ``If-Match``."""
    return ValidationError("If-Match header required", status_code=428)


def check_version(if_match: int | None, version: int) -> None:
    """An optional ``If-Match`` (actions) or a required one (PATCH) against the row."""
    if if_match is not None and if_match != version:
        raise ConflictError("Version conflict", current_version=version, status_code=409)


def guardrail_violation(rule: str, message: str) -> ForbiddenError:
    """403 in the governance body shape, with ``error: guardrail_violation`` (RFC-0013)."""
    detail = GovernanceViolation(error="guardrail_violation", rule=rule, message=message)
    return ForbiddenError(message, status_code=403, response={"detail": to_wire(detail)})


class Followups:
    """Escalations to file after the current write commits (nothing if it rolls back)."""

    def __init__(self, registry: dict[str, Any]) -> None:
        self._registry = registry
        self._pending: set[asyncio.Task[Any]] = set()

    def escalate(
        self,
        intent_id: str,
        escalated_by: str,
        reason: str,
        context: dict[str, Any],
        priority: EscalationPriority = EscalationPriority.HIGH,
    ) -> None:
        governance = self._registry.get("governance")
        if governance is None:
            return
        req = EscalationCreateRequest(
            reason=reason, priority=priority, context=context, escalated_by=escalated_by
        )
        principal = Principal(key=escalated_by)

        def start() -> None:
            # A fresh context: the committed unit of work must not look current to it.
            task = asyncio.get_running_loop().create_task(
                governance.escalate(principal, intent_id, req), context=contextvars.Context()
            )
            self._pending.add(task)
            task.add_done_callback(self._finished)

        current_unit().after_commit.append(start)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("could not file an escalation", exc_info=task.exception())

    async def drain(self) -> None:
        """Wait for escalations still being filed (end of a request, tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)


def names_of(principal: Principal, *extra: str | None) -> frozenset[str]:
    """The names a caller answers to: key, ``X-Agent-ID`` and agent ids it states."""
    values: Iterable[str | None] = (principal.key, principal.agent_id, *extra)
    return frozenset(v for v in values if v)
