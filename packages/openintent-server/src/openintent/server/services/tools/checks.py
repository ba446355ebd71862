"""The checks of a proxied tool call, each refusing with HTTP 403 (429 for the rate)
and an RFC ``error_code`` beside the reference's ``detail`` text.

Grant resolution keeps the reference's order (a grant listing the tool in ``scopes``
or ``context.tools``, else one whose credential's ``service`` is the tool name) among
*usable* grants: active, not expired, every grant it was delegated from usable too —
so an expired grant no longer shadows a valid one. ``grant_id`` in the body picks one
grant instead. When ``X-Agent-ID`` is sent it must equal the body's ``agent_id``: an
agent uses only its own grants (a key holder without the header acts for the agent it
names, as with the reference).

Checks, in order: grant found (``GRANT_NOT_FOUND``; ``GRANT_EXPIRED`` /
``GRANT_REVOKED`` / ``GRANT_SUSPENDED`` when only such a grant matches), credential
usable (``CREDENTIAL_REVOKED`` / ``CREDENTIAL_EXPIRED``), tool still offered by the
credential (``GRANT_SCOPE_INSUFFICIENT``), context binding and the caller's address
(``GRANT_CONTEXT_MISMATCH``), parameter rules (``GRANT_PARAMETER_DENIED``), and
``max_invocations_per_hour`` (``GRANT_RATE_LIMITED``).

Rate limits count only successful calls of the last hour, plus calls still in flight
(reserved as ``pending`` records in the same transaction that counts them, under a
row lock on the grant), so concurrent calls on several server processes cannot
overshoot. A pending record older than the longest timeout no longer counts.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Mapping
from typing import Any

import attrs

from openintent.core.converter import to_wire
from openintent.exceptions import OpenIntentError
from openintent.models import GrantStatus, ToolGrant, ToolInvokeRequest
from openintent.models.vaults import select_grant
from openintent.server import channels
from openintent.server.ids import new_id
from openintent.server.services.secrets import scrub
from openintent.server.services.vaults.records import (
    credential_from_row,
    grant_from_row,
    grant_tools,
)
from openintent.server.store.database import dump_json
from openintent.server.store.vaults_tables import CredentialRow, GrantRow, InvocationRow

__all__ = ["PENDING", "PENDING_WINDOW", "RATE_WINDOW", "ToolChecks", "ToolRefused"]

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


class ToolChecks:
    """Grant resolution and the checks (mixed into ``ToolService``)."""

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
            invocation_id = new_id()
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
