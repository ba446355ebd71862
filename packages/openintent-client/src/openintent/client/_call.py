"""The sans-io description of one HTTP exchange, and of multi-step operations.

An endpoint definition builds a :class:`Call` (what to send and how to read the answer);
it never touches the network. Operations that need several exchanges (read a version,
then write with it) are generators that ``yield from`` calls and :class:`Sleep` steps;
the sync and async clients drive the same generator, each with its own way of sending.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from typing import Any, Generic, TypeAlias, TypeVar

import attrs

__all__ = ["IDEMPOTENT_METHODS", "Call", "Flow", "Program", "Sleep", "Step"]

T = TypeVar("T")

#: Methods whose repetition has no further effect (RFC 9110 section 9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@attrs.frozen
class Sleep:
    """A pause inside a multi-step operation (``ask`` polls); each mode sleeps its own way."""

    seconds: float

    def __iter__(self) -> Generator[Step, Any, None]:
        yield self


@attrs.frozen
class Call(Generic[T]):
    """One request and the parser of its decoded JSON answer.

    ``path`` is relative to the client's base URL (an absolute URL is sent as is).
    ``params`` and ``headers`` entries whose value is ``None`` are dropped. ``idempotent``
    decides whether a transport failure may be retried; it defaults from the method.
    ``create`` marks requests that create something: when the client is configured for
    idempotency keys they get an ``Idempotency-Key`` header and become retryable.
    """

    method: str
    path: str
    parse: Callable[[Any], T]
    params: Mapping[str, Any] | None = None
    json: Any = None
    headers: Mapping[str, str | None] | None = None
    idempotent: bool | None = None
    create: bool = False

    @property
    def is_idempotent(self) -> bool:
        if self.idempotent is not None:
            return self.idempotent
        return self.method.upper() in IDEMPOTENT_METHODS

    def __iter__(self) -> Generator[Step, Any, T]:
        # Lets operations write ``value = yield from call`` and get ``T`` back, typed.
        result = yield self
        return result  # type: ignore[no-any-return]


#: What a multi-step operation yields to its driver.
Step: TypeAlias = "Call[Any] | Sleep"
#: A multi-step operation returning ``T``.
Flow: TypeAlias = Generator[Step, Any, T]
#: What an endpoint definition returns: a single call or a multi-step operation.
Program: TypeAlias = "Call[T] | Flow[T]"
