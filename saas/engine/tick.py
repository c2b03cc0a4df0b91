"""The tick: claims due step runs across tenants and moves them on, in bulk.

Per round, every tenant with due work gets one batch of at most `per_tenant` rows (so one
tenant's million due rows never starve another's ten), claimed with FOR UPDATE SKIP LOCKED on
PostgreSQL (an immediate transaction on SQLite): two ticks running at once never take the same
row. Each batch is processed inside `tenant_context(tenant)` with set-based SQL and committed.
Automated sends go out in send sweeps, each serving the tenants of one shard in turn
(`saas.engine.send_sweeps`, SENDS_OFF_TICK, the default outside tests): the tick only enqueues
them, at its start for the shards with due sends and after each round for the shards of the
tenants it moved on (a wait that ends in an email). In tests (and with SENDS_OFF_TICK off)
the tick claims them itself (pending -> sending, committed) and hands them to `sends.deliver`.
Rounds repeat until nothing is due or the time budget is spent. Only tenants with work are
visited (`tenants_with_work`, index-backed): idle tenants cost a tick nothing. On PostgreSQL the
rounds run in ENGINE_TICK_WORKERS threads (default 2), each with its own connection: one tick
keeps as many database backends busy, exactly as that many ticks running at once would.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select, text, update

from saas.engine import clock, hooks
from saas.engine.bulk import advance_group, decide_email_conditions
from saas.engine.caps import claim_sends
from saas.engine.graph import GraphCache
from saas.engine.models import Enrollment, StepRun
from saas.engine.parallel import database_workers, in_own_session
from saas.engine.segment_feed import consume_segment_events
from saas.engine.send_jobs import enqueue_due, enqueue_for, off_tick
from saas.engine.sends import deliver, new_token
from saas.engine.sql import id_in
from saas.engine.tick_work import tenants_with_work, work_by_kind  # noqa: F401
from saas.engine.turns import rotated
from saas.extensions import db
from saas.sequences.models import StepType
from saas.signals import steps_completed
from saas.tenancy import tenant_context

log = logging.getLogger(__name__)
SEND_TYPES = (StepType.AUTO_EMAIL.value, StepType.AUTO_SMS.value)


def _is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def _begin() -> None:
    if _is_sqlite():
        db.session.connection().exec_driver_sql("BEGIN IMMEDIATE")


def claim_due(tenant_id: int, now: datetime, limit: int) -> list:
    """Lock up to `limit` due runs of active enrollments of one tenant, oldest first."""
    stmt = (select(StepRun.id, StepRun.enrollment_id, StepRun.step_id, StepRun.sequence_id,
                   StepRun.status, StepRun.step_type)
            .join(Enrollment, Enrollment.id == StepRun.enrollment_id)
            .where(StepRun.tenant_id == tenant_id,
                   StepRun.status.in_(("waiting",) if off_tick() else ("waiting", "pending")),
                   StepRun.due_at <= now, Enrollment.status == "active")
            .order_by(StepRun.due_at).limit(limit))
    if not _is_sqlite():
        stmt = stmt.with_for_update(of=(StepRun, Enrollment), skip_locked=True)
    return db.session.execute(stmt).all()


# PostgreSQL: claim and expire the due waits in one statement (the lock and the update are one
# write of each row, not two); the other claimed rows stay locked for the rest of the batch.
# The claim locks each run's enrollment with it, SKIP LOCKED: an enrollment a person is pausing
# or a webhook is ending is left for the next tick, and the tick never waits for a lock, so it
# cannot deadlock with them (see the lock order in saas/engine/__init__.py).
CLAIM_AND_EXPIRE = text("""
WITH claimed AS (
    SELECT sr.id, sr.enrollment_id, sr.step_id, sr.sequence_id, sr.status, sr.step_type
    FROM step_run sr JOIN enrollment e ON e.id = sr.enrollment_id AND e.tenant_id = sr.tenant_id
    WHERE sr.tenant_id = :tenant AND sr.status IN ('waiting', 'pending')
      AND sr.due_at <= :now AND e.status = 'active' AND (:sends OR sr.status = 'waiting')
    ORDER BY sr.due_at LIMIT :limit
    FOR UPDATE OF sr, e SKIP LOCKED
), expired AS (
    UPDATE step_run s SET status = 'completed', completed_at = :now, outcome = 'expired',
                          started_at = coalesce(s.started_at, :now)
    FROM claimed WHERE s.tenant_id = :tenant AND s.id = claimed.id
      AND claimed.step_type = 'wait'
    RETURNING s.id
)
SELECT claimed.*, expired.id IS NOT NULL AS expired
FROM claimed LEFT JOIN expired ON expired.id = claimed.id
""")


def _claim(tenant_id: int, now: datetime, limit: int) -> list:
    if _is_sqlite():
        return claim_due(tenant_id, now, limit)
    return db.session.execute(CLAIM_AND_EXPIRE, {"tenant": tenant_id, "now": now,
                                                 "limit": limit, "sends": not off_tick()}).all()


def process_batch(tenant_id: int, now: datetime, limit: int, graphs: GraphCache) -> dict:
    """Claim and process one batch for the tenant in context; commits."""
    counts = {"claimed": 0, "transitions": 0, "sends": 0, "deferred": 0}
    _begin()
    rows = _claim(tenant_id, now, limit)
    if not rows:
        db.session.rollback()
        return counts
    counts["claimed"] = len(rows)
    sends = []
    groups: dict[tuple[int, int, str], list] = defaultdict(list)
    for row in rows:
        if row.status == "pending" and row.step_type in SEND_TYPES:
            sends.append(row)
        else:
            groups[(row.sequence_id, row.step_id, row.step_type)].append(row)
    if groups:
        hooks.at("before_advance", enrollment_ids=[r.enrollment_id for g in groups.values()
                                                   for r in g])
    for (sequence_id, step_id, step_type), group in groups.items():
        graph = graphs.get(sequence_id)
        ids = [r.enrollment_id for r in group]
        if step_type == StepType.EMAIL_CONDITION.value:
            counts["transitions"] += decide_email_conditions(
                graph, graph.steps[step_id], ids, now, timed_out=True)
            continue
        run_ids = [r.id for r in group if not getattr(r, "expired", False)]
        if run_ids:
            db.session.execute(
                update(StepRun).where(id_in(StepRun.id, run_ids))
                .values(status="completed", completed_at=now, outcome="expired",
                        started_at=func.coalesce(StepRun.started_at, now))
                .execution_options(synchronize_session=False))
        counts["transitions"] += advance_group(graph, ids, step_id, None, now)
        steps_completed.send(None, step_run_ids=[r.id for r in group])
    claimed_sends: list[int] = []
    token = new_token()
    if sends:
        claimed_sends, deferred = claim_sends(tenant_id, sends, now, token)
        counts["deferred"] += deferred
    db.session.commit()
    hooks.at("after_batch", tenant_id=tenant_id)
    if claimed_sends:
        hooks.at("after_claim", run_ids=claimed_sends)
        counts["sends"] += deliver(claimed_sends, token)
    return counts


def run_tick(*, budget_seconds: float | None = None, per_tenant: int | None = None,
             workers: int | None = None) -> dict:
    """One tick: due work of every tenant, fairly, until none is left or the budget is spent.

    With `workers` > 1 (ENGINE_TICK_WORKERS, PostgreSQL only) that many threads, each with its
    own session, run the rounds at once, each claiming batches of per_tenant / workers: the
    same claims as that many ticks running together (FOR UPDATE SKIP LOCKED gives each batch
    rows no other holds; send caps take a per-tenant lock), so a backlog keeps that many
    PostgreSQL backends busy instead of one."""
    config = current_app.config
    budget = budget_seconds if budget_seconds is not None else float(
        config["ENGINE_TICK_BUDGET"])
    per_tenant = per_tenant or int(config["ENGINE_BATCH_PER_TENANT"])
    workers = database_workers(workers)
    started = time.monotonic()
    totals = {"claimed": 0, "transitions": 0, "sends": 0, "deferred": 0, "connected": 0,
              "recovered": 0, "rounds": 0, "failed_tenants": 0, "skipped": 0, "send_jobs": 0}
    with tick_lease() as held:
        if not held:  # another tick is running: one at a time
            totals["skipped"] = 1
            return totals
        kinds = work_by_kind(clock.now())
        db.session.rollback()
        _upkeep(kinds, totals, budget, started)
        if off_tick():  # sends go out in send sweeps, one job per shard of tenants
            totals["send_jobs"] = enqueue_due(clock.now())
        tenant_ids = rotated(sorted(kinds.get("due", ())))
        _run_rounds(tenant_ids, per_tenant, workers, budget, started, totals)
    db.session.remove()
    return totals


def _run_rounds(tenant_ids, per_tenant, workers, budget, started, totals) -> None:
    if workers == 1 or not tenant_ids:
        results = [_rounds(tenant_ids, per_tenant, budget, started)]
    else:
        per_tenant = max(1, per_tenant // workers)  # a round still moves <= per_tenant each
        in_thread = in_own_session(
            lambda _: _rounds(tenant_ids, per_tenant, budget, started))
        with ThreadPoolExecutor(workers, thread_name_prefix="tick") as pool:
            results = list(pool.map(in_thread, range(workers)))
    for counts in results:
        for key, value in counts.items():
            totals[key] = max(totals[key], value) if key == "rounds" else totals[key] + value


def _over(budget: float, started: float) -> bool:
    return time.monotonic() - started >= budget


def _upkeep(kinds: dict[str, set[int]], totals: dict, budget: float, started: float) -> None:
    """Each kind of upkeep only for the tenants that have it, within the budget."""
    from saas.engine.connect_job import requeue_forgotten
    from saas.engine.uncertain import recover_stale

    tasks = [("segment", consume_segment_events, "connected"),
             ("stale", recover_stale, "recovered"), ("jobs", requeue_forgotten, None)]
    for kind, work, counted in tasks:
        for i, tenant_id in enumerate(rotated(sorted(kinds.get(kind, ())))):
            if i and _over(budget, started):  # the rest at the next tick
                break
            with tenant_context(tenant_id):
                done = isolated(tenant_id, work, tenant_id)
            if done is None:
                totals["failed_tenants"] += 1
            elif counted:
                totals[counted] += done


def _rounds(tenant_ids: list[int], per_tenant: int, budget: float, started: float) -> dict:
    """Rounds of one batch per busy tenant, in this thread's session, until none is busy."""
    totals = {"claimed": 0, "transitions": 0, "sends": 0, "deferred": 0, "rounds": 0,
              "failed_tenants": 0, "send_jobs": 0}
    graphs: dict[int, GraphCache] = defaultdict(GraphCache)
    busy = set(tenant_ids)
    first = True
    sweeps = off_tick()
    while busy and (not totals["rounds"] or not _over(budget, started)):
        totals["rounds"] += 1
        now = clock.now()
        moved: list[int] = []  # tenants moved on this round: their next step may be a send
        for tenant_id in [t for t in tenant_ids if t in busy]:
            if _over(budget, started) and not first:  # the budget holds inside a round too
                break
            first = False
            with tenant_context(tenant_id):
                counts = isolated(tenant_id, process_batch, tenant_id, now, per_tenant,
                                  graphs[tenant_id])
            if counts is None:  # this tenant failed: logged, retried next tick
                totals["failed_tenants"] += 1
                busy.discard(tenant_id)
                continue
            for key, value in counts.items():
                totals[key] += value
            if counts["transitions"]:
                moved.append(tenant_id)
            # A batch that moved records on (a failed send too) may have made new work due at
            # once: such a tenant gets another round; one whose claims were all deferred, or
            # that found nothing, is done.
            if counts["claimed"] == counts["deferred"]:
                busy.discard(tenant_id)
        if sweeps and moved:  # at once, not at the next tick: this one may take its budget
            totals["send_jobs"] += enqueue_for(moved)
    return totals


def isolated(tenant_id: int, work, *args):
    """Run one tenant's work; a failure is rolled back, logged and counted (None), and never
    stops the other tenants: the work is found again at the next tick."""
    try:
        return work(*args)
    except Exception:
        db.session.rollback()
        log.exception("tick: tenant %s failed; retried next tick", tenant_id)
        return None


TICK_LOCK = 7_200_000_001  # pg advisory lock key: one tick at a time across workers


@contextmanager
def tick_lease():
    """A PostgreSQL session advisory lock held on its own connection for the whole tick: ticks
    never overlap; a worker that dies drops its connection, and with it the lease, so the next
    tick takes over at once. SQLite (one process): always held."""
    if _is_sqlite():
        yield True
        return
    with db.engine.connect() as conn:
        held = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": TICK_LOCK}).scalar()
        conn.commit()
        try:
            yield bool(held)
        finally:
            if held:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": TICK_LOCK})
                conn.commit()

