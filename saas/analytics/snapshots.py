"""Computed analytics figures kept in Redis for a few minutes, so a large sequence's page opens
at once.

The figures are always computed by the SQL aggregates of `queries` (a million step runs take
about a second of database time); a snapshot is their small result (a few numbers per step and
per day) as JSON, keyed by tenant, lineage, version and period. The page uses a snapshot younger
than MAX_AGE and says when it was computed ("Refresh" recomputes); the periodic job computes the
default view (all time, the active version) of every sequence with running records ahead of
people opening it. Losing Redis loses nothing: the page computes again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import date, datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy import select

from saas.analytics import queries
from saas.engine.models import Enrollment
from saas.extensions import db, get_redis
from saas.sequences.models import Sequence
from saas.tenancy import current_tenant_id, tenant_context
from saas.timeutil import utcnow

log = logging.getLogger(__name__)
MAX_AGE = timedelta(minutes=10)
KEY = "saas:analytics:{tenant}:{lineage}:{version}:{period}"


def _key(sequence: Sequence, chosen: Sequence, period_key: str) -> str:
    return KEY.format(tenant=current_tenant_id(), lineage=queries.lineage_of(sequence),
                      version=chosen.id, period=period_key)


def _dump(summary: queries.RecordSummary, activity: queries.Activity, at: datetime) -> str:
    return json.dumps({
        "computed_at": at.isoformat(),
        "summary": asdict(summary),
        "steps": {str(s.step.id): {"reached": s.reached, "completed": s.completed,
                                   "skipped": s.skipped, "overdue": s.overdue,
                                   "failed": s.failed, "events": s.events}
                  for s in activity.steps},
        "days": [[d.isoformat(), sent, replies] for d, sent, replies in activity.days],
    })


def _load(raw: str, chosen: Sequence):
    data = json.loads(raw)
    summary = queries.RecordSummary(**data["summary"])
    steps = []
    for step, depth, label in queries.ordered_steps(chosen.id):
        row = queries.StepFigures(step, depth, label)
        figures = data["steps"].get(str(step.id))
        if figures is None:
            return None  # the version's steps changed since: compute again
        for name, value in figures.items():
            setattr(row, name, value)
        steps.append(row)
    days = [(date.fromisoformat(d), sent, replies) for d, sent, replies in data["days"]]
    return summary, queries.Activity(steps, days), datetime.fromisoformat(data["computed_at"])


def compute(sequence: Sequence, chosen: Sequence, period: queries.Period, now: datetime):
    queries.tune_session()
    summary = queries.record_summary(sequence, period)
    activity = queries.activity(sequence, chosen.id, period, now)
    try:
        get_redis().set(_key(sequence, chosen, period.key), _dump(summary, activity, now),
                        ex=int(MAX_AGE.total_seconds()))
    except RedisError:
        log.warning("could not keep the analytics snapshot", exc_info=True)
    return summary, activity, now


def figures(sequence: Sequence, chosen: Sequence, period: queries.Period, now: datetime,
            *, fresh: bool = False):
    """(summary, activity, computed_at): a snapshot younger than MAX_AGE, else computed now."""
    if not fresh:
        try:
            raw = get_redis().get(_key(sequence, chosen, period.key))
        except RedisError:
            raw = None
        loaded = _load(raw, chosen) if raw else None
        if loaded is not None and now - loaded[2] < MAX_AGE:
            return loaded
    return compute(sequence, chosen, period, now)


def default_version(versions: list[Sequence]) -> Sequence:
    active = [v for v in versions if v.status == "active"]
    return active[-1] if active else versions[-1]


def warm_all_tenants() -> int:
    """Compute the default view of every sequence that has running records (the periodic job).
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
                now = engine_now()
                compute(versions[0], default_version(versions),
                        queries.Period.parse("all", now), now)
                done += 1
            db.session.commit()
    return done


def age_text(computed_at: datetime, now: datetime | None = None) -> str:
    seconds = max(0, int(((now or utcnow()) - computed_at).total_seconds()))
    return "just now" if seconds < 60 else f"{seconds // 60} min ago"
