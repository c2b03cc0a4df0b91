"""Automated emails sent again after a soft bounce.

A SendGrid bounce of type `blocked` says the recipient's server refused the message for now (a
full mailbox, greylisting, a temporary block): unlike `deferred`, SendGrid does not try again.
`schedule(step_run_id, data)` (a listener of the message event, in its transaction, after the
engine reconciled the run) writes a `message_resend` row: attempt 1 after
SOFT_BOUNCE_RESEND_SECONDS, attempt 2 after twice that. The third soft bounce in a row makes the
address undeliverable (saas.engine.sender_health), so there is never an attempt 3. A bounce of a
message that is no longer the step's latest (an old event replayed, or the same bounce told
twice) schedules nothing: one bounce, at most one resend.

The enrollment has moved on since the first send, so the step run stays `sent` and the resend
has its own claim, as a send's (saas.engine.sends):

1. **Claim**, committed alone: `pending -> sending` with a token, FOR UPDATE SKIP LOCKED, one
   tenant's due rows (two workers never take the same one).
2. **Checks**, one short transaction: the enrollments locked first (the one lock order), then
   the sender. A connection that ended otherwise than by completing (a reply, an unsubscribe,
   a disconnection) cancels it; a paused one, or a paused sender, or its minimum gap, puts it
   back to `pending` later (work waits, it is never dropped); a suppressed address cancels it.
   The message is composed again for the record as it is now.
3. **The call**, no transaction open, no lock held.
4. **Outcomes**, compare-and-set on the claim: `sent` (its provider message id: a soft bounce
   of this message may ask for the next attempt), `unknown` after a timeout (never sent a third
   time by itself: a duplicate is worse than a missed retry), `failed`, or `pending` again
   after a 429.

A resend left `sending` past the lease (its worker died) becomes `unknown`. Outside tests the
work runs on the `sends` queue, not in the tick (`periodic`).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import DuplicateJobError
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from saas.auth.models import Tenant
from saas.engine import clock, reasons
from saas.engine.graph import GraphCache
from saas.engine.models import MessageResend, StepRun
from saas.engine.send_jobs import QUEUE, off_tick
from saas.engine.send_moves import lease_seconds, lock_enrollments
from saas.engine.senders import SENDER_RECHECK, Sender, caps_of, locked
from saas.engine.sends import backoff_seconds, new_token, template_id_of
from saas.engine.sql import id_in
from saas.extensions import db, get_redis
from saas.messaging import batch
from saas.messaging.compose import ComposeError, Composer
from saas.messaging.config import config_for
from saas.messaging.rendering import RenderError
from saas.messaging.suppression import normalize, suppressed_among
from saas.records.models import Record
from saas.sequences.models import StepType
from saas.templates_.models import MessageTemplate
from saas.tenancy import current_tenant_id, tenant_context

log = logging.getLogger(__name__)
MAX_RESENDS = 2  # the third soft bounce in a row suppresses the address instead
BATCH = 100
JOB_ID = "message-resends"
GOES = ("active", "completed")  # a completed sequence's email still deserves its delivery
PAUSED_RECHECK = timedelta(minutes=15)

CLAIM = text("""
UPDATE message_resend AS r SET status = 'sending', claim_token = :token, started_at = :now
WHERE r.tenant_id = :tenant_id AND r.status = 'pending' AND r.id IN (
    SELECT d.id FROM message_resend AS d
    WHERE d.tenant_id = :tenant_id AND d.status = 'pending' AND d.due_at <= :now
    ORDER BY d.due_at, d.id LIMIT :limit FOR UPDATE SKIP LOCKED)
RETURNING r.id
""")
CLAIM_SQLITE = text("""
UPDATE message_resend SET status = 'sending', claim_token = :token, started_at = :now
WHERE tenant_id = :tenant_id AND status = 'pending' AND id IN (
    SELECT id FROM message_resend
    WHERE tenant_id = :tenant_id AND status = 'pending' AND due_at <= :now
    ORDER BY due_at, id LIMIT :limit)
RETURNING id
""")


def delay_for(attempt: int) -> timedelta:
    return timedelta(seconds=float(current_app.config["SOFT_BOUNCE_RESEND_SECONDS"])
                     * 2 ** (attempt - 1))


# -- 0. A soft bounce asks for a resend -----------------------------------------------------------

def schedule(step_run_id: int | None, data: dict | None, reason: str | None = None) -> bool:
    """A `blocked` soft bounce of this run's latest message: its next attempt, due later.
    False when nothing was scheduled (not an automated email that was sent, an older message's
    bounce, attempts used up, or already scheduled). In the caller's transaction."""
    if step_run_id is None:
        return False
    run = db.session.execute(select(
        StepRun.id, StepRun.tenant_id, StepRun.enrollment_id, StepRun.status, StepRun.step_type,
        StepRun.provider_message_id).where(StepRun.id == step_run_id)).one_or_none()
    if run is None or run.step_type != StepType.AUTO_EMAIL.value or run.status != "sent":
        return False
    latest = db.session.execute(
        select(MessageResend.attempt, MessageResend.status, MessageResend.provider_message_id)
        .where(MessageResend.step_run_id == run.id)
        .order_by(MessageResend.attempt.desc()).limit(1)).one_or_none()
    if latest is not None and latest.status != "sent":
        return False  # the next attempt is planned or under way: this bounce is an older one's
    current = latest.provider_message_id if latest else run.provider_message_id
    bounced = (data or {}).get("provider_message_id")
    if bounced and current and bounced != current:
        return False
    attempt = (latest.attempt if latest else 0) + 1
    if attempt > MAX_RESENDS:
        return False
    now = clock.now()
    values = {"tenant_id": run.tenant_id, "step_run_id": run.id,
              "enrollment_id": run.enrollment_id, "attempt": attempt,
              "status": "pending", "due_at": now + delay_for(attempt),
              "reason": (reason or (data or {}).get("reason") or "")[:2000] or None,
              "created_at": now}
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(MessageResend.__table__).values(**values).on_conflict_do_nothing(
        index_elements=["tenant_id", "step_run_id", "attempt"])
    return db.session.execute(stmt).rowcount == 1


# -- 1-4. Sending them ---------------------------------------------------------------------------

def _cas(resend_id: int, token: str, **values) -> bool:
    return db.session.execute(
        update(MessageResend).where(MessageResend.id == resend_id,
                                    MessageResend.status == "sending",
                                    MessageResend.claim_token == token)
        .values(**values).execution_options(synchronize_session=False)).rowcount == 1


def _later(resend_id: int, token: str, due: datetime, why: str) -> None:
    _cas(resend_id, token, status="pending", claim_token=None, started_at=None, due_at=due,
         error=why[:2000])


def claim(tenant_id: int, now: datetime, token: str, limit: int = BATCH) -> list[int]:
    """Step 1: this tenant's due resends, `sending` with `token`; committed."""
    stmt = CLAIM_SQLITE if db.engine.dialect.name == "sqlite" else CLAIM
    ids = sorted(db.session.execute(stmt, {"token": token, "now": now, "tenant_id": tenant_id,
                                           "limit": limit}).scalars())
    db.session.commit()
    return ids


def resend_for(tenant_id: int, limit: int = BATCH) -> int:
    """One batch of the tenant in context's due resends; returns how many were claimed."""
    token = new_token()
    ids = claim(tenant_id, clock.now(), token, limit)
    if not ids:
        return 0
    config = config_for(tenant_id)
    outgoing, by_run = _check(ids, token, config)
    if outgoing:
        results, untried = batch.send_many(config, outgoing)
        _outcomes(results, untried, by_run, token)
    return len(ids)


def _check(ids: list[int], token: str, config) -> tuple[list, dict[int, int]]:
    """Step 2: (messages to call the provider with, {step run id: resend id})."""
    rows = db.session.execute(
        select(MessageResend.id.label("resend_id"), StepRun.id,
               StepRun.enrollment_id, StepRun.sequence_id, StepRun.step_id, StepRun.record_id,
               StepRun.seller_id, StepRun.ab_version, StepRun.sender)
        .join(StepRun, StepRun.id == MessageResend.step_run_id)
        .where(id_in(MessageResend.id, ids), MessageResend.status == "sending",
               MessageResend.claim_token == token).order_by(MessageResend.id)).all()
    now = clock.now()
    statuses = lock_enrollments(r.enrollment_id for r in rows)  # enrollments first, then senders
    live = []
    for row in rows:
        status = statuses.get(row.enrollment_id)
        if status == "paused":
            _later(row.resend_id, token, now + PAUSED_RECHECK,
                   reasons.RESEND_PAUSED)
        elif status not in GOES:
            _cas(row.resend_id, token, status="cancelled", completed_at=now, claim_token=None,
                 error=reasons.RESEND_ENDED)
        else:
            live.append(row)
    live = _admit_senders(live, token, now)
    records = {r.id: r for r in db.session.execute(
        select(Record).where(Record.id.in_({row.record_id for row in live}))).scalars()}
    suppressed = suppressed_among(r.email for row in live
                                  if (r := records.get(row.record_id)) is not None)
    composer, graphs = Composer(config), GraphCache()
    composer.load_sellers({r.owner_id for r in records.values()}
                          | {row.seller_id for row in live})
    template_ids = {row.id: template_id_of(graphs.get(row.sequence_id).steps[row.step_id],
                                         row.ab_version) for row in live}
    templates = {t.id: t for t in db.session.execute(select(MessageTemplate).where(
        MessageTemplate.id.in_({t for t in template_ids.values() if t}))).scalars()}
    outgoing, by_run = [], {}
    for row in live:
        try:
            message = composer.compose(
                step_run_id=row.id, channel="email", record=records.get(row.record_id),
                template=templates.get(template_ids[row.id]), seller_id=row.seller_id,
                sequence_id=row.sequence_id, sender=row.sender)
        except (ComposeError, RenderError) as error:
            _cas(row.resend_id, token, status="failed", completed_at=now, claim_token=None,
                 error=str(error)[:2000])
            continue
        if normalize(message.to) in suppressed:
            _cas(row.resend_id, token, status="cancelled", completed_at=now, claim_token=None,
                 error=reasons.stored(reasons.RESEND_SUPPRESSED, address=message.to))
        elif batch.provider_for(config, "email") == "outbox":
            if _cas(row.resend_id, token, status="sent", completed_at=now, claim_token=None):
                stored = batch.store(config, message)
                db.session.flush()
                db.session.execute(update(MessageResend).where(
                    MessageResend.id == row.resend_id).values(
                    provider_message_id=f"outbox-{stored.id}")
                    .execution_options(synchronize_session=False))
        else:
            outgoing.append(message)
            by_run[row.id] = row.resend_id
    db.session.commit()
    return outgoing, by_run


def _admit_senders(rows: list, token: str, now: datetime) -> list:
    """The rows whose sender may send now: a paused sender, or one within its minimum gap,
    holds its resends for later. The senders' rows are locked after the enrollments."""
    addresses = {row.sender.lower() for row in rows if row.sender}
    if not addresses:
        return rows
    ids = db.session.execute(select(Sender.id).where(Sender.address.in_(addresses))).scalars()
    senders = {s.address: s for s in locked(ids)}
    tenant_settings = db.session.execute(select(Tenant.settings).where(
        Tenant.id == current_tenant_id())).scalar_one()
    admitted, used = [], {}
    for row in rows:
        sender = senders.get((row.sender or "").lower())
        if sender is None:
            admitted.append(row)
            continue
        last = used.get(sender.id, sender.last_send_at)
        gap = timedelta(seconds=caps_of(sender, tenant_settings)["min_gap_seconds"])
        if sender.paused_at is not None:
            _later(row.resend_id, token, now + SENDER_RECHECK,
                   reasons.RESEND_SENDER_PAUSED)
        elif last is not None and gap and last + gap > now:
            _later(row.resend_id, token, last + gap, reasons.RESEND_GAP)
        else:
            used[sender.id] = now
            admitted.append(row)
    if used:
        db.session.execute(update(Sender).where(Sender.id.in_(list(used)))
                           .values(last_send_at=now).execution_options(synchronize_session=False))
    return admitted


def _outcomes(results: dict, untried: list[int], by_run: dict[int, int], token: str) -> None:
    """Step 4, in a new transaction, each only while the claim is still ours."""
    now = clock.now()
    for run_id, result in results.items():
        resend_id = by_run[run_id]
        if result.status == "sent":
            _cas(resend_id, token, status="sent", completed_at=now, claim_token=None,
                 provider_message_id=result.message_id, error=None)
        elif result.status == "unknown":
            _cas(resend_id, token, status="unknown", completed_at=now, claim_token=None,
                 error=reasons.stored(reasons.RESEND_UNCERTAIN, error=result.error)[:2000])
        elif result.status == "retry":
            _later(resend_id, token, now + timedelta(
                seconds=backoff_seconds(1, result.retry_after)),
                reasons.stored(reasons.RESEND_RETRY, reason=result.error or "retry"))
        else:
            _cas(resend_id, token, status="failed", completed_at=now, claim_token=None,
                 error=(result.error or reasons.PROVIDER_REFUSED)[:2000])
    for run_id in set(untried) | (set(by_run) - set(results)):
        _later(by_run[run_id], token, now + timedelta(seconds=1),
               reasons.RATE_LIMITED)
    db.session.commit()


def recover_stale(tenant_id: int) -> int:
    """Resends left `sending` past the lease (their worker died): `unknown`, not sent again."""
    now = clock.now()
    changed = db.session.execute(update(MessageResend).where(
        MessageResend.tenant_id == tenant_id, MessageResend.status == "sending",
        MessageResend.started_at < now - timedelta(seconds=lease_seconds()))
        .values(status="unknown", claim_token=None, completed_at=now,
                error=reasons.RESEND_STOPPED)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return changed


# -- Where it runs --------------------------------------------------------------------------------

def tenants_due(now: datetime) -> list[int]:
    """Tenants with a due resend, or one left `sending` past its lease."""
    stale = now - timedelta(seconds=lease_seconds())
    found = db.session.execute(
        select(MessageResend.tenant_id).where(
            ((MessageResend.status == "pending") & (MessageResend.due_at <= now))
            | ((MessageResend.status == "sending") & (MessageResend.started_at < stale)))
        .distinct().execution_options(all_tenants=True)).scalars().all()
    db.session.rollback()
    return sorted(found)


def resend_due(budget: float = 20.0) -> int:
    """Every tenant's due resends, batch after batch within `budget` seconds; one tenant's
    failure is logged and never stops another's. Returns how many were claimed."""
    deadline = time.monotonic() + budget
    total = 0
    for tenant_id in tenants_due(clock.now()):
        with tenant_context(tenant_id):
            try:
                recover_stale(tenant_id)
                while time.monotonic() < deadline:
                    claimed = resend_for(tenant_id)
                    total += claimed
                    if claimed < BATCH:
                        break
            except Exception:  # noqa: BLE001 - one tenant's failure never stops another's
                db.session.rollback()
                log.exception("resends failed for tenant %s", tenant_id)
        if time.monotonic() >= deadline:
            break
    return total


def resend_job() -> int:
    """RQ entry point on the `sends` queue."""
    try:
        return resend_due()
    finally:
        db.session.remove()


def periodic() -> int:
    """The tick's task: with sends off the tick, one job on the `sends` queue when a tenant has
    resends due (at most one queued or running: its job id is unique); else inline."""
    if not off_tick():
        return resend_due()
    if not tenants_due(clock.now()):
        return 0
    try:
        Queue(QUEUE, connection=get_redis()).enqueue(
            "saas.engine.resends.resend_job", job_id=JOB_ID, unique=True, job_timeout=120,
            result_ttl=0, failure_ttl=60)
    except DuplicateJobError:
        return 0
    except RedisError:
        log.warning("could not enqueue resends; the next tick will", exc_info=True)
        return 0
    return 1


def for_enrollments(enrollment_ids) -> dict[int, list]:
    """{enrollment id: its resends, oldest first} for the record page's history."""
    ids = list(enrollment_ids)
    if not ids:
        return {}
    found: dict[int, list] = {}
    for resend in db.session.execute(
            select(MessageResend).where(MessageResend.enrollment_id.in_(ids))
            .order_by(MessageResend.id).limit(200)).scalars():
        found.setdefault(resend.enrollment_id, []).append(resend)
    return found

