"""Scenario steps for RFC-0012 to RFC-0014 on either reference client.

Tasks and plans (RFC-0012), coordinator leases, decision records and guardrails
(RFC-0013), vaults, credentials, grants, invocation records and the tool proxy
(RFC-0014). The proxy calls a stub upstream on 127.0.0.1 (:class:`ToolStub`); the
server must be started with that host allowed (``OPENINTENT_TOOL_ALLOW_HOSTS``).
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ref_client_harness import Ctx, check, eq, ids, is_naive_recent, raises, resolve, step

from openintent.exceptions import (
    ConflictError,
    LeaseConflictError,
    NotFoundError,
    OpenIntentError,
)
from openintent.models import (
    CoordinatorStatus,
    DecisionType,
    GrantSource,
    GrantStatus,
    GuardrailExceedAction,
    PlanState,
    TaskStatus,
)

BUG_ENUM_ONLY = (
    "{}: the reference client sends `{}.value`, so a plain string raises AttributeError "
    "before any request is sent"
)
STUB_SECRET = "sk_stub_S3CRET_value"


# -- stub upstream for the tool proxy -------------------------------------------------


class ToolStub:
    """A tiny HTTP upstream on 127.0.0.1 that records what the tool proxy sent it."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                stub.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
                if self.path.startswith("/v1/boom"):
                    code, reply = 500, {"oops": True}
                elif self.path.startswith("/v1/refuse"):
                    code, reply = 401, {"why": "bad key"}
                else:
                    code = 200
                    reply = {
                        "method": self.command,
                        "path": self.path,
                        "token": "upstream-token-value",
                        "nested": {"password": "hunter2", "ok": 1},
                    }
                data = json.dumps(reply).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _answer  # http.server's handler names
            do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ToolStub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


async def status_of(call: Any, what: str) -> int:
    """The HTTP status of the ``OpenIntentError`` that ``call`` raises."""
    exc = await raises(OpenIntentError, call, what)
    assert isinstance(exc, OpenIntentError)
    return int(exc.status_code or 0)


def detail_of(exc_response: Any) -> Any:
    return exc_response.get("detail") if isinstance(exc_response, dict) else exc_response


async def event_types(cli: Any, intent_id: str) -> list[str]:
    """Every event the intent logged, parsed by the reference client.

    rfc-0012 §7 / rfc-0013 §11: any event type the server writes must be a member of
    the 0.17.0 client enum, or ``get_events`` raises ``ValueError`` here.
    """
    return [e.event_type.value for e in await resolve(cli.get_events(intent_id))]


# -- RFC-0012 -------------------------------------------------------------------------


async def tasks_plans_steps(cli: Any, label: str, ctx: Ctx) -> None:
    agent = cli.agent_id

    def key(method: str) -> str:
        return f"{label}.{method}"

    with step(key("create_task")):
        work = await resolve(cli.create_intent(f"{label} planned work", "tasks and plans"))
        ctx.planned = work
        first = await resolve(
            cli.create_task(
                work.id,
                "fetch",
                description="fetch the data",
                priority="high",
                input={"url": "https://data.example/x"},
                capabilities_required=["fetch"],
                max_attempts=2,
                timeout_seconds=600,
                requires_tools=[{"service": "stripe", "scopes": ["charges.read"]}],
                memory_policy={"archive_on_completion": True},
                metadata={"owner": "ops"},
            )
        )
        eq(first.intent_id, work.id, "intent_id")
        eq((first.name, first.description), ("fetch", "fetch the data"), "name, description")
        eq(first.status, TaskStatus.PENDING, "status starts pending")
        eq((first.version, first.attempt, first.max_attempts), (1, 1, 2), "version/attempt")
        eq(first.priority, "high", "priority")
        eq(first.input, {"url": "https://data.example/x"}, "input")
        eq(first.capabilities_required, ["fetch"], "capabilities_required")
        eq(first.timeout_seconds, 600, "timeout_seconds")
        eq(first.permissions, "inherit", "permissions default")
        eq([t.service for t in first.requires_tools], ["stripe"], "requires_tools")
        eq(first.requires_tools[0].scopes, ["charges.read"], "requires_tools scopes")
        # rfc-0012 §10.1/§11: the client reads `metadata`; returning it next to
        # `task_metadata` makes the round trip work.
        eq(first.metadata, {"owner": "ops"}, "metadata round trip")
        eq((first.output, first.assigned_agent, first.error), (None, None, None), "unset")
        is_naive_recent(first.created_at, "created_at")
        second = await resolve(cli.create_task(work.id, "analyze", depends_on=[first.id]))
        eq(second.depends_on, [first.id], "depends_on")
        eq(second.status, TaskStatus.PENDING, "dependent task waits")
        ctx.first, ctx.second = first, second
        await raises(NotFoundError, lambda: cli.create_task(str(uuid.uuid4()), "x"), "404")
        # rfc-0012 §8/§11: a requires_tools item without `service` crashes the client's
        # parser, so the server must refuse it (422) instead of storing it.
        code = await status_of(
            lambda: cli.create_task(work.id, "bad", requires_tools=[{"scopes": ["x"]}]),
            "requires_tools without service",
        )
        eq(code, 422, "requires_tools without service")

    with step(key("get_task")):
        got = await resolve(cli.get_task(ctx.first.id))
        eq((got.id, got.name, got.version), (ctx.first.id, "fetch", 1), "round trip")
        eq(got.metadata, {"owner": "ops"}, "metadata")
        eq(got.created_at, ctx.first.created_at, "created_at")
        # RFC-0012 §3.1: `blocks` is the reverse of `depends_on`.
        eq(got.blocks, [ctx.second.id], "blocks computed")
        await raises(NotFoundError, lambda: cli.get_task(str(uuid.uuid4())), "404")

    with step(key("list_tasks")):
        listed = await resolve(cli.list_tasks(ctx.planned.id))
        eq(sorted(ids(listed)), sorted([ctx.first.id, ctx.second.id]), "tasks of the intent")
        pending = await resolve(cli.list_tasks(ctx.planned.id, status=TaskStatus.PENDING))
        eq(sorted(ids(pending)), sorted(ids(listed)), "status filter")
        eq(await resolve(cli.list_tasks(ctx.planned.id, status=TaskStatus.RUNNING)), [], "none")
        page = await resolve(cli.list_tasks(ctx.planned.id, limit=1, offset=1))
        eq(len(page), 1, "limit")
        check(page[0].id != listed[0].id, "offset skips the first task")
        eq(await resolve(cli.list_tasks(str(uuid.uuid4()))), [], "unknown intent -> []")

    with step(key("list_tasks[plain str status]")) as s:
        await s.client_bug(
            lambda: cli.list_tasks(ctx.planned.id, status="pending"),
            AttributeError,
            "'str' object has no attribute 'value'",
            BUG_ENUM_ONLY.format("rfc-0012 §8 list_tasks", "status"),
        )

    with step(key("update_task")):
        # rfc-0012 §11: reference-era callers jump pending -> running -> completed.
        running = await resolve(
            cli.update_task(ctx.first.id, 1, status="running", assigned_agent=agent)
        )
        eq((running.status, running.version), (TaskStatus.RUNNING, 2), "running, version 2")
        eq(running.assigned_agent, agent, "assigned_agent")
        stale = await raises(
            ConflictError,
            lambda: cli.update_task(ctx.first.id, 1, status="completed"),
            "stale If-Match is a version conflict, not a lease conflict",
        )
        eq(stale.status_code, 409, "status_code")
        done = await resolve(
            cli.update_task(ctx.first.id, 2, status="completed", output={"rows": 3})
        )
        eq((done.status, done.version), (TaskStatus.COMPLETED, 3), "completed, version 3")
        eq(done.output, {"rows": 3}, "output")
        # RFC-0012 §6.2 (rfc-0012 §10.8: never set by the reference): transition times.
        is_naive_recent(done.started_at, "started_at")
        is_naive_recent(done.completed_at, "completed_at")
        check(done.started_at <= done.completed_at, "started before completed")
        # RFC-0012 §6.2: completing the only dependency makes the dependent task ready.
        eq((await resolve(cli.get_task(ctx.second.id))).status, TaskStatus.READY, "ready")
        bogus = await status_of(
            lambda: cli.update_task(ctx.second.id, 2, status="banana"), "non-enum status"
        )
        eq(bogus, 422, "non-enum status refused (rfc-0012 §11)")
        missing = await raises(
            OpenIntentError, lambda: cli.update_task(str(uuid.uuid4()), 1, status="ready"), ""
        )
        check(
            isinstance(missing, (NotFoundError, ConflictError)),
            f"unknown id: 404 or 409 (rfc-0012 §11), got {missing!r}",
        )
        logged = await event_types(cli, ctx.planned.id)
        check({"task.completed", "task.ready"} <= set(logged), f"task events: {logged}")

    with step(key("create_plan")):
        checkpoint = {
            "id": "cp1",
            "name": "review",
            "after_task": ctx.first.id,
            "requires_approval": True,
            "approvers": [agent],
            "timeout_hours": 24,
            "on_timeout": "escalate",
        }
        condition = {"id": "c1", "task_id": ctx.second.id, "when": "rows > 0"}
        plan = await resolve(
            cli.create_plan(
                ctx.planned.id,
                tasks=[ctx.first.id, ctx.second.id],
                checkpoints=[checkpoint],
                conditions=[condition],
                on_failure="notify",
                metadata={"k": "v"},
            )
        )
        eq(plan.intent_id, ctx.planned.id, "intent_id")
        eq((plan.state, plan.version), (PlanState.DRAFT, 1), "draft, version 1")
        eq(plan.tasks, [ctx.first.id, ctx.second.id], "tasks in order")
        eq([c.id for c in plan.checkpoints], ["cp1"], "checkpoints")
        eq(plan.checkpoints[0].after_task, ctx.first.id, "after_task")
        eq(plan.checkpoints[0].approvers, [agent], "approvers")
        eq(plan.checkpoints[0].timeout_hours, 24, "timeout_hours")
        eq([(c.id, c.when) for c in plan.conditions], [("c1", "rows > 0")], "conditions")
        eq(plan.on_failure.value, "notify", "on_failure")
        eq(plan.metadata, {"k": "v"}, "metadata round trip (rfc-0012 §11)")
        empty = await resolve(cli.create_plan(ctx.planned.id))
        eq(empty.tasks, [], "no tasks")
        ctx.plan, ctx.empty_plan = plan, empty
        await raises(NotFoundError, lambda: cli.create_plan(str(uuid.uuid4())), "404")
        code = await status_of(
            lambda: cli.create_plan(ctx.planned.id, on_failure="explode"), "bad on_failure"
        )
        eq(code, 422, "non-enum on_failure refused (rfc-0012 §11)")

    with step(key("get_plan")):
        got_plan = await resolve(cli.get_plan(ctx.plan.id))
        eq((got_plan.id, got_plan.version), (ctx.plan.id, 1), "round trip")
        eq(got_plan.tasks, ctx.plan.tasks, "tasks")
        eq(got_plan.checkpoints[0].name, "review", "checkpoint")
        await raises(NotFoundError, lambda: cli.get_plan(str(uuid.uuid4())), "404")

    with step(key("list_plans")):
        plans = await resolve(cli.list_plans(ctx.planned.id))
        eq(sorted(ids(plans)), sorted([ctx.plan.id, ctx.empty_plan.id]), "plans of the intent")
        eq(await resolve(cli.list_plans(str(uuid.uuid4()))), [], "unknown intent -> []")

    with step(key("update_plan")):
        moved = await resolve(
            cli.update_plan(ctx.empty_plan.id, 1, tasks=[ctx.second.id], checkpoints=[])
        )
        eq((moved.version, moved.tasks), (2, [ctx.second.id]), "tasks replaced, version 2")
        active = await resolve(cli.update_plan(ctx.empty_plan.id, 2, state="active"))
        eq((active.state, active.version), (PlanState.ACTIVE, 3), "activated")
        await raises(
            ConflictError, lambda: cli.update_plan(ctx.empty_plan.id, 1, state="paused"), "stale"
        )
        eq((await resolve(cli.get_plan(ctx.empty_plan.id))).state, PlanState.ACTIVE, "kept")
        logged = await event_types(cli, ctx.planned.id)
        check("plan.activated" in logged, f"plan events: {logged}")


# -- RFC-0013 -------------------------------------------------------------------------


async def coordinator_steps(cli: Any, label: str, ctx: Ctx) -> None:
    agent = cli.agent_id

    def key(method: str) -> str:
        return f"{label}.{method}"

    with step(key("create_coordinator_lease")):
        governed = await resolve(cli.create_intent(f"{label} coordinated", ""))
        ctx.governed = governed
        guardrails = {
            "max_budget_usd": 50,
            "on_exceed": "pause",
            "max_tasks_per_plan": 2,
            "allowed_capabilities": ["search"],
            "requires_plan_review": False,
        }
        lease = await resolve(
            cli.create_coordinator_lease(
                agent,
                governed.id,
                supervisor_id="human-supervisor",
                coordinator_type="llm",
                guardrails=guardrails,
                heartbeat_interval_seconds=30,
                metadata={"team": "a"},
            )
        )
        check(lease.id, "id")
        eq((lease.agent_id, lease.intent_id), (agent, governed.id), "agent, intent")
        eq(lease.supervisor_id, "human-supervisor", "supervisor_id")
        eq(lease.status, CoordinatorStatus.ACTIVE, "status")
        eq(lease.heartbeat_interval_seconds, 30, "heartbeat_interval_seconds")
        eq(lease.coordinator_type.value, "llm", "coordinator_type")
        eq(lease.scope.value, "intent", "scope")
        g = lease.guardrails
        check(g is not None, "guardrails parsed")
        eq((g.max_budget_usd, g.on_exceed), (50, GuardrailExceedAction.PAUSE), "budget")
        eq((g.max_tasks_per_plan, g.allowed_capabilities), (2, ["search"]), "limits")
        eq(lease.metadata, {"team": "a"}, "metadata round trip (rfc-0013 §11)")
        is_naive_recent(lease.granted_at, "granted_at")
        ctx.coord = lease
        # RFC-0013: one coordinator per intent; the 409 names the lease, so the
        # reference client raises LeaseConflictError (rfc-0013 §8 reminder).
        clash = await raises(
            LeaseConflictError,
            lambda: cli.create_coordinator_lease(f"{agent}-rival", governed.id),
            "second coordinator on the intent",
        )
        eq(clash.status_code, 409, "status_code")
        code = await status_of(
            lambda: cli.create_coordinator_lease(agent, coordinator_type="robot"),
            "non-enum coordinator_type",
        )
        eq(code, 422, "non-enum coordinator_type refused (rfc-0013 §11)")

    with step(key("get_coordinator_lease")):
        got = await resolve(cli.get_coordinator_lease(ctx.coord.id))
        eq((got.id, got.agent_id), (ctx.coord.id, agent), "round trip")
        eq(got.guardrails.max_tasks_per_plan, 2, "guardrails kept")
        eq(got.metadata, {"team": "a"}, "metadata")
        await raises(NotFoundError, lambda: cli.get_coordinator_lease(str(uuid.uuid4())), "404")

    with step(key("list_coordinator_leases")):
        listed = await resolve(cli.list_coordinator_leases(ctx.governed.id))
        eq(ids(listed), [ctx.coord.id], "leases of the intent")
        # sdk.md 8.13: without intent_id the client answers [] without any request.
        eq(await resolve(cli.list_coordinator_leases()), [], "no intent -> []")
        eq(await resolve(cli.list_coordinator_leases(str(uuid.uuid4()))), [], "unknown -> []")

    with step(key("coordinator_heartbeat")):
        beat = await resolve(cli.coordinator_heartbeat(ctx.coord.id))
        eq(beat.get("status"), "ok", "status")
        due = datetime.fromisoformat(beat["next_heartbeat_at"])
        left = due - datetime.utcnow()
        check(timedelta(seconds=20) < left <= timedelta(seconds=31), f"now + 30 s: {due}")
        after = await resolve(cli.get_coordinator_lease(ctx.coord.id))
        is_naive_recent(after.last_heartbeat, "last_heartbeat set")
        await raises(NotFoundError, lambda: cli.coordinator_heartbeat(str(uuid.uuid4())), "404")

    with step(key("create_coordinator_lease[guardrails enforced]")):
        # RFC-0013: the live coordinator's guardrails bound the plans and tasks written
        # on its intent (403 guardrail_violation).
        three = [(await resolve(cli.create_task(ctx.governed.id, name))).id for name in "abc"]
        too_big = await raises(
            OpenIntentError,
            lambda: cli.create_plan(ctx.governed.id, tasks=three),
            "plan over max_tasks_per_plan",
        )
        eq(too_big.status_code, 403, "status_code")
        eq(detail_of(too_big.response).get("rule"), "max_tasks_per_plan", "rule")
        eq(detail_of(too_big.response).get("error"), "guardrail_violation", "error")
        fine = await resolve(cli.create_plan(ctx.governed.id, tasks=three[:2]))
        eq(fine.tasks, three[:2], "plan within the limit")
        refused = await raises(
            OpenIntentError,
            lambda: cli.create_task(ctx.governed.id, "x", capabilities_required=["deploy"]),
            "capability outside allowed_capabilities",
        )
        eq(refused.status_code, 403, "status_code")
        eq(detail_of(refused.response).get("rule"), "allowed_capabilities", "rule")
        allowed = await resolve(
            cli.create_task(ctx.governed.id, "y", capabilities_required=["search"])
        )
        eq(allowed.capabilities_required, ["search"], "allowed capability")

    with step(key("create_decision_record")):
        record = await resolve(
            cli.create_decision_record(
                ctx.coord.id,
                ctx.governed.id,
                DecisionType.PLAN_CREATED,
                "made a plan",
                "two tasks fit",
                alternatives_considered=[{"description": "one", "rejected_reason": "slow"}],
                confidence=0.8,
            )
        )
        check(record.get("id"), f"id: {record}")
        eq(record.get("coordinator_id"), ctx.coord.id, "coordinator_id")
        eq(record.get("intent_id"), ctx.governed.id, "intent_id")
        eq(record.get("decision_type"), "plan_created", "decision_type")
        eq((record.get("summary"), record.get("rationale")), ("made a plan", "two tasks fit"), "")
        eq(record.get("confidence"), 0.8, "confidence")
        eq(len(record.get("alternatives_considered") or []), 1, "alternatives_considered")
        is_naive_recent(datetime.fromisoformat(record["timestamp"]), "timestamp")
        second = await resolve(
            cli.create_decision_record(
                ctx.coord.id, ctx.governed.id, DecisionType.TASK_ASSIGNED, "assigned", "fit"
            )
        )
        ctx.decision_ids = [second["id"], record["id"]]  # newest first
        logged = await event_types(cli, ctx.governed.id)
        check("coordinator.decision" in logged, f"decision logged: {logged}")

    with step(key("create_decision_record[plain str decision_type]")) as s:
        await s.client_bug(
            lambda: cli.create_decision_record(
                ctx.coord.id, ctx.governed.id, "plan_created", "", ""
            ),
            AttributeError,
            "'str' object has no attribute 'value'",
            BUG_ENUM_ONLY.format("rfc-0013 §8 create_decision_record", "decision_type"),
        )

    with step(key("list_decision_records")):
        # rfc-0013 §11: serving …/coordinator-decisions makes this client method work
        # (the reference server answers 404 there).
        records = await resolve(cli.list_decision_records(ctx.governed.id))
        eq([r["id"] for r in records], ctx.decision_ids, "records, newest first")
        eq(len(await resolve(cli.list_decision_records(ctx.governed.id, limit=1))), 1, "limit")


# -- RFC-0014 -------------------------------------------------------------------------


async def vault_tool_steps(cli: Any, label: str, ctx: Ctx) -> None:
    agent = cli.agent_id

    def key(method: str) -> str:
        return f"{label}.{method}"

    with step(key("create_vault")):
        vault = await resolve(cli.create_vault(agent, f"{label} vault"))
        check(vault.get("id"), f"id: {vault}")
        eq((vault.get("owner_id"), vault.get("name")), (agent, f"{label} vault"), "fields")
        is_naive_recent(datetime.fromisoformat(vault["created_at"]), "created_at")
        ctx.vault = vault

    with step(key("get_vault")):
        got = await resolve(cli.get_vault(ctx.vault["id"]))
        eq((got.get("id"), got.get("name")), (ctx.vault["id"], ctx.vault["name"]), "round trip")
        await raises(NotFoundError, lambda: cli.get_vault(str(uuid.uuid4())), "404")

    with step(key("create_credential")):
        cred = await resolve(
            cli.create_credential(
                ctx.vault["id"],
                "stripe",
                "stripe-prod",
                scopes_available=["charges.read", "charges.create"],
                metadata={"environment": "prod", "api_key": "sk_live_SECRET123"},
            )
        )
        eq(cred.get("vault_id"), ctx.vault["id"], "vault_id")
        eq((cred.get("service"), cred.get("label")), ("stripe", "stripe-prod"), "fields")
        eq(cred.get("auth_type"), "api_key", "auth_type default")
        eq(cred.get("scopes_available"), ["charges.read", "charges.create"], "scopes")
        eq(cred.get("status"), "active", "status")
        eq(cred.get("credential_metadata", {}).get("environment"), "prod", "metadata kept")
        # rfc-0014 §6.6/§11: secret material is never returned.
        check("sk_live_SECRET123" not in json.dumps(cred), f"secret echoed: {cred}")
        ctx.cred = cred
        await raises(
            NotFoundError, lambda: cli.create_credential(str(uuid.uuid4()), "s", "l"), "404"
        )

    with step(key("get_credential")):
        got = await resolve(cli.get_credential(ctx.cred["id"]))
        eq((got.get("id"), got.get("service")), (ctx.cred["id"], "stripe"), "round trip")
        check("sk_live_SECRET123" not in json.dumps(got), f"secret echoed: {got}")
        await raises(NotFoundError, lambda: cli.get_credential(str(uuid.uuid4())), "404")

    with step(key("create_tool_grant")):
        expires = (datetime.utcnow() + timedelta(days=30)).replace(microsecond=0)
        grant = await resolve(
            cli.create_tool_grant(
                ctx.cred["id"],
                agent,
                "user-1",
                scopes=["charges.read"],
                constraints={"max_invocations_per_hour": 50},
                expires_at=expires.isoformat(),
            )
        )
        check(grant.id, "id")
        eq((grant.credential_id, grant.agent_id), (ctx.cred["id"], agent), "credential, agent")
        eq(grant.granted_by, "user-1", "granted_by")
        eq(grant.scopes, ["charges.read"], "scopes")
        eq(grant.constraints.max_invocations_per_hour, 50, "constraints")
        eq((grant.source, grant.status), (GrantSource.DIRECT, GrantStatus.ACTIVE), "source")
        eq(grant.expires_at, expires, "expires_at")
        is_naive_recent(grant.created_at, "created_at")
        ctx.grant = grant
        await raises(
            NotFoundError,
            lambda: cli.create_tool_grant(str(uuid.uuid4()), agent, "user-1"),
            "unknown credential",
        )

    with step(key("get_tool_grant")):
        got = await resolve(cli.get_tool_grant(ctx.grant.id))
        eq(
            (got.id, got.scopes, got.status),
            (ctx.grant.id, ["charges.read"], GrantStatus.ACTIVE),
            "",
        )
        await raises(NotFoundError, lambda: cli.get_tool_grant(str(uuid.uuid4())), "404")

    with step(key("list_agent_grants")):
        mine = await resolve(cli.list_agent_grants(agent))
        check(ctx.grant.id in ids(mine), f"grant listed: {ids(mine)}")
        check(all(g.agent_id == agent for g in mine), "only this agent's grants")
        eq(await resolve(cli.list_agent_grants(f"nobody-{uuid.uuid4()}")), [], "unknown -> []")

    with step(key("record_invocation")):
        rec = await resolve(
            cli.record_invocation(
                ctx.grant.id,
                "stripe",
                "charges.read",
                agent,
                parameters={"charge_id": "ch_1"},
                result={"amount": 5},
                duration_ms=12,
            )
        )
        check(rec.get("id"), f"id: {rec}")
        eq((rec.get("grant_id"), rec.get("tool")), (ctx.grant.id, "charges.read"), "fields")
        eq(rec.get("status"), "success", "status default")
        eq((rec.get("result"), rec.get("duration_ms")), ({"amount": 5}, 12), "result")
        ctx.manual = rec
        await raises(
            NotFoundError,
            lambda: cli.record_invocation(str(uuid.uuid4()), "s", "t", agent),
            "unknown grant",
        )

    with step(key("invoke_tool")):
        # Placeholder execution: the credential has no base_url (rfc-0014 §6.3).
        out = await resolve(cli.invoke_tool("charges.read", agent, {"charge_id": "ch_1"}))
        eq((out.get("tool_name"), out.get("status")), ("charges.read", "success"), "status")
        eq(out.get("error"), None, "error")
        check(out.get("invocation_id"), "invocation_id")
        eq(out.get("result", {}).get("service"), "stripe", "placeholder names the service")
        eq(out.get("result", {}).get("parameters"), {"charge_id": "ch_1"}, "parameters")
        denied = await status_of(
            lambda: cli.invoke_tool("charges.create", agent, {}), "tool outside the grant"
        )
        eq(denied, 403, "no grant for the tool")
        # rfc-0014 §6.2 step 7: max_invocations_per_hour -> 429.
        limited = await resolve(
            cli.create_tool_grant(
                ctx.cred["id"],
                agent,
                agent,
                scopes=["charges.create"],
                constraints={"max_invocations_per_hour": 1},
            )
        )
        eq(
            (await resolve(cli.invoke_tool("charges.create", agent, {}))).get("status"),
            "success",
            "",
        )
        code = await status_of(lambda: cli.invoke_tool("charges.create", agent, {}), "over limit")
        eq(code, 429, "rate limit")
        await resolve(cli.revoke_grant(limited.id))
        await _invoke_through_stub(cli, agent, ctx)

    with step(key("list_invocations")):
        history = await resolve(cli.list_invocations(ctx.grant.id))
        check(len(history) >= 2, f"manual record and proxy call: {history}")
        eq(history[-1].get("id"), ctx.manual["id"], "oldest last (newest first)")
        eq(history[0].get("tool"), "charges.read", "proxy call recorded")
        eq(len(await resolve(cli.list_invocations(ctx.grant.id, limit=1))), 1, "limit")
        stub_calls = await resolve(cli.list_invocations(ctx.stub_grant.id))
        eq(
            [c.get("status") for c in stub_calls],
            ctx.stub_statuses,
            "stub calls audited once each, newest first",
        )
        eq(await resolve(cli.list_invocations(str(uuid.uuid4()))), [], "unknown grant -> []")

    with step(key("revoke_grant")):
        out = await resolve(cli.revoke_grant(ctx.grant.id))
        eq((out.get("status"), out.get("grant_id")), ("revoked", ctx.grant.id), "reply")
        after = await resolve(cli.get_tool_grant(ctx.grant.id))
        eq(after.status, GrantStatus.REVOKED, "status")
        is_naive_recent(after.revoked_at, "revoked_at")
        eq(
            await status_of(lambda: cli.invoke_tool("charges.read", agent, {}), "revoked"),
            403,
            "a revoked grant no longer authorises the tool",
        )
        await raises(NotFoundError, lambda: cli.revoke_grant(str(uuid.uuid4())), "404")


async def _invoke_through_stub(cli: Any, agent: str, ctx: Ctx) -> None:
    """Real execution through the REST adapter against a stub on 127.0.0.1."""
    with ToolStub() as stub:
        cred = await resolve(
            cli.create_credential(
                ctx.vault["id"],
                "search-api",
                "search",
                auth_type="bearer_token",
                scopes_available=["search", "boom", "refuse"],
                metadata={
                    "base_url": stub.url,
                    "api_key": STUB_SECRET,
                    "endpoints": {
                        "search": {"path": "/v1/search", "method": "GET"},
                        "boom": {"path": "/v1/boom", "method": "POST"},
                        "refuse": {"path": "/v1/refuse", "method": "POST"},
                    },
                },
            )
        )
        check(STUB_SECRET not in json.dumps(cred), "secret echoed by create_credential")
        grant = await resolve(
            cli.create_tool_grant(cred["id"], agent, agent, scopes=["search", "boom", "refuse"])
        )
        ctx.stub_grant = grant
        out = await resolve(cli.invoke_tool("search", agent, {"q": "hello"}))
        eq(out.get("status"), "success", f"stub call: {out}")
        eq(len(stub.requests), 1, "one upstream request")
        sent = stub.requests[0]
        eq((sent["method"], sent["path"]), ("GET", "/v1/search?q=hello"), "GET with query")
        # bearer_token credential: "Bearer <secret>" (rfc-0014 §10.7 fixed).
        eq(sent["headers"].get("authorization"), f"Bearer {STUB_SECRET}", "secret injected")
        result = out.get("result") or {}
        eq(result.get("path"), "/v1/search?q=hello", "upstream body returned")
        eq(result.get("token"), "[REDACTED]", "secret-looking key redacted (rfc-0014 §6.6)")
        eq(result.get("nested"), {"password": "[REDACTED]", "ok": 1}, "nested redaction")
        check(STUB_SECRET not in json.dumps(out), "secret never returned")
        # rfc-0014 §6.5: upstream 5xx -> 502; upstream 4xx -> 200 with status "error".
        eq(await status_of(lambda: cli.invoke_tool("boom", agent, {}), "upstream 500"), 502, "")
        refused = await resolve(cli.invoke_tool("refuse", agent, {"x": 1}))
        eq(refused.get("status"), "error", "upstream 401")
        check("401" in str(refused.get("error")), f"error names the status: {refused}")
        eq(len(stub.requests), 3, "three upstream requests in all")
        # RFC-0014: an idempotency_key replays the first outcome without a second call.
        first = await resolve(cli.invoke_tool("search", agent, {"q": "once"}, idempotency_key="k1"))
        replay = await resolve(
            cli.invoke_tool("search", agent, {"q": "once"}, idempotency_key="k1")
        )
        eq(replay.get("invocation_id"), first.get("invocation_id"), "same invocation")
        eq(len(stub.requests), 4, "the replay did not reach the upstream")
        ctx.stub_statuses = ["success", "error", "error", "success"]  # newest first
