"""RFC-0011: ACLs, access requests, delegation and the context handed to agents."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from openintent.core.converter import wire_field
from openintent.models._base import WireModel
from openintent.models.attachments import IntentAttachment
from openintent.models.enums import AccessPolicy, AccessRequestStatus, Permission
from openintent.models.intents import Intent, IntentEvent

__all__ = [
    "ACLEntry",
    "ACLGrantRequest",
    "ACLSetRequest",
    "AccessDecisionRequest",
    "AccessDenied",
    "AccessRequest",
    "AccessRequestCreateRequest",
    "DelegationPayload",
    "IntentACL",
    "IntentContext",
    "PeerInfo",
    "permission_allows",
]

_RANK = {Permission.READ: 1, Permission.WRITE: 2, Permission.ADMIN: 3}


def permission_allows(granted: Permission | str | None, required: Permission | str) -> bool:
    """Whether ``granted`` covers ``required`` (``read`` < ``write`` < ``admin``)."""
    if granted is None or granted not in _RANK:
        return False
    return _RANK[Permission(granted)] >= _RANK[Permission(required)]


@attrs.define
class ACLEntry(WireModel):
    """One grant: ``principal_id`` holds ``permission`` on the intent, maybe until ``expires_at``."""

    id: str
    principal_id: str
    principal_type: str = "agent"
    permission: Permission = Permission.READ
    granted_by: str = ""
    granted_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    reason: str | None = None
    intent_id: str | None = None

    def is_expired_at(self, now: dt.datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@attrs.define
class PeerInfo(WireModel):
    """Another principal with access to the same intent, as agents see it in ``ctx.peers``."""

    principal_id: str
    principal_type: str = "agent"
    permission: Permission | None = None


@attrs.define
class IntentACL(WireModel):
    """Body of ``GET``/``PUT …/acl``: a default policy and the grants."""

    intent_id: str
    default_policy: AccessPolicy = AccessPolicy.OPEN
    entries: list[ACLEntry] = attrs.field(factory=list)

    def permission_for(
        self, principal_id: str, now: dt.datetime | None = None
    ) -> Permission | None:
        """The strongest permission granted to ``principal_id``; expired grants are
        skipped when ``now`` (naive UTC) is given."""
        best: Permission | None = None
        for entry in self.entries:
            if entry.principal_id != principal_id:
                continue
            if now is not None and entry.is_expired_at(now):
                continue
            if best is None or _RANK[entry.permission] > _RANK[best]:
                best = entry.permission
        return best

    @property
    def peers(self) -> list[PeerInfo]:
        return [PeerInfo(e.principal_id, e.principal_type, e.permission) for e in self.entries]


@attrs.define(kw_only=True)
class AccessDenied(WireModel):
    """The ``detail`` object of an access-control ``403`` (our server; the reference
    never enforces ACLs). Shaped like the governance ``403`` detail."""

    error: str = "access_denied"
    required_permission: Permission
    message: str


@attrs.define
class AccessRequest(WireModel):
    """A principal asking for access to an intent; decided once, by an owner."""

    id: str
    intent_id: str
    principal_id: str
    principal_type: str = "agent"
    requested_permission: Permission = Permission.WRITE
    reason: str = ""
    status: AccessRequestStatus = AccessRequestStatus.PENDING
    capabilities: list[str] = attrs.field(factory=list)
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    decision_reason: str | None = None
    created_at: dt.datetime | None = None


@attrs.define
class DelegationPayload(WireModel):
    """Payload of the ``agent_assigned`` event an agent posts when it delegates work."""

    agent_id: str
    delegated_by: str
    payload: dict[str, Any] = attrs.field(factory=dict)


# Not slotted, like Intent: runtimes may hang extra per-delivery data on it.
@attrs.define(slots=False)
class IntentContext(WireModel):
    """What an agent handler sees as ``intent.ctx``, assembled by the runtime.

    ``dependencies`` maps each dependency's title to its state; ``input`` holds the
    RFC-0024 inputs resolved for this intent.
    """

    parent: Intent | None = None
    dependencies: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    events: list[IntentEvent] = attrs.field(factory=list)
    acl: IntentACL | None = None
    my_permission: Permission | None = None
    attachments: list[IntentAttachment] = attrs.field(factory=list)
    peers: list[PeerInfo] = attrs.field(factory=list)
    delegated_by: str | None = None
    input: dict[str, Any] = attrs.field(factory=dict)

    def apply_acl(self, acl: IntentACL, agent_id: str, now: dt.datetime | None = None) -> None:
        """Fill ``acl``, ``peers`` and ``my_permission`` from an intent's ACL."""
        self.acl = acl
        self.peers = acl.peers
        self.my_permission = acl.permission_for(agent_id, now)


# -- request bodies -------------------------------------------------------------------


@attrs.define
class ACLGrantRequest(WireModel):
    """Body of ``POST …/acl/entries``, and one entry of ``PUT …/acl``.

    ``granted_by`` is read only from ``PUT`` entries (default ``"system"`` there);
    ``POST`` records the caller.
    """

    principal_id: str
    principal_type: str = "agent"
    permission: Permission = Permission.READ
    reason: str | None = None
    expires_at: dt.datetime | None = None
    granted_by: str | None = wire_field(default=None, omit_if_none=True)


@attrs.define
class ACLSetRequest(WireModel):
    """Body of ``PUT …/acl``: replaces the default policy and every entry."""

    default_policy: AccessPolicy = AccessPolicy.OPEN
    entries: list[ACLGrantRequest] = attrs.field(factory=list)


@attrs.define
class AccessRequestCreateRequest(WireModel):
    """Body of ``POST …/access-requests``."""

    principal_id: str
    principal_type: str = "agent"
    requested_permission: Permission = wire_field(default=Permission.WRITE, aliases=("permission",))
    reason: str = ""
    capabilities: list[str] = attrs.field(factory=list)


@attrs.define
class AccessDecisionRequest(WireModel):
    """Body of ``…/access-requests/{id}/approve`` and ``…/deny``.

    ``decided_by`` falls back to the caller; ``permission`` and ``expires_at`` shape
    the grant an approval creates; ``reason`` becomes ``decision_reason``.
    """

    decided_by: str | None = None
    permission: Permission | None = None
    expires_at: dt.datetime | None = None
    reason: str | None = None
