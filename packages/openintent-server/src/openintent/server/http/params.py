"""Path and query values that would crash a store, refused before the handler.

litestar validates parameter types, but it lets through what SQL cannot hold: U+0000
or lone surrogates in an id (PostgreSQL rejects both; such an id names nothing: 404),
and in query values integers past 64 bits (``BIGINT`` overflows), timestamps whose UTC
form falls outside years 1..9999 and U+0000 (422).
Installed as the app's ``before_request`` hook, so it runs after the API-key guard
(401 first, as the reference) and for every route any area adds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request
from litestar.enums import ParamType
from litestar.params import ParameterKwarg
from litestar.typing import FieldDefinition

from openintent.core.converter import parse_timestamp
from openintent.exceptions import NotFoundError, ValidationError
from openintent.server.http.body import INT64_MAX, INT64_MIN, text_problem

__all__ = ["check_parameters"]


def _invalid(source: str, name: str, msg: str) -> ValidationError:
    item = {"type": "value_error", "loc": [source, name], "msg": msg}
    return ValidationError(f"invalid {source} parameter {name!r}: {msg}", errors=[item])


def _types(field: FieldDefinition) -> list[Any]:
    if field.is_union:
        return [t for inner in field.inner_types for t in _types(inner)]
    return [field.annotation]


def _accepts(field: FieldDefinition, kind: type) -> bool:
    return any(
        isinstance(t, type) and issubclass(t, kind) and not issubclass(t, bool)
        for t in _types(field)
    )


def _query_fields(request: Request[Any, Any, Any]) -> dict[str, FieldDefinition]:
    """Handler parameters by the query key they are read from (as litestar names them)."""
    fields = {}
    for name, field in request.route_handler.parsed_fn_signature.parameters.items():
        kwarg = field.kwarg_definition
        if isinstance(kwarg, ParameterKwarg):
            if kwarg.param_type is not ParamType.QUERY:
                continue
            fields[kwarg.name or kwarg.query or name] = field
        else:
            fields[name] = field
    return fields


def _check_query_value(name: str, value: str, field: FieldDefinition | None) -> None:
    if problem := text_problem(value, allow_nul=False):
        raise _invalid("query", name, problem)
    if field is None:
        return
    text = value.strip()
    digits = text.lstrip("+-")
    is_int = digits.isascii() and digits.isdigit()
    if is_int and _accepts(field, int) and not INT64_MIN <= int(text) <= INT64_MAX:
        raise _invalid("query", name, "integer out of the 64-bit range")
    if _accepts(field, dt.datetime):
        try:
            parse_timestamp(text)
        except OverflowError:
            raise _invalid("query", name, "timestamp out of range") from None
        except (TypeError, ValueError):
            pass  # litestar's own validation answers malformed values


async def check_parameters(request: Request[Any, Any, Any]) -> None:
    for value in request.path_params.values():
        if isinstance(value, str) and text_problem(value, allow_nul=False):
            # An id no column can hold names nothing: unknown, like any other id.
            raise NotFoundError("Not Found", status_code=404)
    if not request.query_params:
        return
    fields = _query_fields(request)
    for name, values in request.query_params.dict().items():
        for value in values:
            _check_query_value(name, value, fields.get(name))
