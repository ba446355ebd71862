"""Coordinator guardrails, enforced for the live coordinator of an intent.

Guardrails are stored verbatim and enforced where they name a checkable rule:

* ``max_budget_usd``: cost records (RFC-0009, units ``usd`` and ``cents``) are summed
  under the intent's lock. The record that crosses the budget is stored, then
  ``on_exceed`` applies: ``pause`` pauses the coordinator (``coordinator.paused``),
  ``escalate`` files an escalation, ``pause_and_escalate`` both, and ``fail`` refuses
  the record itself (403 ``guardrail_violation``). While the spend exceeds the budget,
  new work (claiming/starting tasks, activating/resuming plans) is refused (403).
* ``max_concurrent_tasks``: claimed + running tasks of the intent.
* ``max_tasks_per_plan``, ``allowed_capabilities``, ``max_delegation_depth``: checked
  when plans and tasks are written.
* ``auto_escalate_after_failures``: when the intent's recorded failures (RFC-0010,
  task failures included) reach it, an escalation is filed (once per lease) and
  ``task.escalated`` logged.

A paused coordinator holds new work too (409). Refusals carry
``{"detail": {"error": "guardrail_violation", "rule", "message"}}``.
"""

from __future__ import annotations

from openintent.exceptions import ConflictError
from openintent.models import EventType, GuardrailExceedAction, Guardrails, TaskStatus
from openintent.server.services.coordinators.records import (
    _C,
    L,
    Row,
    _guardrails,
    _slot,
    _usd,
    spent_usd,
)
from openintent.server.services.guards import WriteAttempt
from openintent.server.services.tasks_common import announce, guardrail_violation, lock_intent
from openintent.server.store.retry_tables import FailureRow
from openintent.server.store.tasks_tables import TaskRow

__all__ = ["CoordinatorGuardrails"]


class CoordinatorGuardrails:
    """Checks asked by the tasks area and cost writes (mixed into ``CoordinatorService``)."""

    async def governing(self, intent_id: str) -> Row | None:
        """The intent's live coordinator lease (unresponsive ones still govern)."""
        rows = await L.select().where(
            (L.slot == _slot(intent_id, None)) & (L.active == 1) & (L.dead_at > self.clock())
        )
        return rows[0] if rows else None

    async def supervisor_of(self, intent_id: str) -> str | None:
        row = await self.governing(intent_id)
        return None if row is None else row["supervisor_id"]

    async def check_work(self, intent_id: str, starting_task: str | None = None) -> None:
        """Refuse new work on an intent whose coordinator is paused or over its limits."""
        row = await self.governing(intent_id)
        if row is None:
            return
        if row["status"] == _C.PAUSED.value:
            raise ConflictError(
                f"The intent's coordinator {row['agent_id']} is paused; resume it first",
                status_code=409,
            )
        g = _guardrails(row)
        if g is None:
            return
        if g.max_budget_usd is not None:
            spent = await spent_usd(intent_id)
            if spent > g.max_budget_usd:
                raise guardrail_violation(
                    "max_budget_usd",
                    f"Guardrail max_budget_usd={g.max_budget_usd}: {spent} USD recorded; new "
                    "work waits until the budget is raised.",
                )
        if starting_task is not None:
            active = await self._active_tasks(intent_id, excluding=starting_task)
            if active >= g.max_concurrent_tasks:
                raise guardrail_violation(
                    "max_concurrent_tasks",
                    f"Guardrail max_concurrent_tasks={g.max_concurrent_tasks}: {active} tasks "
                    "are already claimed or running.",
                )

    async def check_plan_size(self, intent_id: str, count: int) -> None:
        g = await self._governing_guardrails(intent_id)
        if g is not None and count > g.max_tasks_per_plan:
            raise guardrail_violation(
                "max_tasks_per_plan",
                f"Guardrail max_tasks_per_plan={g.max_tasks_per_plan}: the plan would have "
                f"{count} tasks.",
            )

    async def check_capabilities(self, intent_id: str, capabilities: list[str]) -> None:
        g = await self._governing_guardrails(intent_id)
        if g is None:
            return
        refused = [c for c in capabilities if not g.allows_capability(c)]
        if refused:
            raise guardrail_violation(
                "allowed_capabilities",
                "Guardrail allowed_capabilities does not allow: " + ", ".join(refused),
            )

    async def check_delegation_depth(self, intent_id: str, depth: int) -> None:
        g = await self._governing_guardrails(intent_id)
        if g is not None and depth > g.max_delegation_depth:
            raise guardrail_violation(
                "max_delegation_depth",
                f"Guardrail max_delegation_depth={g.max_delegation_depth}: this sub-task "
                f"would be {depth} levels deep.",
            )

    async def after_failure(self, intent_id: str, task_id: str | None) -> None:
        """``auto_escalate_after_failures``: escalate once when the count reaches it."""
        row = await self.governing(intent_id)
        g = _guardrails(row) if row is not None else None
        if row is None or g is None or row["failures_escalated"]:
            return
        count = await FailureRow.count().where(FailureRow.intent_id == intent_id)
        if count < g.auto_escalate_after_failures:
            return
        await L.update({L.failures_escalated: count}).where(L.id == row["id"])
        reason = (
            f"{count} failures recorded; guardrail auto_escalate_after_failures="
            f"{g.auto_escalate_after_failures}"
        )
        await announce(
            self.db,
            intent_id,
            EventType.TASK_ESCALATED,
            row["agent_id"],
            {"task_id": task_id, "reason": reason, "escalated_to": row["supervisor_id"]},
        )
        self.followups.escalate(
            intent_id,
            row["agent_id"],
            reason,
            {
                "lease_id": row["id"],
                "guardrail": "auto_escalate_after_failures",
                "task_id": task_id,
            },
        )

    async def on_intent_write(self, attempt: WriteAttempt) -> None:
        """Cost writes against ``max_budget_usd`` (see the module docstring)."""
        if attempt.action != "cost":
            return
        intent_id = attempt.intent.id
        amount = _usd(float(attempt.extra.get("amount", 0.0)), str(attempt.extra.get("unit", "")))
        if amount <= 0:
            return
        await lock_intent(self.db, intent_id)
        row = await self.governing(intent_id)
        g = _guardrails(row) if row is not None else None
        if row is None or g is None or g.max_budget_usd is None:
            return
        spent = await spent_usd(intent_id)
        if spent + amount <= g.max_budget_usd:
            return
        if g.on_exceed == GuardrailExceedAction.FAIL:
            raise guardrail_violation(
                "max_budget_usd",
                f"Guardrail max_budget_usd={g.max_budget_usd}: {spent} USD recorded; adding "
                f"{amount} USD would exceed it.",
            )
        if spent > g.max_budget_usd:
            return  # crossed earlier; its consequences are in place
        reason = "guardrail:max_budget_usd"
        pausing = (GuardrailExceedAction.PAUSE, GuardrailExceedAction.PAUSE_AND_ESCALATE)
        if g.on_exceed in pausing and row["status"] == _C.ACTIVE.value:
            row = await self._cas(row, {"status": _C.PAUSED.value})
            await announce(
                self.db,
                intent_id,
                EventType.COORDINATOR_PAUSED,
                attempt.principal.actor,
                {
                    "lease_id": row["id"],
                    "agent_id": row["agent_id"],
                    "reason": reason,
                    "spent_usd": round(spent + amount, 10),
                    "max_budget_usd": g.max_budget_usd,
                },
            )
        if g.on_exceed in (
            GuardrailExceedAction.ESCALATE,
            GuardrailExceedAction.PAUSE_AND_ESCALATE,
        ):
            self.followups.escalate(
                intent_id,
                row["agent_id"],
                f"Budget of {g.max_budget_usd} USD exceeded: {round(spent + amount, 10)} USD "
                "recorded",
                {"lease_id": row["id"], "guardrail": "max_budget_usd"},
            )

    async def _governing_guardrails(self, intent_id: str) -> Guardrails | None:
        row = await self.governing(intent_id)
        return None if row is None else _guardrails(row)

    async def _active_tasks(self, intent_id: str, excluding: str | None = None) -> int:
        where = (TaskRow.intent_id == intent_id) & TaskRow.status.is_in(
            [TaskStatus.CLAIMED.value, TaskStatus.RUNNING.value]
        )
        if excluding is not None:
            where &= TaskRow.id != excluding
        return int(await TaskRow.count().where(where))
