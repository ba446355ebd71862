"""``ToolService``: the tool proxy (``POST /api/v1/tools/invoke``) and the tool registry.

An agent names a tool; the server finds the agent's grant, checks it (``checks``),
injects the credential's secret into an upstream call it makes itself (``adapters``,
``http``), scrubs the answer and records the invocation. The agent never sees the
secret.

``idempotency_key``: a repeated call by the same agent with the same key replays the
recorded outcome without calling upstream again (409 while the first is in flight, or
if the key was used for another tool).

Outcome mapping (reference §6.5): upstream timeout 504, refused host 403, upstream 5xx
502, other failures 200 with ``status: "error"``. Every outcome is recorded; events
``tool.invoked`` / ``tool.denied`` go to the agent's stream and, when the call's
``context.intent_id`` names an intent, to that intent's log.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from openintent.core.converter import to_wire, utcnow
from openintent.exceptions import ConflictError
from openintent.models import GrantStatus, ToolInvokeRequest, ToolInvokeResponse
from openintent.server import channels
from openintent.server.ids import new_id
from openintent.server.services._checks import invalid, text
from openintent.server.services.events import record_event
from openintent.server.services.principal import Principal
from openintent.server.services.secrets import scrub, secret_values, secrets_hidden
from openintent.server.services.tools.adapters import Execution, adapter_for, execute
from openintent.server.services.tools.checks import (
    PENDING,
    PENDING_WINDOW,
    ToolChecks,
    ToolRefused,
    _Allowed,
    _context_text,
    _Denial,
    _narrowed,
)
from openintent.server.services.tools.http import elapsed_ms
from openintent.server.services.vaults.records import (
    credential_from_row,
    grant_from_row,
    grant_tools,
)
from openintent.server.store.database import Database, dump_json, load_json
from openintent.server.store.tables import IntentRow
from openintent.server.store.vaults_tables import CredentialRow, GrantRow, InvocationRow

if TYPE_CHECKING:  # the vaults area installs this service, passing itself
    from openintent.server.services.vaults import VaultService

__all__ = ["ToolService"]


class ToolService(ToolChecks):
    def __init__(self, db: Database, vaults: VaultService) -> None:
        self.db = db
        self.vaults = vaults

    @property
    def settings(self) -> Any:
        return self.vaults.settings

    async def invoke(
        self, principal: Principal, req: ToolInvokeRequest, client_ip: str | None
    ) -> ToolInvokeResponse:
        for name in ("tool_name", "agent_id"):
            text(name, getattr(req, name), required=True)
        text("idempotency_key", req.idempotency_key)
        text("grant_id", req.grant_id)
        for key in ("intent_id", "task_id"):
            if key in req.context and not isinstance(req.context[key], str | None):
                raise invalid(f"context.{key}", "must be a string")
        if principal.agent_id is not None and principal.agent_id != req.agent_id:
            raise ToolRefused(
                f"X-Agent-ID '{principal.agent_id}' may not use the grants of agent "
                f"'{req.agent_id}'",
                status_code=403,
                code="GRANT_CONTEXT_MISMATCH",
            )
        scope = f"{req.agent_id}\x1f{req.idempotency_key}" if req.idempotency_key else None
        now = utcnow()
        refusal: ToolRefused | None = None
        async with self.db.write():
            if scope is not None and (replayed := await self._replay(scope, req.tool_name, now)):
                return replayed
            decision = await self._authorize(req, now, client_ip)
            if isinstance(decision, _Denial):
                refusal = await self._deny(req, decision, now)
            else:
                invocation_id = await self._reserve(req, decision, scope, now)
        if refusal is not None:
            raise refusal
        assert isinstance(decision, _Allowed)
        return await self._run(req, decision, invocation_id, now)

    async def _replay(self, scope: str, tool: str, now: dt.datetime) -> ToolInvokeResponse | None:
        """The recorded outcome of an earlier call with this key, if there is one."""
        rows = await InvocationRow.select().where(InvocationRow.idempotency_scope == scope)
        if not rows:
            return None
        row = rows[0]
        if row["tool"] != tool:
            raise ConflictError(
                f"idempotency_key was already used for tool '{row['tool']}'", status_code=409
            )
        if row["status"] == PENDING and row["timestamp"] < now - PENDING_WINDOW:
            # Its server stopped mid-call: close the record and let this call run.
            abandoned = {"message": "Abandoned: the server stopped before the call finished"}
            await InvocationRow.update(
                {
                    InvocationRow.status: "error",
                    InvocationRow.error: dump_json(abandoned),
                    InvocationRow.idempotency_scope: None,
                }
            ).where(InvocationRow.id == row["id"])
            return None
        if row["status"] == PENDING:
            raise ConflictError(
                "An invocation with this idempotency_key is in progress", status_code=409
            )
        context = load_json(row["context"], {})
        error = (load_json(row["error"]) or {}).get("message")
        return _outcome(
            invocation_id=row["id"],
            grant_id=row["grant_id"],
            tool=row["tool"],
            status=row["status"],
            result=load_json(row["result"]),
            error=error,
            http_status=context.get("http_status"),
            duration_ms=row["duration_ms"],
            timestamp=row["timestamp"],
        )

    async def _reserve(
        self, req: ToolInvokeRequest, allowed: _Allowed, scope: str | None, now: dt.datetime
    ) -> str:
        invocation_id = new_id()
        known = secret_values(allowed.metadata)
        inserted = await InvocationRow.raw(
            "INSERT INTO oi_tool_invocations (id, grant_id, service, tool, agent_id, parameters, "
            "status, idempotency_key, idempotency_scope, context, intent_id, task_id, proxied, "
            "timestamp) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}) "
            "ON CONFLICT DO NOTHING RETURNING id",
            invocation_id,
            allowed.grant.id,
            allowed.credential["service"],
            req.tool_name,
            req.agent_id,
            dump_json(scrub(req.parameters, known)),
            PENDING,
            req.idempotency_key,
            scope,
            dump_json(scrub(req.context, known)),
            _context_text(req.context, "intent_id"),
            _context_text(req.context, "task_id"),
            True,
            now,
        )
        if not inserted:  # a concurrent call with the same idempotency key won
            raise ConflictError(
                "An invocation with this idempotency_key is in progress", status_code=409
            )
        return invocation_id

    async def _run(
        self, req: ToolInvokeRequest, allowed: _Allowed, invocation_id: str, started_at: dt.datetime
    ) -> ToolInvokeResponse:
        credential = allowed.credential
        known = secret_values(allowed.metadata)
        started = time.monotonic()
        adapter = adapter_for(credential["auth_type"], allowed.metadata)
        with secrets_hidden(known):
            if adapter is None:
                execution = Execution("success", _placeholder(req, credential, known))
            else:
                narrowed = _narrowed(allowed.grant, allowed.metadata)
                try:
                    execution = await execute(
                        adapter,
                        tool=req.tool_name,
                        parameters=req.parameters,
                        metadata=allowed.metadata,
                        auth_type=credential["auth_type"],
                        policy=self.settings.policy(),
                        narrowed_to=narrowed,
                    )
                except Exception as exc:
                    execution = Execution("error", error=f"Execution failed: {type(exc).__name__}")
        known |= execution.learnt
        duration = elapsed_ms(started)
        result = scrub(execution.result, known, by_key=adapter is not None, limit=True)
        error = scrub(execution.error, known, by_key=False) if execution.error else None
        context = {**scrub(req.context, known)}
        if execution.fingerprint:
            context["request_fingerprint"] = execution.fingerprint
        if execution.http_status is not None:
            context["http_status"] = execution.http_status
        async with self.db.write():
            await InvocationRow.update(
                {
                    InvocationRow.status: execution.status,
                    InvocationRow.result: dump_json(result),
                    InvocationRow.error: dump_json({"message": error}) if error else None,
                    InvocationRow.duration_ms: duration,
                    InvocationRow.context: dump_json(context),
                }
            ).where(InvocationRow.id == invocation_id)
            name = "tool.denied" if execution.status == "denied" else "tool.invoked"
            payload: dict[str, Any] = {
                "invocation_id": invocation_id,
                "grant_id": allowed.grant.id,
                "service": credential["service"],
                "tool": req.tool_name,
                "parameters_summary": sorted(req.parameters),
                "status": execution.status,
                "duration_ms": duration,
                "cost": None,
            }
            if name == "tool.denied":
                payload.update(error_code="PROXY_ERROR", reason=error)
            await self._announce(req, name, payload)
        return _outcome(
            invocation_id=invocation_id,
            grant_id=allowed.grant.id,
            tool=req.tool_name,
            status=execution.status,
            result=result,
            error=error,
            http_status=execution.http_status,
            duration_ms=duration,
            timestamp=started_at,
        )

    async def _announce(self, req: ToolInvokeRequest, name: str, payload: dict[str, Any]) -> None:
        await self.db.emit(channels.agent(req.agent_id), name, payload)
        intent_id = _context_text(req.context, "intent_id")
        if intent_id and await IntentRow.exists().where(IntentRow.id == intent_id):
            event = await record_event(intent_id, name, req.agent_id, payload)
            await self.db.emit(channels.intent(intent_id), name, to_wire(event))

    async def registry(self, service: str | None = None) -> list[dict[str, Any]]:
        """Tools offered by active credentials (per credential: its scopes and endpoints)."""
        query = CredentialRow.select().order_by(CredentialRow.seq)
        if service is not None:
            query = query.where(CredentialRow.service == service)
        now = utcnow()
        out = []
        for row in await query:
            credential = credential_from_row(row, now)
            if credential.status.value != "active":
                continue
            endpoints = credential.metadata.get("endpoints")
            names = list(credential.scopes_available)
            if isinstance(endpoints, dict):
                names += [n for n in endpoints if n not in names]
            out.append(
                {
                    "service": credential.service,
                    "credential_id": credential.id,
                    "vault_id": credential.vault_id,
                    "auth_type": credential.auth_type,
                    "adapter": adapter_for(row["auth_type"], credential.metadata),
                    "tools": names,
                }
            )
        return out

    async def granted(self, agent_id: str) -> list[dict[str, Any]]:
        """The tools ``agent_id`` can invoke now, with the grant each would use."""
        now = utcnow()
        rows = await GrantRow.select().where(GrantRow.agent_id == agent_id).order_by(GrantRow.seq)
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for row in rows:
            grant = grant_from_row(row, now)
            if grant.status != GrantStatus.ACTIVE or not await self._chain_ok(grant, now):
                continue
            credential = await CredentialRow.select().where(CredentialRow.id == grant.credential_id)
            if not credential or credential_from_row(credential[0], now).status.value != "active":
                continue
            service = credential[0]["service"]
            offered = load_json(credential[0]["scopes_available"], [])
            for tool in [*grant_tools(grant), service]:
                if tool in seen or (tool != service and tool not in offered):
                    continue
                seen.add(tool)
                out.append(
                    {
                        "tool": tool,
                        "service": service,
                        "grant_id": grant.id,
                        "credential_id": grant.credential_id,
                        "source": grant.source,
                        "expires_at": grant.expires_at,
                    }
                )
        return out


def _placeholder(
    req: ToolInvokeRequest, credential: Mapping[str, Any], known: set[str]
) -> dict[str, Any]:
    """The reference's answer when the credential configures no upstream (``base_url``)."""
    return {
        "tool_name": req.tool_name,
        "service": credential["service"],
        "parameters": scrub(req.parameters, known),
        "message": f"Tool '{req.tool_name}' invoked via server proxy (no execution adapter configured)",
        "credential_service": credential["service"],
        "credential_auth_type": credential["auth_type"],
    }


def _outcome(
    *,
    invocation_id: str,
    grant_id: str,
    tool: str,
    status: str,
    result: Any,
    error: str | None,
    http_status: Any,
    duration_ms: int | None,
    timestamp: dt.datetime,
) -> ToolInvokeResponse:
    """The response, or the refusal the reference maps the outcome to."""
    if status == "timeout":
        raise ToolRefused(
            error or "External service timed out",
            status_code=504,
            code="PROXY_ERROR",
            invocation_id=invocation_id,
            outcome=status,
        )
    if status == "denied":
        raise ToolRefused(
            error or "Security validation failed",
            status_code=403,
            code="PROXY_ERROR",
            invocation_id=invocation_id,
            outcome=status,
        )
    if status == "error" and isinstance(http_status, int) and http_status >= 500:
        raise ToolRefused(
            error or "Upstream error",
            status_code=502,
            code="SERVICE_ERROR",
            invocation_id=invocation_id,
            outcome=status,
        )
    return ToolInvokeResponse(
        invocation_id=invocation_id,
        tool_name=tool,
        status=status,
        result=result,
        error=error,
        duration_ms=duration_ms,
        grant_id=grant_id,
        timestamp=timestamp,
    )
