"""Request bodies through the shared cattrs converter instead of litestar's msgspec path.

litestar decodes attrs classes with msgspec, which ignores our wire names and
aliases and fails at request time on unions of attrs classes; this DTO hands the
decoded JSON to ``openintent.core.structure``. Bodies go through ``http.body`` first
(Content-Type, storable JSON); the OpenAPI schema uses the wire names
(``http.openapi.WireAttrsSchemaPlugin``).
"""

from __future__ import annotations

import typing
from collections.abc import Generator
from dataclasses import replace
from typing import Any, Generic, TypeVar

import attrs
from litestar.dto import AbstractDTO, DTOField
from litestar.dto.data_structures import DTOFieldDefinition
from litestar.types.empty import Empty
from litestar.typing import FieldDefinition

from openintent.core.converter import structure, to_wire
from openintent.exceptions import ValidationError
from openintent.server.http.body import check_content_type, check_model, decode_json

__all__ = ["CattrsDTO"]

T = TypeVar("T")


class CattrsDTO(AbstractDTO[T], Generic[T]):
    @classmethod
    def generate_field_definitions(
        cls, model_type: type[Any]
    ) -> Generator[DTOFieldDefinition, None, None]:
        hints = typing.get_type_hints(model_type, include_extras=True)
        for a in attrs.fields(model_type):
            factory = a.default.factory if isinstance(a.default, attrs.Factory) else None  # type: ignore[arg-type]
            default = Empty if (factory or a.default is attrs.NOTHING) else a.default
            fd = DTOFieldDefinition.from_field_definition(
                field_definition=FieldDefinition.from_kwarg(annotation=hints[a.name], name=a.name),
                default_factory=factory,
                dto_field=DTOField(),
                model_name=model_type.__name__,
            )
            yield replace(fd, name=a.name, default=default)

    @classmethod
    def detect_nested_field(cls, field_definition: FieldDefinition) -> bool:
        return attrs.has(field_definition.annotation)

    @classmethod
    def create_for_field_definition(
        cls, field_definition: FieldDefinition, handler_id: str, backend_cls: Any = None
    ) -> None:
        return None

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: Any
    ) -> Any:
        return schema_creator.for_field_definition(
            FieldDefinition.from_annotation(field_definition.annotation)
        )

    def decode_bytes(self, value: bytes) -> Any:
        check_content_type(self.asgi_connection.headers.get("content-type"))
        return self.decode_builtins(decode_json(value or b"{}"))

    def decode_builtins(self, value: Any) -> Any:
        try:
            obj = structure(value, self.model_type)
        except OverflowError as exc:  # e.g. a timestamp whose UTC form leaves year 1..9999
            msg = f"value out of range: {exc}"
            raise ValidationError(msg, errors=[{"loc": ["body"], "msg": msg}]) from None
        check_model(obj)
        return obj

    def data_to_encodable_type(self, data: Any) -> Any:
        return to_wire(data)
