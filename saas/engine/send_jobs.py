"""Sending off the tick: automated emails and texts go out in send sweeps on the `sends` queue.

The tick moves sequences on; it never calls a provider (with SENDS_OFF_TICK, the default outside
tests). The tenants are split into SEND_SWEEP_SHARDS shards by id (`shard_of`); for each shard
with a tenant whose sends are due, the tick enqueues `send_sweeps.send_sweep(shard)` under the
job id `send-sweep-<shard>` (RQ `unique`): a shard has at most one sweep queued or running, so a
tenant is never served by two at once. The sweep gives each of its tenants with due sends a turn
(`send_for`): it claims that tenant's due sends itself (FOR UPDATE SKIP LOCKED of the run and its
active enrollment, a statement naming that one tenant; windows and daily caps applied by
`caps.claim_sends`, committed with a claim token and a lease), then delivers them with no lock
held (`sends.deliver`, with that tenant's backoff on a 429), batch after batch for its slice
(in SEND_TENANT_LANES lanes at once when more than a batch is due, sharing the turn's provider
calls); several tenants at once, each with its own provider calls, so one tenant's slow or
failing provider delays only its own messages. A sweep lost with Redis costs nothing: nothing
is claimed before a turn, and the next tick enqueues it again; a sweep whose worker died leaves
its claims to their lease (`uncertain.recover_stale`) and is replaced.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import DuplicateJobError, InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select, text

from saas.auth.models import Tenant
from saas.engine import clock, hooks
from saas.engine.caps import SEND_TYPES, claim_sends
from saas.engine.models import Enrollment, StepRun
from saas.engine.parallel import in_own_session
from saas.extensions import db, get_redis
from saas.messaging.batch import calls_on, calls_pool
from saas.messaging.config import config_of
from saas.records.models import Record
from saas.sequences.models import Sequence
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


def tenants_with_sends(now: datetime, shard: int | None = None) -> list[int]:
    """The tenants with due sends at `now` (of one shard), in id order."""
    query = (TENANTS_WITH_SENDS_SQLITE if db.engine.dialect.name == "sqlite"
             else TENANTS_WITH_SENDS)
    tenant_ids = db.session.execute(query, {"now": now}).scalars()
    return sorted(t for t in tenant_ids if shard is None or shard_of(t) == shard)


def shard_of(tenant_id: int) -> int:
    """The send sweep that serves this tenant (of SEND_SWEEP_SHARDS): its id's hash, stable.
    A multiplicative hash's high bits, not the id modulo the shards: ids that go up by a
    common step (a sequence with an increment, tenants made in batches) would all land in one
    shard (measured: bench_tenants' ids, 1,000 apart, all went to one sweep of two)."""
    return ((tenant_id * _GOLDEN) & 0xFFFFFFFF) * _shards() >> 32


_GOLDEN = 0x9E3779B1  # 2^32 / the golden ratio, odd: Knuth's multiplicative hash


def _shards() -> int:
    return int(current_app.config["SEND_SWEEP_SHARDS"])


def job_id(shard: int) -> str:
    """One job id per shard: a shard's sweeps never overlap (RQ `unique`)."""
    return f"send-sweep-{shard}"


def enqueue_sweeps(shards) -> int:
    """A send sweep for each of these shards, unless one is queued or running; returns how many
    were enqueued. Which already have one is read in one pipelined Redis round trip."""
    shards = sorted(set(shards))
    if not shards:
        return 0
    try:
        redis = get_redis()
        queue = Queue(QUEUE, connection=redis)
        pipe = redis.pipeline(transaction=False)
        for shard in shards:
            pipe.hget(Job.key_for(job_id(shard)), "status")
        statuses = pipe.execute()
        return sum(1 for shard, status in zip(shards, statuses, strict=True)
                   if status not in WAITING and _enqueue(queue, shard))
    except RedisError:
        log.warning("could not enqueue send sweeps; the next tick will", exc_info=True)
        return 0


def enqueue_for(tenant_ids) -> int:
    """The sweeps that serve these tenants (the tick, after a round that moved them on)."""
    return enqueue_sweeps({shard_of(t) for t in tenant_ids})


WAITING = {s.value.encode() for s in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED)}


SWEEP = "saas.engine.send_sweeps.send_sweep"  # by name: send_sweeps builds on this module


def _enqueue(queue: Queue, shard: int) -> bool:
    budget = _budget()
    for attempt in range(2):
        try:
            queue.enqueue(SWEEP, shard, job_id=job_id(shard), unique=True,
                          job_timeout=int(budget * 3 + 60), result_ttl=0, failure_ttl=60)
            return True
        except DuplicateJobError:
            if attempt or not _replaceable(queue, shard, budget):
                return False
    return False


def _replaceable(queue: Queue, shard: int, budget: float) -> bool:
    """The shard's existing job is over (failed, stopped) or its worker died (no heartbeat for
    a while): drop it so a new one can take its place."""
    try:
        job = Job.fetch(job_id(shard), connection=queue.connection)
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
    """Lock up to `limit` due sends of active enrollments of the tenant, oldest first, with what
    `caps.claim_sends` reads of each (its record's zone and address, its sequence's settings:
    read here, not in two more statements). Only the runs and their enrollments are locked."""
    stmt = (select(StepRun.id, StepRun.enrollment_id, StepRun.seller_id, StepRun.sequence_id,
                   StepRun.step_type, StepRun.sender, Record.time_zone, Record.email,
                   Sequence.settings)
            .join(Enrollment, Enrollment.id == StepRun.enrollment_id)
            .join(Record, Record.id == StepRun.record_id)
            .join(Sequence, Sequence.id == StepRun.sequence_id)
            .where(StepRun.tenant_id == tenant_id, StepRun.status == "pending",
                   StepRun.step_type.in_(SEND_TYPES), StepRun.due_at <= now,
                   Enrollment.status == "active")
            .order_by(StepRun.due_at).limit(limit))
    if db.engine.dialect.name != "sqlite":
        stmt = stmt.with_for_update(of=(StepRun, Enrollment), skip_locked=True)
    return db.session.execute(stmt).all()


def send_for(tenant_id: int, until: float, batch: int) -> dict:
    """Claim and deliver the due sends of the tenant in context, `batch` at a time, until none
    is due or `until` (time.monotonic()) passes; what is left waits for the next turn. Each
    claim names this one tenant (FOR UPDATE SKIP LOCKED of the run and its active enrollment)
    and commits before delivery; delivery holds no lock (`sends.deliver`).

    A tenant whose first claim took a whole batch (more are due) is served by SEND_TENANT_LANES
    lanes at once, each with its own connection, claiming and delivering batch after batch:
    while one lane waits for the database another composes. The claims stay disjoint (SKIP
    LOCKED, each with its own token), the senders' caps are counted under the sender's row lock
    as across sweeps, and the lanes share the turn's provider calls, so the tenant's concurrency
    is unchanged."""
    first = _Lane(tenant_id, until, batch)
    if not first.step():
        return first.totals
    extra = _lanes() - 1
    if extra < 1:
        while first.step():
            pass
        return first.totals
    pool = calls_pool()

    def other() -> dict:
        lane = _Lane(tenant_id, until, batch)
        with calls_on(pool) if pool is not None else nullcontext():
            while lane.step():
                pass
        return lane.totals

    with ThreadPoolExecutor(extra, thread_name_prefix="send-lane") as lanes:
        others = [lanes.submit(in_own_session(other, tenant_id)) for _ in range(extra)]
        try:
            while first.step():
                pass
        finally:
            results = [future.result() for future in others]
    for totals in results:
        for key, value in totals.items():
            first.totals[key] += value
    return first.totals


def _lanes() -> int:
    if db.engine.dialect.name == "sqlite":  # one writer
        return 1
    return max(1, int(current_app.config["SEND_TENANT_LANES"]))


class _Lane:
    """One lane of a tenant's turn: a claim of `batch` due sends and their delivery per step."""

    def __init__(self, tenant_id: int, until: float, batch: int):
        self.tenant_id, self.until, self.batch = tenant_id, until, batch
        self.totals = {"claimed": 0, "sent": 0, "deferred": 0}
        self.kept = None  # the Deliveries read with the first claim, kept for the others

    def step(self) -> bool:
        """One claim and its delivery; whether to go on (a whole batch taken, time left)."""
        from saas.engine.sends import Deliveries, deliver, new_token

        now = clock.now()
        rows = claim_due_sends(self.tenant_id, now, self.batch)
        if not rows:
            db.session.rollback()
            return False
        token = new_token()
        tenant = db.session.execute(
            select(Tenant).where(Tenant.id == self.tenant_id)).scalar_one()
        claimed, deferred = claim_sends(self.tenant_id, rows, now, token, details=True,
                                        tenant=tenant)
        if claimed and self.kept is None:  # from the tenant the claim read (one read, not two)
            self.kept = Deliveries(config=config_of(tenant))
        db.session.commit()
        self.totals["claimed"] += len(claimed)
        self.totals["deferred"] += deferred
        if claimed:
            hooks.at("after_claim", run_ids=claimed)
            self.totals["sent"] += deliver(claimed, token, self.kept)
        # all due taken, or its time is up
        return len(rows) >= self.batch and time.monotonic() < self.until


def send_due(tenant_id: int, budget: float | None = None) -> dict:
    """One tenant's due sends now (RQ entry point of the per-tenant send jobs that came before
    the sweeps, kept so that such a job still in Redis runs; ids in), within `budget`."""
    budget = _budget() if budget is None else budget
    batch = int(current_app.config["SEND_CHUNK"])
    with tenant_context(tenant_id):
        try:
            return send_for(tenant_id, time.monotonic() + budget, batch)
        finally:
            db.session.remove()


def enqueue_due(now: datetime) -> int:
    """The tick's part: a sweep for every shard that has a tenant with due sends."""
    tenant_ids = tenants_with_sends(now)
    db.session.rollback()
    return enqueue_for(tenant_ids)
