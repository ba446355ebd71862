"""Enforcement of the governance policy on intent writes.

A write guard (``services.intents.guards``): it runs inside the write's transaction,
before the version check, as the reference orders it. The acting identity is the
caller's API key or the agent named in ``X-Agent-ID``. Cost writes (another area) ask for
the ``max_cost`` check with ``WriteAttempt(principal, intent, "cost", extra={"amount":
<float>})``. A refusal's record is written after the refused write rolled back.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any, NoReturn

from openintent.core.converter import to_wire
from openintent.exceptions import ForbiddenError
from openintent.models import (
    ApprovalStatus,
    CompletionMode,
    EventType,
    GovernancePolicy,
    GovernanceViolation,
    IntentStatus,
    WriteScope,
)
from openintent.server.services.access import principal_names
from openintent.server.services.events import record_event
from openintent.server.services.governance.records import GOVERNED_ACTIONS, log
from openintent.server.services.guards import WriteAttempt
from openintent.server.store.governance_tables import ApprovalRow
from openintent.server.store.tables import AssignmentRow, IntentRow

__all__ = ["GovernanceEnforcement"]


class GovernanceEnforcement:
    """The write guard and its checks (mixed into ``GovernanceService``)."""

    async def guard(self, attempt: WriteAttempt) -> None:
        """Refuse an intent write the intent's policy does not allow (403)."""
        if attempt.action not in GOVERNED_ACTIONS or not attempt.intent.governance_policy:
            return
        policy = GovernancePolicy.lenient(attempt.intent.governance_policy)
        if policy.is_default:
            return
        if attempt.action == "assign":
            if attempt.agent_id is not None and not policy.allows_agent(attempt.agent_id):
                self._violation(
                    attempt,
                    "allowed_agents",
                    f"Governance policy does not allow assigning agent '{attempt.agent_id}'; "
                    f"allowed agents: {', '.join(policy.allowed_agents)}.",
                )
            return
        await self._check_writer(attempt, policy)
        if attempt.action == "status":
            await self._check_status(attempt, policy)
        elif attempt.action == "cost":
            await self._check_cost(attempt, policy)

    async def _check_writer(self, attempt: WriteAttempt, policy: GovernancePolicy) -> None:
        names = principal_names(attempt.principal)
        if policy.write_scope == WriteScope.ASSIGNED_ONLY:
            rows = await AssignmentRow.select(AssignmentRow.agent_id).where(
                AssignmentRow.intent_id == attempt.intent.id
            )
            if not names & {row["agent_id"] for row in rows}:
                self._violation(
                    attempt,
                    "write_scope",
                    "Governance policy sets write_scope='assigned_only': only agents "
                    "assigned to this intent may write to it.",
                )
        if policy.allowed_agents and not names & set(policy.allowed_agents):
            self._violation(
                attempt,
                "allowed_agents",
                "Governance policy restricts writes to the allowed agents: "
                f"{', '.join(policy.allowed_agents)}.",
            )

    async def _check_status(self, attempt: WriteAttempt, policy: GovernancePolicy) -> None:
        if policy.require_status_reason and not attempt.reason:
            # The reference records no violation event for this rule.
            self._refuse(
                "require_status_reason",
                "Governance policy requires a 'reason' field for all status transitions.",
            )
        if attempt.target_status != IntentStatus.COMPLETED.value:
            return
        intent_id = attempt.intent.id
        if policy.completion_mode == CompletionMode.REQUIRE_APPROVAL:
            if await self._approved_completions(intent_id) < 1:
                self._violation(
                    attempt,
                    "completion_mode",
                    "Governance policy requires an approved 'complete' approval request "
                    "before this intent can be completed.",
                    mode=CompletionMode.REQUIRE_APPROVAL,
                )
        elif policy.completion_mode == CompletionMode.QUORUM:
            # Assignment rows, duplicates included, as the reference counts them.
            assigned = await AssignmentRow.count().where(AssignmentRow.intent_id == intent_id)
            if assigned == 0:
                self._refuse(
                    "completion_mode",
                    "Governance policy requires quorum approval, but no agents are "
                    "assigned to this intent.",
                    mode=CompletionMode.QUORUM,
                )
            required = policy.required_approvals(assigned)
            approved = await self._approved_completions(intent_id)
            if approved < required:
                self._violation(
                    attempt,
                    "completion_mode",
                    f"Governance policy requires quorum approval. {approved} of {required} "
                    f"required approvals received (threshold={policy.quorum_threshold}, "
                    f"{assigned} assigned agents).",
                    mode=CompletionMode.QUORUM,
                )

    async def _check_cost(self, attempt: WriteAttempt, policy: GovernancePolicy) -> None:
        if policy.max_cost is None:
            return
        amount = float(attempt.extra.get("amount", 0.0))
        if not self.db.is_sqlite:
            # Concurrent cost records on one intent must not each see the old total and
            # pass together: take the intent's row lock, then read the total (SQLite
            # write transactions are serial already).
            await IntentRow.raw(
                "SELECT id FROM oi_intents WHERE id = {} FOR UPDATE", attempt.intent.id
            )
        # Read here rather than taking the caller's ``current_total``: only a total read
        # under the lock is current.
        total = await self.cost_total(attempt.intent.id)
        if total + amount > policy.max_cost:
            stored = (attempt.intent.governance_policy or {}).get("max_cost", policy.max_cost)
            self._violation(
                attempt,
                "max_cost",
                f"Governance policy sets max_cost={stored}. Current total is {total}; "
                f"adding {amount} would exceed the ceiling.",
            )

    async def _approved_completions(self, intent_id: str) -> int:
        return int(
            await ApprovalRow.count().where(
                (ApprovalRow.intent_id == intent_id)
                & (ApprovalRow.action == "complete")
                & (ApprovalRow.status == ApprovalStatus.APPROVED.value)
            )
        )

    def _violation(
        self,
        attempt: WriteAttempt,
        rule: str,
        message: str,
        mode: CompletionMode | None = None,
    ) -> NoReturn:
        """Refuse the write and leave a ``governance.violation`` event in the log."""
        self._record_after_refusal(
            attempt.intent.id, attempt.principal.actor, {"rule": rule, "detail": message}
        )
        self._refuse(rule, message, mode)

    @staticmethod
    def _refuse(rule: str, message: str, mode: CompletionMode | None = None) -> NoReturn:
        detail = GovernanceViolation(rule=rule, mode=mode, message=message)
        raise ForbiddenError(message, status_code=403, response={"detail": to_wire(detail)})

    def _record_after_refusal(self, intent_id: str, actor: str, payload: dict[str, Any]) -> None:
        """Write the violation event in its own transaction once the refused one is gone.

        The guard runs inside the refused write's transaction, whose rollback would
        take the event with it, and on SQLite that transaction holds the only writer
        connection. So the event is written by a task started in a fresh context (no
        current unit of work) that queues for the writer behind the rolled-back write.
        """

        async def write() -> None:
            async with self.db.write():
                await record_event(intent_id, EventType.GOVERNANCE_VIOLATION, actor, payload)

        task = asyncio.get_running_loop().create_task(write(), context=contextvars.Context())
        self._pending.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("could not record a governance violation", exc_info=task.exception())

    async def drain(self) -> None:
        """Wait for violation events still being written (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
