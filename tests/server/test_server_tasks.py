"""RFC-0012 over HTTP: tasks and plans with the reference's shapes, the task state
machine, dependencies and cycles, retries and timeouts, plan progress, checkpoints,
failure policies, delegation, events, bad input, and one winner among concurrent claims.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import httpx
import pytest

from openintent.core import wire
from openintent.core.converter import utcnow
from openintent.models import EventType
from openintent.server.testing import DEV_KEY, ServerProcess

API = "/api/v1"
AUTH = {"X-API-Key": DEV_KEY}

TASK_KEYS = {
    "id", "intent_id", "plan_id", "name", "description", "status", "priority", "input",
    "output", "artifacts", "assigned_agent", "lease_id", "capabilities_required", "depends_on",
    "blocks", "parent_task_id", "retry_policy", "timeout_seconds", "attempt", "max_attempts",
    "permissions", "memory_policy", "requires_tools", "blocked_reason", "error", "task_metadata",
    "version", "created_at", "started_at", "completed_at",
}  # fmt: skip
PLAN_KEYS = {
    "id", "intent_id", "version", "state", "tasks", "checkpoints", "conditions", "on_failure",
    "on_complete", "plan_metadata", "created_at", "updated_at",
}  # fmt: skip


class Clock:
    """Replaces the services' clock: time moves only when a test says so."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def use_clock(client: Any) -> Clock:
    clock = Clock()
    services = client.app.state.services
    services.get("tasks").clock = clock
    services.get("coordinators").clock = clock
    return clock


def intent(client: Any, **body: Any) -> str:
    r = client.post(f"{API}/intents", json={"title": "t", **body})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def task(client: Any, iid: str, name: str = "t", **body: Any) -> dict[str, Any]:
    r = client.post(f"{API}/tasks", json={"intent_id": iid, "name": name, **body})
    assert r.status_code == 200, r.text
    return dict(r.json())


def get(client: Any, tid: str) -> dict[str, Any]:
    r = client.get(f"{API}/tasks/{tid}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def act(client: Any, tid: str, action: str, **body: Any) -> Any:
    return client.post(f"{API}/tasks/{tid}/{action}", json=body)


def ok(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    return dict(r.json())


def patch(client: Any, tid: str, **body: Any) -> Any:
    version = get(client, tid)["version"]
    return client.patch(f"{API}/tasks/{tid}", json=body, headers={"If-Match": str(version)})


def run(client: Any, tid: str, agent: str = "w") -> dict[str, Any]:
    ok(act(client, tid, "claim", agent_id=agent))
    return ok(act(client, tid, "start", agent_id=agent))


def plan(client: Any, iid: str, tasks: list[str], **body: Any) -> dict[str, Any]:
    return ok(client.post(f"{API}/plans", json={"intent_id": iid, "tasks": tasks, **body}))


def get_plan(client: Any, pid: str) -> dict[str, Any]:
    return ok(client.get(f"{API}/plans/{pid}"))


def events(client: Any, iid: str, prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    log = client.get(f"{API}/intents/{iid}/events", params={"limit": 1000}).json()
    return [
        (e["event_type"], e["payload"]) for e in reversed(log) if e["event_type"].startswith(prefix)
    ]


def kinds(client: Any, iid: str, prefix: str = "task.") -> list[str]:
    return [k for k, _ in events(client, iid, prefix)]


# -- the reference's shapes -----------------------------------------------------------------


def test_create_matches_the_reference_shape(client: Any) -> None:
    iid = intent(client)
    r = client.post(
        f"{API}/tasks",
        json={
            "intent_id": iid,
            "name": "analyze",
            "metadata": {"k": 1},
            "status": "running",
            "version": 9,
        },
    )
    created = ok(r)
    assert TASK_KEYS | {"metadata"} == set(created)
    assert (created["status"], created["version"], created["attempt"]) == ("pending", 1, 1)
    assert (created["priority"], created["permissions"], created["max_attempts"]) == (
        "normal",
        "inherit",
        3,
    )
    assert created["task_metadata"] == created["metadata"] == {"k": 1}
    assert created["started_at"] is None
    assert created["completed_at"] is None
    assert not created["created_at"].endswith("Z")
    assert "+" not in created["created_at"]
    assert get(client, created["id"]) == created
    assert events(client, iid, "task.") == [
        ("task.created", {"task_id": created["id"], "name": "analyze", "capabilities_required": []})
    ]


def test_create_under_the_intent_path(client: Any) -> None:
    iid = intent(client)
    created = ok(
        client.post(f"{API}/intents/{iid}/tasks", json={"name": "x", "intent_id": "other"})
    )
    assert created["intent_id"] == iid
    assert client.post(f"{API}/intents/nope/tasks", json={"name": "x"}).status_code == 404
    assert client.post(f"{API}/intents/{iid}/tasks", json={}).status_code == 422


def test_list_is_a_bare_array_with_filter_and_paging(client: Any) -> None:
    iid = intent(client)
    a, b, c = (task(client, iid, n) for n in "abc")
    ok(patch(client, b["id"], status="running"))
    listed = client.get(f"{API}/intents/{iid}/tasks").json()
    assert [t["id"] for t in listed] == [a["id"], b["id"], c["id"]]
    assert [t["id"] for t in client.get(f"{API}/intents/{iid}/tasks?status=running").json()] == [
        b["id"]
    ]
    assert [t["id"] for t in client.get(f"{API}/intents/{iid}/tasks?limit=1&offset=1").json()] == [
        b["id"]
    ]
    assert client.get(f"{API}/intents/nope/tasks").json() == []
    for query in ("status=banana", "limit=x", "offset=-1", "limit=0"):
        r = client.get(f"{API}/intents/{iid}/tasks?{query}")
        assert r.status_code == 422, query
        assert isinstance(r.json()["detail"], list)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x"},
        {"intent_id": "IID"},
        {"intent_id": "IID", "name": ""},
        {"intent_id": "IID", "name": 5},
        {"intent_id": "IID", "name": "x", "permissions": {"read": True}},
        {"intent_id": "IID", "name": "x", "requires_tools": [{"scopes": ["r"]}]},
        {"intent_id": "IID", "name": "x", "depends_on": ["no-such-task"]},
        {"intent_id": "IID", "name": "x", "plan_id": "no-such-plan"},
        {"intent_id": "IID", "name": "x", "parent_task_id": "no-such-task"},
        {"intent_id": "IID", "name": "x", "max_attempts": 0},
        {"intent_id": "IID", "name": "x", "timeout_seconds": 0},
        {"intent_id": "IID", "name": "x", "input": [1]},
        {"intent_id": "IID", "name": "bad\u0000name"},
    ],
)
def test_bad_create_is_422_and_stores_nothing(client: Any, body: dict[str, Any]) -> None:
    iid = intent(client)
    body = {k: (iid if v == "IID" else v) for k, v in body.items()}
    r = client.post(f"{API}/tasks", json=body)
    assert r.status_code == 422, r.text
    assert client.get(f"{API}/intents/{iid}/tasks").json() == []
    assert kinds(client, iid) == []


def test_dependencies_must_be_tasks_of_the_same_intent(client: Any) -> None:
    other = task(client, intent(client))
    iid = intent(client)
    r = client.post(
        f"{API}/tasks", json={"intent_id": iid, "name": "x", "depends_on": [other["id"]]}
    )
    assert r.status_code == 422
    assert client.post(f"{API}/tasks", json={"intent_id": "nope", "name": "x"}).status_code == 404


def test_malformed_json_is_422(client: Any) -> None:
    r = client.post(f"{API}/tasks", content=b"{", headers={"content-type": "application/json"})
    assert r.status_code == 422
    r = client.post(f"{API}/plans", content=b"[1]", headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_a_key_is_needed(anon: Any) -> None:
    assert anon.post(f"{API}/tasks", json={"intent_id": "i", "name": "x"}).status_code == 401
    assert anon.get(f"{API}/intents/i/tasks").status_code == 401
    assert anon.post(f"{API}/tasks/t/claim", json={}).status_code == 401
    assert anon.get(f"{API}/plans/p").status_code == 401


# -- PATCH: the reference's contract, the state machine enforced ----------------------------


def test_patch_preconditions(client: Any) -> None:
    tid = task(client, intent(client))["id"]
    url = f"{API}/tasks/{tid}"
    for headers in ({}, {"If-Match": '"1"'}, {"If-Match": 'W/"1"'}, {"If-Match": "abc"}):
        r = client.patch(url, json={"status": "running"}, headers=headers)
        assert r.status_code == 428, headers
        assert r.json()["detail"] == "If-Match header required"
    r = client.patch(f"{API}/tasks/nope", json={"status": "running"}, headers={"If-Match": "1"})
    assert r.status_code == 404
    r = client.patch(url, json={"status": "running"}, headers={"If-Match": "7"})
    assert (r.status_code, r.json()["current_version"]) == (409, 1)
    assert "lease" not in r.text.lower()
    for body in ({"status": "banana"}, {"output": {}}, {"status": "running", "output": [1]}):
        assert client.patch(url, json=body, headers={"If-Match": "1"}).status_code == 422
    assert get(client, tid)["version"] == 1


def test_patch_jumps_ahead_sets_timestamps_and_logs(client: Any) -> None:
    iid = intent(client)
    tid = task(client, iid)["id"]
    running = ok(patch(client, tid, status="running", assigned_agent="a"))
    assert (running["status"], running["version"], running["assigned_agent"]) == ("running", 2, "a")
    assert running["started_at"] is not None
    assert running["completed_at"] is None
    assert running["lease_id"]
    done = ok(patch(client, tid, status="completed", output={"r": 1}))
    assert (done["status"], done["output"], done["version"]) == ("completed", {"r": 1}, 3)
    assert done["completed_at"] >= done["started_at"]
    assert kinds(client, iid) == ["task.created", "task.started", "task.completed"]
    (_, payload) = events(client, iid, "task.completed")[0]
    assert payload["output"] == {"r": 1}
    assert isinstance(payload["duration_ms"], int)


def test_patch_same_status_updates_fields_and_bumps_version(client: Any) -> None:
    iid = intent(client)
    tid = task(client, iid)["id"]
    same = ok(patch(client, tid, status="pending", assigned_agent="writer", output=None))
    assert (same["status"], same["assigned_agent"], same["version"]) == ("pending", "writer", 2)
    assert kinds(client, iid) == ["task.created"]


@pytest.mark.parametrize(
    ("path", "target"),
    [
        (["running"], "pending"),
        (["running"], "ready"),
        (["running"], "claimed"),
        (["completed"], "running"),
        (["completed"], "failed"),
        (["cancelled"], "ready"),
        (["running"], "skipped"),
        (["running", "failed"], "pending"),
        (["running", "failed"], "skipped"),
    ],
)
def test_patch_refuses_moves_the_state_machine_forbids(
    client: Any, path: list[str], target: str
) -> None:
    tid = task(client, intent(client))["id"]
    for status in path:
        ok(patch(client, tid, status=status))
    before = get(client, tid)
    r = patch(client, tid, status=target)
    assert r.status_code == 409, r.text
    assert f"'{path[-1]}' to '{target}'" in r.json()["detail"]
    assert get(client, tid) == before


# -- the action endpoints: one step at a time -----------------------------------------------


def test_claim_start_complete(client: Any) -> None:
    iid = intent(client)
    tid = task(client, iid)["id"]
    claimed = ok(act(client, tid, "claim", agent_id="w1"))
    assert (claimed["status"], claimed["assigned_agent"]) == ("claimed", "w1")
    r = act(client, tid, "claim", agent_id="w2")
    assert (r.status_code, r.json()["detail"]) == (409, "Task is already claimed by w1")
    assert act(client, tid, "start", agent_id="w2").status_code == 403
    assert act(client, tid, "complete", agent_id="w1").status_code == 409  # claimed, not running
    started = ok(act(client, tid, "start", agent_id="w1"))
    assert started["started_at"] is not None
    progressed = ok(act(client, tid, "progress", agent_id="w1", percentage=40, message="m"))
    assert progressed["progress"]["percentage"] == 40.0
    assert act(client, tid, "progress", percentage=140).status_code == 422
    done = ok(act(client, tid, "complete", agent_id="w1", output={"x": 1}, artifacts=["s3://a"]))
    assert (done["status"], done["output"], done["artifacts"]) == (
        "completed",
        {"x": 1},
        ["s3://a"],
    )
    assert done["completed_at"] is not None
    assert kinds(client, iid) == [
        "task.created", "task.ready", "task.claimed", "task.started", "task.progress", "task.completed",
    ]  # fmt: skip
    assert act(client, tid, "cancel").status_code == 409  # completed is final


def test_claim_with_stale_if_match_and_unknown_task(client: Any) -> None:
    tid = task(client, intent(client))["id"]
    r = client.post(f"{API}/tasks/{tid}/claim", json={}, headers={"If-Match": "5"})
    assert r.status_code == 409
    assert act(client, "nope", "claim").status_code == 404
    # no body at all is fine for actions whose fields are all optional
    assert client.post(f"{API}/tasks/{tid}/claim").status_code == 200


def test_holder_is_the_x_agent_id_when_no_agent_is_named(client: Any) -> None:
    tid = task(client, intent(client))["id"]
    claimed = ok(client.post(f"{API}/tasks/{tid}/claim", json={}, headers={"X-Agent-ID": "bot"}))
    assert claimed["assigned_agent"] == "bot"
    assert client.post(f"{API}/tasks/{tid}/start", json={}).status_code == 403
    assert (
        client.post(f"{API}/tasks/{tid}/start", json={}, headers={"X-Agent-ID": "bot"}).status_code
        == 200
    )


# -- dependencies ---------------------------------------------------------------------------


def test_a_task_becomes_ready_when_its_dependencies_complete(client: Any) -> None:
    iid = intent(client)
    a, b = task(client, iid, "a"), task(client, iid, "b")
    c = task(client, iid, "c", depends_on=[a["id"], b["id"], a["id"]])
    assert c["depends_on"] == [a["id"], b["id"]]
    assert get(client, a["id"])["blocks"] == [c["id"]]
    r = act(client, c["id"], "claim")
    assert r.status_code == 409
    assert "unfinished tasks" in r.json()["detail"]
    assert patch(client, c["id"], status="completed").status_code == 409
    run(client, a["id"])
    ok(act(client, a["id"], "complete", agent_id="w"))
    assert get(client, c["id"])["status"] == "pending"
    ok(patch(client, b["id"], status="skipped"))  # skipped resolves a dependency too
    assert get(client, c["id"])["status"] == "ready"
    (_, payload) = events(client, iid, "task.ready")[-1]
    assert payload == {"task_id": c["id"], "resolved_dependencies": [a["id"], b["id"]]}
    ok(act(client, c["id"], "claim"))


def test_a_cycle_is_rejected(client: Any) -> None:
    iid = intent(client)
    a = task(client, iid, "a")
    b = task(client, iid, "b", depends_on=[a["id"]])
    c = task(client, iid, "c", depends_on=[b["id"]])
    r = patch(client, a["id"], status="pending", depends_on=[c["id"]])
    assert r.status_code == 400, r.text
    assert (
        r.json()["detail"]
        == f"Dependency would create cycle: {a['id']} -> {c['id']} -> {b['id']} -> {a['id']}"
    )
    r = patch(client, a["id"], status="pending", depends_on=[a["id"]])
    assert r.status_code == 400
    assert get(client, a["id"])["depends_on"] == []
    assert get(client, a["id"])["version"] == 1
    assert get(client, c["id"])["blocks"] == []
    # an acyclic change is fine, and only while pending
    d = task(client, iid, "d")
    changed = ok(patch(client, a["id"], status="pending", depends_on=[d["id"]]))
    assert (changed["depends_on"], changed["version"]) == ([d["id"]], 2)
    assert get(client, d["id"])["blocks"] == [a["id"]]
    ok(patch(client, d["id"], status="running"))
    assert patch(client, d["id"], status="running", depends_on=[]).status_code == 409


# -- retries, failure records, timeouts -----------------------------------------------------


def test_retry_limits(client: Any) -> None:
    iid = intent(client)
    tid = task(client, iid, max_attempts=2)["id"]
    run(client, tid)
    failed = ok(act(client, tid, "fail", agent_id="w", error="boom"))
    assert (failed["status"], failed["error"], failed["attempt"]) == ("failed", "boom", 1)
    retried = ok(act(client, tid, "retry"))
    assert (retried["status"], retried["attempt"], retried["error"]) == ("ready", 2, None)
    assert retried["started_at"] is None
    assert retried["completed_at"] is None
    run(client, tid)
    ok(act(client, tid, "fail", agent_id="w", error="again"))
    r = act(client, tid, "retry")
    assert r.status_code == 409
    assert "all 2 attempts" in r.json()["detail"]
    failures = client.get(f"{API}/intents/{iid}/failures").json()
    assert [(f["attempt_number"], f["error_message"]) for f in failures] == [
        (1, "boom"),
        (2, "again"),
    ]
    assert all(f["error_type"] == "task_failed" for f in failures)
    fails = [p for _, p in events(client, iid, "task.failed")]
    assert [(p["attempt"], p["will_retry"]) for p in fails] == [(1, False), (2, False)]
    assert [p["attempt"] for _, p in events(client, iid, "task.retrying")] == [2]


def test_a_patch_out_of_failed_is_a_retry(client: Any) -> None:
    tid = task(client, intent(client), max_attempts=2)["id"]
    ok(patch(client, tid, status="running"))
    ok(patch(client, tid, status="failed", error="x"))
    again = ok(patch(client, tid, status="running"))
    assert (again["attempt"], again["error"]) == (2, None)
    ok(patch(client, tid, status="failed"))
    r = patch(client, tid, status="ready")
    assert r.status_code == 409
    assert "all 2 attempts" in r.json()["detail"]


def test_the_intents_retry_policy_limits_and_delays_retries(client: Any) -> None:
    iid = intent(client)
    policy = {
        "strategy": "fixed",
        "max_retries": 1,
        "base_delay_ms": 60_000,
        "fallback_agent_id": "backup",
    }
    assert client.put(f"{API}/intents/{iid}/retry-policy", json=policy).status_code == 200
    tid = task(client, iid, max_attempts=5)["id"]
    run(client, tid)
    ok(act(client, tid, "fail", agent_id="w"))
    retried = ok(act(client, tid, "retry"))
    assert retried["assigned_agent"] == "backup"
    (_, payload) = events(client, iid, "task.retrying")[0]
    assert payload["next_attempt_at"] > retried["created_at"]
    assert act(client, tid, "claim", agent_id="w").status_code == 403  # the fallback's turn
    r = act(client, tid, "claim", agent_id="backup")
    assert r.status_code == 409
    assert "may be retried from" in r.json()["detail"]
    clock = use_clock(client)
    clock.advance(61)
    run(client, tid, "backup")
    ok(act(client, tid, "fail", agent_id="backup"))
    r = act(client, tid, "retry")
    assert r.status_code == 409
    assert "allows 1 retries" in r.json()["detail"]


def test_timeout_fails_a_running_task_in_real_time(client: Any) -> None:
    iid = intent(client)
    tid = task(client, iid, timeout_seconds=1)["id"]
    run(client, tid)
    time.sleep(1.2)
    failed = get(client, tid)
    assert (failed["status"], failed["error"]) == ("failed", "timed out after 1 s")
    (_, payload) = events(client, iid, "task.failed")[0]
    assert payload["reason"] == "timeout"
    assert client.get(f"{API}/intents/{iid}/failures").json()[0]["error_type"] == "task_timeout"


def test_long_timeouts_with_an_injected_clock(client: Any) -> None:
    clock = use_clock(client)
    iid = intent(client)
    tid = task(client, iid, timeout_seconds=3600)["id"]
    run(client, tid)
    clock.advance(3599)
    assert get(client, tid)["status"] == "running"
    clock.advance(2)
    # honoured on writes too: the completion comes too late
    r = act(client, tid, "complete", agent_id="w")
    assert r.status_code == 409
    assert get(client, tid)["status"] == "failed"


# -- plans ----------------------------------------------------------------------------------


def test_plan_shape_and_reference_patch(client: Any) -> None:
    iid = intent(client)
    a = task(client, iid)
    created = plan(
        client,
        iid,
        [a["id"]],
        checkpoints=[
            {
                "id": "cp1",
                "name": "review",
                "after": a["id"],
                "approvers": ["boss"],
                "timeout_hours": 24,
                "on_timeout": "escalate",
                "extra": 1,
            }
        ],
        conditions=[{"id": "c1", "task_id": a["id"], "when": "x", "otherwise": "skip"}],
        metadata={"k": "v"},
        state="active",
    )
    assert PLAN_KEYS | {"metadata", "progress"} == set(created)
    assert (created["state"], created["version"], created["plan_metadata"]) == (
        "draft",
        1,
        {"k": "v"},
    )
    assert created["checkpoints"] == [
        {
            "id": "cp1",
            "name": "review",
            "after_task": a["id"],
            "approvers": ["boss"],
            "timeout_hours": 24,
            "on_timeout": "escalate",
            "extra": 1,
            "status": "pending",
        }
    ]
    assert created["progress"] == {
        "total": 1,
        "finished": 0,
        "percentage": 0.0,
        "by_status": {"pending": 1},
        "suspended_tasks": [],
    }
    url = f"{API}/plans/{created['id']}"
    assert client.patch(url, json={}).status_code == 428
    bumped = ok(client.patch(url, json={"on_failure": "fail"}, headers={"If-Match": "1"}))
    assert (bumped["version"], bumped["on_failure"]) == (2, "pause_and_escalate")
    assert client.patch(url, json={}, headers={"If-Match": "1"}).status_code == 409
    assert client.patch(f"{API}/plans/nope", json={}, headers={"If-Match": "1"}).status_code == 404
    for body in (
        {"state": "sleeping"},
        {"checkpoints": [{"id": "x", "on_timeout": "never"}]},
        {"tasks": ["nope"]},
        {"checkpoints": [{"id": "a"}, {"id": "a"}]},
    ):
        assert client.patch(url, json=body, headers={"If-Match": "2"}).status_code == 422, body
    assert [p["id"] for p in client.get(f"{API}/intents/{iid}/plans").json()] == [created["id"]]
    assert client.get(f"{API}/intents/nope/plans").json() == []
    assert kinds(client, iid, "plan.") == ["plan.created"]


@pytest.mark.parametrize(
    "body",
    [
        {"on_failure": "panic"},
        {"checkpoints": [{"id": "c", "on_timeout": "never"}]},
        {"checkpoints": [{"name": "no id"}]},
        {"tasks": ["no-such-task"]},
        {"tasks": "abc"},
    ],
)
def test_bad_plan_is_422_and_stores_nothing(client: Any, body: dict[str, Any]) -> None:
    iid = intent(client)
    r = client.post(f"{API}/plans", json={"intent_id": iid, **body})
    assert r.status_code == 422, r.text
    assert client.get(f"{API}/intents/{iid}/plans").json() == []


def test_plan_runs_its_tasks_through_a_checkpoint_to_completion(client: Any) -> None:
    iid = intent(client)
    a = task(client, iid, "a")
    b = task(client, iid, "b", depends_on=[a["id"]])
    cps = [{"id": "review", "after_task": a["id"], "approvers": ["agent-synth-key"]}]
    p = plan(client, iid, [a["id"], b["id"]], checkpoints=cps)
    pid = p["id"]
    active = ok(client.post(f"{API}/plans/{pid}/activate", json={}))
    assert active["state"] == "active"
    assert active["progress"]["by_status"] == {"ready": 1, "pending": 1}
    run(client, a["id"])
    ok(act(client, a["id"], "complete", agent_id="w"))
    paused = get_plan(client, pid)
    assert paused["state"] == "paused"
    assert paused["checkpoints"][0]["status"] == "reached"
    assert paused["progress"]["percentage"] == 50.0
    assert get(client, b["id"])["status"] == "ready"
    r = act(client, b["id"], "claim")
    assert r.status_code == 409
    assert "paused" in r.json()["detail"]
    assert client.post(f"{API}/plans/{pid}/resume", json={}).status_code == 409
    url = f"{API}/plans/{pid}/checkpoints/review/approve"
    assert client.post(url, json={}).status_code == 403  # not an approver
    approved = ok(
        client.post(url, json={"notes": "fine"}, headers={"X-API-Key": "agent-synth-key"})
    )
    assert approved["state"] == "active"
    assert approved["checkpoints"][0]["status"] == "approved"
    assert approved["checkpoints"][0]["approved_by"] == "agent-synth-key"
    assert client.post(url, json={}, headers={"X-API-Key": "agent-synth-key"}).status_code == 409
    run(client, b["id"])
    ok(act(client, b["id"], "complete", agent_id="w"))
    done = get_plan(client, pid)
    assert done["state"] == "completed"
    assert done["progress"] == {
        "total": 2,
        "finished": 2,
        "percentage": 100.0,
        "by_status": {"completed": 2},
        "suspended_tasks": [],
    }
    assert kinds(client, iid, "plan.") == [
        "plan.created", "plan.activated", "plan.checkpoint_reached", "plan.paused",
        "plan.checkpoint_approved", "plan.resumed", "plan.completed",
    ]  # fmt: skip
    (_, completed) = events(client, iid, "plan.completed")[0]
    assert (completed["tasks_completed"], completed["tasks_skipped"]) == (2, 0)
    assert client.get(f"{API}/plans/{pid}/checkpoints").json()[0]["id"] == "review"
    assert ok(client.get(f"{API}/plans/{pid}/progress"))["finished"] == 2


def test_a_rejected_checkpoint_holds_the_plan_until_it_is_revised(client: Any) -> None:
    iid = intent(client)
    a, b = task(client, iid, "a"), task(client, iid, "b")
    pid = plan(client, iid, [a["id"], b["id"]], checkpoints=[{"id": "cp", "after_task": a["id"]}])[
        "id"
    ]
    ok(client.post(f"{API}/plans/{pid}/activate"))
    run(client, a["id"])
    ok(act(client, a["id"], "complete", agent_id="w"))
    rejected = ok(client.post(f"{API}/plans/{pid}/checkpoints/cp/reject", json={"reason": "redo"}))
    assert (rejected["state"], rejected["checkpoints"][0]["status"]) == ("paused", "rejected")
    (_, payload) = events(client, iid, "plan.checkpoint_rejected")[0]
    assert (payload["rejected_by"], payload["reason"]) == (DEV_KEY, "redo")
    r = client.post(f"{API}/plans/{pid}/resume")
    assert r.status_code == 409
    assert "rejected" in r.json()["detail"]
    version = get_plan(client, pid)["version"]
    ok(
        client.patch(
            f"{API}/plans/{pid}", json={"checkpoints": []}, headers={"If-Match": str(version)}
        )
    )
    assert ok(client.post(f"{API}/plans/{pid}/resume"))["state"] == "active"
    assert client.post(f"{API}/plans/{pid}/checkpoints/nope/approve").status_code == 404


def test_plan_state_rules(client: Any) -> None:
    iid = intent(client)
    a = task(client, iid)
    pid = plan(client, iid, [a["id"]])["id"]
    url = f"{API}/plans/{pid}"
    assert client.post(f"{url}/resume").status_code == 409
    assert client.post(f"{url}/pause").status_code == 409  # draft -> paused is not a step
    r = client.patch(url, json={"state": "completed"}, headers={"If-Match": "1"})
    assert r.status_code == 409
    assert "unfinished" in r.json()["detail"]
    ok(client.patch(url, json={"state": "active"}, headers={"If-Match": "1"}))
    assert client.post(f"{url}/activate").status_code == 409
    paused = ok(client.post(f"{url}/pause", json={"reason": "lunch"}))
    assert paused["state"] == "paused"
    assert events(client, iid, "plan.paused")[0][1] == {"plan_id": pid, "reason": "lunch"}
    cancelled = ok(client.post(f"{url}/cancel", json={"reason": "scrap"}))
    assert cancelled["state"] == "cancelled"
    assert get(client, a["id"])["status"] == "cancelled"
    assert events(client, iid, "task.cancelled")[0][1]["reason"] == f"plan {pid} cancelled: scrap"
    assert client.post(f"{url}/activate").status_code == 409
    assert client.post(f"{url}/explode").status_code in (404, 405)


@pytest.mark.parametrize(
    ("on_failure", "plan_state", "task_status", "attempt"),
    [
        ("fail", "failed", "failed", 1),
        ("pause_and_escalate", "paused", "failed", 1),
        ("notify", "active", "failed", 1),
        ("retry", "active", "ready", 2),
    ],
)
def test_plan_failure_policies(
    client: Any, on_failure: str, plan_state: str, task_status: str, attempt: int
) -> None:
    iid = intent(client)
    a = task(client, iid)
    pid = plan(client, iid, [a["id"]], on_failure=on_failure)["id"]
    ok(client.post(f"{API}/plans/{pid}/activate"))
    run(client, a["id"])
    ok(act(client, a["id"], "fail", agent_id="w", error="bad"))
    assert get_plan(client, pid)["state"] == plan_state
    after = get(client, a["id"])
    assert (after["status"], after["attempt"]) == (task_status, attempt)
    (_, failed) = events(client, iid, "task.failed")[0]
    assert failed["will_retry"] is (on_failure == "retry")
    escalations = client.get(f"{API}/escalations", params={"intent_id": iid}).json()["escalations"]
    assert len(escalations) == (1 if on_failure == "pause_and_escalate" else 0)
    if on_failure == "pause_and_escalate":
        assert escalations[0]["context"]["task_id"] == a["id"]
        assert kinds(client, iid)[-1] == "task.escalated"
    if on_failure == "fail":
        assert events(client, iid, "plan.failed")[0][1]["failed_task_id"] == a["id"]


def test_retry_policy_fails_the_plan_when_attempts_run_out(client: Any) -> None:
    iid = intent(client)
    a = task(client, iid, max_attempts=2)
    pid = plan(client, iid, [a["id"]], on_failure="retry")["id"]
    ok(client.post(f"{API}/plans/{pid}/activate"))
    for _ in range(2):
        run(client, a["id"])
        ok(act(client, a["id"], "fail", agent_id="w"))
    assert get_plan(client, pid)["state"] == "failed"
    assert [p["will_retry"] for _, p in events(client, iid, "task.failed")] == [True, False]


def test_the_current_plan_of_an_intent(client: Any) -> None:
    iid = intent(client)
    a, b = task(client, iid, "a"), task(client, iid, "b")
    assert client.get(f"{API}/intents/{iid}/plan").status_code == 404
    first = ok(client.post(f"{API}/intents/{iid}/plan", json={"tasks": [a["id"]]}))
    assert ok(client.get(f"{API}/intents/{iid}/plan"))["id"] == first["id"]
    revised = ok(
        client.post(
            f"{API}/intents/{iid}/plan",
            json={"tasks": [a["id"], b["id"]]},
            headers={"If-Match": "1"},
        )
    )
    assert (revised["id"], revised["version"], revised["tasks"]) == (
        first["id"],
        2,
        [a["id"], b["id"]],
    )
    r = client.post(f"{API}/intents/{iid}/plan", json={"tasks": []}, headers={"If-Match": "1"})
    assert r.status_code == 409
    ok(client.post(f"{API}/plans/{first['id']}/cancel"))
    second = ok(client.post(f"{API}/intents/{iid}/plan", json={"tasks": [b["id"]]}))
    assert second["id"] != first["id"]
    assert client.post(f"{API}/intents/nope/plan", json={}).status_code == 404


def test_tasks_linked_by_plan_id_count_in_progress(client: Any) -> None:
    iid = intent(client)
    pid = plan(client, iid, [])["id"]
    a = task(client, iid, "a", plan_id=pid)
    assert get_plan(client, pid)["progress"]["total"] == 1
    ok(client.post(f"{API}/plans/{pid}/activate"))
    ok(patch(client, a["id"], status="completed"))
    assert get_plan(client, pid)["state"] == "completed"


# -- checkpoint timeouts (injected clock) ---------------------------------------------------


@pytest.mark.parametrize(
    ("on_timeout", "state"),
    [("auto_approve", "completed"), ("fail", "failed"), ("escalate", "paused")],
)
def test_checkpoint_timeouts(client: Any, on_timeout: str, state: str) -> None:
    clock = use_clock(client)
    iid = intent(client)
    a = task(client, iid)
    cp = {"id": "cp", "after_task": a["id"], "timeout_hours": 2, "on_timeout": on_timeout}
    pid = plan(client, iid, [a["id"]], checkpoints=[cp])["id"]
    ok(client.post(f"{API}/plans/{pid}/activate"))
    ok(patch(client, a["id"], status="completed"))
    clock.advance(3600)
    assert get_plan(client, pid)["state"] == "paused"
    clock.advance(3601)
    assert get_plan(client, pid)["state"] == state
    escalations = client.get(f"{API}/escalations", params={"intent_id": iid}).json()["escalations"]
    assert len(escalations) == (1 if on_timeout == "escalate" else 0)
    clock.advance(86400)
    get_plan(client, pid)
    escalations = client.get(f"{API}/escalations", params={"intent_id": iid}).json()["escalations"]
    assert len(escalations) == (1 if on_timeout == "escalate" else 0)  # only once


# -- delegation, escalation, suspension -----------------------------------------------------


def test_delegation_blocks_the_parent_until_its_sub_task_is_done(client: Any) -> None:
    iid = intent(client)
    parent = task(client, iid, "parent")
    run(client, parent["id"])
    sub = ok(
        act(client, parent["id"], "delegate", agent_id="w", capability="search", delegated_to="s")
    )
    assert (sub["parent_task_id"], sub["assigned_agent"], sub["capabilities_required"]) == (
        parent["id"],
        "s",
        ["search"],
    )
    assert (sub["version"], sub["status"]) == (1, "pending")
    assert act(client, sub["id"], "claim", agent_id="other").status_code == 403  # assigned to s
    blocked = get(client, parent["id"])
    assert (blocked["status"], blocked["blocked_reason"]) == ("blocked", "delegated")
    ok(patch(client, sub["id"], status="completed"))
    resumed = get(client, parent["id"])
    assert (resumed["status"], resumed["blocked_reason"]) == ("running", None)
    assert (
        "task.unblocked",
        {"task_id": parent["id"], "resolution": "sub_tasks_completed"},
    ) in events(client, iid, "task.")
    (_, delegated) = events(client, iid, "task.delegated")[0]
    assert delegated == {
        "task_id": parent["id"],
        "sub_task_id": sub["id"],
        "capability": "search",
        "delegated_to": "s",
    }


def test_escalating_a_task_files_an_escalation(client: Any) -> None:
    iid = intent(client)
    tid = task(client, iid)["id"]
    run(client, tid)
    escalated = ok(act(client, tid, "escalate", reason="need a human", priority="critical"))
    assert (escalated["status"], escalated["blocked_reason"]) == ("blocked", "escalation")
    (esc,) = client.get(f"{API}/escalations", params={"intent_id": iid}).json()["escalations"]
    assert (esc["reason"], esc["priority"], esc["context"]["task_id"]) == (
        "need a human",
        "critical",
        tid,
    )
    assert act(client, tid, "escalate").status_code == 422  # a reason is required
    assert act(client, tid, "escalate", reason="x", priority="urgent").status_code == 422


def test_tasks_follow_the_intents_suspension(client: Any) -> None:
    iid = intent(client)
    a = task(client, iid)
    pid = plan(client, iid, [a["id"]])["id"]
    run(client, a["id"])

    def set_status(status: str) -> None:
        version = client.get(f"{API}/intents/{iid}").json()["version"]
        r = client.post(
            f"{API}/intents/{iid}/status",
            json={"status": status},
            headers={"If-Match": str(version)},
        )
        assert r.status_code == 200, r.text

    set_status("suspended_awaiting_input")
    blocked = get(client, a["id"])
    assert (blocked["status"], blocked["blocked_reason"]) == ("blocked", "intent_suspended")
    (suspended,) = get_plan(client, pid)["progress"]["suspended_tasks"]
    assert (suspended["task_id"], suspended["intent_id"]) == (a["id"], iid)
    set_status("active")
    assert get(client, a["id"])["status"] == "running"
    assert get_plan(client, pid)["progress"]["suspended_tasks"] == []


# -- events and concurrency -----------------------------------------------------------------


def test_every_event_written_is_one_the_reference_client_can_read(client: Any) -> None:
    iid = intent(client)
    a, b = task(client, iid, "a"), task(client, iid, "b")
    pid = plan(client, iid, [a["id"], b["id"]], checkpoints=[{"id": "c", "after_task": a["id"]}])[
        "id"
    ]
    ok(client.post(f"{API}/plans/{pid}/activate"))
    run(client, a["id"])
    ok(act(client, a["id"], "progress", agent_id="w", percentage=10))
    ok(act(client, a["id"], "complete", agent_id="w"))
    ok(client.post(f"{API}/plans/{pid}/checkpoints/c/approve"))
    run(client, b["id"])
    ok(act(client, b["id"], "fail", agent_id="w"))
    client_enum = {e.value for e in EventType} - wire.EVENTS_MISSING_FROM_CLIENT_ENUM
    # The escalation the failure filed logs the governance area's (reference) event type.
    written = {k for k, _ in events(client, iid) if k.startswith(("task.", "plan."))}
    assert len(written) >= 10
    assert written <= client_enum, written - client_enum


async def _claims(base_url: str, tid: str, n: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=base_url, headers=AUTH, timeout=30) as c:
        return list(
            await asyncio.gather(
                *[c.post(f"{API}/tasks/{tid}/claim", json={"agent_id": f"w{i}"}) for i in range(n)]
            )
        )


def test_concurrent_claims_one_winner(live_server: ServerProcess) -> None:
    with httpx.Client(base_url=live_server.base_url, headers=AUTH) as c:
        iid = c.post(f"{API}/intents", json={"title": "race"}).json()["id"]
        tid = c.post(f"{API}/tasks", json={"intent_id": iid, "name": "t"}).json()["id"]
        responses = asyncio.run(_claims(live_server.base_url, tid, 20))
        codes = sorted(r.status_code for r in responses)
        assert codes == [200] + [409] * 19, codes
        (winner,) = [r.json() for r in responses if r.status_code == 200]
        final = c.get(f"{API}/tasks/{tid}").json()
        assert (final["status"], final["assigned_agent"], final["version"]) == (
            "claimed",
            winner["assigned_agent"],
            3,
        )
        log = [e["event_type"] for e in c.get(f"{API}/intents/{iid}/events").json()]
        assert (log.count("task.claimed"), log.count("task.ready")) == (1, 1)


def test_a_closed_intent_keeps_its_tasks_and_plans_from_strangers(client: Any) -> None:
    iid = intent(client)
    tid = task(client, iid)["id"]
    pid = plan(client, iid, [tid])["id"]
    assert (
        client.put(f"{API}/intents/{iid}/acl", json={"default_policy": "closed"}).status_code == 200
    )
    stranger = {"X-API-Key": "agent-research-key"}
    for r in (
        client.get(f"{API}/tasks/{tid}", headers=stranger),
        client.get(f"{API}/plans/{pid}", headers=stranger),
        client.get(f"{API}/intents/{iid}/tasks", headers=stranger),
        client.post(f"{API}/tasks/{tid}/claim", json={}, headers=stranger),
        client.post(f"{API}/plans/{pid}/activate", headers=stranger),
        client.post(f"{API}/tasks", json={"intent_id": iid, "name": "x"}, headers=stranger),
    ):
        assert r.status_code == 403, r.request.url
    assert get(client, tid)["status"] == "pending"
    assert len(client.get(f"{API}/intents/{iid}/tasks").json()) == 1
