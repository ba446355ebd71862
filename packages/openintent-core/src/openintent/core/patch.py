"""The state-patch engine of ``POST /intents/{id}/state`` (RFC-0001).

:func:`apply_patches` is pure: it returns a new state and never touches its input, so a
failed request leaves nothing half-applied, and every change (nested ones included) is
in the result. The reference server loses in-place nested changes; we keep them.

Paths
    Split on ``/`` with empty segments dropped, as the reference does: ``"a/b"``,
    ``"/a/b"`` and ``"a//b"`` all name ``state["a"]["b"]``. Inside a segment, ``~1``
    stands for ``/`` and ``~0`` for ``~`` (RFC 6901); any other ``~`` is kept literally,
    because the reference treats ``~`` as an ordinary character and keys such as
    ``"v~2"`` written by its clients must keep working. A consequence of dropping empty
    segments is that the empty key ``""`` cannot be addressed.

Objects and arrays
    In an object a segment is always a key, digits included (``"a/0"`` sets key
    ``"0"``), exactly as the reference. In an array a segment must be an RFC 6901 index
    (``"0"`` or digits without a leading zero) or ``"-"``, which names the position just
    past the end: ``set`` there appends, and so does a missing intermediate object there.
    The reference has no array addressing (it answered 500), so this adds behaviour
    without changing any that worked.

Operations
    ``set``
        Replace or create the target. Missing intermediates are created as objects.
    ``append``
        Append to the list at the target; an absent target becomes ``[value]``, missing
        intermediates are created as for ``set``. A target that exists and is not a list
        is an error (the reference silently replaced it with a fresh list, losing data).
    ``remove``
        Delete the target; an absent target is an error (the reference ignored it).

Every problem (unknown op, empty path, a path through a string, number, boolean or
null, a bad array index, an absent ``remove`` target) raises
:class:`~openintent.exceptions.ValidationError` naming the patch index, op and path.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from openintent.exceptions import ValidationError

if TYPE_CHECKING:
    # Type-only: openintent.models.intents imports the codec, which imports this
    # package, so a runtime import here would be circular.
    from openintent.models.intents import StatePatch

__all__ = [
    "PATCH_OPS",
    "apply_patches",
    "join_path",
    "normalize_patch",
    "read_path",
    "split_path",
]

_INDEX = re.compile(r"0|[1-9][0-9]*")
_END = "-"


class _PatchProblem(Exception):
    """Raised inside one operation; turned into a ValidationError with its context."""


# -- paths ------------------------------------------------------------------------------


def _unescape(segment: str) -> str:
    # Only the two RFC 6901 escapes are decoded, ``~1`` first so ``~01`` means ``~1``.
    if "~" not in segment:
        return segment
    return segment.replace("~1", "/").replace("~0", "~")


def split_path(path: str) -> tuple[str, ...]:
    """The unescaped segments of ``path``; empty segments are dropped."""
    return tuple(_unescape(part) for part in path.split("/") if part)


def join_path(segments: Sequence[str]) -> str:
    """The canonical JSON-pointer form of ``segments`` (``("a", "b/c")`` -> ``"/a/b~1c"``)."""
    return "".join("/" + s.replace("~", "~0").replace("/", "~1") for s in segments)


def _index(segment: str, array: list[Any], *, allow_end: bool) -> int:
    """Position in ``array`` named by ``segment``; ``len(array)`` means "append"."""
    if segment == _END:
        if allow_end:
            return len(array)
        raise _PatchProblem("'-' names no existing array element")
    if not _INDEX.fullmatch(segment):
        raise _PatchProblem(f"{segment!r} is not an array index")
    position = int(segment)
    limit = len(array) if allow_end else len(array) - 1
    if position > limit:
        raise _PatchProblem(f"index {position} is out of range for an array of {len(array)}")
    return position


def _describe(value: object) -> str:
    return "null" if value is None else type(value).__name__


# -- copying ----------------------------------------------------------------------------


def _clone(value: Any) -> Any:
    """Deep copy of JSON data; the result shares no mutable object with ``value``."""
    if isinstance(value, dict):
        return {key: _clone(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clone(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return copy.deepcopy(value)


# -- walking ----------------------------------------------------------------------------


def _parent(document: dict[str, Any], segments: tuple[str, ...], *, create: bool) -> Any:
    """The container holding the last segment, creating missing objects if asked."""
    current: Any = document
    for depth, segment in enumerate(segments[:-1]):
        where = join_path(segments[: depth + 1])
        if isinstance(current, dict):
            if segment not in current:
                if not create:
                    raise _PatchProblem(f"{where} does not exist")
                current[segment] = {}
            current = current[segment]
        else:  # a list: the check below lets nothing else through
            position = _index(segment, current, allow_end=create)
            if position == len(current):
                current.append({})
            current = current[position]
        if not isinstance(current, dict | list):
            raise _PatchProblem(f"{where} is {_describe(current)}, not an object or array")
    return current


def _set(document: dict[str, Any], segments: tuple[str, ...], value: Any) -> None:
    parent = _parent(document, segments, create=True)
    last = segments[-1]
    if isinstance(parent, dict):
        parent[last] = _clone(value)
        return
    position = _index(last, parent, allow_end=True)
    if position == len(parent):
        parent.append(_clone(value))
    else:
        parent[position] = _clone(value)


def _append(document: dict[str, Any], segments: tuple[str, ...], value: Any) -> None:
    parent = _parent(document, segments, create=True)
    last = segments[-1]
    if isinstance(parent, dict):
        if last not in parent:
            parent[last] = [_clone(value)]
            return
        target = parent[last]
    else:
        position = _index(last, parent, allow_end=True)
        if position == len(parent):
            parent.append([_clone(value)])
            return
        target = parent[position]
    if not isinstance(target, list):
        raise _PatchProblem(f"the target is {_describe(target)}, not an array")
    target.append(_clone(value))


def _remove(document: dict[str, Any], segments: tuple[str, ...], _value: Any) -> None:
    parent = _parent(document, segments, create=False)
    last = segments[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _PatchProblem("nothing to remove: the path does not exist")
        del parent[last]
        return
    del parent[_index(last, parent, allow_end=False)]


#: The operations, by wire name (``openintent.models.PatchOp`` lists the same names).
PATCH_OPS: Final[Mapping[str, Callable[[dict[str, Any], tuple[str, ...], Any], None]]] = (
    MappingProxyType({"set": _set, "append": _append, "remove": _remove})
)


# -- public API -------------------------------------------------------------------------


def _fields(patch: StatePatch | Mapping[str, Any]) -> tuple[Any, Any, Any]:
    if isinstance(patch, Mapping):
        return patch.get("op"), patch.get("path"), patch.get("value")
    return patch.op, patch.path, patch.value


def apply_patches(
    state: Mapping[str, Any], patches: Sequence[StatePatch | Mapping[str, Any]]
) -> dict[str, Any]:
    """Apply ``patches`` in order to a copy of ``state`` and return the copy.

    All or nothing: the first invalid patch raises ``ValidationError`` and no result
    exists. Patches may be :class:`~openintent.models.StatePatch` objects or plain
    ``{"op", "path", "value"}`` mappings.
    """
    result: dict[str, Any] = _clone(dict(state))
    for index, patch in enumerate(patches):
        op, path, value = _fields(patch)
        operation = PATCH_OPS.get(op) if isinstance(op, str) else None
        try:
            if operation is None:
                allowed = ", ".join(repr(name) for name in PATCH_OPS)
                raise _PatchProblem(f"unknown op (expected one of {allowed})")
            if not isinstance(path, str):
                raise _PatchProblem(f"path must be a string, got {_describe(path)}")
            segments = split_path(path)
            if not segments:
                raise _PatchProblem("empty path")
            operation(result, segments, value)
        except _PatchProblem as problem:
            message = f"patch {index} (op {op!r}, path {path!r}): {problem}"
            raise ValidationError(message, errors=[message]) from None
    return result


def normalize_patch(patch: StatePatch | Mapping[str, Any]) -> dict[str, Any]:
    """The patch as the ``state_patched`` event records it.

    Exactly ``{"op", "path", "value"}`` with ``value`` made explicit (``null`` when it
    was omitted) and ``path`` kept as the client wrote it, like the reference. The value
    is copied, so the event payload never aliases the new state.
    """
    op, path, value = _fields(patch)
    return {"op": op, "path": path, "value": _clone(value)}


def read_path(document: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` (same syntax as patches); ``KeyError`` when absent.

    An empty path names the whole document.
    """
    current: Any = document
    for segment in split_path(path):
        if isinstance(current, Mapping):
            if segment not in current:
                raise KeyError(path)
            current = current[segment]
        elif isinstance(current, list):
            try:
                current = current[_index(segment, current, allow_end=False)]
            except _PatchProblem:
                raise KeyError(path) from None
        else:
            raise KeyError(path)
    return current
