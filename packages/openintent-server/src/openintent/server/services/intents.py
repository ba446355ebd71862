"""RFC-0001 rules: creating intents, versioned state and status writes, the event log,
agent assignment. Every write is one transaction that also records its event and the
stream messages announcing it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from openintent.core.converter import to_wire, utcnow
from openintent.core.patch import apply_patches, normalize_patch, split_path
from openintent.core.status import check_completion, check_transition
from openintent.exceptions import ConflictError, NotFoundError, ValidationError
from openintent.models import (
    AgentAssignment,
    AssignAgentRequest,
    EventCreateRequest,
    EventType,
    Intent,
    IntentCreateRequest,
    IntentEvent,
    IntentState,
    IntentStatus,
    StatePatchRequest,
    StatusChangeRequest,
)
from openintent.server import channels
from openintent.server.ids import new_id
from openintent.server.services import idempotency
from openintent.server.services.events import record_event
from openintent.server.services.guards import WriteAttempt, WriteGuard
from openintent.server.services.principal import Principal
from openintent.server.store import core_sql
from openintent.server.store.database import Database, current_unit, dump_json, load_json
from openintent.server.store.sql import Statement
from openintent.server.store.tables import AssignmentRow, IntentRow
from openintent.server.store.wire_rows import encode_intent, timestamp_text

__all__ = ["IntentService", "intent_from_request", "intent_from_row"]


def intent_from_row(row: dict[str, Any]) -> Intent:
    return Intent(
        id=row["id"],
        title=row["title"],
        description=row["description"],
        version=row["version"],
        status=IntentStatus(row["status"]),
        state=IntentState(load_json(row["state"], {})),
        constraints=load_json(row["constraints"], {}),
        parent_intent_id=row["parent_id"],
        depends_on=load_json(row["depends_on"], []),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        created_by=row["created_by"],
        confidence=float(row["confidence"]),
        governance_policy=load_json(row["governance_policy"]),
    )


def intent_from_request(
    req: IntentCreateRequest, created_by: str | None, now: dt.datetime
) -> Intent:
    """A new intent (fresh id, version 1) as ``req`` asks; ``depends_on`` de-duplicated."""
    return Intent(
        id=new_id(),
        title=req.title,
        description=req.description,
        status=req.status,
        state=IntentState(dict(req.state)),
        constraints=dict(req.constraints),
        parent_intent_id=req.parent_intent_id,
        depends_on=list(dict.fromkeys(req.depends_on)),
        created_at=now,
        updated_at=now,
        created_by=created_by,
        governance_policy=req.governance_policy,
    )


class IntentService:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Filled by other areas at wiring time (leases, governance, access control).
        self.guards: list[WriteGuard] = []

    async def check(self, attempt: WriteAttempt) -> None:
        """Run every guard; the first refusal raises."""
        for guard in self.guards:
            await guard(attempt)

    # -- reads ------------------------------------------------------------------------

    async def get(self, intent_id: str) -> Intent:
        row = await self.db.fetchrow(core_sql.INTENT_BY_ID, intent_id)
        if row is None:
            raise NotFoundError("Intent not found", status_code=404)
        return intent_from_row(row)

    async def get_json(self, intent_id: str) -> bytes:
        """:meth:`get` as the JSON the route sends, written straight from the row."""
        row = await self.db.fetchrow(core_sql.INTENT_WIRE_BY_ID, intent_id)
        if row is None:
            raise NotFoundError("Intent not found", status_code=404)
        return encode_intent(row)

    async def require(self, intent_id: str) -> None:
        """404 unless the intent exists (for nested routes)."""
        if await self.db.fetchrow(core_sql.INTENT_EXISTS, intent_id) is None:
            raise NotFoundError("Intent not found", status_code=404)

    async def list_intents(
        self, *, status: IntentStatus | None, limit: int, offset: int, readable: Any = None
    ) -> tuple[list[Intent], int]:
        """A page of intents; ``readable`` is a where-clause limiting them to what the
        caller may read (access control, RFC-0011)."""
        query = IntentRow.select().order_by(IntentRow.created_at).limit(limit).offset(offset)
        count = IntentRow.count()
        if readable is not None:
            query = query.where(readable)
            count = count.where(readable)
        if status is not None:
            query = query.where(IntentRow.status == status.value)
            count = count.where(IntentRow.status == status.value)
        rows = await query
        return [intent_from_row(r) for r in rows], await count

    async def list_agents(self, intent_id: str) -> list[AgentAssignment]:
        await self.require(intent_id)
        rows = await AssignmentRow.select().where(AssignmentRow.intent_id == intent_id)
        return [_assignment(row) for row in rows]

    async def assigned_agent_ids(self, intent_id: str) -> list[str]:
        rows = await self.db.fetch(core_sql.ASSIGNED_AGENTS, intent_id)
        return sorted({row["agent_id"] for row in rows})

    # -- writes -----------------------------------------------------------------------

    async def create_json(
        self, principal: Principal, req: IntentCreateRequest, idempotency_key: str | None = None
    ) -> bytes:
        """Create an intent; its JSON, as the ``intent_created`` message carries it."""
        async with self.db.write():
            _, text = await self.create_in(principal, req, idempotency_key=idempotency_key)
        return text.encode()

    async def create_in(
        self,
        principal: Principal,
        req: IntentCreateRequest,
        *,
        idempotency_key: str | None = None,
        now: dt.datetime | None = None,
        event_extra: dict[str, Any] | None = None,
    ) -> tuple[Intent, str]:
        """Create inside the caller's ``db.write()``: checks, row, the ``intent_created``
        event (``event_extra`` added to its payload) and stream message. ``now``
        (default: the write's time) stamps ``created_at`` and ``updated_at``. Returns
        the intent and its JSON text."""
        key = idempotency.scoped_key(principal, "create_intent", idempotency_key or "")
        if idempotency_key and (stored := await idempotency.claim(key)) is not None:
            return Intent.from_dict(stored), dump_json(stored)
        if req.parent_intent_id is not None and not await IntentRow.exists().where(
            IntentRow.id == req.parent_intent_id
        ):
            raise ValidationError(
                f"parent intent {req.parent_intent_id!r} does not exist",
                errors=[{"loc": ["body", "parent_intent_id"], "msg": "unknown intent"}],
            )
        await self._check_dependencies_exist(req.depends_on)
        uow = current_unit()
        intent = intent_from_request(req, req.created_by or principal.actor, now or uow.now)
        text = await self._insert(intent)
        payload: dict[str, Any] = {"title": intent.title}
        if intent.governance_policy:
            payload["governance_policy"] = intent.governance_policy
        if event_extra:
            payload.update(event_extra)
        await record_event(intent.id, EventType.INTENT_CREATED, intent.created_by, payload)
        await self.db.emit_text((channels.intent(intent.id),), "intent_created", text)
        if idempotency_key:
            await idempotency.record_text(key, text)
        return intent, text

    async def patch_state_json(
        self, principal: Principal, intent_id: str, if_match: int, req: StatePatchRequest
    ) -> bytes:
        """Apply state patches at version ``if_match``; the updated intent's JSON."""
        patches = req.effective_patches()
        async with self.db.write():
            current = await self.get(intent_id)
            paths = tuple(p.path for p in patches)
            keys = tuple(dict.fromkeys(k for k in (_top_key(p) for p in paths) if k))
            await self.check(WriteAttempt(principal, current, "state", keys=keys, paths=paths))
            _check_version(current, if_match)
            new_state = apply_patches(current.state.data, patches)
            row = await self._bump_wire(current, core_sql.BUMP_STATE, dump_json(new_state))
            version = row["version"]
            await record_event(
                intent_id,
                EventType.STATE_PATCHED,
                principal.actor,
                {"patches": [normalize_patch(p) for p in patches], "version": version},
            )
            text = encode_intent(row).decode()
            await self.db.emit_text((channels.intent(intent_id),), "state_patched", text)
            runtime = {
                "intent_id": intent_id,
                "old_state": current.state.data,
                "new_state": new_state,
                "version": version,
            }
            await self._emit_runtime(intent_id, "STATE_CHANGED", runtime)
        return text.encode()

    async def set_status_json(
        self, principal: Principal, intent_id: str, if_match: int, req: StatusChangeRequest
    ) -> bytes:
        """Move the intent to ``req.status`` at version ``if_match``; its JSON."""
        async with self.db.write():
            current = await self.get(intent_id)
            await self.check(
                WriteAttempt(
                    principal,
                    current,
                    "status",
                    target_status=req.status.value,
                    reason=req.reason,
                )
            )
            _check_version(current, if_match)
            check_transition(current.status, req.status)
            if req.status == IntentStatus.COMPLETED and current.status != IntentStatus.COMPLETED:
                await self._check_completion_gates(current)
            row = await self._bump_wire(current, core_sql.BUMP_STATUS, req.status.value)
            version = row["version"]
            payload: dict[str, Any] = {"status": req.status.value, "version": version}
            if req.reason:
                payload["reason"] = req.reason
            await record_event(intent_id, EventType.STATUS_CHANGED, principal.actor, payload)
            text = encode_intent(row).decode()
            await self.db.emit_text((channels.intent(intent_id),), "status_changed", text)
            runtime = {
                "intent_id": intent_id,
                "old_status": current.status.value,
                "new_status": req.status.value,
                "version": version,
            }
            await self._emit_runtime(intent_id, "STATUS_CHANGED", runtime)
        return text.encode()

    async def log_event(
        self, principal: Principal, intent_id: str, req: EventCreateRequest
    ) -> IntentEvent:
        async with self.db.write():
            current = await self.get(intent_id)
            await self.check(
                WriteAttempt(
                    principal,
                    current,
                    "event",
                    extra={
                        "event_type": str(req.event_type),
                        "payload": dict(req.payload),
                        "actor": principal.fallback(req.actor),
                    },
                )
            )
            event = await record_event(
                intent_id, req.event_type, principal.fallback(req.actor), dict(req.payload)
            )
            event.trace_id = req.trace_id
            event.parent_event_id = req.parent_event_id
            data = to_wire(event)
            await self.db.emit_all(
                (channels.intent(intent_id), channels.runtime_intent(intent_id)),
                str(req.event_type),
                data,
            )
        return event

    async def assign(
        self, principal: Principal, intent_id: str, req: AssignAgentRequest
    ) -> AgentAssignment:
        async with self.db.write():
            return await self.assign_in(principal, await self.get(intent_id), req)

    async def assign_in(
        self,
        principal: Principal,
        intent: Intent,
        req: AssignAgentRequest,
        *,
        now: dt.datetime | None = None,
    ) -> AgentAssignment:
        """:meth:`assign` inside the caller's ``db.write()``: the write guards, row,
        ``agent_assigned`` event and stream messages. A refusal (``OpenIntentError``)
        comes only from the guards, before anything is written."""
        await self.check(WriteAttempt(principal, intent, "assign", agent_id=req.agent_id))
        assignment = AgentAssignment(
            id=new_id(),
            intent_id=intent.id,
            agent_id=req.agent_id,
            role=req.role,
            assigned_at=now or utcnow(),
        )
        await AssignmentRow.insert(
            AssignmentRow(
                id=assignment.id,
                intent_id=intent.id,
                agent_id=req.agent_id,
                role=req.role,
                assigned_at=assignment.assigned_at,
            )
        )
        await record_event(
            intent.id,
            EventType.AGENT_ASSIGNED,
            principal.actor,
            {"agent_id": req.agent_id, "role": req.role},
        )
        data = to_wire(assignment)
        await self.db.emit(channels.agent(req.agent_id), "agent_assigned", data)
        await self.db.emit(channels.runtime_agent(req.agent_id), "AGENT_ASSIGNED", data)
        await self.db.emit(channels.runtime_intent(intent.id), "AGENT_ASSIGNED", data)
        return assignment

    async def unassign(self, principal: Principal, intent_id: str, agent_id: str) -> None:
        async with self.db.write():
            current = await self.get(intent_id)
            await self.check(WriteAttempt(principal, current, "unassign", agent_id=agent_id))
            removed = (
                await AssignmentRow.delete()
                .where(
                    (AssignmentRow.intent_id == intent_id) & (AssignmentRow.agent_id == agent_id)
                )
                .returning(AssignmentRow.id)
            )
            if not removed:
                raise NotFoundError("Agent is not assigned to this intent", status_code=404)
            await record_event(
                intent_id, EventType.AGENT_UNASSIGNED, principal.actor, {"agent_id": agent_id}
            )

    # -- helpers ----------------------------------------------------------------------

    async def _bump(self, current: Intent, **columns: Any) -> Intent:
        """Compare-and-set of any columns: one conditional UPDATE; no row means someone
        else won. The two per-request writes use :meth:`_bump_wire` instead."""
        values: dict[Any, Any] = {
            IntentRow.version: IntentRow.version + 1,
            IntentRow.updated_at: current_unit().now,
        }
        for name, value in columns.items():
            values[getattr(IntentRow, name)] = value
        rows = (
            await IntentRow.update(values)
            .where((IntentRow.id == current.id) & (IntentRow.version == current.version))
            .returning(*IntentRow.all_columns())
        )
        if not rows:
            raise await self._conflict(current.id)
        return intent_from_row(rows[0])

    async def _bump_wire(self, current: Intent, statement: Statement, value: Any) -> dict[str, Any]:
        """:meth:`_bump` of state or status in constant SQL (``core_sql.BUMP_*``); the
        updated row comes back ready for ``encode_intent``."""
        uow = current_unit()
        row = await self.db.fetchrow(statement, uow.stamp, value, current.id, current.version)
        if row is None:
            raise await self._conflict(current.id)
        return row

    async def _conflict(self, intent_id: str) -> ConflictError:
        row = await self.db.fetchrow(core_sql.INTENT_VERSION, intent_id)
        if row is None:
            raise NotFoundError("Intent not found", status_code=404)
        return ConflictError("Version conflict", current_version=row["version"], status_code=409)

    bump = _bump

    async def insert(self, intent: Intent) -> None:
        """Store a new intent row inside the caller's ``db.write()`` (no checks, no event)."""
        await self._insert(intent)

    async def _insert(self, intent: Intent) -> str:
        """:meth:`insert`; returns the intent's JSON, written from the stored values."""
        uow = current_unit()
        columns = dict(zip(core_sql.INTENT_COLUMN_NAMES, _columns(intent), strict=True))
        for name in ("created_at", "updated_at"):
            value = columns[name]
            columns[name] = uow.stamp if value is uow.now else self.db.sql_time(value)
        await self.db.execute(core_sql.INSERT_INTENT, *columns.values())
        columns["created_at"] = timestamp_text(intent.created_at)
        columns["updated_at"] = timestamp_text(intent.updated_at)
        return encode_intent(columns).decode()

    async def _emit_runtime(self, intent_id: str, name: str, data: dict[str, Any]) -> None:
        agents = await self.assigned_agent_ids(intent_id)
        await self.db.emit_all(
            [channels.runtime_intent(intent_id), *map(channels.runtime_agent, agents)], name, data
        )

    async def _check_dependencies_exist(self, depends_on: list[str]) -> None:
        if not depends_on:
            return
        rows = await IntentRow.select(IntentRow.id).where(IntentRow.id.is_in(list(depends_on)))
        missing = sorted(set(depends_on) - {row["id"] for row in rows})
        if missing:
            raise ValidationError(
                f"unknown dependencies: {', '.join(missing)}",
                errors=[
                    {"loc": ["body", "depends_on"], "msg": f"unknown intent {m}"} for m in missing
                ],
            )

    require_dependencies = _check_dependencies_exist

    async def _check_completion_gates(self, intent: Intent) -> None:
        """RFC-0002: an intent completes only after its dependencies and children."""
        dependencies: dict[str, str | None] = dict.fromkeys(intent.depends_on)
        if intent.depends_on:
            rows = await IntentRow.select(IntentRow.id, IntentRow.status).where(
                IntentRow.id.is_in(list(intent.depends_on))
            )
            dependencies.update({r["id"]: r["status"] for r in rows})
        children = await IntentRow.select(IntentRow.id, IntentRow.status).where(
            IntentRow.parent_id == intent.id
        )
        check_completion(dependencies, {r["id"]: r["status"] for r in children})


def _top_key(path: str) -> str:
    segments = split_path(path)
    return segments[0] if segments else ""


def _check_version(current: Intent, if_match: int) -> None:
    if current.version != if_match:
        raise ConflictError("Version conflict", current_version=current.version, status_code=409)


def _columns(intent: Intent) -> tuple[Any, ...]:
    """Column values in ``core_sql.INTENT_COLUMNS`` order."""
    policy = intent.governance_policy
    return (
        intent.id,
        intent.title,
        intent.description,
        intent.created_by or "",
        intent.parent_intent_id,
        dump_json(intent.depends_on),
        dump_json(intent.constraints),
        dump_json(intent.state.data),
        intent.status.value,
        intent.confidence,
        intent.version,
        dump_json(policy) if policy is not None else None,
        intent.created_at,
        intent.updated_at,
    )


def _assignment(row: dict[str, Any]) -> AgentAssignment:
    return AgentAssignment(
        id=row["id"],
        intent_id=row["intent_id"],
        agent_id=row["agent_id"],
        role=row["role"],
        assigned_at=row["assigned_at"],
    )
