"""Plan checkpoints: reaching, approving or rejecting them, and their timeouts.

When the task named by ``after_task`` completes in an active plan, the checkpoint is
``reached`` (``plan.checkpoint_reached``); one that ``requires_approval`` pauses the plan
until approved (``POST /plans/{id}/checkpoints/{cp}/approve``, by one of ``approvers``
when that list is not empty), then the plan resumes. A rejected checkpoint keeps the
plan paused until the plan is revised. ``timeout_hours`` is honoured like every
deadline here: ``on_timeout`` ``escalate`` files an escalation, ``auto_approve``
approves, ``fail`` fails the plan. Checkpoint status is the server's (``pending``,
``reached``, ``passed``, ``approved``, ``rejected``, ``expired``); a revised list keeps
the status of checkpoints whose id it keeps.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from openintent.core.converter import unstructure
from openintent.exceptions import ConflictError, ForbiddenError, NotFoundError, ValidationError
from openintent.models import (
    Checkpoint,
    CheckpointDecisionRequest,
    CheckpointTimeoutAction,
    EventType,
    Plan,
)
from openintent.server.services._checks import text
from openintent.server.services.principal import Principal
from openintent.server.services.tasks.plan_records import (
    _P,
    _SERVER_KEYS,
    APPROVED,
    EXPIRED,
    PENDING,
    REACHED,
    REJECTED,
    TERMINAL,
    Row,
    _checkpoint_values,
    _due,
    _iso,
)
from openintent.server.services.tasks.records import FORCE
from openintent.server.services.tasks_common import SYSTEM_ACTOR, announce, check_version, names_of
from openintent.server.store.database import load_json
from openintent.server.store.tasks_tables import PlanRow

__all__ = ["PlanCheckpoints"]


class PlanCheckpoints:
    """Checkpoint decisions and deadlines (mixed into ``PlanService``)."""

    async def decide_checkpoint(
        self,
        principal: Principal,
        plan_id: str,
        checkpoint_id: str,
        *,
        approve: bool,
        if_match: int | None,
        req: CheckpointDecisionRequest,
    ) -> Plan:
        text("decided_by", req.decided_by)
        text("reason", req.reason)
        async with self.db.write():
            row = await self._load(principal, plan_id)
            check_version(if_match, row["version"])
            cps = load_json(row["checkpoints"], [])
            cp = next((c for c in cps if c.get("id") == checkpoint_id), None)
            if cp is None:
                raise NotFoundError("Checkpoint not found", status_code=404)
            if cp.get("status") != REACHED:
                raise ConflictError(
                    f"Checkpoint is '{cp.get('status', PENDING)}', not waiting for a decision",
                    current_version=row["version"],
                    status_code=409,
                )
            approvers = Checkpoint.from_dict(cp).approvers
            if approvers and not names_of(principal) & set(approvers):
                raise ForbiddenError(
                    "Only the checkpoint's approvers may decide: " + ", ".join(approvers),
                    status_code=403,
                )
            by = principal.fallback(req.decided_by)
            if approve:
                row = await self._approve(row, cps, cp, by)
            else:
                cp |= {"status": REJECTED, "rejected_by": by, "rejected_at": _iso(self.now())}
                if req.reason:
                    cp["rejection_reason"] = req.reason
                row = await self._cas(row, _checkpoint_values(cps))
                await announce(
                    self.db,
                    row["intent_id"],
                    EventType.PLAN_CHECKPOINT_REJECTED,
                    principal.actor,
                    {
                        "plan_id": row["id"],
                        "checkpoint_id": checkpoint_id,
                        "rejected_by": by,
                        "reason": req.reason,
                    },
                )
        await self.followups.drain()
        return await self.render(await self.row(plan_id))

    async def sweep_locked(self, intent_id: str, now: dt.datetime) -> None:
        rows = await PlanRow.select().where(
            (PlanRow.intent_id == intent_id) & (PlanRow.checkpoint_due_at <= now)
        )
        for row in rows:
            cps = load_json(row["checkpoints"], [])
            approved: list[dict[str, Any]] = []
            expired: dict[str, Any] | None = None
            for cp in cps:
                due = _due(cp)
                if due is None or due > now:
                    continue
                action = Checkpoint.from_dict(cp).on_timeout
                if action == CheckpointTimeoutAction.AUTO_APPROVE:
                    cp |= {
                        "status": APPROVED,
                        "approved_by": SYSTEM_ACTOR,
                        "approved_at": _iso(now),
                    }
                    approved.append(cp)
                elif action == CheckpointTimeoutAction.FAIL:
                    cp["status"] = EXPIRED
                    expired = expired or cp
                else:
                    cp["escalated_at"] = _iso(now)
                    self.followups.escalate(
                        intent_id,
                        SYSTEM_ACTOR,
                        f"checkpoint '{cp.get('id')}' of plan {row['id']} is still waiting for "
                        "approval",
                        {"plan_id": row["id"], "checkpoint_id": cp.get("id")},
                    )
            row = await self._cas(row, _checkpoint_values(cps))
            for cp in approved:
                await announce(
                    self.db,
                    intent_id,
                    EventType.PLAN_CHECKPOINT_APPROVED,
                    SYSTEM_ACTOR,
                    {
                        "plan_id": row["id"],
                        "checkpoint_id": cp.get("id"),
                        "approved_by": SYSTEM_ACTOR,
                    },
                )
            if expired is not None and row["state"] not in TERMINAL:
                await self.set_state(
                    row,
                    _P.FAILED,
                    SYSTEM_ACTOR,
                    mode=FORCE,
                    failed_task_id=expired.get("after_task"),
                    error=f"checkpoint '{expired.get('id')}' timed out",
                )
            elif approved:
                await self._maybe_resume(await self.row(row["id"]), SYSTEM_ACTOR)

    async def _approve(
        self, row: Row, cps: list[dict[str, Any]], cp: dict[str, Any], by: str
    ) -> Row:
        cp |= {"status": APPROVED, "approved_by": by, "approved_at": _iso(self.now())}
        row = await self._cas(row, _checkpoint_values(cps))
        await announce(
            self.db,
            row["intent_id"],
            EventType.PLAN_CHECKPOINT_APPROVED,
            by,
            {"plan_id": row["id"], "checkpoint_id": cp.get("id"), "approved_by": by},
        )
        row = await self._maybe_resume(row, by)
        return await self._maybe_complete(row, by)

    async def _checkpoints(
        self, intent_id: str, checkpoints: list[Checkpoint], *, previous: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Stored form of a checkpoint list; the server owns the status keys."""
        seen: set[str] = set()
        after = [c.after_task for c in checkpoints if c.after_task]
        await self.tasks.require_tasks(
            intent_id, list(dict.fromkeys(after)), "checkpoints.after_task"
        )
        kept = {c.get("id"): c for c in previous}
        stored = []
        for i, checkpoint in enumerate(checkpoints):
            text(f"checkpoints[{i}].id", checkpoint.id, required=True)
            if checkpoint.id in seen:
                raise ValidationError(
                    f"checkpoints: duplicate id {checkpoint.id!r}",
                    errors=[{"loc": ["body", "checkpoints", i, "id"], "msg": "duplicate id"}],
                )
            seen.add(checkpoint.id)
            cp = unstructure(checkpoint)
            for key in _SERVER_KEYS:
                cp.pop(key, None)
            old = kept.get(checkpoint.id)
            if old is not None and old.get("after_task") == checkpoint.after_task:
                cp |= {k: old[k] for k in _SERVER_KEYS if k in old}
            cp.setdefault("status", PENDING)
            stored.append(cp)
        return stored
