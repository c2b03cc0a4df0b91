"""Time helpers: everything is stored in UTC, timezone-aware."""

import zoneinfo
from datetime import UTC, datetime
from functools import cache


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
