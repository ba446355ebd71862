"""RFC-0013 routes: coordinator leases, guardrails, decision records. Shape only; rules
live in ``services.coordinators``.

Escalations, approvals, the governance policy and ``GET /intents/{id}/decisions`` are
served by the governance area. ``…/coordinator-decisions`` is the path the reference
client's ``list_decision_records`` calls (the reference server does not serve it).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from openintent.models import (
    CoordinatorActionRequest,
    CoordinatorHandoffRequest,
    CoordinatorHeartbeatRequest,
    CoordinatorLeaseCreateRequest,
    CoordinatorUpdateRequest,
    DecisionRecordCreateRequest,
)
from openintent.server.api.actions import action
from openintent.server.api.base import ApiController
from openintent.server.api.tasks import body_with, version_header
from openintent.server.http.auth import principal_of
from openintent.server.http.dto import CattrsDTO
from openintent.server.http.responses import idempotency_key, json_response
from openintent.server.services.coordinators import CoordinatorService

__all__ = ["CONTROLLERS", "CoordinatorController", "DecisionRecordController"]

Req = Request[Any, Any, Any]
Coordinators = NamedDependency[CoordinatorService]


def _optional_version(request: Req) -> int | None:
    return version_header(request, required=False)


def _lease_action(
    suffix: str,
    name: str,
    call: str,
    *,
    version: Any = _optional_version,
    decorator: Any = post,
    **options: Any,
) -> Any:
    return action(
        f"/coordinators/{{lease_id:str}}{suffix}",
        name=name,
        service=("coordinators", CoordinatorService),
        call=call,
        ids=("lease_id",),
        version=version,
        decorator=decorator,
        status_code=200,
        **options,
    )


class CoordinatorController(ApiController):
    path = "/api/v1"
    tags = ["coordinators"]  # noqa: RUF012 - litestar reads the class attribute

    @post("/coordinators", dto=CattrsDTO[CoordinatorLeaseCreateRequest], status_code=200)
    async def create_lease(
        self,
        request: Req,
        data: JSONBody[CoordinatorLeaseCreateRequest],
        coordinators: Coordinators,
    ) -> Response[bytes]:
        key = idempotency_key(request)
        return json_response(await coordinators.create(principal_of(request), data, key))

    @get("/coordinators/{lease_id:str}")
    async def get_lease(
        self, request: Req, lease_id: FromPath[str], coordinators: Coordinators
    ) -> Response[bytes]:
        return json_response(await coordinators.get(principal_of(request), lease_id))

    @patch("/coordinators/{lease_id:str}", dto=CattrsDTO[CoordinatorUpdateRequest])
    async def update_lease(
        self,
        request: Req,
        lease_id: FromPath[str],
        data: JSONBody[CoordinatorUpdateRequest],
        coordinators: Coordinators,
    ) -> Response[bytes]:
        version = version_header(request, required=True)
        assert version is not None
        return json_response(
            await coordinators.update(principal_of(request), lease_id, version, data)
        )

    # Actions on one lease: one service call each (``If-Match`` optional).
    release_lease = _lease_action("", "release_lease", "release", decorator=delete)
    heartbeat = _lease_action(
        "/heartbeat", "heartbeat", "heartbeat", body=CoordinatorHeartbeatRequest, version=None
    )
    pause = _lease_action("/pause", "pause", "pause", body=CoordinatorActionRequest)
    resume = _lease_action("/resume", "resume", "resume", body=CoordinatorActionRequest)
    release = _lease_action("/release", "release", "release")
    handoff = _lease_action(
        "/handoff", "handoff", "handoff", body=CoordinatorHandoffRequest, body_required=True
    )
    replace = _lease_action(
        "/replace",
        "replace",
        "handoff",
        body=CoordinatorHandoffRequest,
        body_required=True,
        fixed={"replace": True},
    )

    @get("/coordinators/{lease_id:str}/guardrails")
    async def get_guardrails(
        self, request: Req, lease_id: FromPath[str], coordinators: Coordinators
    ) -> Response[bytes]:
        return json_response(await coordinators.guardrails(principal_of(request), lease_id))

    @patch("/coordinators/{lease_id:str}/guardrails")
    async def update_guardrails(
        self,
        request: Req,
        lease_id: FromPath[str],
        data: JSONBody[dict[str, Any]],
        coordinators: Coordinators,
    ) -> Response[bytes]:
        version = version_header(request, required=False)
        return json_response(
            await coordinators.update_guardrails(principal_of(request), lease_id, version, data)
        )

    @get("/coordinators/{lease_id:str}/guardrails/status")
    async def guardrail_status(
        self, request: Req, lease_id: FromPath[str], coordinators: Coordinators
    ) -> Response[bytes]:
        return json_response(await coordinators.guardrail_status(principal_of(request), lease_id))

    # -- per intent -------------------------------------------------------------------

    @get("/intents/{intent_id:str}/coordinators")
    async def list_leases(
        self, intent_id: FromPath[str], coordinators: Coordinators
    ) -> Response[bytes]:
        return json_response(await coordinators.of_intent(intent_id))

    @get("/intents/{intent_id:str}/coordinator")
    async def current(
        self, intent_id: FromPath[str], coordinators: Coordinators
    ) -> Response[bytes]:
        return json_response(await coordinators.current(intent_id))

    @post("/intents/{intent_id:str}/coordinator", status_code=200)
    async def assign(
        self, request: Req, intent_id: FromPath[str], coordinators: Coordinators
    ) -> Response[bytes]:
        data = await body_with(request, CoordinatorLeaseCreateRequest, intent_id=intent_id)
        return json_response(await coordinators.create(principal_of(request), data))

    @delete("/intents/{intent_id:str}/coordinator", status_code=200)
    async def unassign(
        self, request: Req, intent_id: FromPath[str], coordinators: Coordinators
    ) -> Response[bytes]:
        return json_response(await coordinators.release_current(principal_of(request), intent_id))


class DecisionRecordController(ApiController):
    path = "/api/v1"
    tags = ["coordinators"]  # noqa: RUF012 - litestar reads the class attribute

    @post("/decisions", dto=CattrsDTO[DecisionRecordCreateRequest], status_code=200)
    async def record(
        self, request: Req, data: JSONBody[DecisionRecordCreateRequest], coordinators: Coordinators
    ) -> Response[bytes]:
        key = idempotency_key(request)
        return json_response(await coordinators.record_decision(principal_of(request), data, key))

    @get("/decisions/{decision_id:str}")
    async def get_record(
        self, request: Req, decision_id: FromPath[str], coordinators: Coordinators
    ) -> Response[bytes]:
        return json_response(await coordinators.decision(principal_of(request), decision_id))

    @get("/intents/{intent_id:str}/coordinator-decisions")
    async def list_records(
        self,
        intent_id: FromPath[str],
        coordinators: Coordinators,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 50,
    ) -> Response[bytes]:
        return json_response(await coordinators.decisions(intent_id, limit))


CONTROLLERS: list[Any] = [CoordinatorController, DecisionRecordController]
