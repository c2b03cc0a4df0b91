"""API keys and the POSTs they made with an Idempotency-Key."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from saas.extensions import db
from saas.i18n import _l
from saas.tenancy import TenantScoped
from saas.timeutil import UtcDateTime, utcnow


class KeyRole(enum.StrEnum):
    READ_ONLY = "read_only"
    SEQUENCE_MANAGER = "sequence_manager"
    SELLER = "seller"  # acting as one seller: what that seller may do, nothing more

    @property
    def label(self) -> str:
        return str(KEY_ROLE_LABELS[self.value])


KEY_ROLE_LABELS = {
    "read_only": _l("Read only"),
    "sequence_manager": _l("Sequence manager"),
    "seller": _l("Acting as a seller"),
}


class ApiKey(TenantScoped, db.Model):
    """A key is shown once; only its SHA-256 is kept (it is 32 random bytes, so a fast hash is
    enough: nothing to guess). `prefix` is the part shown in lists to tell keys apart."""

    __tablename__ = "api_key"
    __table_args__ = (
        UniqueConstraint("key_hash", name="uq_api_key_key_hash"),
        Index("ix_api_key_tenant", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    # The user the key acts as: the seller of a seller key, else the administrator who made it.
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def key_role(self) -> KeyRole:
        return KeyRole(self.role)

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class IdempotentRequest(TenantScoped, db.Model):
    """A POST made with an Idempotency-Key, kept 24 hours. The row is written in the request's
    own transaction, so it commits with the request's effect or not at all; the answer is
    stored right after, and a retry gets that answer again instead of a second effect."""

    __tablename__ = "api_idempotent_request"
    __table_args__ = (
        UniqueConstraint("api_key_id", "key", name="uq_api_idempotent_request_key"),
        Index("ix_api_idempotent_request_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # method, path and body, hashed
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
