"""The doctor: a periodic check of the engine's invariants, across tenants, in set-based SQL.

What it looks for, counts and logs, and what it repairs:
- `stranded`: a running (active or paused) enrollment with a seller and no live step run.
  When the run of its current step has ended (completed, sent, failed, skipped), it is moved on
  past that step, down the branch the run took; otherwise it is only counted.
- `doubled`: a running enrollment with more than one live step run (counted, never guessed at).
- `ended_live`: an ended enrollment with a live open/waiting/pending run: cancelled.
- `expired_leases`: `sending` runs past their lease (their worker died mid-chunk): settled as
  the tick does (`recover_stale`: sent when the outbox or an event proves it, pending again when
  nothing left, else unknown), for each tenant that has them.
- `stalled_jobs`: `running` connect jobs whose worker stopped beating: queued again and enqueued
  (`requeue_forgotten`), they go on after their last committed chunk.
`repaired` counts every case repaired (stranded moved on, leases settled, jobs requeued).

A bug left in the engine thus shows up as a figure in the logs (and `last_report`) instead of a
stuck prospect. The tick enqueues it as its own job every DOCTOR_SECONDS (default 300).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import timedelta

from flask import current_app
from sqlalchemy import text

from saas.engine import clock
from saas.extensions import db, get_redis

log = logging.getLogger(__name__)
LAST_RUN_KEY = "saas:engine:doctor:last"
REPORT_KEY = "saas:engine:doctor:report"
ENDED_RUN = ("completed", "sent", "failed", "skipped")

STRANDED = text("""
SELECT e.tenant_id, e.id, e.sequence_id, e.current_step_id, last.status AS run_status,
       last.outcome
FROM enrollment e
LEFT JOIN LATERAL (
    SELECT sr.status, sr.outcome FROM step_run sr
    WHERE sr.enrollment_id = e.id AND sr.step_id = e.current_step_id
    ORDER BY sr.id DESC LIMIT 1) last ON true
WHERE e.status IN ('active', 'paused') AND e.seller_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM step_run sr WHERE sr.enrollment_id = e.id AND sr.status
                  IN ('open', 'waiting', 'pending', 'sending', 'unknown'))
LIMIT :limit
""")
DOUBLED = text("""
SELECT count(*) FROM (
    SELECT sr.enrollment_id FROM step_run sr JOIN enrollment e ON e.id = sr.enrollment_id
    WHERE sr.status IN ('open', 'waiting', 'pending', 'sending', 'unknown')
      AND e.status IN ('active', 'paused')
    GROUP BY sr.enrollment_id HAVING count(*) > 1) doubled
""")
ENDED_LIVE = text("""
UPDATE step_run sr SET status = 'cancelled', completed_at = :now
FROM enrollment e
WHERE e.id = sr.enrollment_id AND sr.status IN ('open', 'waiting', 'pending')
  AND e.status NOT IN ('active', 'paused')
RETURNING sr.id
""")
EXPIRED = text("SELECT count(*) FROM step_run WHERE status = 'sending' AND started_at < :stale")
STALLED = text("""SELECT count(*) FROM connect_job WHERE status = 'running'
                  AND coalesce(heartbeat_at, created_at) < :stalled""")
EXPIRED_TENANTS = text("""SELECT DISTINCT tenant_id FROM step_run
                          WHERE status = 'sending' AND started_at < :stale""")
STALLED_TENANTS = text("""SELECT DISTINCT tenant_id FROM connect_job WHERE status = 'running'
                          AND coalesce(heartbeat_at, created_at) < :stalled""")

# A condition's run takes the branch named by its outcome; any other step goes on to `next`.
BRANCHES = {"yes": "yes", "no": "no"}


def examine(limit: int = 1000) -> dict:
    """One check and repair of every tenant; returns the counts."""
    from saas.engine.connect_job import STALLED_AFTER
    from saas.engine.send_moves import lease_seconds
    from saas.timeutil import utcnow

    now = clock.now()
    params = {"limit": limit, "now": now,
              "stale": now - timedelta(seconds=lease_seconds()),
              "stalled": utcnow() - timedelta(seconds=STALLED_AFTER)}
    report = {
        "doubled": db.session.execute(DOUBLED).scalar_one(),
        "expired_leases": db.session.execute(EXPIRED, params).scalar_one(),
        "stalled_jobs": db.session.execute(STALLED, params).scalar_one(),
        "ended_live": len(db.session.execute(ENDED_LIVE, params).all()),
    }
    db.session.commit()
    stranded = db.session.execute(STRANDED, params).all()
    db.session.rollback()
    report["stranded"] = len(stranded)
    report["repaired"] = _repair(stranded, now) + _settle(params)
    for name, count in report.items():
        if count:
            log.warning("engine doctor: %s %s", count, name)
    return report


def _repair(rows, now) -> int:
    """Move on the stranded enrollments whose current step's run has ended."""
    from saas.engine.bulk import advance_group
    from saas.engine.graph import GraphCache
    from saas.engine.lifecycle import lock_in_order
    from saas.tenancy import tenant_context

    groups: dict[tuple, list[int]] = defaultdict(list)
    for row in rows:
        if row.run_status not in ENDED_RUN:
            continue
        branch = BRANCHES.get(row.outcome or "")
        groups[(row.tenant_id, row.sequence_id, row.current_step_id, branch)].append(row.id)
    repaired = 0
    for (tenant_id, sequence_id, step_id, branch), ids in groups.items():
        with tenant_context(tenant_id):
            try:
                lock_in_order(ids)
                still = db.session.execute(text("""
                    SELECT e.id FROM enrollment e WHERE e.id = ANY(:ids)
                      AND e.status IN ('active', 'paused') AND e.current_step_id = :step
                      AND NOT EXISTS (
                        SELECT 1 FROM step_run sr WHERE sr.enrollment_id = e.id
                          AND sr.status IN ('open', 'waiting', 'pending', 'sending', 'unknown'))
                    """),
                    {"ids": ids, "step": step_id}).scalars().all()
                if still:
                    graph = GraphCache().get(sequence_id)
                    repaired += advance_group(graph, list(still), step_id, branch, now,
                                              counted=False)
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("engine doctor: repair failed for tenant %s", tenant_id)
    return repaired


def _settle(params: dict) -> int:
    """Expired leases settled and stalled connect jobs requeued, tenant by tenant, by the
    tick's own upkeep (compare-and-set, the one lock order: safe while a tick runs)."""
    from saas.engine.connect_job import requeue_forgotten
    from saas.engine.uncertain import recover_stale
    from saas.tenancy import tenant_context

    settled = 0
    for query, work in ((EXPIRED_TENANTS, recover_stale), (STALLED_TENANTS, requeue_forgotten)):
        tenant_ids = db.session.execute(query, params).scalars().all()
        db.session.rollback()
        for tenant_id in tenant_ids:
            with tenant_context(tenant_id):
                try:
                    settled += work(tenant_id)
                except Exception:
                    db.session.rollback()
                    log.exception("engine doctor: %s failed for tenant %s", work.__name__,
                                  tenant_id)
    return settled


def run_job() -> dict:
    """The RQ job (in the worker's app context): examine, and keep the report."""
    report = examine()
    get_redis().set(REPORT_KEY, ",".join(f"{k}={v}" for k, v in report.items()))
    return report


def periodic() -> bool:
    """The TICK_TASKS entry: enqueue the doctor's job at most every DOCTOR_SECONDS, whatever
    the number of workers; it runs as its own job so that it never stretches a tick."""
    from redis.exceptions import RedisError
    from rq import Queue
    from rq.exceptions import DuplicateJobError

    if db.engine.dialect.name != "postgresql":
        return False
    every = float(current_app.config["DOCTOR_SECONDS"])
    try:
        redis = get_redis()
        if not redis.set(LAST_RUN_KEY, f"{time.time():.0f}", nx=True, ex=max(1, int(every))):
            return False
        Queue("default", connection=redis).enqueue(
            run_job, job_id="engine-doctor", unique=True, result_ttl=0, failure_ttl=86400,
            job_timeout=600)
        return True
    except DuplicateJobError:
        return False
    except RedisError:
        log.warning("engine doctor: could not enqueue its job", exc_info=True)
        return False


def last_report() -> dict:
    raw = get_redis().get(REPORT_KEY)
    if not raw:
        return {}
    return {k: int(v) for k, v in (part.split("=") for part in raw.decode().split(","))}
