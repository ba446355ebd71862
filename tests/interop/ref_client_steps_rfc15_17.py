"""Scenario steps for RFC-0015 to RFC-0017 on either reference client.

Memory (RFC-0015), the agent registry (RFC-0016) and triggers (RFC-0017), plus the
operations the brief and the spec name that the reference client cannot reach:
sdk.md §3.15 ("Sub-API objects: none exist in 0.17.0"; the docs' ``client.agents.drain()
/deregister()``, ``client.triggers.fire()``, ``client.memory.store()/query()``, ...)
and rfc-0016 §8 / rfc-0017 §8 (flat methods only, no deregister, no trigger history).
Those steps assert the namespace is absent and then drive the wire with httpx.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from ref_client_harness import Ctx, check, eq, ids, is_naive_recent, raises, resolve, step
from ref_client_steps_rfc12_14 import event_types, status_of

from openintent.exceptions import ConflictError, NotFoundError, OpenIntentError
from openintent.models import (
    AgentStatus,
    DeduplicationMode,
    IntentStatus,
    MemoryPriority,
    MemorySensitivity,
    MemoryType,
    TriggerType,
)

# sdk.md §3.15 / §8.5: the namespaces the docs and the agent proxies use.
NAMESPACES = ("tasks", "memory", "agents", "triggers", "tools", "coordinator")


def wire(cli: Any, agent_id: str | None = None) -> httpx.Client:
    """A plain HTTP client with the reference client's credentials."""
    return httpx.Client(
        base_url=cli.base_url,
        headers={"X-API-Key": cli.api_key, "X-Agent-ID": agent_id or cli.agent_id},
        timeout=30.0,
    )


# -- RFC-0015 -------------------------------------------------------------------------


async def memory_steps(cli: Any, other: Any, label: str, ctx: Ctx) -> None:
    agent = cli.agent_id

    def key(method: str) -> str:
        return f"{label}.{method}"

    with step(key("create_memory")):
        home = await resolve(cli.create_intent(f"{label} memory scope", ""))
        ctx.mem_intent = home
        entry = await resolve(
            cli.create_memory(
                agent,
                "inventory",
                "progress",
                {"done": 1},
                memory_type="episodic",
                scope={"intent_id": home.id},
                tags=["batch", "a"],
                ttl="duration:PT1H",
                pinned=True,
                priority="high",
                sensitivity="internal",
            )
        )
        check(entry.id, "id")
        eq((entry.agent_id, entry.namespace, entry.key), (agent, "inventory", "progress"), "")
        eq(entry.value, {"done": 1}, "value")
        eq(entry.memory_type, MemoryType.EPISODIC, "memory_type")
        eq(entry.version, 1, "version")
        eq(entry.scope.intent_id, home.id, "scope")
        eq(entry.tags, ["batch", "a"], "tags")
        eq((entry.ttl, entry.pinned), ("duration:PT1H", True), "ttl, pinned")
        eq(entry.priority, MemoryPriority.HIGH, "priority")
        eq(entry.sensitivity, MemorySensitivity.INTERNAL, "sensitivity")
        is_naive_recent(entry.created_at, "created_at")
        working = await resolve(cli.create_memory(agent, "scratch", "note", {"n": 1}))
        eq(working.memory_type, MemoryType.WORKING, "memory_type default")
        ctx.entry, ctx.working = entry, working
        # RFC-0015 §6.2: one entry per (agent, namespace, key); storing again updates it.
        again = await resolve(cli.create_memory(agent, "scratch", "note", {"n": 2}))
        eq((again.id, again.version, again.value), (working.id, 2, {"n": 2}), "upsert")
        code = await status_of(
            lambda: cli.create_memory(agent, "scratch", "x", {"a": 1}, memory_type="forever"),
            "non-enum memory_type",
        )
        eq(code, 422, "non-enum memory_type refused (rfc-0015 §11)")
        code = await status_of(
            lambda: cli.create_memory(agent, "scratch", "x", [1, 2]), "array value"
        )
        eq(code, 422, "value must be an object")
        logged = await event_types(cli, home.id)
        check("memory.created" in logged, f"memory event on the scope intent: {logged}")

    with step(key("get_memory")):
        got = await resolve(cli.get_memory(ctx.entry.id))
        eq((got.id, got.value, got.version), (ctx.entry.id, {"done": 1}, 1), "round trip")
        eq(got.tags, ["batch", "a"], "tags")
        await raises(NotFoundError, lambda: cli.get_memory(str(uuid.uuid4())), "404")
        # RFC-0015 §6.2: an agent's entries are private to it.
        code = await status_of(lambda: other.get_memory(ctx.entry.id), "another agent")
        eq(code, 403, "another agent reads a private entry")

    with step(key("list_memory")):
        every = await resolve(cli.list_memory(agent))
        eq(sorted(ids(every)), sorted([ctx.entry.id, ctx.working.id]), "the agent's entries")
        eq(ids(await resolve(cli.list_memory(agent, namespace="inventory"))), [ctx.entry.id], "")
        eq(ids(await resolve(cli.list_memory(agent, memory_type="working"))), [ctx.working.id], "")
        # rfc-0015 §11: honouring `tags` (AND) and `offset` is compatible.
        eq(ids(await resolve(cli.list_memory(agent, tags=["a", "batch"]))), [ctx.entry.id], "")
        eq(await resolve(cli.list_memory(agent, tags=["a", "zzz"])), [], "tags are ANDed")
        first = await resolve(cli.list_memory(agent, limit=1))
        second = await resolve(cli.list_memory(agent, limit=1, offset=1))
        eq(len(first) + len(second), 2, "limit")
        check(ids(first) != ids(second), "offset honoured")
        eq(await resolve(cli.list_memory(f"nobody-{uuid.uuid4()}")), [], "unknown agent -> []")

    with step(key("update_memory")):
        upd = await resolve(
            cli.update_memory(
                ctx.entry.id, 1, value={"done": 5}, tags=["x"], pinned=False, priority="low"
            )
        )
        eq((upd.version, upd.value, upd.tags), (2, {"done": 5}, ["x"]), "updated")
        eq((upd.pinned, upd.priority), (False, MemoryPriority.LOW), "pinned, priority")
        check(upd.updated_at >= ctx.entry.updated_at, "updated_at")
        await raises(
            ConflictError, lambda: cli.update_memory(ctx.entry.id, 1, value={}), "stale version"
        )
        missing = await raises(
            OpenIntentError, lambda: cli.update_memory(str(uuid.uuid4()), 1, value={}), ""
        )
        check(isinstance(missing, (NotFoundError, ConflictError)), f"unknown id: {missing!r}")
        eq((await resolve(cli.get_memory(ctx.entry.id))).value, {"done": 5}, "stored")

    with step(key("delete_memory")):
        eq(await resolve(cli.delete_memory(ctx.working.id)), None, "returns None")
        await raises(NotFoundError, lambda: cli.get_memory(ctx.working.id), "gone")
        await raises(NotFoundError, lambda: cli.delete_memory(ctx.working.id), "twice")
        eq(ids(await resolve(cli.list_memory(agent))), [ctx.entry.id], "one entry left")
        logged = await event_types(cli, ctx.mem_intent.id)
        check("memory.updated" in logged, f"memory.updated logged: {logged}")


# -- RFC-0016 -------------------------------------------------------------------------


async def agent_steps(cli: Any, label: str, ctx: Ctx) -> None:
    worker = f"{label}-worker-{uuid.uuid4().hex[:8]}"
    role = f"{label}-role"

    def key(method: str) -> str:
        return f"{label}.{method}"

    with step(key("register_agent")):
        rec = await resolve(
            cli.register_agent(
                worker,
                ["billing", "invoicing"],
                name="Billing",
                role_id=role,
                capacity={"max_concurrent_tasks": 5},
                endpoint="https://x.example/hook",
                heartbeat_config={
                    "interval_seconds": 30,
                    "unhealthy_after_seconds": 90,
                    "dead_after_seconds": 300,
                },
                metadata={"build": "1.2"},
                drain_timeout_seconds=120,
            )
        )
        eq(rec.agent_id, worker, "agent_id")
        eq(rec.status, AgentStatus.ACTIVE, "status")
        eq((rec.name, rec.role_id), ("Billing", role), "name, role_id")
        eq(rec.capabilities, ["billing", "invoicing"], "capabilities")
        eq(rec.capacity.max_concurrent_tasks, 5, "capacity")
        eq(rec.endpoint, "https://x.example/hook", "endpoint")
        eq(rec.heartbeat_config.unhealthy_after_seconds, 90, "heartbeat_config")
        eq(rec.drain_timeout_seconds, 120, "drain_timeout_seconds")
        eq(rec.metadata, {"build": "1.2"}, "metadata round trip (rfc-0016 §11)")
        eq(rec.last_heartbeat_at, None, "no heartbeat yet")
        is_naive_recent(rec.registered_at, "registered_at")
        ctx.worker, ctx.worker_version = worker, rec.version
        spare = await resolve(cli.register_agent(f"{worker}-spare", role_id=f"{role}-other"))
        eq(spare.capabilities, [], "capabilities default")
        ctx.spare = spare.agent_id
        code = await status_of(
            lambda: cli.register_agent(f"{worker}-bad", heartbeat_config={"interval_seconds": -1}),
            "invalid heartbeat_config",
        )
        eq(code, 422, "invalid heartbeat_config refused (rfc-0016 §9)")

    with step(key("get_agent_record")):
        got = await resolve(cli.get_agent_record(ctx.worker))
        eq((got.agent_id, got.role_id), (ctx.worker, role), "round trip")
        eq(got.registered_at, rec.registered_at, "registered_at")
        await raises(NotFoundError, lambda: cli.get_agent_record(f"nobody-{uuid.uuid4()}"), "")

    with step(key("list_agents")):
        everyone = await resolve(cli.list_agents())
        check({ctx.worker, ctx.spare} <= {a.agent_id for a in everyone}, "both listed")
        by_role = await resolve(cli.list_agents(role_id=role))
        eq([a.agent_id for a in by_role], [ctx.worker], "role_id filter")
        active = await resolve(cli.list_agents(status="active"))
        check(ctx.worker in {a.agent_id for a in active}, "status filter")
        eq(await resolve(cli.list_agents(status="dead", role_id=role)), [], "none dead")

    with step(key("agent_heartbeat")):
        beat = await resolve(cli.agent_heartbeat(ctx.worker, 3, ["t1", "t2"]))
        eq(beat.get("status"), "ok", f"reply: {beat}")
        server_now = datetime.fromisoformat(beat["server_timestamp"])
        is_naive_recent(server_now, "server_timestamp")
        due = datetime.fromisoformat(beat["next_heartbeat_at"])
        eq(due - server_now, timedelta(seconds=30), "next heartbeat = interval_seconds later")
        after = await resolve(cli.get_agent_record(ctx.worker))
        is_naive_recent(after.last_heartbeat_at, "last_heartbeat_at")
        eq(after.capacity.current_load, 3, "current_load")
        with wire(cli) as http:
            raw = http.get(f"/api/v1/agents/{ctx.worker}/record").json()
        # rfc-0016 §8: the client's AgentCapacity keeps only max_concurrent_tasks and
        # current_load, so tasks_in_progress is read from the wire.
        eq(raw["capacity"].get("tasks_in_progress"), ["t1", "t2"], "tasks_in_progress")
        eq(after.status, AgentStatus.ACTIVE, "still active")
        await raises(NotFoundError, lambda: cli.agent_heartbeat(f"nobody-{uuid.uuid4()}"), "")

    with step(key("update_agent_status")):
        # RFC-0016: draining is asked for with a status change (the docs' "drain").
        drained = await resolve(cli.update_agent_status(ctx.worker, "draining"))
        eq(drained.get("status"), "draining", f"reply is the record: {drained}")
        eq(drained.get("agent_id"), ctx.worker, "agent_id")
        eq((await resolve(cli.get_agent_record(ctx.worker))).status, AgentStatus.DRAINING, "")
        draining = await resolve(cli.list_agents(status="draining", role_id=role))
        eq([a.agent_id for a in draining], [ctx.worker], "listed as draining")
        # rfc-0016 §11: the reference heartbeat always claims status "active"; that must
        # not cancel a drain while the agent still reports work.
        busy = await resolve(cli.agent_heartbeat(ctx.worker, 1, ["t1"]))
        eq(busy.get("status"), "ok", "heartbeat while draining")
        eq((await resolve(cli.get_agent_record(ctx.worker))).status, AgentStatus.DRAINING, "")
        code = await status_of(
            lambda: cli.update_agent_status(ctx.worker, "banana"), "non-enum status"
        )
        eq(code, 422, "non-enum status refused (rfc-0016 §11)")
        back = await resolve(cli.update_agent_status(ctx.worker, "active"))
        eq(back.get("status"), "active", "drain cancelled")
        await raises(
            NotFoundError, lambda: cli.update_agent_status(f"nobody-{uuid.uuid4()}", "dead"), ""
        )

    with step(key("register_agent[again]")):
        # rfc-0016 §11 asks for a JSON answer instead of the reference's 500 on a second
        # registration; our /register re-registers the id (documented in the server's
        # agents service), which the reference client reads as a fresh record.
        again = await raises_or_value(
            lambda: cli.register_agent(ctx.worker, ["billing"], role_id=role)
        )
        if isinstance(again, BaseException):
            check(isinstance(again, ConflictError), f"409 ConflictError expected: {again!r}")
        else:
            eq((again.agent_id, again.status), (ctx.worker, AgentStatus.ACTIVE), "re-registered")
            eq(again.capabilities, ["billing"], "fields replaced")
            check(again.version > ctx.worker_version, "version moved")


async def raises_or_value(call: Any) -> Any:
    try:
        return await resolve(call())
    except OpenIntentError as exc:
        return exc


# -- RFC-0017 -------------------------------------------------------------------------


async def trigger_steps(cli: Any, label: str, ctx: Ctx) -> None:
    namespace = f"{label}-ns-{uuid.uuid4().hex[:6]}"

    def key(method: str) -> str:
        return f"{label}.{method}"

    with step(key("create_trigger")):
        trig = await resolve(
            cli.create_trigger(
                "daily review",
                "schedule",
                condition={"cron": "0 9 * * MON-FRI", "timezone": "UTC"},
                intent_template={
                    "type": "compliance.review",
                    "title": "Daily review",
                    "context": {"scope": "all"},
                },
                deduplication="allow",
                namespace=namespace,
            )
        )
        check(trig.trigger_id, "trigger_id (the client reads this key)")
        eq((trig.name, trig.type), ("daily review", TriggerType.SCHEDULE), "name, type")
        eq(trig.enabled, True, "enabled")
        eq(trig.condition.cron, "0 9 * * MON-FRI", "condition")
        eq(trig.intent_template.title, "Daily review", "intent_template")
        eq(trig.deduplication, DeduplicationMode.ALLOW, "deduplication")
        eq((trig.namespace, trig.fire_count, trig.version), (namespace, 0, 1), "counters")
        eq(trig.last_fired_at, None, "never fired")
        is_naive_recent(trig.created_at, "created_at")
        hook = await resolve(
            cli.create_trigger(
                "payments",
                "webhook",
                condition={"path": f"/hooks/{namespace}", "secret": "whsec_SECRET"},
                namespace=namespace,
            )
        )
        eq(hook.condition.path, f"/hooks/{namespace}", "webhook path")
        # rfc-0017 §11: the webhook secret is write-only.
        eq(hook.condition.secret, None, "secret never returned")
        ctx.trig, ctx.hook = trig, hook
        code = await status_of(lambda: cli.create_trigger("x", "sometimes"), "bad type")
        eq(code, 422, "non-enum type refused (rfc-0017 §11)")
        code = await status_of(
            lambda: cli.create_trigger("x", "schedule", condition={"cron": "not a cron"}),
            "bad cron",
        )
        eq(code, 422, "invalid cron refused (rfc-0017 §11)")

    with step(key("get_trigger")):
        got = await resolve(cli.get_trigger(ctx.trig.trigger_id))
        eq((got.trigger_id, got.version), (ctx.trig.trigger_id, 1), "round trip")
        eq(got.intent_template.context, {"scope": "all"}, "template context")
        await raises(NotFoundError, lambda: cli.get_trigger(str(uuid.uuid4())), "404")

    with step(key("list_triggers")):
        mine = await resolve(cli.list_triggers(namespace=namespace))
        eq(
            sorted(t.trigger_id for t in mine),
            sorted([ctx.trig.trigger_id, ctx.hook.trigger_id]),
            "namespace filter",
        )
        hooks = await resolve(cli.list_triggers(namespace=namespace, trigger_type="webhook"))
        eq([t.trigger_id for t in hooks], [ctx.hook.trigger_id], "type filter")
        everything = await resolve(cli.list_triggers())
        check(ctx.trig.trigger_id in {t.trigger_id for t in everything}, "unfiltered")
        eq(await resolve(cli.list_triggers(namespace=f"none-{uuid.uuid4()}")), [], "none")

    with step(key("update_trigger")):
        upd = await resolve(
            cli.update_trigger(
                ctx.trig.trigger_id,
                1,
                enabled=False,
                deduplication="skip",
                condition={"cron": "0 10 * * *"},
            )
        )
        eq((upd.version, upd.enabled), (2, False), "disabled, version 2")
        eq(upd.deduplication, DeduplicationMode.SKIP, "deduplication")
        eq(upd.condition.cron, "0 10 * * *", "condition replaced")
        await raises(
            ConflictError,
            lambda: cli.update_trigger(ctx.trig.trigger_id, 1, enabled=True),
            "stale version",
        )
        enabled = await resolve(cli.update_trigger(ctx.trig.trigger_id, 2, enabled=True))
        eq((enabled.version, enabled.enabled), (3, True), "enabled again")
        missing = await raises(
            OpenIntentError, lambda: cli.update_trigger(str(uuid.uuid4()), 1, enabled=True), ""
        )
        check(isinstance(missing, (NotFoundError, ConflictError)), f"unknown id: {missing!r}")

    with step(key("fire_trigger")):
        fired = await resolve(cli.fire_trigger(ctx.trig.trigger_id))
        eq((fired.get("status"), fired.get("fire_count")), ("fired", 1), f"reply: {fired}")
        # RFC-0017 §6.2: firing creates an intent from the template.
        made = await resolve(cli.get_intent(fired["intent_id"]))
        eq(made.title, "Daily review", "intent from the template")
        eq(made.status, IntentStatus.DRAFT, "new intent")
        after = await resolve(cli.get_trigger(ctx.trig.trigger_id))
        eq((after.fire_count, after.version), (1, 3), "fire_count moved, version did not")
        is_naive_recent(after.last_fired_at, "last_fired_at")
        await raises(NotFoundError, lambda: cli.fire_trigger(str(uuid.uuid4())), "404")
        # RFC-0017 §2: disabled triggers do not fire (rfc-0017 §10.1: the reference does).
        off = await resolve(cli.update_trigger(ctx.trig.trigger_id, 3, enabled=False))
        await raises(ConflictError, lambda: cli.fire_trigger(ctx.trig.trigger_id), "disabled")
        eq((await resolve(cli.get_trigger(ctx.trig.trigger_id))).fire_count, 1, "not fired")
        await resolve(cli.update_trigger(ctx.trig.trigger_id, off.version, enabled=True))

    with step(key("delete_trigger")):
        eq(await resolve(cli.delete_trigger(ctx.hook.trigger_id)), None, "returns None")
        await raises(NotFoundError, lambda: cli.get_trigger(ctx.hook.trigger_id), "gone")
        await raises(NotFoundError, lambda: cli.delete_trigger(ctx.hook.trigger_id), "twice")
        left = await resolve(cli.list_triggers(namespace=namespace))
        eq([t.trigger_id for t in left], [ctx.trig.trigger_id], "one trigger left")


# -- what the reference client cannot reach (wire) ------------------------------------


async def wire_steps(cli: Any, label: str, ctx: Ctx) -> None:
    def key(method: str) -> str:
        return f"{label}.{method}"

    with step(key("namespaces[absent in 0.17.0]")):
        # sdk.md §3.15 and §8.5: "Sub-API objects: none exist in 0.17.0"; the docs'
        # client.tasks/memory/agents/triggers/tools/coordinator calls raise AttributeError.
        present = [name for name in NAMESPACES if hasattr(cli, name)]
        eq(present, [], "sub-API namespaces on the reference client")

    # rfc-0016 §8/§9: the RFC's GET /api/v1/agents/{id} (client.agents.get() in the
    # docs) has no reference-client method.
    with step(key("wire:agents.get")), wire(cli) as http:
        r = http.get(f"/api/v1/agents/{ctx.worker}")
        eq(r.status_code, 200, f"GET agent: {r.text[:200]}")
        eq(r.json()["agent_id"], ctx.worker, "agent_id")
        check(r.headers.get("etag"), "ETag on the RFC path")
        eq(http.get(f"/api/v1/agents/nobody-{uuid.uuid4()}").status_code, 404, "unknown")

    with step(key("wire:agents.deregister")):
        # rfc-0016 §9: "DELETE /api/v1/agents/{agent_id}" (client.agents.deregister() in
        # the docs); the reference client has no method for it.
        with wire(cli) as http:
            r = http.delete(f"/api/v1/agents/{ctx.spare}")
            eq(r.status_code, 200, f"DELETE agent: {r.text[:200]}")
            eq(r.json().get("status"), "deregistered", "status")
        gone = await resolve(cli.get_agent_record(ctx.spare))
        eq(gone.status, AgentStatus.DEREGISTERED, "record kept, deregistered")
        # RFC-0016 §6.2: heartbeats from deregistered agents are refused with 410.
        code = await status_of(lambda: cli.agent_heartbeat(ctx.spare), "heartbeat after")
        eq(code, 410, "heartbeat of a deregistered agent")
        back = await resolve(cli.register_agent(ctx.spare))
        eq(back.status, AgentStatus.ACTIVE, "re-registration re-activates")

    # rfc-0017 §9: "GET /api/v1/triggers/{id}/history"; no reference-client method.
    with step(key("wire:triggers.history")), wire(cli) as http:
        r = http.get(f"/api/v1/triggers/{ctx.trig.trigger_id}/history")
        eq(r.status_code, 200, f"history: {r.text[:200]}")
        rows = r.json()
        check(isinstance(rows, list) and len(rows) == 1, f"one firing: {rows}")
        eq(rows[0].get("trigger_id"), ctx.trig.trigger_id, "trigger_id")
        eq(rows[0].get("outcome"), "created", "outcome")
        check(rows[0].get("intent_id"), "created intent named")
        eq(http.get(f"/api/v1/triggers/{uuid.uuid4()}/history").status_code, 404, "")
