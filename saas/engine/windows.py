"""Time in the recipient's zone: sending windows, waits in calendar days, daily cap boundaries.

All arithmetic on local wall-clock time goes through zoneinfo, so a window that opens at 09:00
opens at 09:00 on both sides of a daylight-saving change, and a one-day wait started at 09:00
ends at 09:00 the next day (23 or 25 hours later across the change).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@lru_cache(maxsize=512)
def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _hhmm(value: str | None, default: time) -> time:
    try:
        hours, minutes = (value or "").split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        return default


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    """Wall-clock `at` on `day` in `tz`, as UTC (a time skipped by DST moves forward)."""
    local = datetime.combine(day, at, tzinfo=tz)
    utc = local.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        # In the spring-forward gap: the first valid moment after it.
        utc = datetime.combine(day, at, tzinfo=tz).replace(fold=1).astimezone(UTC)
    return utc


def next_opening(at: datetime, tz_name: str | None, window: dict | None) -> datetime:
    """`at` if the window is open then (or there is no window), else its next opening."""
    if not window or not window.get("days"):
        return at
    tz = zone(tz_name)
    days = {int(d) for d in window["days"]}
    start = _hhmm(window.get("start"), time(9, 0))
    end = _hhmm(window.get("end"), time(17, 0))
    local = at.astimezone(tz)
    for offset in range(0, 8):
        day = local.date() + timedelta(days=offset)
        if day.weekday() not in days:
            continue
        opens, closes = _local(day, start, tz), _local(day, end, tz)
        if at < opens:
            return opens
        if at < closes:
            return at
    return at  # no day in the window: never defer forever


def next_day_opening(at: datetime, tz_name: str | None, window: dict | None) -> datetime:
    """The first moment of the next local day (in the window, if there is one)."""
    tz = zone(tz_name)
    tomorrow = at.astimezone(tz).date() + timedelta(days=1)
    return next_opening(_local(tomorrow, time(0, 0), tz), tz_name, window)


def day_start(at: datetime, tz_name: str | None) -> datetime:
    """Midnight of `at`'s local day, as UTC (daily caps count from here)."""
    tz = zone(tz_name)
    return _local(at.astimezone(tz).date(), time(0, 0), tz)


def add_wait(start: datetime, tz_name: str | None, days: int = 0, hours: int = 0) -> datetime:
    """Days in local calendar days (DST-aware), hours as elapsed time."""
    due = start
    if days:
        tz = zone(tz_name)
        local = start.astimezone(tz)
        target = datetime.combine(local.date() + timedelta(days=days), local.time(), tzinfo=tz)
        due = target.astimezone(UTC)
    return due + timedelta(hours=hours)
