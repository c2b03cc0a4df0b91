"""Background jobs: ids in, services called inside an app context (the worker provides it).

The tick runs every `TICK_SECONDS`. Areas register their periodic work in `TICK_TASKS`
(the engine adds claiming due steps); the tick itself also leaves a heartbeat in Redis so
the health check can tell whether workers are alive.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from saas.extensions import get_redis

HEARTBEAT_KEY = "saas:worker:last_tick"
TICK_TASKS: list[Callable[[], None]] = []


def _analytics() -> None:
    from saas.analytics.periodic import enqueue_periodic

    enqueue_periodic()  # A/B decisions and analytics snapshots, in their own job every 5 min


TICK_TASKS.append(_analytics)


def tick() -> int:
    """Run every periodic task once; returns how many ran."""
    for task in TICK_TASKS:
        task()
    get_redis().set(HEARTBEAT_KEY, f"{time.time():.3f}")
    return len(TICK_TASKS)


def last_tick_age() -> float | None:
    """Seconds since a worker last ticked, or None if none ever did."""
    raw = get_redis().get(HEARTBEAT_KEY)
    return None if raw is None else max(0.0, time.time() - float(raw))
