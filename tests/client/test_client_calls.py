"""Endpoint definitions are sans-io: each builds one Call (checked here without a network)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from openintent.client import Call, OpenIntentClient
from openintent.client.endpoints import (
    attachments,
    governance,
    intents,
    observability,
    retry,
    subscriptions,
)
from openintent.client.endpoints.streams import stream_paths
from openintent.models import EventType, IntentStatus


class Ctx:
    agent_id = "agent-a"


CTX = Ctx()


def test_create_intent_body_and_create_flag() -> None:
    call = intents.create_intent(CTX, "T", "d", {"c": 1}, {"s": 1}, "P", ["D"], {"max_cost": 1})
    assert (call.method, call.path, call.create) == ("POST", "/api/v1/intents", True)
    assert call.json == {
        "title": "T",
        "description": "d",
        "constraints": {"c": 1},
        "state": {"s": 1},
        "created_by": "agent-a",
        "parent_intent_id": "P",
        "depends_on": ["D"],
        "governance_policy": {"max_cost": 1},
    }
    assert not call.is_idempotent


def test_create_intent_async_positional_governance_policy() -> None:
    call = intents.create_intent(CTX, "T", "d", None, None, {"write_scope": "any"})
    assert call.json["governance_policy"] == {"write_scope": "any"}
    assert "parent_intent_id" not in call.json


def test_update_state_sends_set_patches_and_if_match() -> None:
    call = intents.update_state(CTX, "i/1", 3, {"a": 1, "b": {"c": 2}})
    assert call.path == "/api/v1/intents/i%2F1/state"
    assert call.headers == {"If-Match": "3"}
    assert call.json == {
        "patches": [
            {"op": "set", "path": "a", "value": 1},
            {"op": "set", "path": "b", "value": {"c": 2}},
        ]
    }


@pytest.mark.parametrize(
    "args",
    [(4, "completed"), (4, IntentStatus.COMPLETED), (IntentStatus.COMPLETED, 4), ("completed", 4)],
)
def test_set_status_accepts_strings_and_swapped_order(args: tuple[Any, Any]) -> None:
    call = intents.set_status(CTX, "i", *args, reason="done")
    assert call.headers == {"If-Match": "4"}
    assert call.json == {"status": "completed", "reason": "done"}


def test_log_event_accepts_custom_type_strings() -> None:
    call = intents.log_event(CTX, "i", "tool_invocation", {"x": 1}, trace_id="t")
    assert call.json == {
        "event_type": "tool_invocation",
        "actor": "agent-a",
        "payload": {"x": 1},
        "trace_id": "t",
    }
    assert intents.log_event(CTX, "i", EventType.COMMENT).json["event_type"] == "comment"


def test_get_events_filters_what_the_server_ignores() -> None:
    since = dt.datetime(2030, 1, 1, 0, 0, 5)
    call = intents.get_events(CTX, "i", "comment", since, limit=10)
    assert call.params == {"limit": 10, "event_type": "comment", "since": "2030-01-01T00:00:05"}
    rows = [
        {"id": "1", "intent_id": "i", "event_type": "comment", "created_at": "2030-01-01T00:00:06"},
        {"id": "2", "intent_id": "i", "event_type": "comment", "created_at": "2030-01-01T00:00:01"},
        {"id": "3", "intent_id": "i", "event_type": "status_changed", "created_at": "2030-01-01T00:00:09"},
    ]  # fmt: skip
    assert [e.id for e in call.parse(rows)] == ["1"]


def test_record_failure_both_call_styles() -> None:
    sync = retry.record_failure(CTX, "i", 2, "TIMEOUT", "t/o")
    assert sync.json["attempt_number"] == 2
    assert sync.json["error_type"] == sync.json["error_code"] == "TIMEOUT"
    asyn = retry.record_failure(CTX, "i", "RATE_LIMIT", "slow", False, {"m": 1})
    assert asyn.json["attempt_number"] == 1
    assert asyn.json["error_type"] == "RATE_LIMIT"
    assert asyn.json["error_message"] == "slow"
    assert asyn.json["recoverable"] is False
    assert asyn.json["metadata"] == {"m": 1}
    assert asyn.json["agent_id"] == "agent-a"


def test_add_attachment_both_call_styles() -> None:
    sync = attachments.add_attachment(CTX, "i", "f.txt", "text/plain", 12, "https://s/f")
    asyn = attachments.add_attachment(CTX, "i", "f.txt", "text/plain", "https://s/f", 12)
    kw = attachments.add_attachment(
        CTX, "i", "f.txt", content_type="text/plain", url="https://s/f", size_bytes=12
    )
    expected = {
        "filename": "f.txt",
        "mime_type": "text/plain",
        "size": 12,
        "storage_url": "https://s/f",
        "metadata": {},
    }
    assert sync.json == asyn.json == kw.json == expected


def test_subscribe_both_call_styles() -> None:
    sync = subscriptions.subscribe(CTX, "i", None, ["comment"], "https://hook", None)
    assert sync.json == {
        "intent_id": "i",
        "portfolio_id": None,
        "subscriber_id": "agent-a",
        "event_types": ["comment"],
        "webhook_url": "https://hook",
        "expires_at": None,
    }
    asyn = subscriptions.subscribe(CTX, "https://hook", ["comment"], "i", None, 2)
    assert {k: v for k, v in asyn.json.items() if k != "expires_at"} == {
        k: v for k, v in sync.json.items() if k != "expires_at"
    }
    assert asyn.json["expires_at"] is not None
    kw = subscriptions.subscribe(CTX, "https://hook", intent_id="i", event_types=["comment"])
    assert kw.json["intent_id"] == "i"
    assert kw.json["event_types"] == ["comment"]


def test_arbitration_and_decision_carry_actor_fields() -> None:
    arb = governance.request_arbitration(CTX, "i", "why")
    assert arb.json == {"reason": "why", "context": {}, "requested_by": "agent-a"}
    parsed = arb.parse({"message": "Arbitration requested", "status": "pending"})
    assert (parsed.intent_id, parsed.requester_id, parsed.reason) == ("i", "agent-a", "why")
    dec = governance.record_decision(CTX, "i", "choice", "yes", "because")
    assert dec.json["decided_by"] == "agent-a"
    assert dec.json["rationale"] == dec.json["reasoning"] == "because"
    decision = dec.parse({"message": "Decision recorded", "decision_id": "d1", "outcome": "yes"})
    assert (decision.id, decision.reasoning, decision.intent_id) == ("d1", "because", "i")


def test_observability_payloads_omit_unset_fields() -> None:
    call = observability.log_llm_request_started(CTX, "i", "r1", "openai", "gpt", 2)
    assert call.json["event_type"] == "llm_request_started"
    assert call.json["payload"] == {
        "request_id": "r1",
        "provider": "openai",
        "model": "gpt",
        "messages_count": 2,
        "stream": False,
    }
    stream = observability.start_stream(CTX, "i", "s1", "openai", "gpt")
    assert stream.json["payload"]["agent_id"] == "agent-a"
    assert stream.json["payload"]["status"] == "active"


def test_stream_paths_prefer_the_path_both_servers_serve() -> None:
    assert stream_paths("intents", "x") == [
        "/api/v1/subscribe/intents/x",
        "/api/v1/intents/x/subscribe",
    ]
    with pytest.raises(ValueError, match="unknown stream kind"):
        stream_paths("channels", "x")


def test_descriptor_exposes_definition_for_inspection() -> None:
    program = OpenIntentClient.get_intent.build(CTX, "abc")
    assert isinstance(program, Call)
    assert (program.method, program.path) == ("GET", "/api/v1/intents/abc")
