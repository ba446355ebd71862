"""Request helpers shared by the vaults, tools and memory routes."""

from __future__ import annotations

from typing import Any, TypeVar

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide

from openintent.core.converter import structure
from openintent.exceptions import ValidationError
from openintent.server.http.body import check_content_type, check_model, decode_json
from openintent.server.services._checks import invalid

__all__ = ["bound", "query_error", "read_body"]

T = TypeVar("T")


def bound(name: str) -> Provide:
    """The area service, with the app's configuration bound to it (key, allowed hosts)."""

    def provide(state: State) -> Any:
        service = state.services.get(name)
        service.settings.bind(state.config)
        return service

    return Provide(provide, sync_to_thread=False)


def query_error(name: str, msg: str) -> ValidationError:
    """A 422 naming a query parameter."""
    return ValidationError(f"{name}: {msg}", errors=[{"loc": ["query", name], "msg": msg}])


async def read_body(request: Request[Any, Any, Any], model: type[T], **defaults: Any) -> T:
    """A body parsed like ``CattrsDTO`` does, with ``defaults`` for absent keys (from the
    path); an empty body is ``{}``."""
    check_content_type(request.headers.get("content-type"))
    document = decode_json(await request.body() or b"{}")
    if not isinstance(document, dict):
        raise invalid("body", "must be a JSON object")
    for key, value in defaults.items():
        document.setdefault(key, value)
    parsed = structure(document, model)
    check_model(parsed)
    return parsed
