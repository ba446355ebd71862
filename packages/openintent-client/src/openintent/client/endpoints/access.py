"""RFC-0011: ACLs and access requests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from openintent.client._call import Call
from openintent.client._endpoint import Context
from openintent.client._parse import model, models, nothing
from openintent.client.endpoints._util import api, iso, value_of
from openintent.models import AccessPolicy, AccessRequest, ACLEntry, IntentACL, Permission

__all__ = [
    "approve_access_request",
    "deny_access_request",
    "get_acl",
    "grant_access",
    "list_access_requests",
    "request_access",
    "revoke_access",
    "set_acl",
]


def get_acl(ctx: Context, /, intent_id: str) -> Call[IntentACL]:
    return Call("GET", api("intents", intent_id, "acl"), model(IntentACL))


def set_acl(
    ctx: Context,
    /,
    intent_id: str,
    default_policy: AccessPolicy | str = AccessPolicy.OPEN,
    entries: Sequence[ACLEntry | dict[str, Any]] | None = None,
) -> Call[IntentACL]:
    """Replace the ACL; ``entries`` may be ``ACLEntry`` objects or plain dicts."""
    body = {
        "default_policy": value_of(default_policy),
        "entries": [e.to_dict() if isinstance(e, ACLEntry) else dict(e) for e in entries or []],
    }
    return Call("PUT", api("intents", intent_id, "acl"), model(IntentACL), json=body)


def grant_access(
    ctx: Context,
    /,
    intent_id: str,
    principal_id: str,
    principal_type: str = "agent",
    permission: Permission | str = Permission.READ,
    reason: str | None = None,
    expires_at: dt.datetime | str | None = None,
) -> Call[ACLEntry]:
    body: dict[str, Any] = {
        "principal_id": principal_id,
        "principal_type": principal_type,
        "permission": value_of(permission),
    }
    if reason:
        body["reason"] = reason
    if expires_at is not None:
        body["expires_at"] = iso(expires_at)
    return Call(
        "POST", api("intents", intent_id, "acl", "entries"), model(ACLEntry), json=body, create=True
    )


def revoke_access(ctx: Context, /, intent_id: str, entry_id: str) -> Call[None]:
    return Call("DELETE", api("intents", intent_id, "acl", "entries", entry_id), nothing)


def request_access(
    ctx: Context,
    /,
    intent_id: str,
    principal_id: str,
    principal_type: str = "agent",
    permission: Permission | str = Permission.WRITE,
    reason: str = "",
    capabilities: list[str] | None = None,
) -> Call[AccessRequest]:
    body: dict[str, Any] = {
        "principal_id": principal_id,
        "principal_type": principal_type,
        "requested_permission": value_of(permission),
        "reason": reason,
    }
    if capabilities:
        body["capabilities"] = list(capabilities)
    return Call(
        "POST",
        api("intents", intent_id, "access-requests"),
        model(AccessRequest),
        json=body,
        create=True,
    )


def list_access_requests(ctx: Context, /, intent_id: str) -> Call[list[AccessRequest]]:
    return Call(
        "GET",
        api("intents", intent_id, "access-requests"),
        models(AccessRequest, "access_requests"),
    )


def approve_access_request(
    ctx: Context,
    /,
    intent_id: str,
    request_id: str,
    permission: Permission | str | None = None,
    expires_at: dt.datetime | str | None = None,
    reason: str | None = None,
) -> Call[AccessRequest]:
    body: dict[str, Any] = {"decided_by": ctx.agent_id}
    if permission is not None:
        body["permission"] = value_of(permission)
    if expires_at is not None:
        body["expires_at"] = iso(expires_at)
    if reason is not None:
        body["reason"] = reason
    path = api("intents", intent_id, "access-requests", request_id, "approve")
    return Call("POST", path, model(AccessRequest), json=body)


def deny_access_request(
    ctx: Context, /, intent_id: str, request_id: str, reason: str | None = None
) -> Call[AccessRequest]:
    body: dict[str, Any] = {"decided_by": ctx.agent_id}
    if reason is not None:
        body["reason"] = reason
    path = api("intents", intent_id, "access-requests", request_id, "deny")
    return Call("POST", path, model(AccessRequest), json=body)
