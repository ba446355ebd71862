"""Wire constants: path templates, route tables, headers, event-type groups."""

from __future__ import annotations

import re

import pytest

from openintent.core import wire
from openintent.models.enums import EventType

PATHS = {name: getattr(wire, name) for name in wire.__all__ if name.startswith("PATH_")}
# Our EventType is the reference client's 126 values plus the three server-written
# types that enum lacks.
OUR_ENUM = {e.value for e in EventType}
CLIENT_ENUM = OUR_ENUM - wire.EVENTS_MISSING_FROM_CLIENT_ENUM
EVENT_GROUPS = {name: getattr(wire, name) for name in wire.__all__ if name.startswith("EVENTS_")}
AREA_GROUPS = {
    name: group
    for name, group in EVENT_GROUPS.items()
    if name not in {"EVENTS_MISSING_FROM_CLIENT_ENUM", "SERVER_WRITTEN_EVENTS"}
}


def test_all_lists_only_existing_names_once() -> None:
    assert len(wire.__all__) == len(set(wire.__all__))
    for name in wire.__all__:
        assert hasattr(wire, name), name


def test_constants_not_in_all_are_private() -> None:
    public = {n for n in vars(wire) if n.isupper() and not n.startswith("_")}
    assert public <= set(wire.__all__)


@pytest.mark.parametrize(("name", "template"), sorted(PATHS.items()))
def test_path_templates_are_well_formed(name: str, template: str) -> None:
    assert template.startswith((wire.API_PREFIX + "/", "/.well-known/")), name
    assert "//" not in template
    assert not template.endswith("/")
    params = wire.template_params(template)
    assert len(params) == len(set(params))
    stripped = re.sub(r"\{[a-z_]+\}", "x", template)
    assert "{" not in stripped
    assert "}" not in stripped


def test_base_path_and_discovery() -> None:
    assert wire.API_PREFIX == "/api/v1"
    assert wire.PATH_WELL_KNOWN == "/.well-known/openintent.json"
    assert wire.PATH_WELL_KNOWN_COMPAT == "/.well-known/openintent-compat.json"
    assert wire.PATH_SERVER_CONFIG == "/api/v1/server/config"


def test_headers_and_dev_keys() -> None:
    assert wire.HEADER_API_KEY == "X-API-Key"
    assert wire.HEADER_AGENT_ID == "X-Agent-ID"
    assert wire.HEADER_IF_MATCH == "If-Match"
    assert wire.HEADER_LAST_EVENT_ID == "Last-Event-ID"
    assert wire.HEADER_IDEMPOTENCY_KEY == "Idempotency-Key"
    assert wire.DEV_API_KEYS == ("dev-user-key", "agent-research-key", "agent-synth-key")
    assert wire.MEDIA_EVENT_STREAM == "text/event-stream"


def test_both_sse_path_families() -> None:
    assert wire.format_path(wire.PATH_SUBSCRIBE_INTENT, intent_id="i") == (
        "/api/v1/subscribe/intents/i"
    )
    assert wire.format_path(wire.PATH_SUBSCRIBE_PORTFOLIO, portfolio_id="p") == (
        "/api/v1/subscribe/portfolios/p"
    )
    assert wire.format_path(wire.PATH_SUBSCRIBE_AGENT, agent_id="a") == (
        "/api/v1/subscribe/agents/a"
    )
    assert wire.format_path(wire.PATH_INTENT_SUBSCRIBE, intent_id="i") == (
        "/api/v1/intents/i/subscribe"
    )
    assert wire.format_path(wire.PATH_PORTFOLIO_SUBSCRIBE, portfolio_id="p") == (
        "/api/v1/portfolios/p/subscribe"
    )
    assert wire.format_path(wire.PATH_AGENT_SUBSCRIBE, agent_id="a") == (
        "/api/v1/agents/a/subscribe"
    )


def test_route_tables() -> None:
    routes = wire.ROUTES + wire.CLIENT_ONLY_ROUTES
    assert len(routes) == len(set(routes))
    assert not set(wire.ROUTES) & set(wire.CLIENT_ONLY_ROUTES)
    assert {method for method, _ in routes} <= {"GET", "POST", "PUT", "PATCH", "DELETE"}
    # Every path constant is reachable through some route.
    assert set(PATHS.values()) == {template for _, template in routes}


def test_client_only_routes_are_those_of_c14() -> None:
    assert set(wire.CLIENT_ONLY_ROUTES) == {
        ("GET", "/api/v1/intents"),
        ("DELETE", "/api/v1/intents/{intent_id}/agents/{agent_id}"),
        ("POST", "/api/v1/subscriptions"),
        ("GET", "/api/v1/subscriptions"),
        ("DELETE", "/api/v1/subscriptions/{subscription_id}"),
        ("GET", "/api/v1/intents/{intent_id}/subscribe"),
        ("GET", "/api/v1/portfolios/{portfolio_id}/subscribe"),
        ("GET", "/api/v1/agents/{agent_id}/subscribe"),
        ("GET", "/api/v1/intents/{intent_id}/coordinator-decisions"),
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/intents/{intent_id}/state"),
        ("DELETE", "/api/v1/intents/{intent_id}/dependencies/{dependency_id}"),
        ("PATCH", "/api/v1/intents/{intent_id}/leases/{lease_id}"),
        ("POST", "/api/v1/escalations/{escalation_id}/resolve"),
        ("DELETE", "/api/v1/intents/{intent_id}/governance"),
        ("DELETE", "/api/v1/intents/{intent_id}/attachments/{attachment_id}"),
        ("PATCH", "/api/v1/portfolios/{portfolio_id}/status"),
        ("PUT", "/api/v1/intents/{intent_id}/retry-policy"),
        ("POST", "/api/v1/intents/{intent_id}/access-requests/{request_id}/deny"),
        ("PATCH", "/api/v1/tasks/{task_id}"),
        ("POST", "/api/v1/coordinators/{lease_id}/heartbeat"),
        ("POST", "/api/v1/tools/invoke"),
        ("GET", "/api/v1/agents/{agent_id}/memory"),
        ("POST", "/api/v1/agents/register"),
        ("POST", "/api/v1/triggers/{trigger_id}/fire"),
        ("POST", "/api/v1/intents/{intent_id}/suspend/respond"),
    ],
)
def test_reference_routes_sampled_from_each_rfc(method: str, path: str) -> None:
    assert (method, path) in wire.ROUTES


# -- format_path ------------------------------------------------------------------------


def test_format_path_fills_and_encodes() -> None:
    assert wire.format_path(wire.PATH_INTENT_LEASE, intent_id="i-1", lease_id=7) == (
        "/api/v1/intents/i-1/leases/7"
    )
    assert wire.format_path(wire.PATH_INTENT, intent_id="a/b?c#d e") == (
        "/api/v1/intents/a%2Fb%3Fc%23d%20e"
    )
    assert wire.format_path(wire.PATH_AGENT_RECORD, agent_id="ns:agent@x") == (
        "/api/v1/agents/ns:agent@x/record"
    )
    assert wire.format_path(wire.PATH_INTENTS) == "/api/v1/intents"


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({}, "missing"),
        ({"intent_id": "i"}, "missing"),
        ({"intent_id": "i", "lease_id": "l", "extra": "x"}, "unexpected"),
        ({"intent_id": "", "lease_id": "l"}, "empty"),
    ],
)
def test_format_path_rejects_bad_parameters(params: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        wire.format_path(wire.PATH_INTENT_LEASE, **params)


def test_template_params() -> None:
    assert wire.template_params(wire.PATH_INTENT_APPROVAL_DENY) == ("intent_id", "approval_id")
    assert wire.template_params(wire.PATH_TOOLS_INVOKE) == ()


# -- event types ------------------------------------------------------------------------


def test_reference_written_names() -> None:
    assert wire.EVENT_LEASE_RENEWED == "lease_renewed"
    assert wire.EVENT_ESCALATION_INITIATED == "escalation_initiated"
    assert wire.EVENT_ESCALATION_RESOLVED == "escalation_resolved"
    assert wire.EVENT_GOVERNANCE_VIOLATION == "governance.violation"
    assert wire.EVENT_INTENT_RESUMED == "intent.resumed"


def test_missing_from_client_enum_is_exactly_the_three_pitfalls() -> None:
    assert {
        "lease_renewed",
        "escalation_initiated",
        "escalation_resolved",
    } == wire.EVENTS_MISSING_FROM_CLIENT_ENUM
    assert wire.EVENTS_MISSING_FROM_CLIENT_ENUM <= OUR_ENUM
    assert len(CLIENT_ENUM) == 126
    assert wire.EVENTS_MISSING_FROM_CLIENT_ENUM <= wire.SERVER_WRITTEN_EVENTS


def test_every_grouped_name_the_client_can_parse_except_the_known_three() -> None:
    grouped = set().union(*AREA_GROUPS.values())
    assert grouped - CLIENT_ENUM == wire.EVENTS_MISSING_FROM_CLIENT_ENUM
    assert grouped >= wire.SERVER_WRITTEN_EVENTS


def test_areas_cover_the_client_enum_in_scope() -> None:
    # RFC-0018..0024 names (identity, verifiable logs, channels, federation) are out of
    # this module's scope.
    out_of_scope = ("agent.identity.", "log.checkpoint.", "channel.", "federation.")
    in_scope = {v for v in OUR_ENUM if not v.startswith(out_of_scope)}
    assert in_scope <= set().union(*AREA_GROUPS.values())


def test_areas_do_not_overlap() -> None:
    names = list(AREA_GROUPS)
    for i, left in enumerate(names):
        for right in names[i + 1 :]:
            assert not AREA_GROUPS[left] & AREA_GROUPS[right], (left, right)


def test_event_constants_are_in_a_group() -> None:
    grouped = set().union(*AREA_GROUPS.values())
    for name in wire.__all__:
        if name.startswith("EVENT_"):
            assert getattr(wire, name) in grouped, name


def test_sse_names() -> None:
    assert wire.SSE_AGENT_ASSIGNED == "AGENT_ASSIGNED"
    assert wire.SSE_STATE_CHANGED == "STATE_CHANGED"
    assert wire.SSE_STATUS_CHANGED == "STATUS_CHANGED"
    assert wire.SSE_LEASE_RELEASED == "LEASE_RELEASED"
    assert wire.SSE_KEEPALIVE_SECONDS == 15
    assert wire.SSE_PING_COMMENT == "ping"
