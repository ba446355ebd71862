"""Sending a :class:`Call` over httpx: one transport per mode, sharing every decision.

What is shared (pure functions): the request arguments, the retry rule and its back-off,
the decoding of the answer and the error mapping. The two transport classes only differ
in ``request`` vs ``await request`` and ``time.sleep`` vs ``asyncio.sleep``.

Retry rule: a transport failure is retried with capped exponential back-off when the
request never reached the server (connect errors: nothing was sent, so repeating it is
not a blind retry), or when the call is idempotent (GET/PUT/DELETE, or a create carrying
an ``Idempotency-Key``). A non-idempotent POST that may have reached the server is never
repeated. HTTP error answers are never retried: they are the server's decision.
"""

from __future__ import annotations

import asyncio
import enum
import time
import uuid
from typing import Any, TypeVar

import attrs
import httpx

from openintent.client._call import Call
from openintent.client._errors import map_error

__all__ = ["AsyncTransport", "SyncTransport", "TransportOptions", "interpret", "retry_delay"]

T = TypeVar("T")

IDEMPOTENCY_HEADER = "Idempotency-Key"

# The request was not delivered: safe to repeat whatever the method.
_NOT_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)


@attrs.frozen
class TransportOptions:
    """Retry and idempotency settings shared by both transports."""

    max_retries: int = 2
    backoff: float = 0.25
    backoff_cap: float = 4.0
    idempotency_keys: bool = False


def request_args(call: Call[Any], options: TransportOptions) -> dict[str, Any]:
    """Keyword arguments for ``httpx.Client.request`` (fixed across retries)."""
    headers = {k: v for k, v in (call.headers or {}).items() if v is not None}
    if call.create and options.idempotency_keys and IDEMPOTENCY_HEADER not in headers:
        headers[IDEMPOTENCY_HEADER] = uuid.uuid4().hex
    params = {k: _param(v) for k, v in (call.params or {}).items() if v is not None}
    args: dict[str, Any] = {"method": call.method, "url": call.path}
    if params:
        args["params"] = params
    if headers:
        args["headers"] = headers
    if call.json is not None:
        args["json"] = call.json
    return args


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return value.value
    return value


def retry_delay(
    call: Call[Any], args: dict[str, Any], exc: Exception, attempt: int, options: TransportOptions
) -> float | None:
    """Seconds to wait before retry number ``attempt + 1``, or ``None`` to give up."""
    if attempt >= options.max_retries or not isinstance(exc, httpx.TransportError):
        return None
    keyed = IDEMPOTENCY_HEADER in args.get("headers", {})
    if not (isinstance(exc, _NOT_SENT) or call.is_idempotent or keyed):
        return None
    return float(min(options.backoff_cap, options.backoff * (2**attempt)))


def decode(response: httpx.Response) -> Any:
    """Decoded JSON, ``None`` for an empty body, the text when it is not JSON."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def interpret(call: Call[T], response: httpx.Response) -> T:
    """The call's result, or the mapped exception for an error status."""
    body = decode(response)
    if response.status_code >= 400:
        raise map_error(response.status_code, body)
    return call.parse(body)


class SyncTransport:
    """Blocking sender over one pooled ``httpx.Client``."""

    def __init__(self, http: httpx.Client, options: TransportOptions) -> None:
        self.http = http
        self.options = options

    def send(self, call: Call[T]) -> T:
        args = request_args(call, self.options)
        attempt = 0
        while True:
            try:
                response = self.http.request(**args)
            except httpx.TransportError as exc:
                delay = retry_delay(call, args, exc, attempt, self.options)
                if delay is None:
                    raise
                attempt += 1
                time.sleep(delay)
                continue
            return interpret(call, response)

    def close(self) -> None:
        self.http.close()


class AsyncTransport:
    """Asyncio sender over one pooled ``httpx.AsyncClient``."""

    def __init__(self, http: httpx.AsyncClient, options: TransportOptions) -> None:
        self.http = http
        self.options = options

    async def send(self, call: Call[T]) -> T:
        args = request_args(call, self.options)
        attempt = 0
        while True:
            try:
                response = await self.http.request(**args)
            except httpx.TransportError as exc:
                delay = retry_delay(call, args, exc, attempt, self.options)
                if delay is None:
                    raise
                attempt += 1
                await asyncio.sleep(delay)
                continue
            return interpret(call, response)

    async def close(self) -> None:
        await self.http.aclose()
