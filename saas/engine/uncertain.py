"""Sends whose outcome is not known yet: the provider's events decide them.

- `decide_from_events(run_ids)`: `unknown` runs with a stored provider event proving the provider
  took the message are `sent` and move on. Called whenever an outcome is written and a lease
  expires, so an event that came before the outcome (SendGrid accepted, the call timed out)
  decides at once instead of being ignored.
- `recover_stale(tenant_id)`: a run still `sending` after its lease (the worker died): `sent` if
  the outbox has it or an event proves it; `pending` again when nothing could have left (the
  outbox provider); else `unknown`.
- `mark_reconciled(run, kind)`: a provider event for an `unknown` run settles it at once.
- `resend_silent_unknowns(tenant_id)`: an `unknown` run is sent again by itself only when the
  tenant's provider reports events through signed webhooks (SendGrid with its verification key;
  Twilio's signed status callbacks) and none came within `UNKNOWN_RESEND_AFTER`. Without an event
  source a resend could send twice: a manager decides (`resolve_unknown`: "Resend" or
  "Mark as sent").
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import exists, func, select, update

from saas.engine import clock, hooks
from saas.engine.graph import GraphCache
from saas.engine.models import StepRun
from saas.engine.sql import id_in
from saas.extensions import db
from saas.messaging import batch
from saas.messaging.config import MessagingConfig, config_for
from saas.messaging.events import PROOF_OF_SENDING
from saas.messaging.models import MessageEvent, OutboxMessage
from saas.sequences.models import StepType


def window_seconds() -> float:
    return float(current_app.config["UNKNOWN_RESEND_AFTER"])


def _proved():
    return exists().where(MessageEvent.tenant_id == StepRun.tenant_id,
                          MessageEvent.step_run_id == StepRun.id,
                          MessageEvent.kind.in_(PROOF_OF_SENDING))


def _move_on(rows, now: datetime) -> None:
    from saas.engine.send_moves import Moves

    moves = Moves()
    for row in rows:
        moves.add(row)
    moves.apply(GraphCache(), now)


def decide_from_events(run_ids: list[int], now: datetime | None = None) -> int:
    """`unknown` runs among these with a stored proof of sending: `sent`, and on. The caller
    holds their enrollments (lock order) and commits."""
    if not run_ids:
        return 0
    now = now or clock.now()
    rows = db.session.execute(
        update(StepRun).where(id_in(StepRun.id, run_ids), StepRun.status == "unknown", _proved())
        .values(status="sent", completed_at=now,
                error="Reconciled: the provider reported the message after an uncertain send.")
        .returning(StepRun.id, StepRun.enrollment_id, StepRun.sequence_id, StepRun.step_id)
        .execution_options(synchronize_session=False)).all()
    _move_on(rows, now)
    return len(rows)


def mark_reconciled(step_run: StepRun, kind: str, message_id: str | None = None) -> bool:
    """A provider event (`kind`, already stored) names this run: if it is `unknown`, it is
    `sent` and its enrollment moves on; a run still `sending` is decided when its outcome is
    written (decide_from_events)."""
    from saas.engine.send_moves import lock_enrollments

    hooks.at("before_reconcile", run_id=step_run.id, kind=kind)
    lock_enrollments([step_run.enrollment_id])  # the one lock order: enrollment, then its runs
    decided = decide_from_events([step_run.id], clock.now()) == 1
    if decided and message_id:
        db.session.execute(update(StepRun).where(StepRun.id == step_run.id,
                                                 StepRun.provider_message_id.is_(None))
                           .values(provider_message_id=message_id)
                           .execution_options(synchronize_session=False))
    if decided:
        db.session.expire(step_run)
    return decided


def recover_stale(tenant_id: int) -> int:
    """Runs left `sending` past the lease (their worker died mid-chunk)."""
    from saas.engine.send_moves import lease_seconds, lock_enrollments

    now = clock.now()
    cutoff = now - timedelta(seconds=lease_seconds())
    candidates = db.session.execute(select(StepRun.enrollment_id).where(
        StepRun.tenant_id == tenant_id, StepRun.status == "sending",
        StepRun.started_at < cutoff)).scalars().all()
    if not candidates:
        db.session.rollback()
        return 0
    statuses = lock_enrollments(candidates)  # the one lock order: enrollments, then their runs
    stale = update(StepRun).where(StepRun.tenant_id == tenant_id, StepRun.status == "sending",
                                  StepRun.started_at < cutoff,
                                  id_in(StepRun.enrollment_id, candidates))
    in_outbox = exists().where(OutboxMessage.step_run_id == StepRun.id)
    returning = (StepRun.id, StepRun.enrollment_id, StepRun.sequence_id, StepRun.step_id)
    done = db.session.execute(stale.where(in_outbox | _proved()).values(
        status="sent", completed_at=now, claim_token=None,
        error="Settled after the worker stopped: the provider has the message.")
        .returning(*returning).execution_options(synchronize_session=False)).all()
    _move_on(done, now)
    rows = db.session.execute(select(StepRun.id, StepRun.step_type, StepRun.enrollment_id).where(
        StepRun.tenant_id == tenant_id, StepRun.status == "sending", StepRun.started_at < cutoff,
        id_in(StepRun.enrollment_id, candidates))).all()
    config = config_for(tenant_id)
    local = [r.id for r in rows if batch.provider_for(config, _channel(r.step_type)) == "outbox"]
    remote = [r.id for r in rows if r.id not in set(local)]
    paused = {r.id for r in rows if statuses.get(r.enrollment_id) == "paused"}
    for ids, held in (([i for i in local if i not in paused], False),
                      ([i for i in local if i in paused], True)):
        if ids:  # nothing left the house: it goes again (a paused one after resume)
            db.session.execute(update(StepRun).where(id_in(StepRun.id, ids),
                                                     StepRun.status == "sending")
                               .values(status="pending", due_at=None if held else now,
                                       held_due_at=now if held else None, claim_token=None)
                               .execution_options(synchronize_session=False))
    if remote:
        db.session.execute(update(StepRun).where(id_in(StepRun.id, remote),
                                                 StepRun.status == "sending").values(
            status="unknown", completed_at=now, claim_token=None,
            error="The worker stopped during the send: the provider may have the message.")
            .execution_options(synchronize_session=False))
    db.session.commit()
    return len(done) + len(rows)


def _channel(step_type: str) -> str:
    return "sms" if step_type == StepType.AUTO_SMS.value else "email"


def events_signed(config: MessagingConfig, channel: str) -> bool:
    """Does this tenant's provider report events we can trust for this channel?"""
    if channel == "sms":
        return config.sms_provider == "twilio"  # status callbacks, signed with the token
    return config.email_provider == "sendgrid" and bool(config.sendgrid_webhook_key)


def resend_silent_unknowns(tenant_id: int, limit: int = 1000) -> int:
    """Unknown runs of active enrollments with no provider event for the window, on a channel
    whose events are signed: pending again (sent once more)."""
    config = config_for(tenant_id)
    types = [t for t, channel in ((StepType.AUTO_EMAIL.value, "email"),
                                  (StepType.AUTO_SMS.value, "sms"))
             if events_signed(config, channel)]
    if not types:
        db.session.rollback()
        return 0
    now = clock.now()
    cutoff = now - timedelta(seconds=window_seconds())
    has_event = exists().where(MessageEvent.tenant_id == tenant_id,
                               MessageEvent.step_run_id == StepRun.id)
    candidates = db.session.execute(
        select(StepRun.id, StepRun.enrollment_id)
        .where(StepRun.tenant_id == tenant_id, StepRun.status == "unknown",
               StepRun.step_type.in_(types), StepRun.completed_at < cutoff, ~has_event)
        .limit(limit)).all()
    if not candidates:
        db.session.rollback()
        return 0
    from saas.engine.send_moves import lock_enrollments

    statuses = lock_enrollments(c.enrollment_id for c in candidates)
    ids = [c.id for c in candidates if statuses.get(c.enrollment_id) == "active"]
    changed = db.session.execute(
        update(StepRun).where(id_in(StepRun.id, ids), StepRun.status == "unknown", ~has_event)
        .values(status="pending", due_at=now, completed_at=None,
                error=func.concat(func.coalesce(StepRun.error, ""),
                                  " No provider event within the window: sending again."))
        .execution_options(synchronize_session=False)).rowcount if ids else 0
    db.session.commit()
    return changed


def resend_all_tenants() -> int:
    """The tick task: every tenant with unknown sends past the window."""
    from saas.tenancy import tenant_context

    cutoff = clock.now() - timedelta(seconds=window_seconds())
    tenant_ids = list(db.session.execute(
        select(StepRun.tenant_id).where(StepRun.status == "unknown",
                                        StepRun.completed_at < cutoff).distinct()
        .execution_options(all_tenants=True)).scalars())
    db.session.rollback()
    total = 0
    for tenant_id in tenant_ids:
        with tenant_context(tenant_id):
            total += resend_silent_unknowns(tenant_id)
    return total


def resolve_unknown(step_run_id: int, action: str) -> bool:
    """A manager's decision on an uncertain send of the tenant in context: "resend" (pending
    again, now) or "sent" (mark as sent, and on). False when it is no longer uncertain."""
    from saas.engine.send_moves import lock_enrollments

    run = db.session.execute(select(StepRun.id, StepRun.enrollment_id).where(
        StepRun.id == step_run_id, StepRun.status == "unknown")).one_or_none()
    if run is None:
        db.session.rollback()
        return False
    now = clock.now()
    status = lock_enrollments([run.enrollment_id]).get(run.enrollment_id)
    if action == "resend":
        if status not in ("active", "paused"):
            db.session.rollback()
            return False
        held = status == "paused"  # out of the due index until resume
        values = {"status": "pending", "due_at": None if held else now,
                  "held_due_at": now if held else None, "completed_at": None,
                  "error": "Sent again at a manager's request."}
    else:
        values = {"status": "sent", "completed_at": now,
                  "error": "Marked as sent by a manager."}
    rows = db.session.execute(
        update(StepRun).where(StepRun.id == run.id, StepRun.status == "unknown").values(**values)
        .returning(StepRun.id, StepRun.enrollment_id, StepRun.sequence_id, StepRun.step_id)
        .execution_options(synchronize_session=False)).all()
    if action != "resend":
        _move_on(rows, now)
    db.session.commit()
    return bool(rows)
