"""``/openapi.json`` that says what the server really accepts and answers.

litestar's defaults describe attrs bodies by attribute name, responses of handlers that
return ``Response[bytes]`` as a JSON *string*, and errors in its own
``{status_code, detail, extra}`` shape. Here request bodies use the wire names,
successful JSON responses are any JSON value (SSE routes: ``text/event-stream``),
every error response is the protocol's ``{detail, message, ...}`` object, and the
routes behind the API key say so. Fuzzers (the schemathesis test) rely on all of it.
"""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Any

import attrs
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    Schema,
    SecurityScheme,
)
from litestar.plugins.attrs import AttrsSchemaPlugin
from litestar.response import ServerSentEvent
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition

from openintent.server.http.body import wire_name

if TYPE_CHECKING:
    from litestar import Litestar, Request
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.handlers import HTTPRouteHandler

__all__ = [
    "API_KEY_SCHEME",
    "DocumentedJsonRenderPlugin",
    "DocumentedSwaggerRenderPlugin",
    "WireAttrsSchemaPlugin",
    "document_protocol",
]

API_KEY_SCHEME = "APIKeyHeader"
ERROR_SCHEMA = "ProtocolError"
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


class WireAttrsSchemaPlugin(AttrsSchemaPlugin):
    """attrs models under their JSON keys (``wire_field(key=...)``), as the converter reads them.

    A subclass, so litestar does not add its default attrs plugin beside it.
    """

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        cls = field_definition.type_
        hints = typing.get_type_hints(cls, include_extras=True)
        fields = attrs.fields(cls)
        return schema_creator.create_component_schema(
            field_definition,
            required=sorted(wire_name(a) for a in fields if a.default is attrs.NOTHING),
            property_fields={
                wire_name(a): FieldDefinition.from_kwarg(hints[a.name], wire_name(a))
                for a in fields
            },
        )


def _error_schema() -> Schema:
    item = Schema(
        type=OpenAPIType.OBJECT,
        properties={
            "type": Schema(type=OpenAPIType.STRING),
            "loc": Schema(type=OpenAPIType.ARRAY, items=Schema()),
            "msg": Schema(type=OpenAPIType.STRING),
        },
    )
    return Schema(
        type=OpenAPIType.OBJECT,
        required=["detail", "message"],
        description=(
            "The reference server's `detail` (text, validation items, or a structured "
            "governance object) plus `message` and, where they apply, `errors`, "
            "`current_version` and `existing_lease`."
        ),
        properties={
            "detail": Schema(
                one_of=[
                    Schema(type=OpenAPIType.STRING),
                    Schema(type=OpenAPIType.ARRAY, items=item),
                    Schema(type=OpenAPIType.OBJECT),
                ]
            ),
            "message": Schema(type=OpenAPIType.STRING),
            "errors": Schema(type=OpenAPIType.ARRAY, items=Schema()),
            "current_version": Schema(type=OpenAPIType.INTEGER),
            "existing_lease": Schema(type=OpenAPIType.OBJECT),
        },
    )


def _error_response(description: str) -> OpenAPIResponse:
    ref = Reference(ref=f"#/components/schemas/{ERROR_SCHEMA}")
    return OpenAPIResponse(
        description=description, content={"application/json": OpenAPIMediaType(schema=ref)}
    )


def _document_operation(operation: Operation, handler: HTTPRouteHandler) -> None:
    responses = dict(operation.responses or {})
    streams = handler.parsed_fn_signature.return_type.is_subclass_of(ServerSentEvent)
    for code, response in list(responses.items()):
        if not isinstance(response, OpenAPIResponse):
            continue
        if code.startswith("2") and response.content:
            if streams:
                text = Schema(type=OpenAPIType.STRING)
                response.content = {"text/event-stream": OpenAPIMediaType(schema=text)}
            else:
                # Response[bytes] handlers send JSON documents, not a JSON string.
                for media in response.content.values():
                    if isinstance(media.schema, Schema) and media.schema.type == OpenAPIType.STRING:
                        media.schema = Schema()
        elif code.startswith(("4", "5")):
            responses[code] = _error_response(response.description)
    responses.setdefault("4XX", _error_response("Client error (protocol error shape)"))
    responses.setdefault("default", _error_response("Unexpected error (protocol error shape)"))
    operation.responses = responses
    if _authenticated(handler):
        operation.security = [{API_KEY_SCHEME: []}]


def document_protocol(app: Litestar, openapi: OpenAPI) -> OpenAPI:
    """Rewrite litestar's generated document in place; a second call changes nothing."""
    components = openapi.components
    schemes = dict(components.security_schemes or {})
    if API_KEY_SCHEME in schemes:
        return openapi
    schemes[API_KEY_SCHEME] = SecurityScheme(
        type="apiKey", name="X-API-Key", security_scheme_in="header"
    )
    components.security_schemes = schemes
    components.schemas = {**(components.schemas or {}), ERROR_SCHEMA: _error_schema()}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        item = (openapi.paths or {}).get(route.path_format or "/")
        if item is None:
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                operation = (
                    getattr(item, method.lower(), None) if method.lower() in _METHODS else None
                )
                if isinstance(operation, Operation):
                    _document_operation(operation, handler)
    return openapi


class _DocumentedRender:
    """Render the documented schema, whichever route asks for it first."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        schema = request.app.openapi_schema.to_schema()
        return super().render(request, schema)  # type: ignore[misc, no-any-return]


class DocumentedSwaggerRenderPlugin(_DocumentedRender, SwaggerRenderPlugin):
    pass


class DocumentedJsonRenderPlugin(_DocumentedRender, JsonRenderPlugin):
    pass


def _authenticated(handler: Any) -> bool:
    """Routes of ``ApiController`` subclasses, which run ``authorize_requests``."""
    from openintent.server.api.base import authorize_requests  # api imports http

    return authorize_requests in handler.resolve_middleware()
