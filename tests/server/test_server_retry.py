"""RFC-0010 over HTTP: retry policies and failure records, both clients' bodies."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import pytest

from openintent.server.testing import DEV_KEY, ServerProcess

AUTH = {"X-API-Key": DEV_KEY}
REFERENCE_POLICY = {
    "strategy": "exponential",
    "max_retries": 5,
    "base_delay_ms": 1000,
    "max_delay_ms": 60000,
    "fallback_agent_id": "backup",
    "failure_threshold": 3,
}


def intent(client: Any) -> str:
    r = client.post("/api/v1/intents", json={"title": "t"})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def policy_url(iid: str) -> str:
    return f"/api/v1/intents/{iid}/retry-policy"


def failures_url(iid: str) -> str:
    return f"/api/v1/intents/{iid}/failures"


def ts(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def test_policy_put_get_and_replace(client: Any) -> None:
    iid = intent(client)
    r = client.get(policy_url(iid))
    assert r.status_code == 404
    assert r.json()["detail"] == "No retry policy set"
    first = client.put(policy_url(iid), json=REFERENCE_POLICY).json()
    assert {k: first[k] for k in REFERENCE_POLICY} == REFERENCE_POLICY
    assert first["jitter"] is True
    assert first["intent_id"] == iid
    assert first["created_at"] == first["createdAt"]
    assert "updated_at" not in first
    assert client.get(policy_url(iid)).json() == first

    second = client.put(policy_url(iid), json={"strategy": "linear", "jitter": False}).json()
    assert second["id"] == first["id"]
    assert second["created_at"] == first["created_at"]
    # A PUT replaces every field: what is omitted goes back to its default.
    assert (second["strategy"], second["max_retries"], second["max_delay_ms"]) == (
        "linear",
        3,
        60000,
    )
    assert second["jitter"] is False
    assert "fallback_agent_id" not in second
    assert "failure_threshold" not in second
    assert second["updated_at"] == second["updatedAt"]
    assert ts(second["updated_at"]) >= ts(first["created_at"])
    assert client.get(policy_url(iid)).json() == second


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"strategy": "weird"},
        {"strategy": "fixed", "max_retries": -1},
        {"strategy": "fixed", "max_retries": "3"},
        {"strategy": "fixed", "base_delay_ms": 2**40},
        {"strategy": "fixed", "jitter": "yes"},
        {"strategy": "fixed", "failure_threshold": 0},
    ],
)
def test_bad_policies_are_422_and_store_nothing(client: Any, body: dict[str, Any]) -> None:
    iid = intent(client)
    assert client.put(policy_url(iid), json=body).status_code == 422
    assert client.get(policy_url(iid)).status_code == 404
    assert client.put(policy_url("nope"), json=body).status_code == 422


def test_policy_unknown_intent(client: Any) -> None:
    r = client.put(policy_url("nope"), json={"strategy": "none"})
    assert r.status_code == 404
    assert r.json()["detail"] == "Intent not found"
    r = client.get(policy_url("nope"))
    assert r.status_code == 404
    assert r.json()["detail"] == "No retry policy set"


def test_both_clients_failure_bodies(client: Any) -> None:
    iid = intent(client)
    # sync reference client: error_code, nullable message, explicit nulls
    sync = client.post(
        failures_url(iid),
        json={
            "agent_id": "ag",
            "attempt_number": 1,
            "error_code": "TIMEOUT",
            "error_message": None,
            "retry_scheduled_at": None,
            "metadata": {"http_status": 504},
        },
    )
    assert sync.status_code == 200, sync.text
    body = sync.json()
    assert body["error_type"] == body["error_code"] == "TIMEOUT"
    assert body["error_message"] == ""
    assert body["attempt_number"] == 1
    assert body["agent_id"] == "ag"
    assert body["occurred_at"] == body["createdAt"]
    assert body["metadata"] == {"http_status": 504}
    assert "retry_scheduled_at" not in body  # no policy, so no schedule

    # async reference client: no attempt_number, no agent_id; X-Agent-ID names the agent
    r = client.post(
        failures_url(iid),
        json={
            "error_type": "RATE_LIMIT",
            "error_message": "slow down",
            "recoverable": True,
            "metadata": {},
        },
        headers={"X-Agent-ID": "worker"},
    )
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["attempt_number"] == 2
    assert second["agent_id"] == "worker"
    assert second["recoverable"] is True

    r = client.post(failures_url(iid), json={"error_type": "X", "error_message": "m"})
    assert r.json()["attempt_number"] == 3
    assert r.json()["agent_id"] is None
    listed = client.get(failures_url(iid)).json()
    assert [f["attempt_number"] for f in listed] == [1, 2, 3]
    assert listed[0] == body


def test_retry_schedule_follows_the_policy(client: Any) -> None:
    iid = intent(client)
    client.put(
        policy_url(iid), json={"strategy": "exponential", "max_retries": 2, "base_delay_ms": 1000}
    )
    delays = []
    for attempt in (1, 2, 3):
        f = client.post(
            failures_url(iid), json={"error_type": "E", "attempt_number": attempt}
        ).json()
        if "retry_scheduled_at" in f:
            assert f["retryScheduledAt"] == f["retry_scheduled_at"]
            delays.append((ts(f["retry_scheduled_at"]) - ts(f["occurred_at"])).total_seconds())
        else:
            delays.append(None)
    assert delays == [1.0, 2.0, None]  # retries exhausted after max_retries
    given = "2030-01-01T05:00:00+05:00"
    f = client.post(failures_url(iid), json={"error_type": "E", "retry_scheduled_at": given}).json()
    assert f["retry_scheduled_at"] == "2030-01-01T00:00:00"


@pytest.mark.parametrize(
    "body",
    [
        {"error_type": "E", "attempt_number": "1"},
        {"error_type": "E", "attempt_number": -1},
        {"error_type": 5},
        {"error_type": "E", "retry_scheduled_at": "soon"},
        {"error_type": "E", "metadata": []},
        {"error_type": "E", "agent_id": "a\u0000"},
    ],
)
def test_bad_failures_are_422_and_store_nothing(client: Any, body: dict[str, Any]) -> None:
    iid = intent(client)
    assert client.post(failures_url(iid), json=body).status_code == 422
    assert client.get(failures_url(iid)).json() == []
    assert client.post(failures_url("nope"), json=body).status_code == 422


def test_failures_unknown_intent(client: Any) -> None:
    r = client.post(failures_url("nope"), json={"error_type": "E", "attempt_number": 1})
    assert r.status_code == 404
    assert r.json()["detail"] == "Intent not found"
    assert client.get(failures_url("nope")).json() == []


def test_concurrent_failures_and_policy_puts(live_server: ServerProcess) -> None:
    async def run() -> list[int]:
        async with httpx.AsyncClient(base_url=live_server.base_url, headers=AUTH) as c:
            iid = (await c.post("/api/v1/intents", json={"title": "race"})).json()["id"]

            async def fail(n: int) -> int:
                r = await c.post(
                    failures_url(iid), json={"error_type": "E", "error_message": str(n)}
                )
                assert r.status_code == 200, r.text
                return int(r.json()["attempt_number"])

            numbers = await asyncio.gather(*(fail(n) for n in range(12)))
            stored = (await c.get(failures_url(iid))).json()
            assert sorted(f["attempt_number"] for f in stored) == sorted(numbers)

            async def put(n: int) -> str:
                r = await c.put(policy_url(iid), json={"strategy": "fixed", "max_retries": n})
                assert r.status_code == 200, r.text
                return str(r.json()["id"])

            # Concurrent first PUTs: one policy row, one id.
            assert len(set(await asyncio.gather(*(put(n) for n in range(8))))) == 1
            return list(numbers)

    assert sorted(asyncio.run(run())) == list(range(1, 13))


def test_failure_records_pass_the_intent_write_guards(client: Any) -> None:
    """A failure record is an intent write: the guards see it and may refuse it."""
    from openintent.exceptions import ForbiddenError
    from openintent.server.services.guards import WriteAttempt

    seen: list[WriteAttempt] = []

    async def frozen(attempt: WriteAttempt) -> None:
        if attempt.action != "failure":
            return
        seen.append(attempt)
        if attempt.extra["error_type"] == "REFUSED":
            raise ForbiddenError("intent is frozen", status_code=403)

    client.app.state.services.intents.guards.append(frozen)
    iid = intent(client)
    ok = client.post(failures_url(iid), json={"error_type": "TIMEOUT", "agent_id": "ag"})
    assert ok.status_code == 200, ok.text
    refused = client.post(failures_url(iid), json={"error_type": "REFUSED"})
    assert refused.status_code == 403
    assert [f["error_code"] for f in client.get(failures_url(iid)).json()] == ["TIMEOUT"]
    assert [(a.intent.id, a.agent_id, a.extra["attempt_number"]) for a in seen] == [
        (iid, "ag", 1),
        (iid, None, 2),
    ]
