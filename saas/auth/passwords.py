"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from saas.i18n import _, ngettext
from saas.web.numbers import format_number


@cache
def _common_passwords() -> frozenset[str]:
    text = files("saas.auth").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(time_cost=cfg["ARGON2_TIME_COST"], memory_cost=cfg["ARGON2_MEMORY_COST"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # Spend the same time as a real check so a missing account does not answer faster.
        _hasher().hash(password)
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, *, personal: tuple[str, ...] = ()) -> str | None:
    """Why a new password is refused, in words a person can act on, or None."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        return ngettext("Use at least %(count)s character.", "Use at least %(count)s characters.",
                        minimum, count=format_number(minimum))
    if len(password) > 256:
        return _("Use at most %(count)s characters.", count=format_number(256))
    lowered = password.lower()
    if lowered in _common_passwords() or re.sub(r"[\d!@#$%^&*.]+$", "", lowered) in (
        _common_passwords() - {""}
    ):
        return _("This password is among the most common ones; choose something less "
                 "guessable.")
    if len(set(lowered)) <= 2:
        return _("This password repeats the same characters; choose something less "
                 "guessable.")
    for word in personal:
        word = (word or "").lower()
        if len(word) >= 4 and word in lowered:
            return _("The password must not contain your name, email or organization.")
    return None
