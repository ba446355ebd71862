"""``Idempotency-Key`` on creates, our client against our server (issue 5, point 5).

Two checks:

* a create whose response is lost is retried by a client built with
  ``idempotency_keys=True`` (the header makes the POST retryable) and the server
  answers the retry with the first result: one object, not two;
* for every create endpoint the client marks as such, two requests carrying the same
  key create once and answer the same object; keys are per caller (another API key
  with the same key creates its own).

Every area honours the header (services/idempotency.py), so every case is a plain test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from openintent.client import OpenIntentClient
from openintent.server.testing import ServerProcess

# -- a lost response, retried ---------------------------------------------------------


class LoseFirstResponse(httpx.BaseTransport):
    """Delivers the first POST to the server, then fails as if the answer was lost."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.posts: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST":
            self.posts.append(request)
            if len(self.posts) == 1:
                response.read()
                response.close()
                raise httpx.ReadError("connection reset after the server answered", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def test_lost_response_retried_creates_once(ours: ServerProcess, c: OpenIntentClient) -> None:
    transport = LoseFirstResponse()
    title = f"lost-{uuid.uuid4().hex[:8]}"
    with OpenIntentClient(
        ours.base_url, "dev-user-key", "it-agent", idempotency_keys=True, transport=transport
    ) as client:
        intent = client.create_intent(title)
    first, retry = transport.posts
    assert first.headers["Idempotency-Key"] == retry.headers["Idempotency-Key"]
    assert [i.id for i in c.list_intents(limit=1000) if i.title == title] == [intent.id]


def test_without_keys_a_post_that_may_have_arrived_is_not_retried(ours: ServerProcess) -> None:
    transport = LoseFirstResponse()
    with (
        OpenIntentClient(ours.base_url, "dev-user-key", "it-agent", transport=transport) as client,
        pytest.raises(httpx.ReadError),
    ):
        client.create_intent("not retried")
    assert len(transport.posts) == 1
    assert "Idempotency-Key" not in transport.posts[0].headers


# -- the same key twice, per create endpoint --------------------------------------------


def _keyed(ours: ServerProcess, key: str, api_key: str = "dev-user-key") -> OpenIntentClient:
    return OpenIntentClient(ours.base_url, api_key, "it-agent", headers={"Idempotency-Key": key})


Create = Callable[[OpenIntentClient, dict[str, Any]], Any]
Count = Callable[[OpenIntentClient, dict[str, Any]], int]


def _ident(created: Any) -> str:
    if isinstance(created, dict):
        return str(created["id"])
    for name in ("trigger_id", "id", "agent_id"):
        if value := getattr(created, name, None):
            return str(value)
    raise AssertionError(f"no id on {created!r}")


def _setup(c: OpenIntentClient) -> dict[str, Any]:
    intent = c.create_intent(f"idem-{uuid.uuid4().hex[:8]}")
    return {"intent": intent.id, "name": f"n-{uuid.uuid4().hex[:8]}"}


# name -> (area, create, count of stored objects or None when there is no listing)
CASES: dict[str, tuple[str, Create, Count | None]] = {
    "create_intent": (
        "intents",
        lambda k, s: k.create_intent(s["name"]),
        lambda c, s: sum(i.title == s["name"] for i in c.list_intents(limit=1000)),
    ),
    "create_child_intent": (
        "graphs",
        lambda k, s: k.create_child_intent(s["intent"], "child"),
        lambda c, s: len(c.get_children(s["intent"])),
    ),
    "record_cost": (
        "costs",
        lambda k, s: k.record_cost(s["intent"], "tokens", 5, "tokens"),
        lambda c, s: len(c.get_costs(s["intent"])[0]),
    ),
    "add_attachment": (
        "attachments",
        lambda k, s: k.add_attachment(s["intent"], "f", "text/plain", 1, "https://s/f"),
        lambda c, s: len(c.get_attachments(s["intent"])),
    ),
    "record_failure": (
        "retry",
        lambda k, s: k.record_failure(s["intent"], 1, "TIMEOUT", "t/o"),
        lambda c, s: len(c.get_failures(s["intent"])),
    ),
    "subscribe": (
        "subscriptions",
        lambda k, s: k.subscribe(s["intent"], webhook_url="https://hook/i"),
        lambda c, s: len(c.get_subscriptions(intent_id=s["intent"])),
    ),
    "create_portfolio": (
        "portfolios",
        lambda k, s: k.create_portfolio(s["name"]),
        lambda c, s: sum(p.name == s["name"] for p in c.list_portfolios()),
    ),
    "escalate_to_human": (
        "governance",
        lambda k, s: k.escalate_to_human(s["intent"], "stuck"),
        lambda c, s: len(c.list_escalations(intent_id=s["intent"])),
    ),
    "request_approval": ("governance", lambda k, s: k.request_approval(s["intent"], "go"), None),
    "grant_access": (
        "access",
        lambda k, s: k.grant_access(s["intent"], "agent-b"),
        lambda c, s: sum(e.principal_id == "agent-b" for e in c.get_acl(s["intent"]).entries),
    ),
    "request_access": (
        "access",
        lambda k, s: k.request_access(s["intent"], "agent-z"),
        lambda c, s: len(c.list_access_requests(s["intent"])),
    ),
    "create_task": (
        "tasks",
        lambda k, s: k.create_task(s["intent"], "t"),
        lambda c, s: len(c.list_tasks(s["intent"])),
    ),
    "create_plan": (
        "tasks",
        lambda k, s: k.create_plan(s["intent"]),
        lambda c, s: len(c.list_plans(s["intent"])),
    ),
    "create_coordinator_lease": (
        "coordinators",
        lambda k, s: k.create_coordinator_lease(s["name"], s["intent"]),
        lambda c, s: len(c.list_coordinator_leases(s["intent"])),
    ),
    "create_decision_record": (
        "coordinators",
        lambda k, s: k.create_decision_record("co", s["intent"], "plan_created", "s", "r"),
        lambda c, s: len(c.list_decision_records(s["intent"])),
    ),
    "create_vault": ("vaults", lambda k, s: k.create_vault("owner", s["name"]), None),
    "create_memory": (
        "memory",
        lambda k, s: k.create_memory(s["name"], "ns", "key", {"v": 1}),
        lambda c, s: len(c.list_memory(s["name"])),
    ),
    "register_agent": (
        "agents",
        lambda k, s: k.register_agent(s["name"], role_id=s["name"]),
        lambda c, s: len(c.list_agents(role_id=s["name"])),
    ),
    "create_trigger": (
        "triggers",
        lambda k, s: k.create_trigger("t", "webhook", namespace=s["name"]),
        lambda c, s: len(c.list_triggers(namespace=s["name"])),
    ),
}


@pytest.fixture
def keyed(ours: ServerProcess) -> Iterator[Callable[..., OpenIntentClient]]:
    opened: list[OpenIntentClient] = []

    def make(key: str, api_key: str = "dev-user-key") -> OpenIntentClient:
        opened.append(_keyed(ours, key, api_key))
        return opened[-1]

    yield make
    for client in opened:
        client.close()


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_key_creates_once(
    name: str, c: OpenIntentClient, keyed: Callable[..., OpenIntentClient]
) -> None:
    _, create, count = CASES[name]
    setup = _setup(c)
    key = uuid.uuid4().hex
    first = create(keyed(key), setup)
    again = create(keyed(key), setup)
    assert _ident(again) == _ident(first), "a repeated key must answer the first result"
    if count is not None:
        assert count(c, setup) == 1


def test_keys_are_per_caller(c: OpenIntentClient, keyed: Callable[..., OpenIntentClient]) -> None:
    """Another API key sending the same key creates its own intent (services/idempotency.py)."""
    key, title = uuid.uuid4().hex, f"per-caller-{uuid.uuid4().hex[:8]}"
    mine = keyed(key).create_intent(title)
    theirs = keyed(key, "agent-research-key").create_intent(title)
    assert theirs.id != mine.id
    assert keyed(key).create_intent(title).id == mine.id


def test_cases_cover_every_create_the_client_keys() -> None:
    """Every endpoint the client marks ``create=True`` is listed, or out of scope."""
    import inspect

    from openintent.client._base import ClientBase
    from openintent.client._endpoint import endpoint

    out_of_scope = {"create_channel", "send_message", "reply_to"}  # RFC-0021, not served
    listing_only = {"create_credential", "create_tool_grant", "record_invocation"}  # need setup
    creates = set()
    for name in dir(ClientBase):
        member = getattr(ClientBase, name)
        if isinstance(member, endpoint) and "create=True" in inspect.getsource(member.definition):
            creates.add(name)
    assert creates - set(CASES) - out_of_scope - listing_only == set()
