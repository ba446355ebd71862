"""RFC-0012 tasks and plans: the rules of the area, one module per concern.

The reference server keeps tasks as plain records; this one runs the RFC's lifecycle.

* ``service``: ``TaskService`` (reads, create, ``PATCH``), assembled from
  ``actions`` (claim, start, complete, ...), ``state_machine`` (``move`` and its
  events), ``retries``, ``dependencies`` and ``deadlines`` (timeouts, suspension);
  ``records`` holds the status groups and the row-to-``Task`` mapping.
* ``plans``: ``PlanService``, assembled from ``plan_states`` (the plan state machine and
  the effects of task changes) and ``checkpoints``; ``plan_records`` holds the
  row-to-``Plan`` mapping and the pure checks.

Every change is one transaction (on PostgreSQL under the intent's row lock) that also
writes its ``task.*``/``plan.*`` event to the intent's log. Coordinator guardrails are
asked through the ``coordinators`` service; helpers shared with it are in
``services/tasks_common.py``.
"""

from __future__ import annotations

from openintent.server.services import Services
from openintent.server.services.tasks.plan_records import plan_from_row
from openintent.server.services.tasks.plans import PlanService
from openintent.server.services.tasks.records import (
    FORCE,
    JUMP,
    RESOLVED,
    STEP,
    SUSPENDED,
    task_from_row,
)
from openintent.server.services.tasks.service import TaskService

__all__ = [
    "FORCE",
    "JUMP",
    "RESOLVED",
    "STEP",
    "SUSPENDED",
    "PlanService",
    "TaskService",
    "install",
    "plan_from_row",
    "task_from_row",
]


def install(services: Services) -> None:
    tasks = TaskService(services)
    plans = PlanService(services, tasks)
    tasks.plans = plans
    services.add("tasks", tasks)
    services.add("plans", plans)
    services.intents.guards.append(tasks.on_intent_write)
