"""RFC-0006 part C over HTTP: webhook subscription CRUD, and webhook delivery to a
receiver on loopback (at-least-once, bounded retries)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from openintent.core.converter import utcnow
from openintent.server.services.webhooks import WebhookDispatcher
from openintent.server.store.subscriptions_tables import WebhookDeliveryRow

S = "/api/v1/subscriptions"


def intent(client: Any) -> str:
    r = client.post("/api/v1/intents", json={"title": "t"})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def subscribe(client: Any, **body: Any) -> dict[str, Any]:
    r = client.post(S, json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_sync_client_body(client: Any) -> None:
    iid = intent(client)
    expires = (utcnow() + dt.timedelta(hours=1)).isoformat()
    body = subscribe(
        client,
        intent_id=iid,
        portfolio_id=None,
        subscriber_id="agent-a",
        event_types=["state_patched", "my.custom"],
        webhook_url="https://hooks.example/x",
        expires_at=expires,
    )
    assert body["intent_id"] == iid
    assert body["portfolio_id"] is None
    assert body["subscriber_id"] == "agent-a"
    assert body["active"] is True
    assert body["event_types"] == ["state_patched", "my.custom"]
    assert body["expires_at"] == body["expiresAt"] == expires
    assert body["created_at"] == body["createdAt"]
    assert client.get(f"{S}/{body['id']}").json() == body
    assert client.get(S).json() == [body]


def test_async_client_body_and_fallbacks(client: Any) -> None:
    pid = client.post("/api/v1/portfolios", json={"name": "p"}).json()["id"]
    r = client.post(
        S,
        json={"webhook_url": "http://127.0.0.1:9/h", "portfolio_id": pid},
        headers={"X-Agent-ID": "watcher"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["subscriber_id"] == "watcher"
    assert body["event_types"] == []
    assert body["portfolio_id"] == pid
    assert body["expires_at"] is None
    assert subscribe(client)["subscriber_id"] == "dev-user-key"  # global, no URL


def test_list_filters_and_expiry(client: Any) -> None:
    a, b = intent(client), intent(client)
    first = subscribe(client, intent_id=a)
    second = subscribe(client, intent_id=b, subscriber_id="x")
    past = subscribe(client, intent_id=a, expires_at="2000-01-01T00:00:00")
    assert past["active"] is False
    assert [s["id"] for s in client.get(S).json()] == [first["id"], second["id"], past["id"]]
    assert [s["id"] for s in client.get(S, params={"intent_id": a}).json()] == [
        first["id"],
        past["id"],
    ]
    assert [s["id"] for s in client.get(S, params={"subscriber_id": "x"}).json()] == [second["id"]]
    assert client.get(S, params={"portfolio_id": "none"}).json() == []


def test_delete(client: Any) -> None:
    sid = subscribe(client)["id"]
    r = client.delete(f"{S}/{sid}")
    assert r.status_code == 204
    assert r.content == b""
    for method in ("GET", "DELETE"):
        r = client.request(method, f"{S}/{sid}")
        assert r.status_code == 404
        assert r.json()["detail"] == "Subscription not found"
    assert client.get(S).json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"webhook_url": "ftp://example.com/x"},
        {"webhook_url": "not a url"},
        {"webhook_url": 5},
        {"event_types": "state_patched"},
        {"event_types": [""]},
        {"event_types": [1]},
        {"intent_id": "a", "portfolio_id": "b"},
        {"expires_at": "tomorrow"},
        {"subscriber_id": "a\u0000b"},
    ],
)
def test_bad_bodies_are_422_and_store_nothing(client: Any, body: dict[str, Any]) -> None:
    r = client.post(S, json=body)
    assert r.status_code == 422, r.text
    assert client.get(S).json() == []


def test_unknown_scope_is_404(client: Any) -> None:
    r = client.post(S, json={"intent_id": "nope"})
    assert r.status_code == 404
    assert r.json()["detail"] == "Intent not found"
    r = client.post(S, json={"portfolio_id": "nope"})
    assert r.status_code == 404
    assert r.json()["detail"] == "Portfolio not found"
    assert client.get(S).json() == []


def test_idempotency_key_subscribes_once(client: Any) -> None:
    headers = {"Idempotency-Key": "s1"}
    first = client.post(S, json={"webhook_url": "https://h.example/"}, headers=headers)
    again = client.post(S, json={"webhook_url": "https://h.example/"}, headers=headers)
    assert first.json() == again.json()
    assert len(client.get(S).json()) == 1


# -- delivery ---------------------------------------------------------------------------


class Receiver:
    """A webhook endpoint on 127.0.0.1 answering with scripted status codes (then 200)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                receiver.received.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def dispatcher(client: Any) -> WebhookDispatcher:
    found: WebhookDispatcher = client.app.state.services.get("subscriptions").dispatcher
    found.backoff = 0.0  # retry at once: the test drives the passes
    found.lag = 0.0
    found.max_attempts = 3
    return found


def drive(client: Any, dispatcher: WebhookDispatcher, until: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    with client.portal() as portal:
        while not until():
            assert time.monotonic() < deadline, "webhook condition not reached"
            portal.call(dispatcher.run_once)


def deliveries(client: Any) -> list[dict[str, Any]]:
    async def rows() -> list[dict[str, Any]]:
        return list(await WebhookDeliveryRow.select().order_by(WebhookDeliveryRow.seq))

    with client.portal() as portal:
        return portal.call(rows)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([500])
    yield r
    r.close()


def test_delivery_retries_until_accepted(
    client: Any, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    iid, other = intent(client), intent(client)
    sub = subscribe(client, intent_id=iid, webhook_url=receiver.url, event_types=["comment"])
    posted = client.post(
        f"/api/v1/intents/{iid}/events", json={"event_type": "comment", "payload": {"n": 1}}
    ).json()
    client.post(f"/api/v1/intents/{iid}/events", json={"event_type": "note", "payload": {}})
    client.post(f"/api/v1/intents/{other}/events", json={"event_type": "comment", "payload": {}})

    drive(client, dispatcher, lambda: len(receiver.received) >= 2)
    (h1, b1), (h2, b2) = receiver.received
    assert b1 == b2 == {"subscription_id": sub["id"], "event": posted}
    assert h1["X-OpenIntent-Delivery"] == h2["X-OpenIntent-Delivery"]  # same delivery retried
    assert (h1["X-OpenIntent-Attempt"], h2["X-OpenIntent-Attempt"]) == ("1", "2")
    [row] = deliveries(client)
    assert (row["status"], row["attempts"], row["event_id"]) == ("delivered", 2, posted["id"])
    # Later passes send nothing more.
    with client.portal() as portal:
        assert portal.call(dispatcher.run_once) == 0
    assert len(receiver.received) == 2


def test_delivery_gives_up_after_max_attempts(client: Any, dispatcher: WebhookDispatcher) -> None:
    receiver = Receiver([503] * 10)
    try:
        iid = intent(client)
        subscribe(client, intent_id=iid, webhook_url=receiver.url)
        client.post(f"/api/v1/intents/{iid}/events", json={"event_type": "comment", "payload": {}})
        drive(
            client,
            dispatcher,
            lambda: deliveries(client)[0]["status"] == "failed" if deliveries(client) else False,
        )
        [row] = deliveries(client)
        assert row["attempts"] == 3
        assert row["last_error"] == "HTTP 503"
        with client.portal() as portal:
            portal.call(dispatcher.run_once)
        assert len(receiver.received) == 3
    finally:
        receiver.close()


def test_portfolio_and_global_scopes(client: Any, dispatcher: WebhookDispatcher) -> None:
    receiver = Receiver([])
    try:
        member, outsider = intent(client), intent(client)
        pid = client.post("/api/v1/portfolios", json={"name": "p"}).json()["id"]
        client.post(f"/api/v1/portfolios/{pid}/intents", json={"intent_id": member})
        scoped = subscribe(client, portfolio_id=pid, webhook_url=receiver.url)["id"]
        everything = subscribe(client, webhook_url=receiver.url, event_types=["comment"])["id"]
        gone = subscribe(client, webhook_url=receiver.url)["id"]
        client.delete(f"{S}/{gone}")
        for iid in (member, outsider):
            client.post(f"/api/v1/intents/{iid}/events", json={"event_type": "comment"})
        drive(client, dispatcher, lambda: len(receiver.received) >= 3)
        with client.portal() as portal:
            portal.call(dispatcher.run_once)
        got = sorted((b["subscription_id"], b["event"]["intent_id"]) for _, b in receiver.received)
        assert got == sorted([(scoped, member), (everything, member), (everything, outsider)])
    finally:
        receiver.close()


def test_two_dispatchers_send_each_delivery_once(
    client: Any, dispatcher: WebhookDispatcher
) -> None:
    receiver = Receiver([])
    try:
        iid = intent(client)
        subscribe(client, intent_id=iid, webhook_url=receiver.url)
        for n in range(6):
            client.post(
                f"/api/v1/intents/{iid}/events", json={"event_type": "comment", "payload": {"n": n}}
            )
        other = WebhookDispatcher(dispatcher.db, lag=0.0, backoff=0.0)

        async def both() -> None:
            await asyncio.gather(dispatcher.run_once(), other.run_once(), dispatcher.run_once())

        with client.portal() as portal:
            deadline = time.monotonic() + 10
            while len(receiver.received) < 6:
                assert time.monotonic() < deadline
                portal.call(both)
            portal.call(both)
        sent = sorted(b["event"]["payload"]["n"] for _, b in receiver.received)
        assert sent == list(range(6))
        assert {row["status"] for row in deliveries(client)} == {"delivered"}
    finally:
        receiver.close()
