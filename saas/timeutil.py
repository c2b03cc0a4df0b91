"""Time helpers: everything is stored in UTC, timezone-aware."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; treat them as the UTC they were stored as."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
