"""Server-sent events written as ready-made frames.

A stream message goes to every subscriber of its channel, so its frame (``id``,
``event`` and ``data`` lines) is encoded once and the bytes are shared; a subscriber
with several messages waiting sends them as one chunk. The framing is litestar's
(CRLF line ends, line breaks inside a field split into several ``data:`` lines).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping

from litestar.response import ServerSentEvent, Stream

__all__ = ["PING", "EventStream", "encode_frame"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CRLF = "\r\n"

#: A comment frame that keeps idle connections (and proxies) from timing out.
PING = b": ping\r\n\r\n"


def encode_frame(event_id: int | str, event: str, data: str) -> bytes:
    lines = [f"id: {_LINE_BREAK.sub('', str(event_id))}", f"event: {_LINE_BREAK.sub('', event)}"]
    lines.extend(f"data: {chunk}" for chunk in _LINE_BREAK.split(data))
    return (_CRLF.join(lines) + _CRLF + _CRLF).encode()


class EventStream(ServerSentEvent):
    """``text/event-stream`` over an iterator of encoded frames.

    A :class:`ServerSentEvent` for handler annotations and the OpenAPI document; it
    skips the parent's per-message encoding, since the frames arrive encoded.
    """

    def __init__(
        self, frames: AsyncIterator[bytes], headers: Mapping[str, str] | None = None
    ) -> None:
        Stream.__init__(self, content=frames, media_type="text/event-stream", headers=headers)
        self.headers.setdefault("Cache-Control", "no-cache")
        self.headers["Connection"] = "keep-alive"
        self.headers["X-Accel-Buffering"] = "no"
