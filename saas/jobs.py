"""Background jobs: ids in, services called inside an app context (the worker provides it).

The tick runs every `TICK_SECONDS`: each periodic task of `periodic_tasks()`, the one table the
worker reads, in its order. The tick also leaves a heartbeat in Redis so the health check can
tell whether workers are alive.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from saas.extensions import get_redis

log = logging.getLogger(__name__)
HEARTBEAT_KEY = "saas:worker:last_tick"


def periodic_tasks() -> tuple[Callable[[], None], ...]:
    """Every periodic task, in the order a tick runs them (imported when the tick runs, so that
    importing this module loads nothing of the areas)."""
    from saas.admin.retention import periodic as retention
    from saas.analytics.periodic import enqueue_periodic
    from saas.api.idempotency import purge_expired as purge_idempotency_keys
    from saas.engine.doctor import periodic as engine_doctor
    from saas.engine.replies import resume_due as resume_out_of_office
    from saas.engine.resends import periodic as resend_soft_bounces
    from saas.engine.sender_health import periodic as check_senders
    from saas.engine.tick import run_tick
    from saas.engine.uncertain import resend_all_tenants
    from saas.imports.services import reap_stale_imports
    from saas.outbound.delivery import periodic as outbound_webhooks
    from saas.sellers.waiting import periodic as sellers_time

    return (
        resume_out_of_office,  # enrollments an out-of-office paused, back on its return day
        sellers_time,  # leaves handed over/back; records waiting for a seller assigned
        run_tick,  # due steps of every tenant, within the tick's budget (saas.engine.tick)
        engine_doctor,  # the engine's invariants checked and repaired (saas.engine.doctor)
        check_senders,  # senders over their bounce or complaint line paused (sender_health)
        resend_all_tenants,  # silent `unknown` sends of tenants with signed event webhooks
        resend_soft_bounces,  # emails a server refused for now (blocked), sent again later
        enqueue_periodic,  # A/B decisions and analytics snapshots, their own job every 5 min
        retention,  # old events, payloads, outbox messages and audit events purged per tenant
        purge_idempotency_keys,  # the API's Idempotency-Keys older than 24 hours, hourly
        reap_stale_imports,  # CSV imports whose worker died are marked failed
        outbound_webhooks,  # due webhook deliveries' job (queue "webhooks"); old ones purged
    )


def tick() -> int:
    """Run every periodic task once; returns how many ran. One area's failing task does not
    keep the others from running; the first failure is raised at the end (the job fails)."""
    failure: Exception | None = None
    tasks = periodic_tasks()
    for task in tasks:
        try:
            task()
        except Exception as exc:  # noqa: BLE001 - logged, the other tasks still run
            log.exception("tick task %s failed", getattr(task, "__qualname__", task))
            failure = failure or exc
            _rollback()
    get_redis().set(HEARTBEAT_KEY, f"{time.time():.3f}")
    if failure is not None:
        raise failure
    return len(tasks)


def _rollback() -> None:
    from saas.extensions import db

    db.session.rollback()


def last_tick_age() -> float | None:
    """Seconds since a worker last ticked, or None if none ever did."""
    raw = get_redis().get(HEARTBEAT_KEY)
    return None if raw is None else max(0.0, time.time() - float(raw))
