"""RFC-0014 routes: vaults, credentials, tool grants, invocation records (and, from
``api.tools``, the tool proxy). Shape only; rules live in ``services.vaults``.

Reference routes keep their shapes (bare arrays for an agent's grants and a grant's
invocations, ``{"status": "revoked", "grant_id"}`` on revoke). Routes the reference
lacks answer wrapped lists (``{"vaults": [...]}``, ``{"grants": [...]}``, ...).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from openintent.models import GrantStatus
from openintent.models.vaults import (
    CredentialCreateRequest,
    CredentialRotateRequest,
    GrantDelegateRequest,
    GrantSuspendRequest,
    InvocationRecordRequest,
    ToolGrantCreateRequest,
    VaultCreateRequest,
)
from openintent.server.api.base import ApiController
from openintent.server.api.support import bound, query_error, read_body
from openintent.server.api.tools import ToolController
from openintent.server.http.auth import principal_of
from openintent.server.http.dto import CattrsDTO
from openintent.server.http.responses import idempotency_key, json_response
from openintent.server.services._checks import invalid
from openintent.server.services.vaults import INVOCATION_STATUSES, VaultService

__all__ = ["CONTROLLERS"]

Req = Request[Any, Any, Any]
Limit = Annotated[int, QueryParameter(ge=1, le=1000)]
Offset = Annotated[int, QueryParameter(ge=0)]


class _VaultArea(ApiController):
    dependencies = {"vaults": bound("vaults")}  # noqa: RUF012 - litestar reads the class attribute
    tags = ["vaults"]  # noqa: RUF012


class VaultController(_VaultArea):
    path = "/api/v1/vaults"

    @post("/", dto=CattrsDTO[VaultCreateRequest], status_code=200)
    async def create_vault(
        self,
        request: Req,
        data: JSONBody[VaultCreateRequest],
        vaults: NamedDependency[VaultService],
    ) -> Response[bytes]:
        key = idempotency_key(request)
        return json_response(await vaults.create_vault(principal_of(request), data, key))

    @get("/")
    async def list_vaults(
        self, vaults: NamedDependency[VaultService], owner_id: FromQuery[str | None] = None
    ) -> Response[bytes]:
        return json_response({"vaults": await vaults.list_vaults(owner_id)})

    @get("/{vault_id:str}")
    async def get_vault(
        self, vault_id: FromPath[str], vaults: NamedDependency[VaultService]
    ) -> Response[bytes]:
        return json_response(await vaults.get_vault(vault_id))

    @delete("/{vault_id:str}", status_code=200)
    async def delete_vault(
        self, request: Req, vault_id: FromPath[str], vaults: NamedDependency[VaultService]
    ) -> Response[bytes]:
        return json_response(await vaults.delete_vault(principal_of(request), vault_id))

    @get("/{vault_id:str}/credentials")
    async def list_credentials(
        self, vault_id: FromPath[str], vaults: NamedDependency[VaultService]
    ) -> Response[bytes]:
        return json_response({"credentials": await vaults.list_credentials(vault_id)})

    @post("/{vault_id:str}/credentials", status_code=200)
    async def create_nested_credential(
        self, request: Req, vault_id: FromPath[str], vaults: NamedDependency[VaultService]
    ) -> Response[bytes]:
        body = await read_body(request, CredentialCreateRequest, vault_id=vault_id)
        if body.vault_id != vault_id:
            raise invalid("vault_id", "differs from the vault in the path")
        key = idempotency_key(request)
        return json_response(await vaults.create_credential(principal_of(request), body, key))


class CredentialController(_VaultArea):
    path = "/api/v1/credentials"

    @post("/", dto=CattrsDTO[CredentialCreateRequest], status_code=200)
    async def create_credential(
        self,
        request: Req,
        data: JSONBody[CredentialCreateRequest],
        vaults: NamedDependency[VaultService],
    ) -> Response[bytes]:
        key = idempotency_key(request)
        return json_response(await vaults.create_credential(principal_of(request), data, key))

    @get("/{credential_id:str}")
    async def get_credential(
        self, credential_id: FromPath[str], vaults: NamedDependency[VaultService]
    ) -> Response[bytes]:
        return json_response(await vaults.get_credential(credential_id))

    @patch("/{credential_id:str}/rotate", dto=CattrsDTO[CredentialRotateRequest], status_code=200)
    async def rotate_credential(
        self,
        request: Req,
        credential_id: FromPath[str],
        data: JSONBody[CredentialRotateRequest],
        vaults: NamedDependency[VaultService],
    ) -> Response[bytes]:
        return json_response(
            await vaults.rotate_credential(principal_of(request), credential_id, data)
        )

    @delete("/{credential_id:str}", status_code=200)
    async def revoke_credential(
        self,
        request: Req,
        credential_id: FromPath[str],
        vaults: NamedDependency[VaultService],
        reason: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        return json_response(
            await vaults.revoke_credential(principal_of(request), credential_id, reason)
        )


class GrantController(_VaultArea):
    path = "/api/v1/grants"

    @post("/", dto=CattrsDTO[ToolGrantCreateRequest], status_code=200)
    async def create_grant(
        self,
        request: Req,
        data: JSONBody[ToolGrantCreateRequest],
        vaults: NamedDependency[VaultService],
    ) -> Response[bytes]:
        key = idempotency_key(request)
        return json_response(await vaults.create_grant(principal_of(request), data, key))

    @get("/")
    async def list_grants(
        self,
        vaults: NamedDependency[VaultService],
        agent_id: FromQuery[str | None] = None,
        credential_id: FromQuery[str | None] = None,
        status: FromQuery[GrantStatus | None] = None,
    ) -> Response[bytes]:
        grants = await vaults.list_grants(
            agent_id=agent_id, credential_id=credential_id, status=status
        )
        return json_response({"grants": grants})

    @get("/{grant_id:str}")
    async def get_grant(
        self, grant_id: FromPath[str], vaults: NamedDependency[VaultService]
    ) -> Response[bytes]:
        return json_response(await vaults.get_grant(grant_id))

    @delete("/{grant_id:str}", status_code=200)
    async def revoke_grant(
        self,
        request: Req,
        grant_id: FromPath[str],
        vaults: NamedDependency[VaultService],
        reason: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        return json_response(await vaults.revoke_grant(principal_of(request), grant_id, reason))

    @patch("/{grant_id:str}/suspend", status_code=200)
    async def suspend_grant(
        self, request: Req, grant_id: FromPath[str], vaults: NamedDependency[VaultService]
    ) -> Response[bytes]:
        body = await read_body(request, GrantSuspendRequest)
        return json_response(
            await vaults.suspend_grant(principal_of(request), grant_id, body.reason)
        )

    @patch("/{grant_id:str}/resume", status_code=200)
    async def resume_grant(
        self, request: Req, grant_id: FromPath[str], vaults: NamedDependency[VaultService]
    ) -> Response[bytes]:
        return json_response(await vaults.resume_grant(principal_of(request), grant_id))

    @post("/{grant_id:str}/delegate", dto=CattrsDTO[GrantDelegateRequest], status_code=200)
    async def delegate_grant(
        self,
        request: Req,
        grant_id: FromPath[str],
        data: JSONBody[GrantDelegateRequest],
        vaults: NamedDependency[VaultService],
    ) -> Response[bytes]:
        return json_response(await vaults.delegate_grant(principal_of(request), grant_id, data))

    @get("/{grant_id:str}/invocations")
    async def grant_invocations(
        self, grant_id: FromPath[str], vaults: NamedDependency[VaultService], limit: Limit = 50
    ) -> Response[bytes]:
        """Newest first, a bare array (reference shape; unknown grant: ``[]``)."""
        return json_response(await vaults.grant_invocations(grant_id, limit))


class AgentGrantController(_VaultArea):
    path = "/api/v1/agents/{agent_id:str}/grants"

    @get("/")
    async def list_agent_grants(
        self, agent_id: FromPath[str], vaults: NamedDependency[VaultService]
    ) -> Response[bytes]:
        """Every grant of the agent, any status, a bare array (reference shape)."""
        return json_response(await vaults.list_grants(agent_id=agent_id))


class InvocationController(_VaultArea):
    path = "/api/v1/invocations"

    @post("/", dto=CattrsDTO[InvocationRecordRequest], status_code=200)
    async def record_invocation(
        self,
        request: Req,
        data: JSONBody[InvocationRecordRequest],
        vaults: NamedDependency[VaultService],
    ) -> Response[bytes]:
        key = idempotency_key(request)
        return json_response(await vaults.record_invocation(principal_of(request), data, key))

    @get("/")
    async def query_invocations(
        self,
        vaults: NamedDependency[VaultService],
        grant_id: FromQuery[str | None] = None,
        agent_id: FromQuery[str | None] = None,
        tool: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        intent_id: FromQuery[str | None] = None,
        task_id: FromQuery[str | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Response[bytes]:
        if status is not None and status not in (*INVOCATION_STATUSES, "pending"):
            raise query_error("status", f"must be one of {', '.join(INVOCATION_STATUSES)}, pending")
        filters = {
            "grant_id": grant_id,
            "agent_id": agent_id,
            "tool": tool,
            "status": status,
            "intent_id": intent_id,
            "task_id": task_id,
        }
        items, total = await vaults.query_invocations(filters, limit, offset)
        return json_response(
            {"invocations": items, "total": total, "limit": limit, "offset": offset}
        )

    @get("/{invocation_id:str}")
    async def get_invocation(
        self, invocation_id: FromPath[str], vaults: NamedDependency[VaultService]
    ) -> Response[bytes]:
        return json_response(await vaults.get_invocation(invocation_id))


class ScopedInvocationController(_VaultArea):
    path = "/api/v1"

    @get("/intents/{intent_id:str}/invocations")
    async def intent_invocations(
        self,
        intent_id: FromPath[str],
        vaults: NamedDependency[VaultService],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Response[bytes]:
        await vaults.require_intent(intent_id)
        items, total = await vaults.query_invocations({"intent_id": intent_id}, limit, offset)
        return json_response(
            {"invocations": items, "total": total, "limit": limit, "offset": offset}
        )

    @get("/tasks/{task_id:str}/invocations")
    async def task_invocations(
        self,
        task_id: FromPath[str],
        vaults: NamedDependency[VaultService],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Response[bytes]:
        items, total = await vaults.query_invocations({"task_id": task_id}, limit, offset)
        return json_response(
            {"invocations": items, "total": total, "limit": limit, "offset": offset}
        )


CONTROLLERS: list[Any] = [
    VaultController,
    CredentialController,
    GrantController,
    AgentGrantController,
    InvocationController,
    ScopedInvocationController,
    ToolController,
]
