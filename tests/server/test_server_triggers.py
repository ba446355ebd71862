"""RFC-0017 over HTTP: trigger records, and triggers that fire (manual, cron, events,
webhooks) into intents, with templates, assignment, history and deduplication."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from typing import Any

import httpx
import pytest

from openintent.core.converter import utcnow
from openintent.server.services.triggers import signature
from openintent.server.testing import DEV_KEY, ServerProcess

AUTH = {"X-API-Key": DEV_KEY}
API = "/api/v1/triggers"
DAILY = {"cron": "0 9 * * MON-FRI", "timezone": "UTC"}


class FakeClock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def create(client: Any, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "t")
    body.setdefault("type", "schedule")
    r = client.post(API, json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def history(client: Any, trigger_id: str) -> list[dict[str, Any]]:
    r = client.get(f"{API}/{trigger_id}/history")
    assert r.status_code == 200, r.text
    return list(reversed(r.json()))


def created(client: Any, trigger_id: str) -> list[str]:
    return [h["intent_id"] for h in history(client, trigger_id) if h["outcome"] == "created"]


def intent(client: Any, intent_id: str) -> dict[str, Any]:
    return dict(client.get(f"/api/v1/intents/{intent_id}").json())


def event_types(client: Any, intent_id: str) -> list[str]:
    return [
        e["event_type"] for e in reversed(client.get(f"/api/v1/intents/{intent_id}/events").json())
    ]


def wait_for(check: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def total_intents(client: Any) -> int:
    return int(client.get("/api/v1/intents").json()["total"])


# -- records ----------------------------------------------------------------------------------


def test_create_get_list_have_the_reference_shape(client: Any) -> None:
    body = create(
        client,
        name="Daily",
        condition=DAILY,
        intent_template={
            "type": "compliance.review",
            "title": "Daily review",
            "priority": "medium",
            "context": {"scope": "all"},
        },
        deduplication="skip",
        namespace="compliance",
    )
    assert body["enabled"] is True
    assert body["fire_count"] == 0
    assert body["version"] == 1
    assert body["condition"] == DAILY
    assert body["last_fired_at"] is None
    assert body["intent_template"]["context"] == {"scope": "all"}
    assert body["next_fire_at"].endswith("09:00:00")
    assert client.get(f"{API}/{body['trigger_id']}").json() == body
    create(client, name="other", type="event", condition={"event": "x-custom"})
    assert [t["name"] for t in client.get(API).json()] == ["Daily", "other"]
    assert [t["name"] for t in client.get(f"{API}?namespace=compliance").json()] == ["Daily"]
    assert [t["name"] for t in client.get(f"{API}?type=event").json()] == ["other"]
    assert client.get(f"{API}?enabled=false").json() == []
    assert client.get(f"{API}?type=banana").status_code == 422


def test_patch_is_compare_and_set_on_if_match(client: Any) -> None:
    t = create(client, condition=DAILY)
    tid = t["trigger_id"]
    assert client.patch(f"{API}/{tid}", json={"enabled": False}).status_code == 428
    assert (
        client.patch(
            f"{API}/{tid}", json={"enabled": False}, headers={"If-Match": '"1"'}
        ).status_code
        == 428
    )
    stale = client.patch(f"{API}/{tid}", json={"enabled": False}, headers={"If-Match": "5"})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 1
    assert client.patch(f"{API}/nope", json={}, headers={"If-Match": "1"}).status_code == 404
    r = client.patch(
        f"{API}/{tid}",
        json={
            "enabled": False,
            "deduplication": "allow",
            "condition": {"cron": "0 10 * * *"},
            "intent_template": {"title": "new"},
            "name": "ignored",
            "type": "webhook",
        },
        headers={"If-Match": "1"},
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["version"], got["enabled"], got["name"], got["type"]) == (2, False, "t", "schedule")
    assert got["condition"] == {"cron": "0 10 * * *"}
    assert "next_fire_at" not in got
    back = client.patch(f"{API}/{tid}", json={"enabled": True}, headers={"If-Match": "2"}).json()
    assert back["next_fire_at"].endswith("10:00:00")


def test_delete_keeps_history(client: Any) -> None:
    t = create(client)
    tid = t["trigger_id"]
    assert client.post(f"{API}/{tid}/fire").status_code == 200
    r = client.delete(f"{API}/{tid}")
    assert r.status_code == 200
    assert r.json() == {"status": "deleted", "trigger_id": tid}
    assert client.get(f"{API}/{tid}").status_code == 404
    assert client.delete(f"{API}/{tid}").status_code == 404
    assert client.post(f"{API}/{tid}/fire").status_code == 404
    assert [h["outcome"] for h in history(client, tid)] == ["created"]
    assert client.get(f"{API}/never/history").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "type": "banana"},
        {"name": "x", "type": "schedule", "deduplication": "sometimes"},
        {"name": "", "type": "schedule"},
        {"type": "schedule"},
        {"name": "x", "type": "schedule", "condition": {"cron": "not a cron"}},
        {
            "name": "x",
            "type": "schedule",
            "condition": {"cron": "* * * * *", "timezone": "Mars/Olympus"},
        },
        {"name": "x", "type": "schedule", "condition": {"at": "soon"}},
        {"name": "x", "type": "event", "condition": {"filter": {}}},
        {"name": "x", "type": "webhook", "condition": {"method": "POST"}},
        {"name": "x", "type": "webhook", "condition": {"path": "/a b"}},
        {"name": "x", "type": "webhook", "condition": {"path": "/x", "method": "FETCH"}},
        {"name": "x", "type": "schedule", "intent_template": {"context": []}},
        {"name": "x", "type": "schedule", "condition": []},
    ],
)
def test_bad_triggers_are_422_and_store_nothing(client: Any, body: dict[str, Any]) -> None:
    r = client.post(API, json=body)
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], list)
    assert client.get(API).json() == []


def test_bad_updates_are_422_and_change_nothing(client: Any) -> None:
    t = create(client, condition=DAILY)
    for body in ({"condition": {"cron": "61 * * * *"}}, {"deduplication": "x"}, {"enabled": "yes"}):
        r = client.patch(f"{API}/{t['trigger_id']}", json=body, headers={"If-Match": "1"})
        assert r.status_code == 422, (body, r.text)
    assert client.get(f"{API}/{t['trigger_id']}").json() == t


def test_webhook_secret_is_write_only(client: Any) -> None:
    t = create(client, type="webhook", condition={"path": "/hooks/pay", "secret": "whsec_SECRET"})
    tid = t["trigger_id"]
    assert t["condition"] == {"path": "/hooks/pay"}
    reads = [client.get(f"{API}/{tid}").text, client.get(API).text]
    patched = client.patch(
        f"{API}/{tid}",
        json={"condition": {"path": "/hooks/pay", "method": "POST"}},
        headers={"If-Match": "1"},
    )
    reads.append(patched.text)
    assert all("whsec_SECRET" not in text for text in reads)
    body = b'{"a": 1}'
    unsigned = client.post(
        "/webhooks/hooks/pay", content=body, headers={"Content-Type": "application/json"}
    )
    assert unsigned.status_code == 401  # the PATCH without "secret" kept it
    signed = client.post(
        "/webhooks/hooks/pay",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-OpenIntent-Signature": signature("whsec_SECRET", body),
        },
    )
    assert signed.status_code == 202, signed.text
    client.patch(
        f"{API}/{tid}",
        json={"condition": {"path": "/hooks/pay", "secret": None}},
        headers={"If-Match": "2"},
    )
    assert client.post("/webhooks/hooks/pay", json={"a": 2}).status_code == 202


def test_one_webhook_route_per_trigger(client: Any) -> None:
    create(client, type="webhook", condition={"path": "/hooks/a"})
    dup = client.post(
        API, json={"name": "x", "type": "webhook", "condition": {"path": "/hooks/a/"}}
    )
    assert dup.status_code == 409
    assert (
        client.post(
            API,
            json={
                "name": "x",
                "type": "webhook",
                "condition": {"path": "/hooks/a", "method": "PUT"},
            },
        ).status_code
        == 200
    )
    other = create(client, type="webhook", condition={"path": "/hooks/b"})
    moved = client.patch(
        f"{API}/{other['trigger_id']}",
        json={"condition": {"path": "/hooks/a"}},
        headers={"If-Match": "1"},
    )
    assert moved.status_code == 409
    assert client.get(f"{API}/{other['trigger_id']}").json()["version"] == 1


# -- manual fire ------------------------------------------------------------------------------


def test_manual_fire_creates_the_intent_from_the_template_and_assigns_it(client: Any) -> None:
    client.post("/api/v1/agents/register", json={"agent_id": "reviewer"})
    t = create(
        client,
        name="Daily",
        namespace="compliance",
        intent_template={
            "type": "review",
            "title": "{{ trigger.name }} #{{ trigger.fire_count }}",
            "assignee": "reviewer",
            "priority": "high",
            "tags": ["a"],
            "context": {"n": "{{ trigger.fire_count }}", "fixed": {"k": [1]}},
        },
    )
    tid = t["trigger_id"]
    r = client.post(f"{API}/{tid}/fire")
    assert r.status_code == 200, r.text
    fired = r.json()
    assert fired["status"] == "fired"
    assert fired["fire_count"] == 1
    made = intent(client, fired["intent_id"])
    assert fired["intent"]["id"] == made["id"]
    assert made["title"] == "Daily #1"
    assert made["state"]["n"] == 1
    assert made["state"]["fixed"] == {"k": [1]}
    lineage = made["state"]["_trigger"]
    assert lineage["created_by"] == "trigger"
    assert lineage["trigger_id"] == tid
    assert (lineage["trigger_depth"], lineage["trigger_chain"]) == (1, [tid])
    assert (lineage["template_type"], lineage["priority"], lineage["tags"]) == (
        "review",
        "high",
        ["a"],
    )
    assert made["created_by"] == f"trigger:{tid}"
    agents = client.get(f"/api/v1/intents/{made['id']}/agents").json()
    assert [a["agent_id"] for a in agents] == ["reviewer"]
    assert event_types(client, made["id"]) == ["intent_created", "trigger.fired", "agent_assigned"]
    trigger_fired = client.get(
        f"/api/v1/intents/{made['id']}/events?event_type=trigger.fired"
    ).json()[0]
    assert trigger_fired["payload"]["created_intent_id"] == made["id"]
    after = client.get(f"{API}/{tid}").json()
    assert after["fire_count"] == 1
    assert after["version"] == 1
    assert after["last_fired_at"]
    [entry] = history(client, tid)
    assert (entry["source"], entry["outcome"], entry["intent_id"]) == (
        "manual",
        "created",
        made["id"],
    )


def test_disabled_triggers_never_fire(client: Any) -> None:
    t = create(client, condition={"cron": "* * * * * *"})
    tid = t["trigger_id"]
    client.patch(f"{API}/{tid}", json={"enabled": False}, headers={"If-Match": "1"})
    r = client.post(f"{API}/{tid}/fire")
    assert r.status_code == 409
    assert "disabled" in r.json()["message"]
    hook = create(client, type="webhook", condition={"path": "/hooks/off"})
    client.patch(f"{API}/{hook['trigger_id']}", json={"enabled": False}, headers={"If-Match": "1"})
    assert client.post("/webhooks/hooks/off", json={}).status_code == 409
    time.sleep(1.5)  # the every-second schedule would have fired by now
    assert history(client, tid) == []
    assert total_intents(client) == 0


def test_a_refused_assignment_leaves_the_intent_unassigned(client: Any) -> None:
    client.post("/api/v1/agents/register", json={"agent_id": "leaving"})
    client.patch("/api/v1/agents/leaving/status", json={"status": "draining"})
    t = create(client, intent_template={"title": "x", "assignee": "leaving"})
    fired = client.post(f"{API}/{t['trigger_id']}/fire").json()
    assert client.get(f"/api/v1/intents/{fired['intent_id']}/agents").json() == []
    [entry] = history(client, t["trigger_id"])
    assert "draining" in entry["detail"]["assign_error"]


def test_concurrent_manual_fires_are_all_counted(live_server: ServerProcess) -> None:
    async def run() -> None:
        async with httpx.AsyncClient(base_url=live_server.base_url, headers=AUTH) as c:
            tid = (await c.post(API, json={"name": "n", "type": "schedule"})).json()["trigger_id"]
            replies = await asyncio.gather(*(c.post(f"{API}/{tid}/fire") for _ in range(15)))
            assert all(r.status_code == 200 for r in replies)
            assert sorted(r.json()["fire_count"] for r in replies) == list(range(1, 16))
            assert (await c.get(f"{API}/{tid}")).json()["fire_count"] == 15
            assert (await c.get("/api/v1/intents")).json()["total"] == 15

    asyncio.run(run())


# -- deduplication ----------------------------------------------------------------------------


def _complete(client: Any, intent_id: str) -> None:
    version = intent(client, intent_id)["version"]
    r = client.post(
        f"/api/v1/intents/{intent_id}/status",
        json={"status": "completed"},
        headers={"If-Match": str(version)},
    )
    assert r.status_code == 200, r.text


def test_skip_deduplication(client: Any) -> None:
    t = create(
        client, deduplication="skip", namespace="ns", intent_template={"type": "job", "title": "j"}
    )
    tid = t["trigger_id"]
    first = client.post(f"{API}/{tid}/fire").json()
    again = client.post(f"{API}/{tid}/fire").json()
    assert again == {"fire_count": 1, "status": "skipped", "deduplicated": True}
    assert event_types(client, first["intent_id"])[-1] == "trigger.skipped"
    # another namespace is another scope
    other = create(client, deduplication="skip", namespace="other", intent_template={"type": "job"})
    assert client.post(f"{API}/{other['trigger_id']}/fire").json()["status"] == "fired"
    _complete(client, first["intent_id"])
    assert client.post(f"{API}/{tid}/fire").json()["fire_count"] == 2
    assert [h["outcome"] for h in history(client, tid)] == ["created", "skipped", "created"]
    assert history(client, tid)[1]["detail"]["blocking_intent_id"] == first["intent_id"]


def test_queue_deduplication_releases_one_firing_when_the_intent_ends(client: Any) -> None:
    t = create(client, deduplication="queue", intent_template={"type": "q", "title": "q"})
    tid = t["trigger_id"]
    first = client.post(f"{API}/{tid}/fire").json()
    assert client.post(f"{API}/{tid}/fire").json()["status"] == "queued"
    assert client.post(f"{API}/{tid}/fire").json()["status"] == "skipped"  # one pending at most
    time.sleep(1.2)
    assert len(created(client, tid)) == 1  # still blocked
    _complete(client, first["intent_id"])
    assert wait_for(lambda: len(created(client, tid)) == 2)
    assert [h["outcome"] for h in history(client, tid)] == [
        "created",
        "queued",
        "skipped",
        "created",
    ]
    assert history(client, tid)[-1]["source"] == "queue"


# -- schedules ---------------------------------------------------------------------------------


def test_an_every_second_cron_fires_within_two_seconds(client: Any) -> None:
    t = create(
        client,
        condition={"cron": "* * * * * *"},
        intent_template={"title": "tick {{ trigger.fire_count }}"},
    )
    tid = t["trigger_id"]
    assert wait_for(lambda: created(client, tid), timeout=2.0)
    client.patch(f"{API}/{tid}", json={"enabled": False}, headers={"If-Match": "1"})
    entries = [h for h in history(client, tid) if h["outcome"] == "created"]
    dues = [h["due_at"] for h in entries]
    assert len(dues) == len(set(dues))
    assert all(h["source"] == "schedule" for h in entries)
    first = intent(client, entries[0]["intent_id"])
    assert first["title"] == "tick 1"
    due = dt.datetime.fromisoformat(entries[0]["due_at"])
    assert dt.datetime.fromisoformat(first["created_at"]) - due < dt.timedelta(seconds=1)


def test_schedules_with_an_injected_clock(client: Any) -> None:
    # The server's own scheduler runs the same service, so it would read the injected
    # clock too and fire concurrently with the passes below; only the test drives it.
    client.blocking_portal.call(client.app.state.scheduler.stop)
    service = client.app.state.services.get("triggers")
    clock = FakeClock(dt.datetime(2026, 7, 1, 6, 0))  # a Wednesday
    service.clock = clock
    t = create(client, condition={"cron": "0 9 * * MON-FRI", "timezone": "Europe/Paris"})
    tid = t["trigger_id"]
    assert t["next_fire_at"] == "2026-07-01T07:00:00"  # 09:00 in Paris, summer time

    def run() -> int:
        return int(client.blocking_portal.call(service.run_schedules))

    clock.advance(minutes=59)
    run()
    assert created(client, tid) == []
    clock.advance(minutes=1, seconds=5)
    run()
    run()
    assert len(created(client, tid)) == 1
    assert client.get(f"{API}/{tid}").json()["next_fire_at"] == "2026-07-02T07:00:00"
    clock.advance(days=3)  # Saturday 07:00 UTC: Thursday's and Friday's fires were missed
    run()
    outcomes = [(h["outcome"], h["due_at"]) for h in history(client, tid)]
    assert outcomes == [
        ("created", "2026-07-01T07:00:00"),
        ("missed", "2026-07-02T07:00:00"),
    ]
    assert client.get(f"{API}/{tid}").json()["next_fire_at"] == "2026-07-06T07:00:00"  # Monday


def test_one_shot_at_fires_once_then_disables(client: Any) -> None:
    at = (utcnow() + dt.timedelta(seconds=1)).replace(microsecond=0)
    t = create(client, condition={"at": at.isoformat()})
    tid = t["trigger_id"]
    assert wait_for(lambda: created(client, tid), timeout=4.0)
    after = client.get(f"{API}/{tid}").json()
    assert after["enabled"] is False
    assert after["version"] == 1
    assert "next_fire_at" not in after
    time.sleep(0.5)
    assert len(history(client, tid)) == 1


def test_window_bounds_the_schedule(client: Any) -> None:
    ended = create(client, condition={"cron": "* * * * * *", "ends_at": "2020-01-01T00:00:00Z"})
    assert "next_fire_at" not in ended
    later = create(client, condition={"cron": "0 0 * * *", "starts_at": "2031-05-05T10:00:00"})
    assert later["next_fire_at"] == "2031-05-06T00:00:00"


# -- events ------------------------------------------------------------------------------------


def test_event_trigger_fires_on_matching_events_only(client: Any) -> None:
    t = create(
        client,
        type="event",
        condition={"event": "intent.created", "filter": {"title": "order *"}},
        intent_template={
            "title": "follow up {{ event.payload.title }}",
            "context": {"source": "{{ event.intent_id }}"},
        },
    )
    tid = t["trigger_id"]
    hit = client.post("/api/v1/intents", json={"title": "order 42"}).json()
    client.post("/api/v1/intents", json={"title": "something else"})
    assert wait_for(lambda: created(client, tid))
    time.sleep(0.5)
    [made_id] = created(client, tid)
    made = intent(client, made_id)
    assert made["title"] == "follow up order 42"
    assert made["state"]["source"] == hit["id"]
    [entry] = history(client, tid)
    assert entry["source"] == "event"
    assert entry["event_id"]


def test_event_sources_globs_and_custom_types(client: Any) -> None:
    done = create(client, type="event", condition={"event": "intent.resolved"})
    glob = create(client, type="event", condition={"event": "x-*", "filter": {"level": 2}})
    iid = client.post("/api/v1/intents", json={"title": "a"}).json()["id"]
    client.post(
        f"/api/v1/intents/{iid}/events", json={"event_type": "x-alarm", "payload": {"level": 1}}
    )
    client.post(
        f"/api/v1/intents/{iid}/events", json={"event_type": "x-alarm", "payload": {"level": 2}}
    )
    _complete(client, iid)
    assert wait_for(
        lambda: created(client, done["trigger_id"]) and created(client, glob["trigger_id"])
    )
    time.sleep(0.5)
    assert len(created(client, done["trigger_id"])) == 1
    assert len(created(client, glob["trigger_id"])) == 1


def test_agent_events_fire_triggers(client: Any) -> None:
    t = create(
        client,
        type="event",
        condition={"event": "agent.registered", "filter": {"role_id": "ops"}},
        intent_template={"title": "welcome {{ event.agent_id }}"},
    )
    client.post("/api/v1/agents/register", json={"agent_id": "dev-1", "role_id": "dev"})
    client.post("/api/v1/agents/register", json={"agent_id": "ops-1", "role_id": "ops"})
    assert wait_for(lambda: created(client, t["trigger_id"]))
    time.sleep(0.3)
    [made] = created(client, t["trigger_id"])
    assert intent(client, made)["title"] == "welcome ops-1"


def test_events_before_the_trigger_existed_never_fire_it(client: Any) -> None:
    client.post("/api/v1/intents", json={"title": "old"})
    time.sleep(0.5)
    t = create(client, type="event", condition={"event": "intent_created"})
    time.sleep(1.0)
    assert history(client, t["trigger_id"]) == []


def test_cascades_stop_at_depth_ten(client: Any) -> None:
    t = create(
        client,
        type="event",
        condition={"event": "intent.created"},
        intent_template={"title": "echo"},
    )
    tid = t["trigger_id"]
    seed = client.post("/api/v1/intents", json={"title": "seed"}).json()
    assert wait_for(
        lambda: any(h["outcome"] == "cascade_limit" for h in history(client, tid)), timeout=10
    )
    made = created(client, tid)
    assert len(made) == 10
    depths = sorted(intent(client, i)["state"]["_trigger"]["trigger_depth"] for i in made)
    assert depths == list(range(1, 11))
    deepest = next(i for i in made if intent(client, i)["state"]["_trigger"]["trigger_depth"] == 10)
    assert "trigger.cascade_limit" in event_types(client, deepest)
    assert seed["id"] not in made


# -- webhooks ----------------------------------------------------------------------------------


def _post_hook(client: Any, path: str, body: Any, secret: str | None = None, **headers: str) -> Any:
    raw = json.dumps(body).encode()
    sent = {"Content-Type": "application/json", "X-API-Key": "", **headers}
    if secret is not None:
        sent["X-OpenIntent-Signature"] = signature(secret, raw)
    return client.post(path, content=raw, headers=sent)


def test_webhook_creates_an_intent_from_body_headers_query_and_transform(client: Any) -> None:
    t = create(
        client,
        type="webhook",
        condition={
            "path": "/hooks/stripe-payment",
            "secret": "s3cret",
            "transform": {"amount": "{{ body.data.amount }}", "who": "{{ headers.x-customer }}"},
        },
        intent_template={
            "title": "Payment {{ body.data.amount }} ({{ query.env }})",
            "assignee": "billing",
        },
    )
    r = _post_hook(
        client,
        "/webhooks/hooks/stripe-payment?env=prod",
        {"data": {"amount": 125}},
        "s3cret",
        **{"X-Customer": "acme"},
    )
    assert r.status_code == 202, r.text
    receipt = r.json()
    assert receipt["trigger_id"] == t["trigger_id"]
    made = intent(client, receipt["intent_id"])
    assert made["title"] == "Payment 125 (prod)"
    assert made["state"]["amount"] == 125
    assert made["state"]["who"] == "acme"
    assert "s3cret" not in json.dumps(made)
    assert [a["agent_id"] for a in client.get(f"/api/v1/intents/{made['id']}/agents").json()] == [
        "billing"
    ]


def test_webhook_refusals(client: Any) -> None:
    create(client, type="webhook", condition={"path": "/hooks/x", "secret": "k"})
    assert _post_hook(client, "/webhooks/hooks/x", {}).status_code == 401
    assert _post_hook(client, "/webhooks/hooks/x", {}, "wrong").status_code == 401
    assert _post_hook(client, "/webhooks/hooks/nowhere", {}).status_code == 404
    assert client.put("/webhooks/hooks/x", json={}).status_code == 404  # no PUT receiver
    bad = client.post(
        "/webhooks/hooks/x", content=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert bad.status_code == 422
    text = client.post("/webhooks/hooks/x", content=b"a=1", headers={"Content-Type": "text/plain"})
    assert text.status_code == 422
    assert total_intents(client) == 0


def test_webhook_deduplication_answers_200(client: Any) -> None:
    create(
        client,
        type="webhook",
        condition={"path": "/hooks/d"},
        deduplication="skip",
        intent_template={"type": "d"},
    )
    first = _post_hook(client, "/webhooks/hooks/d", {})
    again = _post_hook(client, "/webhooks/hooks/d", {})
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json()["deduplicated"] is True
    assert again.json()["intent_id"] == first.json()["intent_id"]


def test_webhook_rate_limit(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from openintent.server.services.triggers import webhooks

    monkeypatch.setattr(webhooks, "WEBHOOK_RATE_PER_MINUTE", 2)
    create(client, type="webhook", condition={"path": "/hooks/r"})
    codes = [_post_hook(client, "/webhooks/hooks/r", {}).status_code for _ in range(3)]
    assert codes == [202, 202, 429]
    assert total_intents(client) == 2
