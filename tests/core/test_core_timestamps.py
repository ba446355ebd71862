"""Timestamps outside what ``datetime`` holds are validation errors, not crashes."""

from __future__ import annotations

import datetime as dt

import pytest

from openintent.core.converter import structure
from openintent.exceptions import ValidationError
from openintent.models import IntentLease

# Valid ISO 8601 whose UTC form is year 10000 or year 0: ``astimezone`` overflows.
OUT_OF_RANGE = ["9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00"]


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_out_of_range_timestamp_is_a_validation_error(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        structure(value, dt.datetime)
    assert isinstance(caught.value.__cause__, OverflowError)


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_out_of_range_timestamp_in_a_model_names_the_problem(value: str) -> None:
    data = {
        "id": "l",
        "intent_id": "i",
        "agent_id": "a",
        "scope": "s",
        "acquired_at": "2020-01-01T00:00:00",
        "expires_at": value,
    }
    with pytest.raises(ValidationError) as caught:
        structure(data, IntentLease)
    assert "out of range" in str(caught.value)
    assert "expires_at" in str(caught.value)


def test_far_future_year_is_refused_as_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        structure("99999-01-01T00:00:00", dt.datetime)
