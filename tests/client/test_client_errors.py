"""Error mapping: status + body -> the core exception hierarchy (sdk.md 2.1 with its fixes)."""

from __future__ import annotations

from typing import Any

import pytest

from openintent.client import map_error
from openintent.exceptions import (
    APIError,
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    LeaseConflictError,
    NotFoundError,
    OpenIntentError,
    RateLimitError,
    ValidationError,
)


@pytest.mark.parametrize(
    ("status", "body", "cls", "message"),
    [
        (404, {"detail": "Intent not found"}, NotFoundError, "Intent not found"),
        (404, None, NotFoundError, "Resource not found"),
        (409, {"detail": "Version conflict"}, ConflictError, "Version conflict"),
        (409, {"detail": "Lease already held for this scope"}, LeaseConflictError, "Lease already held for this scope"),
        (409, {}, ConflictError, "Version conflict"),
        (400, {"detail": "If-Match header required"}, ValidationError, "If-Match header required"),
        (428, {"detail": "If-Match header required"}, ValidationError, "If-Match header required"),
        (401, {"detail": "Invalid or missing API key"}, AuthenticationError, "Invalid or missing API key"),
        (403, {"detail": {"error": "governance_violation", "rule": "max_cost", "message": "too much"}}, ForbiddenError, "too much"),
        (429, {"detail": "slow down"}, RateLimitError, "slow down"),
        (500, "Internal Server Error", APIError, "Internal Server Error"),
        (405, {"detail": "Method Not Allowed"}, OpenIntentError, "Method Not Allowed"),
    ],
)  # fmt: skip
def test_status_maps_to_class(
    status: int, body: Any, cls: type[OpenIntentError], message: str
) -> None:
    err = map_error(status, body)
    assert type(err) is cls
    assert err.status_code == status
    assert err.response == body
    assert err.message == message == str(err)


def test_subclasses_stay_openintent_errors() -> None:
    for status in (400, 401, 403, 404, 409, 422, 429, 500):
        assert isinstance(map_error(status, {}), OpenIntentError)
    assert not isinstance(map_error(409, {"detail": "lease"}), ConflictError)


def test_422_validation_list_is_a_validation_error_with_errors() -> None:
    body = {"detail": [{"type": "missing", "loc": ["body", "title"], "msg": "Field required"}]}
    err = map_error(422, body)
    assert isinstance(err, ValidationError)
    assert err.errors == body["detail"]
    assert "Field required" in err.message


def test_conflict_reads_current_version_top_level_or_in_detail() -> None:
    top = map_error(409, {"detail": "Version conflict", "current_version": 7})
    nested = map_error(409, {"detail": {"message": "stale", "current_version": "4"}})
    assert isinstance(top, ConflictError)
    assert top.current_version == 7
    assert isinstance(nested, ConflictError)
    assert nested.current_version == 4
    assert nested.message == "stale"


def test_lease_conflict_carries_existing_lease() -> None:
    lease = {"id": "L", "scope": "s"}
    err = map_error(409, {"message": "held", "existing_lease": lease})
    assert isinstance(err, LeaseConflictError)
    assert err.existing_lease == lease
    assert err.message == "held"


def test_message_key_wins_over_detail() -> None:
    err = map_error(400, {"message": "bad", "detail": "other", "errors": ["e1"]})
    assert isinstance(err, ValidationError)
    assert (err.message, err.errors) == ("bad", ["e1"])
