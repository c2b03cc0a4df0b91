"""The delivery outbox, written in the event's own transaction (a transactional outbox: a
delivery exists if and only if its event committed; nothing waits in memory).

The engine and messaging announce what happened (saas/signals.py) with the ids they hold;
the listeners here (connected in saas/wiring.py) first ask which of the tenant's active
subscriptions hear that event. The answer is read once per transaction (one indexed lookup,
`ix_webhook_subscription_status`) and kept in the session until the transaction ends, so the
engine's batches pay a dictionary lookup when nobody listens. When somebody does, the event's
rows are read in one statement and the deliveries written in one executemany, whatever the
number of enrollments.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from saas.engine import clock
from saas.engine.models import AbTest, Enrollment, StepRun
from saas.engine.sql import id_in
from saas.extensions import db
from saas.outbound.events import MESSAGE_KINDS, payload
from saas.outbound.models import WebhookDelivery, WebhookSubscription
from saas.tenancy import current_tenant_id
from saas.timeutil import utcnow

CACHE_KEY = "outbound_subscriptions"
EMAIL_STEP_TYPES = ("email", "auto_email")
ENDED = {"completed": "enrollment.completed", "exited": "enrollment.exited",
         "disconnected": "enrollment.exited"}
CHUNK = 5000


@event.listens_for(Session, "after_transaction_end")
def _forget(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(CACHE_KEY, None)


def _listening(tenant_id: int) -> tuple[str, dict[str, list[int]]]:
    """(the tenant's slug, {event type: subscription ids}) of its active subscriptions, read once
    per transaction."""
    cache = db.session.info.setdefault(CACHE_KEY, {})
    found = cache.get(tenant_id)
    if found is None:
        from saas.auth.models import Tenant

        s = WebhookSubscription.__table__.c
        by_type: dict[str, list[int]] = {}
        rows = db.session.execute(select(s.id, s.events).where(
            s.tenant_id == tenant_id, s.status == "active")).all()
        for sub_id, events in rows:
            for name in events or ():
                by_type.setdefault(name, []).append(sub_id)
        slug = ""
        if by_type:
            slug = db.session.execute(select(Tenant.slug).where(Tenant.id == tenant_id)).scalar()
        found = cache[tenant_id] = (slug, by_type)
    return found


def listening(event_types: Iterable[str]) -> bool:
    tenant_id = current_tenant_id()
    if tenant_id is None:
        return False
    by_type = _listening(tenant_id)[1]
    return any(name in by_type for name in event_types)


def write(events: list[tuple[str, datetime, dict]]) -> int:
    """Deliveries for these (event type, time, data) in the current tenant, one per event and
    subscription that hears it, in one executemany; returns how many rows."""
    tenant_id = current_tenant_id()
    slug, by_type = _listening(tenant_id)
    now = clock.now()
    rows = []
    for event_type, at, data in events:
        subscriptions = by_type.get(event_type)
        if not subscriptions:
            continue
        event_id = f"evt_{uuid.uuid4().hex}"
        body = payload(event_type, at, {"tenant": slug, **data})
        rows += [{"tenant_id": tenant_id, "subscription_id": sub_id, "event_type": event_type,
                  "event_id": event_id, "payload": body, "status": "pending", "attempts": 0,
                  "next_attempt_at": now, "created_at": now} for sub_id in subscriptions]
    if rows:
        db.session.execute(insert(WebhookDelivery.__table__), rows)
    return len(rows)


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ids = sorted(set(ids))
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _enrollment_data(row) -> dict:
    return {"record_id": row.record_id, "sequence_id": row.lineage_id,
            "sequence_version_id": row.sequence_id, "enrollment_id": row.id,
            "seller_id": row.seller_id}


E = Enrollment.__table__.c
R = StepRun.__table__.c
ENROLLMENT_COLUMNS = (E.id, E.record_id, E.sequence_id, E.lineage_id, E.seller_id)


# --- listeners (saas/wiring.py) -----------------------------------------------------------------

def on_records_connected(_sender, *, enrollment_ids=None, lineage_id=None, record_ids=None,
                         started_at=None, **_more) -> None:
    if not listening(("record.connected",)):
        return
    tenant_id = current_tenant_id()
    if enrollment_ids is not None:
        batches = [id_in(E.id, chunk) for chunk in _chunks(enrollment_ids)]
    else:
        batches = [(id_in(E.record_id, chunk)) & (E.lineage_id == lineage_id)
                   & (E.started_at == started_at) for chunk in _chunks(record_ids or ())]
    for where in batches:
        rows = db.session.execute(select(*ENROLLMENT_COLUMNS, E.started_at).where(
            E.tenant_id == tenant_id, where)).all()
        write([("record.connected", row.started_at, _enrollment_data(row)) for row in rows])


def _run_events(event_type: str, step_run_ids, status: str, at_column, **only) -> None:
    tenant_id = current_tenant_id()
    db.session.flush()  # a run the caller completed through the ORM
    for chunk in _chunks(step_run_ids):
        where = [R.tenant_id == tenant_id, id_in(R.id, chunk), R.status == status]
        if only.get("email"):
            where.append(R.step_type.in_(EMAIL_STEP_TYPES + ("ab_test",)))
        rows = db.session.execute(
            select(R.id.label("step_run_id"), R.step_id, R.step_type, R.outcome, at_column,
                   *ENROLLMENT_COLUMNS).join(Enrollment.__table__, E.id == R.enrollment_id)
            .where(*where)).all()
        write([(event_type, row.completed_at or utcnow(), {
            **_enrollment_data(row), "step_id": row.step_id, "step_run_id": row.step_run_id,
            "step_type": row.step_type,
            **({"outcome": row.outcome} if event_type == "step.completed" else {})})
            for row in rows])


def on_steps_completed(_sender, *, step_run_ids, **_more) -> None:
    if listening(("step.completed",)):
        _run_events("step.completed", step_run_ids, "completed", R.completed_at)


def on_messages_sent(_sender, *, step_run_ids, **_more) -> None:
    if listening(("email.sent",)):
        _run_events("email.sent", step_run_ids, "sent", R.completed_at, email=True)


def on_enrollments_ended(_sender, *, enrollment_ids, at, **_more) -> None:
    if not listening(ENDED.values()):
        return
    tenant_id = current_tenant_id()
    for chunk in _chunks(enrollment_ids):
        rows = db.session.execute(select(*ENROLLMENT_COLUMNS, E.status, E.exit_reason).where(
            E.tenant_id == tenant_id, id_in(E.id, chunk), E.ended_at == at,
            E.status.in_(tuple(ENDED)))).all()
        write([(ENDED[row.status], at, {**_enrollment_data(row), "status": row.status,
                                        "reason": row.exit_reason}) for row in rows])


def on_message_event(_sender, *, kind: str, step_run_id=None, occurred_at=None, data=None,
                     **_more) -> None:
    event_type = MESSAGE_KINDS.get(kind)
    if event_type is None or step_run_id is None or not listening((event_type,)):
        return
    try:
        run_id = int(step_run_id)
    except (TypeError, ValueError):
        return
    row = db.session.execute(
        select(R.id.label("step_run_id"), R.step_id, R.step_type, *ENROLLMENT_COLUMNS)
        .join(Enrollment.__table__, E.id == R.enrollment_id)
        .where(R.tenant_id == current_tenant_id(), R.id == run_id)).first()
    if row is None:
        return
    extra = {}
    if kind == "bounce" and (data or {}).get("type"):
        extra["bounce_type"] = str(data["type"])[:32]
    write([(event_type, occurred_at or utcnow(), {
        **_enrollment_data(row), "step_id": row.step_id, "step_run_id": row.step_run_id,
        **extra})])


def on_ab_test_concluded(_sender, *, test_id: int, **_more) -> None:
    if not listening(("abtest.concluded",)):
        return
    from saas.sequences.models import Sequence

    t = AbTest.__table__.c
    row = db.session.execute(
        select(t.id, t.step_id, t.sequence_id, t.outcome, t.winner, t.decided_at,
               Sequence.lineage_id).join(Sequence, Sequence.id == t.sequence_id)
        .where(t.tenant_id == current_tenant_id(), t.id == test_id)).first()
    if row is not None:
        write([("abtest.concluded", row.decided_at or utcnow(), {
            "ab_test_id": row.id, "sequence_id": row.lineage_id or row.sequence_id,
            "sequence_version_id": row.sequence_id, "step_id": row.step_id,
            "outcome": row.outcome, "winner": row.winner})])
