"""Signed, purpose-bound, expiring tokens (each purpose its own salt)."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

INVITE = "invite"
PASSWORD_RESET = "password-reset"  # noqa: S105 - a token purpose, not a password


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"saas.{purpose}")


def make_token(purpose: str, payload: dict) -> str:
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str, max_age_seconds: int) -> dict | None:
    """The payload, or None when the token is forged, of another purpose, or expired."""
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age_seconds)
    except BadSignature:
        return None
    return payload if isinstance(payload, dict) else None
