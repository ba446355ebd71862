"""RFC-0014 records: stored rows as protocol models, and the checks on request values
that the vault and tool services share (no I/O here)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from openintent.core.converter import to_wire, utcnow
from openintent.models import (
    Credential,
    CredentialStatus,
    CredentialVault,
    GrantSource,
    GrantStatus,
    ToolGrant,
    ToolInvocation,
)
from openintent.models.enums import AuthType
from openintent.models.vaults import GrantConstraints
from openintent.server.services._checks import integer, invalid, text
from openintent.server.store.database import load_json

__all__ = [
    "check_future",
    "check_offered",
    "constraint_dict",
    "context_text",
    "credential_from_row",
    "grant_from_row",
    "grant_tools",
    "invocation_from_row",
    "is_past",
    "require_texts",
    "tighter_constraints",
    "vault_from_row",
]


# -- rows -> models --------------------------------------------------------------------


def is_past(expires_at: dt.datetime | None, now: dt.datetime) -> bool:
    return expires_at is not None and expires_at <= now


def credential_from_row(row: Mapping[str, Any], now: dt.datetime) -> Credential:
    status = row["status"]
    if status == CredentialStatus.ACTIVE and is_past(row["expires_at"], now):
        status = CredentialStatus.EXPIRED
    return Credential(
        id=row["id"],
        vault_id=row["vault_id"],
        service=row["service"],
        label=row["label"],
        auth_type=_auth_type(row["auth_type"]),
        scopes_available=load_json(row["scopes_available"], []),
        status=CredentialStatus(status),
        metadata=load_json(row["public_metadata"], {}),
        created_at=row["created_at"],
        rotated_at=row["rotated_at"],
        expires_at=row["expires_at"],
    )


def _auth_type(value: str) -> AuthType | str:
    try:
        return AuthType(value)
    except ValueError:
        return value


def grant_from_row(row: Mapping[str, Any], now: dt.datetime) -> ToolGrant:
    status = row["status"]
    if status in (GrantStatus.ACTIVE, GrantStatus.SUSPENDED) and is_past(row["expires_at"], now):
        status = GrantStatus.EXPIRED
    raw = load_json(row["constraints"])
    return ToolGrant(
        id=row["id"],
        credential_id=row["credential_id"],
        agent_id=row["agent_id"],
        granted_by=row["granted_by"],
        scopes=load_json(row["scopes"], []),
        constraints=GrantConstraints.from_dict(raw) if raw is not None else None,
        source=GrantSource(row["source"]),
        delegatable=row["delegatable"],
        delegation_depth=row["delegation_depth"],
        delegated_from=row["delegated_from"],
        context=load_json(row["context"], {}),
        status=GrantStatus(status),
        expires_at=row["expires_at"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


def invocation_from_row(row: Mapping[str, Any]) -> ToolInvocation:
    return ToolInvocation(
        invocation_id=row["id"],
        grant_id=row["grant_id"],
        service=row["service"],
        tool=row["tool"],
        agent_id=row["agent_id"],
        parameters=load_json(row["parameters"], {}),
        status=row["status"],
        result=load_json(row["result"]),
        error=load_json(row["error"]),
        cost=load_json(row["cost"]),
        duration_ms=row["duration_ms"],
        idempotency_key=row["idempotency_key"],
        context=load_json(row["context"], {}),
        timestamp=row["timestamp"],
    )


def vault_from_row(row: Mapping[str, Any], credential_ids: list[str]) -> CredentialVault:
    return CredentialVault(
        id=row["id"],
        owner_id=row["owner_id"],
        name=row["name"],
        credentials=credential_ids,
        created_at=row["created_at"],
    )


def grant_tools(grant: ToolGrant) -> list[str]:
    """Every tool name a grant lists (``scopes`` and ``context.tools``)."""
    extra = grant.context.get("tools")
    tools = list(grant.scopes) + (list(extra) if isinstance(extra, list) else [])
    return list(dict.fromkeys(t for t in tools if isinstance(t, str)))


# -- input checks ----------------------------------------------------------------------


def require_texts(**fields: str | None) -> None:
    for name, value in fields.items():
        text(name, value, required=True)


def check_future(field: str, value: dt.datetime | None) -> None:
    if value is not None and value <= utcnow():
        raise invalid(field, "must be in the future")


def constraint_dict(constraints: GrantConstraints | None) -> dict[str, Any] | None:
    """Validated wire form of grant constraints (unknown keys kept, as the reference)."""
    if constraints is None:
        return None
    raw = dict(to_wire(constraints))
    depth = raw.get("max_delegation_depth")
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int)):
        raise invalid("constraints.max_delegation_depth", "must be an integer")
    integer("constraints.max_invocations_per_hour", constraints.max_invocations_per_hour)
    integer("constraints.max_delegation_depth", depth)
    cost = constraints.max_cost_per_invocation
    if cost is not None and not (cost >= 0 and cost != float("inf")):
        raise invalid("constraints.max_cost_per_invocation", "must be a finite number >= 0")
    for name in ("allowed_hosts", "ip_allowlist"):
        value = raw.get(name)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
        ):
            raise invalid(f"constraints.{name}", "must be a list of non-empty strings")
    for entry in constraints.ip_allowlist or ():
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            raise invalid(
                "constraints.ip_allowlist", f"not an IP address or network: {entry!r}"
            ) from None
    for name in ("allowed_parameters", "denied_parameters"):
        rules = raw.get(name)
        if rules is None:
            continue
        if not all(isinstance(v, bool | list) for v in dict(rules).values()):
            raise invalid(
                f"constraints.{name}", "each parameter maps to true/false or a list of values"
            )
    return raw


def check_offered(scopes: Iterable[str], offered: list[str], field: str) -> None:
    missing = [s for s in scopes if s not in offered]
    if missing:
        raise invalid(
            field,
            f"not offered by the credential (scopes_available: {offered}): {', '.join(missing)}",
        )


def tighter_constraints(
    source: dict[str, Any] | None, wanted: dict[str, Any] | None
) -> dict[str, Any] | None:
    """A delegated grant's constraints: the source's, tightened by ``wanted`` (422 if looser)."""
    if source is None:
        return wanted
    merged = dict(source)
    for key, value in (wanted or {}).items():
        if value is None:
            continue
        before = source.get(key)
        if before is None:
            merged[key] = value
        elif key in ("max_invocations_per_hour", "max_cost_per_invocation", "max_delegation_depth"):
            if value > before:
                raise invalid(f"constraints.{key}", f"may not exceed the source grant's {before}")
            merged[key] = value
        elif key in ("allowed_hosts", "ip_allowlist"):
            if not set(value) <= set(before):
                raise invalid(f"constraints.{key}", "must be a subset of the source grant's")
            merged[key] = value
        elif key == "denied_parameters":
            merged[key] = {**before, **value}
        elif value != before:
            raise invalid(f"constraints.{key}", "may not differ from the source grant's")
    return merged


def context_text(context: Any, key: str) -> str | None:
    value = context.get(key) if isinstance(context, dict) else None
    return value if isinstance(value, str) and value else None
