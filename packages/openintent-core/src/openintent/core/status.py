"""Intent status rules (RFC-0001, RFC-0002; ``spec/README.md`` C10), as data plus pure checks.

What we enforce, and why it differs from both the reference and the RFC text:

* Only the six :class:`~openintent.models.IntentStatus` values exist. The reference
  stores any string, after which its own client can no longer parse the intent.
* ``completed`` and ``abandoned`` are terminal: nothing leaves them. Setting a terminal
  intent to the status it already has is an accepted no-op, so a retried "complete"
  (lost response, agent restart) succeeds instead of failing.
* Every other move between known statuses is allowed, including ``draft -> completed``:
  the reference SDK flows and the project README complete intents straight from
  ``draft``, so the stricter RFC state machine is not enforced.
* RFC-0002 completion gates: an intent completes only when every dependency and every
  child is ``completed``. An abandoned dependency or child therefore blocks completion
  (the RFC asks for completion, and abandoned work is not complete); remove the
  dependency or abandon the dependent instead. The reference enforces none of this;
  the server decides whether to call :func:`check_completion`.

A rule violation is a :class:`~openintent.exceptions.ValidationError` (HTTP 422), not a
409: the reference client maps 409 to ``ConflictError``, which callers treat as a stale
version and retry, and a retry cannot fix a forbidden transition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final, Literal

import attrs

from openintent.exceptions import ValidationError
from openintent.models.enums import IntentStatus

__all__ = [
    "ALLOWED_TRANSITIONS",
    "CHILD_DONE_STATUSES",
    "DEPENDENCY_DONE_STATUSES",
    "KNOWN_STATUSES",
    "TERMINAL_STATUSES",
    "CompletionBlocker",
    "can_transition",
    "check_completion",
    "check_transition",
    "completion_blockers",
    "dependencies_met",
    "is_terminal",
    "parse_status",
]

KNOWN_STATUSES: Final[frozenset[IntentStatus]] = frozenset(IntentStatus)
TERMINAL_STATUSES: Final[frozenset[IntentStatus]] = frozenset(
    {IntentStatus.COMPLETED, IntentStatus.ABANDONED}
)

#: For each status, the statuses an intent may be set to next (itself included).
ALLOWED_TRANSITIONS: Final[Mapping[IntentStatus, frozenset[IntentStatus]]] = MappingProxyType(
    {
        status: frozenset({status}) if status in TERMINAL_STATUSES else KNOWN_STATUSES
        for status in IntentStatus
    }
)

#: A dependency satisfies the completion gate (and makes a child "ready") in these.
DEPENDENCY_DONE_STATUSES: Final[frozenset[IntentStatus]] = frozenset({IntentStatus.COMPLETED})
#: A child satisfies its parent's completion gate in these.
CHILD_DONE_STATUSES: Final[frozenset[IntentStatus]] = frozenset({IntentStatus.COMPLETED})

_ALLOWED_TEXT = ", ".join(repr(s.value) for s in IntentStatus)


def parse_status(value: object, *, field: str = "status") -> IntentStatus:
    """``value`` as an :class:`IntentStatus`; anything else is a ``ValidationError``."""
    if isinstance(value, str):
        try:
            return IntentStatus(value)
        except ValueError:
            pass
    message = f"{field}: {value!r} is not a known intent status (expected one of {_ALLOWED_TEXT})"
    raise ValidationError(message, errors=[message])


def _known(value: str) -> IntentStatus | None:
    try:
        return IntentStatus(value)
    except ValueError:
        return None


def is_terminal(status: str) -> bool:
    """True for ``completed`` and ``abandoned``."""
    return _known(status) in TERMINAL_STATUSES


def can_transition(current: str, target: str) -> bool:
    """Whether ``current -> target`` is allowed (``target`` must be a known status).

    A ``current`` outside the known set (a record written before validation existed)
    may move to any known status, so such a record can be repaired.
    """
    goal = _known(target)
    if goal is None:
        return False
    origin = _known(current)
    return origin is None or goal in ALLOWED_TRANSITIONS[origin]


def check_transition(current: str, target: object) -> IntentStatus:
    """Validate ``current -> target`` and return ``target`` parsed; raises ``ValidationError``."""
    goal = parse_status(target)
    if not can_transition(current, goal):
        message = (
            f"status: intent is {str(current)!r}, a terminal status;"
            f" it cannot become {goal.value!r}"
        )
        raise ValidationError(message, errors=[message])
    return goal


def dependencies_met(statuses: Iterable[str | None]) -> bool:
    """True when every dependency exists and is done (``None`` = missing intent).

    The rule behind ``GET …/ready`` / ``…/blocked`` and the dependency completion gate.
    """
    return all(s is not None and _known(s) in DEPENDENCY_DONE_STATUSES for s in statuses)


@attrs.frozen
class CompletionBlocker:
    """One reason an intent cannot be completed yet."""

    relation: Literal["dependency", "child"]
    intent_id: str
    status: str | None  # None: the referenced intent does not exist

    def describe(self) -> str:
        if self.status is None:
            return f"{self.relation} {self.intent_id} does not exist"
        return f"{self.relation} {self.intent_id} is {str(self.status)!r}, not completed"


def completion_blockers(
    dependencies: Mapping[str, str | None], children: Mapping[str, str | None]
) -> list[CompletionBlocker]:
    """What stops completion: dependencies first, then children, each in the given order.

    Both arguments map an intent id to its current status, ``None`` when the id names no
    intent (a dangling ``depends_on`` entry). An empty list means the gate is open.
    """
    blockers = [
        CompletionBlocker("dependency", intent_id, status)
        for intent_id, status in dependencies.items()
        if status is None or _known(status) not in DEPENDENCY_DONE_STATUSES
    ]
    blockers.extend(
        CompletionBlocker("child", intent_id, status)
        for intent_id, status in children.items()
        if status is None or _known(status) not in CHILD_DONE_STATUSES
    )
    return blockers


def check_completion(
    dependencies: Mapping[str, str | None], children: Mapping[str, str | None]
) -> None:
    """Raise ``ValidationError`` listing every blocker unless the completion gate is open."""
    blockers = completion_blockers(dependencies, children)
    if blockers:
        reasons = [b.describe() for b in blockers]
        raise ValidationError("cannot complete: " + "; ".join(reasons), errors=reasons)
