"""Firing one trigger, inside the caller's write transaction.

Steps, all in that transaction so they commit or vanish together:

1. **Claim** - insert the history row under its unique ``claim`` key; a claim already
   taken (another process, a repeated event) means this firing does nothing.
2. **Cascade** - lineage continues the one of the intent whose event caused the
   firing; past depth 10 the firing is suppressed (``trigger.cascade_limit`` on that
   intent).
3. **Deduplication** - ``skip``: an unfinished intent of the template's ``type`` in the
   trigger's namespace (all namespaces for a trigger without one; the trigger's own
   intents when the template has no type) blocks the firing (``trigger.skipped`` on
   it). ``queue``: the firing is kept (one at most) and released by the scheduler when
   no such intent is left.
4. **Create** - ``fire_count`` +1 (``version`` untouched, so clients' ``If-Match`` stays
   valid), the template expanded (``trigger.*``, ``event.*``, ``body.*``, ``headers.*``,
   ``query.*``), the intent stored as ``POST /intents`` would (``intent_created``), its
   lineage recorded, ``trigger.fired`` logged on it, and the template's ``assignee``
   assigned through the intent write guards (a refused assignment, e.g. a draining
   agent, leaves the intent unassigned and is noted in the history).

The created intent's state is the template's ``context`` (plus a webhook's
``transform`` output) and ``_trigger``: the RFC lineage (``created_by: "trigger"``,
``trigger_id``, ``trigger_type``, ``trigger_depth``, ``trigger_chain``) with the trigger's
name, the firing source and time, and the template's ``type``, ``priority`` and ``tags``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from openintent.core.converter import structure, to_dict
from openintent.exceptions import OpenIntentError
from openintent.models import (
    AssignAgentRequest,
    DeduplicationMode,
    EventType,
    Intent,
    IntentCreateRequest,
    IntentStatus,
    IntentTemplate,
    Trigger,
    TriggerCondition,
    TriggerLineage,
    TriggerType,
    deduplication_outcome,
)
from openintent.server.ids import new_id
from openintent.server.services.events import record_event
from openintent.server.services.intents import IntentService
from openintent.server.services.principal import Principal
from openintent.server.store.database import Database, dump_json, load_json
from openintent.server.store.triggers_tables import TriggerFiringRow, TriggerIntentRow, TriggerRow

__all__ = ["Cause", "Firer", "Outcome", "acting_for", "trigger_from_row"]

STATE_KEY = "_trigger"
FINISHED = (IntentStatus.COMPLETED.value, IntentStatus.ABANDONED.value)


def trigger_from_row(row: dict[str, Any]) -> Trigger:
    """The trigger as served (the webhook secret is in another column and never read)."""
    condition = load_json(row["condition"])
    template = load_json(row["intent_template"])
    return Trigger(
        trigger_id=row["trigger_id"],
        name=row["name"],
        type=TriggerType(row["type"]),
        enabled=bool(row["enabled"]),
        condition=None if condition is None else structure(condition, TriggerCondition),
        intent_template=None if template is None else structure(template, IntentTemplate),
        deduplication=DeduplicationMode(row["deduplication"]),
        namespace=row["namespace"],
        fire_count=row["fire_count"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_fired_at=row["last_fired_at"],
        next_fire_at=row["next_fire_at"],
    )


def acting_for(row: dict[str, Any]) -> Principal:
    """Who a firing nobody asked for acts as: the trigger's creator for permission checks
    (their key), named ``trigger:<id>`` on what it writes (never the key itself)."""
    return Principal(key=row["created_by"], agent_id=f"trigger:{row['trigger_id']}")


@attrs.frozen
class Cause:
    """Why a trigger fires: ``source`` is ``manual``, ``schedule``, ``event``,
    ``webhook`` or ``queue``; ``claim`` is unique per firing that may happen once."""

    source: str
    claim: str
    principal: Principal
    variables: dict[str, Any] = attrs.field(factory=dict)
    context: dict[str, Any] = attrs.field(factory=dict)
    due_at: dt.datetime | None = None
    event_id: str | None = None
    cause_intent_id: str | None = None


@attrs.frozen
class Outcome:
    """``created``, ``skipped``, ``queued``, ``cascade_limit``, ``duplicate`` (claim
    taken), ``disabled`` or ``missing`` (no such trigger)."""

    outcome: str
    fire_count: int = 0
    intent: Intent | None = None
    blocking_intent_id: str | None = None


class Firer:
    def __init__(self, db: Database, intents: IntentService) -> None:
        self.db = db
        self.intents = intents

    async def lock(self, trigger_id: str) -> dict[str, Any] | None:
        """The trigger row, locked for this transaction on PostgreSQL."""
        query = TriggerRow.select().where(TriggerRow.trigger_id == trigger_id)
        if not self.db.is_sqlite:
            query = query.lock_rows()
        rows = await query
        return dict(rows[0]) if rows else None

    async def fire(self, trigger_id: str, cause: Cause, now: dt.datetime) -> Outcome:
        """Fire inside the caller's ``db.write()``."""
        row = await self.lock(trigger_id)
        if row is None:
            return Outcome("missing")
        if not row["enabled"]:
            return Outcome("disabled", row["fire_count"])
        trigger = trigger_from_row(row)
        firing_id = await self._claim(trigger_id, cause, now)
        if firing_id is None:
            return Outcome("duplicate", row["fire_count"])
        lineage = TriggerLineage.next(trigger, await self._lineage_of(cause.cause_intent_id))
        if lineage.exceeds_cascade_limit:
            return await self._suppress(trigger, cause, lineage, firing_id, row["fire_count"])
        template = trigger.intent_template or IntentTemplate(title=trigger.name)
        blocking = None
        if trigger.deduplication != DeduplicationMode.ALLOW:
            blocking = await self.active_intent(trigger, template.type)
        decision = deduplication_outcome(
            trigger.deduplication,
            active_intent_exists=blocking is not None,
            fire_pending=row["queued_at"] is not None,
        )
        if decision != "create":
            assert blocking is not None
            return await self._defer(trigger, cause, decision, blocking, firing_id, now)
        return await self._create(trigger, template, lineage, cause, firing_id, now)

    async def active_intent(self, trigger: Trigger, template_type: str) -> str | None:
        """An unfinished intent in the trigger's deduplication scope, if any."""
        if template_type:
            where, args = "t.template_type = {}", [template_type]
            if trigger.namespace is not None:
                where += " AND t.namespace = {}"
                args.append(trigger.namespace)
        else:
            where, args = "t.trigger_id = {}", [trigger.trigger_id]
        rows = await TriggerIntentRow.raw(
            "SELECT t.intent_id FROM oi_trigger_intents t JOIN oi_intents i ON i.id = t.intent_id "
            f"WHERE {where} AND i.status NOT IN ({{}}, {{}}) ORDER BY t.created_at LIMIT 1",
            *args,
            *FINISHED,
        )
        return rows[0]["intent_id"] if rows else None

    # -- steps ------------------------------------------------------------------------

    async def _claim(self, trigger_id: str, cause: Cause, now: dt.datetime) -> str | None:
        firing_id = new_id()
        inserted = (
            await TriggerFiringRow.insert(
                TriggerFiringRow(
                    id=firing_id,
                    trigger_id=trigger_id,
                    claim=cause.claim,
                    source=cause.source,
                    outcome="claimed",
                    due_at=cause.due_at,
                    event_id=cause.event_id,
                    intent_id=None,
                    detail="{}",
                    fired_at=now,
                )
            )
            .on_conflict(action="DO NOTHING")
            .returning(TriggerFiringRow.id)
        )
        return firing_id if inserted else None

    async def _settle(
        self, firing_id: str, outcome: str, intent_id: str | None, detail: dict[str, Any]
    ) -> None:
        await TriggerFiringRow.update(
            {
                TriggerFiringRow.outcome: outcome,
                TriggerFiringRow.intent_id: intent_id,
                TriggerFiringRow.detail: dump_json(
                    {k: v for k, v in detail.items() if v is not None}
                ),
            }
        ).where(TriggerFiringRow.id == firing_id)

    async def _lineage_of(self, intent_id: str | None) -> TriggerLineage | None:
        if intent_id is None:
            return None
        rows = await TriggerIntentRow.select().where(TriggerIntentRow.intent_id == intent_id)
        if not rows:
            return None
        row = rows[0]
        return TriggerLineage(
            trigger_id=row["trigger_id"],
            trigger_depth=row["depth"],
            trigger_chain=load_json(row["chain"], []),
        )

    async def _suppress(
        self,
        trigger: Trigger,
        cause: Cause,
        lineage: TriggerLineage,
        firing_id: str,
        fire_count: int,
    ) -> Outcome:
        detail = {
            "reason": "cascade depth limit reached",
            "trigger_depth": lineage.trigger_depth,
            "trigger_chain": lineage.trigger_chain,
        }
        if cause.cause_intent_id is not None:
            await record_event(
                cause.cause_intent_id,
                EventType.TRIGGER_CASCADE_LIMIT,
                _actor(trigger),
                {"trigger_id": trigger.trigger_id, **detail},
            )
        await self._settle(firing_id, "cascade_limit", None, detail)
        return Outcome("cascade_limit", fire_count)

    async def _defer(
        self,
        trigger: Trigger,
        cause: Cause,
        decision: str,
        blocking: str,
        firing_id: str,
        now: dt.datetime,
    ) -> Outcome:
        if decision == "queue":
            saved = {
                "variables": cause.variables,
                "context": cause.context,
                "cause_intent_id": cause.cause_intent_id,
            }
            await TriggerRow.update(
                {TriggerRow.queued_at: now, TriggerRow.queued_variables: dump_json(saved)}
            ).where(TriggerRow.trigger_id == trigger.trigger_id)
            outcome = "queued"
        else:
            await record_event(
                blocking,
                EventType.TRIGGER_SKIPPED,
                _actor(trigger),
                {
                    "trigger_id": trigger.trigger_id,
                    "trigger_name": trigger.name,
                    "reason": "deduplication",
                    "deduplication": trigger.deduplication.value,
                    "source": cause.source,
                },
            )
            outcome = "skipped"
        await self._settle(firing_id, outcome, None, {"blocking_intent_id": blocking})
        return Outcome(outcome, trigger.fire_count, blocking_intent_id=blocking)

    async def _create(
        self,
        trigger: Trigger,
        template: IntentTemplate,
        lineage: TriggerLineage,
        cause: Cause,
        firing_id: str,
        now: dt.datetime,
    ) -> Outcome:
        counted = (
            await TriggerRow.update(
                {
                    TriggerRow.fire_count: TriggerRow.fire_count + 1,
                    TriggerRow.last_fired_at: now,
                    TriggerRow.updated_at: now,
                }
            )
            .where(TriggerRow.trigger_id == trigger.trigger_id)
            .returning(TriggerRow.fire_count)
        )
        fire_count = int(counted[0]["fire_count"])
        variables = {
            **cause.variables,
            "trigger": {
                "trigger_id": trigger.trigger_id,
                "name": trigger.name,
                "type": trigger.type.value,
                "namespace": trigger.namespace,
                "fired_at": now.isoformat(),
                "fire_count": fire_count,
            },
        }
        rendered = template.render(variables)
        context = rendered.get("context")
        title = _clean(str(rendered.get("title") or "")) or trigger.name
        state = {
            **(context if isinstance(context, dict) else {}),
            **cause.context,
            STATE_KEY: {
                **to_dict(lineage),
                "trigger_name": trigger.name,
                "source": cause.source,
                "fired_at": now.isoformat(),
                "template_type": rendered.get("type", ""),
                "priority": rendered.get("priority", "medium"),
                "tags": rendered.get("tags", []),
            },
        }
        intent, _ = await self.intents.create_in(
            cause.principal,
            IntentCreateRequest(title=title, state=state, created_by=_actor(trigger)),
            now=now,
            event_extra={"trigger_id": trigger.trigger_id},
        )
        await TriggerIntentRow.insert(
            TriggerIntentRow(
                intent_id=intent.id,
                trigger_id=trigger.trigger_id,
                template_type=template.type,
                namespace=trigger.namespace,
                depth=lineage.trigger_depth,
                chain=dump_json(lineage.trigger_chain),
                created_at=now,
            )
        )
        fired: dict[str, Any] = {
            "trigger_id": trigger.trigger_id,
            "created_intent_id": intent.id,
            "trigger_name": trigger.name,
            "source": cause.source,
            "fire_count": fire_count,
        }
        if cause.due_at is not None:
            fired["due_at"] = cause.due_at.isoformat()
        if cause.event_id is not None:
            fired["event_id"] = cause.event_id
        await record_event(intent.id, EventType.TRIGGER_FIRED, intent.created_by, fired)
        assignee = rendered.get("assignee")
        refused = None
        if isinstance(assignee, str) and assignee.strip():
            refused = await self._assign(cause.principal, intent, assignee.strip(), now)
        await self._settle(
            firing_id, "created", intent.id, {"assignee": assignee, "assign_error": refused}
        )
        return Outcome("created", fire_count, intent=intent)

    async def _assign(
        self, principal: Principal, intent: Intent, agent_id: str, now: dt.datetime
    ) -> str | None:
        """Assign as ``POST /intents/{id}/agents`` would; the refusal text, if refused."""
        if "\x00" in agent_id or len(agent_id) > 255:
            return "assignee is not a valid agent id"
        try:
            await self.intents.assign_in(
                principal, intent, AssignAgentRequest(agent_id=agent_id), now=now
            )
        except OpenIntentError as exc:  # only the guards refuse, before any write
            return exc.message
        return None


def _actor(trigger: Trigger) -> str:
    return f"trigger:{trigger.trigger_id}"


def _clean(text: str) -> str:
    # Expanded text may carry U+0000 from a webhook body; PostgreSQL TEXT cannot hold it.
    return text.replace("\x00", "")
