"""JSON request bodies that every store and every response can hold, or a 422.

Python's ``json`` accepts more than the stores and the encoder on the way out do: lone
UTF-16 surrogates (PostgreSQL and UTF-8 output reject them), ``NaN``/``Infinity``
(not JSON), integers past 64 bits in typed fields (SQL ``BIGINT`` overflows), U+0000
in typed strings (PostgreSQL ``TEXT`` rejects it) and nesting deep enough to exhaust
the interpreter's stack. Each is refused here, before any service runs.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import msgspec

from openintent.exceptions import ValidationError

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_DEPTH",
    "check_content_type",
    "check_model",
    "decode_json",
    "text_problem",
    "wire_name",
]

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
#: Deeper documents are refused; free-form state is rarely more than a few levels deep.
MAX_DEPTH = 100

Loc = list[str | int]


def wire_name(attribute: attrs.Attribute[Any]) -> str:
    """The JSON key of an attrs field (``wire_field(key=...)`` in core's converter)."""
    key = attribute.metadata.get("openintent.key")
    return key if isinstance(key, str) and key else attribute.name


def _invalid(msg: str, loc: Loc, kind: str = "value_error", **ctx: Any) -> ValidationError:
    item: dict[str, Any] = {"type": kind, "loc": ["body", *loc], "msg": msg}
    if ctx:
        item["ctx"] = ctx
    return ValidationError(f"invalid request body: {msg}", errors=[item])


def check_content_type(value: str | None) -> None:
    """No Content-Type, ``application/json`` or ``application/*+json``, as the reference."""
    if value is None:
        return
    media = value.split(";", 1)[0].strip().lower()
    main, _, sub = media.partition("/")
    if main == "application" and (sub == "json" or sub.endswith("+json")):
        return
    raise _invalid(
        f"Content-Type must be application/json, got {value!r}", [], kind="model_attributes_type"
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite)


_FAST_DECODE = msgspec.json.Decoder().decode


def decode_json(raw: bytes) -> Any:
    """Parse a body; every malformed or unstorable document is a 422."""
    try:
        data = _FAST_DECODE(raw)
    except (msgspec.DecodeError, ValueError, RecursionError):
        return _decode_strictly(raw)
    # msgspec takes only UTF-8 and refuses NaN, out-of-range numbers and lone
    # surrogates, so what it accepts differs from the stdlib's result only in depth,
    # which cannot pass the limit with this few brackets.
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH:
        _check_document(data)
    return data


def _decode_strictly(raw: bytes) -> Any:
    """The stdlib's reading (UTF-16/32 bodies too), with every refusal as a 422."""
    try:
        # json.loads with hooks would build a decoder per call; this one is made once.
        data = _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
    except json.JSONDecodeError as exc:
        raise _invalid("JSON decode error", [exc.pos], kind="json_invalid", error=exc.msg) from None
    except RecursionError:
        raise _invalid(
            f"JSON nested deeper than {MAX_DEPTH} levels", [], kind="json_invalid"
        ) from None
    except ValueError as exc:  # bad UTF-8, NaN, 1e999, integers of more than 4300 digits
        raise _invalid("JSON decode error", [], kind="json_invalid", error=str(exc)) from None
    _check_document(data)
    return data


def text_problem(value: str, *, allow_nul: bool = True) -> str | None:
    """Why ``value`` cannot be stored or sent (``None`` when it can)."""
    if not allow_nul and "\x00" in value:
        return "must not contain U+0000"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain lone UTF-16 surrogates"
    return None


def _check_document(data: Any) -> None:
    """Depth and surrogates, anywhere in the document (keys included); no recursion."""
    stack: list[tuple[Any, Loc]] = [(data, [])]
    while stack:
        value, loc = stack.pop()
        if len(loc) > MAX_DEPTH:
            raise _invalid(f"JSON nested deeper than {MAX_DEPTH} levels", [*loc[:3], "..."])
        if isinstance(value, str):
            if problem := text_problem(value):
                raise _invalid(problem, loc)
        elif isinstance(value, dict):
            for key, item in value.items():
                if problem := text_problem(key):
                    raise _invalid(f"key {problem}", loc)
                stack.append((item, [*loc, key]))
        elif isinstance(value, list):
            stack.extend((item, [*loc, i]) for i, item in enumerate(value))


def _typed_fields(cls: type) -> tuple[tuple[str, str], ...] | None:
    """``(attribute, wire key)`` of an attrs class, ``None`` for other types; cached."""
    try:
        return _FIELDS[cls]
    except KeyError:
        pass
    found = tuple((a.name, wire_name(a)) for a in attrs.fields(cls)) if attrs.has(cls) else None
    _FIELDS[cls] = found
    return found


_FIELDS: dict[type, tuple[tuple[str, str], ...] | None] = {}


def check_model(obj: Any) -> None:
    """Typed fields of a structured request: strings without U+0000, 64-bit integers.

    Free-form ``dict`` fields are stored as JSON text, where both are harmless, so only
    attrs fields and lists of them are visited.
    """
    stack: list[tuple[Any, Loc]] = [(obj, [])]
    while stack:
        value, loc = stack.pop()
        if isinstance(value, str):
            if problem := text_problem(value, allow_nul=False):
                raise _invalid(problem, loc)
        elif isinstance(value, list):
            stack.extend((item, [*loc, i]) for i, item in enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            if not INT64_MIN <= value <= INT64_MAX:
                raise _invalid("integer out of the 64-bit range", loc)
        elif value is not None and (fields := _typed_fields(type(value))) is not None:
            stack.extend((getattr(value, name), [*loc, key]) for name, key in fields)
