"""The ``endpoint`` descriptor: one definition, a sync method and an async method.

An endpoint definition is a plain function ``(ctx, *args) -> Call[T] | Flow[T]``.
Placed on a class as ``name = endpoint(fn)``, it becomes a method whose type depends on
the class it is read from: on a :class:`Dispatcher` in :class:`SyncMode` it is
``Callable[P, T]`` (sends and returns), in :class:`AsyncMode` it is
``Callable[P, Awaitable[T]]``. mypy checks each call site against the definition's own
parameters, so both clients are typed from the single definition.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, Self, TypeVar, final, overload

from openintent.client._call import Program

__all__ = ["AsyncMode", "Context", "Dispatcher", "SyncMode", "endpoint"]

P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M", bound="SyncMode | AsyncMode")


@final
class SyncMode:
    """Marker: methods send and return results."""


@final
class AsyncMode:
    """Marker: methods return awaitables."""


class Context(Protocol):
    """What endpoint definitions may read from the client."""

    @property
    def agent_id(self) -> str: ...


class Dispatcher(Generic[M]):
    """Anything that runs programs in mode ``M``: the clients and their namespaces."""

    __slots__ = ()

    def _context(self) -> Context:
        """What endpoint definitions receive as ``ctx`` (the client)."""
        raise NotImplementedError

    def _run(self, program: Program[Any]) -> Any:
        """Send ``program``; returns its result (sync) or an awaitable of it (async)."""
        raise NotImplementedError


class endpoint(Generic[P, T]):
    """Expose an endpoint definition as a method of a :class:`Dispatcher` subclass."""

    def __init__(self, definition: Callable[Concatenate[Context, P], Program[T]]) -> None:
        self.definition = definition
        self.__doc__ = definition.__doc__
        self.__wrapped__ = definition
        params = list(inspect.signature(definition).parameters.values())[1:]
        self.__signature__ = inspect.Signature(params)

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<endpoint {getattr(self, 'name', self.definition.__name__)}>"

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: Dispatcher[SyncMode], owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(
        self, obj: Dispatcher[AsyncMode], owner: type[Any]
    ) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, obj: Dispatcher[Any] | None, owner: type[Any]) -> Any:
        if obj is None:
            return self
        definition = self.definition
        run = obj._run
        ctx = obj._context()

        @functools.wraps(definition)
        def method(*args: Any, **kwargs: Any) -> Any:
            return run(definition(ctx, *args, **kwargs))

        method.__signature__ = self.__signature__  # type: ignore[attr-defined]
        method.__name__ = getattr(self, "name", definition.__name__)
        method.__qualname__ = f"{type(obj).__name__}.{method.__name__}"
        return method

    def build(self, ctx: Context, *args: P.args, **kwargs: P.kwargs) -> Program[T]:
        """The call (or operation) without sending it; for tests and inspection."""
        return self.definition(ctx, *args, **kwargs)
