"""One factory for the "action" routes: load nothing, call one service method, answer
the model it returns.

``POST /tasks/{task_id}/claim``, ``POST /coordinators/{lease_id}/pause``, ``POST
/intents/{intent_id}/approvals/{approval_id}/approve`` and their siblings all have one
shape: the caller, the path ids, an optional ``If-Match`` version and an (often
optional) body go to one method of the area's service, whose result is the response.
:func:`action` builds such a handler. The handler is an ordinary litestar route
handler whose name (hence OpenAPI ``operationId`` and summary) and parameters are
those a hand-written one would have.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody

from openintent.server.http.auth import principal_of
from openintent.server.http.dto import CattrsDTO
from openintent.server.http.responses import json_response

__all__ = ["action"]

_P = inspect.Parameter


def action(
    path: str,
    *,
    name: str,
    service: tuple[str, type[Any]],
    call: str,
    ids: tuple[str, ...],
    body: type[Any] | None = None,
    body_required: bool = False,
    version: Callable[[Request[Any, Any, Any]], int | None] | None = None,
    between: tuple[Any, ...] = (),
    version_as: str | None = None,
    body_as: str | None = None,
    fixed: dict[str, Any] | None = None,
    decorator: Callable[..., Callable[[Any], HTTPRouteHandler]] = post,
    **route: Any,
) -> HTTPRouteHandler:
    """A route handler answering ``service.call(principal, *ids, *between[, version][,
    body], **fixed)``.

    * ``name``: the handler's name, from which litestar derives the operation's summary;
    * ``service``: ``(dependency name, service class)``, e.g. ``("tasks", TaskService)``;
    * ``ids``: the path parameters, in the order the service method takes them;
    * ``body``: the request model; unless ``body_required``, a request without a body
      calls the method with ``body()`` (the model's defaults);
    * ``between``: fixed arguments after the ids (e.g. the plan action's name);
    * ``version``: how to read the ``If-Match`` version, when the method takes one;
    * ``version_as`` / ``body_as``: pass those two by keyword instead;
    * ``route``: passed to the route decorator (``status_code``, ``opt``, ...); ``dto`` is
      ``CattrsDTO[body]`` when there is a body.
    """
    dependency, service_type = service
    extra = dict(fixed or {})

    async def handler(self: Any, request: Request[Any, Any, Any], **kwargs: Any) -> Response[bytes]:
        args: list[Any] = [*(kwargs[i] for i in ids), *between]
        named = dict(extra)
        if version is not None:
            if version_as is None:
                args.append(version(request))
            else:
                named[version_as] = version(request)
        if body is not None:
            data = kwargs.get("data") or body()
            if body_as is None:
                args.append(data)
            else:
                named[body_as] = data
        method = getattr(kwargs[dependency], call)
        return json_response(await method(principal_of(request), *args, **named))

    params = [
        _P("self", _P.POSITIONAL_OR_KEYWORD),
        _P("request", _P.POSITIONAL_OR_KEYWORD, annotation=Request[Any, Any, Any]),
    ]
    params += [_P(i, _P.KEYWORD_ONLY, annotation=FromPath[str]) for i in ids]
    if body is not None and body_required:
        params.append(_P("data", _P.KEYWORD_ONLY, annotation=JSONBody[body]))  # type: ignore[valid-type]
    params.append(_P(dependency, _P.KEYWORD_ONLY, annotation=NamedDependency[service_type]))  # type: ignore[valid-type]
    if body is not None and not body_required:
        params.append(
            _P("data", _P.KEYWORD_ONLY, annotation=JSONBody[body | None], default=None)  # type: ignore[valid-type]
        )
    handler.__signature__ = inspect.Signature(params, return_annotation=Response[bytes])  # type: ignore[attr-defined]
    handler.__annotations__ = {p.name: p.annotation for p in params[1:]} | {
        "return": Response[bytes]
    }
    handler.__name__ = handler.__qualname__ = name
    if body is not None:
        route.setdefault("dto", CattrsDTO[body])
    return decorator(path, **route)(handler)
