"""RFC-0003 rules: scope leases (acquire, list, renew, release) and what they guard.

Holder. The holder is the caller's API key, as in the reference (agents sharing a key
share leases); it is sent as the lease's ``agent_id``.

One holder per scope. Acquisition is one insert guarded by the unique partial index of
``store/leases_tables.py``; expired leases of the scope are retired in the same
transaction first, so an expired lease never blocks anyone. Expiry is honoured
everywhere else too: listings carry a computed ``status`` (``active`` / ``released`` /
``expired``), an expired lease cannot be renewed (the reference allows it, which can
leave two live leases on one scope) and releasing it is a no-op.

What a scope covers (the RFC says "state patches to a leased scope require holding the
lease"; the reference enforces nothing). A scope names a part of the intent's state,
read as a state path: ``"research"`` is the top-level key ``research``, and a scope
such as ``"research/sources"`` names that nested key. A state patch by anyone other
than the holder is refused with 409 ``LeaseConflictError`` when one of its paths lies
inside the leased part or contains it (``/research/x`` and ``/research`` both touch the
scope ``research``). Status changes, events and every other write are not scoped.

Differences from the reference, none observable as a regression by its client: empty
or over-long scopes and durations outside 1 s .. 365 days are 422 (the reference keeps
zero or negative durations as already-expired leases and fails on huge ones); renew and
release check that the lease belongs to the intent in the path; a second release, or
the release of an expired lease, answers 200 without writing another event.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from openintent.core.converter import to_wire, utcnow
from openintent.core.patch import split_path
from openintent.exceptions import LeaseConflictError, NotFoundError, ValidationError
from openintent.models import EventType, IntentLease, LeaseAcquireRequest, LeaseRenewRequest
from openintent.server import channels
from openintent.server.ids import new_id
from openintent.server.services import Services
from openintent.server.services.events import record_event
from openintent.server.services.guards import WriteAttempt
from openintent.server.services.intents import IntentService
from openintent.server.services.principal import Principal
from openintent.server.store import leases_tables
from openintent.server.store.database import Database
from openintent.server.store.leases_tables import LEASE_INDEXES, LeaseRow
from openintent.server.store.schema import register_tables
from openintent.server.store.tables import IntentRow

__all__ = ["MAX_LEASE_SECONDS", "MAX_SCOPE_LENGTH", "LeaseService", "install", "scope_covers"]

register_tables([LeaseRow], indexes=LEASE_INDEXES)

MAX_LEASE_SECONDS = 365 * 24 * 3600
MAX_SCOPE_LENGTH = 255
NOT_OWNED = "Lease not found or not owned by you"
HELD = "Lease already held for this scope"


def scope_covers(scope: str, path: str) -> bool:
    """Whether a state write at ``path`` touches the part of the state ``scope`` names."""
    leased, written = split_path(scope), split_path(path)
    depth = min(len(leased), len(written))
    return depth > 0 and leased[:depth] == written[:depth]


def lease_from_row(row: dict[str, Any]) -> IntentLease:
    return IntentLease(
        id=row["id"],
        intent_id=row["intent_id"],
        agent_id=row["holder"],
        scope=row["scope"],
        expires_at=row["expires_at"],
        created_at=row["acquired_at"],
        released_at=row["released_at"],
    )


def _live(now: dt.datetime) -> Any:
    """Rows of leases held at ``now``."""
    return (LeaseRow.active == 1) & LeaseRow.released_at.is_null() & (LeaseRow.expires_at > now)


def _check_duration(seconds: int) -> dt.timedelta:
    if not 1 <= seconds <= MAX_LEASE_SECONDS:
        message = f"duration_seconds must be between 1 and {MAX_LEASE_SECONDS}"
        raise ValidationError(
            message, errors=[{"loc": ["body", "duration_seconds"], "msg": message}]
        )
    return dt.timedelta(seconds=seconds)


def _check_scope(scope: str) -> None:
    if not scope.strip() or len(scope) > MAX_SCOPE_LENGTH:
        message = f"scope must be 1-{MAX_SCOPE_LENGTH} characters and not blank"
        raise ValidationError(message, errors=[{"loc": ["body", "scope"], "msg": message}])


class LeaseService:
    def __init__(self, db: Database, intents: IntentService) -> None:
        self.db = db
        self.intents = intents

    # -- reads ------------------------------------------------------------------------

    async def of_intent(self, intent_id: str) -> list[IntentLease]:
        """Every lease of the intent, oldest first, each with its status now."""
        await self.intents.require(intent_id)
        rows = await LeaseRow.select().where(LeaseRow.intent_id == intent_id).order_by(LeaseRow.seq)
        now = utcnow()
        return [lease_from_row(row).with_status(now) for row in rows]

    # -- writes -----------------------------------------------------------------------

    async def acquire(
        self, principal: Principal, intent_id: str, req: LeaseAcquireRequest
    ) -> IntentLease:
        _check_scope(req.scope)
        duration = _check_duration(req.duration_seconds)
        async with self.db.write():
            await self.intents.require(intent_id)
            await self._lock_intent(intent_id)
            now = utcnow()
            # Retire the scope's expired lease first: only then may the index admit a new one.
            await self.db.execute(leases_tables.RETIRE_EXPIRED_ON_SCOPE, intent_id, req.scope, now)
            lease = IntentLease(
                id=new_id(),
                intent_id=intent_id,
                agent_id=principal.actor,
                scope=req.scope,
                expires_at=now + duration,
                created_at=now,
            )
            inserted = await self.db.fetch(
                leases_tables.INSERT_LEASE,
                lease.id,
                intent_id,
                req.scope,
                principal.key,
                now,
                lease.expires_at,
            )
            if not inserted:
                rows = await LeaseRow.select().where(
                    (LeaseRow.intent_id == intent_id) & (LeaseRow.scope == req.scope) & _live(now)
                )
                raise LeaseConflictError(
                    HELD,
                    existing_lease=to_wire(lease_from_row(rows[0]).with_status(now))
                    if rows
                    else None,
                    status_code=409,
                )
            await record_event(
                intent_id,
                EventType.LEASE_ACQUIRED,
                principal.actor,
                {"scope": req.scope, "lease_id": lease.id},
            )
        return lease.with_status(now)

    async def renew(
        self, principal: Principal, intent_id: str, lease_id: str, req: LeaseRenewRequest
    ) -> IntentLease:
        duration = _check_duration(req.duration_seconds)
        async with self.db.write():
            await self.intents.require(intent_id)
            now = utcnow()
            rows = (
                await LeaseRow.update({LeaseRow.expires_at: now + duration})
                .where(self._mine(principal, intent_id, lease_id) & _live(now))
                .returning(*LeaseRow.all_columns())
            )
            if not rows:
                raise await self._not_renewable(principal, intent_id, lease_id)
            await record_event(
                intent_id,
                EventType.LEASE_RENEWED,
                principal.actor,
                {"lease_id": lease_id, "duration_seconds": req.duration_seconds},
            )
        return lease_from_row(rows[0]).with_status(now)

    async def release(self, principal: Principal, intent_id: str, lease_id: str) -> None:
        async with self.db.write():
            await self.intents.require(intent_id)
            now = utcnow()
            rows = await self.db.fetch(
                leases_tables.RELEASE_OWN_LEASE, now, lease_id, intent_id, principal.key, now
            )
            if not rows:
                # Already released or expired: nothing is held, so nothing to announce.
                if not await LeaseRow.exists().where(self._mine(principal, intent_id, lease_id)):
                    raise NotFoundError(NOT_OWNED, status_code=404)
                return
            await record_event(
                intent_id, EventType.LEASE_RELEASED, principal.actor, {"lease_id": lease_id}
            )
            await self._announce(intent_id, rows[0]["scope"], lease_id)

    async def expire_due(self) -> int:
        """Retire leases whose time ran out and announce their scopes as free.

        For a periodic scheduler: agents waiting on a scope (``@on_lease_available``)
        hear ``LEASE_RELEASED`` when a lease lapses as well as when it is released.
        Returns how many leases were retired.
        """
        async with self.db.write():
            now = utcnow()
            rows = (
                await LeaseRow.update({LeaseRow.active: 0})
                .where((LeaseRow.active == 1) & (LeaseRow.expires_at <= now))
                .returning(LeaseRow.id, LeaseRow.intent_id, LeaseRow.scope)
            )
            for row in rows:
                await self._announce(row["intent_id"], row["scope"], row["id"], reason="expired")
        return len(rows)

    # -- the write guard --------------------------------------------------------------

    async def guard(self, attempt: WriteAttempt) -> None:
        """Refuse a state patch touching a scope leased by someone else."""
        if attempt.action != "state" or not attempt.paths:
            return
        intent_id = attempt.intent.id
        await self._lock_intent(intent_id)
        now = utcnow()
        rows = await self.db.fetch(
            leases_tables.LIVE_LEASES_OF_OTHERS, intent_id, attempt.principal.key, now
        )
        for row in rows:
            if any(scope_covers(row["scope"], path) for path in attempt.paths):
                raise LeaseConflictError(
                    f"Lease conflict: scope {row['scope']!r} is leased by another holder",
                    existing_lease=to_wire(lease_from_row(row).with_status(now)),
                    status_code=409,
                )

    # -- helpers ----------------------------------------------------------------------

    @staticmethod
    def _mine(principal: Principal, intent_id: str, lease_id: str) -> Any:
        return (
            (LeaseRow.id == lease_id)
            & (LeaseRow.intent_id == intent_id)
            & (LeaseRow.holder == principal.key)
        )

    async def _not_renewable(
        self, principal: Principal, intent_id: str, lease_id: str
    ) -> NotFoundError:
        """The 404 for a failed renewal; an expired lease gets its own ``message``."""
        rows = await LeaseRow.select(LeaseRow.released_at).where(
            self._mine(principal, intent_id, lease_id)
        )
        if rows and rows[0]["released_at"] is None:
            return NotFoundError(
                "Lease has expired; acquire the scope again",
                status_code=404,
                response={"detail": NOT_OWNED},
            )
        return NotFoundError(NOT_OWNED, status_code=404)

    async def _lock_intent(self, intent_id: str) -> None:
        """PostgreSQL: serialise lease acquisition with guarded state writes on one intent.

        Without it a state write could read "no lease" just before an acquisition
        commits and then commit its patch under the new lease. SQLite write
        transactions are already serial.
        """
        if not self.db.is_sqlite:
            await IntentRow.raw("SELECT id FROM oi_intents WHERE id = {} FOR UPDATE", intent_id)

    async def _announce(
        self, intent_id: str, scope: str, lease_id: str, reason: str | None = None
    ) -> None:
        """``LEASE_RELEASED`` for the agent runtime (spec rfc-0006, recommendation 3)."""
        data: dict[str, Any] = {"intent_id": intent_id, "scope": scope, "lease_id": lease_id}
        if reason:
            data["reason"] = reason
        agents = await self.intents.assigned_agent_ids(intent_id)
        await self.db.emit_all(
            [channels.runtime_intent(intent_id), *map(channels.runtime_agent, agents)],
            "LEASE_RELEASED",
            data,
        )


def install(services: Services) -> None:
    service = LeaseService(services.db, services.intents)
    services.add("leases", service)
    services.intents.guards.append(service.guard)
