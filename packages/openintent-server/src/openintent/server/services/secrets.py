"""Credential secrets: encryption at rest, and keeping them out of every output.

Encryption: AES-256-GCM, a fresh 96-bit nonce per seal, the credential id as
associated data (a sealed blob copied onto another row does not open). The key comes
from configuration (``--secret-key`` / ``OPENINTENT_SECRET_KEY``, stretched with
HKDF-SHA256); without one, a SQLite server generates a random key into a file beside
its database (``<database file>.secret-key``, mode 0600) and logs a warning. A
PostgreSQL server without a key refuses to store secret material (HTTP 503): several
processes share that database, and a key file on one host would leave the others
unable to read what it sealed. Each blob names the key it was sealed with (a short
fingerprint), so a changed key is reported as such instead of as corrupt data.

Leak prevention, belt and braces: responses carry only :func:`public_metadata`;
tool results, stored parameters and error texts pass through :func:`scrub` (every
known secret value, and values under secret-looking keys, become ``[REDACTED]``);
while a tool call runs, :func:`secrets_hidden` makes the HTTP client's log records
scrub themselves too.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import hashlib
import json
import logging
import os
import re
import secrets as random
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from openintent.exceptions import OpenIntentError
from openintent.models.vaults import SECRET_METADATA_KEYS
from openintent.server.store.engines import sqlite_path

__all__ = [
    "REDACTED",
    "SecretBox",
    "SecretsUnavailable",
    "key_file_for",
    "load_box",
    "principal_hash",
    "public_metadata",
    "scrub",
    "secret_values",
    "secrets_hidden",
    "split_metadata",
]

log = logging.getLogger("openintent.server.secrets")

REDACTED = "[REDACTED]"
_VERSION = "v1"
_HKDF_INFO = b"openintent credential encryption v1"
_HKDF_SALT = b"openintent-server"
#: Shorter secrets are not searched for in outputs (they would match everywhere).
MIN_SCRUB_LENGTH = 4

#: Key names whose values are secret wherever they appear (credential metadata, tool
#: parameters, upstream answers): a name containing one of these fragments, or having
#: ``key`` as a word of its own (``X-Static-Key``, ``apiKey``, ``primary_key``). Narrower
#: than the reference's pattern (which also hides ``keyword`` and ``author``): known
#: secret values are scrubbed by value as well.
_SECRET_FRAGMENT = re.compile(
    r"secret|passw|passphrase|token|apikey|credential|bearer|cookie|session_?id|signature"
    r"|signing|authorization",
    re.IGNORECASE,
)
_SECRET_WORDS = frozenset({"key", "keys", "pwd", "auth_token"})
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
#: Configuration keys of credential metadata that look secret by name but are not.
_CONFIG_KEYS = frozenset({"token_url", "token_grant_type"})


class SecretsUnavailable(OpenIntentError):
    """No usable encryption key: the server cannot seal or open credential secrets."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status_code=503)


def _is_secret_key(name: str) -> bool:
    normal = _CAMEL.sub(r"\1_\2", name).lower()
    if normal in _CONFIG_KEYS:
        return False
    words = set(re.split(r"[^a-z0-9]+", normal))
    return (
        normal in SECRET_METADATA_KEYS
        or bool(words & _SECRET_WORDS)
        or bool(_SECRET_FRAGMENT.search(normal.replace("_", "").replace("-", "")))
        or bool(_SECRET_FRAGMENT.search(normal))
    )


# -- metadata halves -------------------------------------------------------------------


def public_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """``metadata`` without anything stored under a secret-looking key, at any depth."""
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        if _is_secret_key(key):
            continue
        out[key] = _public_value(value)
    return out


def _public_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return public_metadata(value)
    if isinstance(value, list):
        return [_public_value(v) for v in value]
    return value


def split_metadata(metadata: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``(public, sealed)``: what responses show, and the full document to encrypt
    (``None`` when nothing in it is secret, so there is nothing to seal)."""
    public = public_metadata(metadata)
    return public, (dict(metadata) if public != dict(metadata) else None)


def secret_values(metadata: Mapping[str, Any]) -> set[str]:
    """Every secret string in ``metadata`` (values under secret-looking keys, any depth),
    plus the forms a request derives from them (HTTP Basic's base64 of user:password)."""
    found: set[str] = set()

    def walk(value: Any, secret: bool) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, secret or _is_secret_key(str(k)))
        elif isinstance(value, list):
            for v in value:
                walk(v, secret)
        elif secret and value is not None and not isinstance(value, bool):
            found.add(str(value))

    walk(metadata, False)
    user, password = metadata.get("username"), metadata.get("password")
    if user is not None and password is not None:
        pair = f"{user}:{password}".encode()
        found.add(base64.b64encode(pair).decode())
    return {s for s in found if len(s) >= MIN_SCRUB_LENGTH}


# -- scrubbing -------------------------------------------------------------------------

MAX_ITEMS = 100
MAX_STRING = 10_000
MAX_DEPTH = 10


def scrub(
    value: Any, known: Iterable[str] = (), *, by_key: bool = True, limit: bool = False
) -> Any:
    """``value`` with known secret strings replaced (inside any string, and numbers
    equal to one) and, with ``by_key``, every value under a secret-looking key replaced
    by ``[REDACTED]``.

    With ``limit`` (upstream answers, as the reference sanitises them) lists are cut to
    100 items, strings to 10 000 characters and nesting to 10 levels.
    """
    ordered = sorted(set(known), key=len, reverse=True)  # longest first: no partial leftovers
    return _scrub(value, ordered, by_key, 0 if limit else None)


def _scrub(value: Any, known: list[str], by_key: bool, depth: int | None) -> Any:
    deeper = None if depth is None else depth + 1
    if depth is not None and depth > MAX_DEPTH:
        return "[TRUNCATED]"
    if isinstance(value, str):
        for secret in known:
            if secret in value:
                value = value.replace(secret, REDACTED)
        if depth is not None and len(value) > MAX_STRING:
            return value[:MAX_STRING] + "...[TRUNCATED]"
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = _scrub(str(k), known, False, None)
            hidden = by_key and _is_secret_key(str(k))
            out[key] = REDACTED if hidden else _scrub(v, known, by_key, deeper)
        return out
    if isinstance(value, list | tuple):
        items = list(value) if depth is None else list(value)[:MAX_ITEMS]
        return [_scrub(v, known, by_key, deeper) for v in items]
    if isinstance(value, int | float) and not isinstance(value, bool) and str(value) in known:
        return REDACTED
    return value


_hidden: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "openintent_hidden_secrets", default=()
)


_base_factory = logging.getLogRecordFactory()


def _scrubbing_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Every log record made while a tool call runs (any logger: the HTTP client logs
    request lines with their query strings) has that call's secrets scrubbed."""
    record = _base_factory(*args, **kwargs)
    known = _hidden.get()
    if known:
        message = record.getMessage()
        cleaned = scrub(message, known, by_key=False)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = scrub(
                logging.Formatter().formatException(record.exc_info), known, by_key=False
            )
    return record


logging.setLogRecordFactory(_scrubbing_factory)


@contextlib.contextmanager
def secrets_hidden(known: Iterable[str]) -> Iterator[None]:
    """While inside, log records of this task have ``known`` scrubbed from them."""
    token = _hidden.set(tuple(sorted(set(known), key=len, reverse=True)))
    try:
        yield
    finally:
        _hidden.reset(token)


def principal_hash(api_key: str) -> str:
    """What is stored to remember a principal (an API key is itself a secret)."""
    return hashlib.sha256(api_key.encode()).hexdigest()


# -- encryption ------------------------------------------------------------------------


class SecretBox:
    """Seals JSON documents with one AES-256-GCM key."""

    def __init__(self, key: bytes, origin: str) -> None:
        if len(key) != 32:
            raise ValueError("an AES-256 key is 32 bytes")
        # cryptography loads on the first vault use (~8 MiB resident), not at start-up.
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(b"key-id" + key).hexdigest()[:12]
        self.origin = origin

    def seal(self, document: Mapping[str, Any], *, bound_to: str) -> str:
        nonce = os.urandom(12)
        plain = json.dumps(document, separators=(",", ":")).encode()
        sealed = self._aead.encrypt(nonce, plain, bound_to.encode())
        blob = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{_VERSION}.{self.key_id}.{blob}"

    def open(self, token: str, *, bound_to: str) -> dict[str, Any]:
        version, key_id, blob = [*token.split(".", 2), "", ""][:3]
        if version != _VERSION:
            raise SecretsUnavailable("Stored credential uses an unknown encryption format")
        if key_id != self.key_id:
            raise SecretsUnavailable(
                "Stored credential was encrypted with a different secret key than the one "
                "this server is configured with (check --secret-key / OPENINTENT_SECRET_KEY)"
            )
        from cryptography.exceptions import InvalidTag

        raw = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
        try:
            plain = self._aead.decrypt(raw[:12], raw[12:], bound_to.encode())
        except InvalidTag:
            raise SecretsUnavailable(
                "Stored credential secret failed its integrity check"
            ) from None
        document: dict[str, Any] = json.loads(plain)
        return document


def _derive(secret_key: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO)
    return hkdf.derive(secret_key.encode())


def key_file_for(database_url: str) -> Path | None:
    """Where a SQLite server keeps its generated key; ``None`` for other databases."""
    if not database_url.startswith("sqlite:"):
        return None
    return Path(sqlite_path(database_url) + ".secret-key")


def _read_or_create(path: Path) -> tuple[str, bool]:
    """The key in ``path``, creating it (exclusively, mode 0600) when absent."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        text = path.read_text().strip()
        if text:
            return text, False
        raise SecretsUnavailable(f"Secret key file {path} is empty") from None
    with os.fdopen(fd, "w") as handle:
        value = random.token_urlsafe(32)
        handle.write(value + "\n")
    return value, True


def load_box(secret_key: str | None, database_url: str) -> SecretBox:
    """The configured box; raises :class:`SecretsUnavailable` when there can be none."""
    if secret_key:
        if len(secret_key) < 16:
            log.warning(
                "the configured secret key is short (%d characters); use 32 or more "
                "random characters",
                len(secret_key),
            )
        return SecretBox(_derive(secret_key), "configuration")
    path = key_file_for(database_url)
    if path is None:
        raise SecretsUnavailable(
            "Credential secrets cannot be stored: this server has no encryption key. Start "
            "every server process sharing this database with the same --secret-key (or "
            "OPENINTENT_SECRET_KEY)"
        )
    try:
        value, created = _read_or_create(path)
    except OSError as exc:
        raise SecretsUnavailable(f"Secret key file {path} is not usable: {exc.strerror}") from None
    log.warning(
        "no --secret-key / OPENINTENT_SECRET_KEY configured: credential secrets are encrypted "
        "with the key %s %s. Keep that file private and back it up with the database (without "
        "it stored secrets cannot be read); set a secret key for production",
        "generated into" if created else "read from",
        path,
    )
    return SecretBox(_derive(value), str(path))
