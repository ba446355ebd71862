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
from openintent.server.api.actions import action
from openintent.server.api.base import ApiController
from openintent.server.http.auth import principal_of
from openintent.server.http.body import INT64_MAX, check_content_type, check_model, decode_json
from openintent.server.http.dto import CattrsDTO
from openintent.server.http.responses import idempotency_key, json_response
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


def _optional_version(request: Req) -> int | None:
    return version_header(request, required=False)


def _task_action(call: str, name: str, body: type[Any], body_required: bool = False) -> Any:
    return action(
        f"/tasks/{{task_id:str}}/{call}",
        name=name,
        service=("tasks", TaskService),
        call=call,
        ids=("task_id",),
        body=body,
        body_required=body_required,
        version=_optional_version,
        status_code=200,
    )


def _plan_action(name: str) -> Any:
    return action(
        f"/plans/{{plan_id:str}}/{name}",
        name=f"{name}_plan",
        service=("plans", PlanService),
        call="act",
        ids=("plan_id",),
        between=(name,),
        body=PlanActionRequest,
        version=_optional_version,
        status_code=200,
    )


def _checkpoint_decision(name: str, *, approve: bool) -> Any:
    return action(
        f"/plans/{{plan_id:str}}/checkpoints/{{checkpoint_id:str}}/{name}",
        name=f"{name}_checkpoint",
        service=("plans", PlanService),
        call="decide_checkpoint",
        ids=("plan_id", "checkpoint_id"),
        body=CheckpointDecisionRequest,
        body_as="req",
        version=_optional_version,
        version_as="if_match",
        fixed={"approve": approve},
        status_code=200,
    )


class TaskController(ApiController):
    path = "/api/v1"
    tags = ["tasks"]  # noqa: RUF012 - litestar reads the class attribute

    @post("/tasks", dto=CattrsDTO[TaskCreateRequest], status_code=200)
    async def create_task(
        self, request: Req, data: JSONBody[TaskCreateRequest], tasks: NamedDependency[TaskService]
    ) -> Response[bytes]:
        key = idempotency_key(request)
        return json_response(await tasks.create(principal_of(request), data, key))

    @post("/intents/{intent_id:str}/tasks", status_code=200)
    async def create_intent_task(
        self, request: Req, intent_id: FromPath[str], tasks: NamedDependency[TaskService]
    ) -> Response[bytes]:
        data = await body_with(request, TaskCreateRequest, intent_id=intent_id)
        key = idempotency_key(request)
        return json_response(await tasks.create(principal_of(request), data, key))

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

    # The RFC's actions: one step each, with an optional ``If-Match``.
    claim_task = _task_action("claim", "claim_task", TaskActorRequest)
    start_task = _task_action("start", "start_task", TaskActorRequest)
    complete_task = _task_action("complete", "complete_task", TaskCompleteRequest)
    fail_task = _task_action("fail", "fail_task", TaskFailRequest)
    retry_task = _task_action("retry", "retry_task", TaskActorRequest)
    cancel_task = _task_action("cancel", "cancel_task", TaskCancelRequest)
    report_progress = _task_action("progress", "report_progress", TaskProgressRequest)
    delegate_task = _task_action("delegate", "delegate_task", TaskDelegateRequest)
    escalate_task = _task_action(
        "escalate", "escalate_task", TaskEscalateRequest, body_required=True
    )


class PlanController(ApiController):
    path = "/api/v1"
    tags = ["plans"]  # noqa: RUF012 - litestar reads the class attribute

    @post("/plans", dto=CattrsDTO[PlanCreateRequest], status_code=200)
    async def create_plan(
        self, request: Req, data: JSONBody[PlanCreateRequest], plans: NamedDependency[PlanService]
    ) -> Response[bytes]:
        key = idempotency_key(request)
        return json_response(await plans.create(principal_of(request), data, key))

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

    # ``act`` takes the action's name after the plan id.
    activate_plan = _plan_action("activate")
    pause_plan = _plan_action("pause")
    resume_plan = _plan_action("resume")
    cancel_plan = _plan_action("cancel")

    @get("/plans/{plan_id:str}/checkpoints")
    async def list_checkpoints(
        self, request: Req, plan_id: FromPath[str], plans: NamedDependency[PlanService]
    ) -> Response[bytes]:
        return json_response(await plans.checkpoints(principal_of(request), plan_id))

    approve_checkpoint = _checkpoint_decision("approve", approve=True)
    reject_checkpoint = _checkpoint_decision("reject", approve=False)


CONTROLLERS: list[Any] = [TaskController, PlanController]
