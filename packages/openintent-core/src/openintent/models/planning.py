"""RFC-0012: tasks, plans, checkpoints and conditions, and the task/plan state machines.

The reference server stores tasks and plans as plain versioned records and enforces no
transitions; the RFC's state machines are here as data so a server can enforce them
(strictly, or permissively for reference-era callers that jump straight to
``completed``). Response models keep ``status``/``state``/``on_failure``/``on_timeout``
open (unknown strings kept), because a reference server may hold such values
(rfc-0012 §11); request bodies reject them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from enum import StrEnum
from typing import Any

import attrs

from openintent.core.converter import wire_field
from openintent.models._base import WireModel
from openintent.models._wire_hooks import sparse, verbatim
from openintent.models.enums import (
    CheckpointTimeoutAction,
    EscalationPriority,
    PlanFailureAction,
    PlanState,
    TaskStatus,
)

__all__ = [
    "PLAN_TRANSITIONS",
    "TASK_TRANSITIONS",
    "TERMINAL_PLAN_STATES",
    "TERMINAL_TASK_STATUSES",
    "Checkpoint",
    "CheckpointDecisionRequest",
    "MemoryPolicy",
    "Plan",
    "PlanActionRequest",
    "PlanCondition",
    "PlanCreateRequest",
    "PlanProgress",
    "PlanUpdateRequest",
    "Task",
    "TaskActorRequest",
    "TaskCancelRequest",
    "TaskCompleteRequest",
    "TaskCreateRequest",
    "TaskDelegateRequest",
    "TaskEscalateRequest",
    "TaskFailRequest",
    "TaskProgress",
    "TaskProgressRequest",
    "TaskUpdateRequest",
    "ToolRequirement",
    "is_plan_transition_allowed",
    "is_task_transition_allowed",
    "plan_tasks_finished",
    "plan_transition_path",
    "task_transition_path",
]


# -- state machines (RFC-0012 §6.2) ---------------------------------------------------

_S = TaskStatus

#: Allowed next statuses of a task. ``cancelled`` is reachable from every status that
#: is not finished for good; ``failed -> ready`` is the retry path (see ``Task.can_retry``).
TASK_TRANSITIONS: Mapping[TaskStatus, frozenset[TaskStatus]] = {
    _S.PENDING: frozenset({_S.READY, _S.SKIPPED, _S.CANCELLED}),
    _S.READY: frozenset({_S.CLAIMED, _S.CANCELLED}),
    _S.CLAIMED: frozenset({_S.RUNNING, _S.CANCELLED}),
    _S.RUNNING: frozenset({_S.COMPLETED, _S.FAILED, _S.BLOCKED, _S.CANCELLED}),
    _S.BLOCKED: frozenset({_S.RUNNING, _S.CANCELLED}),
    _S.FAILED: frozenset({_S.READY, _S.CANCELLED}),
    _S.COMPLETED: frozenset(),
    _S.CANCELLED: frozenset(),
    _S.SKIPPED: frozenset(),
}
TERMINAL_TASK_STATUSES = frozenset({_S.COMPLETED, _S.CANCELLED, _S.SKIPPED})

_P = PlanState
#: Allowed next states of a plan: activate, pause/resume, then one of the three ends.
PLAN_TRANSITIONS: Mapping[PlanState, frozenset[PlanState]] = {
    _P.DRAFT: frozenset({_P.ACTIVE, _P.CANCELLED}),
    _P.ACTIVE: frozenset({_P.PAUSED, _P.COMPLETED, _P.FAILED, _P.CANCELLED}),
    _P.PAUSED: frozenset({_P.ACTIVE, _P.FAILED, _P.CANCELLED}),
    _P.COMPLETED: frozenset(),
    _P.FAILED: frozenset(),
    _P.CANCELLED: frozenset(),
}
TERMINAL_PLAN_STATES = frozenset({_P.COMPLETED, _P.FAILED, _P.CANCELLED})


def _known(enum_type: type[StrEnum], value: object) -> bool:
    return value in {m.value for m in enum_type}


def is_task_transition_allowed(
    current: TaskStatus | str, target: TaskStatus | str, *, strict: bool = True
) -> bool:
    """Whether a task may move from ``current`` to ``target``.

    ``strict`` follows the RFC table; ``strict=False`` is the permissive mode that
    reference-era callers need (``pending -> completed`` via ``update_task``): any
    known status may follow any status, only unknown values are refused.
    """
    if not _known(TaskStatus, target):
        return False
    if not strict:
        return True
    if not _known(TaskStatus, current):
        return False
    return TaskStatus(target) in TASK_TRANSITIONS[TaskStatus(current)]


def is_plan_transition_allowed(
    current: PlanState | str, target: PlanState | str, *, strict: bool = True
) -> bool:
    """Whether a plan may move from ``current`` to ``target`` (``strict=False``: any known state)."""
    if not _known(PlanState, target):
        return False
    if not strict:
        return True
    if not _known(PlanState, current):
        return False
    return PlanState(target) in PLAN_TRANSITIONS[PlanState(current)]


def _shortest_path(
    edges: Mapping[Any, frozenset[Any]], start: Any, goal: Any, skip: Any = None
) -> tuple[Any, ...] | None:
    """Breadth-first: the statuses after ``start`` up to ``goal``; ``skip(a, b)`` drops an edge."""
    if start == goal:
        return ()
    seen = {start}
    frontier: list[tuple[Any, tuple[Any, ...]]] = [(start, ())]
    while frontier:
        following: list[tuple[Any, tuple[Any, ...]]] = []
        for node, path in frontier:
            for nxt in sorted(edges[node]):
                if nxt in seen or (skip is not None and skip(node, nxt, start)):
                    continue
                if nxt == goal:
                    return (*path, nxt)
                seen.add(nxt)
                following.append((nxt, (*path, nxt)))
        frontier = following
    return None


def _retry_edge_later(node: TaskStatus, nxt: TaskStatus, start: TaskStatus) -> bool:
    # ``failed -> ready`` is a retry: only as the first step, never a way round the table.
    return node == _S.FAILED and nxt == _S.READY and node != start


def task_transition_path(
    current: TaskStatus | str, target: TaskStatus | str
) -> tuple[TaskStatus, ...] | None:
    """The shortest run of RFC steps from ``current`` to ``target``; ``None`` if there is none.

    What a reference-era ``PATCH`` may do: jump ahead along the table (``pending ->
    completed`` passes ``ready``, ``claimed``, ``running``), but never back, never out of
    a finished status, and through a retry only when the task has failed. ``()`` means
    no move (same status). Unknown values have no path.
    """
    if not (_known(TaskStatus, current) and _known(TaskStatus, target)):
        return None
    return _shortest_path(
        TASK_TRANSITIONS, TaskStatus(current), TaskStatus(target), _retry_edge_later
    )


def plan_transition_path(
    current: PlanState | str, target: PlanState | str
) -> tuple[PlanState, ...] | None:
    """Like :func:`task_transition_path`, over the plan states."""
    if not (_known(PlanState, current) and _known(PlanState, target)):
        return None
    return _shortest_path(PLAN_TRANSITIONS, PlanState(current), PlanState(target))


def plan_tasks_finished(statuses: Iterable[object]) -> bool:
    """A plan is done when every task is ``completed`` or ``skipped`` (RFC-0012 §6.2)."""
    return all(s in (TaskStatus.COMPLETED, TaskStatus.SKIPPED) for s in statuses)


# -- objects nested in tasks and plans (stored as given by the reference) -------------


@verbatim()
@attrs.define(slots=False)
class MemoryPolicy(WireModel):
    """A task's working-memory policy (RFC-0015 §6.5)."""

    archive_on_completion: bool = True
    inherit_from_parent: bool = False
    max_entries: int | None = None
    max_total_size_kb: int | None = None


@verbatim()
@attrs.define(slots=False)
class ToolRequirement(WireModel):
    """A tool a task needs (RFC-0014 §4.1); ``service`` is required, as the client reads it."""

    service: str
    scopes: list[str] = attrs.field(factory=list)
    required: bool = True


@verbatim()
@attrs.define(slots=False)
class Checkpoint(WireModel):
    """A review gate in a plan, after ``after_task`` (input alias ``after``)."""

    id: str = ""
    name: str = ""
    after_task: str = wire_field(default="", aliases=("after",))
    requires_approval: bool = True
    approvers: list[str] = attrs.field(factory=list)
    timeout_hours: int | None = None
    on_timeout: CheckpointTimeoutAction | str = CheckpointTimeoutAction.ESCALATE
    status: str = "pending"
    approved_by: str | None = None
    approved_at: dt.datetime | None = None


@verbatim()
@attrs.define(slots=False)
class PlanCondition(WireModel):
    """Run ``task_id`` only when ``when`` holds; otherwise (default) skip it."""

    id: str = ""
    task_id: str = ""
    when: str = ""
    otherwise: str = "skip"


# -- progress -------------------------------------------------------------------------


@attrs.define
class TaskProgress(WireModel):
    """The latest progress a running task reported (``POST /tasks/{id}/progress``)."""

    percentage: float | None = None
    message: str | None = None
    updated_at: dt.datetime | None = None


@attrs.define
class PlanProgress(WireModel):
    """A plan's progress, derived from its tasks' statuses on every read.

    ``finished`` counts ``completed`` and ``skipped`` tasks, the ones that let a plan
    complete; ``suspended_tasks`` lists tasks blocked while their intent waits for
    human input (RFC-0026: ``task_id``, ``intent_id``, ``suspended_since``).
    """

    total: int = 0
    finished: int = 0
    percentage: float = 0.0
    by_status: dict[str, int] = attrs.field(factory=dict)
    suspended_tasks: list[dict[str, Any]] = attrs.field(factory=list)

    @classmethod
    def of(
        cls, statuses: Iterable[str], suspended_tasks: Iterable[dict[str, Any]] = ()
    ) -> PlanProgress:
        by_status: dict[str, int] = {}
        for status in statuses:
            by_status[str(status)] = by_status.get(str(status), 0) + 1
        total = sum(by_status.values())
        finished = by_status.get(_S.COMPLETED, 0) + by_status.get(_S.SKIPPED, 0)
        percentage = round(100.0 * finished / total, 1) if total else 0.0
        return cls(total, finished, percentage, by_status, list(suspended_tasks))


# -- responses ------------------------------------------------------------------------


@attrs.define
class Task(WireModel):
    """A bounded unit of work under an intent.

    The reference server names the metadata ``task_metadata``; its client reads
    ``metadata``. Both are read; our server writes both.
    """

    id: str
    intent_id: str
    name: str
    version: int = 1
    status: TaskStatus | str = TaskStatus.PENDING
    plan_id: str | None = None
    description: str | None = None
    priority: str = "normal"
    input: dict[str, Any] = attrs.field(factory=dict)
    output: dict[str, Any] | None = None
    artifacts: list[str] = attrs.field(factory=list)
    assigned_agent: str | None = None
    lease_id: str | None = None
    capabilities_required: list[str] = attrs.field(factory=list)
    depends_on: list[str] = attrs.field(factory=list)
    blocks: list[str] = attrs.field(factory=list)
    parent_task_id: str | None = None
    retry_policy: str | None = None
    timeout_seconds: int | None = None
    attempt: int = 1
    max_attempts: int = 3
    permissions: str = "inherit"
    memory_policy: MemoryPolicy | None = None
    requires_tools: list[ToolRequirement] = attrs.field(factory=list)
    blocked_reason: str | None = None
    error: str | None = None
    metadata: dict[str, Any] = wire_field(
        factory=dict, key="task_metadata", aliases=("metadata",), emit_aliases=("metadata",)
    )
    created_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    # Not sent by the reference server; ours sends it once a task reports progress.
    progress: TaskProgress | None = wire_field(default=None, omit_if_none=True)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_TASK_STATUSES

    def can_transition_to(self, target: TaskStatus | str, *, strict: bool = True) -> bool:
        """See :func:`is_task_transition_allowed`; a strict retry also needs attempts left."""
        if not is_task_transition_allowed(self.status, target, strict=strict):
            return False
        if strict and self.status == TaskStatus.FAILED and target == TaskStatus.READY:
            return self.can_retry
        return True

    @property
    def can_retry(self) -> bool:
        """A failed task may be retried while ``attempt < max_attempts`` (RFC-0010 link)."""
        return self.attempt < self.max_attempts

    def dependencies_met(self, completed_task_ids: Collection[str]) -> bool:
        """``pending -> ready`` once every ``depends_on`` task is completed."""
        return all(dep in completed_task_ids for dep in self.depends_on)


@attrs.define
class Plan(WireModel):
    """An ordered execution strategy over tasks (the model; the decorator is in agents).

    Metadata is ``plan_metadata`` on the reference server, ``metadata`` for its client.
    """

    id: str
    intent_id: str
    version: int = 1
    state: PlanState | str = PlanState.DRAFT
    tasks: list[str] = attrs.field(factory=list)
    checkpoints: list[Checkpoint] = attrs.field(factory=list)
    conditions: list[PlanCondition] = attrs.field(factory=list)
    on_failure: PlanFailureAction | str = PlanFailureAction.PAUSE_AND_ESCALATE
    on_complete: str = "notify"
    metadata: dict[str, Any] = wire_field(
        factory=dict, key="plan_metadata", aliases=("metadata",), emit_aliases=("metadata",)
    )
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    # Not sent by the reference server; ours derives it from the plan's tasks.
    progress: PlanProgress | None = wire_field(default=None, omit_if_none=True)

    def can_transition_to(self, target: PlanState | str, *, strict: bool = True) -> bool:
        return is_plan_transition_allowed(self.state, target, strict=strict)

    def checkpoints_after(self, task_id: str) -> list[Checkpoint]:
        """The checkpoints reached when ``task_id`` completes."""
        return [c for c in self.checkpoints if c.after_task == task_id]


# -- request bodies -------------------------------------------------------------------


def _known_timeout_actions(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    # Checkpoints are open in responses; a request must name a known on_timeout.
    for checkpoint in value or ():
        if not _known(CheckpointTimeoutAction, checkpoint.on_timeout):
            raise ValueError(
                f"{attribute.name}: on_timeout {checkpoint.on_timeout!r} is not one of "
                + ", ".join(repr(m.value) for m in CheckpointTimeoutAction)
            )


@sparse
@attrs.define(slots=False)
class TaskCreateRequest(WireModel):
    """Body of ``POST /api/v1/tasks``; ``permissions`` must be a string (an object is 422)."""

    intent_id: str
    name: str
    plan_id: str | None = None
    description: str | None = None
    priority: str = "normal"
    input: dict[str, Any] = attrs.field(factory=dict)
    capabilities_required: list[str] = attrs.field(factory=list)
    depends_on: list[str] = attrs.field(factory=list)
    parent_task_id: str | None = None
    timeout_seconds: int | None = None
    max_attempts: int = 3
    permissions: str = "inherit"
    memory_policy: MemoryPolicy | None = None
    requires_tools: list[ToolRequirement] = attrs.field(factory=list)
    metadata: dict[str, Any] = wire_field(factory=dict, aliases=("task_metadata",))


@sparse
@attrs.define(slots=False)
class TaskUpdateRequest(WireModel):
    """Body of ``PATCH /api/v1/tasks/{id}``; ``status`` is required, ``null`` fields are not applied."""

    status: TaskStatus
    assigned_agent: str | None = None
    output: dict[str, Any] | None = None
    error: str | None = None
    blocked_reason: str | None = None
    # Ours, not the reference's: replace the dependencies of a task still pending.
    depends_on: list[str] | None = None

    def changes(self) -> dict[str, Any]:
        """The fields to write: every field that is not ``None``."""
        return {
            a.name: v for a in attrs.fields(type(self)) if (v := getattr(self, a.name)) is not None
        }


@sparse
@attrs.define(slots=False)
class PlanCreateRequest(WireModel):
    """Body of ``POST /api/v1/plans``; a plan always starts ``draft``, version 1."""

    intent_id: str
    tasks: list[str] = attrs.field(factory=list)
    checkpoints: list[Checkpoint] = attrs.field(factory=list, validator=_known_timeout_actions)
    conditions: list[PlanCondition] = attrs.field(factory=list)
    on_failure: PlanFailureAction = PlanFailureAction.PAUSE_AND_ESCALATE
    on_complete: str = "notify"
    metadata: dict[str, Any] = wire_field(factory=dict, aliases=("plan_metadata",))


@sparse
@attrs.define(slots=False)
class PlanUpdateRequest(WireModel):
    """Body of ``PATCH /api/v1/plans/{id}``: only these three, each applied when not ``null``."""

    state: PlanState | None = None
    tasks: list[str] | None = None
    checkpoints: list[Checkpoint] | None = attrs.field(
        default=None, validator=_known_timeout_actions
    )

    def changes(self) -> dict[str, Any]:
        return {
            a.name: v for a in attrs.fields(type(self)) if (v := getattr(self, a.name)) is not None
        }


# -- bodies of the task and plan actions (RFC-0012 paths the reference does not serve) -


def _percentage(_: Any, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not 0.0 <= value <= 100.0:
        raise ValueError(f"{attribute.name} must be between 0 and 100, got {value}")


@attrs.define
class TaskActorRequest(WireModel):
    """Body of ``claim``, ``start`` and ``retry``; ``agent_id`` falls back to the caller."""

    agent_id: str | None = None


@attrs.define
class TaskCompleteRequest(WireModel):
    """Body of ``POST /tasks/{id}/complete``."""

    output: dict[str, Any] | None = None
    artifacts: list[str] = attrs.field(factory=list)
    agent_id: str | None = None


@attrs.define
class TaskFailRequest(WireModel):
    """Body of ``POST /tasks/{id}/fail``."""

    error: str | None = None
    agent_id: str | None = None


@attrs.define
class TaskProgressRequest(WireModel):
    """Body of ``POST /tasks/{id}/progress`` (percentage 0..100)."""

    percentage: float | None = attrs.field(default=None, validator=_percentage)
    message: str | None = None
    agent_id: str | None = None


@attrs.define
class TaskDelegateRequest(WireModel):
    """Body of ``POST /tasks/{id}/delegate``: the sub-task to create under the task."""

    name: str | None = None
    description: str | None = None
    capability: str | None = None
    delegated_to: str | None = None
    input: dict[str, Any] = attrs.field(factory=dict)
    agent_id: str | None = None


@attrs.define
class TaskEscalateRequest(WireModel):
    """Body of ``POST /tasks/{id}/escalate``."""

    reason: str
    priority: EscalationPriority = EscalationPriority.HIGH
    agent_id: str | None = None


@attrs.define
class TaskCancelRequest(WireModel):
    """Body of ``POST /tasks/{id}/cancel``."""

    reason: str | None = None


@attrs.define
class PlanActionRequest(WireModel):
    """Body of the plan actions (``activate``, ``pause``, ``resume``, ``cancel``)."""

    reason: str | None = None


@attrs.define
class CheckpointDecisionRequest(WireModel):
    """Body of a checkpoint ``approve`` / ``reject``; the decider falls back to the caller."""

    decided_by: str | None = wire_field(default=None, aliases=("approved_by", "rejected_by"))
    reason: str | None = wire_field(default=None, aliases=("notes",))
