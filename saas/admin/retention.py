"""Retention: old operational rows are purged or blanked by a periodic job, tenant by tenant, so
tables don't grow forever while the figures people read stay the same.

How long each kind is kept is the tenant's choice, in days, in `tenant.settings["retention"]`
(`{"outbox": 30, ...}`), read through `retention_days`: a missing or invalid value (not a whole
number from MIN_DAYS to MAX_DAYS) counts as the default, DEFAULT_DAYS, explained in the README.

- `segment_events`: consumed segment join/leave events (the engine's feed) are deleted, by the
  time they were consumed. Unconsumed ones are work still to do and are never touched.
- `message_event_payloads`: a message event's address, url and data (the provider's payload, a
  reply's text, the link clicked) are blanked, by the time it occurred. The row stays, with its
  kind, step run and time: all that analytics, conditions, exits and A/B tests read.
- `outbox`: messages kept for viewing in Settings -> Outbox are deleted.
- `audit_log`: audit events are deleted.
- `step_run_detail`: a completed, sent, skipped or cancelled step run's notes and error are
  blanked, by the time it finished. Step runs are never deleted (they are the sequence's history
  and its figures); a failed run keeps its reason.

The job: `periodic` (a TICK_TASKS entry) enqueues `run_job` at most every RETENTION_SECONDS
(default 3600) whatever the number of workers (Redis SET NX EX), so the tick never waits behind
it. `run` finds, for each kind in one statement (one index probe per tenant), the tenants with
rows older than their own cutoff, then goes round-robin in a shuffled order: one batch of
RETENTION_BATCH rows (default 5,000) per tenant and kind per round, each its own transaction,
until nothing is left or RETENTION_BUDGET_SECONDS (default 300) are spent; what is left waits
for the next run. A batch is `WITH batch AS MATERIALIZED (SELECT id ... WHERE tenant_id = :t
... LIMIT n FOR UPDATE SKIP LOCKED) DELETE/UPDATE ... WHERE id IN (SELECT id FROM batch)`: one
tenant, at most n rows, and it never waits for a row someone else holds (no deadlock with the
engine's lock order). PostgreSQL only (as the doctor).
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import DuplicateJobError
from sqlalchemy import (
    ARRAY,
    DateTime,
    Integer,
    Table,
    bindparam,
    cast,
    delete,
    exists,
    func,
    select,
    text,
    update,
)

from saas.admin import audit
from saas.admin.models import AuditEvent
from saas.auth.models import Tenant
from saas.engine.models import FINISHED_WITH_DETAIL, StepRun
from saas.errors import ServiceError
from saas.extensions import db, get_redis
from saas.i18n import _
from saas.messaging.models import EVENT_PAYLOAD, MessageEvent, OutboxMessage
from saas.segments.models import SegmentEvent
from saas.tenancy import current_tenant_id, tenant_context
from saas.timeutil import utcnow
from saas.web.numbers import format_number

log = logging.getLogger(__name__)
SETTINGS_KEY = "retention"
GATE_KEY = "saas:admin:retention:last"
REPORT_KEY = "saas:admin:retention:report"
JOB_ID = "retention"
QUEUE = "default"
MIN_DAYS, MAX_DAYS = 1, 3650
DEFAULT_DAYS = {
    "segment_events": 30,
    "message_event_payloads": 180,
    "outbox": 90,
    "audit_log": 365,
    "step_run_detail": 365,
}


@dataclass(frozen=True)
class Kind:
    """One kind of row the job deletes (`blank` empty) or blanks (`blank`: the columns' values)."""

    name: str
    table: Table
    age: str      # the column whose time is compared with the tenant's cutoff
    where: str | None = None  # which rows qualify besides their age (their partial index's)
    blank: dict = field(default_factory=dict)

    def _old(self, tenant, cutoff) -> list:
        old = [self.table.c.tenant_id == tenant, self.table.c[self.age] < cutoff]
        return [*old, text(f"({self.where})")] if self.where else old

    @property
    def tenants_with_work(self):
        """The tenants (of :ids, each with its :cutoffs) that have at least one such row."""
        given = func.unnest(cast(bindparam("ids"), ARRAY(Integer)),
                            cast(bindparam("cutoffs"), ARRAY(DateTime(timezone=True)))) \
            .table_valued("id", "cutoff").render_derived(name="t")
        return select(given.c.id).where(
            exists().where(*self._old(given.c.id, given.c.cutoff))) \
            .execution_options(all_tenants=True)  # it names each tenant itself

    @property
    def batch(self):
        """One batch of one tenant's old rows, taken without waiting for anybody's lock."""
        tenant = bindparam("tenant")
        # Materialized: a LIMIT subquery inside IN may be rescanned per row (a semi-join), and
        # each rescan locks and returns other rows, so a batch would not be one batch.
        rows = select(self.table.c.id).where(*self._old(tenant, bindparam("cutoff"))) \
            .limit(bindparam("limit")).with_for_update(skip_locked=True) \
            .cte("batch").prefix_with("MATERIALIZED")
        change = delete(self.table) if not self.blank else \
            update(self.table).values(**self.blank)
        return change.where(self.table.c.tenant_id == tenant,
                            self.table.c.id.in_(select(rows.c.id)))


KINDS = (
    Kind("segment_events", SegmentEvent.__table__, "consumed_at", "consumed_at IS NOT NULL"),
    Kind("message_event_payloads", MessageEvent.__table__, "occurred_at", EVENT_PAYLOAD,
         blank={"address": None, "url": None, "data": {}}),
    Kind("outbox", OutboxMessage.__table__, "created_at"),
    Kind("audit_log", AuditEvent.__table__, "created_at"),
    Kind("step_run_detail", StepRun.__table__, "completed_at", FINISHED_WITH_DETAIL,
         blank={"notes": None, "error": None}),
)


def _valid_days(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and MIN_DAYS <= value <= MAX_DAYS


def retention_days(settings: dict | None) -> dict[str, int]:
    """Days kept per kind from a tenant's settings: its own where valid, else the default."""
    own = (settings or {}).get(SETTINGS_KEY)
    own = own if isinstance(own, dict) else {}
    return {name: own[name] if _valid_days(own.get(name)) else default
            for name, default in DEFAULT_DAYS.items()}


def set_retention(days: dict[str, int]) -> dict[str, int]:
    """The current tenant keeps each kind named in `days` that many days (the others as they
    were); returns the resulting days. A bad name or value changes nothing (ServiceError)."""
    for name, value in days.items():
        if name not in DEFAULT_DAYS:
            raise ServiceError(_("Unknown retention setting: %(name)s.", name=name), field=name)
        if not _valid_days(value):
            raise ServiceError(_("Keep between %(low)s and %(high)s days (whole days).",
                                 low=format_number(MIN_DAYS), high=format_number(MAX_DAYS)),
                               field=name)
    tenant = db.session.execute(select(Tenant).where(Tenant.id == current_tenant_id())
                                .with_for_update()).scalar_one()
    settings = dict(tenant.settings or {})
    kept = retention_days(settings)
    kept.update(days)
    settings[SETTINGS_KEY] = kept
    tenant.settings = settings
    audit.record("retention.settings_saved", tenant.name, **days)
    db.session.commit()
    return kept


def _config(name: str) -> int:
    """RETENTION_SECONDS, _BATCH or _BUDGET_SECONDS (saas/config.py: defaults, checked)."""
    return int(current_app.config[name])


def cutoffs(now: datetime) -> dict[int, dict[str, datetime]]:
    """Every tenant's cutoff per kind: rows older than that are purged or blanked."""
    rows = db.session.execute(select(Tenant.id, Tenant.settings[SETTINGS_KEY])).all()
    db.session.rollback()
    result = {}
    for tenant_id, own in rows:
        days = retention_days({SETTINGS_KEY: own})
        result[tenant_id] = {name: now - timedelta(days=n) for name, n in days.items()}
    return result


def pending_work(by_tenant: dict[int, dict[str, datetime]]) -> list[tuple[int, Kind]]:
    """(tenant, kind) for each tenant that has something old of that kind."""
    work = []
    ids = sorted(by_tenant)
    if not ids:
        return work
    for kind in KINDS:
        found = db.session.execute(kind.tenants_with_work, {
            "ids": ids, "cutoffs": [by_tenant[t][kind.name] for t in ids]}).scalars().all()
        work += [(tenant_id, kind) for tenant_id in found]
    db.session.rollback()
    return work


def purge_batch(tenant_id: int, kind: Kind, cutoff: datetime, limit: int) -> int:
    """One batch of one tenant's old rows of one kind, committed; returns the rows done."""
    with tenant_context(tenant_id):
        try:
            done = db.session.execute(kind.batch, {"tenant": tenant_id, "cutoff": cutoff,
                                                   "limit": limit}).rowcount
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    return done


def run(now: datetime | None = None, *, batch: int | None = None,
        budget: float | None = None) -> dict[str, int]:
    """Purge and blank what every tenant keeps no longer, within the budget; returns the rows
    done per kind (and `left`: tenant-kind pairs not finished, carried to the next run)."""
    now = now or utcnow()
    batch = batch or _config("RETENTION_BATCH")
    deadline = time.monotonic() + (budget or _config("RETENTION_BUDGET_SECONDS"))
    by_tenant = cutoffs(now)
    pending = pending_work(by_tenant)
    random.shuffle(pending)  # noqa: S311 - fairness across runs, not security
    report = dict.fromkeys(DEFAULT_DAYS, 0)
    while pending and time.monotonic() < deadline:
        more = []
        for index, (tenant_id, kind) in enumerate(pending):
            if time.monotonic() >= deadline:
                more += pending[index:]
                break
            try:
                done = purge_batch(tenant_id, kind, by_tenant[tenant_id][kind.name], batch)
            except Exception:  # noqa: BLE001 - one tenant's failure never stops the others
                log.exception("retention: %s failed for tenant %s", kind.name, tenant_id)
                continue
            report[kind.name] += done
            if done >= batch:
                more.append((tenant_id, kind))
        pending = more
    report["left"] = len(pending)
    if any(report.values()):
        log.info("retention: %s", report)
    return report


def run_job() -> dict[str, int]:
    """The RQ job (run in the worker's app context)."""
    report = run()
    try:
        get_redis().set(REPORT_KEY, ",".join(f"{k}={v}" for k, v in report.items()))
    except RedisError:
        log.warning("retention: could not keep the report", exc_info=True)
    return report


def periodic() -> bool:
    """The TICK_TASKS entry: enqueue `run_job` at most every RETENTION_SECONDS."""
    if db.engine.dialect.name != "postgresql":
        return False
    every = _config("RETENTION_SECONDS")
    try:
        redis = get_redis()
        if not redis.set(GATE_KEY, f"{time.time():.0f}", nx=True, ex=every):
            return False
        Queue(QUEUE, connection=redis).enqueue(
            run_job, job_id=JOB_ID, unique=True, result_ttl=0, failure_ttl=86400,
            job_timeout=_config("RETENTION_BUDGET_SECONDS") + 600)
        return True
    except DuplicateJobError:
        return False
    except RedisError:
        log.warning("retention: could not enqueue the job", exc_info=True)
        return False


def last_report() -> dict[str, int]:
    raw = get_redis().get(REPORT_KEY)
    if not raw:
        return {}
    return {k: int(v) for k, v in (part.split("=") for part in raw.decode().split(","))}
