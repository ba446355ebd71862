"""The task action endpoints: claim, start, complete, fail, retry, cancel, progress,
delegate, escalate.

Claims. A claim takes a ``ready`` task (or a ``pending`` one whose dependencies are
met) for one agent (``agent_id``, else ``X-Agent-ID``, else the key); a task assigned
ahead (delegation, PATCH) is claimed only by its agent. Starting, progress, completion,
failure and delegation are the holder's (403 for anyone else).
"""

from __future__ import annotations

from typing import Any

from openintent.exceptions import ConflictError, ForbiddenError
from openintent.models import (
    EventType,
    Task,
    TaskActorRequest,
    TaskCancelRequest,
    TaskCompleteRequest,
    TaskCreateRequest,
    TaskDelegateRequest,
    TaskEscalateRequest,
    TaskFailRequest,
    TaskProgressRequest,
)
from openintent.server.services._checks import text
from openintent.server.services.principal import Principal
from openintent.server.services.tasks.records import _S, DELEGATED, ESCALATION, FINISHED, STEP, Row
from openintent.server.services.tasks_common import announce, names_of
from openintent.server.store.database import dump_json

__all__ = ["TaskActions"]


class TaskActions:
    """One action each, as one write through ``_act`` (mixed into ``TaskService``)."""

    async def claim(
        self, principal: Principal, task_id: str, if_match: int | None, req: TaskActorRequest
    ) -> Task:
        text("agent_id", req.agent_id)
        agent = principal.fallback(req.agent_id)

        async def act(row: Row) -> Row:
            if row["status"] == _S.CLAIMED.value:
                raise ConflictError(
                    f"Task is already claimed by {row['assigned_agent']}",
                    current_version=row["version"],
                    status_code=409,
                )
            _check_holder(row, principal, agent)  # a task assigned ahead is claimed by its agent
            if row["status"] == _S.PENDING.value:
                row = await self.move(row, _S.READY, principal.actor, mode=STEP)
            return await self.move(
                row, _S.CLAIMED, principal.actor, mode=STEP, values={"assigned_agent": agent}
            )

        return await self._act(principal, task_id, if_match, act)

    async def start(
        self, principal: Principal, task_id: str, if_match: int | None, req: TaskActorRequest
    ) -> Task:
        async def act(row: Row) -> Row:
            _check_holder(row, principal, req.agent_id)
            return await self.move(row, _S.RUNNING, principal.actor, mode=STEP)

        return await self._act(principal, task_id, if_match, act)

    async def complete(
        self, principal: Principal, task_id: str, if_match: int | None, req: TaskCompleteRequest
    ) -> Task:
        for i, artifact in enumerate(req.artifacts):
            text(f"artifacts[{i}]", artifact)

        async def act(row: Row) -> Row:
            _check_holder(row, principal, req.agent_id)
            values: dict[str, Any] = {"artifacts": dump_json(req.artifacts)}
            if req.output is not None:
                values["output"] = dump_json(req.output)
            return await self.move(row, _S.COMPLETED, principal.actor, mode=STEP, values=values)

        return await self._act(principal, task_id, if_match, act)

    async def fail(
        self, principal: Principal, task_id: str, if_match: int | None, req: TaskFailRequest
    ) -> Task:
        text("error", req.error)

        async def act(row: Row) -> Row:
            _check_holder(row, principal, req.agent_id)
            return await self.move(
                row, _S.FAILED, principal.actor, mode=STEP, values={"error": req.error}
            )

        return await self._act(principal, task_id, if_match, act)

    async def retry(
        self, principal: Principal, task_id: str, if_match: int | None, req: TaskActorRequest
    ) -> Task:
        async def act(row: Row) -> Row:
            return await self.move(row, _S.READY, principal.actor, mode=STEP)

        return await self._act(principal, task_id, if_match, act)

    async def cancel(
        self, principal: Principal, task_id: str, if_match: int | None, req: TaskCancelRequest
    ) -> Task:
        text("reason", req.reason)

        async def act(row: Row) -> Row:
            return await self.move(
                row, _S.CANCELLED, principal.actor, mode=STEP, note={"reason": req.reason}
            )

        return await self._act(principal, task_id, if_match, act)

    async def progress(
        self, principal: Principal, task_id: str, if_match: int | None, req: TaskProgressRequest
    ) -> Task:
        text("message", req.message)

        async def act(row: Row) -> Row:
            _check_holder(row, principal, req.agent_id)
            _check_running(row, "reports progress")
            updated = await self._cas(
                row,
                {
                    "progress_percentage": req.percentage,
                    "progress_message": req.message,
                    "progress_at": self.clock(),
                },
            )
            await announce(
                self.db,
                row["intent_id"],
                EventType.TASK_PROGRESS,
                principal.actor,
                {"task_id": row["id"], "percentage": req.percentage, "message": req.message},
            )
            return updated

        return await self._act(principal, task_id, if_match, act)

    async def delegate(
        self, principal: Principal, task_id: str, if_match: int | None, req: TaskDelegateRequest
    ) -> Task:
        """Create a sub-task; the parent waits (``blocked``/``delegated``) until it is done."""
        for name in ("name", "description", "capability", "delegated_to", "agent_id"):
            text(name, getattr(req, name))
        sub_id: list[str] = []

        async def act(row: Row) -> Row:
            _check_holder(row, principal, req.agent_id)
            _check_running(row, "delegates")
            sub = await self.insert(
                principal,
                TaskCreateRequest(
                    intent_id=row["intent_id"],
                    name=req.name or f"{row['name']}/{req.capability or 'sub-task'}",
                    plan_id=row["plan_id"],
                    description=req.description,
                    priority=row["priority"],
                    input=req.input,
                    capabilities_required=[req.capability] if req.capability else [],
                    parent_task_id=row["id"],
                ),
                assigned_agent=req.delegated_to,
            )
            sub_id.append(sub["id"])
            await announce(
                self.db,
                row["intent_id"],
                EventType.TASK_DELEGATED,
                principal.actor,
                {
                    "task_id": row["id"],
                    "sub_task_id": sub["id"],
                    "capability": req.capability,
                    "delegated_to": req.delegated_to,
                },
            )
            return await self.move(
                await self.row(row["id"]),
                _S.BLOCKED,
                principal.actor,
                mode=STEP,
                values={"blocked_reason": DELEGATED},
                note={"blocked_by": [sub["id"]]},
            )

        await self._act(principal, task_id, if_match, act)
        return (await self.render([await self.row(sub_id[0])]))[0]

    async def escalate(
        self, principal: Principal, task_id: str, if_match: int | None, req: TaskEscalateRequest
    ) -> Task:
        """Ask a human; a running task waits (``blocked``/``escalation``) meanwhile."""
        text("reason", req.reason, required=True)
        text("agent_id", req.agent_id)

        async def act(row: Row) -> Row:
            if _S(row["status"]) in FINISHED:
                raise ConflictError(
                    f"Task is '{row['status']}'; there is nothing left to escalate",
                    current_version=row["version"],
                    status_code=409,
                )
            by = principal.fallback(req.agent_id)
            coordinators = self.registry.get("coordinators")
            supervisor = (
                await coordinators.supervisor_of(row["intent_id"]) if coordinators else None
            )
            await announce(
                self.db,
                row["intent_id"],
                EventType.TASK_ESCALATED,
                principal.actor,
                {"task_id": row["id"], "reason": req.reason, "escalated_to": supervisor},
            )
            self.followups.escalate(
                row["intent_id"],
                by,
                req.reason,
                {"task_id": row["id"], "task_name": row["name"]},
                req.priority,
            )
            if row["status"] != _S.RUNNING.value:
                return row
            return await self.move(
                row,
                _S.BLOCKED,
                principal.actor,
                mode=STEP,
                values={"blocked_reason": ESCALATION},
                note={"reason": req.reason},
            )

        return await self._act(principal, task_id, if_match, act)


def _check_holder(row: Row, principal: Principal, agent_id: str | None) -> None:
    """Only the agent holding the claim works on a claimed task."""
    holder = row["assigned_agent"]
    if holder is None or holder in names_of(principal, agent_id):
        return
    raise ForbiddenError(f"Task is claimed by {holder}", status_code=403)


def _check_running(row: Row, doing: str) -> None:
    if row["status"] != _S.RUNNING.value:
        raise ConflictError(
            f"Only a running task {doing}; this one is '{row['status']}'",
            current_version=row["version"],
            status_code=409,
        )
