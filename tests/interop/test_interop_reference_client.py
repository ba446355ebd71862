"""The released reference client (openintent 0.17.0) drives our server.

Our server runs as a real process on a fresh database; ``ref_client_scenario.py`` runs
in the reference virtualenv (``OPENINTENT_REF_PYTHON``, set by ``nox -s interop``) and
calls every reference-client method of the RFC-0001..0017 scope against it, checking
what comes back. Each method must come out "ok", or fail only in a way the spec
documents as a bug of the reference CLIENT itself (``CLIENT_BUGS``). The RFC-0014 tool
proxy calls a stub upstream the scenario runs on 127.0.0.1, so the server is started
with that host allowed (``OPENINTENT_TOOL_ALLOW_HOSTS``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from openintent.server.testing import DEV_KEY, ServerProcess, fresh_database_url

pytestmark = pytest.mark.timeout(300)

SCENARIO = Path(__file__).with_name("ref_client_scenario.py")
OTHER_KEY = "agent-research-key"  # a second principal (lease holder) on the default keys

# Spec sdk.md section 3 and the "Reference client mapping" tables of rfc-0001..0011.
SHARED = (
    # 3.1 / RFC-0001
    "discover", "create_intent", "get_intent", "list_intents", "update_state", "set_status",
    "log_event", "get_events", "assign_agent", "unassign_agent",
    # RFC-0003
    "acquire_lease", "get_leases", "renew_lease", "release_lease",
    # RFC-0004
    "request_arbitration", "record_decision", "get_decisions", "escalate_to_human",
    "list_escalations", "resolve_escalation", "request_approval", "get_approval_status",
    "approve_approval", "deny_approval", "set_governance_policy", "get_governance_policy",
    "remove_governance_policy",
    # RFC-0005
    "add_attachment", "get_attachments", "delete_attachment",
    # RFC-0006 part C (webhooks)
    "subscribe", "get_subscriptions", "unsubscribe",
    # RFC-0007
    "create_portfolio", "get_portfolio", "list_portfolios", "update_portfolio_status",
    "add_intent_to_portfolio", "remove_intent_from_portfolio", "get_portfolio_intents",
    "get_intent_portfolios",
    # RFC-0008
    "log_tool_call_started", "log_tool_call_completed", "log_tool_call_failed",
    "log_llm_request_started", "log_llm_request_completed", "log_llm_request_failed",
    "start_stream", "log_stream_chunk", "complete_stream", "cancel_stream",
    # RFC-0009 / RFC-0010
    "record_cost", "get_costs", "set_retry_policy", "get_retry_policy", "record_failure",
    "get_failures",
    # RFC-0011
    "get_acl", "set_acl", "grant_access", "revoke_access", "request_access",
    "list_access_requests", "approve_access_request", "deny_access_request",
    "close",
)  # fmt: skip
# sdk.md 3.16: only on the sync client (RFC-0002 graphs, lease(), SSE entry points).
SYNC_ONLY = (
    "create_child_intent", "get_children", "get_descendants", "get_ancestors",
    "get_dependencies", "get_dependents", "add_dependency", "remove_dependency",
    "get_ready_intents", "get_blocked_intents", "get_intent_graph", "lease",
    "subscribe_sse", "subscribe_portfolio", "subscribe_agent", "create_event_queue",
)  # fmt: skip
ASYNC_ONLY = ("get_server_config",)
STREAMING = ("SSEStream", "SSESubscription", "EventQueue")

# RFC-0012..0017: sdk.md 3.13-3.15 and the "Reference client methods" tables of
# rfc-0012..0017; identical on both clients (flat methods, no sub-API namespaces).
RFC12_17 = (
    # RFC-0012
    "create_task", "get_task", "list_tasks", "update_task",
    "create_plan", "get_plan", "list_plans", "update_plan",
    # RFC-0013
    "create_coordinator_lease", "get_coordinator_lease", "list_coordinator_leases",
    "coordinator_heartbeat", "create_decision_record", "list_decision_records",
    # RFC-0014
    "create_vault", "get_vault", "create_credential", "get_credential",
    "create_tool_grant", "get_tool_grant", "list_agent_grants", "revoke_grant",
    "record_invocation", "list_invocations", "invoke_tool",
    # RFC-0015
    "create_memory", "get_memory", "list_memory", "update_memory", "delete_memory",
    # RFC-0016
    "register_agent", "get_agent_record", "list_agents", "agent_heartbeat",
    "update_agent_status",
    # RFC-0017
    "create_trigger", "get_trigger", "list_triggers", "update_trigger", "fire_trigger",
    "delete_trigger",
)  # fmt: skip
# Operations the spec names that no 0.17.0 client method reaches (sdk.md 3.15 "Sub-API
# objects: none exist in 0.17.0", rfc-0016 §9, rfc-0017 §9): checked on the wire.
RFC12_17_WIRE = (
    "namespaces[absent in 0.17.0]", "wire:agents.get", "wire:agents.deregister",
    "wire:triggers.history",
)  # fmt: skip
# The API paths of RFC-0012..0017 (rfc-0012..0017 endpoint tables). A reference-client
# method whose source names one of them is in scope. /api/v1/checkpoints is RFC-0019
# (rfc-0012 §4 note) and /agents/{id}/identity RFC-0018: both out of scope.
RFC12_17_PATH = re.compile(
    r"^/api/v1/(tasks|plans|coordinators|decisions$|vaults|credentials|grants|invocations"
    r"|tools/|memory|triggers|agents$|agents/register$"
    r"|agents/\{[^}]*\}/(record|heartbeat|status|grants|memory)$"
    r"|intents/\{[^}]*\}/(tasks|plans|coordinators|coordinator-decisions)$)"
)

IN_SCOPE = (
    [f"OpenIntentClient.{m}" for m in (*SHARED, *SYNC_ONLY, *RFC12_17, *RFC12_17_WIRE)]
    + [f"AsyncOpenIntentClient.{m}" for m in (*SHARED, *ASYNC_ONLY, *RFC12_17, *RFC12_17_WIRE)]
    + [f"streaming.{name}" for name in STREAMING]
)

# Failures the spec documents as bugs of the reference client (method name -> the
# spec's words, matched in the scenario's reason, which quotes the exception raised).
CLIENT_BUGS = {
    # rfc-0001 mapping, sdk.md 3.2: enum-only parameters.
    "log_event[plain str event_type]": "AttributeError: 'str' object has no attribute 'value'",
    "set_status[plain str status]": "AttributeError: 'str' object has no attribute 'value'",
    # README C11 / C13.4: event types the server keeps writing that the client enum lacks.
    "get_events[after lease_renewed]": "ValueError: 'lease_renewed' is not a valid EventType",
    "get_events[after escalation]": "ValueError: 'escalation_initiated' is not a valid EventType",
    # README C9 / C13.4, sdk.md 2.1: bare arrays the client parses with data.get().
    "get_leases": "AttributeError: 'list' object has no attribute 'get'",
    "get_decisions": "AttributeError: 'list' object has no attribute 'get'",
    # rfc-0012 §8 / rfc-0013 §8: enum-only parameters (`.value` taken client-side).
    "list_tasks[plain str status]": "AttributeError: 'str' object has no attribute 'value'",
    "create_decision_record[plain str decision_type]": (
        "AttributeError: 'str' object has no attribute 'value'"
    ),
}


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    python = os.environ.get("OPENINTENT_REF_PYTHON")
    if not python:
        pytest.skip(
            "OPENINTENT_REF_PYTHON is not set: it must name the python of a virtualenv "
            'holding "openintent[server]==0.17.0" (nox -s interop sets it)'
        )
    allow_stub = {"OPENINTENT_TOOL_ALLOW_HOSTS": "127.0.0.1"}
    with fresh_database_url() as url, ServerProcess(url, env=allow_stub) as server:
        done = subprocess.run(
            [python, str(SCENARIO), server.base_url, DEV_KEY, OTHER_KEY],
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        pytest.fail(f"scenario exited with {done.returncode}:\n{done.stderr[-4000:]}")
    data: dict[str, Any] = json.loads(lines[-1])
    sys.stderr.write(done.stderr)  # per-step timings and outcomes, shown on failure
    return data


def _allowed_bug(name: str, outcome: str) -> bool:
    method = name.split(".", 1)[1]
    marker = CLIENT_BUGS.get(method)
    return marker is not None and outcome.startswith("expected-failure: ") and marker in outcome


def _verdict(name: str, outcome: str) -> str | None:
    """None when acceptable, else why not."""
    if outcome == "ok" or _allowed_bug(name, outcome):
        return None
    if outcome.startswith("expected-failure: "):
        return f"{name}: not a documented reference-client bug: {outcome}"
    return f"{name}: {outcome}"


def test_reference_release_is_the_target(report: dict[str, Any]) -> None:
    assert report["reference_version"] == "0.17.0"


def test_scope_names_exist_on_the_reference_classes(report: dict[str, Any]) -> None:
    sync, async_ = set(report["sync_methods"]), set(report["async_methods"])
    assert set(SHARED) | set(SYNC_ONLY) | set(RFC12_17) <= sync
    assert set(SHARED) | set(ASYNC_ONLY) | set(RFC12_17) <= async_
    assert not set(SYNC_ONLY) & async_, "sync-only list is stale"


def _rfc12_17_methods(paths: dict[str, list[str]]) -> set[str]:
    return {name for name, found in paths.items() if any(RFC12_17_PATH.match(p) for p in found)}


@pytest.mark.parametrize("which", ["sync", "async"])
def test_every_rfc12_17_method_of_the_reference_is_in_scope(
    report: dict[str, Any], which: str
) -> None:
    """Introspection: a reference method that calls an RFC-0012..0017 path and that no
    scenario step calls (or the scope list forgot) fails here."""
    found = _rfc12_17_methods(report[f"{which}_paths"])
    assert len(found) >= 35, f"path scan found too few methods: {sorted(found)}"
    assert found == set(RFC12_17), (
        f"missing from the scope: {sorted(found - set(RFC12_17))}; "
        f"not calling an RFC-0012..0017 path: {sorted(set(RFC12_17) - found)}"
    )
    label = "OpenIntentClient" if which == "sync" else "AsyncOpenIntentClient"
    uncalled = sorted(m for m in found if f"{label}.{m}" not in report["results"])
    assert not uncalled, f"no scenario step calls {uncalled}"


@pytest.mark.parametrize("name", IN_SCOPE)
def test_reference_client_method(report: dict[str, Any], name: str) -> None:
    results = report["results"]
    assert name in results, f"the scenario never called {name}"
    problem = _verdict(name, results[name])
    assert problem is None, problem


def test_every_scenario_step_passes(report: dict[str, Any]) -> None:
    """Variants (``method[case]``) included: no FAIL, no undocumented failure."""
    problems = [p for n, o in report["results"].items() if (p := _verdict(n, o)) is not None]
    assert not problems, "\n".join(problems)
