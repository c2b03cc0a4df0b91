"""Provider API keys at rest: encrypted with Fernet under `MESSAGING_ENCRYPTION_KEY` (from the
environment). Development and test derive a key from `SECRET_KEY` so `make run` works; production
without the variable refuses to store a key rather than keeping it in clear."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from saas.errors import ServiceError


class EncryptionKeyMissing(ServiceError):
    """No MESSAGING_ENCRYPTION_KEY outside development/test."""


def _fernet() -> Fernet:
    key = current_app.config.get("MESSAGING_ENCRYPTION_KEY") or ""
    if not key:
        if current_app.config.get("APP_ENV") not in ("development", "test"):
            raise EncryptionKeyMissing(
                "MESSAGING_ENCRYPTION_KEY is not set: provider keys cannot be stored. Set it to "
                "the output of `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`.")
        digest = hashlib.sha256(
            ("messaging:" + current_app.config["SECRET_KEY"]).encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key.encode() if isinstance(key, str) else key)


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str | None) -> str | None:
    """The clear value, or None when absent or unreadable (a rotated key)."""
    if not token:
        return None
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError, EncryptionKeyMissing):
        return None
