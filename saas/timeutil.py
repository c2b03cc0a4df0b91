"""Time helpers: everything is stored in UTC, timezone-aware."""

import zoneinfo
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; treat them as the UTC they were stored as."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@cache
def time_zones() -> frozenset[str]:
    """The IANA time zone names this machine knows."""
    return frozenset(zoneinfo.available_timezones())


class UtcDateTime(TypeDecorator):
    """`DateTime(timezone=True)` that always reads back aware UTC datetimes: PostgreSQL keeps the
    zone; SQLite (the zero-setup database) stores none, so its values are read as the UTC they
    were stored as. Every model's date-time column is one."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect):
        if dialect.name != "sqlite":  # PostgreSQL: the driver's own, nothing added per value
            return self.impl_instance.bind_processor(dialect)
        return super().bind_processor(dialect)

    def result_processor(self, dialect, coltype):
        if dialect.name != "sqlite":
            return self.impl_instance.result_processor(dialect, coltype)
        return super().result_processor(dialect, coltype)

    def process_bind_param(self, value, dialect):  # SQLite: stored as UTC
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):  # SQLite: read as the UTC it was stored as
        return aware(value)
