"""Client-side validators of ``openintent.validation`` (spec/sdk.md section 6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import openintent
from openintent import validation as v
from openintent.exceptions import InputValidationError, ValidationError


def _fails(call: Callable[[], None], field: str, value: Any = None) -> InputValidationError:
    with pytest.raises(InputValidationError) as info:
        call()
    error = info.value
    assert isinstance(error, ValidationError)
    assert error.status_code is None
    assert error.field == field
    assert error.value == value or (value is None and error.value is None)
    assert field in str(error)
    return error


# -- None handling ----------------------------------------------------------------------

OPTIONAL_CHECKS: list[Callable[[Any], None]] = [
    lambda x: v.validate_string_length(x, "f", 1, 2),
    lambda x: v.validate_positive_int(x, "f"),
    lambda x: v.validate_non_negative(x, "f"),
    lambda x: v.validate_uuid(x, "f"),
    lambda x: v.validate_url(x, "f"),
    lambda x: v.validate_email(x, "f"),
    lambda x: v.validate_in_list(x, "f", ["a"]),
    lambda x: v.validate_dict(x, "f"),
    lambda x: v.validate_list(x, "f", str),
    lambda x: v.validate_base64(x, "f"),
    lambda x: v.validate_scope(x),
    lambda x: v.validate_agent_id(x),
]


@pytest.mark.parametrize("check", OPTIONAL_CHECKS)
def test_single_value_checks_accept_none(check: Callable[[Any], None]) -> None:
    check(None)  # no exception


# -- validate_required ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["x", 0, False, [], {}])
def test_required_accepts(value: Any) -> None:
    v.validate_required(value, "f")


@pytest.mark.parametrize("value", [None, "", "   ", "\t\n"])
def test_required_rejects(value: Any) -> None:
    _fails(lambda: v.validate_required(value, "name"), "name", value)


# -- lengths and numbers ----------------------------------------------------------------


def test_string_length() -> None:
    v.validate_string_length("abc", "f", min_length=3, max_length=3)
    v.validate_string_length("", "f")
    _fails(lambda: v.validate_string_length("ab", "f", min_length=3), "f", "ab")
    _fails(lambda: v.validate_string_length("abcd", "f", max_length=3), "f", "abcd")
    _fails(lambda: v.validate_string_length(5, "f", max_length=3), "f", 5)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [1, 10**12])
def test_positive_int_accepts(value: int) -> None:
    v.validate_positive_int(value, "n")


@pytest.mark.parametrize("value", [0, -1, True, 1.0, "3"])
def test_positive_int_rejects(value: Any) -> None:
    _fails(lambda: v.validate_positive_int(value, "n"), "n", value)


@pytest.mark.parametrize("value", [0, 0.0, 2, 2.5])
def test_non_negative_accepts(value: float) -> None:
    v.validate_non_negative(value, "amount")


@pytest.mark.parametrize("value", [-1, -0.01, False, "1", float("nan")])
def test_non_negative_rejects(value: Any) -> None:
    with pytest.raises(InputValidationError) as info:
        v.validate_non_negative(value, "amount")
    assert info.value.field == "amount"


# -- formats ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["d9a0520b-c4ba-4deb-af71-3556f2969522", "D9A0520B-C4BA-4DEB-AF71-3556F2969522"]
)
def test_uuid_accepts(value: str) -> None:
    v.validate_uuid(value, "id")


@pytest.mark.parametrize(
    "value",
    [
        "d9a0520bc4ba4debaf713556f2969522",
        "{d9a0520b-c4ba-4deb-af71-3556f2969522}",
        "d9a0520b-c4ba-4deb-af71-3556f296952",
        "g9a0520b-c4ba-4deb-af71-3556f2969522",
        "d9a0520b-c4ba-4deb-af71-3556f2969522\n",
        "",
    ],
)
def test_uuid_rejects(value: str) -> None:
    _fails(lambda: v.validate_uuid(value, "id"), "id", value)


@pytest.mark.parametrize(
    "value",
    [
        "http://localhost",
        "http://localhost:8000/api/v1",
        "https://example.com",
        "https://hooks.example.co.uk/path?q=1&r=2",
        "http://127.0.0.1:9000/hook",
        "HTTPS://EXAMPLE.COM/",
        "https://example.com.",
    ],
)
def test_url_accepts(value: str) -> None:
    v.validate_url(value, "callback_url")


@pytest.mark.parametrize(
    "value",
    [
        "ftp://example.com",
        "example.com",
        "http://",
        "http://nodot",
        "http://exa mple.com",
        "https://example.com/a b",
        "http://-bad.com",
        "",
    ],
)
def test_url_rejects(value: str) -> None:
    _fails(lambda: v.validate_url(value, "callback_url"), "callback_url", value)


def test_email() -> None:
    v.validate_email("a.b+c@example.org", "email")
    _fails(lambda: v.validate_email("a@b", "email"), "email", "a@b")
    _fails(lambda: v.validate_email("no-at.example.org", "email"), "email", "no-at.example.org")


@pytest.mark.parametrize("value", ["a", "content.draft", "_x.y_1", "A.B.C"])
def test_scope_accepts(value: str) -> None:
    v.validate_scope(value)


@pytest.mark.parametrize("value", ["", "1a", "a..b", "a.", ".a", "a-b", "a b", "é"])
def test_scope_rejects(value: str) -> None:
    _fails(lambda: v.validate_scope(value), "scope", value)
    _fails(lambda: v.validate_scope(value, "lease_scope"), "lease_scope", value)


def test_agent_id() -> None:
    v.validate_agent_id("ns:agent-1")
    v.validate_agent_id("x" * 255)
    _fails(lambda: v.validate_agent_id("x" * 256), "agent_id", "x" * 256)
    _fails(lambda: v.validate_agent_id("  "), "agent_id", "  ")
    _fails(lambda: v.validate_agent_id("", "creator"), "creator", "")


def test_base64() -> None:
    v.validate_base64("aGVsbG8=", "data")
    v.validate_base64("", "data")
    _fails(lambda: v.validate_base64("abc", "data"), "data", "abc")
    long_bad = "!" * 80
    error = _fails(lambda: v.validate_base64(long_bad, "data"), "data", "!" * 50 + "...")
    assert len(error.value) == 53


# -- containers and choices -------------------------------------------------------------


def test_in_list() -> None:
    v.validate_in_list("b", "kind", ["a", "b"])
    error = _fails(lambda: v.validate_in_list("c", "kind", ["a", "b"]), "kind", "c")
    assert "a, b" in str(error)


def test_dict() -> None:
    v.validate_dict({}, "constraints")
    _fails(lambda: v.validate_dict([], "constraints"), "constraints", [])


def test_list() -> None:
    v.validate_list([], "tags")
    v.validate_list(["a", "b"], "tags", str)
    v.validate_list([1, "a"], "tags")
    _fails(lambda: v.validate_list(("a",), "tags"), "tags", ("a",))
    _fails(lambda: v.validate_list(["a", 1], "tags", str), "tags[1]", 1)


# -- parameter sets ---------------------------------------------------------------------


def test_intent_create() -> None:
    v.validate_intent_create("Title")
    v.validate_intent_create("t" * 500, "agent", "d" * 10000, {"k": 1})
    _fails(lambda: v.validate_intent_create(""), "title", "")
    _fails(lambda: v.validate_intent_create(None), "title")  # type: ignore[arg-type]
    _fails(lambda: v.validate_intent_create("t" * 501), "title", "t" * 501)
    _fails(
        lambda: v.validate_intent_create("t", description="d" * 10001), "description", "d" * 10001
    )
    _fails(lambda: v.validate_intent_create("t", creator=" "), "creator", " ")
    _fails(lambda: v.validate_intent_create("t", constraints=[]), "constraints", [])  # type: ignore[arg-type]


def test_lease_acquire() -> None:
    v.validate_lease_acquire("i", "a", "research.notes", 1)
    v.validate_lease_acquire("i", "a", "s", 86400)
    _fails(lambda: v.validate_lease_acquire("", "a", "s", 60), "intent_id", "")
    _fails(lambda: v.validate_lease_acquire("i", None, "s", 60), "agent_id")  # type: ignore[arg-type]
    _fails(lambda: v.validate_lease_acquire("i", "a", "bad scope", 60), "scope", "bad scope")
    _fails(lambda: v.validate_lease_acquire("i", "a", "s", None), "duration_seconds")  # type: ignore[arg-type]
    _fails(lambda: v.validate_lease_acquire("i", "a", "s", 0), "duration_seconds", 0)
    _fails(lambda: v.validate_lease_acquire("i", "a", "s", True), "duration_seconds", True)
    _fails(lambda: v.validate_lease_acquire("i", "a", "s", 86401), "duration_seconds", 86401)


def test_cost_record() -> None:
    v.validate_cost_record("i", "a", "tokens", 0)
    v.validate_cost_record("i", "a", "api_call", 1.5, "USD")
    _fails(lambda: v.validate_cost_record("i", "a", "", 1), "cost_type", "")
    _fails(lambda: v.validate_cost_record("i", "a", "t", None), "amount")  # type: ignore[arg-type]
    _fails(lambda: v.validate_cost_record("i", "a", "t", -1), "amount", -1)
    _fails(lambda: v.validate_cost_record("i", "a", "t", 1, "US"), "currency", "US")
    _fails(lambda: v.validate_cost_record("i", "a", "t", 1, "EURO"), "currency", "EURO")


def test_subscription() -> None:
    v.validate_subscription("i", "s", "https://example.com/hook")
    v.validate_subscription("i", "s", "https://example.com/hook", ["state_patched"])
    _fails(lambda: v.validate_subscription("i", "", "https://x.io"), "subscriber_id", "")
    _fails(lambda: v.validate_subscription("i", "s", "not a url"), "callback_url", "not a url")
    _fails(
        lambda: v.validate_subscription("i", "s", "https://x.io", ["a", 2]),  # type: ignore[list-item]
        "event_types[1]",
        2,
    )
    _fails(
        lambda: v.validate_subscription("i", "s", "https://x.io", "a"),  # type: ignore[arg-type]
        "event_types",
        "a",
    )


# -- exports ----------------------------------------------------------------------------

TOP_LEVEL = [
    "validate_required",
    "validate_string_length",
    "validate_positive_int",
    "validate_non_negative",
    "validate_uuid",
    "validate_url",
    "validate_scope",
    "validate_agent_id",
    "validate_intent_create",
    "validate_lease_acquire",
    "validate_cost_record",
    "validate_subscription",
]


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_top_level_exports(name: str) -> None:
    assert getattr(openintent, name) is getattr(v, name)


def test_module_all() -> None:
    for name in v.__all__:
        assert callable(getattr(v, name))
    assert v.InputValidationError is InputValidationError
    assert {
        "validate_email",
        "validate_in_list",
        "validate_dict",
        "validate_list",
        "validate_base64",
    } <= set(v.__all__)
