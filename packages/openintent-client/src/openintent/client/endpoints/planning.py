"""RFC-0012: tasks and plans."""

from __future__ import annotations

from typing import Any

from openintent.client._call import Call, Flow
from openintent.client._endpoint import Context
from openintent.client._parse import model, models
from openintent.client.endpoints._util import api, if_match, value_of
from openintent.models.enums import TaskStatus
from openintent.models.planning import Plan, Task

__all__ = [
    "create_plan",
    "create_task",
    "get_plan",
    "get_task",
    "list_plans",
    "list_tasks",
    "update_plan",
    "update_task",
]


def _fields(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {key: value_of(value) for key, value in kwargs.items()}


def create_task(ctx: Context, /, intent_id: str, name: str, **kwargs: Any) -> Call[Task]:
    """Create a task; keyword arguments are sent as body fields verbatim."""
    body = {"intent_id": intent_id, "name": name, **_fields(kwargs)}
    return Call("POST", api("tasks"), model(Task), json=body, create=True)


def get_task(ctx: Context, /, task_id: str) -> Call[Task]:
    return Call("GET", api("tasks", task_id), model(Task))


def list_tasks(
    ctx: Context,
    /,
    intent_id: str,
    status: TaskStatus | str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Call[list[Task]]:
    params = {"status": value_of(status), "limit": limit, "offset": offset}
    return Call("GET", api("intents", intent_id, "tasks"), models(Task, "tasks"), params=params)


def update_task(
    ctx: Context,
    /,
    task_id: str,
    version: int,
    status: TaskStatus | str | None = None,
    **kwargs: Any,
) -> Call[Task]:
    """Patch a task at ``version`` (the reference answers 409 for unknown ids too)."""
    body = _fields(kwargs)
    if status:
        body["status"] = value_of(status)
    return Call("PATCH", api("tasks", task_id), model(Task), json=body, headers=if_match(version))


def create_plan(
    ctx: Context, /, intent_id: str, tasks: list[str] | None = None, **kwargs: Any
) -> Call[Plan]:
    body: dict[str, Any] = {"intent_id": intent_id}
    if tasks:
        body["tasks"] = list(tasks)
    body.update(_fields(kwargs))
    return Call("POST", api("plans"), model(Plan), json=body, create=True)


def get_plan(ctx: Context, /, plan_id: str) -> Call[Plan]:
    return Call("GET", api("plans", plan_id), model(Plan))


def list_plans(ctx: Context, /, intent_id: str) -> Call[list[Plan]]:
    return Call("GET", api("intents", intent_id, "plans"), models(Plan, "plans"))


def update_plan(ctx: Context, /, plan_id: str, version: int, **kwargs: Any) -> Call[Plan]:
    return Call(
        "PATCH",
        api("plans", plan_id),
        model(Plan),
        json=_fields(kwargs),
        headers=if_match(version),
    )


# -- operations behind ``client.tasks`` (namespaces.py) -------------------------------


def add_task(
    ctx: Context,
    /,
    intent_id: str | None = None,
    title: str | None = None,
    assigned_to: str | None = None,
    **kwargs: Any,
) -> Flow[Task]:
    """``create_task`` in the docs' words: ``title`` is the name, ``assigned_to`` the agent.

    Also accepted, as the docs write them: ``parent_intent_id`` for ``intent_id``,
    ``name`` for ``title`` and ``assign_to`` for ``assigned_to``. A server that ignores
    ``assigned_agent`` at creation (the reference does) gets it in a follow-up PATCH.
    """
    intent_id = intent_id or kwargs.pop("parent_intent_id", None)
    title = title or kwargs.pop("name", None)
    assigned_to = assigned_to or kwargs.pop("assign_to", None)
    if not intent_id or not title:
        raise TypeError("tasks.create(intent_id, title, assigned_to=None, **fields)")
    if assigned_to:
        kwargs.setdefault("assigned_agent", assigned_to)
    task = yield from create_task(ctx, intent_id, title, **kwargs)
    if assigned_to and task.assigned_agent != assigned_to:
        fields = {"assigned_agent": assigned_to}
        task = yield from update_task(ctx, task.id, task.version, task.status, **fields)
    return task


def set_task_status(
    ctx: Context,
    /,
    task_id: str,
    status: TaskStatus | str,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> Flow[Task]:
    """Move a task to ``status`` at its current version, with its output or error."""
    task = yield from get_task(ctx, task_id)
    fields: dict[str, Any] = {}
    if result is not None:
        fields["output"] = result
    if error is not None:
        fields["error"] = error
    return (yield from update_task(ctx, task_id, task.version, status, **fields))


def complete_task(
    ctx: Context, /, task_id: str, result: dict[str, Any] | None = None
) -> Flow[Task]:
    return (yield from set_task_status(ctx, task_id, TaskStatus.COMPLETED, result=result))


def fail_task(ctx: Context, /, task_id: str, error: str | None = None) -> Flow[Task]:
    return (yield from set_task_status(ctx, task_id, TaskStatus.FAILED, error=error))
