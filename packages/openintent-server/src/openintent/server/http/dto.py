"""Request bodies through the shared cattrs converter instead of litestar's msgspec path.

litestar decodes attrs classes with msgspec, which ignores our wire names and
aliases and fails at request time on unions of attrs classes; this DTO hands the
decoded JSON to ``openintent.core.structure`` and keeps litestar's OpenAPI schema.
"""

from __future__ import annotations

import typing
from collections.abc import Generator
from dataclasses import replace
from typing import Any, ClassVar, Generic, TypeVar

import attrs
from litestar.dto import AbstractDTO, DTOField
from litestar.dto.data_structures import DTOFieldDefinition
from litestar.typing import FieldDefinition
from litestar.types.empty import Empty

from openintent.core.converter import loads, structure, to_wire

__all__ = ["CattrsDTO"]

T = TypeVar("T")


class CattrsDTO(AbstractDTO[T], Generic[T]):
    model_type: ClassVar[type[Any]]

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
    def create_for_field_definition(  # type: ignore[override]
        cls, field_definition: FieldDefinition, handler_id: str, backend_cls: Any = None
    ) -> None:
        return None

    @classmethod
    def create_openapi_schema(  # type: ignore[override]
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: Any
    ) -> Any:
        return schema_creator.for_field_definition(
            FieldDefinition.from_annotation(field_definition.annotation)
        )

    def decode_bytes(self, value: bytes) -> Any:
        return loads(value or b"{}", self.model_type)

    def decode_builtins(self, value: Any) -> Any:
        return structure(value, self.model_type)

    def data_to_encodable_type(self, data: Any) -> Any:
        return to_wire(data)
