"""The curated surface of ``openintent.core`` and its freedom from import cycles."""

from __future__ import annotations

import subprocess
import sys

import pytest

import openintent.core as core
from openintent.core import converter


def test_all_names_resolve() -> None:
    assert len(core.__all__) == len(set(core.__all__))
    for name in core.__all__:
        assert hasattr(core, name), name


def test_converter_helpers_are_re_exported_but_not_the_converter() -> None:
    for name in [
        "structure",
        "unstructure",
        "to_wire",
        "dumps",
        "loads",
        "wire_field",
        "utcnow",
        "parse_timestamp",
        "format_timestamp",
    ]:
        assert getattr(core, name) is getattr(converter, name)
    assert "CONVERTER" not in core.__all__
    assert "WIRE_CONVERTER" not in core.__all__


def test_new_names_are_public() -> None:
    assert {"apply_patches", "normalize_patch", "check_transition", "check_completion"} <= set(
        core.__all__
    )
    assert core.wire.format_path is core.format_path


@pytest.mark.parametrize(
    "first",
    [
        "openintent.models",
        "openintent.models.intents",
        "openintent.models.enums",
        "openintent.core",
        "openintent.core.converter",
        "openintent.core.patch",
        "openintent.core.status",
        "openintent.core.wire",
        "openintent.validation",
        "openintent",
    ],
)
def test_any_first_import_works(first: str) -> None:
    # A fresh interpreter per order: the models import the codec, which initialises
    # this package, which must not need the half-imported models.
    code = (
        f"import {first}\n"
        "from openintent.core import apply_patches, check_transition, wire\n"
        "from openintent.models import Intent\n"
        "assert apply_patches({}, [{'op': 'set', 'path': 'a', 'value': 1}]) == {'a': 1}\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
