"""How the tool proxy turns (tool, parameters, credential) into an upstream HTTP call.

Adapters, chosen as the reference does (rfc-0014 §6.4): ``metadata.adapter`` when it
names one, else the credential's ``auth_type`` when ``metadata.base_url`` is set, else
none (the caller answers with the reference's placeholder). Fixes over the reference:

* the REST auth style defaults to the credential's own ``auth_type`` (a
  ``bearer_token`` credential sends ``Bearer <token>`` without ``metadata.auth_type``);
* ``{name}`` placeholders in an endpoint path are filled from the parameters (URL
  quoted) whatever the mapping; the remaining parameters go in the query for GET,
  HEAD and DELETE, and in the body (or the query, with ``param_mapping: "query"``)
  otherwise — none are dropped;
* the webhook signature covers the exact bytes sent. Those bytes are the payload
  serialised with sorted keys and Python's default separators, so receivers written
  for the reference (which re-serialise that way) verify it too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import attrs

from openintent.server.services.tools.http import (
    HostPolicy,
    OutboundRequest,
    ToolCallDenied,
    ToolCallFailed,
    send,
)

__all__ = ["ADAPTERS", "Execution", "adapter_for", "execute", "timeout_seconds"]

ADAPTERS: dict[str, str] = {
    "rest": "rest",
    "api_key": "rest",
    "bearer_token": "rest",
    "basic_auth": "rest",
    "oauth2_token": "oauth2",
    "oauth2_client_credentials": "oauth2",
    "webhook": "webhook",
}
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@attrs.define
class Execution:
    """The outcome of one proxied call; ``status`` is success, error, timeout or denied."""

    status: str
    result: Any = None
    error: str | None = None
    http_status: int | None = None
    fingerprint: str | None = None
    # secrets learnt during the call (a refreshed OAuth2 token), to scrub from outputs
    learnt: set[str] = attrs.field(factory=set)


def adapter_for(auth_type: str, metadata: Mapping[str, Any]) -> str | None:
    named = metadata.get("adapter")
    if isinstance(named, str) and named in ADAPTERS:
        return ADAPTERS[named]
    if metadata.get("base_url") and auth_type in ADAPTERS:
        return ADAPTERS[auth_type]
    return None


def timeout_seconds(metadata: Mapping[str, Any]) -> float:
    """``timeout_ms`` clamped to 1..120 s; 30 s by default."""
    raw = metadata.get("timeout_ms", 30_000)
    ms = raw if isinstance(raw, int | float) and not isinstance(raw, bool) else 30_000
    return float(min(max(ms, 1000), 120_000)) / 1000.0


async def execute(
    adapter: str,
    *,
    tool: str,
    parameters: dict[str, Any],
    metadata: Mapping[str, Any],
    auth_type: str,
    policy: HostPolicy,
    narrowed_to: list[str] | None,
) -> Execution:
    base_url = metadata.get("base_url")
    if not isinstance(base_url, str) or not base_url:
        return Execution("error", error="Credential metadata missing 'base_url'")
    timeout = timeout_seconds(metadata)
    try:
        if adapter == "webhook":
            return await _webhook(
                base_url, tool, parameters, metadata, policy, narrowed_to, timeout
            )
        if adapter == "oauth2":
            return await _oauth2(base_url, tool, parameters, metadata, policy, narrowed_to, timeout)
        style = str(metadata.get("auth_type") or auth_type)
        request = _rest_request(base_url, tool, parameters, metadata, style)
        return await _call(request, policy, narrowed_to, timeout, "Upstream")
    except _Refused as refused:
        return refused.execution


class _Refused(Exception):
    def __init__(self, execution: Execution) -> None:
        self.execution = execution


async def _call(
    request: OutboundRequest,
    policy: HostPolicy,
    narrowed_to: list[str] | None,
    timeout: float,
    who: str,
) -> Execution:
    fingerprint = request.fingerprint()
    try:
        answer = await send(request, policy, narrowed_to=narrowed_to, timeout=timeout)
    except ToolCallDenied as exc:
        raise _Refused(
            Execution("denied", error=f"Security validation failed: {exc}", fingerprint=fingerprint)
        ) from None
    except ToolCallFailed as exc:
        status = "timeout" if exc.timed_out else "error"
        raise _Refused(Execution(status, error=str(exc), fingerprint=fingerprint)) from None
    if 200 <= answer.status_code < 300:
        return Execution(
            "success", answer.body, http_status=answer.status_code, fingerprint=fingerprint
        )
    return Execution(
        "error",
        answer.body,
        error=f"{who} returned HTTP {answer.status_code}",
        http_status=answer.status_code,
        fingerprint=fingerprint,
    )


def _endpoint(metadata: Mapping[str, Any], tool: str) -> dict[str, Any]:
    endpoints = metadata.get("endpoints")
    found = endpoints.get(tool) if isinstance(endpoints, Mapping) else None
    return dict(found) if isinstance(found, Mapping) else {}


def _fill_path(path: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rest = dict(params)
    for name in list(rest):
        marker = "{" + name + "}"
        if marker in path:
            path = path.replace(marker, quote(str(rest.pop(name)), safe=""))
    return path, rest


def _secret(metadata: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = metadata.get(name)
        if value is not None and value != "":
            return str(value)
    return None


def _rest_request(
    base_url: str, tool: str, params: dict[str, Any], metadata: Mapping[str, Any], style: str
) -> OutboundRequest:
    endpoint = _endpoint(metadata, tool)
    method = str(endpoint.get("method") or "POST").upper()
    path, rest = _fill_path(str(endpoint.get("path") or f"/{tool}"), params)
    headers = {str(k): str(v) for k, v in dict(endpoint.get("headers") or {}).items()}
    request = OutboundRequest(method=method, url=base_url.rstrip("/") + path, headers=headers)
    if method in _BODY_METHODS and endpoint.get("param_mapping", "body") != "query":
        request.json_body = rest
    else:
        request.params = rest
    _authorize(request, metadata, style)
    return request


def _authorize(request: OutboundRequest, metadata: Mapping[str, Any], style: str) -> None:
    if style == "basic_auth":
        user, password = _secret(metadata, "username"), _secret(metadata, "password")
        if user is not None and password is not None:
            request.auth = (user, password)
        return
    if style in ("oauth2_token", "oauth2_client_credentials"):
        token = _secret(metadata, "access_token")
        if token is not None:
            request.headers["Authorization"] = f"Bearer {token}"
        return
    secret = _secret(metadata, "api_key", "token", "access_token")
    if secret is None:
        return
    auth = metadata.get("auth")
    auth = auth if isinstance(auth, Mapping) else {}
    if auth.get("location") == "query":
        request.params[str(auth.get("query_param") or "api_key")] = secret
        return
    default_prefix = "Bearer" if style == "bearer_token" else ""
    prefix = str(auth.get("header_prefix", default_prefix) or "")
    request.headers[str(auth.get("header_name") or "Authorization")] = (
        f"{prefix} {secret}" if prefix else secret
    )


async def _oauth2(
    base_url: str,
    tool: str,
    params: dict[str, Any],
    metadata: Mapping[str, Any],
    policy: HostPolicy,
    narrowed_to: list[str] | None,
    timeout: float,
) -> Execution:
    if _secret(metadata, "access_token") is None:
        return Execution("error", error="OAuth2 credential missing 'access_token'")
    request = _rest_request(base_url, tool, params, metadata, "oauth2_token")
    outcome = await _call(request, policy, narrowed_to, timeout, "Upstream")
    if outcome.http_status != 401 or not _can_refresh(metadata):
        return outcome
    token = await _refresh(metadata, policy, narrowed_to, timeout)
    request.headers["Authorization"] = f"Bearer {token}"
    retried = await _call(request, policy, narrowed_to, timeout, "Upstream")
    retried.learnt.add(token)
    if retried.status == "success" and isinstance(retried.result, dict):
        retried.result["_refreshed"] = True
    return retried


def _can_refresh(metadata: Mapping[str, Any]) -> bool:
    has_client = _secret(metadata, "client_id") and _secret(metadata, "client_secret")
    return bool(
        _secret(metadata, "token_url") and (has_client or _secret(metadata, "refresh_token"))
    )


async def _refresh(
    metadata: Mapping[str, Any], policy: HostPolicy, narrowed_to: list[str] | None, timeout: float
) -> str:
    grant_type = str(metadata.get("token_grant_type") or "client_credentials")
    form = {"grant_type": grant_type}
    refresh_token = _secret(metadata, "refresh_token")
    if grant_type == "refresh_token" and refresh_token:
        form["refresh_token"] = refresh_token
    request = OutboundRequest("POST", str(metadata["token_url"]), form=form)
    client_id, client_secret = _secret(metadata, "client_id"), _secret(metadata, "client_secret")
    if client_id:
        request.auth = (client_id, client_secret or "")
    outcome = await _call(request, policy, narrowed_to, timeout, "Token endpoint")
    if outcome.status in ("denied", "timeout"):
        raise _Refused(outcome)
    token = outcome.result.get("access_token") if isinstance(outcome.result, dict) else None
    if outcome.status != "success" or not isinstance(token, str) or not token:
        raise _Refused(Execution("error", error="OAuth2 token refresh failed", http_status=401))
    return token


async def _webhook(
    base_url: str,
    tool: str,
    params: dict[str, Any],
    metadata: Mapping[str, Any],
    policy: HostPolicy,
    narrowed_to: list[str] | None,
    timeout: float,
) -> Execution:
    payload = {"tool_name": tool, "parameters": params, "timestamp": time.time()}
    body = json.dumps(payload, sort_keys=True).encode()
    headers = {"Content-Type": "application/json"}
    signing = _secret(metadata, "signing_secret")
    if signing is not None:
        digest = hmac.new(signing.encode(), body, hashlib.sha256).hexdigest()
        headers["X-OpenIntent-Signature"] = f"sha256={digest}"
    request = OutboundRequest("POST", base_url, headers=headers, content=body)
    return await _call(request, policy, narrowed_to, timeout, "Webhook")
