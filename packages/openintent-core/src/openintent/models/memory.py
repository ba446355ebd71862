"""RFC-0015: agent memory entries, and the rules the reference leaves unimplemented.

The reference server stores ``ttl`` verbatim and never expires anything; the RFC's
``ttl`` forms are ``task_lifetime``, ``duration:<ISO-8601 duration>`` and ``null``,
with ``expires_at`` taking precedence. :meth:`MemoryEntry.effective_expires_at`
computes the expiry from those, :func:`eviction_order` the episodic LRU order.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

import attrs

from openintent.models._base import WireModel
from openintent.models._wire_hooks import sparse, verbatim
from openintent.models.enums import MemoryPriority, MemorySensitivity, MemoryType

__all__ = [
    "DEFAULT_EPISODIC_CAPACITY",
    "TTL_TASK_LIFETIME",
    "MemoryDeleteResponse",
    "MemoryEntry",
    "MemoryEntryCreateRequest",
    "MemoryEntryUpdateRequest",
    "MemoryScope",
    "eviction_order",
    "parse_ttl",
]

TTL_TASK_LIFETIME = "task_lifetime"
#: RFC-0015 §2.2: per-agent episodic capacity when nothing else is configured.
DEFAULT_EPISODIC_CAPACITY = 1000

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_DURATION = re.compile(
    rf"P(?:{_NUMBER}W)?(?:{_NUMBER}D)?(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?"
)
_PRIORITY_RANK = {MemoryPriority.LOW: 0, MemoryPriority.NORMAL: 1, MemoryPriority.HIGH: 2}


def parse_ttl(ttl: str | None) -> dt.timedelta | None:
    """The lifetime a ``ttl`` value grants; ``None`` for no expiry or ``task_lifetime``.

    ``duration:`` takes weeks, days, hours, minutes and seconds (``PT1H``, ``P1DT12H``,
    ``P2W``). Years and months have no fixed length and are refused, as is anything
    else that is not one of the RFC forms (``ValueError``).
    """
    if ttl is None or ttl == TTL_TASK_LIFETIME:
        return None
    if not ttl.startswith("duration:"):
        raise ValueError(f"ttl must be null, {TTL_TASK_LIFETIME!r} or 'duration:<ISO-8601>'")
    text = ttl.removeprefix("duration:")
    match = _DURATION.fullmatch(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"not an ISO-8601 duration in weeks/days/hours/minutes/seconds: {text!r}")
    weeks, days, hours, minutes, seconds = (
        float(part.replace(",", ".")) if part else 0.0 for part in match.groups()
    )
    return dt.timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


def _valid_ttl(_: Any, attribute: attrs.Attribute[Any], value: str | None) -> None:
    try:
        parse_ttl(value)
    except ValueError as exc:
        raise ValueError(f"{attribute.name}: {exc}") from None


@verbatim()
@attrs.define(slots=False)
class MemoryScope(WireModel):
    """The task and/or intent a memory entry belongs to."""

    task_id: str | None = None
    intent_id: str | None = None


@attrs.define
class MemoryEntry(WireModel):
    """A versioned key/value record owned by an agent, in one of three tiers."""

    id: str
    agent_id: str
    namespace: str
    key: str
    value: dict[str, Any]
    memory_type: MemoryType = MemoryType.WORKING
    version: int = 1
    scope: MemoryScope | None = None
    tags: list[str] = attrs.field(factory=list)
    ttl: str | None = None
    pinned: bool = False
    priority: MemoryPriority = MemoryPriority.NORMAL
    sensitivity: MemorySensitivity | None = None
    curated_by: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None

    def uniqueness_key(self) -> tuple[str, ...]:
        """RFC-0015 §1.2: semantic entries are unique per namespace, others per agent too."""
        if self.memory_type == MemoryType.SEMANTIC:
            return (self.namespace, self.key)
        return (self.agent_id, self.namespace, self.key)

    @property
    def lives_with_task(self) -> bool:
        """``ttl`` is ``task_lifetime``: the entry ends (is archived) with its task."""
        return self.ttl == TTL_TASK_LIFETIME

    def effective_expires_at(self) -> dt.datetime | None:
        """``expires_at`` if set; else the last write plus a ``duration:`` ttl; else ``None``.

        A ttl counts from the last write (``updated_at``, else ``created_at``), since a
        PATCH may set a new one. A stored ttl that does not parse never expires.
        """
        if self.expires_at is not None:
            return self.expires_at
        try:
            lifetime = parse_ttl(self.ttl)
        except ValueError:
            return None
        start = self.updated_at or self.created_at
        if lifetime is None or start is None:
            return None
        return start + lifetime

    def is_expired(self, now: dt.datetime) -> bool:
        expiry = self.effective_expires_at()
        return expiry is not None and now >= expiry


def eviction_order(entries: Iterable[MemoryEntry]) -> list[MemoryEntry]:
    """Episodic entries in the order capacity eviction takes them (RFC-0015 §2.2).

    Pinned entries are never evicted and are left out; lower priority goes first,
    then the least recently written.
    """
    oldest = dt.datetime.min
    candidates = [e for e in entries if not e.pinned]
    return sorted(
        candidates,
        key=lambda e: (_PRIORITY_RANK[e.priority], e.updated_at or e.created_at or oldest),
    )


@attrs.define
class MemoryDeleteResponse(WireModel):
    """Answer of ``DELETE /api/v1/memory/{id}``."""

    entry_id: str
    status: str = "deleted"


# -- request bodies -------------------------------------------------------------------


@sparse
@attrs.define(slots=False)
class MemoryEntryCreateRequest(WireModel):
    """Body of ``POST /api/v1/memory``; ``value`` must be an object."""

    agent_id: str
    namespace: str
    key: str
    value: dict[str, Any]
    memory_type: MemoryType = MemoryType.WORKING
    scope: MemoryScope | None = None
    tags: list[str] = attrs.field(factory=list)
    ttl: str | None = attrs.field(default=None, validator=_valid_ttl)
    pinned: bool = False
    priority: MemoryPriority = MemoryPriority.NORMAL
    sensitivity: MemorySensitivity | None = None
    #: RFC-0015: an explicit expiry, taking precedence over ``ttl``.
    expires_at: dt.datetime | None = None


@sparse
@attrs.define(slots=False)
class MemoryEntryUpdateRequest(WireModel):
    """Body of ``PATCH /api/v1/memory/{id}``; each field applied only when not ``null``."""

    value: dict[str, Any] | None = None
    tags: list[str] | None = None
    pinned: bool | None = None
    priority: MemoryPriority | None = None
    ttl: str | None = attrs.field(default=None, validator=_valid_ttl)
    expires_at: dt.datetime | None = None

    def changes(self) -> dict[str, Any]:
        return {
            a.name: v for a in attrs.fields(type(self)) if (v := getattr(self, a.name)) is not None
        }
