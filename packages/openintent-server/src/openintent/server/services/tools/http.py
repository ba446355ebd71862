"""Outbound HTTP for the tool proxy: which hosts may be called, and one guarded call.

The host check resolves DNS before connecting and then connects to the address it
checked (the URL's host is replaced by that address; ``Host`` and TLS SNI keep the
name), so a name that resolves to loopback, a private or link-local range, or that is
re-pointed between check and call, cannot reach an internal service. Only resolved
addresses that are public (``ipaddress.is_global``) are used, unless the operator
allowed the host or the address explicitly (``ServerConfig.tool_allow_hosts`` /
``OPENINTENT_TOOL_ALLOW_HOSTS``: host names, IP addresses or CIDR networks). A grant's
``constraints.allowed_hosts`` (else the credential's ``allowed_hosts``) narrows the
hosts further: the name must equal an entry or be a subdomain of one.

Redirects are not followed, environment proxies are ignored, answers over 1 MiB are
refused, and the whole call (DNS, connect, upload, download) shares one deadline.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    import httpx

__all__ = [
    "MAX_RESPONSE_BYTES",
    "USER_AGENT",
    "Answer",
    "HostPolicy",
    "OutboundRequest",
    "ToolCallDenied",
    "ToolCallFailed",
    "elapsed_ms",
    "send",
    "system_resolver",
]

USER_AGENT = "OpenIntent-Server/1.0"
MAX_RESPONSE_BYTES = 1024 * 1024
RAW_TEXT_LIMIT = 5000
_BLOCKED_NAMES = frozenset({"metadata.google.internal"})

Resolver = Callable[[str, int], Awaitable[list[str]]]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class ToolCallDenied(Exception):
    """The URL is not one the proxy may call (adapter status ``denied``, HTTP 403)."""


class ToolCallFailed(Exception):
    """The call could not be made or completed (``error``; ``timeout`` when ``timed_out``)."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@attrs.frozen
class HostPolicy:
    """Operator exceptions to the public-address rule, and the DNS resolver to use."""

    allow: tuple[str, ...] = ()
    resolver: Resolver = system_resolver

    @classmethod
    def from_entries(cls, entries: Iterable[str], resolver: Resolver | None = None) -> HostPolicy:
        cleaned = tuple(e.strip().lower() for e in entries if e and e.strip())
        return cls(cleaned, resolver or system_resolver)

    def _allowed_name(self, host: str) -> bool:
        return host in self.allow

    def _allowed_address(self, address: Address) -> bool:
        for entry in self.allow:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
        return False

    def _public(self, address: Address) -> bool:
        return address.is_global and not address.is_multicast

    async def target(self, url: httpx.URL, narrowed_to: list[str] | None) -> httpx.URL:
        """``url`` with its host replaced by the checked address to connect to."""
        if url.scheme not in ("http", "https"):
            raise ToolCallDenied(f"Blocked scheme: {url.scheme or '(none)'}")
        host = url.host.lower().rstrip(".")
        if not host:
            raise ToolCallDenied("URL has no host")
        if narrowed_to is not None and not any(
            host == h or host.endswith("." + h)
            for h in (e.lower().rstrip(".") for e in narrowed_to)
        ):
            raise ToolCallDenied(f"Host not in allowed_hosts: {host}")
        named_ok = self._allowed_name(host)
        if host in _BLOCKED_NAMES and not named_ok:
            raise ToolCallDenied(f"Blocked host: {host}")
        literal = _address(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                found = await self.resolver(
                    host, url.port or (443 if url.scheme == "https" else 80)
                )
            except (OSError, UnicodeError) as exc:
                raise ToolCallFailed(f"Connection failed: cannot resolve {host} ({exc})") from None
            addresses = [a for a in (_address(t) for t in found) if a is not None]
            if not addresses:
                raise ToolCallFailed(f"Connection failed: {host} has no address")
        usable = [a for a in addresses if named_ok or self._public(a) or self._allowed_address(a)]
        if not usable:
            shown = host if literal is not None else f"{host} (resolves to {addresses[0]})"
            raise ToolCallDenied(f"Blocked host: {shown}")
        # Only a checked address is ever connected to, so a mixed answer cannot smuggle
        # in a private one.
        return url.copy_with(host=str(usable[0]))


@attrs.define
class OutboundRequest:
    method: str
    url: str
    headers: dict[str, str] = attrs.field(factory=dict)
    params: dict[str, Any] = attrs.field(factory=dict)
    json_body: Any = None
    content: bytes | None = None
    form: dict[str, str] | None = None
    auth: tuple[str, str] | None = None

    def fingerprint(self) -> str:
        """First 16 hex digits of SHA-256 over method, URL and body (for the audit)."""
        body = self.content.decode(errors="replace") if self.content else str(self.json_body or "")
        text = f"{self.method}|{self.url}|{body[:2000]}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@attrs.frozen
class Answer:
    status_code: int
    body: Any  # parsed JSON, or {"raw": text}


async def send(
    request: OutboundRequest,
    policy: HostPolicy,
    *,
    narrowed_to: list[str] | None,
    timeout: float,
) -> Answer:
    """Check the host, make the call, read at most 1 MiB; raises ToolCallDenied/Failed."""
    try:
        async with asyncio.timeout(timeout):
            return await _send(request, policy, narrowed_to, timeout)
    except TimeoutError:
        raise ToolCallFailed("External service timed out", timed_out=True) from None


async def _send(
    request: OutboundRequest, policy: HostPolicy, narrowed_to: list[str] | None, timeout: float
) -> Answer:
    import httpx  # on first use: with litestar's CLI deps it pulls in ~8 MiB (click, rich)

    try:
        url = httpx.URL(request.url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise ToolCallDenied("Invalid URL") from None
    connect_to = await policy.target(url, narrowed_to)
    headers = {"User-Agent": USER_AGENT, **request.headers}
    headers["Host"] = url.netloc.decode("ascii", errors="replace")
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    async with httpx.AsyncClient(
        follow_redirects=False, trust_env=False, timeout=httpx.Timeout(timeout)
    ) as client:
        try:
            built = client.build_request(
                request.method,
                connect_to,
                headers=headers,
                params=_query(request.params) or None,
                json=request.json_body,
                content=request.content,
                data=request.form,
                extensions=extensions,
            )
            response = await client.send(built, stream=True, auth=request.auth)
        except httpx.TimeoutException:
            raise ToolCallFailed("External service timed out", timed_out=True) from None
        except (httpx.HTTPError, ValueError, TypeError) as exc:
            raise ToolCallFailed(f"Connection failed: {type(exc).__name__}: {exc}") from None
        try:
            data = bytearray()
            async for chunk in response.aiter_bytes():  # decoded, counted as it grows
                data += chunk
                if len(data) > MAX_RESPONSE_BYTES:
                    raise ToolCallFailed(
                        f"Response too large: more than {MAX_RESPONSE_BYTES} bytes"
                    )
        except httpx.TimeoutException:
            raise ToolCallFailed("External service timed out", timed_out=True) from None
        except httpx.DecodingError:
            raise ToolCallFailed("Upstream sent an undecodable body") from None
        except httpx.HTTPError as exc:
            raise ToolCallFailed(f"Connection failed: {type(exc).__name__}: {exc}") from None
        finally:
            await response.aclose()
    return Answer(response.status_code, _parse(bytes(data)))


def _query(params: Mapping[str, Any]) -> dict[str, str]:
    """Query values as text: JSON for objects and lists, ``true``/``false`` for booleans."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, dict | list):
            out[key] = json.dumps(value, separators=(",", ":"))
        elif value is not None:
            out[key] = str(value)
    return out


def _parse(data: bytes) -> Any:
    text = data.decode("utf-8", errors="replace")
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return {"raw": text[:RAW_TEXT_LIMIT]}


def elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
