"""API keys: made by a system administrator, shown once, kept as a hash, revoked for good.

A key reads `sq_` followed by 43 URL-safe characters (32 random bytes). Its role says what it
may do: read only, what a sequence manager does, or what one seller does (acting as that
seller: their activities, their connections).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import or_, select, update

from saas.admin import audit
from saas.api.models import ApiKey, KeyRole
from saas.auth.models import Role, User, UserStatus
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _
from saas.timeutil import utcnow

PREFIX = "sq_"
TOUCH_EVERY = 60  # seconds between two writes of a key's last use


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_key(*, name: str, role: str, created_by: User, seller_id: int | None = None,
               expires_at: datetime | None = None) -> tuple[str, ApiKey]:
    """A new key and its text, which is shown once and never stored."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("Give the key a name, e.g. “Website form”.")
    elif len(name) > 100:
        errors["name"] = _("Use at most %(limit)s characters.", limit=100)
    if role not in KeyRole.__members__.values():
        errors["role"] = _("Choose what the key may do.")
    user_id = created_by.id
    if role == KeyRole.SELLER:
        seller = db.session.execute(select(User).where(
            User.id == (seller_id or 0), User.status == UserStatus.ACTIVE.value)
        ).scalar_one_or_none()
        if seller is None or not seller.has_role(Role.SELLER):
            errors["seller_id"] = _("Choose the active seller this key acts as.")
        else:
            user_id = seller.id
    if expires_at is not None and expires_at <= utcnow():
        errors["expires_at"] = _("Choose a day in the future, or no expiry.")
    if errors:
        raise KeyInvalid(errors)
    token = PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, prefix=token[:10], key_hash=hash_key(token), role=role,
                 user_id=user_id, created_by_id=created_by.id, expires_at=expires_at)
    db.session.add(key)
    db.session.flush()
    audit.record("api_key.created", name, key_id=key.id, role=role)
    db.session.commit()
    return token, key


class KeyInvalid(ServiceError):
    def __init__(self, errors: dict[str, str]):
        super().__init__(_("Some fields need attention."))
        self.errors = errors


def revoke_key(key: ApiKey) -> bool:
    """Revoke a key (compare-and-set: a key revoked twice is revoked once)."""
    done = db.session.execute(
        update(ApiKey).where(ApiKey.id == key.id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount == 1
    if done:
        audit.record("api_key.revoked", key.name, key_id=key.id)
    db.session.commit()
    db.session.refresh(key)
    return done


def key_for(token: str) -> ApiKey | None:
    """The key with this text, of any tenant (the caller checks it is the URL's tenant)."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    return db.session.execute(
        select(ApiKey).where(ApiKey.key_hash == hash_key(token))
        .execution_options(all_tenants=True)).scalar_one_or_none()


def touch(key: ApiKey) -> None:
    """Note the key's last use, at most once a minute (a list of keys shows it)."""
    now = utcnow()
    if key.last_used_at is not None and (now - key.last_used_at).total_seconds() < TOUCH_EVERY:
        return
    db.session.execute(
        update(ApiKey).where(ApiKey.id == key.id, or_(
            ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now))
        .values(last_used_at=now).execution_options(synchronize_session=False))
    db.session.commit()


def keys_list() -> list[ApiKey]:
    return list(db.session.execute(
        select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(),
                                ApiKey.id.desc()).limit(500)).scalars())
