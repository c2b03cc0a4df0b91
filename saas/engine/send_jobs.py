"""Sending off the tick: automated emails and texts go out in send jobs, one per tenant at a time.

The tick moves sequences on; it never calls a provider (with SENDS_OFF_TICK, the default outside
tests). For each tenant with due sends it enqueues `send_due(tenant)` on the `sends` queue under
the job id `send-<tenant>`: a tenant has at most one send job queued or running, so its provider's
slowness or rate limit (backoff per tenant, in `sends.deliver`) delays only its own messages,
and another tenant's steps and sends go on. The job claims its tenant's due sends itself
(FOR UPDATE SKIP LOCKED of the run and its active enrollment, windows and daily caps applied by
`caps.claim_sends`, committed with a claim token and a lease), then delivers them with no lock
held (`sends.deliver`), batch after batch, within SEND_JOB_BUDGET seconds; what is left is found
again by the next tick. A job lost with Redis costs nothing: nothing was claimed before it ran,
and the next tick enqueues it again; a job whose worker died leaves its claims to their lease
(`uncertain.recover_stale`) and is replaced.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import DuplicateJobError, InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select, text

from saas.engine import clock, hooks
from saas.engine.caps import SEND_TYPES, claim_sends
from saas.engine.models import Enrollment, StepRun
from saas.engine.turns import rotated
from saas.extensions import db, get_redis
from saas.tenancy import tenant_context

log = logging.getLogger(__name__)
QUEUE = "sends"

# One probe per tenant with pending sends (a loose scan of ix_step_run_tenant_sends).
TENANTS_WITH_SENDS = text("""
WITH RECURSIVE earliest AS (
    (SELECT tenant_id, due_at FROM step_run WHERE status = 'pending' AND due_at IS NOT NULL
     ORDER BY tenant_id, due_at LIMIT 1)
    UNION ALL
    SELECT later.tenant_id, later.due_at FROM earliest, LATERAL (
        SELECT tenant_id, due_at FROM step_run
        WHERE status = 'pending' AND due_at IS NOT NULL AND tenant_id > earliest.tenant_id
        ORDER BY tenant_id, due_at LIMIT 1) later
)
SELECT tenant_id FROM earliest WHERE due_at <= :now
""")
TENANTS_WITH_SENDS_SQLITE = text("""
SELECT DISTINCT tenant_id FROM step_run
WHERE status = 'pending' AND due_at IS NOT NULL AND due_at <= :now
""")


def off_tick() -> bool:
    return bool(current_app.config.get("SENDS_OFF_TICK"))


def tenants_with_sends(now: datetime) -> list[int]:
    query = (TENANTS_WITH_SENDS_SQLITE if db.engine.dialect.name == "sqlite"
             else TENANTS_WITH_SENDS)
    return sorted(db.session.execute(query, {"now": now}).scalars())


def job_id(tenant_id: int) -> str:
    return f"send-{tenant_id}"


def enqueue_sends(tenant_ids: list[int]) -> int:
    """A send job for each of these tenants, unless one is queued or running; returns how many
    were enqueued. Which tenants already have one is read in one Redis round trip (a pipeline of
    their jobs' statuses), so thousands of tenants cost a tick milliseconds, and at most
    SEND_JOBS_PER_TICK are enqueued per tick (the tick's rotating order takes the rest next)."""
    if not tenant_ids:
        return 0
    limit = int(current_app.config["SEND_JOBS_PER_TICK"])
    try:
        redis = get_redis()
        queue = Queue(QUEUE, connection=redis)
        pipe = redis.pipeline(transaction=False)
        for tenant_id in tenant_ids:
            pipe.hget(Job.key_for(job_id(tenant_id)), "status")
        statuses = pipe.execute()
        enqueued = 0
        for tenant_id, status in zip(tenant_ids, statuses, strict=True):
            if enqueued >= limit:
                break
            if status in WAITING:  # queued: it will run
                continue
            if _enqueue(queue, tenant_id):
                enqueued += 1
        return enqueued
    except RedisError:
        log.warning("could not enqueue send jobs; the next tick will", exc_info=True)
        return 0


WAITING = {s.value.encode() for s in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED)}


def _enqueue(queue: Queue, tenant_id: int) -> bool:
    budget = _budget()
    for attempt in range(2):
        try:
            queue.enqueue(send_due, tenant_id, job_id=job_id(tenant_id), unique=True,
                          job_timeout=int(budget * 3 + 60), result_ttl=0, failure_ttl=60)
            return True
        except DuplicateJobError:
            if attempt or not _replaceable(queue, tenant_id, budget):
                return False
    return False


def _replaceable(queue: Queue, tenant_id: int, budget: float) -> bool:
    """The existing job for this tenant is over (failed, stopped) or its worker died (no
    heartbeat for a while): drop it so a new one can take its place."""
    try:
        job = Job.fetch(job_id(tenant_id), connection=queue.connection)
    except NoSuchJobError:
        return True
    try:
        status = job.get_status(refresh=True)
    except InvalidJobOperation:  # it ended and was removed between the two reads: gone
        return True
    if status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
        return False
    if status == JobStatus.STARTED:
        beat = job.last_heartbeat
        if beat is None:
            return False
        from saas.timeutil import utcnow

        stale = utcnow().replace(tzinfo=None) - beat.replace(tzinfo=None)
        floor = float(current_app.config["SEND_JOB_STALE"])
        if stale < timedelta(seconds=max(floor, budget * 2)):  # the job stops at its budget
            return False
    job.delete()
    return True


def _budget() -> float:
    return float(current_app.config["SEND_JOB_BUDGET"])


def claim_due_sends(tenant_id: int, now: datetime, limit: int) -> list:
    """Lock up to `limit` due sends of active enrollments of the tenant, oldest first."""
    stmt = (select(StepRun.id, StepRun.enrollment_id)
            .join(Enrollment, Enrollment.id == StepRun.enrollment_id)
            .where(StepRun.tenant_id == tenant_id, StepRun.status == "pending",
                   StepRun.step_type.in_(SEND_TYPES), StepRun.due_at <= now,
                   Enrollment.status == "active")
            .order_by(StepRun.due_at).limit(limit))
    if db.engine.dialect.name != "sqlite":
        stmt = stmt.with_for_update(of=(StepRun, Enrollment), skip_locked=True)
    return db.session.execute(stmt).all()


def send_due(tenant_id: int, budget: float | None = None) -> dict:
    """The send job (RQ entry point, ids in): claim and deliver the tenant's due sends, batch
    after batch, until none is due or the budget is spent."""
    from saas.engine.sends import deliver, new_token

    budget = _budget() if budget is None else budget
    started = time.monotonic()
    batch = int(current_app.config["SEND_CHUNK"]) * 4
    totals = {"claimed": 0, "sent": 0, "deferred": 0}
    with tenant_context(tenant_id):
        while time.monotonic() - started < budget:
            now = clock.now()
            rows = claim_due_sends(tenant_id, now, batch)
            if not rows:
                db.session.rollback()
                break
            token = new_token()
            claimed, deferred = claim_sends(tenant_id, rows, now, token)
            db.session.commit()
            totals["claimed"] += len(claimed)
            totals["deferred"] += deferred
            if claimed:
                hooks.at("after_claim", run_ids=claimed)
                totals["sent"] += deliver(claimed, token)
            if len(rows) < batch and not claimed:
                break
        db.session.remove()
    return totals


def enqueue_due(now: datetime) -> int:
    """The tick's part: a send job for every tenant with due sends, in the tick's rotating
    order."""
    tenant_ids = rotated(tenants_with_sends(now))
    db.session.rollback()
    return enqueue_sends(tenant_ids)
