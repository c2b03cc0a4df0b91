"""Tenants and their users: the ground every other area stands on."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, Index, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from saas.extensions import db
from saas.i18n import _l
from saas.tenancy import TenantScoped
from saas.timeutil import UtcDateTime, aware, utcnow


class Role(enum.StrEnum):
    SYSTEM_ADMINISTRATOR = "system_administrator"
    SEQUENCE_MANAGER = "sequence_manager"
    SELLER = "seller"

    @property
    def label(self) -> str:
        """The role's name in the viewer's language (lazy: `str()` it for Python's own joins)."""
        return ROLE_LABELS[self.value]


ROLE_LABELS = {
    "system_administrator": _l("System administrator"),
    "sequence_manager": _l("Sequence manager"),
    "seller": _l("Seller"),
}


class Licence(enum.StrEnum):
    SALES_ENTERPRISE = "sales_enterprise"
    SALES_PREMIUM = "sales_premium"
    RELATIONSHIP_SALES = "relationship_sales"
    NONE = "none"

    @property
    def label(self) -> str:
        """Product names stay as they are; "No licence" is translated (lazily)."""
        return _l("No licence") if self is Licence.NONE else self.english

    @property
    def english(self) -> str:
        """The name as the audit log stores it."""
        return {
            "sales_enterprise": "Sales Enterprise",
            "sales_premium": "Sales Premium",
            "relationship_sales": "Relationship Sales",
            "none": "No licence",
        }[self.value]

    @property
    def includes_sequences(self) -> bool:
        return self is not Licence.NONE


class UserStatus(enum.StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


STATUS_LABELS = {"invited": _l("Invited"), "active": _l("Active"),
                 "deactivated": _l("Deactivated")}


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class Tenant(db.Model):
    __tablename__ = "tenant"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    licence: Mapped[str] = mapped_column(String(32), default=Licence.SALES_ENTERPRISE.value)
    licence_trial_ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    opportunities_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    workspace_published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    # The workspace's default language (saas/i18n.py): pages, when neither the user nor the
    # browser says, and records that have none.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    @property
    def licence_kind(self) -> Licence:
        return Licence(self.licence)

    @property
    def on_trial(self) -> bool:
        return self.licence_trial_ends_at is not None

    @property
    def trial_expired(self) -> bool:
        ends = aware(self.licence_trial_ends_at)
        return ends is not None and ends <= utcnow()

    @property
    def licence_includes_sequences(self) -> bool:
        return self.licence_kind.includes_sequences and not self.trial_expired

    @property
    def workspace_ready(self) -> bool:
        return self.workspace_published_at is not None

    @property
    def record_types(self) -> list[str]:
        return ["lead", "opportunity"] if self.opportunities_enabled else ["lead"]

    @property
    def record_types_label(self) -> str:
        return str(_l("leads and opportunities") if self.opportunities_enabled else _l("leads"))


class User(UserMixin, TenantScoped, db.Model):
    __tablename__ = "user_account"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        Index("ix_user_account_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    roles: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=UserStatus.ACTIVE.value)
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    # None until the user picks a language: the browser's speaks, then the workspace's.
    language: Mapped[str | None] = mapped_column(String(8))
    # Set when the user picks a zone on their profile; until then sign-in takes the browser's.
    time_zone_chosen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    # The most open records the seller holds at once (saas.sellers): None is no limit.
    capacity: Mapped[int | None] = mapped_column(Integer)
    # After completing an activity from the worklist, open the next record.
    # A boolean default (0 on SQLite), not the word: SQLite kept the string, which reads as True.
    auto_advance: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    country: Mapped[str | None] = mapped_column(String(2))  # for "sellers matching the record"
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    def get_id(self) -> str:
        # The session token is part of the id Flask-Login stores in the session: rotating it
        # (password change, deactivation) ends every other session of this user.
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:
        return self.status == UserStatus.ACTIVE

    def has_role(self, role: Role) -> bool:
        """System administrators can do everything a sequence manager can."""
        if role.value in self.roles:
            return True
        return role is Role.SEQUENCE_MANAGER and Role.SYSTEM_ADMINISTRATOR.value in self.roles

    @property
    def role_labels(self) -> list[str]:
        return [str(Role(r).label) for r in Role if r.value in self.roles]

    @property
    def status_label(self) -> str:
        """The status in the viewer's language ("Active", "Invited", "Deactivated")."""
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def is_admin(self) -> bool:
        return Role.SYSTEM_ADMINISTRATOR.value in self.roles
