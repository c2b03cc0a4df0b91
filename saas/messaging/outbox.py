"""The `outbox` provider: stores the message in the tenant's outbox (the default until a real
provider is configured, so `make run` works with nothing set up)."""

from __future__ import annotations

from saas.extensions import db
from saas.messaging.models import OutboxMessage

DEFAULT_FROM = "no-reply@sequences.local"


def store_email(*, purpose: str, to: str, subject: str, text: str, html: str | None = None,
                sender: str = DEFAULT_FROM, headers: dict | None = None,
                step_run_id: int | None = None) -> OutboxMessage:
    """Add the message to the current tenant's outbox in the caller's transaction."""
    message = OutboxMessage(
        channel="email", purpose=purpose, to_address=to, from_address=sender,
        subject=subject, text_body=text, html_body=html, headers=headers or None,
        step_run_id=step_run_id,
    )
    db.session.add(message)
    return message


def store_sms(*, purpose: str, to: str, body: str, sender: str = "",
              step_run_id: int | None = None) -> OutboxMessage:
    message = OutboxMessage(channel="sms", purpose=purpose, to_address=to,
                            from_address=sender or "outbox", subject="", text_body=body,
                            html_body=None, step_run_id=step_run_id)
    db.session.add(message)
    return message
