"""Recording what happened to a message, once, and telling the engine.

`record(...)` inserts a `message_event` row unless the provider's event id was seen before
(providers retry for a day), then:
- a step run left `unknown` (the call may have reached the provider) is reconciled: any provider
  event proves the message was accepted, so it becomes `sent` and its enrollment moves on;
- opens, clicks, replies, bounces, unsubscribes, spam reports and deliveries go to
  `saas.engine.events.on_message_event` (conditions, exits, A/B results);
- bounces, spam reports and unsubscribes suppress the address for the tenant and exit its
  enrollments (per each sequence's settings, in the engine).
Works in the tenant in context, in the caller's transaction (the caller commits).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from saas.engine.models import StepRun
from saas.extensions import db
from saas.messaging.models import MessageEvent
from saas.messaging.suppression import suppress
from saas.tenancy import current_tenant_id
from saas.timeutil import utcnow

# message_event.kind -> the engine's kind
ENGINE_KINDS = {"open": "opened", "click": "clicked", "reply": "replied", "bounce": "bounced",
                "unsubscribe": "unsubscribed", "spamreport": "spamreport",
                "delivered": "delivered"}
SUPPRESSING = {"bounce": "bounce", "spamreport": "spamreport", "unsubscribe": "unsubscribe",
               "stop": "stop"}
# Events that prove a provider took the message (a step run in `unknown` is then `sent`).
PROOF_OF_SENDING = {"processed", "delivered", "deferred", "bounce", "dropped", "open", "click",
                    "reply", "spamreport", "unsubscribe", "queued", "sent", "sending",
                    "undelivered", "failed", "accepted", "read"}


def step_run_of(step_run_id) -> StepRun | None:
    """The tenant's step run by id (another tenant's id finds nothing)."""
    try:
        run_id = int(step_run_id)
    except (TypeError, ValueError):
        return None
    return db.session.execute(select(StepRun).where(StepRun.id == run_id)).scalar_one_or_none()


def record(*, kind: str, provider: str, provider_event_id: str | None,
           step_run: StepRun | None = None, address: str | None = None, url: str | None = None,
           data: dict | None = None, occurred_at: datetime | None = None,
           notify: bool = True) -> bool:
    """Record one event; False when its provider event id was already recorded."""
    tid = current_tenant_id()
    occurred_at = occurred_at or utcnow()
    values = {"tenant_id": tid, "step_run_id": step_run.id if step_run else None, "kind": kind,
              "provider": provider, "provider_event_id": provider_event_id,
              "address": (address or None) and address[:254], "url": url,
              "data": data or {}, "occurred_at": occurred_at, "created_at": func.now()}
    table = MessageEvent.__table__
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(table).values(**values)
    if provider_event_id:
        stmt = stmt.on_conflict_do_nothing(index_elements=["tenant_id", "provider_event_id"])
    if db.session.execute(stmt.returning(table.c.id)).first() is None:
        return False
    if step_run is not None and kind in PROOF_OF_SENDING:
        reconcile(step_run, kind, data or {})
    if kind in SUPPRESSING and address:
        if suppress(address, None, SUPPRESSING[kind]):
            _engine("exit_enrollments_for_address", address, SUPPRESSING[kind])
    if notify and step_run is not None and kind in ENGINE_KINDS:
        _engine("on_message_event", step_run.id, ENGINE_KINDS[kind], occurred_at)
    return True


def reconcile(step_run: StepRun, kind: str, data: dict) -> bool:
    """An `unknown` run the provider did take: mark it sent and move its enrollment on."""
    return _engine("mark_reconciled", step_run, kind, data.get("provider_message_id"))


def _engine(name: str, *args):
    from saas.engine import events as engine_events

    return getattr(engine_events, name)(*args)
