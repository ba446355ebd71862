"""RFC-0009 over HTTP: cost records, the computed summary, portfolio roll-up, the
governance hook and budget alerts."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from openintent.exceptions import ForbiddenError
from openintent.server.services.guards import WriteAttempt
from openintent.server.testing import DEV_KEY, ServerProcess, iter_sse

AUTH = {"X-API-Key": DEV_KEY}


def intent(client: Any, **body: Any) -> str:
    r = client.post("/api/v1/intents", json={"title": "t", **body})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def url(iid: str, rest: str = "") -> str:
    return f"/api/v1/intents/{iid}/costs{rest}"


def record(client: Any, iid: str, **body: Any) -> dict[str, Any]:
    r = client.post(url(iid), json={"cost_type": "tokens", "amount": 1, "unit": "tokens", **body})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_sync_client_body_keeps_metadata_under_both_names(client: Any) -> None:
    iid = intent(client)
    body = record(
        client, iid, agent_id="ag", amount=1500, provider="openai", metadata={"model": "gpt-4"}
    )
    assert body["amount"] == 1500.0
    assert isinstance(body["amount"], float)
    assert body["cost_metadata"] == body["metadata"] == {"model": "gpt-4"}
    assert (body["agent_id"], body["cost_type"], body["unit"], body["provider"]) == (
        "ag",
        "tokens",
        "tokens",
        "openai",
    )
    assert body["recorded_at"] == body["recordedAt"]
    assert body["intent_id"] == iid
    assert client.get(url(iid)).json() == [body]
    assert record(client, iid, cost_metadata={"k": 1})["metadata"] == {"k": 1}


def test_agent_id_falls_back_to_agent_header_then_key(client: Any) -> None:
    iid = intent(client)
    assert record(client, iid)["agent_id"] == DEV_KEY
    r = client.post(
        url(iid),
        json={"cost_type": "compute", "amount": 2.5, "unit": "seconds"},
        headers={"X-Agent-ID": "worker-1"},
    )
    assert r.status_code == 200
    assert r.json()["agent_id"] == "worker-1"


@pytest.mark.parametrize(
    "body",
    [
        {"cost_type": "weird", "amount": 1, "unit": "tokens"},
        {"cost_type": "tokens", "amount": "1", "unit": "tokens"},
        {"cost_type": "tokens", "amount": True, "unit": "tokens"},
        {"cost_type": "tokens", "unit": "tokens"},
        {"cost_type": "tokens", "amount": 1},
        {"cost_type": "tokens", "amount": 1, "unit": "tokens", "metadata": [1]},
        '{"cost_type": "tokens", "amount": 1e400, "unit": "tokens"}',
        {"cost_type": "tokens", "amount": 1, "unit": "to\u0000kens"},
    ],
)
def test_bad_bodies_are_422_and_store_nothing(client: Any, body: dict[str, Any] | str) -> None:
    raw = body if isinstance(body, str) else json.dumps(body)
    headers = {"Content-Type": "application/json"}
    iid = intent(client)
    r = client.post(url(iid), content=raw, headers=headers)
    assert r.status_code == 422, r.text
    assert client.get(url(iid)).json() == []
    # Validation precedes the existence check.
    assert client.post(url("nope"), content=raw, headers=headers).status_code == 422


def test_unknown_intent(client: Any) -> None:
    r = client.post(url("nope"), json={"cost_type": "tokens", "amount": 1, "unit": "tokens"})
    assert r.status_code == 404
    assert r.json()["detail"] == "Intent not found"
    assert client.get(url("nope")).json() == []
    assert client.get(url("nope", "/summary")).json() == {
        "total": 0.0,
        "by_type": {},
        "by_agent": {},
    }


def test_summary_totals_by_type_and_agent(client: Any) -> None:
    iid, other = intent(client), intent(client)
    record(client, iid, agent_id="research", amount=1200)
    record(client, iid, agent_id="research", cost_type="api_call", amount=0.25, unit="usd")
    record(client, iid, agent_id="synth", amount=300)
    record(client, iid, agent_id="synth", cost_type="compute", amount=1.5, unit="seconds")
    record(client, other, agent_id="elsewhere", amount=999)
    expected = {
        "total": 1501.75,
        "by_type": {"tokens": 1500.0, "api_call": 0.25, "compute": 1.5},
        "by_agent": {"research": 1200.25, "synth": 301.5},
    }
    assert client.get(url(iid, "/summary")).json() == expected
    costs = client.get(url(iid)).json()
    assert isinstance(costs, list)
    assert len(costs) == 4
    full = client.get(url(iid), params={"summary": "true"}).json()
    assert full == {"costs": costs, "summary": expected}


def test_portfolio_roll_up(client: Any) -> None:
    a, b, outside = intent(client), intent(client), intent(client)
    pid = client.post("/api/v1/portfolios", json={"name": "p"}).json()["id"]
    for iid in (a, b, a):
        client.post(f"/api/v1/portfolios/{pid}/intents", json={"intent_id": iid})
    record(client, a, agent_id="x", amount=10)
    record(client, b, agent_id="y", amount=5, cost_type="custom", unit="credits")
    record(client, outside, agent_id="z", amount=100)
    body = client.get(f"/api/v1/portfolios/{pid}/costs").json()
    assert body["portfolio_id"] == pid
    assert len(body["costs"]) == 2
    assert body["summary"] == {
        "total": 15.0,
        "by_type": {"tokens": 10.0, "custom": 5.0},
        "by_agent": {"x": 10.0, "y": 5.0},
    }
    r = client.get("/api/v1/portfolios/nope/costs")
    assert r.status_code == 404
    assert r.json()["detail"] == "Portfolio not found"


def test_governance_sees_each_record_first(client: Any) -> None:
    """The hook governance plugs into: action "cost" with the reference's max_cost base."""
    seen: list[WriteAttempt] = []

    async def ceiling(attempt: WriteAttempt) -> None:
        if attempt.action != "cost":
            return
        seen.append(attempt)
        if attempt.extra["current_total"] + attempt.extra["amount"] > 10:
            raise ForbiddenError(
                "over budget",
                status_code=403,
                response={"detail": {"error": "governance_violation", "rule": "max_cost"}},
            )

    client.app.state.services.intents.guards.append(ceiling)
    iid = intent(client)
    record(client, iid, amount=8)
    r = client.post(url(iid), json={"cost_type": "tokens", "amount": 3, "unit": "tokens"})
    assert r.status_code == 403
    assert r.json()["detail"]["rule"] == "max_cost"
    record(client, iid, amount=2, agent_id="ag")
    assert [a.extra["current_total"] for a in seen] == [0.0, 8.0, 8.0]
    assert seen[-1].extra == {
        "amount": 2.0,
        "cost_type": "tokens",
        "unit": "tokens",
        "agent_id": "ag",
        "current_total": 8.0,
    }
    assert seen[0].intent.id == iid
    assert seen[0].principal.key == DEV_KEY
    assert [c["amount"] for c in client.get(url(iid)).json()] == [8.0, 2.0]


def test_idempotency_key_records_once(client: Any) -> None:
    iid = intent(client)
    body = {"cost_type": "tokens", "amount": 5, "unit": "tokens"}
    first = client.post(url(iid), json=body, headers={"Idempotency-Key": "c1"})
    again = client.post(url(iid), json=body, headers={"Idempotency-Key": "c1"})
    assert first.json() == again.json()
    assert client.get(url(iid, "/summary")).json()["total"] == 5.0


def test_budget_alert_on_threshold_and_limit(live_server: ServerProcess) -> None:
    with httpx.Client(base_url=live_server.base_url, headers=AUTH) as c:
        budget = {"budget": {"max_total_cents": 100, "alert_threshold_percent": 50}}
        iid = intent(c, constraints=budget)
        for amount, unit in [
            (40, "cents"),
            (5000, "tokens"),
            (20, "cents"),
            (30, "cents"),
            (15, "cents"),
            (1, "cents"),
        ]:
            r = c.post(url(iid), json={"cost_type": "api_call", "amount": amount, "unit": unit})
            assert r.status_code == 200, r.text
        types = [e["event_type"] for e in c.get(f"/api/v1/intents/{iid}/events").json()]
        assert types == ["intent_created"]  # alerts are stream messages, not log entries
    alerts = []
    headers = {**AUTH, "Last-Event-ID": "0"}
    path = f"{live_server.base_url}/api/v1/subscribe/intents/{iid}"
    with httpx.stream("GET", path, headers=headers, timeout=10) as r:
        for message in iter_sse(r.iter_lines()):
            if message.event == "budget_alert":
                alerts.append(json.loads(message.data))
            if len(alerts) == 2:
                break
    assert [(a["spent_cents"], a["percent_used"], a["limit_reached"]) for a in alerts] == [
        (60.0, 60.0, False),
        (105.0, 105.0, True),
    ]
    assert alerts[0]["max_total_cents"] == 100
    assert alerts[0]["alert_threshold_percent"] == 50
