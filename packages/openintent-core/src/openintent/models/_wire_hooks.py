"""Output rules some models need beyond what ``wire_field`` declares.

* :func:`verbatim` — for JSON objects the reference server stores and returns as given
  (plan checkpoints, guardrails, agent capacity, trigger conditions, …). A model read
  from JSON remembers its input and writes back the same keys: current values for the
  fields it knows, unknown keys untouched, and fields absent from the input only when
  they have since been changed. So ``{"max_concurrent_tasks": 5}`` does not grow a
  ``current_load`` key, and keys a newer peer added survive a round trip. A model
  built in Python writes every field.
* :func:`sparse` — the same for request bodies, minus the unknown keys: a body read
  from JSON writes back only the fields the caller sent (:func:`given_keys` tells
  which), so a relayed request means exactly what the caller meant.
* ``write_only`` keys (secrets) are accepted on input and never written.
* :func:`omit_empty` — leave keys out while their value is ``[]`` or ``{}``, for
  reference-client fields the reference server never sends; :func:`transform_output`
  for any other last step on the written dict (e.g. dropping secrets).

All of these wrap the codec's own hooks for the class, on both converters, so names,
aliases and strict scalar rules stay the codec's. The decorated class must be
``@attrs.define(slots=False)`` for the remembering decorators (the input is kept on
the instance), and every type it refers to must already be defined, because the
codec's hooks are built when the decorator runs. ``attrs.evolve`` makes a new instance
that remembers nothing and therefore writes every field.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs

from openintent.core.converter import CONVERTER, WIRE_CONVERTER

__all__ = ["given_keys", "omit_empty", "sparse", "transform_output", "verbatim", "wire_metadata"]

T = TypeVar("T")

_SOURCE = "_openintent_source"
_KEY = "openintent.key"
_ALIASES = "openintent.aliases"
_EMIT = "openintent.emit_aliases"
_OMIT_NONE = "openintent.omit_if_none"


def wire_metadata(
    *, key: str | None = None, aliases: tuple[str, ...] = (), emit_aliases: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The metadata ``wire_field`` attaches, for ``attrs.field(metadata=...)``.

    For a *required* renamed field: attrs' mypy plugin cannot see inside
    ``wire_field`` and takes every call of it for a defaulted field, so a required one
    followed by other required fields fails type checking. Spelling it
    ``attrs.field(metadata=wire_metadata(key=...))`` keeps both the codec and mypy right.
    """
    return {_KEY: key, _ALIASES: aliases, _EMIT: emit_aliases, _OMIT_NONE: False}


@attrs.frozen
class _Spec:
    name: str
    key: str
    inputs: tuple[str, ...]
    default: Any

    def unchanged(self, value: Any) -> bool:
        default = self.default
        if default is attrs.NOTHING:
            return False
        factory = getattr(default, "factory", None)  # an attrs.Factory
        if factory is not None:
            default = factory()
        return bool(value == default)


def _specs(cls: type) -> list[_Spec]:
    specs = []
    for a in attrs.fields(cls):
        key = a.metadata.get(_KEY) or a.name
        inputs = (key, *a.metadata.get(_ALIASES, ()), *a.metadata.get(_EMIT, ()))
        specs.append(_Spec(a.name, key, inputs, a.default))
    return specs


def _emitted_names(cls: type, spec: _Spec) -> tuple[str, ...]:
    field = getattr(attrs.fields(cls), spec.name)
    return (spec.key, *field.metadata.get(_EMIT, ()))


def _wrap(
    cls: type, *, structure: bool, post: Callable[[Any, dict[str, Any]], dict[str, Any]]
) -> None:
    for conv in (CONVERTER, WIRE_CONVERTER):
        base_unstructure = conv.get_unstructure_hook(cls)

        def unstructure(obj: Any, _base: Callable[[Any], Any] = base_unstructure) -> Any:
            return post(obj, _base(obj))

        if structure:
            base_structure = conv.get_structure_hook(cls)

            def structure_hook(
                value: Any, typ: Any, _base: Callable[[Any, Any], Any] = base_structure
            ) -> Any:
                obj = _base(value, typ)
                if obj is not value and isinstance(value, Mapping):
                    vars(obj)[_SOURCE] = dict(value)
                return obj

            conv.register_structure_hook(cls, structure_hook)
        conv.register_unstructure_hook(cls, unstructure)


def _require_dict_attrs(cls: type) -> None:
    if "__slots__" in cls.__dict__ or not attrs.has(cls):
        raise TypeError(f"{cls.__name__} must be an @attrs.define(slots=False) class")


def _remembering(cls: type[T], *, keep_unknown: bool, write_only: tuple[str, ...]) -> type[T]:
    _require_dict_attrs(cls)
    specs = _specs(cls)
    by_input = {name: spec for spec in specs for name in spec.inputs}
    emitted = {spec.name: _emitted_names(cls, spec) for spec in specs}
    hidden = frozenset(write_only)

    def post(obj: Any, full: dict[str, Any]) -> dict[str, Any]:
        for key in hidden:
            full.pop(key, None)
        source: dict[str, Any] | None = vars(obj).get(_SOURCE)
        if source is None:
            return full
        out: dict[str, Any] = {}
        done: set[str] = set()

        def put(spec: _Spec) -> None:
            done.add(spec.name)
            for name in emitted[spec.name]:
                if name in full:
                    out[name] = full[name]

        for key, raw in source.items():
            spec = by_input.get(key)
            if spec is None:
                if keep_unknown and key not in hidden:
                    out[key] = copy.deepcopy(raw)
            elif spec.name not in done:
                put(spec)
        for spec in specs:
            if spec.name not in done and not spec.unchanged(getattr(obj, spec.name)):
                put(spec)
        return out

    _wrap(cls, structure=True, post=post)
    return cls


def verbatim(*, write_only: tuple[str, ...] = ()) -> Callable[[type[T]], type[T]]:
    """Decorate a model of a stored-as-given JSON object (see the module docstring)."""
    return lambda cls: _remembering(cls, keep_unknown=True, write_only=write_only)


def sparse(cls: type[T]) -> type[T]:
    """Decorate a request body: one read from JSON writes back only the keys it was sent."""
    return _remembering(cls, keep_unknown=False, write_only=())


def given_keys(obj: object) -> frozenset[str] | None:
    """The JSON keys ``obj`` was read from, or ``None`` when it was built in Python."""
    source = vars(obj).get(_SOURCE) if hasattr(obj, "__dict__") else None
    return None if source is None else frozenset(source)


def transform_output(
    fn: Callable[[Any, dict[str, Any]], dict[str, Any]],
) -> Callable[[type[T]], type[T]]:
    """Pass every dict written for the class through ``fn(obj, data)``."""

    def decorate(cls: type[T]) -> type[T]:
        _wrap(cls, structure=False, post=fn)
        return cls

    return decorate


def omit_empty(*keys: str) -> Callable[[type[T]], type[T]]:
    """Leave the given wire keys out of the output while their value is empty."""

    def post(_: Any, out: dict[str, Any]) -> dict[str, Any]:
        for key in keys:
            if key in out and out[key] in ([], {}):
                del out[key]
        return out

    return transform_output(post)
