"""RFC-0013 over HTTP: coordinator leases with the reference's shapes, one coordinator
per intent, heartbeats, expiry and failover (real time and an injected clock), pause,
handoff, replace and release, guardrails enforced against recorded costs, tasks and
failures, decision records, bad input, and one holder among concurrent acquisitions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import httpx
import pytest

from openintent.core.converter import utcnow
from openintent.server.testing import DEV_KEY, ServerProcess

API = "/api/v1"
AUTH = {"X-API-Key": DEV_KEY}
LEASE_KEYS = {
    "id", "intent_id", "portfolio_id", "agent_id", "role", "supervisor_id", "coordinator_type",
    "scope", "status", "guardrails", "heartbeat_interval_seconds", "last_heartbeat", "granted_at",
    "expires_at", "version", "lease_metadata",
}  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def use_clock(client: Any) -> Clock:
    clock = Clock()
    services = client.app.state.services
    services.get("coordinators").clock = clock
    services.get("tasks").clock = clock
    return clock


def ok(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    return dict(r.json())


def intent(client: Any) -> str:
    return str(ok(client.post(f"{API}/intents", json={"title": "t"}))["id"])


def lease(client: Any, iid: str | None, agent: str = "coord-1", **body: Any) -> Any:
    payload = {"agent_id": agent, **body}
    if iid is not None:
        payload["intent_id"] = iid
    return client.post(f"{API}/coordinators", json=payload)


def get_lease(client: Any, lid: str) -> dict[str, Any]:
    return ok(client.get(f"{API}/coordinators/{lid}"))


def task(client: Any, iid: str, **body: Any) -> str:
    return str(ok(client.post(f"{API}/tasks", json={"intent_id": iid, "name": "t", **body}))["id"])


def events(client: Any, iid: str, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    log = client.get(f"{API}/intents/{iid}/events", params={"limit": 1000}).json()
    return [
        (e["event_type"], e["payload"]) for e in reversed(log) if e["event_type"].startswith(prefix)
    ]


def escalations(client: Any, iid: str) -> list[dict[str, Any]]:
    return list(client.get(f"{API}/escalations", params={"intent_id": iid}).json()["escalations"])


def cost(client: Any, iid: str, amount: float, unit: str = "usd") -> Any:
    body = {"agent_id": "a", "cost_type": "api_call", "amount": amount, "unit": unit}
    return client.post(f"{API}/intents/{iid}/costs", json=body)


# -- the reference's shapes -----------------------------------------------------------------


def test_create_matches_the_reference_shape(client: Any) -> None:
    iid = intent(client)
    created = ok(
        lease(
            client,
            iid,
            supervisor_id="human-1",
            guardrails={
                "max_budget_usd": 50,
                "max_tasks_per_plan": 20,
                "requires_plan_review": True,
                "tool_x": 1,
            },
            heartbeat_interval_seconds=30,
            expires_at="2030-01-01T00:00:00Z",
            metadata={"x": 1},
        )
    )
    assert LEASE_KEYS | {"metadata"} == set(created)
    assert (created["status"], created["version"], created["role"]) == ("active", 1, "coordinator")
    assert (created["coordinator_type"], created["scope"]) == ("llm", "intent")
    assert created["guardrails"] == {
        "max_budget_usd": 50.0,
        "max_tasks_per_plan": 20,
        "requires_plan_review": True,
        "tool_x": 1,
    }
    assert created["expires_at"] == "2030-01-01T00:00:00"
    assert created["lease_metadata"] == created["metadata"] == {"x": 1}
    assert created["last_heartbeat"] is None
    assert get_lease(client, created["id"]) == created
    assert client.get(f"{API}/intents/{iid}/coordinators").json() == [created]
    assert client.get(f"{API}/intents/nope/coordinators").json() == []
    assert client.get(f"{API}/coordinators/nope").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"agent_id": ""},
        {"agent_id": 5},
        {"agent_id": "a", "coordinator_type": "robot"},
        {"agent_id": "a", "scope": "galaxy"},
        {"agent_id": "a", "guardrails": {"on_exceed": "explode"}},
        {"agent_id": "a", "guardrails": {"max_budget_usd": "lots"}},
        {"agent_id": "a", "heartbeat_interval_seconds": 0},
        {"agent_id": "a", "expires_at": "2001-01-01T00:00:00"},
        {"agent_id": "a", "expires_at": "someday"},
        {"agent_id": "a", "scope": "portfolio"},
    ],
)
def test_bad_create_is_422_and_stores_nothing(client: Any, body: dict[str, Any]) -> None:
    iid = intent(client)
    r = client.post(f"{API}/coordinators", json={"intent_id": iid, **body})
    assert r.status_code == 422, r.text
    assert client.get(f"{API}/intents/{iid}/coordinators").json() == []


def test_unknown_intent_or_portfolio_is_404(client: Any) -> None:
    assert lease(client, "nope").status_code == 404
    assert (
        client.post(
            f"{API}/coordinators", json={"agent_id": "a", "portfolio_id": "nope"}
        ).status_code
        == 404
    )


def test_a_key_is_needed(anon: Any) -> None:
    assert anon.post(f"{API}/coordinators", json={"agent_id": "a"}).status_code == 401
    assert anon.post(f"{API}/coordinators/x/heartbeat").status_code == 401
    assert anon.post(f"{API}/decisions", json={}).status_code == 401


# -- one coordinator per intent -------------------------------------------------------------


def test_one_coordinator_per_intent(client: Any) -> None:
    iid = intent(client)
    first = ok(lease(client, iid))
    r = lease(client, iid, "coord-2")
    assert r.status_code == 409
    body = r.json()
    assert body["detail"] == "Coordinator lease already held for this intent"
    assert body["existing_lease"]["id"] == first["id"]
    assert [x["id"] for x in client.get(f"{API}/intents/{iid}/coordinators").json()] == [
        first["id"]
    ]
    ok(lease(client, intent(client), "coord-2"))  # another intent is another slot
    ok(lease(client, None, "free-1"))  # coordinating nothing conflicts with nothing
    ok(lease(client, None, "free-2"))
    assert ok(client.get(f"{API}/intents/{iid}/coordinator"))["id"] == first["id"]


def test_assign_and_release_through_the_intent(client: Any) -> None:
    iid = intent(client)
    assert client.get(f"{API}/intents/{iid}/coordinator").status_code == 404
    assigned = ok(
        client.post(f"{API}/intents/{iid}/coordinator", json={"agent_id": "c", "intent_id": "x"})
    )
    assert assigned["intent_id"] == iid
    released = ok(client.delete(f"{API}/intents/{iid}/coordinator"))
    assert (released["id"], released["status"]) == (assigned["id"], "completed")
    assert client.delete(f"{API}/intents/{iid}/coordinator").status_code == 404
    again = ok(lease(client, iid, "c2"))
    assert ok(client.delete(f"{API}/coordinators/{again['id']}"))["status"] == "completed"
    r = client.post(f"{API}/coordinators/{again['id']}/heartbeat")
    assert r.status_code == 409
    assert "lease" in r.text.lower()


# -- heartbeats, expiry, failover -----------------------------------------------------------


def test_heartbeat(client: Any) -> None:
    iid = intent(client)
    created = ok(lease(client, iid, heartbeat_interval_seconds=30))
    url = f"{API}/coordinators/{created['id']}/heartbeat"
    beat = ok(client.post(url))
    assert set(beat) == {"status", "next_heartbeat_at"}
    assert beat["status"] == "ok"
    after = get_lease(client, created["id"])
    assert after["last_heartbeat"] is not None
    gap = dt.datetime.fromisoformat(beat["next_heartbeat_at"]) - dt.datetime.fromisoformat(
        after["last_heartbeat"]
    )
    assert gap == dt.timedelta(seconds=30)
    report = {
        "active_tasks": 2,
        "pending_decisions": 1,
        "budget_used_usd": 1.5,
        "status_summary": "fine",
    }
    ok(client.post(url, json=report))
    assert get_lease(client, created["id"])["last_heartbeat_report"] == report
    assert client.post(url, json={"active_tasks": "two"}).status_code == 422
    assert client.post(f"{API}/coordinators/nope/heartbeat").status_code == 404


def test_expiry_in_real_time_then_another_coordinator_takes_over(client: Any) -> None:
    iid = intent(client)
    expires = (utcnow() + dt.timedelta(seconds=1)).isoformat()
    old = ok(lease(client, iid, expires_at=expires))
    assert lease(client, iid, "coord-2").status_code == 409
    time.sleep(1.2)
    assert get_lease(client, old["id"])["status"] == "completed"
    assert client.post(f"{API}/coordinators/{old['id']}/heartbeat").status_code == 409
    assert client.get(f"{API}/intents/{iid}/coordinator").status_code == 404
    new = ok(lease(client, iid, "coord-2"))
    assert get_lease(client, old["id"])["status"] == "completed"
    ((_, payload),) = events(client, iid, "coordinator.failed_over")
    assert (payload["from_lease_id"], payload["to_lease_id"], payload["reason"]) == (
        old["id"],
        new["id"],
        "lease_expired",
    )


def test_missed_heartbeats_in_real_time(client: Any) -> None:
    iid = intent(client)
    old = ok(lease(client, iid, heartbeat_interval_seconds=1))
    time.sleep(2.1)
    assert get_lease(client, old["id"])["status"] == "unresponsive"
    time.sleep(1.0)
    new = ok(lease(client, iid, "coord-2"))
    assert get_lease(client, old["id"])["status"] == "failed_over"
    assert get_lease(client, new["id"])["status"] == "active"
    ((_, payload),) = events(client, iid, "coordinator.failed_over")
    assert (payload["from_agent_id"], payload["to_agent_id"], payload["reason"]) == (
        "coord-1",
        "coord-2",
        "heartbeat_timeout",
    )


def test_failover_after_three_missed_intervals_with_an_injected_clock(client: Any) -> None:
    clock = use_clock(client)
    iid = intent(client)
    old = ok(lease(client, iid, heartbeat_interval_seconds=60))
    for _ in range(5):  # heartbeats keep it alive well past three intervals
        clock.advance(50)
        ok(client.post(f"{API}/coordinators/{old['id']}/heartbeat"))
    assert get_lease(client, old["id"])["status"] == "active"
    clock.advance(121)
    assert get_lease(client, old["id"])["status"] == "unresponsive"
    assert lease(client, iid, "coord-2").status_code == 409  # still within the grace
    ok(client.post(f"{API}/coordinators/{old['id']}/heartbeat"))  # and it may come back
    assert get_lease(client, old["id"])["status"] == "active"
    clock.advance(181)
    assert client.post(f"{API}/coordinators/{old['id']}/heartbeat").status_code == 409
    new = ok(lease(client, iid, "coord-2"))
    assert get_lease(client, old["id"])["status"] == "failed_over"
    assert ok(client.get(f"{API}/intents/{iid}/coordinator"))["id"] == new["id"]


def test_patching_the_interval_moves_the_deadlines(client: Any) -> None:
    clock = use_clock(client)
    iid = intent(client)
    created = ok(lease(client, iid, heartbeat_interval_seconds=60))
    url = f"{API}/coordinators/{created['id']}"
    assert client.patch(url, json={"heartbeat_interval_seconds": 10}).status_code == 428
    assert (
        client.patch(
            url, json={"heartbeat_interval_seconds": 10}, headers={"If-Match": "9"}
        ).status_code
        == 409
    )
    assert (
        client.patch(
            url, json={"heartbeat_interval_seconds": 0}, headers={"If-Match": "1"}
        ).status_code
        == 422
    )
    patched = ok(
        client.patch(
            url,
            json={"heartbeat_interval_seconds": 10, "supervisor_id": "boss"},
            headers={"If-Match": "1"},
        )
    )
    assert (
        patched["version"],
        patched["heartbeat_interval_seconds"],
        patched["supervisor_id"],
    ) == (2, 10, "boss")
    clock.advance(31)
    assert get_lease(client, created["id"])["status"] == "unresponsive"
    ok(lease(client, iid, "coord-2"))


# -- pause, handoff, replace ----------------------------------------------------------------


def test_a_paused_coordinator_holds_new_work(client: Any) -> None:
    iid = intent(client)
    tid = task(client, iid)
    created = ok(lease(client, iid))
    url = f"{API}/coordinators/{created['id']}"
    paused = ok(client.post(f"{url}/pause", json={"reason": "review"}))
    assert (paused["status"], paused["version"]) == ("paused", 2)
    assert client.post(f"{url}/pause").status_code == 409
    r = client.post(f"{API}/tasks/{tid}/claim", json={})
    assert r.status_code == 409
    assert "paused" in r.json()["detail"]
    assert ok(client.post(f"{url}/resume"))["status"] == "active"
    ok(client.post(f"{API}/tasks/{tid}/claim", json={}))
    assert [k for k, _ in events(client, iid, "coordinator.")] == [
        "coordinator.paused",
        "coordinator.resumed",
    ]


def test_handoff_passes_the_intent_on_with_its_terms(client: Any) -> None:
    iid = intent(client)
    old = ok(lease(client, iid, guardrails={"max_concurrent_tasks": 2}, supervisor_id="boss"))
    new = ok(
        client.post(
            f"{API}/coordinators/{old['id']}/handoff",
            json={"to_agent_id": "coord-2", "state_summary": {"step": 3}},
        )
    )
    assert (new["agent_id"], new["guardrails"], new["supervisor_id"]) == (
        "coord-2",
        {"max_concurrent_tasks": 2},
        "boss",
    )
    assert get_lease(client, old["id"])["status"] == "completed"
    assert client.post(f"{API}/coordinators/{old['id']}/heartbeat").status_code == 409
    ((_, payload),) = events(client, iid, "coordinator.handoff")
    assert payload["state_summary"] == {"step": 3}
    assert payload["to_lease_id"] == new["id"]
    assert client.post(f"{API}/coordinators/{new['id']}/handoff", json={}).status_code == 422


def test_a_supervisor_replaces_an_unresponsive_coordinator(client: Any) -> None:
    clock = use_clock(client)
    iid = intent(client)
    old = ok(lease(client, iid, heartbeat_interval_seconds=10))
    clock.advance(25)
    new = ok(
        client.post(
            f"{API}/coordinators/{old['id']}/replace",
            json={"agent_id": "coord-2", "reason": "silent"},
        )
    )
    assert get_lease(client, old["id"])["status"] == "failed_over"
    assert get_lease(client, new["id"])["status"] == "active"
    ((_, payload),) = events(client, iid, "coordinator.replaced")
    assert (payload["from_lease_id"], payload["reason"]) == (old["id"], "silent")


# -- guardrails -----------------------------------------------------------------------------


def test_guardrails_endpoints(client: Any) -> None:
    iid = intent(client)
    created = ok(lease(client, iid, guardrails={"max_budget_usd": 10, "custom": "kept"}))
    url = f"{API}/coordinators/{created['id']}/guardrails"
    assert ok(client.get(url)) == {"max_budget_usd": 10.0, "custom": "kept"}
    merged = ok(client.patch(url, json={"max_concurrent_tasks": 4, "custom": None}))
    assert merged == {"max_budget_usd": 10.0, "max_concurrent_tasks": 4}
    assert client.patch(url, json={"on_exceed": "explode"}).status_code == 422
    assert client.patch(url, json=[1]).status_code == 422
    assert ok(client.get(url)) == merged
    ((_, payload),) = events(client, iid, "coordinator.guardrails_updated")
    assert payload["changed"] == ["custom", "max_concurrent_tasks"]
    ok(cost(client, iid, 9))
    status = ok(client.get(f"{url}/status"))
    assert (status["budget_state"], status["spent_usd"], status["budget_percentage"]) == (
        "warning",
        9.0,
        90.0,
    )
    assert (
        status["max_concurrent_tasks"],
        status["active_tasks"],
        status["recorded_failures"],
    ) == (4, 0, 0)


def test_budget_ceiling_pauses_escalates_and_holds_work(client: Any) -> None:
    iid = intent(client)
    tid = task(client, iid)
    created = ok(
        lease(client, iid, guardrails={"max_budget_usd": 10, "on_exceed": "pause_and_escalate"})
    )
    ok(cost(client, iid, 6))
    ok(cost(client, iid, 1000, "tokens"))  # not money
    ok(client.post(f"{API}/tasks/{tid}/claim", json={}))
    ok(cost(client, iid, 600, "cents"))  # crosses 10 USD: stored, then the guardrail acts
    assert len(client.get(f"{API}/intents/{iid}/costs").json()) == 3
    assert get_lease(client, created["id"])["status"] == "paused"
    ((_, paused),) = events(client, iid, "coordinator.paused")
    assert (paused["reason"], paused["spent_usd"]) == ("guardrail:max_budget_usd", 12.0)
    deadline = time.monotonic() + 5
    while not escalations(client, iid) and time.monotonic() < deadline:
        time.sleep(0.05)
    (esc,) = escalations(client, iid)
    assert (esc["escalated_by"], esc["context"]["guardrail"]) == ("coord-1", "max_budget_usd")
    other = task(client, iid)
    assert client.post(f"{API}/tasks/{other}/claim", json={}).status_code == 409  # paused
    ok(client.post(f"{API}/coordinators/{created['id']}/resume"))
    r = client.post(f"{API}/tasks/{other}/claim", json={})
    assert r.status_code == 403
    assert r.json()["detail"]["error"] == "guardrail_violation"
    assert r.json()["detail"]["rule"] == "max_budget_usd"
    ok(client.patch(f"{API}/coordinators/{created['id']}/guardrails", json={"max_budget_usd": 20}))
    ok(client.post(f"{API}/tasks/{other}/claim", json={}))
    ok(cost(client, iid, 1))
    assert len(escalations(client, iid)) == 1  # already over: no second round


def test_budget_ceiling_with_fail_refuses_the_cost(client: Any) -> None:
    iid = intent(client)
    ok(lease(client, iid, guardrails={"max_budget_usd": 10, "on_exceed": "fail"}))
    ok(cost(client, iid, 10))
    r = cost(client, iid, 0.5)
    assert r.status_code == 403
    assert r.json()["detail"] == {
        "error": "guardrail_violation",
        "rule": "max_budget_usd",
        "message": "Guardrail max_budget_usd=10.0: 10.0 USD recorded; adding 0.5 USD would exceed it.",
    }
    assert len(client.get(f"{API}/intents/{iid}/costs").json()) == 1


def test_work_and_plan_guardrails(client: Any) -> None:
    iid = intent(client)
    guardrails = {
        "max_concurrent_tasks": 1,
        "max_tasks_per_plan": 2,
        "allowed_capabilities": ["search"],
        "max_delegation_depth": 1,
    }
    ok(lease(client, iid, guardrails=guardrails))
    a, b, c = task(client, iid), task(client, iid), task(client, iid)
    ok(client.post(f"{API}/tasks/{a}/claim", json={}))
    r = client.post(f"{API}/tasks/{b}/claim", json={})
    assert (r.status_code, r.json()["detail"]["rule"]) == (403, "max_concurrent_tasks")
    r = client.post(f"{API}/plans", json={"intent_id": iid, "tasks": [a, b, c]})
    assert (r.status_code, r.json()["detail"]["rule"]) == (403, "max_tasks_per_plan")
    assert client.get(f"{API}/intents/{iid}/plans").json() == []
    pid = ok(client.post(f"{API}/plans", json={"intent_id": iid, "tasks": [a, b]}))["id"]
    r = client.post(f"{API}/tasks", json={"intent_id": iid, "name": "x", "plan_id": pid})
    assert (r.status_code, r.json()["detail"]["rule"]) == (403, "max_tasks_per_plan")
    r = client.post(
        f"{API}/tasks", json={"intent_id": iid, "name": "x", "capabilities_required": ["write"]}
    )
    assert (r.status_code, r.json()["detail"]["rule"]) == (403, "allowed_capabilities")
    ok(client.post(f"{API}/tasks/{a}/start", json={}))
    sub = ok(client.post(f"{API}/tasks/{a}/delegate", json={"capability": "search"}))
    ok(client.post(f"{API}/tasks/{sub['id']}/claim", json={}))
    ok(client.post(f"{API}/tasks/{sub['id']}/start", json={}))
    r = client.post(f"{API}/tasks/{sub['id']}/delegate", json={"capability": "search"})
    assert (r.status_code, r.json()["detail"]["rule"]) == (403, "max_delegation_depth")


def test_failures_escalate_once_the_guardrail_count_is_reached(client: Any) -> None:
    iid = intent(client)
    ok(lease(client, iid, supervisor_id="boss", guardrails={"auto_escalate_after_failures": 2}))
    body = {"error_type": "e", "error_message": "m", "attempt_number": 1, "agent_id": "a"}
    ok(client.post(f"{API}/intents/{iid}/failures", json=body))  # recorded through RFC-0010
    tid = task(client, iid)
    ok(client.post(f"{API}/tasks/{tid}/claim", json={}))
    ok(client.post(f"{API}/tasks/{tid}/start", json={}))
    ok(client.post(f"{API}/tasks/{tid}/fail", json={"error": "x"}))
    (esc,) = escalations(client, iid)
    assert esc["context"] == {
        "lease_id": esc["context"]["lease_id"],
        "guardrail": "auto_escalate_after_failures",
        "task_id": tid,
    }
    ((_, payload),) = events(client, iid, "task.escalated")
    assert payload["escalated_to"] == "boss"
    ok(client.post(f"{API}/tasks/{tid}/retry", json={}))
    ok(client.post(f"{API}/tasks/{tid}/claim", json={}))
    ok(client.post(f"{API}/tasks/{tid}/start", json={}))
    ok(client.post(f"{API}/tasks/{tid}/fail", json={}))
    assert len(escalations(client, iid)) == 1


# -- decision records -----------------------------------------------------------------------


def test_decision_records(client: Any) -> None:
    iid = intent(client)
    body = {
        "coordinator_id": "c1",
        "intent_id": iid,
        "decision_type": "plan_created",
        "summary": "s",
        "rationale": "r",
        "alternatives_considered": [{"description": "a", "rejected_reason": "b"}],
        "confidence": 0.8,
    }
    first = ok(client.post(f"{API}/decisions", json=body))
    assert set(first) == {
        "id",
        "coordinator_id",
        "intent_id",
        "decision_type",
        "summary",
        "rationale",
        "alternatives_considered",
        "confidence",
        "timestamp",
    }
    assert first["confidence"] == 0.8
    without = {k: v for k, v in body.items() if k != "rationale"}
    second = ok(
        client.post(f"{API}/decisions", json={**without, "reasoning": "why", "summary": "s2"})
    )
    assert second["rationale"] == "why"
    assert ok(client.get(f"{API}/decisions/{first['id']}")) == first
    assert client.get(f"{API}/decisions/nope").status_code == 404
    for path in ("decisions", "coordinator-decisions"):
        listed = client.get(f"{API}/intents/{iid}/{path}").json()
        assert [d["id"] for d in listed] == [second["id"], first["id"]], path
        assert [d["id"] for d in client.get(f"{API}/intents/{iid}/{path}?limit=1").json()] == [
            second["id"]
        ]
    assert client.get(f"{API}/intents/{iid}/coordinator-decisions?limit=0").status_code == 422
    assert [p["decision_id"] for _, p in events(client, iid, "coordinator.decision")] == [
        first["id"],
        second["id"],
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"decision_type": "whim"},
        {"confidence": 2},
        {"summary": None},
        {"intent_id": None},
        {"alternatives_considered": ["x"]},
    ],
)
def test_bad_decision_records_are_422(client: Any, change: dict[str, Any]) -> None:
    iid = intent(client)
    body = {
        "coordinator_id": "c",
        "intent_id": iid,
        "decision_type": "plan_created",
        "summary": "s",
        "rationale": "r",
    }
    r = client.post(
        f"{API}/decisions", json={k: v for k, v in {**body, **change}.items() if v is not None}
    )
    assert r.status_code == 422, r.text
    assert client.get(f"{API}/intents/{iid}/decisions").json() == []


def test_decision_for_an_unknown_intent_is_404(client: Any) -> None:
    body = {
        "coordinator_id": "c",
        "intent_id": "nope",
        "decision_type": "plan_created",
        "summary": "s",
        "rationale": "r",
    }
    assert client.post(f"{API}/decisions", json=body).status_code == 404


# -- concurrency ----------------------------------------------------------------------------


async def _race(base_url: str, iid: str, n: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=base_url, headers=AUTH, timeout=30) as c:
        return list(
            await asyncio.gather(
                *[
                    c.post(f"{API}/coordinators", json={"agent_id": f"c{i}", "intent_id": iid})
                    for i in range(n)
                ]
            )
        )


def _one_holder(responses: list[httpx.Response]) -> dict[str, Any]:
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * (len(responses) - 1), codes
    (winner,) = [r.json() for r in responses if r.status_code == 200]
    assert all(
        r.json()["existing_lease"]["id"] == winner["id"] for r in responses if r.status_code == 409
    )
    return dict(winner)


def test_concurrent_acquisitions_one_holder(live_server: ServerProcess) -> None:
    with httpx.Client(base_url=live_server.base_url, headers=AUTH) as c:
        iid = c.post(f"{API}/intents", json={"title": "race"}).json()["id"]
        winner = _one_holder(asyncio.run(_race(live_server.base_url, iid, 20)))
        assert [x["id"] for x in c.get(f"{API}/intents/{iid}/coordinators").json()] == [
            winner["id"]
        ]


def test_concurrent_takeover_after_expiry_one_holder(live_server: ServerProcess) -> None:
    with httpx.Client(base_url=live_server.base_url, headers=AUTH) as c:
        iid = c.post(f"{API}/intents", json={"title": "race"}).json()["id"]
        expires = (utcnow() + dt.timedelta(seconds=1)).isoformat()
        old = c.post(
            f"{API}/coordinators", json={"agent_id": "old", "intent_id": iid, "expires_at": expires}
        ).json()
        time.sleep(1.2)
        winner = _one_holder(asyncio.run(_race(live_server.base_url, iid, 20)))
        listed = c.get(f"{API}/intents/{iid}/coordinators").json()
        assert [(x["id"], x["status"]) for x in listed] == [
            (old["id"], "completed"),
            (winner["id"], "active"),
        ]
        log = [e["event_type"] for e in c.get(f"{API}/intents/{iid}/events").json()]
        assert log.count("coordinator.failed_over") == 1


def test_a_closed_intent_keeps_its_coordinator_from_strangers(client: Any) -> None:
    iid = intent(client)
    created = ok(lease(client, iid))
    assert (
        client.put(f"{API}/intents/{iid}/acl", json={"default_policy": "closed"}).status_code == 200
    )
    stranger = {"X-API-Key": "agent-research-key"}
    assert client.get(f"{API}/coordinators/{created['id']}", headers=stranger).status_code == 403
    beat = client.post(f"{API}/coordinators/{created['id']}/heartbeat", headers=stranger)
    assert beat.status_code == 403
    assert lease(client, iid, "c2").status_code == 409
    assert (
        client.post(
            f"{API}/coordinators", json={"agent_id": "x", "intent_id": iid}, headers=stranger
        ).status_code
        == 403
    )
