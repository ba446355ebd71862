"""Argument checks a caller can run before sending a request (``spec/sdk.md`` section 6).

Each function returns ``None`` when the value is acceptable and otherwise raises
:class:`~openintent.exceptions.InputValidationError` carrying ``field`` and ``value``.
Single-value checks other than :func:`validate_required` accept ``None`` (an omitted
optional argument). The clients do not call these themselves.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection
from typing import Any

from openintent.exceptions import InputValidationError

__all__ = [
    "InputValidationError",
    "validate_agent_id",
    "validate_base64",
    "validate_cost_record",
    "validate_dict",
    "validate_email",
    "validate_in_list",
    "validate_intent_create",
    "validate_lease_acquire",
    "validate_list",
    "validate_non_negative",
    "validate_positive_int",
    "validate_required",
    "validate_scope",
    "validate_string_length",
    "validate_subscription",
    "validate_url",
    "validate_uuid",
]

MAX_TITLE_LENGTH = 500
MAX_DESCRIPTION_LENGTH = 10_000
MAX_AGENT_ID_LENGTH = 255
MAX_LEASE_SECONDS = 86_400

_UUID = re.compile(r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}", re.IGNORECASE)
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_URL = re.compile(
    r"https?://"
    rf"(?:(?:{_LABEL}\.)+[a-z]{{2,63}}\.?|localhost|\d{{1,3}}(?:\.\d{{1,3}}){{3}})"
    r"(?::\d{1,5})?"
    r"(?:[/?#]\S*)?",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_SCOPE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*", re.ASCII)


def _fail(field_name: str, problem: str, value: Any) -> InputValidationError:
    return InputValidationError(f"{field_name} {problem}", field=field_name, value=value)


def _require_str(value: object, field_name: str) -> str:
    if not isinstance(value, str):
        raise _fail(field_name, f"must be a string, not {type(value).__name__}", value)
    return value


# -- single values ----------------------------------------------------------------------


def validate_required(value: Any, field_name: str) -> None:
    """Reject ``None`` and strings that are empty or only whitespace."""
    if value is None:
        raise _fail(field_name, "is required", value)
    if isinstance(value, str) and not value.strip():
        raise _fail(field_name, "must not be blank", value)


def validate_string_length(
    value: str | None,
    field_name: str,
    min_length: int | None = None,
    max_length: int | None = None,
) -> None:
    """Check ``min_length <= len(value) <= max_length`` (either bound optional)."""
    if value is None:
        return
    text = _require_str(value, field_name)
    if min_length is not None and len(text) < min_length:
        raise _fail(field_name, f"must have at least {min_length} characters", value)
    if max_length is not None and len(text) > max_length:
        raise _fail(field_name, f"must have at most {max_length} characters", value)


def validate_positive_int(value: int | None, field_name: str) -> None:
    """An ``int`` (``bool`` excluded) greater than zero."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(field_name, "must be an integer", value)
    if value <= 0:
        raise _fail(field_name, "must be greater than 0", value)


def validate_non_negative(value: float | None, field_name: str) -> None:
    """An ``int`` or ``float`` (``bool`` excluded) that is at least zero (NaN fails)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(field_name, "must be a number", value)
    if not value >= 0:
        raise _fail(field_name, "must not be negative", value)


def validate_uuid(value: str | None, field_name: str) -> None:
    """The canonical 8-4-4-4-12 hexadecimal form, any letter case."""
    if value is None:
        return
    if not _UUID.fullmatch(_require_str(value, field_name)):
        raise _fail(field_name, "must be a UUID (8-4-4-4-12 hexadecimal digits)", value)


def validate_url(value: str | None, field_name: str) -> None:
    """``http(s)://`` and a dotted domain, ``localhost`` or an IPv4 address.

    A port and a path, query or fragment may follow; whitespace may not.
    """
    if value is None:
        return
    if not _URL.fullmatch(_require_str(value, field_name)):
        raise _fail(field_name, "must be an http(s) URL", value)


def validate_email(value: str | None, field_name: str) -> None:
    """A plain ``local@domain.tld`` address."""
    if value is None:
        return
    if not _EMAIL.fullmatch(_require_str(value, field_name)):
        raise _fail(field_name, "must be an email address", value)


def validate_in_list(value: Any, field_name: str, allowed_values: Collection[Any]) -> None:
    """``value`` must be one of ``allowed_values``."""
    if value is None:
        return
    if value not in allowed_values:
        choices = ", ".join(str(v) for v in allowed_values)
        raise _fail(field_name, f"must be one of: {choices}", value)


def validate_dict(value: Any, field_name: str) -> None:
    """``value`` must be a ``dict``."""
    if value is not None and not isinstance(value, dict):
        raise _fail(field_name, "must be an object (dict)", value)


def validate_list(value: Any, field_name: str, item_type: type | None = None) -> None:
    """``value`` must be a ``list``, and every item an ``item_type`` when one is given.

    A wrong item is reported with its index in ``field`` (``"tags[2]"``).
    """
    if value is None:
        return
    if not isinstance(value, list):
        raise _fail(field_name, "must be a list", value)
    if item_type is None:
        return
    for position, item in enumerate(value):
        if not isinstance(item, item_type):
            raise _fail(f"{field_name}[{position}]", f"must be a {item_type.__name__}", item)


def validate_base64(value: str | None, field_name: str) -> None:
    """Standard base64 with correct padding; the error shows at most 50 characters."""
    if value is None:
        return
    text = _require_str(value, field_name)
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        shown = text if len(text) <= 50 else text[:50] + "..."
        raise _fail(field_name, "must be base64-encoded data", shown) from None


def validate_scope(value: str | None, field_name: str = "scope") -> None:
    """Dot-separated identifiers, e.g. ``"content.draft"``."""
    if value is None:
        return
    if not _SCOPE.fullmatch(_require_str(value, field_name)):
        raise _fail(field_name, "must be dot-separated identifiers such as 'content.draft'", value)


def validate_agent_id(value: str | None, field_name: str = "agent_id") -> None:
    """Not blank and at most 255 characters."""
    if value is None:
        return
    text = _require_str(value, field_name)
    if not text.strip():
        raise _fail(field_name, "must not be blank", value)
    if len(text) > MAX_AGENT_ID_LENGTH:
        raise _fail(field_name, f"must have at most {MAX_AGENT_ID_LENGTH} characters", value)


# -- request parameter sets -------------------------------------------------------------


def validate_intent_create(
    title: str,
    creator: str | None = None,
    description: str | None = None,
    constraints: dict[str, Any] | None = None,
) -> None:
    """Title required (1-500 characters), description up to 10000, creator an agent id,
    constraints a dict."""
    validate_required(title, "title")
    validate_string_length(title, "title", min_length=1, max_length=MAX_TITLE_LENGTH)
    validate_string_length(description, "description", max_length=MAX_DESCRIPTION_LENGTH)
    validate_agent_id(creator, "creator")
    validate_dict(constraints, "constraints")


def validate_lease_acquire(
    intent_id: str, agent_id: str, scope: str, duration_seconds: int
) -> None:
    """All four required; scope syntax; duration a positive integer up to 86400 seconds."""
    validate_required(intent_id, "intent_id")
    validate_required(agent_id, "agent_id")
    validate_required(scope, "scope")
    validate_required(duration_seconds, "duration_seconds")
    validate_scope(scope)
    validate_positive_int(duration_seconds, "duration_seconds")
    if duration_seconds > MAX_LEASE_SECONDS:
        raise _fail(
            "duration_seconds", f"must be at most {MAX_LEASE_SECONDS} (24 hours)", duration_seconds
        )


def validate_cost_record(
    intent_id: str,
    agent_id: str,
    cost_type: str,
    amount: float,
    currency: str | None = None,
) -> None:
    """Ids, type and amount required; amount not negative; currency exactly 3 characters."""
    validate_required(intent_id, "intent_id")
    validate_required(agent_id, "agent_id")
    validate_required(cost_type, "cost_type")
    validate_required(amount, "amount")
    validate_non_negative(amount, "amount")
    validate_string_length(currency, "currency", min_length=3, max_length=3)


def validate_subscription(
    intent_id: str,
    subscriber_id: str,
    callback_url: str,
    event_types: list[str] | None = None,
) -> None:
    """Ids and callback URL required; the URL well-formed; event types a list of strings."""
    validate_required(intent_id, "intent_id")
    validate_required(subscriber_id, "subscriber_id")
    validate_required(callback_url, "callback_url")
    validate_url(callback_url, "callback_url")
    validate_list(event_types, "event_types", str)
