"""RFC-0021: agent-to-agent channels scoped to an intent, and their messages.

No rfc file of this checkout covers RFC-0021; names and defaults are the reference
client's (sdk.md §5.3), request bodies what its channel methods send (sdk.md §3.15).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import attrs

from openintent.models._base import WireModel
from openintent.models._wire_hooks import sparse, verbatim
from openintent.models.enums import ChannelStatus, MemberPolicy, MessageStatus, MessageType

__all__ = [
    "BROADCAST_RECIPIENT",
    "Channel",
    "ChannelCreateRequest",
    "ChannelMessage",
    "ChannelOptions",
    "MessageReplyRequest",
    "MessageSendRequest",
    "MessageStatusUpdateRequest",
]

#: ``to`` of a broadcast message.
BROADCAST_RECIPIENT = "*"


@verbatim()
@attrs.define(slots=False)
class ChannelOptions(WireModel):
    """Per-channel settings: audit to the intent log, message lifetime, size cap."""

    audit: bool = False
    ttl_seconds: int | None = None
    max_messages: int = 1000


@attrs.define
class Channel(WireModel):
    """A named conversation among agents working on one intent (or one task of it)."""

    id: str
    intent_id: str
    name: str
    created_by: str
    members: list[str]
    member_policy: MemberPolicy = MemberPolicy.INTENT
    task_id: str | None = None
    options: ChannelOptions | None = None
    status: ChannelStatus = ChannelStatus.OPEN
    created_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    message_count: int = 0
    last_message_at: dt.datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status == ChannelStatus.OPEN

    def admits(self, agent_id: str, intent_agents: Collection[str] = ()) -> bool:
        """``explicit``: only listed members; ``intent``: also the intent's assigned agents."""
        if agent_id in self.members:
            return True
        return self.member_policy == MemberPolicy.INTENT and agent_id in intent_agents

    @property
    def is_full(self) -> bool:
        return self.message_count >= (self.options or ChannelOptions()).max_messages

    def message_expiry(self, sent_at: dt.datetime) -> dt.datetime | None:
        """When a message sent now expires under the channel's ``ttl_seconds``."""
        ttl = (self.options or ChannelOptions()).ttl_seconds
        return None if ttl is None else sent_at + dt.timedelta(seconds=ttl)


@attrs.define
class ChannelMessage(WireModel):
    """A message in a channel; a ``response`` names its request in ``correlation_id``."""

    id: str
    channel_id: str
    sender: str
    message_type: MessageType
    payload: dict[str, Any]
    to: str | None = None
    correlation_id: str | None = None
    metadata: dict[str, Any] | None = None
    status: MessageStatus = MessageStatus.PENDING
    created_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    read_at: dt.datetime | None = None

    def is_for(self, agent_id: str) -> bool:
        """Addressed to ``agent_id``: by name, to everyone (``*``), or to no one in particular."""
        return self.to in (None, BROADCAST_RECIPIENT, agent_id)

    def is_expired(self, now: dt.datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def answers(self, request_id: str) -> bool:
        return self.message_type == MessageType.RESPONSE and self.correlation_id == request_id


# -- request bodies -------------------------------------------------------------------


@sparse
@attrs.define(slots=False)
class ChannelCreateRequest(WireModel):
    """Body of ``POST /api/v1/intents/{id}/channels``."""

    name: str
    member_policy: MemberPolicy = MemberPolicy.INTENT
    members: list[str] = attrs.field(factory=list)
    task_id: str | None = None
    options: ChannelOptions | None = None


@sparse
@attrs.define(slots=False)
class MessageSendRequest(WireModel):
    """Body of ``POST /api/v1/channels/{id}/messages``."""

    sender: str
    message_type: MessageType = MessageType.NOTIFY
    payload: dict[str, Any] = attrs.field(factory=dict)
    to: str | None = None
    metadata: dict[str, Any] | None = None
    expires_at: dt.datetime | None = None


@sparse
@attrs.define(slots=False)
class MessageReplyRequest(WireModel):
    """Body of ``POST /api/v1/channels/{id}/messages/{mid}/reply``."""

    sender: str
    payload: dict[str, Any] = attrs.field(factory=dict)
    metadata: dict[str, Any] | None = None


@sparse
@attrs.define(slots=False)
class MessageStatusUpdateRequest(WireModel):
    """Body of ``PATCH /api/v1/channels/{id}/messages/{mid}`` (mark read)."""

    status: MessageStatus = MessageStatus.READ
