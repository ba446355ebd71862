"""Tool invocation records: recorded by callers (``POST /tools/invocations``) or by
the tool proxy, read per grant, per id, or by query. Recorded values never carry the
credential's secrets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openintent.core.converter import utcnow
from openintent.exceptions import NotFoundError
from openintent.models import ToolInvocation
from openintent.models.vaults import InvocationRecordRequest
from openintent.server.ids import new_id
from openintent.server.services._checks import integer, invalid, text
from openintent.server.services.principal import Principal
from openintent.server.services.secrets import SecretsUnavailable, scrub, secret_values
from openintent.server.services.vaults.common import INVOCATION_STATUSES, _remember, _replayed
from openintent.server.services.vaults.records import (
    context_text,
    invocation_from_row,
    require_texts,
)
from openintent.server.store.database import dump_json
from openintent.server.store.tables import IntentRow
from openintent.server.store.vaults_tables import CredentialRow, InvocationRow

__all__ = ["VaultInvocations"]


class VaultInvocations:
    """Invocation records (mixed into ``VaultService``)."""

    async def record_invocation(
        self,
        principal: Principal,
        req: InvocationRecordRequest,
        idempotency_key: str | None = None,
    ) -> ToolInvocation:
        """A manually reported invocation (``POST /api/v1/invocations``)."""
        require_texts(
            grant_id=req.grant_id, service=req.service, tool=req.tool, agent_id=req.agent_id
        )
        if str(req.status) not in INVOCATION_STATUSES:
            raise invalid("status", f"must be one of {', '.join(INVOCATION_STATUSES)}")
        text("idempotency_key", req.idempotency_key)
        integer("duration_ms", req.duration_ms)
        async with self.db.write():
            if replayed := await _replayed(
                principal, "invocation", idempotency_key, ToolInvocation
            ):
                return replayed
            grant = await self.grant_row(req.grant_id)
            credential = await CredentialRow.select().where(
                CredentialRow.id == grant["credential_id"]
            )
            known = self._known_secrets(credential[0]) if credential else set()
            context = scrub(req.context, known, by_key=False)
            row = InvocationRow(
                id=new_id(),
                grant_id=req.grant_id,
                service=req.service,
                tool=req.tool,
                agent_id=req.agent_id,
                parameters=dump_json(scrub(req.parameters, known, by_key=False)),
                status=str(req.status),
                result=dump_json(scrub(req.result, known, by_key=False)),
                error=dump_json(scrub(req.error, known, by_key=False)),
                cost=dump_json(req.cost),
                duration_ms=req.duration_ms,
                idempotency_key=req.idempotency_key,
                context=dump_json(context),
                intent_id=context_text(context, "intent_id"),
                task_id=context_text(context, "task_id"),
                proxied=False,
                timestamp=utcnow(),
            )
            await InvocationRow.insert(row)
            record = invocation_from_row(row.to_dict())
            await _remember(principal, "invocation", idempotency_key, record)
        return record

    def _known_secrets(self, credential: Mapping[str, Any]) -> set[str]:
        """Secret values of a credential, to scrub from anything recorded about it."""
        try:
            return secret_values(self.open_secrets(credential))
        except SecretsUnavailable:
            return set()

    async def grant_invocations(self, grant_id: str, limit: int) -> list[ToolInvocation]:
        rows = (
            await InvocationRow.select()
            .where(InvocationRow.grant_id == grant_id)
            .order_by(InvocationRow.seq, ascending=False)
            .limit(limit)
        )
        return [invocation_from_row(r) for r in rows]

    async def get_invocation(self, invocation_id: str) -> ToolInvocation:
        rows = await InvocationRow.select().where(InvocationRow.id == invocation_id).limit(1)
        if not rows:
            raise NotFoundError("Invocation not found", status_code=404)
        return invocation_from_row(rows[0])

    async def require_intent(self, intent_id: str) -> None:
        if not await IntentRow.exists().where(IntentRow.id == intent_id):
            raise NotFoundError("Intent not found", status_code=404)

    async def query_invocations(
        self, filters: Mapping[str, str | None], limit: int, offset: int
    ) -> tuple[list[ToolInvocation], int]:
        """Newest first; ``filters`` keys: grant_id, agent_id, tool, status, intent_id, task_id."""
        query = InvocationRow.select().order_by(InvocationRow.seq, ascending=False)
        count = InvocationRow.count()
        for name, value in filters.items():
            if value is not None:
                column = getattr(InvocationRow, name)
                query = query.where(column == value)
                count = count.where(column == value)
        rows = await query.limit(limit).offset(offset)
        return [invocation_from_row(r) for r in rows], await count
