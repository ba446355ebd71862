"""The one wire codec: a cattrs converter shared by client, server and agents.

Rules it enforces, all of them protocol facts (``spec/README.md`` C8, C13):

* scalars are strict: ``"false"`` never becomes ``True``, ``"3"`` never becomes ``3``;
* timestamps are written as naive UTC ISO strings and read leniently (date or
  date-time, ``Z`` or any offset, which is converted to UTC rather than dropped);
* unknown keys in input are ignored, so newer peers never break older ones;
* a field typed ``SomeEnum | str`` is *open*: unknown values stay plain strings
  (event types); a field typed ``SomeEnum`` is *closed*: unknown values are errors;
* wire names may differ from attribute names (``wire_field(key=...)``), extra input
  names are accepted (``aliases``), and the compatibility names the reference client
  reads can be emitted beside the canonical key (``emit_aliases``, only by
  :func:`to_wire`).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import format_exception

from openintent.exceptions import ValidationError

__all__ = [
    "dumps",
    "format_timestamp",
    "from_wire",
    "loads",
    "parse_timestamp",
    "register_value_type",
    "structure",
    "to_dict",
    "to_wire",
    "unstructure",
    "utcnow",
    "wire_field",
]

T = TypeVar("T")

_KEY = "openintent.key"
_ALIASES = "openintent.aliases"
_EMIT = "openintent.emit_aliases"
_OMIT_NONE = "openintent.omit_if_none"


def wire_field(
    *,
    default: Any = attrs.NOTHING,
    factory: Callable[[], Any] | None = None,
    key: str | None = None,
    aliases: tuple[str, ...] = (),
    emit_aliases: tuple[str, ...] = (),
    omit_if_none: bool = False,
) -> Any:
    """An attrs field with wire metadata.

    ``key`` is the JSON name when it differs from the attribute; ``aliases`` are other
    names accepted on input (first present wins); ``emit_aliases`` are names written
    beside ``key`` by :func:`to_wire` for the reference client; ``omit_if_none`` leaves
    the key out of the output when the value is ``None``.
    """
    metadata = {_KEY: key, _ALIASES: aliases, _EMIT: emit_aliases, _OMIT_NONE: omit_if_none}
    if factory is not None:
        return attrs.field(factory=factory, metadata=metadata)
    return attrs.field(default=default, metadata=metadata)


# -- timestamps -----------------------------------------------------------------------


def utcnow() -> dt.datetime:
    """Current time as a naive UTC datetime, the form every stored timestamp takes."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def parse_timestamp(value: object) -> dt.datetime:
    """Read an ISO date or date-time; aware values are converted to naive UTC."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO 8601 timestamp: {value!r}") from None
    else:
        raise TypeError(f"expected an ISO 8601 string, got {type(value).__name__}")
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def format_timestamp(value: dt.datetime) -> str:
    """Naive UTC ``isoformat()``, as the reference writes and its client parses."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat()


# -- strict scalar and container hooks ------------------------------------------------


def _strict_str(value: object, target: type) -> str:
    if target is not str and issubclass(target, enum.Enum):
        return _closed_enum_hook(target)(value, target)  # type: ignore[return-value]
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return str(value)


def _strict_int(value: object, target: type) -> int:
    if target is not int and issubclass(target, enum.Enum):
        return _closed_enum_hook(target)(value, target)  # type: ignore[return-value]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return int(value)


def _strict_float(value: object, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)


def _strict_bool(value: object, _: type) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected a boolean, got {type(value).__name__}")
    return value


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _is_open_enum(tp: Any) -> bool:
    """``SomeStrEnum | str``: known values become members, others stay strings."""
    if not _is_union(tp):
        return False
    args = set(typing.get_args(tp))
    if str not in args or len(args) != 2:
        return False
    (other,) = args - {str}
    return isinstance(other, type) and issubclass(other, enum.Enum)


def _open_enum_hook(tp: Any) -> Callable[[object, Any], object]:
    (enum_type,) = set(typing.get_args(tp)) - {str}

    def hook(value: object, _: Any) -> object:
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {type(value).__name__}")
        try:
            return enum_type(value)
        except ValueError:
            return value

    return hook


@functools.cache
def _closed_enum_hook(tp: type[enum.Enum]) -> Callable[[object, Any], enum.Enum]:
    allowed = ", ".join(repr(m.value) for m in tp)

    def hook(value: object, _: Any) -> enum.Enum:
        if isinstance(value, tp):
            return value
        try:
            return tp(value)
        except ValueError:
            raise ValueError(f"{value!r} is not one of {allowed}") from None

    return hook


def _is_list(tp: Any) -> bool:
    return typing.get_origin(tp) in (list, typing.List)  # noqa: UP006


def _is_dict(tp: Any) -> bool:
    return tp is dict or typing.get_origin(tp) in (dict, typing.Dict)  # noqa: UP006


def _make_list_hook(conv: cattrs.Converter, tp: Any) -> Callable[[object, Any], list[Any]]:
    (item_type,) = typing.get_args(tp) or (Any,)
    if item_type is Any:

        def any_items(value: object, _: Any) -> list[Any]:
            if not isinstance(value, list):
                raise TypeError(f"expected an array, got {type(value).__name__}")
            return list(value)

        return any_items
    item_hook = conv.get_structure_hook(item_type)

    def typed_items(value: object, _: Any) -> list[Any]:
        if not isinstance(value, list):
            raise TypeError(f"expected an array, got {type(value).__name__}")
        return [item_hook(item, item_type) for item in value]

    return typed_items


def _make_dict_hook(conv: cattrs.Converter, tp: Any) -> Callable[[object, Any], dict[Any, Any]]:
    args = typing.get_args(tp)
    value_type = args[1] if len(args) == 2 else Any
    if value_type is Any:

        def any_values(value: object, _: Any) -> dict[Any, Any]:
            if not isinstance(value, dict):
                raise TypeError(f"expected an object, got {type(value).__name__}")
            return dict(value)

        return any_values
    value_hook = conv.get_structure_hook(value_type)

    def typed_values(value: object, _: Any) -> dict[Any, Any]:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {type(value).__name__}")
        return {k: value_hook(v, value_type) for k, v in value.items()}

    return typed_values


# -- attrs classes: wire names, aliases, omission ------------------------------------


def _renames(cls: type) -> dict[str, Any]:
    return {
        a.name: override(rename=a.metadata[_KEY]) for a in attrs.fields(cls) if a.metadata.get(_KEY)
    }


def _make_structure(conv: cattrs.Converter, cls: type) -> Callable[[object, Any], Any]:
    base: Callable[[Any, Any], Any] = make_dict_structure_fn(cls, conv, **_renames(cls))
    alias_map = [
        (a.metadata.get(_KEY) or a.name, a.metadata[_ALIASES])
        for a in attrs.fields(cls)
        if a.metadata.get(_ALIASES)
    ]

    def hook(value: object, _: Any) -> Any:
        if isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"expected an object, got {type(value).__name__}")
        if alias_map:
            value = dict(value)
            for key, names in alias_map:
                if key not in value:
                    for name in names:
                        if name in value:
                            value[key] = value[name]
                            break
        return base(value, cls)

    return hook


def _make_unstructure(
    conv: cattrs.Converter, cls: type, *, emit_aliases: bool
) -> Callable[[Any], dict[str, Any]]:
    fields = attrs.fields(cls)
    base: Callable[[Any], dict[str, Any]] = make_dict_unstructure_fn(cls, conv, **_renames(cls))
    omitted = [a.metadata.get(_KEY) or a.name for a in fields if a.metadata.get(_OMIT_NONE)]
    emitted = [
        (a.metadata.get(_KEY) or a.name, a.metadata[_EMIT])
        for a in fields
        if emit_aliases and a.metadata.get(_EMIT)
    ]
    if not omitted and not emitted:
        return base

    def hook(obj: Any) -> dict[str, Any]:
        out = base(obj)
        for key in omitted:
            if key in out and out[key] is None:
                del out[key]
        for key, names in emitted:
            if key in out:
                for name in names:
                    out[name] = out[key]
        return out

    return hook


def _build(*, emit_aliases: bool) -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False)
    # cattrs consults singledispatch first, so these also receive StrEnum/IntEnum
    # subclasses; the scalar hooks hand those to the enum check.
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(float, _strict_float)
    conv.register_structure_hook(bool, _strict_bool)
    conv.register_structure_hook(dt.datetime, lambda v, _: parse_timestamp(v))
    conv.register_unstructure_hook(dt.datetime, format_timestamp)
    conv.register_structure_hook_func(_is_open_enum, lambda v, t: _open_enum_hook(t)(v, t))
    conv.register_structure_hook_factory(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), _closed_enum_hook
    )
    conv.register_structure_hook_factory(_is_list, lambda t: _make_list_hook(conv, t))
    conv.register_structure_hook_factory(_is_dict, lambda t: _make_dict_hook(conv, t))
    conv.register_structure_hook_factory(attrs.has, lambda t: _make_structure(conv, t))
    conv.register_unstructure_hook_factory(
        attrs.has, lambda t: _make_unstructure(conv, t, emit_aliases=emit_aliases)
    )
    return conv


#: Reads any wire payload and writes the reference server's exact keys.
CONVERTER = _build(emit_aliases=False)
#: Writes what our server sends: the exact keys plus the reference client's names.
WIRE_CONVERTER = _build(emit_aliases=True)


def register_value_type(
    cls: type[T],
    structure_hook: Callable[[Any], T],
    unstructure_hook: Callable[[T], Any],
) -> None:
    """Teach both converters a non-attrs value class (e.g. ``IntentState``)."""
    for conv in (CONVERTER, WIRE_CONVERTER):
        conv.register_structure_hook(cls, lambda v, _: structure_hook(v))
        conv.register_unstructure_hook(cls, unstructure_hook)


# -- public helpers ------------------------------------------------------------------


def _format(exc: BaseException, target: type | None) -> str:
    # cattrs reduces a ValueError raised while building a model to "invalid value";
    # keep the validator's own message, which says what is wrong.
    generic = format_exception(exc, target)
    if type(exc) is ValueError and str(exc):
        return f"{generic}: {exc}"
    if isinstance(exc, OverflowError):
        # e.g. a timestamp whose UTC form leaves the years 1..9999
        return f"out of range: {exc}"
    return generic


def _describe(exc: BaseException) -> list[str]:
    if isinstance(exc, cattrs.BaseValidationError):
        return list(cattrs.transform_error(exc, format_exception=_format))
    return [str(exc)]


def structure(data: object, cls: type[T]) -> T:
    """Build ``cls`` from decoded JSON; any problem raises :class:`ValidationError`."""
    try:
        return CONVERTER.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError, OverflowError) as exc:
        errors = _describe(exc)
        name = getattr(cls, "__name__", str(cls))
        raise ValidationError(f"invalid {name}: " + "; ".join(errors), errors=errors) from exc


def unstructure(obj: object) -> Any:
    """Plain JSON-ready data with exactly the reference server's keys."""
    return CONVERTER.unstructure(obj)


def to_wire(obj: object) -> Any:
    """Plain JSON-ready data as our server sends it (exact keys plus client aliases)."""
    return WIRE_CONVERTER.unstructure(obj)


def to_dict(obj: object) -> dict[str, Any]:
    data = CONVERTER.unstructure(obj)
    if not isinstance(data, dict):
        raise TypeError(f"{type(obj).__name__} does not serialise to an object")
    return data


from_wire = structure


def dumps(obj: object, *, wire: bool = True) -> str:
    """JSON text of ``obj`` (compact; with client aliases unless ``wire=False``)."""
    data = to_wire(obj) if wire else unstructure(obj)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | bytes, cls: type[T]) -> T:
    """Parse JSON text into ``cls``; malformed JSON is a :class:`ValidationError` too."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(f"malformed JSON: {exc}", errors=[str(exc)]) from exc
    return structure(data, cls)
