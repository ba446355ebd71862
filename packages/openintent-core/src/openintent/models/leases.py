"""RFC-0003: scope leases."""

from __future__ import annotations

import datetime as dt

import attrs

from openintent.core.converter import utcnow, wire_field
from openintent.models._base import WireModel
from openintent.models.enums import LeaseStatus

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "IntentLease",
    "LeaseAcquireRequest",
    "LeaseRenewRequest",
]

#: Lease duration when a request names none.
DEFAULT_LEASE_SECONDS = 300


@attrs.define
class IntentLease(WireModel):
    """Temporary exclusive ownership of one ``scope`` inside an intent.

    The reference server sends no ``status``; :attr:`status` is then derived from
    ``released_at`` and ``expires_at`` against the UTC clock (the reference client uses
    local time, which is wrong off UTC). A status that came over the wire, or was
    assigned, wins and is written back; a derived one is never written.
    ``created_at`` is the acquisition time, on the wire ``acquired_at``.
    """

    id: str
    intent_id: str
    agent_id: str
    scope: str
    expires_at: dt.datetime
    created_at: dt.datetime | None = wire_field(
        default=None, key="acquired_at", aliases=("created_at", "createdAt")
    )
    released_at: dt.datetime | None = None
    # Constructor argument ``status`` (attrs drops the underscore).
    _status: LeaseStatus | None = wire_field(default=None, key="status", omit_if_none=True)

    @property
    def status(self) -> LeaseStatus:
        return self.status_at(utcnow())

    @status.setter
    def status(self, value: LeaseStatus) -> None:
        self._status = value

    @property
    def acquired_at(self) -> dt.datetime | None:
        return self.created_at

    def status_at(self, now: dt.datetime) -> LeaseStatus:
        """The explicit status if any, else released / active / expired at ``now`` (naive UTC)."""
        if self._status is not None:
            return self._status
        if self.released_at is not None:
            return LeaseStatus.RELEASED
        return LeaseStatus.ACTIVE if now < self.expires_at else LeaseStatus.EXPIRED

    def is_active_at(self, now: dt.datetime) -> bool:
        return self.status_at(now) == LeaseStatus.ACTIVE and now < self.expires_at

    @property
    def is_active(self) -> bool:
        """Held right now: status ``active`` and not past ``expires_at`` (UTC clock)."""
        return self.is_active_at(utcnow())

    def with_status(self, now: dt.datetime | None = None) -> IntentLease:
        """A copy whose status is fixed (and therefore written), e.g. for a response."""
        return attrs.evolve(self, status=self.status_at(now or utcnow()))


# -- request bodies -------------------------------------------------------------------


@attrs.define
class LeaseAcquireRequest(WireModel):
    """Body of ``POST /intents/{id}/leases``; the holder is the caller, never the body."""

    scope: str
    duration_seconds: int = DEFAULT_LEASE_SECONDS


@attrs.define
class LeaseRenewRequest(WireModel):
    """Body of ``PATCH /intents/{id}/leases/{lease_id}``; ``{}`` is valid."""

    duration_seconds: int = DEFAULT_LEASE_SECONDS
