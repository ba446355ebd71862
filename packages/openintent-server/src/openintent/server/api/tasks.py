"""RFC-0012 routes: tasks, plans, checkpoints. Shape only; rules live in
``services.tasks`` (a package: tasks and plans).

The reference's routes (``/tasks``, ``/plans``, ``/intents/{id}/tasks|plans``) keep its
shapes: 200 on create, bare arrays, ``If-Match`` required on ``PATCH`` (428 without).
The RFC's action routes the reference lacks take an optional ``If-Match`` (409 when it
is stale) and answer the changed object.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from litestar import Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from openintent.core.converter import structure
from openintent.models import (
    CheckpointDecisionRequest,
    PlanActionRequest,
    PlanCreateRequest,
    PlanUpdateRequest,
    TaskActorRequest,
    TaskCancelRequest,
    TaskCompleteRequest,
    TaskCreateRequest,
    TaskDelegateRequest,
    TaskEscalateRequest,
    TaskFailRequest,
    TaskProgressRequest,
    TaskStatus,
    TaskUpdateRequest,
)
from openintent.server.api.base import ApiController
from openintent.server.http.auth import principal_of
from openintent.server.http.body import INT64_MAX, check_content_type, check_model, decode_json
from openintent.server.http.dto import CattrsDTO
from openintent.server.http.responses import json_response
from openintent.server.services.tasks import PlanService, TaskService
from openintent.server.services.tasks_common import precondition_required

__all__ = ["CONTROLLERS", "PlanController", "TaskController", "body_with", "version_header"]

Req = Request[Any, Any, Any]
T = TypeVar("T")


def version_header(request: Req, *, required: bool) -> int | None:
    """``If-Match: <int>``; 428 when required and missing or not a bare integer."""
    raw = request.headers.get("if-match")
    value = (raw or "").strip()
    if value.isascii() and value.isdigit():
        return min(int(value), INT64_MAX) if len(value) < 100 else INT64_MAX
    if required or raw is not None:
        raise precondition_required()
    return None


async def body_with(request: Req, cls: type[T], **fixed: Any) -> T:
    """The JSON body as ``cls`` with path values filled in (the RFC's nested routes)."""
    check_content_type(request.headers.get("content-type"))
    data = decode_json(await request.body() or b"{}")
    if isinstance(data, dict):
        data = {**data, **fixed}
    obj = structure(data, cls)
    check_model(obj)
    return obj


class TaskController(ApiController):
    path = "/api/v1"
    tags = ["tasks"]  # noqa: RUF012 - litestar reads the class attribute

    @post("/tasks", dto=CattrsDTO[TaskCreateRequest], status_code=200)
    async def create_task(
        self, request: Req, data: JSONBody[TaskCreateRequest], tasks: NamedDependency[TaskService]
    ) -> Response[bytes]:
        return json_response(await tasks.create(principal_of(request), data))

    @post("/intents/{intent_id:str}/tasks", status_code=200)
    async def create_intent_task(
        self, request: Req, intent_id: FromPath[str], tasks: NamedDependency[TaskService]
    ) -> Response[bytes]:
        data = await body_with(request, TaskCreateRequest, intent_id=intent_id)
        return json_response(await tasks.create(principal_of(request), data))

    @get("/intents/{intent_id:str}/tasks")
    async def list_tasks(
        self,
        intent_id: FromPath[str],
        tasks: NamedDependency[TaskService],
        status: FromQuery[TaskStatus | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> Response[bytes]:
        return json_response(
            await tasks.of_intent(intent_id, status=status, limit=limit, offset=offset)
        )

    @get("/tasks/{task_id:str}")
    async def get_task(
        self, request: Req, task_id: FromPath[str], tasks: NamedDependency[TaskService]
    ) -> Response[bytes]:
        return json_response(await tasks.get(principal_of(request), task_id))

    @patch("/tasks/{task_id:str}", dto=CattrsDTO[TaskUpdateRequest])
    async def update_task(
        self,
        request: Req,
        task_id: FromPath[str],
        data: JSONBody[TaskUpdateRequest],
        tasks: NamedDependency[TaskService],
    ) -> Response[bytes]:
        version = version_header(request, required=True)
        assert version is not None
        return json_response(await tasks.update(principal_of(request), task_id, version, data))

    @post("/tasks/{task_id:str}/claim", dto=CattrsDTO[TaskActorRequest], status_code=200)
    async def claim_task(
        self,
        request: Req,
        task_id: FromPath[str],
        tasks: NamedDependency[TaskService],
        data: JSONBody[TaskActorRequest | None] = None,
    ) -> Response[bytes]:
        version = version_header(request, required=False)
        return json_response(
            await tasks.claim(principal_of(request), task_id, version, data or TaskActorRequest())
        )

    @post("/tasks/{task_id:str}/start", dto=CattrsDTO[TaskActorRequest], status_code=200)
    async def start_task(
        self,
        request: Req,
        task_id: FromPath[str],
        tasks: NamedDependency[TaskService],
        data: JSONBody[TaskActorRequest | None] = None,
    ) -> Response[bytes]:
        version = version_header(request, required=False)
        return json_response(
            await tasks.start(principal_of(request), task_id, version, data or TaskActorRequest())
        )

    @post("/tasks/{task_id:str}/complete", dto=CattrsDTO[TaskCompleteRequest], status_code=200)
    async def complete_task(
        self,
        request: Req,
        task_id: FromPath[str],
        tasks: NamedDependency[TaskService],
        data: JSONBody[TaskCompleteRequest | None] = None,
    ) -> Response[bytes]:
        version = version_header(request, required=False)
        return json_response(
            await tasks.complete(
                principal_of(request), task_id, version, data or TaskCompleteRequest()
            )
        )

    @post("/tasks/{task_id:str}/fail", dto=CattrsDTO[TaskFailRequest], status_code=200)
    async def fail_task(
        self,
        request: Req,
        task_id: FromPath[str],
        tasks: NamedDependency[TaskService],
        data: JSONBody[TaskFailRequest | None] = None,
    ) -> Response[bytes]:
        version = version_header(request, required=False)
        return json_response(
            await tasks.fail(principal_of(request), task_id, version, data or TaskFailRequest())
        )

    @post("/tasks/{task_id:str}/retry", dto=CattrsDTO[TaskActorRequest], status_code=200)
    async def retry_task(
        self,
        request: Req,
        task_id: FromPath[str],
        tasks: NamedDependency[TaskService],
        data: JSONBody[TaskActorRequest | None] = None,
    ) -> Response[bytes]:
        version = version_header(request, required=False)
        return json_response(
            await tasks.retry(principal_of(request), task_id, version, data or TaskActorRequest())
        )

    @post("/tasks/{task_id:str}/cancel", dto=CattrsDTO[TaskCancelRequest], status_code=200)
    async def cancel_task(
        self,
        request: Req,
        task_id: FromPath[str],
        tasks: NamedDependency[TaskService],
        data: JSONBody[TaskCancelRequest | None] = None,
    ) -> Response[bytes]:
        version = version_header(request, required=False)
        return json_response(
            await tasks.cancel(principal_of(request), task_id, version, data or TaskCancelRequest())
        )

    @post("/tasks/{task_id:str}/progress", dto=CattrsDTO[TaskProgressRequest], status_code=200)
    async def report_progress(
        self,
        request: Req,
        task_id: FromPath[str],
        tasks: NamedDependency[TaskService],
        data: JSONBody[TaskProgressRequest | None] = None,
    ) -> Response[bytes]:
        version = version_header(request, required=False)
        return json_response(
            await tasks.progress(
                principal_of(request), task_id, version, data or TaskProgressRequest()
            )
        )

    @post("/tasks/{task_id:str}/delegate", dto=CattrsDTO[TaskDelegateRequest], status_code=200)
    async def delegate_task(
        self,
        request: Req,
        task_id: FromPath[str],
        tasks: NamedDependency[TaskService],
        data: JSONBody[TaskDelegateRequest | None] = None,
    ) -> Response[bytes]:
        version = version_header(request, required=False)
        return json_response(
            await tasks.delegate(
                principal_of(request), task_id, version, data or TaskDelegateRequest()
            )
        )

    @post("/tasks/{task_id:str}/escalate", dto=CattrsDTO[TaskEscalateRequest], status_code=200)
    async def escalate_task(
        self,
        request: Req,
        task_id: FromPath[str],
        data: JSONBody[TaskEscalateRequest],
        tasks: NamedDependency[TaskService],
    ) -> Response[bytes]:
        version = version_header(request, required=False)
        return json_response(await tasks.escalate(principal_of(request), task_id, version, data))


class PlanController(ApiController):
    path = "/api/v1"
    tags = ["plans"]  # noqa: RUF012 - litestar reads the class attribute

    @post("/plans", dto=CattrsDTO[PlanCreateRequest], status_code=200)
    async def create_plan(
        self, request: Req, data: JSONBody[PlanCreateRequest], plans: NamedDependency[PlanService]
    ) -> Response[bytes]:
        return json_response(await plans.create(principal_of(request), data))

    @get("/plans/{plan_id:str}")
    async def get_plan(
        self, request: Req, plan_id: FromPath[str], plans: NamedDependency[PlanService]
    ) -> Response[bytes]:
        return json_response(await plans.get(principal_of(request), plan_id))

    @patch("/plans/{plan_id:str}", dto=CattrsDTO[PlanUpdateRequest])
    async def update_plan(
        self,
        request: Req,
        plan_id: FromPath[str],
        data: JSONBody[PlanUpdateRequest],
        plans: NamedDependency[PlanService],
    ) -> Response[bytes]:
        version = version_header(request, required=True)
        assert version is not None
        return json_response(await plans.update(principal_of(request), plan_id, version, data))

    @get("/intents/{intent_id:str}/plans")
    async def list_plans(
        self, intent_id: FromPath[str], plans: NamedDependency[PlanService]
    ) -> Response[bytes]:
        return json_response(await plans.of_intent(intent_id))

    @get("/intents/{intent_id:str}/plan")
    async def current_plan(
        self, intent_id: FromPath[str], plans: NamedDependency[PlanService]
    ) -> Response[bytes]:
        return json_response(await plans.current(intent_id))

    @post("/intents/{intent_id:str}/plan", status_code=200)
    async def put_current_plan(
        self, request: Req, intent_id: FromPath[str], plans: NamedDependency[PlanService]
    ) -> Response[bytes]:
        data = await body_with(request, PlanCreateRequest, intent_id=intent_id)
        version = version_header(request, required=False)
        return json_response(
            await plans.put_current(principal_of(request), intent_id, version, data)
        )

    @get("/plans/{plan_id:str}/progress")
    async def plan_progress(
        self, request: Req, plan_id: FromPath[str], plans: NamedDependency[PlanService]
    ) -> Response[bytes]:
        return json_response(await plans.progress(principal_of(request), plan_id))

    async def _act(
        self, request: Req, plans: PlanService, plan_id: str, action: str, data: PlanActionRequest
    ) -> Response[bytes]:
        version = version_header(request, required=False)
        return json_response(await plans.act(principal_of(request), plan_id, action, version, data))

    @post("/plans/{plan_id:str}/activate", dto=CattrsDTO[PlanActionRequest], status_code=200)
    async def activate_plan(
        self,
        request: Req,
        plan_id: FromPath[str],
        plans: NamedDependency[PlanService],
        data: JSONBody[PlanActionRequest | None] = None,
    ) -> Response[bytes]:
        return await self._act(request, plans, plan_id, "activate", data or PlanActionRequest())

    @post("/plans/{plan_id:str}/pause", dto=CattrsDTO[PlanActionRequest], status_code=200)
    async def pause_plan(
        self,
        request: Req,
        plan_id: FromPath[str],
        plans: NamedDependency[PlanService],
        data: JSONBody[PlanActionRequest | None] = None,
    ) -> Response[bytes]:
        return await self._act(request, plans, plan_id, "pause", data or PlanActionRequest())

    @post("/plans/{plan_id:str}/resume", dto=CattrsDTO[PlanActionRequest], status_code=200)
    async def resume_plan(
        self,
        request: Req,
        plan_id: FromPath[str],
        plans: NamedDependency[PlanService],
        data: JSONBody[PlanActionRequest | None] = None,
    ) -> Response[bytes]:
        return await self._act(request, plans, plan_id, "resume", data or PlanActionRequest())

    @post("/plans/{plan_id:str}/cancel", dto=CattrsDTO[PlanActionRequest], status_code=200)
    async def cancel_plan(
        self,
        request: Req,
        plan_id: FromPath[str],
        plans: NamedDependency[PlanService],
        data: JSONBody[PlanActionRequest | None] = None,
    ) -> Response[bytes]:
        return await self._act(request, plans, plan_id, "cancel", data or PlanActionRequest())

    @get("/plans/{plan_id:str}/checkpoints")
    async def list_checkpoints(
        self, request: Req, plan_id: FromPath[str], plans: NamedDependency[PlanService]
    ) -> Response[bytes]:
        return json_response(await plans.checkpoints(principal_of(request), plan_id))

    @post(
        "/plans/{plan_id:str}/checkpoints/{checkpoint_id:str}/approve",
        dto=CattrsDTO[CheckpointDecisionRequest],
        status_code=200,
    )
    async def approve_checkpoint(
        self,
        request: Req,
        plan_id: FromPath[str],
        checkpoint_id: FromPath[str],
        plans: NamedDependency[PlanService],
        data: JSONBody[CheckpointDecisionRequest | None] = None,
    ) -> Response[bytes]:
        version = version_header(request, required=False)
        return json_response(
            await plans.decide_checkpoint(
                principal_of(request),
                plan_id,
                checkpoint_id,
                approve=True,
                if_match=version,
                req=data or CheckpointDecisionRequest(),
            )
        )

    @post(
        "/plans/{plan_id:str}/checkpoints/{checkpoint_id:str}/reject",
        dto=CattrsDTO[CheckpointDecisionRequest],
        status_code=200,
    )
    async def reject_checkpoint(
        self,
        request: Req,
        plan_id: FromPath[str],
        checkpoint_id: FromPath[str],
        plans: NamedDependency[PlanService],
        data: JSONBody[CheckpointDecisionRequest | None] = None,
    ) -> Response[bytes]:
        version = version_header(request, required=False)
        return json_response(
            await plans.decide_checkpoint(
                principal_of(request),
                plan_id,
                checkpoint_id,
                approve=False,
                if_match=version,
                req=data or CheckpointDecisionRequest(),
            )
        )


CONTROLLERS: list[Any] = [TaskController, PlanController]
