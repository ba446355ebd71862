"""Tool grants: create, read, suspend / resume, revoke (cascading), delegate.

* **Grants** may name only scopes the credential offers (``scopes`` and
  ``context.tools`` ⊆ ``scopes_available``, else 422), must not be born expired, and
  have a lifecycle: ``active`` ⇄ ``suspended`` (``PATCH …/suspend|resume``),
  ``revoked`` (``DELETE``, cascading to grants delegated from it, keeping the first
  ``revoked_at``), ``expired`` (reported once ``expires_at`` has passed).
* **Delegation** (``POST /grants/{id}/delegate``): by the grantee agent or a manager;
  the source must be active and ``delegatable``; scopes ⊆ the source's tools;
  constraints may only tighten; expiry no later than the source's;
  ``delegation_depth`` counts hops from the direct grant and may not exceed the root
  grant's ``constraints.max_delegation_depth`` (default 3).
* **Events**: ``grant.*`` and ``credential.*`` messages (RFC payloads, never secret
  values) on the grantee agent's stream (``/api/v1/subscribe/agents/{id}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openintent.core.converter import to_wire, utcnow
from openintent.exceptions import ConflictError, ForbiddenError, NotFoundError
from openintent.models import CredentialStatus, GrantSource, GrantStatus, ToolGrant
from openintent.models.vaults import GrantDelegateRequest, ToolGrantCreateRequest
from openintent.server import channels
from openintent.server.ids import new_id
from openintent.server.services._checks import invalid, text
from openintent.server.services.principal import Principal
from openintent.server.services.secrets import principal_hash
from openintent.server.services.vaults.common import (
    DEFAULT_MAX_DELEGATION_DEPTH,
    GRANT_NOT_FOUND,
    _remember,
    _replayed,
)
from openintent.server.services.vaults.records import (
    check_future,
    check_offered,
    constraint_dict,
    credential_from_row,
    grant_from_row,
    grant_tools,
    require_texts,
    tighter_constraints,
)
from openintent.server.store.database import dump_json, load_json
from openintent.server.store.vaults_tables import CredentialRow, GrantRow, VaultRow

__all__ = ["VaultGrants"]


class VaultGrants:
    """Grant operations (mixed into ``VaultService``)."""

    async def create_grant(
        self, principal: Principal, req: ToolGrantCreateRequest, idempotency_key: str | None = None
    ) -> ToolGrant:
        require_texts(
            credential_id=req.credential_id, agent_id=req.agent_id, granted_by=req.granted_by
        )
        for scope in req.scopes:
            text("scopes", scope, required=True)
        constraints = constraint_dict(req.constraints)
        tools = req.context.get("tools")
        if tools is not None and not (
            isinstance(tools, list) and all(isinstance(t, str) for t in tools)
        ):
            raise invalid("context.tools", "must be a list of tool names")
        check_future("expires_at", req.expires_at)
        now = utcnow()
        async with self.db.write():
            if replayed := await _replayed(principal, "grant", idempotency_key, ToolGrant):
                return replayed
            credential = await self.credential_row(req.credential_id)
            await self._require_manager(principal, credential)
            current = credential_from_row(credential, now)
            if current.status != CredentialStatus.ACTIVE:
                raise ConflictError(f"Credential is {current.status.value}", status_code=409)
            offered = current.scopes_available
            check_offered(req.scopes, offered, "scopes")
            check_offered(tools or (), offered, "context.tools")
            row = GrantRow(
                id=new_id(),
                credential_id=req.credential_id,
                agent_id=req.agent_id,
                granted_by=req.granted_by,
                scopes=dump_json(list(dict.fromkeys(req.scopes))),
                constraints=dump_json(constraints) if constraints is not None else None,
                source=GrantSource.DIRECT.value,
                delegatable=req.delegatable,
                delegation_depth=0,
                context=dump_json(req.context),
                status=GrantStatus.ACTIVE.value,
                expires_at=req.expires_at,
                created_by_key=principal_hash(principal.key),
                created_at=now,
            )
            await GrantRow.insert(row)
            grant = grant_from_row(row.to_dict(), now)
            await _remember(principal, "grant", idempotency_key, grant)
            await self.db.emit(
                channels.agent(grant.agent_id),
                "grant.created",
                {
                    "grant_id": grant.id,
                    "credential_id": grant.credential_id,
                    "agent_id": grant.agent_id,
                    "scopes": grant.scopes,
                    "expires_at": to_wire(grant)["expires_at"],
                },
            )
        return grant

    async def grant_row(self, grant_id: str) -> dict[str, Any]:
        rows = await GrantRow.select().where(GrantRow.id == grant_id).limit(1)
        if not rows:
            raise NotFoundError(GRANT_NOT_FOUND, status_code=404)
        return rows[0]

    async def get_grant(self, grant_id: str) -> ToolGrant:
        return grant_from_row(await self.grant_row(grant_id), utcnow())

    async def list_grants(
        self,
        *,
        agent_id: str | None = None,
        credential_id: str | None = None,
        status: GrantStatus | None = None,
    ) -> list[ToolGrant]:
        query = GrantRow.select().order_by(GrantRow.seq)
        if agent_id is not None:
            query = query.where(GrantRow.agent_id == agent_id)
        if credential_id is not None:
            query = query.where(GrantRow.credential_id == credential_id)
        now = utcnow()
        grants = [grant_from_row(r, now) for r in await query]
        return [g for g in grants if status is None or g.status == status]

    async def _may_change_grant(self, principal: Principal, grant: Mapping[str, Any]) -> bool:
        """A manager of the credential, the grant's creator, or (for a delegated grant)
        the agent that delegated it."""
        if grant["created_by_key"] == principal_hash(principal.key):
            return True
        if grant["delegated_from"] and principal.agent_id is not None:
            source = await GrantRow.select(GrantRow.agent_id).where(
                GrantRow.id == grant["delegated_from"]
            )
            if source and source[0]["agent_id"] == principal.agent_id:
                return True
        credential = await CredentialRow.select().where(CredentialRow.id == grant["credential_id"])
        if not credential:
            return False
        vault = await VaultRow.select().where(VaultRow.id == credential[0]["vault_id"])
        return bool(vault) and self._manages(principal, vault[0], credential[0])

    async def _require_grant_changer(self, principal: Principal, grant: Mapping[str, Any]) -> None:
        if not await self._may_change_grant(principal, grant):
            raise ForbiddenError(
                "Only the grant's creator, its delegator or the credential's manager may change it",
                status_code=403,
            )

    async def revoke_grant(
        self, principal: Principal, grant_id: str, reason: str | None = None
    ) -> dict[str, Any]:
        text("reason", reason)
        async with self.db.write():
            grant = await self.grant_row(grant_id)
            await self._require_grant_changer(principal, grant)
            cascade = await self._descendants(grant_id)
            for child in cascade:
                if child["status"] != GrantStatus.REVOKED:
                    await self._set_revoked(child, f"source grant {grant_id} revoked", 0)
            await self._set_revoked(grant, reason or "revoked", len(cascade))
        return {"status": "revoked", "grant_id": grant_id, "cascade_count": len(cascade)}

    async def _descendants(self, grant_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        frontier = [grant_id]
        while frontier:
            rows = await GrantRow.select().where(GrantRow.delegated_from.is_in(frontier))
            found += rows
            frontier = [r["id"] for r in rows]
        return found

    async def _set_revoked(self, grant: Mapping[str, Any], reason: str, cascade_count: int) -> None:
        if grant["status"] == GrantStatus.REVOKED:
            return  # revoked_at keeps the first revocation
        await GrantRow.update(
            {
                GrantRow.status: GrantStatus.REVOKED.value,
                GrantRow.status_reason: reason,
                GrantRow.revoked_at: utcnow(),
            }
        ).where(GrantRow.id == grant["id"])
        await self.db.emit(
            channels.agent(grant["agent_id"]),
            "grant.revoked",
            {"grant_id": grant["id"], "reason": reason, "cascade_count": cascade_count},
        )

    async def suspend_grant(
        self, principal: Principal, grant_id: str, reason: str | None
    ) -> ToolGrant:
        text("reason", reason)
        return await self._move(
            principal, grant_id, GrantStatus.ACTIVE, GrantStatus.SUSPENDED, reason
        )

    async def resume_grant(self, principal: Principal, grant_id: str) -> ToolGrant:
        return await self._move(
            principal, grant_id, GrantStatus.SUSPENDED, GrantStatus.ACTIVE, None
        )

    async def _move(
        self,
        principal: Principal,
        grant_id: str,
        source: GrantStatus,
        target: GrantStatus,
        reason: str | None,
    ) -> ToolGrant:
        now = utcnow()
        async with self.db.write():
            row = await self.grant_row(grant_id)
            await self._require_grant_changer(principal, row)
            current = grant_from_row(row, now)
            if current.status != source:
                raise ConflictError(
                    f"Grant is {current.status.value}; only a {source.value} grant can become "
                    f"{target.value}",
                    status_code=409,
                )
            rows = (
                await GrantRow.update(
                    {GrantRow.status: target.value, GrantRow.status_reason: reason}
                )
                .where((GrantRow.id == grant_id) & (GrantRow.status == source.value))
                .returning(*GrantRow.all_columns())
            )
            if not rows:
                raise ConflictError("Grant changed concurrently; retry", status_code=409)
            payload: dict[str, Any] = {"grant_id": grant_id}
            if target == GrantStatus.SUSPENDED:
                payload["reason"] = reason
            name = "grant.suspended" if target == GrantStatus.SUSPENDED else "grant.resumed"
            await self.db.emit(channels.agent(row["agent_id"]), name, payload)
        return grant_from_row(rows[0], now)

    async def delegate_grant(
        self, principal: Principal, grant_id: str, req: GrantDelegateRequest
    ) -> ToolGrant:
        require_texts(agent_id=req.agent_id)
        text("delegated_by", req.delegated_by)
        for scope in req.scopes or ():
            text("scopes", scope, required=True)
        wanted = constraint_dict(req.constraints)
        check_future("expires_at", req.expires_at)
        now = utcnow()
        async with self.db.write():
            row = await self.grant_row(grant_id)
            source = grant_from_row(row, now)
            holder = principal.agent_id is not None and principal.agent_id == source.agent_id
            if not holder and not await self._may_change_grant(principal, row):
                raise ForbiddenError(
                    "Only the grantee agent or the credential's manager may delegate this grant",
                    status_code=403,
                )
            if source.status != GrantStatus.ACTIVE:
                raise ConflictError(f"Grant is {source.status.value}", status_code=409)
            if not source.delegatable:
                raise ForbiddenError("Grant is not delegatable", status_code=403)
            max_depth = await self._max_depth(row)
            depth = source.delegation_depth + 1
            if depth > max_depth:
                raise ForbiddenError(
                    f"Delegation depth {depth} exceeds the limit of {max_depth}", status_code=403
                )
            source_tools = grant_tools(source)
            scopes = list(dict.fromkeys(req.scopes if req.scopes is not None else source_tools))
            extra = [s for s in scopes if s not in source_tools]
            if extra:
                raise invalid("scopes", f"not held by the source grant: {', '.join(extra)}")
            if (
                req.expires_at is not None
                and source.expires_at is not None
                and req.expires_at > source.expires_at
            ):
                raise invalid("expires_at", "may not be later than the source grant's expiry")
            constraints = tighter_constraints(load_json(row["constraints"]), wanted)
            context = {k: v for k, v in source.context.items() if k != "tools"}
            child = GrantRow(
                id=new_id(),
                credential_id=source.credential_id,
                agent_id=req.agent_id,
                granted_by=principal.fallback(req.delegated_by),
                scopes=dump_json(scopes),
                constraints=dump_json(constraints) if constraints is not None else None,
                source=GrantSource.DELEGATED.value,
                delegatable=req.delegatable and depth < max_depth,
                delegation_depth=depth,
                delegated_from=grant_id,
                context=dump_json(context),
                status=GrantStatus.ACTIVE.value,
                expires_at=req.expires_at or source.expires_at,
                created_by_key=principal_hash(principal.key),
                created_at=now,
            )
            await GrantRow.insert(child)
            payload = {
                "grant_id": child.id,
                "source_grant_id": grant_id,
                "target_agent_id": req.agent_id,
                "scopes": scopes,
                "delegation_depth": depth,
            }
            for agent_id in dict.fromkeys((req.agent_id, source.agent_id)):
                await self.db.emit(channels.agent(agent_id), "grant.delegated", payload)
        return grant_from_row(child.to_dict(), now)

    async def _max_depth(self, row: Mapping[str, Any]) -> int:
        """The root grant's ``constraints.max_delegation_depth`` (default 3)."""
        while row["delegated_from"]:
            parent = await GrantRow.select().where(GrantRow.id == row["delegated_from"]).limit(1)
            if not parent:
                break
            row = parent[0]
        limit = (load_json(row["constraints"]) or {}).get("max_delegation_depth")
        return (
            limit
            if isinstance(limit, int) and not isinstance(limit, bool)
            else DEFAULT_MAX_DELEGATION_DEPTH
        )
