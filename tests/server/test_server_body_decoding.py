"""Request bodies: the fast JSON reading must accept and refuse exactly what the
strict (stdlib) reading does, with the same document or the same 422."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openintent.exceptions import ValidationError
from openintent.server.http.body import MAX_DEPTH, _decode_strictly, decode_json
from openintent.server.ids import new_id


def _outcome(read: Any, raw: bytes) -> tuple[str, Any]:
    try:
        return "ok", read(raw)
    except ValidationError as exc:
        return "refused", (exc.status_code, str(exc), exc.errors)


def _same(raw: bytes) -> tuple[str, Any]:
    fast, strict = _outcome(decode_json, raw), _outcome(_decode_strictly, raw)
    assert fast == strict, raw[:80]
    if fast[0] == "ok":  # equal, and the same types too (1 vs 1.0, -0.0)
        assert repr(fast[1]) == repr(strict[1])
    return fast


EDGE_BODIES = [
    b"{}",
    b' {"a": 1} \n',
    b'{"a":1,"a":2}',
    b"NaN",
    b'{"x": Infinity}',
    b'{"x": -Infinity}',
    b"1e999",
    b"-1e400",
    b"0.1e-400",
    b"-0",
    b"-0.0",
    b"123456789012345678901234567890",
    b"9" * 5000,
    b'"\\ud800"',
    b'{"\\udc00": 1}',
    b'"\\ud83d\\ude42"',
    b'"\xed\xa0\x80"',  # a surrogate encoded in UTF-8
    b'"\xff"',
    b"\xef\xbb\xbf{}",  # UTF-8 byte-order mark
    json.dumps({"t": "h\u00e9llo"}).encode("utf-16"),
    json.dumps({"t": "x"}).encode("utf-32-le"),
    b'"tab\there"',
    b'{"a": 1} x',
    b"[1, 2,]",
    b"",
    b'"\\u0000"',
    b"[" * MAX_DEPTH + b"]" * MAX_DEPTH,
    b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
    b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1),
    b"[" * 5000 + b"]" * 5000,
    b"[" * 200 + b"]" * 199,
]


@pytest.mark.parametrize("raw", EDGE_BODIES, ids=range(len(EDGE_BODIES)))
def test_edge_bodies_read_alike(raw: bytes) -> None:
    _same(raw)


def test_refusals_stay_refusals() -> None:
    too_deep = b"[" * (MAX_DEPTH + 2) + b"]" * (MAX_DEPTH + 2)
    for raw in (b"NaN", b"1e999", b'"\\ud800"', b'"\xed\xa0\x80"', too_deep):
        assert _same(raw)[0] == "refused", raw[:20]


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.booleans())
def test_any_document_reads_alike(value: Any, ascii_only: bool) -> None:
    _same(json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass"))


def test_new_ids_are_canonical_random_uuids() -> None:
    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == text
