"""The engine clock moves only in tests and demos: in production no Redis key moves it."""

from __future__ import annotations

from datetime import timedelta

from saas.config import load
from saas.engine import clock
from saas.timeutil import utcnow


def test_production_time_is_the_systems(app, redis_conn, monkeypatch):
    production = load({"APP_ENV": "production", "SECRET_KEY": "x" * 40,
                       "DATABASE_URL": "postgresql+psycopg://db/x", "REDIS_URL": "redis://r/0",
                       "PUBLIC_URL": "https://app.example"})
    assert production.as_flask_config()["ENGINE_CLOCK_SHARED"] is False
    assert load({"APP_ENV": "test"}).as_flask_config()["ENGINE_CLOCK_SHARED"] is True
    redis_conn.set(clock.OFFSET_KEY, repr(timedelta(days=30).total_seconds()))
    with app.app_context():
        monkeypatch.setitem(app.config, "ENGINE_CLOCK_OFFSET", None)
        assert clock.now() - utcnow() > timedelta(days=29)  # tests share the moved clock
        monkeypatch.setitem(app.config, "ENGINE_CLOCK_SHARED", False)  # as in production
        assert abs(clock.now() - utcnow()) < timedelta(seconds=5)
