"""RFC-0011 routes: ACLs and access requests. Shape only; rules (and what each
permission level allows) live in ``services.access``."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from openintent.models import (
    AccessDecisionRequest,
    AccessRequestCreateRequest,
    ACLGrantRequest,
    ACLSetRequest,
)
from openintent.server.api.access_guard import (
    INTENT_PERMISSION,
    NO_PERMISSION,
)
from openintent.server.api.base import ApiController
from openintent.server.http.auth import principal_of
from openintent.server.http.dto import CattrsDTO
from openintent.server.http.responses import idempotency_key, json_response
from openintent.server.services.access import AccessService

__all__ = ["CONTROLLERS", "AccessController"]

Req = Request[Any, Any, Any]
ADMIN = {INTENT_PERMISSION: "admin"}


class AccessController(ApiController):
    path = "/api/v1/intents/{intent_id:str}"
    tags = ["access"]  # noqa: RUF012 - litestar reads the class attribute
    # NUL in ids or filters would reach PostgreSQL as an error (a 500) otherwise.

    @get("/acl")
    async def get_acl(
        self, intent_id: FromPath[str], access: NamedDependency[AccessService]
    ) -> Response[bytes]:
        return json_response(await access.get_acl(intent_id))

    @put("/acl", dto=CattrsDTO[ACLSetRequest], status_code=200, opt=ADMIN)
    async def set_acl(
        self,
        request: Req,
        intent_id: FromPath[str],
        data: JSONBody[ACLSetRequest],
        access: NamedDependency[AccessService],
    ) -> Response[bytes]:
        return json_response(await access.set_acl(principal_of(request), intent_id, data))

    @post("/acl/entries", dto=CattrsDTO[ACLGrantRequest], status_code=200, opt=ADMIN)
    async def grant(
        self,
        request: Req,
        intent_id: FromPath[str],
        data: JSONBody[ACLGrantRequest],
        access: NamedDependency[AccessService],
    ) -> Response[bytes]:
        key = idempotency_key(request)
        return json_response(await access.grant(principal_of(request), intent_id, data, key))

    @delete("/acl/entries/{entry_id:str}", status_code=204, opt=ADMIN)
    async def revoke(
        self,
        request: Req,
        intent_id: FromPath[str],
        entry_id: FromPath[str],
        access: NamedDependency[AccessService],
    ) -> None:
        await access.revoke(principal_of(request), intent_id, entry_id)

    # Anyone with a key may ask for access; that is what the request is for.
    @post(
        "/access-requests",
        dto=CattrsDTO[AccessRequestCreateRequest],
        status_code=200,
        opt={INTENT_PERMISSION: NO_PERMISSION},
    )
    async def request_access(
        self,
        request: Req,
        intent_id: FromPath[str],
        data: JSONBody[AccessRequestCreateRequest],
        access: NamedDependency[AccessService],
    ) -> Response[bytes]:
        key = idempotency_key(request)
        return json_response(
            await access.request_access(
                intent_id, data, principal=principal_of(request), idempotency_key=key
            )
        )

    @get("/access-requests")
    async def list_requests(
        self, intent_id: FromPath[str], access: NamedDependency[AccessService]
    ) -> Response[bytes]:
        return json_response({"access_requests": await access.list_requests(intent_id)})

    @post(
        "/access-requests/{request_id:str}/approve",
        dto=CattrsDTO[AccessDecisionRequest],
        status_code=200,
        opt=ADMIN,
    )
    async def approve(
        self,
        request: Req,
        intent_id: FromPath[str],
        request_id: FromPath[str],
        data: JSONBody[AccessDecisionRequest],
        access: NamedDependency[AccessService],
    ) -> Response[bytes]:
        return json_response(
            await access.decide(principal_of(request), intent_id, request_id, data, approve=True)
        )

    @post(
        "/access-requests/{request_id:str}/deny",
        dto=CattrsDTO[AccessDecisionRequest],
        status_code=200,
        opt=ADMIN,
    )
    async def deny(
        self,
        request: Req,
        intent_id: FromPath[str],
        request_id: FromPath[str],
        data: JSONBody[AccessDecisionRequest],
        access: NamedDependency[AccessService],
    ) -> Response[bytes]:
        return json_response(
            await access.decide(principal_of(request), intent_id, request_id, data, approve=False)
        )


CONTROLLERS: list[Any] = [AccessController]
