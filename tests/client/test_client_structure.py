"""One definition per endpoint: the two clients differ only in how they send.

Every protocol method of both clients (and of their namespace views) is the same
``endpoint`` descriptor over a function of ``openintent.client.endpoints``; the client
classes themselves add only what is inherently mode-specific.
"""

from __future__ import annotations

import inspect

from openintent.client import AsyncOpenIntentClient, OpenIntentClient
from openintent.client._base import ClientBase
from openintent.client._endpoint import Dispatcher, endpoint

#: What each mode defines itself: pool, context managers, SSE objects.
MODE_SPECIFIC = {
    "close",
    "lease",
    "subscribe_sse",
    "subscribe_portfolio",
    "subscribe_agent",
    "create_event_queue",
}
NAMESPACES = {"tasks", "memory", "agents", "triggers", "tools", "coordinator"}
ATTRIBUTES = {"headers"}  # a property, not a call


def _public(cls: type) -> set[str]:
    return {n for n in dir(cls) if not n.startswith("_")}


def test_protocol_methods_are_defined_once_on_the_shared_base() -> None:
    endpoints = {n for n in _public(ClientBase) if isinstance(getattr(ClientBase, n), endpoint)}
    assert len(endpoints) > 140
    for cls in (OpenIntentClient, AsyncOpenIntentClient):
        own = {n for n in vars(cls) if not n.startswith("_")}
        assert own == MODE_SPECIFIC, f"{cls.__name__} defines more than its sending: {own}"
        assert _public(cls) == endpoints | MODE_SPECIFIC | NAMESPACES | ATTRIBUTES
    for name in endpoints:
        definition = inspect.getattr_static(ClientBase, name).definition
        assert definition.__module__.startswith("openintent.client.endpoints."), name


def test_namespace_views_are_the_same_definitions() -> None:
    sync_client = OpenIntentClient("http://127.0.0.1:9")
    try:
        for name in NAMESPACES:
            view = getattr(sync_client, name)
            assert isinstance(view, Dispatcher)
            methods = {m for m in _public(type(view)) if not m.startswith("_")}
            assert methods, name
            for method in methods:
                descriptor = inspect.getattr_static(type(view), method)
                assert isinstance(descriptor, endpoint), f"{name}.{method}"
                module = descriptor.definition.__module__
                assert module.startswith("openintent.client.endpoints."), f"{name}.{method}"
    finally:
        sync_client.close()
