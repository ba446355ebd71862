"""RFC-0010 routes: an intent's retry policy and failure records. Shape only; rules
live in ``services.retry``."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from openintent.models import FailureCreateRequest, RetryPolicyRequest
from openintent.server.api.base import ApiController
from openintent.server.http.auth import principal_of
from openintent.server.http.dto import CattrsDTO
from openintent.server.http.responses import idempotency_key, json_response
from openintent.server.services.retry import RetryService

__all__ = ["CONTROLLERS", "RetryController"]

Req = Request[Any, Any, Any]


class RetryController(ApiController):
    path = "/api/v1/intents/{intent_id:str}"
    tags = ["retry"]  # noqa: RUF012 - litestar reads the class attribute

    @put("/retry-policy", dto=CattrsDTO[RetryPolicyRequest], status_code=200)
    async def set_retry_policy(
        self,
        request: Req,
        intent_id: FromPath[str],
        data: JSONBody[RetryPolicyRequest],
        retry: NamedDependency[RetryService],
    ) -> Response[bytes]:
        return json_response(await retry.set_policy(principal_of(request), intent_id, data))

    @get("/retry-policy")
    async def get_retry_policy(
        self, intent_id: FromPath[str], retry: NamedDependency[RetryService]
    ) -> Response[bytes]:
        return json_response(await retry.get_policy(intent_id))

    @get("/failures")
    async def list_failures(
        self, intent_id: FromPath[str], retry: NamedDependency[RetryService]
    ) -> Response[bytes]:
        return json_response(await retry.list_failures(intent_id))

    @post("/failures", dto=CattrsDTO[FailureCreateRequest], status_code=200)
    async def record_failure(
        self,
        request: Req,
        intent_id: FromPath[str],
        data: JSONBody[FailureCreateRequest],
        retry: NamedDependency[RetryService],
    ) -> Response[bytes]:
        key = idempotency_key(request)
        return json_response(
            await retry.record_failure(principal_of(request), intent_id, data, key)
        )


CONTROLLERS: list[Any] = [RetryController]
