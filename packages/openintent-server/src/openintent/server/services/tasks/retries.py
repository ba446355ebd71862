"""Task retries and failure records (RFC-0010 applied to RFC-0012 tasks).

``failed -> ready`` adds one to ``attempt`` while ``attempt < max_attempts`` and, when the
intent has a retry policy, while its strategy is not ``none`` and ``attempt <=
max_retries``; the policy's delay sets the earliest claim and its ``fallback_agent_id``
(else nobody) becomes the assignee. Every failure is also recorded as an RFC-0010
failure record of the intent, which the coordinator guardrail
``auto_escalate_after_failures`` counts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from openintent.exceptions import ConflictError
from openintent.models import RetryPolicy, RetryStrategy
from openintent.server.ids import new_id
from openintent.server.services._checks import INT32_MAX
from openintent.server.services.tasks.records import Row
from openintent.server.store.database import dump_json
from openintent.server.store.retry_tables import FailureRow, RetryPolicyRow

__all__ = ["TaskRetries"]


class TaskRetries:
    """Retry limits, retry values and failure records (mixed into ``TaskService``)."""

    async def _retry_policy(self, intent_id: str) -> RetryPolicy | None:
        rows = await RetryPolicyRow.select().where(RetryPolicyRow.intent_id == intent_id).limit(1)
        if not rows:
            return None
        r = rows[0]
        return RetryPolicy(
            id=r["id"],
            intent_id=intent_id,
            strategy=RetryStrategy(r["strategy"]),
            max_retries=r["max_retries"],
            base_delay_ms=r["base_delay_ms"],
            max_delay_ms=r["max_delay_ms"],
            jitter=bool(r["jitter"]),
            fallback_agent_id=r["fallback_agent_id"],
        )

    async def _retry_refusal(self, row: Row) -> str | None:
        attempt = row["attempt"]
        if attempt >= row["max_attempts"]:
            return f"Task has used all {row['max_attempts']} attempts"
        policy = await self._retry_policy(row["intent_id"])
        if policy is not None and policy.strategy == RetryStrategy.NONE:
            return "The intent's retry policy allows no retries (strategy 'none')"
        if policy is not None and attempt > policy.max_retries:
            return f"The intent's retry policy allows {policy.max_retries} retries"
        return None

    async def _retry_allowed(self, row: Row) -> bool:
        return await self._retry_refusal(row) is None

    async def _retry_values(self, row: Row, now: dt.datetime) -> dict[str, Any]:
        refusal = await self._retry_refusal(row)
        if refusal is not None:
            raise ConflictError(refusal, current_version=row["version"], status_code=409)
        policy = await self._retry_policy(row["intent_id"])
        delay = policy.delay_ms(row["attempt"]) if policy is not None else 0
        return {
            # A retry ends the failed claim; RFC-0010's fallback agent gets the next try.
            "assigned_agent": policy.fallback_agent_id if policy is not None else None,
            "attempt": row["attempt"] + 1,
            "error": None,
            "started_at": None,
            "completed_at": None,
            "lease_id": None,
            "progress_percentage": None,
            "progress_message": None,
            "progress_at": None,
            "retry_at": now + dt.timedelta(milliseconds=delay) if delay else None,
        }

    async def _record_failure(self, row: Row, timed_out: bool) -> None:
        """The failure as an RFC-0010 record of the intent, then the guardrail check."""
        await FailureRow.insert(
            FailureRow(
                id=new_id(),
                intent_id=row["intent_id"],
                agent_id=row["assigned_agent"],
                attempt_number=min(row["attempt"], INT32_MAX),
                error_type="task_timeout" if timed_out else "task_failed",
                error_message=row["error"] or "",
                retry_scheduled_at=None,
                recoverable=await self._retry_allowed(row),
                metadata_json=dump_json({"task_id": row["id"], "task_name": row["name"]}),
                occurred_at=self.clock(),
            )
        )
        coordinators = self.registry.get("coordinators")
        if coordinators is not None:
            await coordinators.after_failure(row["intent_id"], row["id"])
