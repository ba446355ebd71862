"""RFC-0017: triggers, their conditions and intent templates, and the firing rules.

The reference server stores triggers and fires nothing; the RFC's rules are here for a
server that does: cron matching (:class:`CronSchedule`), ``{{ }}`` template expansion
without code (:func:`render_template`), cascade lineage (:meth:`TriggerLineage.next`)
and deduplication (:func:`deduplication_outcome`). A webhook ``secret`` is read but
never written back: requests carry the raw ``condition`` object, responses the model.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from openintent.core.converter import structure, to_dict, wire_field
from openintent.models._base import WireModel
from openintent.models._wire_hooks import sparse, verbatim, wire_metadata
from openintent.models.enums import DeduplicationMode, TriggerType
from openintent.models.intents import Intent

__all__ = [
    "MAX_TRIGGER_DEPTH",
    "CronSchedule",
    "IntentTemplate",
    "Trigger",
    "TriggerCondition",
    "TriggerCreateRequest",
    "TriggerDeleteResponse",
    "TriggerFireResponse",
    "TriggerFiring",
    "TriggerLineage",
    "TriggerUpdateRequest",
    "WebhookReceipt",
    "deduplication_outcome",
    "render_template",
]

#: RFC-0017: an event cascade deeper than this is suppressed (``trigger.cascade_limit``).
MAX_TRIGGER_DEPTH = 10

# -- cron -----------------------------------------------------------------------------

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}
_DAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
_FIELDS: tuple[tuple[str, int, int, Mapping[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)


def _cron_value(text: str, names: Mapping[str, int], field: str) -> int:
    if text.isdigit():
        return int(text)
    if text.upper() in names:
        return names[text.upper()]
    raise ValueError(f"cron {field}: {text!r} is not a number or name")


def _cron_field(
    text: str, field: str, lo: int, hi: int, names: Mapping[str, int]
) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        if slash and not (step_text.isdigit() and int(step_text) > 0):
            raise ValueError(f"cron {field}: bad step in {item!r}")
        step = int(step_text) if slash else 1
        if base == "*":
            start, end = lo, hi
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _cron_value(first, names, field), _cron_value(last, names, field)
        else:
            start = _cron_value(base, names, field)
            end = hi if slash else start
        if not lo <= start <= end <= hi:
            raise ValueError(f"cron {field}: {item!r} is outside {lo}-{hi}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@attrs.frozen
class CronSchedule:
    """A parsed cron expression, evaluated on naive wall-clock times.

    Five fields (minute hour day-of-month month day-of-week) as the RFC writes them, or
    six with a leading seconds field (the Quartz / Spring / node-cron convention) for
    sub-minute schedules such as ``*/10 * * * * *``. Standard semantics: when both
    day-of-month and day-of-week are restricted, a day matching either one matches; day
    of week 0 and 7 are Sunday. Times are in the trigger's ``timezone``; converting to
    it is the caller's job (:meth:`TriggerCondition.next_fire_after` does it).
    """

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    either_day: bool
    seconds: frozenset[int] = frozenset({0})
    has_seconds: bool = False

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        parts = expression.split()
        if len(parts) not in (5, 6):
            raise ValueError(
                f"cron needs 5 fields (or 6 with seconds), got {len(parts)}: {expression!r}"
            )
        seconds, has_seconds = frozenset({0}), len(parts) == 6
        if has_seconds:
            seconds = _cron_field(parts[0], "second", 0, 59, {})
            parts = parts[1:]
        sets = [_cron_field(p, *spec) for p, spec in zip(parts, _FIELDS, strict=True)]
        weekdays = frozenset(d % 7 for d in sets[4])
        either = not parts[2].startswith("*") and not parts[4].startswith("*")
        return cls(sets[0], sets[1], sets[2], sets[3], weekdays, either, seconds, has_seconds)

    def _day_matches(self, day: dt.date) -> bool:
        if day.month not in self.months:
            return False
        by_date = day.day in self.days
        by_weekday = (day.weekday() + 1) % 7 in self.weekdays
        return (by_date or by_weekday) if self.either_day else (by_date and by_weekday)

    def _minute_matches(self, moment: dt.datetime) -> bool:
        return (
            moment.minute in self.minutes
            and moment.hour in self.hours
            and self._day_matches(moment.date())
        )

    def matches(self, moment: dt.datetime) -> bool:
        """Whether ``moment`` falls in a matching minute (and second, for six fields)."""
        if self.has_seconds and moment.second not in self.seconds:
            return False
        return self._minute_matches(moment)

    def next_after(self, moment: dt.datetime, *, within_days: int = 5 * 366) -> dt.datetime | None:
        """The first matching time strictly after ``moment`` (``None`` if none soon)."""
        minute = moment.replace(second=0, microsecond=0)
        if self._minute_matches(minute):
            later = [s for s in self.seconds if s > moment.second]
            if later:
                return minute + dt.timedelta(seconds=min(later))
        found = self._next_minute(minute, moment + dt.timedelta(days=within_days))
        return None if found is None else found + dt.timedelta(seconds=min(self.seconds))

    def _next_minute(self, minute: dt.datetime, limit: dt.datetime) -> dt.datetime | None:
        """The first matching minute strictly after ``minute``."""
        current = minute + dt.timedelta(minutes=1)
        while current <= limit:
            if not self._day_matches(current.date()):
                current = dt.datetime.combine(current.date() + dt.timedelta(days=1), dt.time())
            elif current.hour not in self.hours:
                current = current.replace(minute=0) + dt.timedelta(hours=1)
            elif current.minute not in self.minutes:
                current += dt.timedelta(minutes=1)
            else:
                return current
        return None


# -- templates ------------------------------------------------------------------------

_EXPRESSION = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.[\w-]+)*)\s*\}\}")
_MISSING = object()


def _lookup(variables: Mapping[str, Any], path: str) -> Any:
    current: Any = variables
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def _as_text(value: Any) -> str:
    if value is _MISSING or value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def render_template(value: Any, variables: Mapping[str, Any], *, keep_types: bool = True) -> Any:
    """Expand ``{{ a.b }}`` references in strings, recursively through objects and arrays.

    Names are dotted look-ups in ``variables`` (``trigger.name``, ``event.payload.x``,
    ``body.items.0``); nothing is evaluated. A string that is exactly one reference
    becomes the referenced value itself (``None`` when missing) if ``keep_types``;
    references inside longer text are replaced by their text (JSON for non-strings,
    empty when missing).
    """
    if isinstance(value, str):
        whole = _EXPRESSION.fullmatch(value)
        if whole is not None and keep_types:
            found = _lookup(variables, whole.group(1))
            return None if found is _MISSING else found
        return _EXPRESSION.sub(lambda m: _as_text(_lookup(variables, m.group(1))), value)
    if isinstance(value, Mapping):
        return {k: render_template(v, variables, keep_types=keep_types) for k, v in value.items()}
    if isinstance(value, list):
        return [render_template(v, variables, keep_types=keep_types) for v in value]
    return value


# -- nested objects -------------------------------------------------------------------

_WEBHOOK_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


@verbatim(write_only=("secret",))
@attrs.define(slots=False)
class TriggerCondition(WireModel):
    """When a trigger fires: ``cron``/``at`` (schedule), ``event`` (event), ``path`` (webhook).

    ``secret`` (webhook) is write-only: read from input, never written out.
    """

    cron: str | None = wire_field(default=None, omit_if_none=True)
    timezone: str = "UTC"
    starts_at: dt.datetime | None = wire_field(default=None, omit_if_none=True)
    ends_at: dt.datetime | None = wire_field(default=None, omit_if_none=True)
    at: dt.datetime | None = wire_field(default=None, omit_if_none=True)
    event: str | None = wire_field(default=None, omit_if_none=True)
    filter: dict[str, Any] | None = wire_field(default=None, omit_if_none=True)
    path: str | None = wire_field(default=None, omit_if_none=True)
    method: str = "POST"
    secret: str | None = None
    transform: dict[str, str] | None = wire_field(default=None, omit_if_none=True)

    def problems(self, trigger_type: TriggerType | str) -> list[str]:
        """What makes this condition unusable for a trigger of ``trigger_type``."""
        found: list[str] = []
        if trigger_type == TriggerType.SCHEDULE:
            if self.cron is None and self.at is None:
                found.append("a schedule condition needs 'cron' or 'at'")
            if self.cron is not None:
                try:
                    CronSchedule.parse(self.cron)
                except ValueError as exc:
                    found.append(str(exc))
            if self.starts_at and self.ends_at and self.starts_at > self.ends_at:
                found.append("'starts_at' is after 'ends_at'")
            if _zone(self.timezone) is None:
                found.append(f"unknown timezone {self.timezone!r} (use an IANA name)")
        elif trigger_type == TriggerType.EVENT:
            if not self.event:
                found.append("an event condition needs 'event'")
        elif trigger_type == TriggerType.WEBHOOK:
            if not self.path or not self.path.startswith("/"):
                found.append("a webhook condition needs a 'path' starting with '/'")
            if self.method.upper() not in _WEBHOOK_METHODS:
                found.append(f"webhook method {self.method!r} is not an HTTP method")
        return found

    def within_window(self, now: dt.datetime) -> bool:
        """Inside ``[starts_at, ends_at]`` (either bound may be absent)."""
        return (self.starts_at is None or now >= self.starts_at) and (
            self.ends_at is None or now <= self.ends_at
        )

    def next_fire_after(self, after: dt.datetime) -> dt.datetime | None:
        """The first due time strictly after ``after``, both naive UTC; ``None`` if none.

        ``cron`` is matched on the wall clock of ``timezone``; ``at`` (one-shot, used
        when there is no ``cron``), ``starts_at`` and ``ends_at`` are instants, naive
        ones read as UTC like every protocol timestamp.
        """
        zone = _zone(self.timezone)
        if zone is None:
            return None
        start = after
        if self.starts_at is not None and self.starts_at > after:
            start = self.starts_at - dt.timedelta(microseconds=1)
        if self.cron is None:
            due = self.at if self.at is not None and self.at > start else None
        else:
            due = _next_cron_utc(CronSchedule.parse(self.cron), start, zone)
        if due is None or (self.ends_at is not None and due > self.ends_at):
            return None
        return due


def _zone(name: str) -> dt.tzinfo | None:
    if name.upper() in ("UTC", "Z", "ETC/UTC"):
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def _next_cron_utc(
    schedule: CronSchedule, after: dt.datetime, zone: dt.tzinfo
) -> dt.datetime | None:
    """Next match of a wall-clock schedule in ``zone`` strictly after the UTC ``after``.

    Around a DST change a local time can map to a UTC instant at or before ``after``
    (the repeated hour); such matches are skipped.
    """
    local = after.replace(tzinfo=dt.UTC).astimezone(zone).replace(tzinfo=None)
    for _ in range(1000):
        found = schedule.next_after(local)
        if found is None:
            return None
        due = found.replace(tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)
        if due > after:
            return due
        local = found
    return None


@verbatim()
@attrs.define(slots=False)
class IntentTemplate(WireModel):
    """The intent a trigger creates; strings may hold ``{{ }}`` references."""

    type: str = ""
    title: str = ""
    priority: str = "medium"
    assignee: str | None = None
    context: dict[str, Any] = attrs.field(factory=dict)
    graph_id: str | None = None
    tags: list[str] = attrs.field(factory=list)

    def render(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The template with references expanded: text fields stay text, ``context``
        values keep the referenced types."""
        data = to_dict(self)
        for key, value in data.items():
            data[key] = render_template(value, variables, keep_types=key == "context")
        return data


@verbatim()
@attrs.define(slots=False)
class TriggerLineage(WireModel):
    """Where a trigger-created intent came from, for cascade limits and audit."""

    created_by: str = "trigger"
    trigger_id: str = ""
    trigger_type: str = ""
    trigger_depth: int = 1
    trigger_chain: list[str] = attrs.field(factory=list)

    @classmethod
    def next(cls, trigger: Trigger, cause: TriggerLineage | None = None) -> TriggerLineage:
        """Lineage of an intent ``trigger`` creates; ``cause`` is the lineage of the
        trigger-created intent whose event fired it, if any."""
        return cls(
            trigger_id=trigger.trigger_id,
            trigger_type=str(trigger.type),
            trigger_depth=(cause.trigger_depth + 1) if cause else 1,
            trigger_chain=[*(cause.trigger_chain if cause else []), trigger.trigger_id],
        )

    @property
    def exceeds_cascade_limit(self) -> bool:
        return self.trigger_depth > MAX_TRIGGER_DEPTH


def deduplication_outcome(
    mode: DeduplicationMode, *, active_intent_exists: bool, fire_pending: bool = False
) -> Literal["create", "skip", "queue"]:
    """What a firing does (RFC-0017): ``allow`` always creates; ``skip`` skips while an
    intent of the template's type is still active; ``queue`` defers one firing until it
    ends and drops further ones."""
    if mode == DeduplicationMode.ALLOW or not active_intent_exists:
        return "create"
    if mode == DeduplicationMode.QUEUE and not fire_pending:
        return "queue"
    return "skip"


# -- responses ------------------------------------------------------------------------


@attrs.define
class Trigger(WireModel):
    """A standing declaration that creates intents (the model; the decorator is in agents).

    The id is ``trigger_id`` on the wire; ``id`` is also read.
    """

    trigger_id: str = attrs.field(metadata=wire_metadata(aliases=("id",)))
    name: str
    type: TriggerType
    enabled: bool = True
    condition: TriggerCondition | None = None
    intent_template: IntentTemplate | None = None
    deduplication: DeduplicationMode = DeduplicationMode.ALLOW
    namespace: str | None = None
    fire_count: int = 0
    version: int = 1
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    last_fired_at: dt.datetime | None = None
    # Extra (not in the reference): when the scheduler fires this trigger next.
    next_fire_at: dt.datetime | None = wire_field(default=None, omit_if_none=True)

    def due_at(self, moment: dt.datetime) -> bool:
        """Whether an enabled schedule trigger fires at ``moment`` (trigger-local time)."""
        cond = self.condition
        if not self.enabled or self.type != TriggerType.SCHEDULE or cond is None:
            return False
        if not cond.within_window(moment):
            return False
        if cond.at is not None and cond.cron is None:
            return moment.replace(second=0, microsecond=0) == cond.at.replace(
                second=0, microsecond=0
            )
        return cond.cron is not None and CronSchedule.parse(cond.cron).matches(moment)


@attrs.define
class TriggerFireResponse(WireModel):
    """Answer of ``POST /api/v1/triggers/{id}/fire``; the keys after ``status`` are extras.

    ``status`` is ``fired`` when an intent was created, else the firing's outcome
    (``skipped``, ``queued``, ``cascade_limit``); ``intent`` is the created intent.
    """

    fire_count: int
    status: str = "fired"
    intent_id: str | None = wire_field(default=None, omit_if_none=True)
    deduplicated: bool | None = wire_field(default=None, omit_if_none=True)
    intent: Intent | None = wire_field(default=None, omit_if_none=True)


@attrs.define
class TriggerFiring(WireModel):
    """One entry of ``GET /api/v1/triggers/{id}/history``.

    ``source``: ``manual``, ``schedule``, ``event``, ``webhook`` or ``queue`` (a deferred
    firing released). ``outcome``: ``created``, ``skipped``, ``queued``,
    ``cascade_limit`` or ``missed`` (a due time passed while no scheduler ran; missed
    times are not back-filled). ``detail`` explains skips and assignment failures.
    """

    id: str
    trigger_id: str
    source: str
    outcome: str
    fired_at: dt.datetime
    intent_id: str | None = None
    due_at: dt.datetime | None = wire_field(default=None, omit_if_none=True)
    event_id: str | None = wire_field(default=None, omit_if_none=True)
    detail: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class WebhookReceipt(WireModel):
    """Answer of a webhook receiver: 202 with the created intent, or 200 ``deduplicated``."""

    trigger_id: str
    intent_id: str | None = None
    deduplicated: bool | None = wire_field(default=None, omit_if_none=True)


@attrs.define
class TriggerDeleteResponse(WireModel):
    """Answer of ``DELETE /api/v1/triggers/{id}``."""

    trigger_id: str
    status: str = "deleted"


# -- request bodies -------------------------------------------------------------------


def _condition(value: dict[str, Any] | None) -> TriggerCondition | None:
    return None if value is None else structure(value, TriggerCondition)


@sparse
@attrs.define(slots=False)
class TriggerCreateRequest(WireModel):
    """Body of ``POST /api/v1/triggers``.

    ``condition`` stays a raw object so a webhook secret reaches the server; it is
    checked against the trigger type when the body is built.
    """

    name: str
    type: TriggerType = attrs.field(metadata=wire_metadata(aliases=("trigger_type",)))
    condition: dict[str, Any] | None = None
    intent_template: IntentTemplate | None = None
    deduplication: DeduplicationMode = DeduplicationMode.ALLOW
    namespace: str | None = None
    enabled: bool = True

    def __attrs_post_init__(self) -> None:
        parsed = _condition(self.condition)
        problems = parsed.problems(self.type) if parsed else []
        if problems:
            raise ValueError("condition: " + "; ".join(problems))

    def parsed_condition(self) -> TriggerCondition | None:
        return _condition(self.condition)


@sparse
@attrs.define(slots=False)
class TriggerUpdateRequest(WireModel):
    """Body of ``PATCH /api/v1/triggers/{id}``; each field applied only when not ``null``.

    The condition's fit to the trigger's type is checked by the caller, which knows the
    type (:meth:`TriggerCondition.problems`).
    """

    enabled: bool | None = None
    condition: dict[str, Any] | None = None
    intent_template: IntentTemplate | None = None
    deduplication: DeduplicationMode | None = None

    def __attrs_post_init__(self) -> None:
        _condition(self.condition)

    def parsed_condition(self) -> TriggerCondition | None:
        return _condition(self.condition)
