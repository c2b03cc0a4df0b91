"""Background jobs: ids in, services called inside an app context (the worker provides it).

The tick runs every `TICK_SECONDS`. Areas register their periodic work in `TICK_TASKS`
(the engine adds claiming due steps); the tick itself also leaves a heartbeat in Redis so
the health check can tell whether workers are alive.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from saas.extensions import get_redis

log = logging.getLogger(__name__)
HEARTBEAT_KEY = "saas:worker:last_tick"
TICK_TASKS: list[Callable[[], None]] = []


def _analytics() -> None:
    from saas.analytics.periodic import enqueue_periodic

    enqueue_periodic()  # A/B decisions and analytics snapshots, in their own job every 5 min


TICK_TASKS.append(_analytics)


def tick() -> int:
    """Run every periodic task once; returns how many ran. One area's failing task does not
    keep the others from running; the first failure is raised at the end (the job fails)."""
    failure: Exception | None = None
    for task in TICK_TASKS:
        try:
            task()
        except Exception as exc:  # noqa: BLE001 - logged, the other tasks still run
            log.exception("tick task %s failed", getattr(task, "__qualname__", task))
            failure = failure or exc
            _rollback()
    get_redis().set(HEARTBEAT_KEY, f"{time.time():.3f}")
    if failure is not None:
        raise failure
    return len(TICK_TASKS)


def _rollback() -> None:
    from saas.extensions import db

    db.session.rollback()


def last_tick_age() -> float | None:
    """Seconds since a worker last ticked, or None if none ever did."""
    raw = get_redis().get(HEARTBEAT_KEY)
    return None if raw is None else max(0.0, time.time() - float(raw))
