"""The periodic analytics job: decide A/B tests (every tenant) and compute the default analytics
view of sequences with running records. The tick only enqueues it (at most every EVERY_SECONDS,
across all workers), so the tick's own work (due steps) never waits behind aggregates."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import DuplicateJobError

from saas.extensions import db, get_redis

log = logging.getLogger(__name__)
EVERY_SECONDS = 300
THROTTLE_KEY = "saas:analytics:periodic"
JOB_ID = "analytics-periodic"
QUEUE = "default"


def enqueue_periodic() -> bool:
    """Enqueue the job unless it ran or was enqueued less than EVERY_SECONDS ago."""
    try:
        redis = get_redis()
        if not redis.set(THROTTLE_KEY, "1", nx=True, ex=EVERY_SECONDS):
            return False
        Queue(QUEUE, connection=redis).enqueue(
            run_periodic, job_id=JOB_ID, unique=True, job_timeout=1800, result_ttl=0,
            failure_ttl=86400)
        return True
    except DuplicateJobError:
        return False
    except RedisError:
        log.warning("could not enqueue the periodic analytics job", exc_info=True)
        return False


def run_periodic() -> dict:
    """Safe to run twice at once: each A/B test is decided under its row lock, and a snapshot
    is only a cache."""
    from saas.analytics.snapshots import warm_all_tenants
    from saas.engine.abtests import evaluate_all_tenants

    evaluated = evaluate_all_tenants()
    db.session.commit()
    warmed = warm_all_tenants()
    return {"ab_tests_evaluated": evaluated, "sequences_computed": warmed}
