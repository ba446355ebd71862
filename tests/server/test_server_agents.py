"""RFC-0016 over HTTP: registration, heartbeats, health from heartbeat age, drain,
deregistration, lifecycle events, and the assignment guard."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from typing import Any

import httpx
import pytest

from openintent.core.converter import utcnow
from openintent.server import channels
from openintent.server.testing import DEV_KEY, ServerProcess

AUTH = {"X-API-Key": DEV_KEY}
API = "/api/v1/agents"
FAST = {"interval_seconds": 1, "unhealthy_after_seconds": 1, "dead_after_seconds": 30}


class FakeClock:
    """Stands in for ``utcnow`` in a service: time moves only when told."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def register(client: Any, agent_id: str, **body: Any) -> dict[str, Any]:
    r = client.post(f"{API}/register", json={"agent_id": agent_id, **body})
    assert r.status_code == 200, r.text
    return dict(r.json())


def events(client: Any, agent_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The agent's log, oldest first."""
    r = client.get(f"{API}/{agent_id}/events")
    assert r.status_code == 200, r.text
    return [(e["event_type"], e["payload"]) for e in reversed(r.json())]


def transitions(client: Any, agent_id: str) -> list[tuple[str, str, str]]:
    return [
        (p["previous_status"], p["new_status"], p["reason"])
        for kind, p in events(client, agent_id)
        if kind == "agent.lifecycle"
    ]


def fake_clock(client: Any) -> FakeClock:
    clock = FakeClock()
    client.app.state.services.get("agents").clock = clock
    return clock


def sweep(client: Any) -> int:
    service = client.app.state.services.get("agents")
    return int(client.blocking_portal.call(service.sweep))


def wait_for(check: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


# -- registration -----------------------------------------------------------------------------


def test_register_returns_the_reference_shape_and_logs_events(client: Any) -> None:
    body = register(
        client,
        "billing-1",
        name="Billing",
        role_id="billing",
        capabilities=["billing", "invoicing"],
        capacity={"max_concurrent_tasks": 5},
        endpoint="https://x.example/webhook",
        heartbeat_config={
            "interval_seconds": 10,
            "unhealthy_after_seconds": 20,
            "dead_after_seconds": 40,
        },
        metadata={"version": "1.2"},
        drain_timeout_seconds=120,
        status="dead",  # not settable: ignored
    )
    assert body["status"] == "active"
    assert body["version"] == 1
    assert body["agent_metadata"] == body["metadata"] == {"version": "1.2"}
    assert body["capacity"] == {"max_concurrent_tasks": 5}
    assert body["heartbeat_config"]["dead_after_seconds"] == 40
    assert body["last_heartbeat_at"] is None
    assert body["drain_timeout_seconds"] == 120
    assert client.get(f"{API}/billing-1/record").json() == body
    got = client.get(f"{API}/billing-1")
    assert got.json() == body
    assert got.headers["etag"] == '"1"'
    assert events(client, "billing-1") == [
        (
            "agent.registered",
            {
                "agent_id": "billing-1",
                "role_id": "billing",
                "capabilities": ["billing", "invoicing"],
            },
        ),
        (
            "agent.lifecycle",
            {
                "agent_id": "billing-1",
                "previous_status": "registering",
                "new_status": "active",
                "reason": "registered",
                "timestamp": body["registered_at"],
            },
        ),
    ]


def test_registering_again_updates_the_record(client: Any) -> None:
    register(client, "a1", capabilities=["x"], role_id="r1")
    again = register(client, "a1", capabilities=["y"], name="renamed")
    assert again["capabilities"] == ["y"]
    assert again["name"] == "renamed"
    assert again["role_id"] is None
    assert again["version"] == 2
    assert again["status"] == "active"
    assert [a["agent_id"] for a in client.get(API).json()] == ["a1"]
    registered = [p for kind, p in events(client, "a1") if kind == "agent.registered"]
    assert registered[-1] == {
        "agent_id": "a1",
        "role_id": None,
        "capabilities": ["y"],
        "reregistered": True,
    }


def test_rfc_create_endpoint_gives_201_etag_and_refuses_live_duplicates(client: Any) -> None:
    r = client.post(API, json={"capabilities": ["x"]})
    assert r.status_code == 201, r.text
    agent_id = r.json()["agent_id"]
    assert agent_id.startswith("agent_")
    assert r.headers["etag"] == '"1"'
    dup = client.post(API, json={"agent_id": agent_id})
    assert dup.status_code == 409
    assert "lease" not in dup.text.lower()
    assert dup.json()["current_version"] == 1
    assert client.delete(f"{API}/{agent_id}").json()["status"] == "deregistered"
    back = client.post(API, json={"agent_id": agent_id})
    assert back.status_code == 201
    assert back.json()["status"] == "active"
    assert transitions(client, agent_id)[-2:] == [
        ("active", "deregistered", "deregistered"),
        ("deregistered", "active", "re_registered"),
    ]


def test_concurrent_registrations_of_one_id_never_fail(live_server: ServerProcess) -> None:
    async def run() -> list[int]:
        async with httpx.AsyncClient(base_url=live_server.base_url, headers=AUTH) as c:

            async def one(n: int) -> int:
                r = await c.post(f"{API}/register", json={"agent_id": "same", "name": f"n{n}"})
                return r.status_code

            codes = await asyncio.gather(*(one(n) for n in range(12)))
            listed = (await c.get(API)).json()
            assert [a["agent_id"] for a in listed] == ["same"]
            assert listed[0]["version"] == 12
            return list(codes)

    assert asyncio.run(run()) == [200] * 12


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"agent_id": ""},
        {"agent_id": "a/b"},
        {"agent_id": 5},
        {"agent_id": "a", "capabilities": "x"},
        {"agent_id": "a", "capacity": {"max_concurrent_tasks": -1}},
        {"agent_id": "a", "capacity": {"max_concurrent_tasks": "5"}},
        {
            "agent_id": "a",
            "heartbeat_config": {"unhealthy_after_seconds": 10, "dead_after_seconds": 5},
        },
        {"agent_id": "a", "heartbeat_config": {"interval_seconds": 0}},
        {"agent_id": "a", "drain_timeout_seconds": -1},
        {"agent_id": "a", "metadata": []},
    ],
)
def test_bad_registrations_are_422_and_store_nothing(client: Any, body: dict[str, Any]) -> None:
    r = client.post(f"{API}/register", json=body)
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], list)
    assert client.get(API).json() == []


# -- heartbeats -------------------------------------------------------------------------------


def test_heartbeat_merges_load_and_answers_with_extras(client: Any) -> None:
    register(
        client, "hb", capacity={"max_concurrent_tasks": 5}, heartbeat_config={"interval_seconds": 7}
    )
    r = client.post(
        f"{API}/hb/heartbeat",
        json={
            "status": "active",
            "current_load": 3,
            "tasks_in_progress": ["t1", "t2"],
            "client_timestamp": "2026-01-01T00:00:00Z",
        },
    )
    assert r.status_code == 200, r.text
    reply = r.json()
    assert reply["status"] == "ok"
    assert reply["acknowledged"] is True
    assert reply["agent_status"] == "active"
    assert reply["pending_commands"] == []
    sent = dt.datetime.fromisoformat(reply["server_timestamp"])
    assert dt.datetime.fromisoformat(reply["next_heartbeat_at"]) - sent == dt.timedelta(seconds=7)
    record = client.get(f"{API}/hb/record").json()
    assert record["capacity"] == {
        "max_concurrent_tasks": 5,
        "current_load": 3,
        "tasks_in_progress": ["t1", "t2"],
    }
    assert record["last_heartbeat_at"] == reply["server_timestamp"]
    assert record["version"] == 1  # liveness data is not a record change
    client.post(f"{API}/hb/heartbeat", json={})
    assert client.get(f"{API}/hb/record").json()["capacity"]["current_load"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"status": "banana"},
        {"status": "dead"},
        {"current_load": "x"},
        {"current_load": -1},
        {"tasks_in_progress": [1]},
    ],
)
def test_bad_heartbeats_are_422_and_change_nothing(client: Any, body: dict[str, Any]) -> None:
    register(client, "hb")
    r = client.post(f"{API}/hb/heartbeat", json=body)
    assert r.status_code == 422, r.text
    assert client.get(f"{API}/hb/record").json()["last_heartbeat_at"] is None


def test_unknown_agents_are_404(client: Any) -> None:
    for method, path, body in [
        ("GET", f"{API}/nobody", None),
        ("GET", f"{API}/nobody/record", None),
        ("GET", f"{API}/nobody/events", None),
        ("POST", f"{API}/nobody/heartbeat", {}),
        ("PATCH", f"{API}/nobody/status", {"status": "draining"}),
        ("DELETE", f"{API}/nobody", None),
    ]:
        r = client.request(method, path, json=body)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["detail"] == "Agent not found"


# -- health from heartbeat age ----------------------------------------------------------------


def test_a_one_second_threshold_marks_an_agent_unhealthy_in_real_time(client: Any) -> None:
    register(client, "quick", heartbeat_config=FAST)
    client.post(f"{API}/quick/heartbeat", json={})
    time.sleep(1.2)
    assert client.get(f"{API}/quick/record").json()["status"] == "unhealthy"
    # the scheduler writes the transition with its event soon after
    assert wait_for(
        lambda: ("active", "unhealthy", "heartbeat_timeout") in transitions(client, "quick")
    )
    assert client.post(f"{API}/quick/heartbeat", json={}).json()["agent_status"] == "active"
    assert transitions(client, "quick")[-1] == ("unhealthy", "active", "heartbeat_resumed")
    assert client.get(f"{API}/quick/record").json()["status"] == "active"


def test_default_thresholds_with_an_injected_clock(client: Any) -> None:
    clock = fake_clock(client)
    register(client, "slow", role_id="ops")
    client.post(f"{API}/slow/heartbeat", json={})
    clock.advance(89)
    assert client.get(f"{API}/slow/record").json()["status"] == "active"
    clock.advance(2)  # 91 s of silence: past unhealthy_after_seconds (90)
    assert client.get(f"{API}/slow/record").json()["status"] == "unhealthy"
    assert sweep(client) in (0, 1)  # the running scheduler may have written it already
    clock.advance(210)  # 301 s: past dead_after_seconds (300)
    assert client.get(f"{API}/slow/record").json()["status"] == "dead"
    wait_for(
        lambda: (
            sweep(client) == 0
            and client.get(f"{API}/slow/events").json()[0]["event_type"] == "agent.dead"
        )
    )
    log = events(client, "slow")
    assert list(transitions(client, "slow"))[-2:] == [
        ("active", "unhealthy", "heartbeat_timeout"),
        ("unhealthy", "dead", "heartbeat_timeout"),
    ]
    dead = [p for kind, p in log if kind == "agent.dead"]
    assert dead == [
        {"agent_id": "slow", "role_id": "ops", "last_heartbeat": dead[0]["last_heartbeat"]}
    ]
    gone = client.post(f"{API}/slow/heartbeat", json={})
    assert gone.status_code == 410
    assert "register" in gone.json()["message"]
    assert client.get(f"{API}/slow/record").json()["status"] == "dead"


def test_silence_since_registration_counts_before_the_first_heartbeat(client: Any) -> None:
    clock = fake_clock(client)
    register(client, "quiet")
    clock.advance(301)
    assert client.get(f"{API}/quiet").json()["status"] == "dead"
    assert client.post(f"{API}/quiet/heartbeat", json={}).status_code == 410
    # the heartbeat's 410 came after the death was written, with its events
    assert transitions(client, "quiet")[-1] == ("active", "dead", "heartbeat_timeout")


# -- drain, deregistration, assignment guard ---------------------------------------------------


def _intent(client: Any) -> str:
    r = client.post("/api/v1/intents", json={"title": "work"})
    assert r.status_code == 200
    return str(r.json()["id"])


def test_drain_stops_new_assignments_and_completes_when_idle(client: Any) -> None:
    register(client, "worker")
    iid = _intent(client)
    assert (
        client.post(f"/api/v1/intents/{iid}/agents", json={"agent_id": "worker"}).status_code == 200
    )
    client.post(f"{API}/worker/heartbeat", json={"current_load": 1, "tasks_in_progress": ["t"]})
    r = client.patch(
        f"{API}/worker/status", json={"status": "draining", "drain_timeout_seconds": 600}
    )
    assert r.status_code == 200
    assert r.json()["status"] == "draining"
    assert r.json()["version"] == 2
    other = _intent(client)
    refused = client.post(f"/api/v1/intents/{other}/agents", json={"agent_id": "worker"})
    assert refused.status_code == 409
    assert "draining" in refused.json()["message"]
    assert "lease" not in refused.text.lower()
    assert client.get(f"/api/v1/intents/{other}/agents").json() == []
    assert [e["event_type"] for e in client.get(f"/api/v1/intents/{other}/events").json()] == [
        "intent_created"
    ]
    busy = client.post(
        f"{API}/worker/heartbeat", json={"current_load": 1, "tasks_in_progress": ["t"]}
    ).json()
    assert busy["agent_status"] == "draining"
    assert busy["pending_commands"][0]["command"] == "drain"
    assert busy["pending_commands"][0]["drain_timeout_seconds"] == 600
    done = client.post(f"{API}/worker/heartbeat", json={}).json()  # no load, no tasks
    assert done["agent_status"] == "deregistered"
    assert done["pending_commands"] == [{"command": "stop", "reason": "deregistered"}]
    assert client.post(f"{API}/worker/heartbeat", json={}).status_code == 410
    assert transitions(client, "worker")[1:] == [
        ("active", "draining", "drain_initiated"),
        ("draining", "deregistered", "drain_completed"),
    ]


def test_an_agent_can_announce_its_own_drain(client: Any) -> None:
    register(client, "self")
    r = client.post(f"{API}/self/heartbeat", json={"status": "draining", "current_load": 2})
    assert r.json()["agent_status"] == "draining"
    assert (
        client.post(f"{API}/self/heartbeat", json={"status": "active"}).json()["agent_status"]
        == "deregistered"
    )


def test_drain_timeout_with_an_injected_clock(client: Any) -> None:
    clock = fake_clock(client)
    for agent in ("polite", "stuck"):
        register(client, agent)
        client.post(
            f"{API}/{agent}/heartbeat", json={"current_load": 1, "tasks_in_progress": ["t"]}
        )
        client.patch(
            f"{API}/{agent}/status", json={"status": "draining", "drain_timeout_seconds": 120}
        )
    clock.advance(60)
    client.post(f"{API}/polite/heartbeat", json={"current_load": 1, "tasks_in_progress": ["t"]})
    clock.advance(61)  # past the deadline: "polite" kept beating, "stuck" fell silent with work
    assert client.get(f"{API}/polite").json()["status"] == "deregistered"
    assert client.get(f"{API}/stuck").json()["status"] == "dead"
    sweep(client)
    assert transitions(client, "polite")[-1] == ("draining", "deregistered", "drain_timeout")
    assert transitions(client, "stuck")[-1] == ("draining", "dead", "drain_timeout")


def test_dead_and_deregistered_agents_take_no_assignments_unregistered_ones_do(client: Any) -> None:
    clock = fake_clock(client)
    register(client, "gone")
    register(client, "left")
    assert client.delete(f"{API}/left").status_code == 200
    clock.advance(400)
    iid = _intent(client)
    for agent, status in (("gone", "dead"), ("left", "deregistered")):
        r = client.post(f"/api/v1/intents/{iid}/agents", json={"agent_id": agent})
        assert r.status_code == 409, r.text
        assert status in r.json()["message"]
    assert (
        client.post(
            f"/api/v1/intents/{iid}/agents", json={"agent_id": "never-registered"}
        ).status_code
        == 200
    )


def test_deregistration_and_later_heartbeats_are_gone(client: Any) -> None:
    register(client, "bye")
    r = client.delete(f"{API}/bye")
    assert r.status_code == 200
    assert r.json()["status"] == "deregistered"
    assert r.headers["etag"] == '"2"'
    gone = client.post(f"{API}/bye/heartbeat", json={"status": "active"})
    assert gone.status_code == 410
    assert client.delete(f"{API}/bye").status_code == 200  # already deregistered: no change
    assert len(transitions(client, "bye")) == 2
    # the reference client's way: PATCH status
    register(client, "bye2")
    assert (
        client.patch(f"{API}/bye2/status", json={"status": "deregistered"}).json()["status"]
        == "deregistered"
    )


@pytest.mark.parametrize(
    ("start", "target", "code"),
    [
        ("active", "unhealthy", 409),
        ("active", "registering", 409),
        ("active", "banana", 422),
        ("active", "active", 200),
        ("dead", "draining", 409),
        ("dead", "active", 409),
        ("draining", "active", 200),
        ("deregistered", "dead", 409),
    ],
)
def test_status_changes_follow_the_lifecycle(
    client: Any, start: str, target: str, code: int
) -> None:
    register(client, "s")
    if start != "active":
        client.patch(f"{API}/s/status", json={"status": start})
    before = client.get(f"{API}/s").json()
    r = client.patch(f"{API}/s/status", json={"status": target})
    assert r.status_code == code, r.text
    if code != 200:
        assert client.get(f"{API}/s").json() == before


def test_status_if_match_is_honoured_when_sent(client: Any) -> None:
    register(client, "v")
    stale = client.patch(f"{API}/v/status", json={"status": "draining"}, headers={"If-Match": "7"})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 1
    assert (
        client.patch(
            f"{API}/v/status", json={"status": "draining"}, headers={"If-Match": "x"}
        ).status_code
        == 400
    )
    ok = client.patch(f"{API}/v/status", json={"status": "draining"}, headers={"If-Match": '"1"'})
    assert ok.status_code == 200
    assert ok.headers["etag"] == '"2"'


# -- listing ----------------------------------------------------------------------------------


def test_list_filters(client: Any) -> None:
    register(
        client, "a", role_id="r", capabilities=["x", "y"], capacity={"max_concurrent_tasks": 4}
    )
    register(client, "b", role_id="r", capabilities=["z"])
    register(client, "c", capabilities=["x"])
    client.post(f"{API}/a/heartbeat", json={"current_load": 3})
    client.patch(f"{API}/c/status", json={"status": "dead"})

    def ids(query: str) -> list[str]:
        r = client.get(f"{API}{query}")
        assert r.status_code == 200, r.text
        return [a["agent_id"] for a in r.json()]

    assert ids("") == ["a", "b", "c"]  # every status, as the reference
    assert ids("?role_id=r") == ["a", "b"]
    assert ids("?status=dead") == ["c"]
    assert ids("?status=active,dead") == ["a", "b", "c"]
    assert ids("?capabilities=x") == ["a", "c"]
    assert ids("?capabilities=z,y") == ["a", "b"]
    assert ids("?min_available_capacity=2") == ["b"]  # a: 4 - 3 = 1; b: default 5
    assert client.get(f"{API}?status=banana").status_code == 422
    assert client.get(f"{API}?min_available_capacity=-1").status_code == 422


# -- events on the agent's stream -------------------------------------------------------------


def test_lifecycle_events_are_streamed_on_the_agent_channel(client: Any) -> None:
    register(client, "streamed")
    client.patch(f"{API}/streamed/status", json={"status": "draining"})
    db = client.app.state.db
    messages = client.blocking_portal.call(db.stream_after, [channels.agent("streamed")], 0)
    names = [m.name for m in messages]
    assert names == ["agent.registered", "agent.lifecycle", "agent.lifecycle"]
    last = json.loads(messages[-1].data)
    assert last["agent_id"] == "streamed"
    assert last["payload"]["new_status"] == "draining"
