"""The engine's clock: UTC, timezone-aware, and movable.

Tests and the browser tests move it forward (to expire a one-hour wait without sleeping) by
setting an offset in seconds, kept in the app config (`ENGINE_CLOCK_OFFSET`, this process only)
or in Redis under `saas:clock:offset` (every process sharing that Redis: web, workers). Both are
test-only: the Redis offset is read only when `ENGINE_CLOCK_SHARED` is on (development and test
by default, and the benchmarks' production-settings workers); in production the engine's time
is the system's, no Redis read per `now()`, and no key can move it.
Nothing else in the engine asks the system for the time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, has_app_context

from saas.timeutil import utcnow

OFFSET_KEY = "saas:clock:offset"


def offset_seconds() -> float:
    if not has_app_context():
        return 0.0
    configured = current_app.config.get("ENGINE_CLOCK_OFFSET")
    if configured is not None:  # set (even to 0): this process keeps its own clock
        return float(configured)
    if not (current_app.config.get("ENGINE_CLOCK_SHARED") and current_app.config.get("REDIS_URL")):
        return 0.0
    from saas.extensions import get_redis

    try:
        raw = get_redis().get(OFFSET_KEY)
    except Exception:  # noqa: BLE001 - a Redis blip must never stop the clock
        return 0.0
    return float(raw) if raw else 0.0


def now() -> datetime:
    """The engine's current time (UTC, aware)."""
    return utcnow() + timedelta(seconds=offset_seconds())


def set_offset(seconds: float) -> None:
    """Move every process's engine clock to real time + `seconds` (tests, demos)."""
    from saas.extensions import get_redis

    get_redis().set(OFFSET_KEY, repr(float(seconds)))


def move_forward(delta: timedelta) -> datetime:
    """Move the shared clock forward by `delta`; returns the new now()."""
    set_offset(offset_seconds() + delta.total_seconds())
    return now()
