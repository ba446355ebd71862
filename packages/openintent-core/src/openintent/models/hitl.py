"""RFC-0025/0026: human-in-the-loop suspension, engagement decisions, retry policies.

No rfc file of this checkout covers these; names and defaults are the reference
client's (sdk.md §5.3). The engagement rule (:func:`decide_engagement`) and the
retry-policy merge (:func:`merge_retry_policies`) are the agent runtime's
(agents.md §10), kept here because they are pure functions of these models.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import attrs

from openintent.models._base import WireModel
from openintent.models._wire_hooks import wire_metadata
from openintent.models.enums import ResponseType

__all__ = [
    "EngagementDecision",
    "EngagementSignals",
    "EscalationStep",
    "HumanRetryPolicy",
    "InputResponse",
    "SuspensionChoice",
    "SuspensionRecord",
    "confirm_choices",
    "decide_engagement",
    "merge_retry_policies",
]

EngagementMode = Literal["autonomous", "defer", "require_input", "request_input"]


@attrs.define
class SuspensionChoice(WireModel):
    """One answer offered to the human; ``style`` is a display hint."""

    value: str
    label: str
    description: str = ""
    style: str = "default"
    metadata: dict[str, Any] = attrs.field(factory=dict)


def confirm_choices() -> list[SuspensionChoice]:
    """The choices of a ``confirm`` question asked without any."""
    return [
        SuspensionChoice(value="yes", label="Yes", style="primary"),
        SuspensionChoice(value="no", label="No"),
    ]


@attrs.define
class EscalationStep(WireModel):
    """Who else to notify, and how, from re-notification ``attempt`` on.

    Also read as ``after_attempt``/``channel``/``notify``, the names some callers use,
    which stay available as read-only properties.
    """

    attempt: int = attrs.field(metadata=wire_metadata(aliases=("after_attempt",)))
    channel_hint: str = attrs.field(default="", metadata=wire_metadata(aliases=("channel",)))
    notify_to: str = attrs.field(default="", metadata=wire_metadata(aliases=("notify",)))

    @property
    def after_attempt(self) -> int:
        return self.attempt

    @property
    def channel(self) -> str:
        return self.channel_hint

    @property
    def notify(self) -> str:
        return self.notify_to


@attrs.define
class HumanRetryPolicy(WireModel):
    """How often to re-notify an unanswered question, escalating along the ladder."""

    max_attempts: int = 3
    interval_seconds: int = 3600
    strategy: str = "fixed"
    escalation_ladder: list[EscalationStep] = attrs.field(factory=list)
    final_fallback_policy: str = "fail"

    def steps_for(self, attempt: int) -> list[EscalationStep]:
        return [step for step in self.escalation_ladder if step.attempt == attempt]

    def expires_at(
        self, start: dt.datetime, timeout_seconds: int | None = None
    ) -> dt.datetime | None:
        """End of the wait: every attempt's interval, else ``timeout_seconds`` (agents.md §10.1)."""
        total = self.interval_seconds * self.max_attempts or timeout_seconds
        return None if not total else start + dt.timedelta(seconds=total)


_POLICY_DEFAULTS = HumanRetryPolicy()


def merge_retry_policies(*levels: HumanRetryPolicy | None) -> HumanRetryPolicy | None:
    """Combine policies given highest precedence first (call site, agent, platform).

    Each scalar comes from the first level whose value differs from the default; the
    ladder from the first level that has one. No level: ``None``; one level: itself.
    """
    present = [p for p in levels if p is not None]
    if len(present) <= 1:
        return present[0] if present else None

    def pick(name: str) -> Any:
        default = getattr(_POLICY_DEFAULTS, name)
        return next((v for p in present if (v := getattr(p, name)) != default), default)

    ladder = next((p.escalation_ladder for p in present if p.escalation_ladder), [])
    return HumanRetryPolicy(
        max_attempts=pick("max_attempts"),
        interval_seconds=pick("interval_seconds"),
        strategy=pick("strategy"),
        escalation_ladder=list(ladder),
        final_fallback_policy=pick("final_fallback_policy"),
    )


@attrs.define
class SuspensionRecord(WireModel):
    """A question an agent parked its intent on (stored in state as ``_suspension``)."""

    id: str
    question: str
    response_type: ResponseType = ResponseType.CHOICE
    choices: list[SuspensionChoice] = attrs.field(factory=list)
    context: dict[str, Any] = attrs.field(factory=dict)
    channel_hint: str | None = None
    suspended_at: dt.datetime | None = None
    timeout_seconds: int | None = None
    expires_at: dt.datetime | None = None
    fallback_value: Any = None
    fallback_policy: str = "fail"
    retry_policy: HumanRetryPolicy | None = None
    confidence_at_suspension: float | None = None
    decision_record: dict[str, Any] | None = None
    response: Any = None
    responded_at: dt.datetime | None = None
    resolution: str | None = None

    def valid_values(self) -> list[str] | None:
        """The accepted answers of a ``choice``/``confirm`` question; ``None``: anything goes."""
        if self.response_type in (ResponseType.CHOICE, ResponseType.CONFIRM) and self.choices:
            return [choice.value for choice in self.choices]
        return None

    def is_expired(self, now: dt.datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


@attrs.define
class EngagementSignals(WireModel):
    """What an agent knows about a decision: how sure, how risky, how undoable."""

    confidence: float = 1.0
    risk: float = 0.0
    reversibility: float = 1.0
    context: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class EngagementDecision(WireModel):
    """Whether to act alone (``autonomous``), hand over (``defer``) or ask a human."""

    mode: str
    should_ask: bool
    rationale: str = ""
    signals: EngagementSignals | None = None


def decide_engagement(signals: EngagementSignals) -> EngagementDecision:
    """The runtime's rule (agents.md §10.2); the first matching row wins."""
    c, r, v = signals.confidence, signals.risk, signals.reversibility
    mode: EngagementMode
    if c >= 0.85 and r <= 0.2 and v >= 0.5:
        mode, ask, why = "autonomous", False, "confident, low risk and reversible enough to act"
    elif r >= 0.8 or v <= 0.1:
        mode, ask, why = "defer", False, "too risky or too hard to undo to act on"
    elif c < 0.5 or r > 0.5:
        mode, ask, why = (
            "require_input",
            True,
            "low confidence or elevated risk: a human must decide",
        )
    else:
        mode, ask, why = "request_input", True, "moderate confidence: asking a human first"
    rationale = f"{why} (confidence={c}, risk={r}, reversibility={v})"
    return EngagementDecision(mode=mode, should_ask=ask, rationale=rationale, signals=signals)


@attrs.define
class InputResponse(WireModel):
    """A human's answer to a suspension."""

    suspension_id: str
    value: Any
    responded_by: str = ""
    responded_at: dt.datetime | None = None
    metadata: dict[str, Any] | None = None
