"""RFC-0021: channels and messages (the reference returns plain dicts here)."""

from __future__ import annotations

import time
from typing import Any

from openintent.client._call import Call, Flow, Sleep
from openintent.client._endpoint import Context
from openintent.client._parse import nothing, raw, raw_list
from openintent.client.endpoints._util import api

__all__ = [
    "ask",
    "close_channel",
    "create_channel",
    "get_channel",
    "get_message",
    "list_channels",
    "list_messages",
    "mark_read",
    "reply_to",
    "send_message",
]

#: How often ``ask`` looks for the answer.
ASK_POLL_SECONDS = 0.5


def create_channel(
    ctx: Context,
    /,
    intent_id: str,
    name: str,
    members: list[str] | None = None,
    member_policy: str = "intent",
    task_id: str | None = None,
    options: dict[str, Any] | None = None,
) -> Call[dict[str, Any]]:
    body: dict[str, Any] = {"name": name, "member_policy": member_policy}
    if members:
        body["members"] = list(members)
    if task_id:
        body["task_id"] = task_id
    if options:
        body["options"] = options
    return Call("POST", api("intents", intent_id, "channels"), raw, json=body, create=True)


def list_channels(ctx: Context, /, intent_id: str) -> Call[list[dict[str, Any]]]:
    return Call("GET", api("intents", intent_id, "channels"), raw_list("channels"))


def get_channel(ctx: Context, /, channel_id: str) -> Call[dict[str, Any]]:
    return Call("GET", api("channels", channel_id), raw)


def close_channel(ctx: Context, /, channel_id: str) -> Call[None]:
    return Call("DELETE", api("channels", channel_id), nothing)


def send_message(
    ctx: Context,
    /,
    channel_id: str,
    sender: str,
    to: str | None = None,
    message_type: str = "notify",
    payload: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    expires_at: str | None = None,
) -> Call[dict[str, Any]]:
    body: dict[str, Any] = {
        "sender": sender,
        "message_type": message_type,
        "payload": payload or {},
    }
    if to:
        body["to"] = to
    if metadata:
        body["metadata"] = metadata
    if expires_at:
        body["expires_at"] = expires_at
    return Call("POST", api("channels", channel_id, "messages"), raw, json=body, create=True)


def reply_to(
    ctx: Context,
    /,
    channel_id: str,
    message_id: str,
    sender: str,
    payload: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Call[dict[str, Any]]:
    body: dict[str, Any] = {"sender": sender, "payload": payload or {}}
    if metadata:
        body["metadata"] = metadata
    path = api("channels", channel_id, "messages", message_id, "reply")
    return Call("POST", path, raw, json=body, create=True)


def list_messages(
    ctx: Context, /, channel_id: str, since: str | None = None, to: str | None = None
) -> Call[list[dict[str, Any]]]:
    return Call(
        "GET",
        api("channels", channel_id, "messages"),
        raw_list("messages"),
        params={"since": since, "to": to},
    )


def get_message(ctx: Context, /, channel_id: str, message_id: str) -> Call[dict[str, Any]]:
    return Call("GET", api("channels", channel_id, "messages", message_id), raw)


def mark_read(ctx: Context, /, channel_id: str, message_id: str) -> Call[dict[str, Any]]:
    return Call(
        "PATCH",
        api("channels", channel_id, "messages", message_id),
        raw,
        json={"status": "read"},
    )


def ask(
    ctx: Context,
    /,
    channel_id: str,
    sender: str,
    to: str,
    payload: dict[str, Any],
    timeout: int = 30,
) -> Flow[dict[str, Any]]:
    """Send a request message and wait for its response (builtin ``TimeoutError`` after
    ``timeout`` seconds)."""
    request = yield from send_message(
        ctx, channel_id, sender, to=to, message_type="request", payload=payload
    )
    deadline = time.monotonic() + timeout
    while True:
        for message in (yield from list_messages(ctx, channel_id)):
            if (
                message.get("correlation_id") == request.get("id")
                and message.get("message_type") == "response"
            ):
                return message
        if time.monotonic() >= deadline:
            raise TimeoutError(f"no response to message {request.get('id')} within {timeout}s")
        yield from Sleep(ASK_POLL_SECONDS)
