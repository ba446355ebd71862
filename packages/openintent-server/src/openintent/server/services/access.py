"""RFC-0011 rules: per-intent ACLs, access requests, and their enforcement.

The reference server only stores ACLs; this one enforces them:

* ``open`` (the default, and every intent without an ACL) restricts nothing, exactly
  as the reference behaves.
* ``closed``: a caller may act only with a grant that covers the action. The caller is
  matched by its API key and by the agent it names in ``X-Agent-ID`` (ACL principals
  are usually agent ids; the header is trusted like every other actor field of a key
  holder). The intent's creator (``created_by``) always holds ``admin``; expired grants
  count for nothing.

What each level allows (RFC-0011, levels are cumulative):

* ``read``  - every ``GET`` on the intent and its sub-resources, its event streams;
* ``write`` - state patches, events, leases, attachments, costs, escalations,
  approval requests, arbitration and decisions;
* ``admin`` - status changes, agent assignment, dependencies and children, the
  governance policy, deciding approval requests, the ACL and access requests.

Filing an access request needs no permission (that is how a stranger asks).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from piccolo.columns.combination import WhereRaw

from openintent.core.converter import to_wire, utcnow
from openintent.exceptions import ForbiddenError, NotFoundError
from openintent.models import (
    AccessDecisionRequest,
    AccessDenied,
    AccessPolicy,
    AccessRequest,
    AccessRequestCreateRequest,
    AccessRequestStatus,
    ACLEntry,
    ACLGrantRequest,
    ACLSetRequest,
    EventType,
    IntentACL,
    Permission,
    permission_allows,
)
from openintent.server import channels
from openintent.server.ids import new_id
from openintent.server.services import Services, idempotency
from openintent.server.services._checks import text
from openintent.server.services.events import record_event
from openintent.server.services.guards import WriteAttempt
from openintent.server.services.intents import IntentService
from openintent.server.services.principal import Principal
from openintent.server.store import access_tables
from openintent.server.store.access_tables import AccessRequestRow, AclEntryRow, AclPolicyRow
from openintent.server.store.database import Database, dump_json, load_json
from openintent.server.store.schema import register_tables
from openintent.server.store.tables import IntentRow

__all__ = ["ACTION_PERMISSIONS", "AccessService", "install", "principal_names"]

register_tables(access_tables.TABLES, indexes=access_tables.INDEXES)

#: Intent write actions (``WriteAttempt.action``) that need more than ``write``.
ACTION_PERMISSIONS: dict[str, Permission] = {
    "status": Permission.ADMIN,
    "assign": Permission.ADMIN,
    "unassign": Permission.ADMIN,
    "dependencies": Permission.ADMIN,
    "child": Permission.ADMIN,
    "governance": Permission.ADMIN,
    "acl": Permission.ADMIN,
    "retry": Permission.ADMIN,
}

_REQUEST_GONE = "Access request not found or already decided"


def principal_names(principal: Principal) -> frozenset[str]:
    """The names a caller answers to: its API key and the agent it acts for."""
    return frozenset(n for n in (principal.key, principal.agent_id) if n)


class AccessService:
    def __init__(self, db: Database, intents: IntentService) -> None:
        self.db = db
        self.intents = intents

    # -- enforcement ------------------------------------------------------------------

    async def permission(self, principal: Principal, intent_id: str) -> Permission | None:
        """The strongest permission ``principal`` holds on the intent; ``None`` = none.

        Open intents (and unknown ones, which the route then answers with 404 or
        an empty list) give everybody ``admin``.
        """
        policy = await self._policy(intent_id)
        if policy != AccessPolicy.CLOSED:
            return Permission.ADMIN
        names = principal_names(principal)
        creator = await IntentRow.select(IntentRow.created_by).where(IntentRow.id == intent_id)
        if creator and creator[0]["created_by"] in names:
            return Permission.ADMIN
        entries = await AclEntryRow.select().where(
            (AclEntryRow.intent_id == intent_id) & AclEntryRow.principal_id.is_in(list(names))
        )
        acl = IntentACL(intent_id, AccessPolicy.CLOSED, [_entry(row) for row in entries])
        best: Permission | None = None
        for name in names:
            held = acl.permission_for(name, utcnow())
            if held is not None and (best is None or permission_allows(held, best)):
                best = held
        return best

    async def authorize(self, principal: Principal, intent_id: str, needed: Permission) -> None:
        """403 unless ``principal`` holds ``needed`` on the intent."""
        held = await self.permission(principal, intent_id)
        if permission_allows(held, needed):
            return
        message = (
            f"Access to intent {intent_id} is restricted: '{needed.value}' permission "
            f"required, caller holds {repr(held.value) if held else 'none'}"
        )
        detail = AccessDenied(required_permission=needed, message=message)
        raise ForbiddenError(message, status_code=403, response={"detail": to_wire(detail)})

    async def readable(self, principal: Principal, intent_ids: Iterable[str]) -> set[str]:
        """The subset of ``intent_ids`` the caller may read (for cross-intent listings)."""
        wanted = set(intent_ids)
        if not wanted:
            return set()
        closed = await AclPolicyRow.select(AclPolicyRow.intent_id).where(
            AclPolicyRow.intent_id.is_in(sorted(wanted))
            & (AclPolicyRow.default_policy == AccessPolicy.CLOSED.value)
        )
        visible = wanted - {row["intent_id"] for row in closed}
        for row in closed:
            if permission_allows(await self.permission(principal, row["intent_id"]), "read"):
                visible.add(row["intent_id"])
        return visible

    def readable_clause(self, principal: Principal) -> WhereRaw:
        """A ``where`` clause on ``oi_intents`` keeping the intents ``principal`` may read,
        for paged listings (``IntentRow.select().where(access.readable_clause(p))``)."""
        names = sorted(principal_names(principal))
        marks = ", ".join("{}" for _ in names)
        sql = (
            "(oi_intents.id NOT IN (SELECT intent_id FROM oi_acl_policies"
            " WHERE default_policy = 'closed')"
            f" OR oi_intents.created_by IN ({marks})"
            " OR oi_intents.id IN (SELECT intent_id FROM oi_acl_entries"
            f" WHERE principal_id IN ({marks}) AND (expires_at IS NULL OR expires_at > {{}})))"
        )
        return WhereRaw(sql, *names, *names, utcnow())

    async def guard(self, attempt: WriteAttempt) -> None:
        """Write guard on every intent write (inside its transaction)."""
        needed = ACTION_PERMISSIONS.get(attempt.action, Permission.WRITE)
        await self.authorize(attempt.principal, attempt.intent.id, needed)

    # -- ACL --------------------------------------------------------------------------

    async def get_acl(self, intent_id: str) -> IntentACL:
        await self.intents.require(intent_id)
        return await self._acl(intent_id)

    async def set_acl(self, principal: Principal, intent_id: str, req: ACLSetRequest) -> IntentACL:
        """Replace the default policy and every grant."""
        for n, item in enumerate(req.entries):
            _grant_texts(item, f"entries[{n}].")
        async with self.db.write():
            await self.intents.require(intent_id)
            await self.authorize(principal, intent_id, Permission.ADMIN)
            now = utcnow()
            # The upsert comes first: its row lock serialises concurrent replacements.
            await AclPolicyRow.insert(
                AclPolicyRow(
                    intent_id=intent_id, default_policy=req.default_policy.value, updated_at=now
                )
            ).on_conflict(
                target=AclPolicyRow.intent_id,
                action="DO UPDATE",
                values=[AclPolicyRow.default_policy, AclPolicyRow.updated_at],
            )
            await AclEntryRow.delete().where(AclEntryRow.intent_id == intent_id)
            for item in req.entries:
                await self._insert_entry(intent_id, item, item.granted_by or "system", now)
            await record_event(
                intent_id,
                EventType.ACCESS_GRANTED,
                principal.actor,
                {"action": "acl_set", "default_policy": req.default_policy.value},
            )
        return await self._acl(intent_id)

    async def grant(
        self,
        principal: Principal,
        intent_id: str,
        req: ACLGrantRequest,
        idempotency_key: str | None = None,
    ) -> ACLEntry:
        _grant_texts(req)
        async with self.db.write():
            await self.intents.require(intent_id)
            await self.authorize(principal, intent_id, Permission.ADMIN)
            key = idempotency.scoped_key(principal, f"acl_entry:{intent_id}", idempotency_key or "")
            if idempotency_key and (stored := await idempotency.claim(key)) is not None:
                return ACLEntry.from_dict(stored)
            entry = await self._insert_entry(intent_id, req, principal.actor, utcnow())
            data = {"principal_id": entry.principal_id, "permission": entry.permission.value}
            await record_event(intent_id, EventType.ACCESS_GRANTED, principal.actor, data)
            await self.db.emit(channels.intent(intent_id), "access_granted", data)
            if idempotency_key:
                await idempotency.record(key, to_wire(entry))
        return entry

    async def revoke(self, principal: Principal, intent_id: str, entry_id: str) -> None:
        async with self.db.write():
            await self.authorize(principal, intent_id, Permission.ADMIN)
            removed = (
                await AclEntryRow.delete()
                .where((AclEntryRow.id == entry_id) & (AclEntryRow.intent_id == intent_id))
                .returning(AclEntryRow.principal_id)
            )
            if not removed:
                raise NotFoundError("ACL entry not found", status_code=404)
            data = {"entry_id": entry_id, "principal_id": removed[0]["principal_id"]}
            await record_event(intent_id, EventType.ACCESS_REVOKED, principal.actor, data)
            await self.db.emit(channels.intent(intent_id), "access_revoked", data)

    # -- access requests --------------------------------------------------------------

    async def request_access(
        self,
        intent_id: str,
        req: AccessRequestCreateRequest,
        *,
        principal: Principal | None = None,
        idempotency_key: str | None = None,
    ) -> AccessRequest:
        """File an access request; ``idempotency_key`` (with the caller) replays a repeat."""
        for name in ("principal_id", "principal_type", "reason"):
            text(name, getattr(req, name))
        for n, capability in enumerate(req.capabilities):
            text(f"capabilities[{n}]", capability)
        key = None
        if principal is not None and idempotency_key:
            key = idempotency.scoped_key(principal, f"access_request:{intent_id}", idempotency_key)
        async with self.db.write():
            await self.intents.require(intent_id)
            if key is not None and (stored := await idempotency.claim(key)) is not None:
                return AccessRequest.from_dict(stored)
            request = AccessRequest(
                id=new_id(),
                intent_id=intent_id,
                principal_id=req.principal_id,
                principal_type=req.principal_type,
                requested_permission=req.requested_permission,
                reason=req.reason,
                capabilities=list(req.capabilities),
                created_at=utcnow(),
            )
            await AccessRequestRow.insert(
                AccessRequestRow(
                    id=request.id,
                    intent_id=intent_id,
                    principal_id=request.principal_id,
                    principal_type=request.principal_type,
                    requested_permission=request.requested_permission.value,
                    reason=request.reason,
                    status=request.status.value,
                    capabilities=dump_json(request.capabilities),
                    created_at=request.created_at,
                )
            )
            await record_event(
                intent_id,
                EventType.ACCESS_REQUESTED,
                request.principal_id,
                {
                    "request_id": request.id,
                    "requested_permission": request.requested_permission.value,
                    "capabilities": request.capabilities,
                },
            )
            await self.db.emit(
                channels.intent(intent_id),
                "access_requested",
                {
                    "request_id": request.id,
                    "principal_id": request.principal_id,
                    "requested_permission": request.requested_permission.value,
                },
            )
            if key is not None:
                await idempotency.record(key, to_wire(request))
        return request

    async def list_requests(self, intent_id: str) -> list[AccessRequest]:
        await self.intents.require(intent_id)
        rows = (
            await AccessRequestRow.select()
            .where(AccessRequestRow.intent_id == intent_id)
            .order_by(AccessRequestRow.seq)
        )
        return [_request(row) for row in rows]

    async def decide(
        self,
        principal: Principal,
        intent_id: str,
        request_id: str,
        req: AccessDecisionRequest,
        *,
        approve: bool,
    ) -> AccessRequest:
        """Approve (creating the grant) or deny a pending request, exactly once."""
        text("decided_by", req.decided_by)
        text("reason", req.reason)
        decided_by = principal.fallback(req.decided_by)
        status = AccessRequestStatus.APPROVED if approve else AccessRequestStatus.DENIED
        async with self.db.write():
            await self.authorize(principal, intent_id, Permission.ADMIN)
            # One conditional UPDATE: of two concurrent decisions exactly one matches.
            rows = (
                await AccessRequestRow.update(
                    {
                        AccessRequestRow.status: status.value,
                        AccessRequestRow.decided_by: decided_by,
                        AccessRequestRow.decided_at: utcnow(),
                        AccessRequestRow.decision_reason: req.reason,
                    }
                )
                .where(
                    (AccessRequestRow.id == request_id)
                    & (AccessRequestRow.intent_id == intent_id)
                    & (AccessRequestRow.status == AccessRequestStatus.PENDING.value)
                )
                .returning(*AccessRequestRow.all_columns())
            )
            if not rows:
                raise NotFoundError(_REQUEST_GONE, status_code=404)
            request = _request(rows[0])
            if approve:
                await self._approve(intent_id, request, decided_by, req)
            else:
                await record_event(
                    intent_id,
                    EventType.ACCESS_REQUEST_DENIED,
                    decided_by,
                    {
                        "request_id": request.id,
                        "principal_id": request.principal_id,
                        "reason": req.reason,
                    },
                )
        return request

    async def _approve(
        self, intent_id: str, request: AccessRequest, decided_by: str, req: AccessDecisionRequest
    ) -> None:
        permission = req.permission or request.requested_permission
        grant = ACLGrantRequest(
            principal_id=request.principal_id,
            principal_type=request.principal_type,
            permission=permission,
            reason=f"Approved access request: {req.reason or ''}".rstrip(),
            expires_at=req.expires_at,
        )
        # The reference writes no separate access_granted event for this grant.
        await self._insert_entry(intent_id, grant, decided_by, utcnow())
        await record_event(
            intent_id,
            EventType.ACCESS_REQUEST_APPROVED,
            decided_by,
            {
                "request_id": request.id,
                "principal_id": request.principal_id,
                "permission": permission.value,
            },
        )
        await self.db.emit(
            channels.intent(intent_id),
            "access_request_approved",
            {"request_id": request.id, "principal_id": request.principal_id},
        )

    # -- helpers ----------------------------------------------------------------------

    async def _policy(self, intent_id: str) -> AccessPolicy:
        row = await self.db.fetchrow(access_tables.POLICY_OF_INTENT, intent_id)
        return AccessPolicy(row["default_policy"]) if row else AccessPolicy.OPEN

    async def _acl(self, intent_id: str) -> IntentACL:
        rows = (
            await AclEntryRow.select()
            .where(AclEntryRow.intent_id == intent_id)
            .order_by(AclEntryRow.seq)
        )
        return IntentACL(intent_id, await self._policy(intent_id), [_entry(r) for r in rows])

    async def _insert_entry(
        self, intent_id: str, req: ACLGrantRequest, granted_by: str, now: Any
    ) -> ACLEntry:
        entry = ACLEntry(
            id=new_id(),
            intent_id=intent_id,
            principal_id=req.principal_id,
            principal_type=req.principal_type,
            permission=req.permission,
            granted_by=granted_by,
            granted_at=now,
            expires_at=req.expires_at,
            reason=req.reason,
        )
        await AclEntryRow.insert(
            AclEntryRow(
                id=entry.id,
                intent_id=intent_id,
                principal_id=entry.principal_id,
                principal_type=entry.principal_type,
                permission=entry.permission.value,
                granted_by=entry.granted_by,
                granted_at=entry.granted_at,
                expires_at=entry.expires_at,
                reason=entry.reason,
            )
        )
        return entry


def _grant_texts(req: ACLGrantRequest, prefix: str = "") -> None:
    """422 for strings the database cannot store (NUL characters)."""
    for name in ("principal_id", "principal_type", "reason", "granted_by"):
        text(prefix + name, getattr(req, name))


def _entry(row: dict[str, Any]) -> ACLEntry:
    return ACLEntry(
        id=row["id"],
        intent_id=row["intent_id"],
        principal_id=row["principal_id"],
        principal_type=row["principal_type"],
        permission=Permission(row["permission"]),
        granted_by=row["granted_by"],
        granted_at=row["granted_at"],
        expires_at=row["expires_at"],
        reason=row["reason"],
    )


def _request(row: dict[str, Any]) -> AccessRequest:
    return AccessRequest(
        id=row["id"],
        intent_id=row["intent_id"],
        principal_id=row["principal_id"],
        principal_type=row["principal_type"],
        requested_permission=Permission(row["requested_permission"]),
        reason=row["reason"],
        status=AccessRequestStatus(row["status"]),
        capabilities=load_json(row["capabilities"], []),
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        decision_reason=row["decision_reason"],
        created_at=row["created_at"],
    )


def install(services: Services) -> None:
    access = AccessService(services.db, services.intents)
    services.add("access", access)
    # Authorization runs before any other area's policy checks (governance, leases).
    services.intents.guards.insert(0, access.guard)
