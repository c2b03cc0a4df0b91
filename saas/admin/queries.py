"""The read side of settings."""

from __future__ import annotations

from sqlalchemy import func, select

from saas.admin.models import AuditEvent
from saas.auth.models import User
from saas.messaging.models import OutboxMessage
from saas.web.pagination import Page, keyset_page


def users_page(*, status: str = "", after: str | None = None) -> Page:
    stmt = select(User)
    if status:
        stmt = stmt.where(User.status == status)
    name = func.lower(User.name)
    return keyset_page(stmt, [name, User.id], after,
                       cursor_of=lambda u: (u.name.lower(), u.id))


def audit_page(*, after: str | None = None) -> Page:
    return keyset_page(select(AuditEvent), [AuditEvent.id], after, descending=True,
                       cursor_of=lambda e: (e.id,))


def outbox_page(*, after: str | None = None, channel: str = "") -> Page:
    stmt = select(OutboxMessage)
    if channel in ("email", "sms"):
        stmt = stmt.where(OutboxMessage.channel == channel)
    return keyset_page(stmt, [OutboxMessage.id], after, descending=True,
                       cursor_of=lambda m: (m.id,))
