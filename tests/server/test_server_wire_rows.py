"""JSON written straight from stored rows (no model round trip): the event-log listing,
a single intent and the intent writes' answers must be exactly what the model path
gives (the stored row read into an ``Intent``, then ``to_wire``)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from litestar.testing import TestClient

from openintent.core.converter import to_wire
from openintent.server import ServerConfig, create_app
from openintent.server.http.responses import json_bytes
from openintent.server.testing import DEV_KEY

AUTH = {"X-API-Key": DEV_KEY}

PAYLOADS: list[dict[str, Any]] = [
    {},
    {"text": 'héllo wörld — ✓ \u2028 "quoted" \\ back', "emoji": "🙂"},
    {"nested": {"list": [1, 2.5, -3e-7, True, False, None], "deep": {"x": {"y": [{}]}}}},
    {"big": 9_007_199_254_740_993, "neg": -(2**63), "float": 1.0, "tiny": 5e-324},
    {"control": "tab\tnewline\ncr\r", "zero_width": "\u200b"},
]


def _log(client: Any, iid: str, event_type: str, payload: dict[str, Any], **headers: str) -> Any:
    r = client.post(
        f"/api/v1/intents/{iid}/events",
        json={"event_type": event_type, "payload": payload},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_listing_serves_each_event_as_it_was_answered_when_logged(client: Any) -> None:
    iid = client.post("/api/v1/intents", json={"title": "log"}).json()["id"]
    logged = [
        _log(client, iid, kind, payload, **({"X-Agent-ID": "agent-7"} if n % 2 else {}))
        for n, (kind, payload) in enumerate(
            zip(["comment", "my.custom.type", "comment", "tool_call", "x"], PAYLOADS, strict=True)
        )
    ]
    listed = client.get(f"/api/v1/intents/{iid}/events").json()
    assert listed[: len(logged)] == list(reversed(logged))
    assert [e["event_type"] for e in listed[len(logged) :]] == ["intent_created"]
    # byte-level: a compact UTF-8 document, non-ASCII unescaped
    raw = client.get(f"/api/v1/intents/{iid}/events", params={"limit": 5}).content
    assert "héllo wörld".encode() in raw
    assert b'"payload":{}' in raw


def test_listing_filters_and_pages_like_the_log(client: Any) -> None:
    iid = client.post("/api/v1/intents", json={"title": "log"}).json()["id"]
    ids = [_log(client, iid, "a" if n % 2 else "b", {"n": n})["id"] for n in range(7)]
    page = client.get(f"/api/v1/intents/{iid}/events", params={"limit": 2, "offset": 1}).json()
    assert [e["id"] for e in page] == [ids[5], ids[4]]
    only_a = client.get(f"/api/v1/intents/{iid}/events", params={"event_type": "a"}).json()
    assert [e["payload"]["n"] for e in only_a] == [5, 3, 1]
    first = client.get(f"/api/v1/intents/{iid}/events").json()[-1]
    later = dt.datetime.fromisoformat(first["created_at"]) + dt.timedelta(days=1)
    assert (
        client.get(f"/api/v1/intents/{iid}/events", params={"since": later.isoformat()}).json()
        == []
    )
    since_start = client.get(
        f"/api/v1/intents/{iid}/events",
        params={"since": first["created_at"], "event_type": "b"},
    ).json()
    assert [e["payload"]["n"] for e in since_start] == [6, 4, 2, 0]


@pytest.mark.parametrize("limit", [1, 1000])
def test_listing_of_unknown_intent_is_404_and_empty_log_is_empty(client: Any, limit: int) -> None:
    r = client.get("/api/v1/intents/nope/events", params={"limit": limit})
    assert r.status_code == 404
    iid = client.post("/api/v1/intents", json={"title": "log"}).json()["id"]
    r = client.get(f"/api/v1/intents/{iid}/events", params={"limit": limit, "event_type": "none"})
    assert r.status_code == 200
    assert r.content == b"[]"
    assert r.headers["content-type"].startswith("application/json")


def _model_path(client: Any, intent_id: str) -> Any:
    """The intent read through the model: row -> ``Intent`` -> ``to_wire`` -> JSON."""
    intents = client.app.state.services.get("intents")
    intent = client.blocking_portal.call(intents.get, intent_id)
    return json.loads(json_bytes(to_wire(intent)))


def test_get_intent_serves_what_the_model_path_answered(client: Any) -> None:
    parent = client.post("/api/v1/intents", json={"title": "parent"}).json()
    dep = client.post("/api/v1/intents", json={"title": "dep"}).json()
    created = client.post(
        "/api/v1/intents",
        json={
            "title": "tïtle ✓",
            "description": "multi\nline",
            "state": {"nested": {"a": [1, 2.5, None, True]}, "text": "héllo 🙂"},
            "constraints": {"max_cost": 12.5},
            "parent_intent_id": parent["id"],
            "depends_on": [dep["id"]],
            "governance_policy": {"require_approval": True},
            "confidence": 0.75,
        },
    )
    assert created.status_code == 200, created.text
    body = created.json()
    assert body == _model_path(client, body["id"])
    assert list(body) == list(_model_path(client, body["id"]))  # same keys, same order
    assert client.get(f"/api/v1/intents/{body['id']}").json() == body
    patched = client.post(
        f"/api/v1/intents/{body['id']}/state",
        json={"patches": [{"op": "set", "path": "/nested/b", "value": {"deep": []}}]},
        headers={"If-Match": "1"},
    ).json()
    assert patched == _model_path(client, body["id"])
    assert client.get(f"/api/v1/intents/{body['id']}").json() == patched
    status = client.post(
        f"/api/v1/intents/{body['id']}/status",
        json={"status": "active"},
        headers={"If-Match": "2"},
    ).json()
    got = client.get(f"/api/v1/intents/{body['id']}")
    assert status == _model_path(client, body["id"])
    assert got.json() == status
    assert list(got.json()) == list(status)  # same keys in the same order
    assert "tïtle ✓".encode() in got.content


def test_events_stored_before_the_wire_column_get_theirs_at_start_up(database_url: str) -> None:
    """A database from before ``oi_events.wire``: the migration adds the column and
    computes the text of every stored event, so the listing stays the same."""
    app = create_app(ServerConfig(database_url=database_url))
    with TestClient(app) as c:
        c.headers.update(AUTH)
        iid = c.post("/api/v1/intents", json={"title": "old"}).json()["id"]
        for n, payload in enumerate(PAYLOADS):
            _log(c, iid, f"kind.{n}", payload)
        before = c.get(f"/api/v1/intents/{iid}/events").json()

        async def back_to_the_old_schema() -> None:
            engine = app.state.db.engine
            await engine.run_ddl("ALTER TABLE oi_events DROP COLUMN wire")
            await engine.run_ddl("DELETE FROM oi_schema WHERE version = 1")

        with c.portal() as portal:
            portal.call(back_to_the_old_schema)

    again = create_app(ServerConfig(database_url=database_url))
    with TestClient(again) as c:
        c.headers.update(AUTH)
        assert c.get(f"/api/v1/intents/{iid}/events").json() == before
        _log(c, iid, "after", {"n": 1})
        assert len(c.get(f"/api/v1/intents/{iid}/events").json()) == len(before) + 1
