"""Time in the recipient's zone: sending windows, waits in calendar days, daily cap boundaries.

This module is the engine's one clock arithmetic: the single-record path (advance.py), the batch
path (bulk.py) and the send claim (caps.py) all compute due times here, in Python, so they agree
to the second. All arithmetic on local wall-clock time goes through zoneinfo, so a window that
opens at 09:00 opens at 09:00 on both sides of a daylight-saving change, and a one-day wait
started at 09:00 ends at 09:00 the next day (23 or 25 hours later across the change).

Wall-clock times that do not exist or exist twice (`_local`):
- a time skipped by a spring-forward change (02:30 in New York on 2026-03-08, midnight in Havana
  or Santiago on their change days) means the first instant after the gap (03:00 local);
- a time repeated by a fall-back change (02:30 in Paris on 2026-10-25) means its first
  occurrence.

Zones (`zone`): a record's unknown or missing zone name means the tenant's time zone (the tenant
in context; UTC with none, or when the tenant's own zone is unknown), never an error.
"""

from __future__ import annotations

import math
import time as _time
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from saas.tenancy import current_tenant_id

DEFAULT_START = time(9, 0)
DEFAULT_END = time(17, 0)
MIDNIGHT = time(0, 0)
TENANT_ZONE_TTL = 60.0  # seconds a tenant's zone is remembered (a changed zone applies after)

try:
    _UTC: tzinfo = ZoneInfo("UTC")
except ZoneInfoNotFoundError:  # pragma: no cover - no tz database at all
    _UTC = UTC


# --- zones -------------------------------------------------------------------------------------

@lru_cache(maxsize=1024)
def known_zone(name: str | None) -> ZoneInfo | None:
    """The zone of that IANA name, or None when there is no such zone (never raises)."""
    if not name or not isinstance(name, str):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError):
        # not found, not a normalized key ("../x", ""), a directory ("America"), not a TZif file
        return None


_tenant_zones: dict[int, tuple[float, tzinfo]] = {}


def clear_zone_cache() -> None:
    """Forget the tenants' zones (tests; a tenant's new zone otherwise applies within a minute)."""
    _tenant_zones.clear()


def _tenant_zone_name(tenant_id: int) -> tuple[str | None, bool]:
    """(the tenant's zone name, whether the answer may be cached)."""
    from flask import g, has_app_context, has_request_context

    if not has_app_context():
        return None, False
    if has_request_context():
        tenant = getattr(g, "tenant", None)
        if tenant is not None and getattr(tenant, "id", None) == tenant_id:
            return tenant.time_zone, True
    from sqlalchemy import select

    from saas.auth.models import Tenant
    from saas.extensions import db

    with db.session.no_autoflush:  # a zone lookup never flushes the caller's pending work
        name = db.session.execute(
            select(Tenant.time_zone).where(Tenant.id == tenant_id)).scalar_one_or_none()
    return name, True


def tenant_zone() -> tzinfo:
    """The time zone of the tenant in context (UTC with none, or when the tenant's is unknown).
    Remembered per tenant for TENANT_ZONE_TTL seconds: the engine asks once per record."""
    tenant_id = current_tenant_id()
    if tenant_id is None:
        return _UTC
    now = _time.monotonic()
    hit = _tenant_zones.get(tenant_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    name, cacheable = _tenant_zone_name(tenant_id)
    tz = known_zone(name) or _UTC
    if cacheable:
        if len(_tenant_zones) > 4096:
            for key in [k for k, (until, _) in _tenant_zones.items() if until <= now]:
                _tenant_zones.pop(key, None)
        _tenant_zones[tenant_id] = (now + TENANT_ZONE_TTL, tz)
    return tz


def zone(name: str | None) -> tzinfo:
    """The zone of a record's zone name; an unknown or missing one means the tenant's zone."""
    return known_zone(name) or tenant_zone()


# --- wall-clock time ---------------------------------------------------------------------------

def _offset(timestamp: int, tz: tzinfo) -> timedelta | None:
    return datetime.fromtimestamp(timestamp, tz).utcoffset()


def _after_gap(naive: datetime, tz: tzinfo) -> datetime:
    """The first instant after the gap that the (skipped) wall time `naive` falls in, as UTC:
    the transition itself (03:00 local for 02:30 in New York on 2026-03-08)."""
    # fold=1 reads the skipped time with the offset after the change (an instant before the
    # gap), fold=0 with the offset before it (an instant after): the change lies in between.
    one = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    other = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    low = math.floor(min(one, other).timestamp())
    high = math.ceil(max(one, other).timestamp())
    before = _offset(low, tz)
    if high <= low or _offset(high, tz) == before:  # not a gap after all: never loop
        return max(one, other)
    while high - low > 1:  # transitions fall on whole seconds
        middle = (low + high) // 2
        if _offset(middle, tz) == before:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def _local(day: date, at: time, tz: tzinfo) -> datetime:
    """Wall-clock `at` on `day` in `tz`, as UTC: a repeated time is its first occurrence, a
    skipped time the first instant after the gap."""
    naive = datetime.combine(day, at.replace(tzinfo=None, fold=0))
    utc = naive.replace(tzinfo=tz).astimezone(UTC)  # fold=0: the first occurrence
    if utc.astimezone(tz).replace(tzinfo=None) == naive:
        return utc
    return _after_gap(naive, tz)


# --- sending windows ---------------------------------------------------------------------------

def _hhmm(value, default: time) -> time:
    try:
        hours, minutes = str(value or "").split(":")
        return time(int(hours), int(minutes))
    except (ValueError, TypeError, OverflowError):
        return default


def _days(raw) -> frozenset[int]:
    if isinstance(raw, str | bytes) or not hasattr(raw, "__iter__"):
        return frozenset()
    days = set()
    for value in raw:
        try:
            day = int(value)
        except (ValueError, TypeError, OverflowError):
            continue
        if 0 <= day <= 6:
            days.add(day)
    return frozenset(days)


def _window(window) -> tuple[frozenset[int], time, time] | None:
    """(weekdays, start, end) of a sequence's window, or None when it has none. Hours that
    cannot be read, or that do not make a day's window (start at or after end), are 09:00-17:00;
    days that cannot be read are ignored (none left: no window)."""
    if not isinstance(window, dict):
        return None
    days = _days(window.get("days"))
    if not days:
        return None
    start, end = _hhmm(window.get("start"), DEFAULT_START), _hhmm(window.get("end"), DEFAULT_END)
    if start >= end:
        start, end = DEFAULT_START, DEFAULT_END
    return days, start, end


def _next_opening(at: datetime, tz: tzinfo, spec: tuple[frozenset[int], time, time]) -> datetime:
    days, start, end = spec
    today = at.astimezone(tz).date()
    # From the day before: a window whose hours fall at the end of a gap that crosses midnight
    # opens on the next local day (America/Nuuk's 23:00 -> 00:00); without it the answer would
    # not be a fixed point.
    for offset in range(-1, 9):
        day = today + timedelta(days=offset)
        if day.weekday() not in days:
            continue
        opens, closes = _local(day, start, tz), _local(day, end, tz)
        if opens >= closes:
            continue  # the day's hours all fall in a gap: no window that day
        if at < opens:
            return opens
        if at < closes:
            return at
    return at  # no day in the window: never defer forever


def next_opening(at: datetime, tz_name: str | None, window: dict | None) -> datetime:
    """`at` if the window is open then (or there is no window), else its next opening (as UTC).
    An opening inside a spring-forward gap is the first instant after the gap."""
    spec = _window(window)
    if spec is None:
        return at
    return _next_opening(at, zone(tz_name), spec)


def next_day_opening(at: datetime, tz_name: str | None, window: dict | None) -> datetime:
    """The first instant of the next local day (in the window, if there is one), always after
    `at`: where midnight is skipped (America/Havana, America/Santiago) the end of the gap."""
    tz = zone(tz_name)
    day = at.astimezone(tz).date() + timedelta(days=1)
    first = _local(day, MIDNIGHT, tz)
    if first <= at:  # a fall-back across midnight, `at` in the repeated part: its 2nd midnight
        first = datetime.combine(day, MIDNIGHT, tzinfo=tz).replace(fold=1).astimezone(UTC)
    while first <= at:  # never reached with the tz database's zones; a guard against churn
        day += timedelta(days=1)
        first = _local(day, MIDNIGHT, tz)
    spec = _window(window)
    return first if spec is None else _next_opening(first, tz, spec)


def day_start(at: datetime, tz_name: str | None) -> datetime:
    """The first instant of `at`'s local day, as UTC (daily caps count from here)."""
    tz = zone(tz_name)
    return _local(at.astimezone(tz).date(), MIDNIGHT, tz)


# --- waits -------------------------------------------------------------------------------------

def add_wait(start: datetime, tz_name: str | None, days: int = 0, hours: int = 0) -> datetime:
    """Days in local calendar days (the same wall-clock time `days` later: its first occurrence
    when repeated, the first instant after the gap when skipped), then hours as elapsed time."""
    due = start
    if days:
        tz = zone(tz_name)
        local = start.astimezone(tz)
        due = _local(local.date() + timedelta(days=days), local.time(), tz)
    return due + timedelta(hours=hours)
