"""Value checks shared by the portfolio, attachment, cost, retry and subscription areas.

The codec already guarantees types; these catch values that are well typed but would
be stored wrongly or fail in the database (a 500 instead of a 422): integers beyond
the column, non-finite floats, NUL characters PostgreSQL text cannot hold.
"""

from __future__ import annotations

import math

from openintent.exceptions import ValidationError

__all__ = ["INT32_MAX", "INT64_MAX", "finite", "integer", "invalid", "text"]

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


def invalid(field: str, msg: str) -> ValidationError:
    """A 422 naming the offending body field, in the codec's error-item shape."""
    return ValidationError(f"{field}: {msg}", errors=[{"loc": ["body", field], "msg": msg}])


def text(field: str, value: str | None, *, required: bool = False) -> None:
    if value is None:
        return
    if "\x00" in value:
        raise invalid(field, "must not contain NUL characters")
    if required and not value.strip():
        raise invalid(field, "must not be empty")


def integer(field: str, value: int | None, *, low: int = 0, high: int = INT32_MAX) -> None:
    if value is not None and not low <= value <= high:
        raise invalid(field, f"must be between {low} and {high}")


def finite(field: str, value: float) -> None:
    if not math.isfinite(value):
        raise invalid(field, "must be a finite number")
