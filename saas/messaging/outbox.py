"""The `outbox` provider: stores the message in the tenant's outbox (the default until a real
provider is configured, so `make run` works with nothing set up)."""

from __future__ import annotations

import json

from sqlalchemy import insert, text

from saas.extensions import db
from saas.messaging.models import OutboxMessage
from saas.tenancy import TenantContextMissing, current_tenant_id
from saas.timeutil import utcnow

DEFAULT_FROM = "no-reply@sequences.local"


def email_row(*, purpose: str, to: str, subject: str, text: str, html: str | None = None,
              sender: str = DEFAULT_FROM, headers: dict | None = None,
              step_run_id: int | None = None) -> dict:
    """An email's outbox columns."""
    return {"channel": "email", "purpose": purpose, "to_address": to, "from_address": sender,
            "subject": subject, "text_body": text, "html_body": html,
            "headers": headers or None, "step_run_id": step_run_id}


def sms_row(*, purpose: str, to: str, body: str, sender: str = "",
            step_run_id: int | None = None) -> dict:
    """A text's outbox columns."""
    return {"channel": "sms", "purpose": purpose, "to_address": to,
            "from_address": sender or "outbox", "subject": "", "text_body": body,
            "html_body": None, "headers": None, "step_run_id": step_run_id}


def store_email(**fields) -> OutboxMessage:
    """Add the message (`email_row`'s fields) to the current tenant's outbox in the caller's
    transaction."""
    message = OutboxMessage(**email_row(**fields))
    db.session.add(message)
    return message


def store_sms(**fields) -> OutboxMessage:
    """Add the text (`sms_row`'s fields) to the current tenant's outbox, as `store_email`."""
    message = OutboxMessage(**sms_row(**fields))
    db.session.add(message)
    return message


def store_rows(rows: list[dict]) -> dict[int, int]:
    """Add these messages (`email_row`/`sms_row`, each of a different step run) to the current
    tenant's outbox in one INSERT, in the caller's transaction: {step run id: outbox id}."""
    if not rows:
        return {}
    tenant_id = current_tenant_id()
    if tenant_id is None:
        raise TenantContextMissing("writing OutboxMessage with no tenant in context")
    now = utcnow()
    if db.engine.dialect.name == "postgresql":  # the rows as one JSON document: encoded in C
        # and parsed by the server at once, where one array a column is escaped element by
        # element in the driver's Python (a sampling profile: a tenth of the tick's Python)
        result = db.session.execute(_INSERT_JSON, {
            "rows": json.dumps(rows), "tenant_id": tenant_id, "created_at": now})
    else:
        table = OutboxMessage.__table__
        result = db.session.execute(
            insert(table).returning(table.c.step_run_id, table.c.id),
            [{**row, "tenant_id": tenant_id, "created_at": now} for row in rows])
    return dict(result.all())


_INSERT_JSON = text("""
INSERT INTO outbox_message (tenant_id, created_at, channel, purpose, to_address, from_address,
                            subject, text_body, html_body, headers, step_run_id)
SELECT :tenant_id, :created_at, m.channel, m.purpose, m.to_address, m.from_address, m.subject,
       m.text_body, m.html_body, m.headers, m.step_run_id
FROM json_to_recordset(CAST(:rows AS json))
     AS m(channel text, purpose text, to_address text, from_address text, subject text,
          text_body text, html_body text, headers json, step_run_id bigint)
RETURNING step_run_id, id
""")
