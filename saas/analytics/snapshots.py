"""A sequence's day-by-day aggregates (saas.analytics.rollup) kept in Redis for a few minutes,
so a large sequence's page opens at once, for any period and version.

The aggregates are always computed by SQL (a million step runs take one to two seconds of
database time); the snapshot is their small result (a few numbers per step and per day) as JSON,
keyed by tenant and sequence lineage. The page uses a snapshot younger than MAX_AGE and says
when it was computed ("Refresh" recomputes); the periodic job computes the snapshot of every
sequence with running records ahead of people opening it. Losing Redis loses nothing: the page
computes again.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy import select

from saas.analytics import queries, rollup
from saas.engine.models import Enrollment
from saas.extensions import db, get_redis
from saas.i18n import _, ngettext
from saas.sequences.models import Sequence
from saas.tenancy import current_tenant_id, tenant_context
from saas.timeutil import utcnow
from saas.web.numbers import format_number

log = logging.getLogger(__name__)
MAX_AGE = timedelta(minutes=10)
KEY = "saas:analytics:{tenant}:{lineage}"


def _key(sequence: Sequence) -> str:
    return KEY.format(tenant=current_tenant_id(), lineage=queries.lineage_of(sequence))


def compute(sequence: Sequence, now: datetime) -> rollup.Rollup:
    result = rollup.compute(sequence, now)
    try:
        get_redis().set(_key(sequence), json.dumps(result.as_dict()),
                        ex=int(MAX_AGE.total_seconds()))
    except RedisError:
        log.warning("could not keep the analytics snapshot", exc_info=True)
    return result


def current(sequence: Sequence, now: datetime, *, fresh: bool = False) -> rollup.Rollup:
    """A snapshot younger than MAX_AGE, else computed now (and kept)."""
    if not fresh:
        try:
            raw = get_redis().get(_key(sequence))
        except RedisError:
            raw = None
        if raw:
            kept = rollup.Rollup(**json.loads(raw))
            if now - kept.computed < MAX_AGE:
                return kept
    return compute(sequence, now)


def figures(sequence: Sequence, chosen: Sequence, period: queries.Period, now: datetime,
            *, fresh: bool = False):
    """(summary, activity, computed_at) for the page: the snapshot's sums for the period and
    version, with the median and overdue activities read live."""
    kept = current(sequence, now, fresh=fresh)
    summary = rollup.summary(kept, period)
    if summary.completed:
        summary.median_days = queries.median_days_to_complete(queries.cohort(sequence, period))
    activity = queries.Activity(
        rollup.steps(kept, chosen.id, period, queries.overdue(chosen.id, period, now)),
        rollup.timeline(kept, period))
    return summary, activity, kept.computed


def default_version(versions: list[Sequence]) -> Sequence:
    active = [v for v in versions if v.status == "active"]
    return active[-1] if active else versions[-1]


def warm_all_tenants() -> int:
    """Compute the snapshot of every sequence that has running records (the periodic job).
    Returns how many were computed."""
    from saas.engine.abtests import now as engine_now

    pairs = db.session.execute(
        select(Enrollment.tenant_id, Enrollment.lineage_id)
        .where(Enrollment.status.in_(("active", "paused"))).distinct()
        .execution_options(all_tenants=True)).all()
    done = 0
    for tenant_id, lineage_id in sorted(pairs):
        with tenant_context(tenant_id):
            versions = list(db.session.execute(
                select(Sequence).where(Sequence.lineage_id == lineage_id)
                .order_by(Sequence.version)).scalars())
            if versions:
                compute(versions[0], engine_now())
                done += 1
            db.session.commit()
    return done


def age_text(computed_at: datetime, now: datetime | None = None) -> str:
    seconds = max(0, int(((now or utcnow()) - computed_at).total_seconds()))
    if seconds < 60:
        return _("just now")
    return ngettext("%(count)s min ago", "%(count)s min ago", seconds // 60,
                    count=format_number(seconds // 60))
