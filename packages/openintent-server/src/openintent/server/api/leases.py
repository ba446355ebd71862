"""RFC-0003 routes: scope leases. Shape only; rules live in ``services.leases``.

``GET …/leases`` answers a bare array as the reference does (spec README C13 decision);
clients that read ``{"leases": [...]}`` accept the array too in our SDK.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from openintent.models import LeaseAcquireRequest, LeaseRenewRequest
from openintent.server.api.base import ApiController
from openintent.server.http.auth import principal_of
from openintent.server.http.dto import CattrsDTO
from openintent.server.http.responses import json_response
from openintent.server.services.leases import LeaseService

__all__ = ["CONTROLLERS", "LeaseController"]

Req = Request[Any, Any, Any]


class LeaseController(ApiController):
    path = "/api/v1/intents/{intent_id:str}/leases"
    tags = ["leases"]  # noqa: RUF012 - litestar reads the class attribute

    @get("/")
    async def list_leases(
        self, intent_id: FromPath[str], leases: NamedDependency[LeaseService]
    ) -> Response[bytes]:
        return json_response(await leases.of_intent(intent_id))

    @post("/", dto=CattrsDTO[LeaseAcquireRequest], status_code=200)
    async def acquire_lease(
        self,
        request: Req,
        intent_id: FromPath[str],
        data: JSONBody[LeaseAcquireRequest],
        leases: NamedDependency[LeaseService],
    ) -> Response[bytes]:
        return json_response(await leases.acquire(principal_of(request), intent_id, data))

    @patch("/{lease_id:str}", dto=CattrsDTO[LeaseRenewRequest])
    async def renew_lease(
        self,
        request: Req,
        intent_id: FromPath[str],
        lease_id: FromPath[str],
        data: JSONBody[LeaseRenewRequest],
        leases: NamedDependency[LeaseService],
    ) -> Response[bytes]:
        return json_response(await leases.renew(principal_of(request), intent_id, lease_id, data))

    @delete("/{lease_id:str}", status_code=200)
    async def release_lease(
        self,
        request: Req,
        intent_id: FromPath[str],
        lease_id: FromPath[str],
        leases: NamedDependency[LeaseService],
    ) -> Response[bytes]:
        await leases.release(principal_of(request), intent_id, lease_id)
        return json_response({"message": "Lease released"})


CONTROLLERS: list[Any] = [LeaseController]
