"""Recording what happened to a message, once, and announcing it.

`record(...)` inserts a `message_event` row unless the provider's event id was seen before
(providers retry for a day); bounces, spam reports and unsubscribes suppress the address for
the tenant; then it announces `saas.signals.message_event_recorded`, which the engine follows
(`saas.engine.events.on_recorded`): a step run left `unknown` is reconciled (any provider event
in PROOF_OF_SENDING proves the message was accepted), a just-suppressed address's enrollments
exit (per each sequence's settings), and opens, clicks, replies, bounces, unsubscribes, spam
reports and deliveries move conditions, exits and A/B results. Messaging knows nothing of
sequences: a message event names its step run by id only.
Works in the tenant in context, in the caller's transaction (the caller commits).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from saas.extensions import db
from saas.messaging.models import MessageEvent
from saas.messaging.suppression import suppress
from saas.signals import message_event_recorded
from saas.tenancy import current_tenant_id
from saas.timeutil import utcnow

SUPPRESSING = {"bounce": "bounce", "spamreport": "spamreport", "unsubscribe": "unsubscribe",
               "stop": "stop"}
# Events that prove a provider took the message (a step run in `unknown` is then `sent`).
PROOF_OF_SENDING = {"processed", "delivered", "deferred", "bounce", "blocked", "dropped", "open",
                    "click", "reply", "auto_reply", "spamreport", "unsubscribe", "queued", "sent",
                    "sending", "undelivered", "failed", "accepted", "read"}


def record(*, kind: str, provider: str, provider_event_id: str | None,
           step_run_id: int | None = None, address: str | None = None, url: str | None = None,
           data: dict | None = None, occurred_at: datetime | None = None,
           notify: bool = True) -> bool:
    """Record one event; False when its provider event id was already recorded. `notify`
    False: the event is stored and reconciles, but conditions and exits don't follow it."""
    tid = current_tenant_id()
    occurred_at = occurred_at or utcnow()
    values = {"tenant_id": tid, "step_run_id": step_run_id, "kind": kind,
              "provider": provider, "provider_event_id": provider_event_id,
              "address": (address or None) and address[:254], "url": url,
              "data": data or {}, "occurred_at": occurred_at, "created_at": func.now()}
    table = MessageEvent.__table__
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(table).values(**values)
    if provider_event_id:
        stmt = stmt.on_conflict_do_nothing(index_elements=["tenant_id", "provider_event_id"])
    inserted = db.session.execute(stmt.returning(table.c.id)).first()
    if inserted is None:
        return False
    suppressed = None
    if kind in SUPPRESSING and address and suppress(address, None, SUPPRESSING[kind]):
        suppressed = SUPPRESSING[kind]
    message_event_recorded.send(None, kind=kind, step_run_id=step_run_id, address=address,
                                data=data or {}, occurred_at=occurred_at, notify=notify,
                                suppressed=suppressed, event_id=inserted[0])
    return True
