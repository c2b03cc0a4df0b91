"""The `outbox` email provider: stores the message in the tenant's outbox (the default until a
real provider is configured, so `make run` works with nothing set up)."""

from __future__ import annotations

from saas.extensions import db
from saas.messaging.models import OutboxMessage

DEFAULT_FROM = "no-reply@sequences.local"


def store_email(*, purpose: str, to: str, subject: str, text: str, html: str | None = None,
                sender: str = DEFAULT_FROM) -> OutboxMessage:
    """Add the message to the current tenant's outbox in the caller's transaction."""
    message = OutboxMessage(
        channel="email", purpose=purpose, to_address=to, from_address=sender,
        subject=subject, text_body=text, html_body=html,
    )
    db.session.add(message)
    return message
