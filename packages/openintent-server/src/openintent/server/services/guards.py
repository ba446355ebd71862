"""Checks other areas (leases, governance, access control) plug into intent writes.

A guard sees the attempted write before the version check and raises a protocol error
(403 ``ForbiddenError``, 409 ``LeaseConflictError``, ...) to refuse it. Guards run
inside the write transaction, so what they read is consistent with the write.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from openintent.models import Intent
from openintent.server.services.principal import Principal

__all__ = ["WriteAttempt", "WriteGuard"]


@attrs.frozen
class WriteAttempt:
    """``action`` is one of ``state``, ``status``, ``event``, ``assign``, ``unassign``,
    ``dependencies``, ``governance``, ``child`` (more as areas need them)."""

    principal: Principal
    intent: Intent
    action: str
    # state writes: the top-level state keys (and full paths) the patch touches
    keys: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    # status writes
    target_status: str | None = None
    reason: str | None = None
    # assignment: the agent being assigned
    agent_id: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


WriteGuard = Callable[[WriteAttempt], Awaitable[None]]
