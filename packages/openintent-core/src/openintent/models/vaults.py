"""RFC-0014: credential vaults, credentials, tool grants and tool invocations.

Secrets travel only in request bodies. The reference server keeps credential secrets
inside ``metadata`` and returns them; :class:`Credential` drops the secret keys when
it is built and again whenever it is written, so no response built from it can leak
one. Grant resolution for ``POST /api/v1/tools/invoke`` is :func:`select_grant`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from openintent.core.converter import wire_field
from openintent.models._base import WireModel
from openintent.models._wire_hooks import (
    omit_empty,
    sparse,
    transform_output,
    verbatim,
    wire_metadata,
)
from openintent.models.enums import (
    AuthType,
    CredentialStatus,
    GrantSource,
    GrantStatus,
    InvocationStatus,
)

__all__ = [
    "SECRET_METADATA_KEYS",
    "Credential",
    "CredentialCreateRequest",
    "CredentialRotateRequest",
    "CredentialVault",
    "GrantConstraints",
    "GrantDelegateRequest",
    "GrantRevokeResponse",
    "GrantSuspendRequest",
    "InvocationRecordRequest",
    "ToolGrant",
    "ToolGrantCreateRequest",
    "ToolInvocation",
    "ToolInvokeRequest",
    "ToolInvokeResponse",
    "VaultCreateRequest",
    "select_grant",
    "split_secret_metadata",
]

#: Credential ``metadata`` keys the tool proxy treats as secret material (rfc-0014 §3.3).
SECRET_METADATA_KEYS = frozenset(
    {
        "api_key",
        "token",
        "access_token",
        "refresh_token",
        "client_id",
        "client_secret",
        "username",
        "password",
        "signing_secret",
    }
)


def split_secret_metadata(metadata: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(public, secret)`` halves of credential metadata; store the second encrypted."""
    public = {k: v for k, v in metadata.items() if k not in SECRET_METADATA_KEYS}
    secret = {k: v for k, v in metadata.items() if k in SECRET_METADATA_KEYS}
    return public, secret


def _public(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return split_secret_metadata(metadata)[0]


@omit_empty("credentials")
@attrs.define
class CredentialVault(WireModel):
    """A named container of credentials; ``credentials`` (ids) is written when known."""

    id: str
    owner_id: str
    name: str
    credentials: list[str] = attrs.field(factory=list)
    created_at: dt.datetime | None = None


def _drop_secrets(_: Any, out: dict[str, Any]) -> dict[str, Any]:
    for key in ("credential_metadata", "metadata"):
        if isinstance(out.get(key), Mapping):
            out[key] = _public(out[key])
    return out


@transform_output(_drop_secrets)
@attrs.define
class Credential(WireModel):
    """A stored credential, without its secret material.

    ``auth_type`` is open: besides the client's ``AuthType`` values the reference
    proxy also selects adapters named ``rest`` and ``webhook`` by it.
    """

    id: str
    vault_id: str
    service: str
    label: str
    auth_type: AuthType | str = AuthType.API_KEY
    scopes_available: list[str] = attrs.field(factory=list)
    status: CredentialStatus = CredentialStatus.ACTIVE
    metadata: dict[str, Any] = wire_field(
        factory=dict,
        key="credential_metadata",
        aliases=("metadata",),
        emit_aliases=("metadata",),
    )
    created_at: dt.datetime | None = None
    rotated_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None

    def __attrs_post_init__(self) -> None:
        self.metadata = _public(self.metadata)


@verbatim()
@attrs.define(slots=False)
class GrantConstraints(WireModel):
    """Limits on a grant; the reference proxy enforces only ``max_invocations_per_hour``
    (and reads ``allowed_hosts``, kept as an unknown key)."""

    max_invocations_per_hour: int | None = None
    max_cost_per_invocation: float | None = None
    allowed_parameters: dict[str, Any] | None = None
    denied_parameters: dict[str, Any] | None = None
    ip_allowlist: list[str] | None = None

    def allows_another(self, invocations_last_hour: int) -> bool:
        """The reference rate rule: refuse once the count reaches the limit."""
        limit = self.max_invocations_per_hour
        return limit is None or invocations_last_hour < limit


@attrs.define
class ToolGrant(WireModel):
    """Permission for an agent to use a credential's tools."""

    id: str
    credential_id: str
    agent_id: str
    granted_by: str
    scopes: list[str] = attrs.field(factory=list)
    constraints: GrantConstraints | None = None
    source: GrantSource = GrantSource.DIRECT
    delegatable: bool = False
    delegation_depth: int = 0
    delegated_from: str | None = None
    context: dict[str, Any] = attrs.field(factory=dict)
    status: GrantStatus = GrantStatus.ACTIVE
    expires_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None

    def is_expired(self, now: dt.datetime) -> bool:
        return self.expires_at is not None and self.expires_at < now

    def names_tool(self, tool_name: str) -> bool:
        """The grant lists the tool in ``scopes`` or in ``context.tools``."""
        extra = self.context.get("tools")
        return tool_name in self.scopes or (isinstance(extra, list) and tool_name in extra)


def select_grant(
    grants: Iterable[ToolGrant],
    tool_name: str,
    service_of: Callable[[str], str | None],
    *,
    now: dt.datetime | None = None,
) -> ToolGrant | None:
    """The grant ``POST /tools/invoke`` uses for ``tool_name`` (rfc-0014 §6.2).

    Among active grants in the given order: first one naming the tool (``scopes`` or
    ``context.tools``), else first whose credential's service (``service_of(credential_id)``)
    equals the tool name. With ``now``, expired grants are skipped instead of
    shadowing a valid one (the reference checks expiry only after choosing).
    """
    active = [
        g
        for g in grants
        if g.status == GrantStatus.ACTIVE and (now is None or not g.is_expired(now))
    ]
    for grant in active:
        if grant.names_tool(tool_name):
            return grant
    for grant in active:
        if service_of(grant.credential_id) == tool_name:
            return grant
    return None


@attrs.define
class GrantRevokeResponse(WireModel):
    """Answer of ``DELETE /api/v1/grants/{id}``."""

    grant_id: str
    status: str = "revoked"


@attrs.define
class ToolInvocation(WireModel):
    """A recorded tool invocation; the reference server calls the id ``id``.

    ``status`` is open: the proxy also records ``timeout`` and manual records may hold
    any string.
    """

    invocation_id: str = attrs.field(
        metadata=wire_metadata(
            key="id", aliases=("invocation_id",), emit_aliases=("invocation_id",)
        )
    )
    grant_id: str
    service: str
    tool: str
    agent_id: str
    parameters: dict[str, Any] = attrs.field(factory=dict)
    status: InvocationStatus | str = InvocationStatus.SUCCESS
    result: Any = None
    error: dict[str, Any] | None = None
    cost: dict[str, Any] | None = None
    duration_ms: int | None = None
    idempotency_key: str | None = None
    context: dict[str, Any] = attrs.field(factory=dict)
    timestamp: dt.datetime | None = None


@attrs.define
class ToolInvokeResponse(WireModel):
    """Answer of ``POST /api/v1/tools/invoke``; ``error`` is a string here."""

    invocation_id: str
    tool_name: str
    status: InvocationStatus | str
    result: Any = None
    error: str | None = None
    duration_ms: int | None = None
    grant_id: str | None = wire_field(default=None, omit_if_none=True)
    timestamp: dt.datetime | None = wire_field(default=None, omit_if_none=True)


# -- request bodies -------------------------------------------------------------------


@sparse
@attrs.define(slots=False)
class VaultCreateRequest(WireModel):
    """Body of ``POST /api/v1/vaults``."""

    owner_id: str
    name: str


@sparse
@attrs.define(slots=False)
class CredentialCreateRequest(WireModel):
    """Body of ``POST /api/v1/credentials``: the one place secret material travels."""

    vault_id: str
    service: str
    label: str
    auth_type: AuthType | str = AuthType.API_KEY
    scopes_available: list[str] = attrs.field(factory=list)
    metadata: dict[str, Any] = wire_field(factory=dict, aliases=("credential_metadata",))
    expires_at: dt.datetime | None = None

    def split_metadata(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return split_secret_metadata(self.metadata)


@sparse
@attrs.define(slots=False)
class CredentialRotateRequest(WireModel):
    """Body of ``PATCH /api/v1/credentials/{id}/rotate`` (not served by the reference).

    ``metadata`` is merged into the stored metadata (a ``null`` value removes the key);
    the other fields replace the stored ones when given.
    """

    metadata: dict[str, Any] = wire_field(factory=dict, aliases=("credential_metadata",))
    scopes_available: list[str] | None = None
    expires_at: dt.datetime | None = None
    rotated_by: str | None = None


@sparse
@attrs.define(slots=False)
class ToolGrantCreateRequest(WireModel):
    """Body of ``POST /api/v1/grants``."""

    credential_id: str
    agent_id: str
    granted_by: str
    scopes: list[str] = attrs.field(factory=list)
    constraints: GrantConstraints | None = None
    delegatable: bool = False
    context: dict[str, Any] = attrs.field(factory=dict)
    expires_at: dt.datetime | None = None


@sparse
@attrs.define(slots=False)
class GrantDelegateRequest(WireModel):
    """Body of ``POST /api/v1/grants/{id}/delegate`` (RFC-0014; not in the reference).

    ``scopes`` defaults to the source grant's; ``constraints`` may only tighten the
    source's; ``expires_at`` may not be later than the source's.
    """

    agent_id: str = attrs.field(metadata=wire_metadata(aliases=("target_agent_id",)))
    scopes: list[str] | None = None
    constraints: GrantConstraints | None = None
    delegatable: bool = False
    expires_at: dt.datetime | None = None
    delegated_by: str | None = None


@sparse
@attrs.define(slots=False)
class GrantSuspendRequest(WireModel):
    """Optional body of ``PATCH /api/v1/grants/{id}/suspend`` (and revoke)."""

    reason: str | None = None


@sparse
@attrs.define(slots=False)
class InvocationRecordRequest(WireModel):
    """Body of ``POST /api/v1/invocations`` (a manually recorded invocation)."""

    grant_id: str
    service: str
    tool: str
    agent_id: str
    parameters: dict[str, Any] = attrs.field(factory=dict)
    status: InvocationStatus | str = InvocationStatus.SUCCESS
    result: Any = None
    error: dict[str, Any] | None = None
    cost: dict[str, Any] | None = None
    duration_ms: int | None = None
    idempotency_key: str | None = None
    context: dict[str, Any] = attrs.field(factory=dict)


@sparse
@attrs.define(slots=False)
class ToolInvokeRequest(WireModel):
    """Body of ``POST /api/v1/tools/invoke``.

    RFC-0014 additions the reference lacks: ``tool`` (an alias of ``tool_name``),
    ``grant_id`` (use this grant instead of resolving one) and ``context``
    (``intent_id`` / ``task_id`` the call is made for).
    """

    tool_name: str = attrs.field(metadata=wire_metadata(aliases=("tool",)))
    agent_id: str
    parameters: dict[str, Any] = attrs.field(factory=dict)
    idempotency_key: str | None = None
    grant_id: str | None = None
    context: dict[str, Any] = attrs.field(factory=dict)
