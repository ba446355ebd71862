"""Running a program (one call or a multi-step operation) in each mode.

Both drivers step the same generator: send the yielded call (or sleep), feed the result
back, or throw the call's exception into the operation so it can handle it
(``get_retry_policy`` turns a 404 into ``None`` that way).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from openintent.client._call import Call, Flow, Program, Sleep, Step

__all__ = ["drive_async", "drive_sync"]

T = TypeVar("T")

_DONE = object()


def _advance(flow: Flow[Any], value: Any, error: BaseException | None) -> tuple[Any, Any]:
    """The next step, or ``(_DONE, result)`` when the operation returned."""
    try:
        step: Step = flow.throw(error) if error is not None else flow.send(value)
    except StopIteration as stop:
        return _DONE, stop.value
    return step, None


def drive_sync(send: Callable[[Call[Any]], Any], program: Program[T]) -> T:
    if isinstance(program, Call):
        return send(program)  # type: ignore[no-any-return]
    value: Any = None
    error: BaseException | None = None
    while True:
        step, result = _advance(program, value, error)
        if step is _DONE:
            return result  # type: ignore[no-any-return]
        value, error = None, None
        try:
            if isinstance(step, Sleep):
                time.sleep(step.seconds)
            else:
                value = send(step)
        except Exception as exc:
            error = exc


async def drive_async(send: Callable[[Call[Any]], Awaitable[Any]], program: Program[T]) -> T:
    if isinstance(program, Call):
        return await send(program)  # type: ignore[no-any-return]
    value: Any = None
    error: BaseException | None = None
    while True:
        step, result = _advance(program, value, error)
        if step is _DONE:
            return result  # type: ignore[no-any-return]
        value, error = None, None
        try:
            if isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
            else:
                value = await send(step)
        except Exception as exc:
            error = exc
