"""RFC-0014 rules: vaults, credentials, tool grants and invocation records.

The tool proxy itself (``POST /api/v1/tools/invoke``) is :mod:`services.tools`.

Beyond the reference (which stores and returns secrets verbatim and checks nothing):

* **Secrets.** Credential ``metadata`` is split: values under secret-looking keys
  (``api_key``, ``password``, ``client_secret``, an ``Authorization`` header, ...) are
  sealed with AES-256-GCM (:mod:`services.secrets`) and never leave the server again;
  responses, events and stream messages carry only the public part.
* **Who may manage a credential.** The principal (API key) that stored the credential
  or its vault, or a caller whose ``X-Agent-ID`` is the vault's ``owner_id``. Only a
  manager creates grants on it, rotates or revokes it, or deletes its vault (403
  otherwise). Reading (without secrets) is open to every key, as in the reference.
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

import uuid
from collections.abc import Mapping
from typing import Any, TypeVar

from openintent.core.converter import to_wire, utcnow
from openintent.exceptions import ConflictError, ForbiddenError, NotFoundError
from openintent.models import (
    Credential,
    CredentialStatus,
    CredentialVault,
    GrantSource,
    GrantStatus,
    ToolGrant,
    ToolInvocation,
)
from openintent.models._base import WireModel
from openintent.models.enums import AuthType
from openintent.models.vaults import (
    CredentialCreateRequest,
    CredentialRotateRequest,
    GrantDelegateRequest,
    InvocationRecordRequest,
    ToolGrantCreateRequest,
    VaultCreateRequest,
)
from openintent.server import channels
from openintent.server.config import ServerConfig
from openintent.server.services import Services, idempotency
from openintent.server.services._checks import integer, invalid, text
from openintent.server.services.principal import Principal
from openintent.server.services.secrets import (
    SecretBox,
    SecretsUnavailable,
    load_box,
    principal_hash,
    scrub,
    secret_values,
    split_metadata,
)
from openintent.server.services.tool_adapters import ADAPTERS
from openintent.server.services.tool_http import HostPolicy, Resolver
from openintent.server.services.vault_records import (
    check_future,
    check_offered,
    constraint_dict,
    context_text,
    credential_from_row,
    grant_from_row,
    grant_tools,
    invocation_from_row,
    require_texts,
    tighter_constraints,
    vault_from_row,
)
from openintent.server.store.database import Database, dump_json, load_json
from openintent.server.store.schema import register_tables
from openintent.server.store.tables import IntentRow
from openintent.server.store.vaults_tables import (
    INDEXES,
    TABLES,
    CredentialRow,
    GrantRow,
    InvocationRow,
    VaultRow,
)

__all__ = ["INVOCATION_STATUSES", "VaultService", "VaultSettings", "install"]

register_tables(TABLES, indexes=INDEXES)

M = TypeVar("M", bound=WireModel)

VAULT_NOT_FOUND = "Vault not found"
CREDENTIAL_NOT_FOUND = "Credential not found"
GRANT_NOT_FOUND = "Grant not found"
DEFAULT_MAX_DELEGATION_DEPTH = 3
#: Statuses an invocation record may have (manual records: the first four).
INVOCATION_STATUSES = ("success", "error", "denied", "timeout")
AUTH_TYPES = frozenset({a.value for a in AuthType} | set(ADAPTERS))


class VaultSettings:
    """The configuration the vault and tool services need, bound on first use.

    ``Services`` is built from the database alone; the app's ``ServerConfig`` reaches
    these services through their route dependency (``api.vaults``), which binds it here.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.config: ServerConfig | None = None
        self.resolver: Resolver | None = None  # tests substitute DNS
        self._box: SecretBox | None = None

    def bind(self, config: ServerConfig) -> None:
        if self.config is None:
            self.config = config

    def box(self) -> SecretBox:
        if self._box is None:
            key = self.config.secret_key if self.config else None
            self._box = load_box(key, self.db.url)
        return self._box

    def policy(self) -> HostPolicy:
        allow = self.config.tool_allow_hosts if self.config else frozenset()
        return HostPolicy.from_entries(allow, self.resolver)


# -- the service -----------------------------------------------------------------------


class VaultService:
    def __init__(self, db: Database, settings: VaultSettings) -> None:
        self.db = db
        self.settings = settings

    # -- vaults -----------------------------------------------------------------------

    async def create_vault(
        self, principal: Principal, req: VaultCreateRequest, idempotency_key: str | None = None
    ) -> CredentialVault:
        require_texts(owner_id=req.owner_id, name=req.name)
        row = VaultRow(
            id=str(uuid.uuid4()),
            owner_id=req.owner_id,
            name=req.name,
            created_by_key=principal_hash(principal.key),
            created_at=utcnow(),
        )
        async with self.db.write():
            if replayed := await _replayed(principal, "vault", idempotency_key, CredentialVault):
                return replayed
            await VaultRow.insert(row)
            vault = vault_from_row(row.to_dict(), [])
            await _remember(principal, "vault", idempotency_key, vault)
        return vault

    async def _vault_row(self, vault_id: str) -> dict[str, Any]:
        rows = await VaultRow.select().where(VaultRow.id == vault_id).limit(1)
        if not rows:
            raise NotFoundError(VAULT_NOT_FOUND, status_code=404)
        return rows[0]

    async def get_vault(self, vault_id: str) -> CredentialVault:
        row = await self._vault_row(vault_id)
        ids = (
            await CredentialRow.select(CredentialRow.id)
            .where(CredentialRow.vault_id == vault_id)
            .order_by(CredentialRow.seq)
        )
        return vault_from_row(row, [r["id"] for r in ids])

    async def list_vaults(self, owner_id: str | None) -> list[CredentialVault]:
        query = VaultRow.select().order_by(VaultRow.seq)
        if owner_id is not None:
            query = query.where(VaultRow.owner_id == owner_id)
        rows = await query
        ids = await CredentialRow.select(CredentialRow.id, CredentialRow.vault_id).order_by(
            CredentialRow.seq
        )
        by_vault: dict[str, list[str]] = {}
        for r in ids:
            by_vault.setdefault(r["vault_id"], []).append(r["id"])
        return [vault_from_row(row, by_vault.get(row["id"], [])) for row in rows]

    async def delete_vault(self, principal: Principal, vault_id: str) -> dict[str, Any]:
        """Delete a vault and its credentials (secrets destroyed); their grants are revoked."""
        async with self.db.write():
            vault = await self._vault_row(vault_id)
            if not self._manages(principal, vault, None):
                raise ForbiddenError("Only the vault's owner may delete it", status_code=403)
            credentials = await CredentialRow.select().where(CredentialRow.vault_id == vault_id)
            revoked = 0
            for credential in credentials:
                revoked += await self._revoke_credential_grants(credential, "vault deleted")
            await CredentialRow.delete().where(CredentialRow.vault_id == vault_id)
            await VaultRow.delete().where(VaultRow.id == vault_id)
        return {
            "status": "deleted",
            "vault_id": vault_id,
            "credentials_deleted": len(credentials),
            "grants_revoked": revoked,
        }

    def _manages(
        self, principal: Principal, vault: Mapping[str, Any], credential: Mapping[str, Any] | None
    ) -> bool:
        me = principal_hash(principal.key)
        if vault["created_by_key"] == me or (credential and credential["created_by_key"] == me):
            return True
        return principal.agent_id is not None and principal.agent_id == vault["owner_id"]

    # -- credentials ------------------------------------------------------------------

    async def create_credential(
        self,
        principal: Principal,
        req: CredentialCreateRequest,
        idempotency_key: str | None = None,
    ) -> Credential:
        require_texts(vault_id=req.vault_id, service=req.service, label=req.label)
        auth_type = str(req.auth_type)
        if auth_type not in AUTH_TYPES:
            raise invalid("auth_type", f"must be one of {', '.join(sorted(AUTH_TYPES))}")
        for scope in req.scopes_available:
            text("scopes_available", scope, required=True)
        check_future("expires_at", req.expires_at)
        credential_id = str(uuid.uuid4())
        public, sealed_doc = split_metadata(req.metadata)
        # Seal before the transaction: a missing key is a 503 with nothing stored.
        sealed = (
            self.settings.box().seal(sealed_doc, bound_to=credential_id) if sealed_doc else None
        )
        now = utcnow()
        row = CredentialRow(
            id=credential_id,
            vault_id=req.vault_id,
            service=req.service,
            label=req.label,
            auth_type=auth_type,
            scopes_available=dump_json(list(dict.fromkeys(req.scopes_available))),
            status=CredentialStatus.ACTIVE.value,
            public_metadata=dump_json(public),
            sealed=sealed,
            created_by_key=principal_hash(principal.key),
            created_at=now,
            expires_at=req.expires_at,
        )
        async with self.db.write():
            if replayed := await _replayed(principal, "credential", idempotency_key, Credential):
                return replayed
            await self._vault_row(req.vault_id)
            await CredentialRow.insert(row)
            credential = credential_from_row(row.to_dict(), now)
            await _remember(principal, "credential", idempotency_key, credential)
        return credential

    async def credential_row(self, credential_id: str) -> dict[str, Any]:
        rows = await CredentialRow.select().where(CredentialRow.id == credential_id).limit(1)
        if not rows:
            raise NotFoundError(CREDENTIAL_NOT_FOUND, status_code=404)
        return rows[0]

    async def get_credential(self, credential_id: str) -> Credential:
        return credential_from_row(await self.credential_row(credential_id), utcnow())

    async def list_credentials(self, vault_id: str) -> list[Credential]:
        await self._vault_row(vault_id)
        rows = (
            await CredentialRow.select()
            .where(CredentialRow.vault_id == vault_id)
            .order_by(CredentialRow.seq)
        )
        now = utcnow()
        return [credential_from_row(r, now) for r in rows]

    def open_secrets(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The full metadata of a credential (public part when nothing is sealed)."""
        if row["sealed"] is None:
            public: dict[str, Any] = load_json(row["public_metadata"], {})
            return public
        return self.settings.box().open(row["sealed"], bound_to=row["id"])

    async def rotate_credential(
        self, principal: Principal, credential_id: str, req: CredentialRotateRequest
    ) -> Credential:
        for scope in req.scopes_available or ():
            text("scopes_available", scope, required=True)
        text("rotated_by", req.rotated_by)
        check_future("expires_at", req.expires_at)
        async with self.db.write():
            row = await self.credential_row(credential_id)
            await self._require_manager(principal, row)
            if row["status"] == CredentialStatus.REVOKED:
                raise ConflictError("Credential is revoked", status_code=409)
            merged = {**self.open_secrets(row)}
            for key, value in req.metadata.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            public, sealed_doc = split_metadata(merged)
            sealed = (
                self.settings.box().seal(sealed_doc, bound_to=credential_id) if sealed_doc else None
            )
            now = utcnow()
            values: dict[Any, Any] = {
                CredentialRow.public_metadata: dump_json(public),
                CredentialRow.sealed: sealed,
                CredentialRow.rotated_at: now,
            }
            if req.scopes_available is not None:
                values[CredentialRow.scopes_available] = dump_json(
                    list(dict.fromkeys(req.scopes_available))
                )
            if req.expires_at is not None:
                values[CredentialRow.expires_at] = req.expires_at
            rows = (
                await CredentialRow.update(values)
                .where(CredentialRow.id == credential_id)
                .returning(*CredentialRow.all_columns())
            )
            payload = {
                "credential_id": credential_id,
                "rotated_by": principal.fallback(req.rotated_by),
            }
            await self._announce_to_grantees(credential_id, "credential.rotated", payload)
        return credential_from_row(rows[0], now)

    async def revoke_credential(
        self, principal: Principal, credential_id: str, reason: str | None
    ) -> dict[str, Any]:
        """Revoke: the sealed material is destroyed and every grant on it revoked."""
        text("reason", reason)
        async with self.db.write():
            row = await self.credential_row(credential_id)
            await self._require_manager(principal, row)
            affected = await self._revoke_credential_grants(row, reason or "credential revoked")
            if row["status"] != CredentialStatus.REVOKED:
                await CredentialRow.update(
                    {
                        CredentialRow.status: CredentialStatus.REVOKED.value,
                        CredentialRow.sealed: None,
                        CredentialRow.revoked_at: utcnow(),
                    }
                ).where(CredentialRow.id == credential_id)
        return {
            "status": "revoked",
            "credential_id": credential_id,
            "affected_grants_count": affected,
        }

    async def _require_manager(self, principal: Principal, credential: Mapping[str, Any]) -> None:
        vault = await VaultRow.select().where(VaultRow.id == credential["vault_id"]).limit(1)
        if not vault or not self._manages(principal, vault[0], credential):
            raise ForbiddenError(
                "Only the principal that stored this credential, or its vault's owner, may "
                "manage it",
                status_code=403,
            )

    async def _revoke_credential_grants(self, credential: Mapping[str, Any], reason: str) -> int:
        rows = await GrantRow.select().where(
            (GrantRow.credential_id == credential["id"])
            & (GrantRow.status != GrantStatus.REVOKED.value)
        )
        for grant in rows:
            await self._set_revoked(grant, reason, cascade_count=0)
        payload = {
            "credential_id": credential["id"],
            "reason": reason,
            "affected_grants_count": len(rows),
        }
        for agent_id in sorted({g["agent_id"] for g in rows}):
            await self.db.emit(channels.agent(agent_id), "credential.revoked", payload)
        return len(rows)

    async def _announce_to_grantees(
        self, credential_id: str, name: str, payload: dict[str, Any]
    ) -> None:
        rows = await GrantRow.select(GrantRow.agent_id).where(
            (GrantRow.credential_id == credential_id)
            & (GrantRow.status != GrantStatus.REVOKED.value)
        )
        for agent_id in sorted({r["agent_id"] for r in rows}):
            await self.db.emit(channels.agent(agent_id), name, payload)

    # -- grants -----------------------------------------------------------------------

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
                id=str(uuid.uuid4()),
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
                id=str(uuid.uuid4()),
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

    # -- invocation records -----------------------------------------------------------

    async def record_invocation(
        self,
        principal: Principal,
        req: InvocationRecordRequest,
        idempotency_key: str | None = None,
    ) -> ToolInvocation:
        """A manually reported invocation (``POST /api/v1/invocations``)."""
        require_texts(
            grant_id=req.grant_id, service=req.service, tool=req.tool, agent_id=req.agent_id
        )
        if str(req.status) not in INVOCATION_STATUSES:
            raise invalid("status", f"must be one of {', '.join(INVOCATION_STATUSES)}")
        text("idempotency_key", req.idempotency_key)
        integer("duration_ms", req.duration_ms)
        async with self.db.write():
            if replayed := await _replayed(
                principal, "invocation", idempotency_key, ToolInvocation
            ):
                return replayed
            grant = await self.grant_row(req.grant_id)
            credential = await CredentialRow.select().where(
                CredentialRow.id == grant["credential_id"]
            )
            known = self._known_secrets(credential[0]) if credential else set()
            context = scrub(req.context, known, by_key=False)
            row = InvocationRow(
                id=str(uuid.uuid4()),
                grant_id=req.grant_id,
                service=req.service,
                tool=req.tool,
                agent_id=req.agent_id,
                parameters=dump_json(scrub(req.parameters, known, by_key=False)),
                status=str(req.status),
                result=dump_json(scrub(req.result, known, by_key=False)),
                error=dump_json(scrub(req.error, known, by_key=False)),
                cost=dump_json(req.cost),
                duration_ms=req.duration_ms,
                idempotency_key=req.idempotency_key,
                context=dump_json(context),
                intent_id=context_text(context, "intent_id"),
                task_id=context_text(context, "task_id"),
                proxied=False,
                timestamp=utcnow(),
            )
            await InvocationRow.insert(row)
            record = invocation_from_row(row.to_dict())
            await _remember(principal, "invocation", idempotency_key, record)
        return record

    def _known_secrets(self, credential: Mapping[str, Any]) -> set[str]:
        """Secret values of a credential, to scrub from anything recorded about it."""
        try:
            return secret_values(self.open_secrets(credential))
        except SecretsUnavailable:
            return set()

    async def grant_invocations(self, grant_id: str, limit: int) -> list[ToolInvocation]:
        rows = (
            await InvocationRow.select()
            .where(InvocationRow.grant_id == grant_id)
            .order_by(InvocationRow.seq, ascending=False)
            .limit(limit)
        )
        return [invocation_from_row(r) for r in rows]

    async def get_invocation(self, invocation_id: str) -> ToolInvocation:
        rows = await InvocationRow.select().where(InvocationRow.id == invocation_id).limit(1)
        if not rows:
            raise NotFoundError("Invocation not found", status_code=404)
        return invocation_from_row(rows[0])

    async def require_intent(self, intent_id: str) -> None:
        if not await IntentRow.exists().where(IntentRow.id == intent_id):
            raise NotFoundError("Intent not found", status_code=404)

    async def query_invocations(
        self, filters: Mapping[str, str | None], limit: int, offset: int
    ) -> tuple[list[ToolInvocation], int]:
        """Newest first; ``filters`` keys: grant_id, agent_id, tool, status, intent_id, task_id."""
        query = InvocationRow.select().order_by(InvocationRow.seq, ascending=False)
        count = InvocationRow.count()
        for name, value in filters.items():
            if value is not None:
                column = getattr(InvocationRow, name)
                query = query.where(column == value)
                count = count.where(column == value)
        rows = await query.limit(limit).offset(offset)
        return [invocation_from_row(r) for r in rows], await count


async def _replayed(principal: Principal, route: str, key: str | None, model: type[M]) -> M | None:
    """The first answer to a create repeated with the same ``Idempotency-Key``."""
    if not key:
        return None
    stored = await idempotency.claim(idempotency.scoped_key(principal, route, key))
    return model.from_dict(stored) if stored is not None else None


async def _remember(principal: Principal, route: str, key: str | None, answer: Any) -> None:
    if key:
        await idempotency.record(idempotency.scoped_key(principal, route, key), to_wire(answer))


def install(services: Services) -> None:
    from openintent.server.services.tools import ToolService

    settings = VaultSettings(services.db)
    vaults = VaultService(services.db, settings)
    services.add("vaults", vaults)
    services.add("tools", ToolService(services.db, vaults))
