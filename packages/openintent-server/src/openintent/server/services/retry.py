"""RFC-0010 rules: one retry policy per intent, append-only failure records.

Differences from the reference, all additive for its clients:

* ``strategy`` must be one of ``none|fixed|exponential|linear`` (422 otherwise: the
  reference client cannot read a policy with another value); counts and delays must be
  non-negative.
* ``fallback_agent_id`` and ``failure_threshold`` are stored and returned; a replacing
  PUT keeps ``id`` and ``created_at`` and sets ``updated_at``.
* Failures accept both clients' bodies: ``error_code`` for ``error_type``, a ``null``
  ``error_message`` (stored ``""``), no ``attempt_number`` (the failure is numbered
  after the intent's previous ones: max + 1), ``metadata``, ``recoverable`` and
  ``retry_scheduled_at``. Without a ``retry_scheduled_at``, one is derived from the
  intent's policy while attempts remain (un-jittered delay after ``occurred_at``).
* ``agent_id`` falls back to ``X-Agent-ID`` (never to the key: it names the agent that
  failed, and the key is not one).

No events (the reference writes none; ``failure_recorded`` is not asked for by
RFC-0010), and no automatic fallback assignment or lease release: nothing here acts
on the schedule, as in the reference.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from piccolo.query.functions.aggregate import Max

from openintent.core.converter import to_wire, utcnow
from openintent.exceptions import NotFoundError
from openintent.models import (
    FailureCreateRequest,
    IntentFailure,
    RetryPolicy,
    RetryPolicyRequest,
    RetryStrategy,
)
from openintent.server.ids import new_id
from openintent.server.services import Services, idempotency
from openintent.server.services._checks import INT32_MAX, integer, text
from openintent.server.services.guards import WriteAttempt
from openintent.server.services.intents import IntentService
from openintent.server.services.principal import Principal
from openintent.server.store.database import Database, dump_json, load_json
from openintent.server.store.retry_tables import FailureRow, RetryPolicyRow
from openintent.server.store.schema import register_tables
from openintent.server.store.tables import IntentRow

__all__ = ["RetryService", "install"]

register_tables([RetryPolicyRow, FailureRow])


class RetryService:
    def __init__(self, db: Database, intents: IntentService) -> None:
        self.db = db
        self.intents = intents

    # -- policies ---------------------------------------------------------------------

    async def get_policy(self, intent_id: str) -> RetryPolicy:
        policy = await self._policy(intent_id)
        if policy is None:
            # Also for unknown intents, as the reference answers.
            raise NotFoundError("No retry policy set", status_code=404)
        return policy

    async def set_policy(
        self, principal: Principal, intent_id: str, req: RetryPolicyRequest
    ) -> RetryPolicy:
        integer("max_retries", req.max_retries)
        integer("base_delay_ms", req.base_delay_ms)
        integer("max_delay_ms", req.max_delay_ms)
        integer("failure_threshold", req.failure_threshold, low=1)
        text("fallback_agent_id", req.fallback_agent_id)
        async with self.db.write():
            await self.intents.require(intent_id)
            now = utcnow()
            values = {
                RetryPolicyRow.strategy: req.strategy.value,
                RetryPolicyRow.max_retries: req.max_retries,
                RetryPolicyRow.base_delay_ms: req.base_delay_ms,
                RetryPolicyRow.max_delay_ms: req.max_delay_ms,
                RetryPolicyRow.jitter: req.jitter,
                RetryPolicyRow.fallback_agent_id: req.fallback_agent_id,
                RetryPolicyRow.failure_threshold: req.failure_threshold,
            }
            row = RetryPolicyRow(id=new_id(), intent_id=intent_id, created_at=now)
            for column, value in values.items():
                setattr(row, column._meta.name, value)
            # One statement, so concurrent first PUTs cannot both insert.
            rows = (
                await RetryPolicyRow.insert(row)
                .on_conflict(
                    target=RetryPolicyRow.intent_id,
                    action="DO UPDATE",
                    values=[*values.items(), (RetryPolicyRow.updated_at, now)],
                )
                .returning(*RetryPolicyRow.all_columns())
            )
        return _policy(rows[0])

    # -- failures ---------------------------------------------------------------------

    async def list_failures(self, intent_id: str) -> list[IntentFailure]:
        """Insertion order; an unknown intent has none (``[]``, as the reference)."""
        rows = (
            await FailureRow.select()
            .where(FailureRow.intent_id == intent_id)
            .order_by(FailureRow.seq)
        )
        return [_failure(row) for row in rows]

    async def record_failure(
        self,
        principal: Principal,
        intent_id: str,
        req: FailureCreateRequest,
        idempotency_key: str | None,
    ) -> IntentFailure:
        integer("attempt_number", req.attempt_number)
        for field in ("error_type", "error_message", "agent_id"):
            text(field, getattr(req, field))
        async with self.db.write():
            await self._lock_intent(intent_id)
            key = idempotency.scoped_key(principal, f"failure:{intent_id}", idempotency_key or "")
            if idempotency_key and (stored := await idempotency.claim(key)) is not None:
                return IntentFailure.from_dict(stored)
            attempt = req.attempt_number
            if attempt is None:
                attempt = await self._next_attempt(intent_id)
            # The intent write guards (access control, leases, governance, ...) see it first.
            extra = {"attempt_number": attempt, "error_type": req.error_type}
            intent = await self.intents.get(intent_id)
            await self.intents.check(
                WriteAttempt(principal, intent, "failure", agent_id=req.agent_id, extra=extra)
            )
            now = utcnow()
            scheduled = req.retry_scheduled_at
            if scheduled is None:
                scheduled = _schedule(await self._policy(intent_id), attempt, now)
            failure = IntentFailure(
                id=new_id(),
                intent_id=intent_id,
                agent_id=req.agent_id or principal.agent_id,
                attempt_number=attempt,
                error_code=req.error_type,
                error_message=req.error_message or "",
                retry_scheduled_at=scheduled,
                metadata=dict(req.metadata),
                recoverable=req.recoverable,
                created_at=now,
            )
            await FailureRow.insert(
                FailureRow(
                    id=failure.id,
                    intent_id=intent_id,
                    agent_id=failure.agent_id,
                    attempt_number=attempt,
                    error_type=failure.error_code,
                    error_message=failure.error_message,
                    retry_scheduled_at=scheduled,
                    recoverable=req.recoverable,
                    metadata_json=dump_json(req.metadata),
                    occurred_at=now,
                )
            )
            if idempotency_key:
                await idempotency.record(key, to_wire(failure))
        return failure

    # -- helpers ----------------------------------------------------------------------

    async def _policy(self, intent_id: str) -> RetryPolicy | None:
        rows = await RetryPolicyRow.select().where(RetryPolicyRow.intent_id == intent_id).limit(1)
        return _policy(rows[0]) if rows else None

    async def _lock_intent(self, intent_id: str) -> None:
        """404 unless the intent exists; on PostgreSQL also lock its row, so concurrent
        failures without an attempt number are numbered one after the other."""
        if self.db.is_sqlite:  # write transactions are serial already
            await self.intents.require(intent_id)
            return
        rows = await IntentRow.raw("SELECT id FROM oi_intents WHERE id = {} FOR UPDATE", intent_id)
        if not rows:
            raise NotFoundError("Intent not found", status_code=404)

    async def _next_attempt(self, intent_id: str) -> int:
        rows = await FailureRow.select(Max(FailureRow.attempt_number, alias="last")).where(
            FailureRow.intent_id == intent_id
        )
        last = rows[0]["last"] if rows else None
        return min(int(last or 0) + 1, INT32_MAX)


def _schedule(policy: RetryPolicy | None, attempt: int, now: dt.datetime) -> dt.datetime | None:
    """When the next try is due: only while the policy still allows a retry."""
    if policy is None or policy.strategy == RetryStrategy.NONE or attempt > policy.max_retries:
        return None
    return now + dt.timedelta(milliseconds=policy.delay_ms(max(attempt, 1)))


def _policy(row: dict[str, Any]) -> RetryPolicy:
    return RetryPolicy(
        id=row["id"],
        intent_id=row["intent_id"],
        strategy=RetryStrategy(row["strategy"]),
        max_retries=row["max_retries"],
        base_delay_ms=row["base_delay_ms"],
        max_delay_ms=row["max_delay_ms"],
        jitter=bool(row["jitter"]),
        fallback_agent_id=row["fallback_agent_id"],
        failure_threshold=row["failure_threshold"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _failure(row: dict[str, Any]) -> IntentFailure:
    return IntentFailure(
        id=row["id"],
        intent_id=row["intent_id"],
        agent_id=row["agent_id"],
        attempt_number=row["attempt_number"],
        error_code=row["error_type"],
        error_message=row["error_message"],
        retry_scheduled_at=row["retry_scheduled_at"],
        metadata=load_json(row["metadata_json"], {}),
        recoverable=None if row["recoverable"] is None else bool(row["recoverable"]),
        created_at=row["occurred_at"],
    )


def install(services: Services) -> None:
    services.add("retry", RetryService(services.db, services.intents))
