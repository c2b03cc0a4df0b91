"""Provider API keys at rest, encrypted with `MultiFernet`.

The keys come from `MESSAGING_ENCRYPTION_KEYS` (comma-separated: the first encrypts, all decrypt),
then `MESSAGING_ENCRYPTION_KEY` (the single key of before, still read so values stored under it
stay readable). Development and test without either derive a key from `SECRET_KEY` (and from
each of `OLD_SECRET_KEYS`, to read what was stored before a rotation) so `make run` works;
production without a key refuses to store one rather than keeping it in clear.

To rotate: put the new key first in `MESSAGING_ENCRYPTION_KEYS`, run `flask rotate-provider-keys`
(`rotate`, below, re-encrypts a value with the first key), then drop the old key.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

from saas.auth.tokens import key_list, secret_keys
from saas.errors import ServiceError


class EncryptionKeyMissing(ServiceError):
    """No MESSAGING_ENCRYPTION_KEYS (nor MESSAGING_ENCRYPTION_KEY) outside development/test."""


def _derived(secret: str) -> str:
    digest = hashlib.sha256(("messaging:" + secret).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def encryption_keys() -> list[str]:
    """The Fernet keys, the one that encrypts first."""
    config = current_app.config
    keys = key_list(config.get("MESSAGING_ENCRYPTION_KEYS"))
    single = (config.get("MESSAGING_ENCRYPTION_KEY") or "").strip()
    if single and single not in keys:
        keys.append(single)
    if keys:
        return keys
    if config.get("APP_ENV") not in ("development", "test"):
        raise EncryptionKeyMissing(
            "MESSAGING_ENCRYPTION_KEYS is empty and MESSAGING_ENCRYPTION_KEY is not set: "
            "provider keys cannot be stored. Set MESSAGING_ENCRYPTION_KEYS to the output of "
            "`python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`.")
    return [_derived(secret) for secret in reversed(secret_keys())]


@lru_cache(maxsize=8)
def _multi(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _fernet() -> MultiFernet:
    return _multi(tuple(encryption_keys()))


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str | None) -> str | None:
    """The clear value, or None when absent or unreadable (no key here decrypts it)."""
    if not token:
        return None
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError, EncryptionKeyMissing):
        return None


def rotate(token: str) -> str | None:
    """`token` encrypted again with the first key, or None when no key here decrypts it."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None
