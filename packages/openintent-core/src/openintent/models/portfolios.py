"""RFC-0007: portfolios, their memberships and the aggregate status of a set of intents."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import attrs

from openintent.core.converter import wire_field
from openintent.models._base import WireModel
from openintent.models._wire_hooks import omit_empty
from openintent.models.enums import IntentStatus, MembershipRole, PortfolioStatus
from openintent.models.intents import Intent

__all__ = [
    "AggregateStatus",
    "IntentPortfolio",
    "PortfolioCreateRequest",
    "PortfolioIntentAddRequest",
    "PortfolioMembership",
    "PortfolioStatusUpdateRequest",
]


@attrs.define
class AggregateStatus(WireModel):
    """Counts of member statuses: ``{"total", "by_status", "completion_percentage"}``.

    ``status`` is RFC-0007's overall verdict (``completed`` when every member is,
    ``failed`` when any is abandoned or failed, else ``in_progress``); the reference
    never sends it, so it is written only when set (see :meth:`with_verdict`).
    """

    total: int = 0
    by_status: dict[str, int] = attrs.field(factory=dict)
    completion_percentage: int = 0
    status: str | None = wire_field(default=None, omit_if_none=True)

    def with_verdict(self) -> AggregateStatus:
        """A copy carrying ``status``; an empty set is ``in_progress`` (nothing done yet)."""
        if self.total and self.by_status.get(IntentStatus.COMPLETED.value, 0) == self.total:
            verdict = "completed"
        elif any(self.by_status.get(s, 0) for s in (IntentStatus.ABANDONED.value, "failed")):
            verdict = "failed"
        else:
            verdict = "in_progress"
        return attrs.evolve(self, status=verdict)

    @classmethod
    def from_statuses(cls, statuses: Iterable[IntentStatus | str]) -> AggregateStatus:
        """Tally statuses; the percentage is floor(100 * completed / total), 0 when empty."""
        by_status: dict[str, int] = {}
        for status in statuses:
            key = str(status)
            by_status[key] = by_status.get(key, 0) + 1
        total = sum(by_status.values())
        completed = by_status.get(IntentStatus.COMPLETED.value, 0)
        percentage = (100 * completed) // total if total else 0
        return cls(total=total, by_status=by_status, completion_percentage=percentage)


@omit_empty("metadata", "intents")
@attrs.define
class IntentPortfolio(WireModel):
    """A named group of intents.

    The reference server never sends ``metadata``, ``intents`` or ``aggregate_status``;
    they stay out of the output while empty. Its client reads timestamps only in camelCase,
    so those names are emitted beside the snake_case keys.
    """

    id: str
    name: str
    description: str = ""
    created_by: str = ""
    status: PortfolioStatus = PortfolioStatus.ACTIVE
    metadata: dict[str, Any] = attrs.field(factory=dict)
    governance_policy: dict[str, Any] = attrs.field(factory=dict)
    created_at: dt.datetime | None = wire_field(
        default=None, aliases=("createdAt",), emit_aliases=("createdAt",)
    )
    updated_at: dt.datetime | None = wire_field(
        default=None, aliases=("updatedAt",), emit_aliases=("updatedAt",)
    )
    intents: list[Intent] = attrs.field(factory=list)
    aggregate_status: AggregateStatus | None = wire_field(default=None, omit_if_none=True)
    # RFC-0026: members waiting for human input.
    has_suspended_members: bool | None = wire_field(default=None, omit_if_none=True)
    suspended_member_count: int | None = wire_field(default=None, omit_if_none=True)

    @property
    def intent_count(self) -> int:
        return len(self.intents)


@attrs.define
class PortfolioMembership(WireModel):
    """One intent's place in a portfolio; also the body answering ``POST …/intents``.

    The reference server answers with only ``message`` and ``membership_id``; the
    reference client requires ``id`` (the same value), so ``id`` is emitted beside it
    and the other fields appear once known.
    """

    id: str = wire_field(key="membership_id", aliases=("id",), emit_aliases=("id",))
    portfolio_id: str | None = wire_field(default=None, omit_if_none=True)
    intent_id: str | None = wire_field(default=None, omit_if_none=True)
    role: MembershipRole | None = wire_field(default=None, omit_if_none=True)
    priority: int | None = wire_field(default=None, omit_if_none=True)
    added_at: dt.datetime | None = wire_field(default=None, aliases=("addedAt",), omit_if_none=True)
    message: str = "Intent added to portfolio"


# -- request bodies -------------------------------------------------------------------


@attrs.define
class PortfolioCreateRequest(WireModel):
    """Body of ``POST /portfolios``.

    ``description`` may be ``null`` (the reference clients send that when it is omitted;
    it means ``""``); ``created_by`` falls back to the caller's identity.
    """

    name: str
    description: str | None = ""
    created_by: str | None = None
    governance_policy: dict[str, Any] = attrs.field(factory=dict)
    metadata: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class PortfolioStatusUpdateRequest(WireModel):
    """Body of ``PATCH /portfolios/{id}/status``."""

    status: PortfolioStatus


@attrs.define
class PortfolioIntentAddRequest(WireModel):
    """Body of ``POST /portfolios/{id}/intents``."""

    intent_id: str
    role: MembershipRole = MembershipRole.MEMBER
    priority: int = 0
