"""Delivering the outbox: claim, commit, call with nothing held, record compare-and-set.

1. `claim` takes due deliveries of active subscriptions, every tenant's, oldest first
   (`ix_webhook_delivery_due`, FOR UPDATE SKIP LOCKED: two workers never take the same row),
   marks them `delivering` with a token (`lease`) until OUTBOUND_WEBHOOK_LEASE_SECONDS from now
   (`next_attempt_at`: a worker that dies leaves them to the next claim), and COMMITS.
2. `send` signs the payload (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
   `webhook-signature` = v1,HMAC-SHA256 of "id.timestamp.body") and POSTs it to a checked
   address (saas/outbound/addresses.py), with no transaction open and no lock held.
3. `record` writes the outcome in a new transaction, only while the claim is still ours
   (`WHERE status = 'delivering' AND lease = :token`): 2xx delivered; 410 Gone failed and the
   subscription disabled at once; anything else (4xx, 5xx, timeout, refused address) pending
   again after an exponential backoff with jitter, until OUTBOUND_WEBHOOK_RETRY_HOURS after the
   first attempt (then failed). A subscription whose deliveries failed that long without a
   success in between is disabled, and its system administrators are emailed.

The job (`deliver_due`, RQ queue "webhooks") is enqueued by the tick (`periodic`) whenever a
delivery is due, and after commit by the Settings actions (test event, replay).
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import DuplicateJobError
from sqlalchemy import func, insert, select, update
from standardwebhooks.webhooks import Webhook

from saas.engine import clock
from saas.extensions import db, get_redis
from saas.messaging.crypto import decrypt
from saas.outbound import addresses
from saas.outbound.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from saas.tenancy import tenant_context
from saas.timeutil import utcnow

log = logging.getLogger(__name__)
QUEUE = "webhooks"
JOB_ID = "webhooks-deliver"
JOB_BUDGET = 30  # seconds a delivery job works before it ends (the tick enqueues the next)
BACKOFF_BASE, BACKOFF_CAP = 30, 3600  # seconds
RETENTION_GATE = "saas:outbound:retention:last"
D = WebhookDelivery.__table__.c
S = WebhookSubscription.__table__.c


def _config(name: str) -> float:
    return float(current_app.config[name])


def retry_window() -> timedelta:
    return timedelta(hours=_config("OUTBOUND_WEBHOOK_RETRY_HOURS"))


def backoff(attempts: int) -> float:
    """Seconds before the next try after `attempts` tries: doubling from 30 s, at most an hour,
    each delay drawn from its upper half (jitter, so failed receivers are not hit in waves)."""
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret


def signed(secret: str, event_id: str, body: bytes, at: datetime | None = None) -> dict:
    at = at or utcnow()  # the receiver checks it against its own clock: the real time
    return {"content-type": "application/json", "user-agent": "sequences-webhooks/1",
            "webhook-id": event_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(event_id, at, body)}


def body_of(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def claim(limit: int, now: datetime | None = None) -> tuple[str, list]:
    """Claim up to `limit` due deliveries (any tenant) and commit; returns (token, rows)."""
    now = now or clock.now()
    token = secrets.token_hex(16)
    due = (select(D.id).join(WebhookSubscription.__table__, S.id == D.subscription_id)
           .where(D.status.in_(("pending", "delivering")), D.next_attempt_at <= now,
                  S.status == "active")
           .order_by(D.next_attempt_at).limit(limit)
           .execution_options(all_tenants=True))  # the job serves every tenant
    if db.engine.dialect.name != "sqlite":
        due = due.with_for_update(of=WebhookDelivery.__table__, skip_locked=True)
    ids = list(db.session.execute(due).scalars())
    rows = []
    if ids:
        lease = now + timedelta(seconds=_config("OUTBOUND_WEBHOOK_LEASE_SECONDS"))
        claimed = db.session.execute(
            update(WebhookDelivery.__table__).where(D.id.in_(ids))
            .values(status="delivering", lease=token, next_attempt_at=lease,
                    attempts=D.attempts + 1,
                    first_attempt_at=func.coalesce(D.first_attempt_at, now))
            .returning(D.id).execution_options(all_tenants=True)).scalars().all()
        rows = db.session.execute(
            select(D.id, D.tenant_id, D.subscription_id, D.event_id, D.payload, D.attempts,
                   D.first_attempt_at, S.url, S.secret_encrypted)
            .join(WebhookSubscription.__table__, S.id == D.subscription_id)
            .where(D.id.in_(claimed)).order_by(D.id)
            .execution_options(all_tenants=True)).all()
    db.session.commit()
    return token, rows


def send(row) -> addresses.Answer:
    """Sign and POST one claimed delivery (no transaction open: the caller committed)."""
    secret = decrypt(row.secret_encrypted)
    if secret is None:
        return addresses.Answer(None, None, "The signing secret cannot be read (encryption "
                                "key changed): rotate the secret.", 0)
    body = body_of(row.payload)
    return addresses.post(row.url, body, signed(secret, row.event_id, body))


def record(row, token: str, answer: addresses.Answer, now: datetime | None = None) -> str:
    """Write one outcome while the claim is ours; returns the delivery's new status, or
    "lost" when the claim was taken back meanwhile (nothing written)."""
    now = now or clock.now()
    values = {"lease": None, "last_status_code": answer.status,
              "last_error": answer.error}
    ok = answer.status is not None and 200 <= answer.status < 300
    gone = answer.status == 410
    first = row.first_attempt_at or now
    if ok:
        status, values = "delivered", {**values, "delivered_at": now}
    elif gone or now >= first + retry_window():
        status = "failed"
    else:
        status = "pending"
        later = min(now + timedelta(seconds=backoff(row.attempts)), first + retry_window())
        values["next_attempt_at"] = later
    if answer.error is None and not ok:
        values["last_error"] = f"HTTP {answer.status}"
    with tenant_context(row.tenant_id):
        written = db.session.execute(
            update(WebhookDelivery.__table__)
            .where(D.id == row.id, D.status == "delivering", D.lease == token)
            .values(status=status, **values)).rowcount
        if not written:
            db.session.rollback()
            return "lost"
        db.session.execute(insert(WebhookAttempt.__table__).values(
            tenant_id=row.tenant_id, delivery_id=row.id, attempted_at=now,
            status_code=answer.status, duration_ms=answer.duration_ms, error=answer.error,
            response_excerpt=answer.excerpt))
        _subscription_after(row.subscription_id, ok, gone, now)
        db.session.commit()
    return status


def _subscription_after(subscription_id: int, ok: bool, gone: bool, now: datetime) -> None:
    from saas.outbound.notices import disable

    if ok:
        db.session.execute(update(WebhookSubscription.__table__)
                           .where(S.id == subscription_id, S.failing_since.is_not(None))
                           .values(failing_since=None))
        return
    if gone:
        disable(subscription_id, "gone", now)
        return
    db.session.execute(update(WebhookSubscription.__table__)
                       .where(S.id == subscription_id, S.failing_since.is_(None))
                       .values(failing_since=now))
    since = db.session.execute(select(S.failing_since).where(S.id == subscription_id)).scalar()
    if since is not None and now - since >= retry_window():
        disable(subscription_id, "failing", now)


def _send_in(app, row) -> addresses.Answer:
    with app.app_context():
        return send(row)


def deliver_once(limit: int | None = None) -> int:
    """Claim one batch, make its calls at once (one thread each: a batch takes about one
    timeout, well within its lease, however slow its receivers), then record each outcome;
    returns how many were claimed."""
    limit = limit or int(_config("OUTBOUND_WEBHOOK_BATCH"))
    token, rows = claim(limit)
    if not rows:
        return 0
    app = current_app._get_current_object()
    with ThreadPoolExecutor(max_workers=len(rows)) as pool:
        answers = list(pool.map(lambda row: _send_in(app, row), rows))
    for row, answer in zip(rows, answers, strict=True):
        record(row, token, answer)
    return len(rows)


def deliver_due(budget: float | None = None) -> int:
    """The delivery job (RQ entry point): batches until none is due or the budget is spent."""
    budget = JOB_BUDGET if budget is None else budget
    started, total = time.monotonic(), 0
    while time.monotonic() - started < budget:
        claimed = deliver_once()
        total += claimed
        if not claimed:
            break
    db.session.remove()
    return total


def any_due(now: datetime | None = None) -> bool:
    return db.session.execute(select(D.id).where(
        D.status.in_(("pending", "delivering")),
        D.next_attempt_at <= (now or clock.now())).limit(1)
        .execution_options(all_tenants=True)).first() is not None


def enqueue() -> bool:
    """A delivery job unless one is queued (called after commit); False when Redis is away
    (the next tick enqueues it)."""
    try:
        Queue(QUEUE, connection=get_redis()).enqueue(
            deliver_due, job_id=JOB_ID, unique=True, result_ttl=0, failure_ttl=60,
            job_timeout=JOB_BUDGET * 3 + 60)
        return True
    except DuplicateJobError:
        return False
    except RedisError:
        log.warning("could not enqueue webhook deliveries; the next tick will", exc_info=True)
        return False


def periodic() -> None:
    """The tick's part: a delivery job when something is due; the retention purge hourly."""
    due = any_due()
    db.session.rollback()
    if due:
        enqueue()
    try:
        if get_redis().set(RETENTION_GATE, "1", nx=True, ex=3600):
            purge_delivered()
    except RedisError:
        log.warning("webhook retention skipped (Redis)", exc_info=True)


def purge_delivered(now: datetime | None = None, batch: int = 5000, rounds: int = 20) -> int:
    """Delivered rows older than OUTBOUND_WEBHOOK_RETENTION_DAYS are deleted (their attempts
    with them), in batches that never wait for a locked row."""
    cutoff = (now or clock.now()) - timedelta(days=_config("OUTBOUND_WEBHOOK_RETENTION_DAYS"))
    deleted = 0
    for _round in range(rounds):
        old = (select(D.id).where(D.status == "delivered", D.created_at < cutoff)
               .limit(batch).execution_options(all_tenants=True))
        if db.engine.dialect.name != "sqlite":
            old = old.with_for_update(skip_locked=True)
        ids = list(db.session.execute(old).scalars())
        if ids:
            everyone = {"all_tenants": True}  # the ids were chosen across tenants above
            db.session.execute(WebhookAttempt.__table__.delete()
                               .where(WebhookAttempt.__table__.c.delivery_id.in_(ids)),
                               execution_options=everyone)
            db.session.execute(WebhookDelivery.__table__.delete().where(D.id.in_(ids)),
                               execution_options=everyone)
        db.session.commit()
        deleted += len(ids)
        if len(ids) < batch:
            break
    return deleted
