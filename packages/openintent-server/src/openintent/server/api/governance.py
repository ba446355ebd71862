"""RFC-0004/0013 routes: arbitration, decisions, escalations, approvals, the governance
policy. Shape only; rules live in ``services.governance``."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from openintent.models import (
    ApprovalCreateRequest,
    ArbitrationCreateRequest,
    DecisionCreateRequest,
    EscalationCreateRequest,
    EscalationResolveRequest,
)
from openintent.server.api.access_guard import INTENT_PERMISSION
from openintent.server.api.actions import action
from openintent.server.api.base import ApiController
from openintent.server.http.auth import principal_of
from openintent.server.http.dto import CattrsDTO
from openintent.server.http.responses import idempotency_key, if_match, json_response
from openintent.server.services._checks import INT32_MAX
from openintent.server.services.governance import GovernanceService

__all__ = ["CONTROLLERS", "GovernanceController"]

Req = Request[Any, Any, Any]
ADMIN = {INTENT_PERMISSION: "admin"}


def _approval_decision(name: str, *, approve: bool) -> Any:
    return action(
        f"/intents/{{intent_id:str}}/approvals/{{approval_id:str}}/{name}",
        name=name,
        service=("governance", GovernanceService),
        call="decide_approval",
        ids=("intent_id", "approval_id"),
        fixed={"approve": approve},
        status_code=200,
        opt=ADMIN,
    )


class GovernanceController(ApiController):
    path = "/api/v1"
    tags = ["governance"]  # noqa: RUF012 - litestar reads the class attribute
    # NUL in ids or filters would reach PostgreSQL as an error (a 500) otherwise.

    # -- arbitration and decisions ----------------------------------------------------

    @post(
        "/intents/{intent_id:str}/arbitrate",
        dto=CattrsDTO[ArbitrationCreateRequest],
        status_code=200,
    )
    async def arbitrate(
        self,
        request: Req,
        intent_id: FromPath[str],
        data: JSONBody[ArbitrationCreateRequest],
        governance: NamedDependency[GovernanceService],
    ) -> Response[bytes]:
        return json_response(await governance.arbitrate(principal_of(request), intent_id, data))

    @post(
        "/intents/{intent_id:str}/decisions", dto=CattrsDTO[DecisionCreateRequest], status_code=200
    )
    async def record_decision(
        self,
        request: Req,
        intent_id: FromPath[str],
        data: JSONBody[DecisionCreateRequest],
        governance: NamedDependency[GovernanceService],
    ) -> Response[bytes]:
        return json_response(
            await governance.record_decision(principal_of(request), intent_id, data)
        )

    @get("/intents/{intent_id:str}/decisions")
    async def list_decisions(
        self,
        intent_id: FromPath[str],
        governance: NamedDependency[GovernanceService],
        limit: Annotated[int, QueryParameter(ge=1, le=INT32_MAX)] = 50,
    ) -> Response[bytes]:
        # A bare array of RFC-0013 decision records, as the reference serves it.
        return json_response(await governance.list_decisions(intent_id, limit))

    # -- escalations ------------------------------------------------------------------

    @post(
        "/intents/{intent_id:str}/escalations",
        dto=CattrsDTO[EscalationCreateRequest],
        status_code=200,
    )
    async def escalate(
        self,
        request: Req,
        intent_id: FromPath[str],
        data: JSONBody[EscalationCreateRequest],
        governance: NamedDependency[GovernanceService],
    ) -> Response[bytes]:
        key = idempotency_key(request)
        return json_response(await governance.escalate(principal_of(request), intent_id, data, key))

    @get("/escalations")
    async def list_escalations(
        self,
        request: Req,
        governance: NamedDependency[GovernanceService],
        intent_id: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        items = await governance.list_escalations(principal_of(request), intent_id, status)
        return json_response({"escalations": items})

    @post(
        "/escalations/{escalation_id:str}/resolve",
        dto=CattrsDTO[EscalationResolveRequest],
        status_code=200,
    )
    async def resolve_escalation(
        self,
        request: Req,
        escalation_id: FromPath[str],
        data: JSONBody[EscalationResolveRequest],
        governance: NamedDependency[GovernanceService],
    ) -> Response[bytes]:
        return json_response(
            await governance.resolve_escalation(principal_of(request), escalation_id, data)
        )

    # -- approvals --------------------------------------------------------------------

    @post(
        "/intents/{intent_id:str}/approvals", dto=CattrsDTO[ApprovalCreateRequest], status_code=200
    )
    async def request_approval(
        self,
        request: Req,
        intent_id: FromPath[str],
        data: JSONBody[ApprovalCreateRequest],
        governance: NamedDependency[GovernanceService],
    ) -> Response[bytes]:
        key = idempotency_key(request)
        return json_response(
            await governance.request_approval(principal_of(request), intent_id, data, key)
        )

    @get("/intents/{intent_id:str}/approvals/{approval_id:str}")
    async def get_approval(
        self,
        intent_id: FromPath[str],
        approval_id: FromPath[str],
        governance: NamedDependency[GovernanceService],
    ) -> Response[bytes]:
        return json_response(await governance.get_approval(intent_id, approval_id))

    approve = _approval_decision("approve", approve=True)
    deny = _approval_decision("deny", approve=False)

    # -- the policy -------------------------------------------------------------------

    @put("/intents/{intent_id:str}/governance", status_code=200, opt=ADMIN)
    async def set_policy(
        self,
        request: Req,
        intent_id: FromPath[str],
        data: JSONBody[dict[str, Any]],
        governance: NamedDependency[GovernanceService],
    ) -> Response[bytes]:
        version = if_match(request)
        return json_response(
            await governance.set_policy(principal_of(request), intent_id, version, data)
        )

    @get("/intents/{intent_id:str}/governance")
    async def get_policy(
        self, intent_id: FromPath[str], governance: NamedDependency[GovernanceService]
    ) -> Response[bytes]:
        return json_response(await governance.get_policy(intent_id))

    @delete("/intents/{intent_id:str}/governance", status_code=200, opt=ADMIN)
    async def remove_policy(
        self, request: Req, intent_id: FromPath[str], governance: NamedDependency[GovernanceService]
    ) -> Response[bytes]:
        version = if_match(request)
        return json_response(
            await governance.remove_policy(principal_of(request), intent_id, version)
        )


CONTROLLERS: list[Any] = [GovernanceController]
