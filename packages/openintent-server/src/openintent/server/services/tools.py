"""RFC-0014 tool proxy: ``POST /api/v1/tools/invoke`` and the tool registry.

An agent names a tool; the server finds the agent's grant, checks it, injects the
credential's secret into an upstream call it makes itself, scrubs the answer and
records the invocation. The agent never sees the secret.

Grant resolution keeps the reference's order (a grant listing the tool in ``scopes``
or ``context.tools``, else one whose credential's ``service`` is the tool name) among
*usable* grants: active, not expired, every grant it was delegated from usable too —
so an expired grant no longer shadows a valid one. ``grant_id`` in the body picks one
grant instead. When ``X-Agent-ID`` is sent it must equal the body's ``agent_id``: an
agent uses only its own grants (a key holder without the header acts for the agent it
names, as with the reference).

Checks, in order, each refusing with HTTP 403 (429 for the rate) and an RFC
``error_code`` beside the reference's ``detail`` text: grant found (``GRANT_NOT_FOUND``;
``GRANT_EXPIRED`` / ``GRANT_REVOKED`` / ``GRANT_SUSPENDED`` when only such a grant
matches), credential usable (``CREDENTIAL_REVOKED`` / ``CREDENTIAL_EXPIRED``), tool
still offered by the credential (``GRANT_SCOPE_INSUFFICIENT``), context binding and the
caller's address (``GRANT_CONTEXT_MISMATCH``), parameter rules
(``GRANT_PARAMETER_DENIED``), and ``max_invocations_per_hour`` (``GRANT_RATE_LIMITED``).

Rate limits count only successful calls of the last hour, plus calls still in flight
(reserved as ``pending`` records in the same transaction that counts them, under a
row lock on the grant), so concurrent calls on several server processes cannot
overshoot. A pending record older than the longest timeout no longer counts.

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
import ipaddress
import time
import uuid
from collections.abc import Mapping
from typing import Any

import attrs

from openintent.core.converter import to_wire, utcnow
from openintent.exceptions import ConflictError, OpenIntentError
from openintent.models import GrantStatus, ToolGrant, ToolInvokeRequest, ToolInvokeResponse
from openintent.models.vaults import select_grant
from openintent.server import channels
from openintent.server.services._checks import invalid, text
from openintent.server.services.events import record_event
from openintent.server.services.principal import Principal
from openintent.server.services.secrets import scrub, secret_values, secrets_hidden
from openintent.server.services.tool_adapters import Execution, adapter_for, execute
from openintent.server.services.tool_http import elapsed_ms
from openintent.server.services.vault_records import (
    credential_from_row,
    grant_from_row,
    grant_tools,
)
from openintent.server.services.vaults import VaultService
from openintent.server.store.database import Database, dump_json, load_json
from openintent.server.store.tables import IntentRow
from openintent.server.store.vaults_tables import CredentialRow, GrantRow, InvocationRow

__all__ = ["ToolRefused", "ToolService"]

PENDING = "pending"
#: A pending call older than this (longest upstream timeout + margin) is abandoned.
PENDING_WINDOW = dt.timedelta(seconds=130)
RATE_WINDOW = dt.timedelta(hours=1)


class ToolRefused(OpenIntentError):
    """A refused or failed proxied call: HTTP status, RFC error code, and the record."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str,
        invocation_id: str | None = None,
        outcome: str = "denied",
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.code = code
        self.invocation_id = invocation_id
        self.outcome = outcome

    def body(self) -> dict[str, Any]:
        return {
            "detail": self.message,
            "message": self.message,
            "error_code": self.code,
            "invocation_id": self.invocation_id,
            "status": self.outcome,
            "error": {"code": self.code, "message": self.message},
        }


@attrs.define
class _Denial:
    code: str
    message: str
    status_code: int = 403
    grant: dict[str, Any] | None = None
    service: str = ""


@attrs.define
class _Allowed:
    grant: ToolGrant
    credential: dict[str, Any]
    metadata: dict[str, Any]


class ToolService:
    def __init__(self, db: Database, vaults: VaultService) -> None:
        self.db = db
        self.vaults = vaults

    @property
    def settings(self) -> Any:
        return self.vaults.settings

    # -- invoke -----------------------------------------------------------------------

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

    async def _authorize(
        self, req: ToolInvokeRequest, now: dt.datetime, client_ip: str | None
    ) -> _Denial | _Allowed:
        tool = req.tool_name
        rows = (
            await GrantRow.select().where(GrantRow.agent_id == req.agent_id).order_by(GrantRow.seq)
        )
        if req.grant_id is not None:
            rows = [r for r in rows if r["id"] == req.grant_id]
        by_id = {r["id"]: r for r in rows}
        credentials = {
            c["id"]: c
            for c in await CredentialRow.select().where(
                CredentialRow.id.is_in(sorted({r["credential_id"] for r in rows}) or [""])
            )
        }

        def service_of(credential_id: str) -> str | None:
            found = credentials.get(credential_id)
            return found["service"] if found else None

        grants = [grant_from_row(r, now) for r in rows]
        usable = [
            g for g in grants if g.status == GrantStatus.ACTIVE and await self._chain_ok(g, now)
        ]
        chosen = select_grant(usable, tool, service_of, now=now)
        if chosen is None:
            return await self._why_not(req, grants, service_of, now)
        grant_row = by_id[chosen.id]
        credential = credentials.get(chosen.credential_id)
        service = credential["service"] if credential else ""
        deny = _Denial("", "", grant=grant_row, service=service)
        if credential is None:
            deny.code, deny.message = (
                "CREDENTIAL_REVOKED",
                f"Credential for tool '{tool}' no longer exists",
            )
            return deny
        current = credential_from_row(credential, now)
        if current.status.value != "active":
            deny.code = f"CREDENTIAL_{current.status.value.upper()}"
            deny.message = f"Credential for tool '{tool}' is {current.status.value}"
            return deny
        if tool != current.service and tool not in current.scopes_available:
            deny.code = "GRANT_SCOPE_INSUFFICIENT"
            deny.message = f"Tool '{tool}' is not offered by the credential any more"
            return deny
        if problem := _context_problem(chosen, req.context, client_ip):
            deny.code, deny.message = "GRANT_CONTEXT_MISMATCH", problem
            return deny
        if problem := _parameter_problem(chosen, req.parameters):
            deny.code, deny.message = "GRANT_PARAMETER_DENIED", problem
            return deny
        limit = chosen.constraints.max_invocations_per_hour if chosen.constraints else None
        # Row lock on the grant: concurrent calls count and reserve one at a time.
        await GrantRow.update({GrantRow.last_used_at: now}).where(GrantRow.id == chosen.id)
        if limit is not None and await self._used(chosen.id, now) >= limit:
            deny.code, deny.status_code = "GRANT_RATE_LIMITED", 429
            deny.message = f"Rate limit exceeded: {limit} invocations per hour"
            return deny
        metadata = self.vaults.open_secrets(credential)  # 503 when the key is unusable
        return _Allowed(chosen, credential, metadata)

    async def _chain_ok(self, grant: ToolGrant, now: dt.datetime) -> bool:
        """A delegated grant is usable only while every grant above it is."""
        parent_id = grant.delegated_from
        while parent_id:
            rows = await GrantRow.select().where(GrantRow.id == parent_id).limit(1)
            if not rows or grant_from_row(rows[0], now).status != GrantStatus.ACTIVE:
                return False
            parent_id = rows[0]["delegated_from"]
        return True

    async def _why_not(
        self, req: ToolInvokeRequest, grants: list[ToolGrant], service_of: Any, now: dt.datetime
    ) -> _Denial:
        tool = req.tool_name
        for grant in grants:
            if not (tool in grant_tools(grant) or service_of(grant.credential_id) == tool):
                continue
            row = await self.vaults.grant_row(grant.id)
            status = grant.status
            if status == GrantStatus.ACTIVE:  # usable itself, but a grant above it is not
                return _Denial(
                    "GRANT_REVOKED", f"Grant for tool '{tool}' lost its source grant", grant=row
                )
            if status == GrantStatus.EXPIRED and row["status"] != GrantStatus.EXPIRED:
                await self._mark_expired(row)
            messages = {
                GrantStatus.EXPIRED: ("GRANT_EXPIRED", f"Grant for tool '{tool}' has expired"),
                GrantStatus.REVOKED: ("GRANT_REVOKED", f"Grant for tool '{tool}' has been revoked"),
                GrantStatus.SUSPENDED: ("GRANT_SUSPENDED", f"Grant for tool '{tool}' is suspended"),
            }
            code, message = messages[status]
            return _Denial(code, message, grant=row, service=service_of(grant.credential_id) or "")
        if req.grant_id is not None and not grants:
            return _Denial(
                "GRANT_NOT_FOUND", f"Grant '{req.grant_id}' not found for agent '{req.agent_id}'"
            )
        return _Denial(
            "GRANT_NOT_FOUND",
            f"No active grant found for agent '{req.agent_id}' to use tool '{tool}'",
        )

    async def _mark_expired(self, row: Mapping[str, Any]) -> None:
        updated = (
            await GrantRow.update({GrantRow.status: GrantStatus.EXPIRED.value})
            .where((GrantRow.id == row["id"]) & (GrantRow.status == row["status"]))
            .returning(GrantRow.id)
        )
        if updated:
            await self.db.emit(
                channels.agent(row["agent_id"]), "grant.expired", {"grant_id": row["id"]}
            )

    async def _used(self, grant_id: str, now: dt.datetime) -> int:
        """Successful calls of the last hour plus calls still in flight."""
        since = now - RATE_WINDOW
        counted: int = await InvocationRow.count().where(
            (InvocationRow.grant_id == grant_id)
            & (InvocationRow.timestamp >= since)
            & (
                (InvocationRow.status == "success")
                | (
                    (InvocationRow.status == PENDING)
                    & (InvocationRow.timestamp >= now - PENDING_WINDOW)
                )
            )
        )
        return counted

    async def _deny(self, req: ToolInvokeRequest, denial: _Denial, now: dt.datetime) -> ToolRefused:
        """Record a refusal (when a grant was involved) and announce it; nothing counts."""
        invocation_id = None
        grant_id = denial.grant["id"] if denial.grant else None
        if denial.grant is not None:
            invocation_id = str(uuid.uuid4())
            await InvocationRow.insert(
                InvocationRow(
                    id=invocation_id,
                    grant_id=denial.grant["id"],
                    service=denial.service,
                    tool=req.tool_name,
                    agent_id=req.agent_id,
                    parameters=dump_json(scrub(req.parameters)),
                    status="denied",
                    error=dump_json({"message": denial.message, "code": denial.code}),
                    idempotency_key=req.idempotency_key,
                    context=dump_json(scrub(req.context)),
                    intent_id=_context_text(req.context, "intent_id"),
                    task_id=_context_text(req.context, "task_id"),
                    proxied=True,
                    timestamp=now,
                )
            )
        payload = {
            "grant_id": grant_id,
            "service": denial.service,
            "tool": req.tool_name,
            "error_code": denial.code,
            "reason": denial.message,
        }
        await self._announce(req, "tool.denied", payload)
        return ToolRefused(
            denial.message,
            status_code=denial.status_code,
            code=denial.code,
            invocation_id=invocation_id,
        )

    async def _reserve(
        self, req: ToolInvokeRequest, allowed: _Allowed, scope: str | None, now: dt.datetime
    ) -> str:
        invocation_id = str(uuid.uuid4())
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

    # -- registry ---------------------------------------------------------------------

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


# -- helpers ---------------------------------------------------------------------------


def _context_text(context: Mapping[str, Any], key: str) -> str | None:
    value = context.get(key)
    return value if isinstance(value, str) and value else None


def _context_problem(
    grant: ToolGrant, context: Mapping[str, Any], client_ip: str | None
) -> str | None:
    for key in ("intent_id", "task_id"):
        bound = grant.context.get(key)
        if bound is not None and context.get(key) != bound:
            return (
                f"Grant is bound to {key} '{bound}'; the call's context names {context.get(key)!r}"
            )
    allowlist = grant.constraints.ip_allowlist if grant.constraints else None
    if allowlist:
        try:
            address = ipaddress.ip_address(client_ip or "")
        except ValueError:
            return "Caller address unknown; the grant has an ip_allowlist"
        if not any(address in ipaddress.ip_network(n.strip(), strict=False) for n in allowlist):
            return f"Caller address {address} is not in the grant's ip_allowlist"
    return None


def _parameter_problem(grant: ToolGrant, parameters: Mapping[str, Any]) -> str | None:
    constraints = grant.constraints
    allowed = constraints.allowed_parameters if constraints else None
    denied = constraints.denied_parameters if constraints else None
    for name, value in parameters.items():
        if allowed is not None:
            rule = allowed.get(name, False)
            if rule is False or (isinstance(rule, list) and value not in rule):
                return f"Parameter '{name}' is not allowed by the grant"
        if denied is not None:
            rule = denied.get(name, False)
            if rule is True or (isinstance(rule, list) and value in rule):
                return f"Parameter '{name}' is denied by the grant"
    return None


def _narrowed(grant: ToolGrant, metadata: Mapping[str, Any]) -> list[str] | None:
    hosts = to_wire(grant.constraints).get("allowed_hosts") if grant.constraints else None
    if hosts is None:
        hosts = metadata.get("allowed_hosts")
    return [str(h) for h in hosts] if isinstance(hosts, list) else None


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
