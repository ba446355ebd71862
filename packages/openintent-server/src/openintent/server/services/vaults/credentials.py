"""Vaults and credentials: create, read, rotate, revoke, delete.

* **Secrets.** Credential ``metadata`` is split: values under secret-looking keys
  (``api_key``, ``password``, ``client_secret``, an ``Authorization`` header, ...) are
  sealed with AES-256-GCM (:mod:`services.secrets`) and never leave the server again;
  responses, events and stream messages carry only the public part.
* **Who may manage a credential.** The principal (API key) that stored the credential
  or its vault, or a caller whose ``X-Agent-ID`` is the vault's ``owner_id``. Only a
  manager creates grants on it, rotates or revokes it, or deletes its vault (403
  otherwise). Reading (without secrets) is open to every key, as in the reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openintent.core.converter import utcnow
from openintent.exceptions import ConflictError, ForbiddenError, NotFoundError
from openintent.models import Credential, CredentialStatus, CredentialVault, GrantStatus
from openintent.models.vaults import (
    CredentialCreateRequest,
    CredentialRotateRequest,
    VaultCreateRequest,
)
from openintent.server import channels
from openintent.server.ids import new_id
from openintent.server.services._checks import invalid, text
from openintent.server.services.principal import Principal
from openintent.server.services.secrets import principal_hash, split_metadata
from openintent.server.services.vaults.common import (
    AUTH_TYPES,
    CREDENTIAL_NOT_FOUND,
    VAULT_NOT_FOUND,
    _remember,
    _replayed,
)
from openintent.server.services.vaults.records import (
    check_future,
    credential_from_row,
    require_texts,
    vault_from_row,
)
from openintent.server.store.database import dump_json, load_json
from openintent.server.store.vaults_tables import CredentialRow, GrantRow, VaultRow

__all__ = ["VaultCredentials"]


class VaultCredentials:
    """Vault and credential operations (mixed into ``VaultService``)."""

    async def create_vault(
        self, principal: Principal, req: VaultCreateRequest, idempotency_key: str | None = None
    ) -> CredentialVault:
        require_texts(owner_id=req.owner_id, name=req.name)
        row = VaultRow(
            id=new_id(),
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
        credential_id = new_id()
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
