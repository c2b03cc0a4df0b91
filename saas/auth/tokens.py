"""Signed, purpose-bound, expiring tokens (each purpose its own salt).

`SECRET_KEY` signs; it and the former keys listed in `OLD_SECRET_KEYS` verify (itsdangerous takes
the list oldest first and signs with the last), so rotating the key breaks no link already sent.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

INVITE = "invite"
PASSWORD_RESET = "password-reset"  # noqa: S105 - a token purpose, not a password


def key_list(value: str | Iterable[str] | None) -> list[str]:
    """A comma-separated setting (or a list given in code) as its non-empty keys, in order."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    return [item.strip() for item in items if item and item.strip()]


def secret_keys() -> list[str]:
    """The keys tokens verify with, oldest first, the signing key (`SECRET_KEY`) last."""
    config = current_app.config
    current = config["SECRET_KEY"]
    return [*(k for k in key_list(config.get("OLD_SECRET_KEYS")) if k != current), current]


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_keys(), salt=f"saas.{purpose}")


def make_token(purpose: str, payload: dict) -> str:
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str, max_age_seconds: int) -> dict | None:
    """The payload, or None when the token is forged, of another purpose, or expired."""
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age_seconds)
    except BadSignature:
        return None
    return payload if isinstance(payload, dict) else None
