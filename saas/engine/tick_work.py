"""Which tenants a tick has work for, by kind, in one index-backed query: idle tenants cost a
tick nothing, and each kind of upkeep runs only for the tenants that have it."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import text

from saas.extensions import db
from saas.timeutil import utcnow


def _is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


# The tenants a tick has something to do for, one index-backed query, so that idle tenants cost
# nothing: due step runs of active enrollments (process_batch), sends left `sending` past the
# lease (recover_stale), unconsumed segment events (consume_segment_events) and connect jobs
# queued long enough to have been forgotten (requeue_forgotten). Due runs: a loose index scan of
# ix_step_run_tenant_due (one probe per tenant that has waiting or pending runs at all: its first
# entry is its earliest due time), then one probe confirming an active enrollment's run is due
# (a paused enrollment's overdue runs are no work). With sends off the tick (SENDS_OFF_TICK) a
# pending send is the send sweeps' work, not the tick's: only a due waiting run makes a tenant
# due (else the tick would visit, and claim nothing from, every tenant with an email due).
# PostgreSQL; SQLite checks each tenant.
TENANTS_WITH_WORK = text("""
WITH RECURSIVE earliest AS (
    (SELECT tenant_id, due_at FROM step_run WHERE status IN ('waiting', 'pending')
     ORDER BY tenant_id, due_at LIMIT 1)
    UNION ALL
    SELECT later.tenant_id, later.due_at FROM earliest, LATERAL (
        SELECT tenant_id, due_at FROM step_run
        WHERE status IN ('waiting', 'pending') AND tenant_id > earliest.tenant_id
        ORDER BY tenant_id, due_at LIMIT 1) later
),
pending_events AS (  -- a skip scan of ix_segment_event_pending_tenant: one probe per tenant
    (SELECT tenant_id FROM segment_event WHERE consumed_at IS NULL ORDER BY tenant_id LIMIT 1)
    UNION ALL
    SELECT later.tenant_id FROM pending_events, LATERAL (
        SELECT tenant_id FROM segment_event
        WHERE consumed_at IS NULL AND tenant_id > pending_events.tenant_id
        ORDER BY tenant_id LIMIT 1) later
)
SELECT earliest.tenant_id, 'due' AS kind FROM earliest CROSS JOIN LATERAL (
    SELECT 1 FROM step_run sr JOIN enrollment e ON e.id = sr.enrollment_id
    WHERE sr.tenant_id = earliest.tenant_id AND sr.status IN ('waiting', 'pending')
      AND sr.due_at <= :now AND e.status = 'active' AND (:sends OR sr.status = 'waiting')
    LIMIT 1) active
WHERE earliest.due_at <= :now
UNION
SELECT DISTINCT tenant_id, 'stale' FROM step_run WHERE status = 'sending' AND started_at < :stale
UNION
SELECT tenant_id, 'segment' FROM pending_events
UNION
SELECT DISTINCT tenant_id, 'jobs' FROM connect_job
WHERE status = 'queued' AND created_at < :forgotten
UNION
SELECT DISTINCT tenant_id, 'jobs' FROM connect_job
WHERE status = 'running' AND coalesce(heartbeat_at, created_at) < :stalled
""")

TENANTS_WITH_WORK_SQLITE = text("""
SELECT DISTINCT sr.tenant_id, 'due' FROM step_run sr JOIN enrollment e ON e.id = sr.enrollment_id
WHERE sr.status IN ('waiting', 'pending') AND sr.due_at <= :now AND e.status = 'active'
  AND (:sends OR sr.status = 'waiting')
UNION
SELECT DISTINCT tenant_id, 'stale' FROM step_run WHERE status = 'sending' AND started_at < :stale
UNION
SELECT DISTINCT tenant_id, 'segment' FROM segment_event WHERE consumed_at IS NULL
UNION
SELECT DISTINCT tenant_id, 'jobs' FROM connect_job
WHERE (status = 'queued' AND created_at < :forgotten)
   OR (status = 'running' AND coalesce(heartbeat_at, created_at) < :stalled)
""")


def work_by_kind(now: datetime) -> dict[str, set[int]]:
    """{kind: tenant ids} of the work at `now` (engine clock): `due` runs, `stale` sends,
    `segment` events, connect `jobs` to requeue; see TENANTS_WITH_WORK."""
    from saas.engine.connect_job import FORGOTTEN_AFTER, STALLED_AFTER
    from saas.engine.send_jobs import off_tick
    from saas.engine.send_moves import lease_seconds

    params = {"now": now, "sends": not off_tick(),
              "stale": now - timedelta(seconds=lease_seconds()),
              "forgotten": utcnow() - timedelta(seconds=FORGOTTEN_AFTER),
              "stalled": utcnow() - timedelta(seconds=STALLED_AFTER)}
    query = TENANTS_WITH_WORK_SQLITE if _is_sqlite() else TENANTS_WITH_WORK
    kinds: dict[str, set[int]] = defaultdict(set)
    for tenant_id, kind in db.session.execute(query, params).all():
        kinds[kind].add(tenant_id)
    return kinds


def tenants_with_work(now: datetime) -> list[int]:
    """The tenants with any work at `now` (engine clock), in id order."""
    return sorted(set().union(*work_by_kind(now).values()))
