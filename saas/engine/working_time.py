"""Waits counted in working time: the tenant's calendar (saas/calendars) as engine arithmetic.

A sequence whose setting "Count waits in working time" is on (`settings["working_time"]`)
counts its waits in the tenant's working days and hours, in the tenant's time zone, and never
lets an automated send or a new activity fall outside them:
- a working instant is one inside the working hours [start, end) of a working day (a weekday of
  the working week that is not a closure day);
- a wait first moves to the next working instant, then N days are N working days later at the
  same wall-clock time (Friday 15:00 + 2 days, Monday a holiday: Wednesday 15:00, 23 or 25 hours
  more or less across a daylight-saving change), then hours are working hours, counted as
  elapsed time inside the working hours (a wait that ends at the closing time ends at the next
  opening);
- a send is due at the first instant that is both working time and in the sequence's sending
  window (the window in the recipient's zone, saas/engine/windows.py); an activity at the next
  working instant.
Wall-clock times go through windows._local, the engine's one clock arithmetic, on both engine
paths (advance.py, run_rows.py, connect.py) and at the send claim (caps.py).

The calendar is read once per transaction and tenant (`load`): a tick batch or a request reads
it once, whatever the number of records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import select

from saas.engine.windows import _UTC, _hhmm, _local, add_wait, known_zone, next_opening
from saas.extensions import db
from saas.tenancy import current_tenant_id

SEARCH_DAYS = 800  # how far ahead a working day is looked for (a year of closures and more)
MAX_PERIODS = 5000  # working days an hours-long wait may span before giving up
DEFAULT_DAYS = frozenset(range(5))
CACHE_KEY = "working_time"


@dataclass(frozen=True)
class WorkingTime:
    days: frozenset[int]  # weekdays, Monday 0
    start: time
    end: time
    closed: frozenset[date]
    tz: tzinfo

    def works_on(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.closed

    def _hours(self, day: date) -> tuple[datetime, datetime] | None:
        if not self.works_on(day):
            return None
        opens, closes = _local(day, self.start, self.tz), _local(day, self.end, self.tz)
        return (opens, closes) if opens < closes else None

    def _period(self, at: datetime) -> tuple[datetime, datetime] | None:
        """(the first working instant at or after `at`, the closing time of its working day)."""
        today = at.astimezone(self.tz).date()
        for offset in range(-1, SEARCH_DAYS):  # the day before: hours past a midnight gap
            hours = self._hours(today + timedelta(days=offset))
            if hours is None:
                continue
            opens, closes = hours
            if at < opens:
                return opens, closes
            if at < closes:
                return at, closes
        return None

    def next_working(self, at: datetime) -> datetime:
        """`at` if it is working time, else the next opening (as UTC); `at` itself when the
        calendar has no working day ahead (never defer forever)."""
        period = self._period(at)
        return at if period is None else period[0].astimezone(_UTC)

    def add(self, start: datetime, days: int = 0, hours: int = 0) -> datetime:
        """`days` working days, then `hours` working hours, after `start` (see the module)."""
        at = self.next_working(start)
        if days > 0:
            local = at.astimezone(self.tz)
            wall = _repeat_end(at, self.tz) if local.fold else local.time()
            day, counted = local.date(), 0
            for _ in range(days * 7 + SEARCH_DAYS):
                day += timedelta(days=1)
                if self.works_on(day):
                    counted += 1
                    if counted == days:
                        break
            else:
                return add_wait(start, None, days=days, hours=hours)
            at = self.next_working(_local(day, wall, self.tz))
        remaining = timedelta(hours=hours)
        if remaining <= timedelta(0):
            return at
        for _ in range(MAX_PERIODS):
            period = self._period(at)
            if period is None:
                break
            at, closes = period
            if at + remaining < closes:
                return (at + remaining).astimezone(_UTC)
            remaining -= closes - at
            at = closes
        return at + remaining

    def next_send(self, at: datetime, tz_name: str | None, window: dict | None) -> datetime:
        """The first instant at or after `at` that is working time and in the sending window
        (the recipient's zone); `at` moved as far as found when the two never meet."""
        for _ in range(50):
            moved = next_opening(self.next_working(at), tz_name, window)
            if moved == at:
                return at
            at = moved
        return at


def _repeat_end(at: datetime, tz: tzinfo) -> time:
    """The wall time at which the repeated hour whose second occurrence holds `at` ends (03:00
    for 02:10 CET in Paris on 2026-10-25): a wait started in the second occurrence ends at that
    time N days later, so a later start never ends earlier (monotonic)."""
    low, high = math.floor(at.timestamp()), math.ceil(at.timestamp()) + 3 * 3600
    if datetime.fromtimestamp(high, tz).fold:  # not a repeat after all (never with tzdata)
        return at.astimezone(tz).time().replace(fold=0)
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).fold:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, tz).time()


def calendar_of(days: str | None, start: str | None, end: str | None, closed, tz: tzinfo
                ) -> WorkingTime:
    """A WorkingTime from the stored values; unreadable ones are the defaults (Monday to
    Friday, 09:00-17:00)."""
    weekdays = frozenset(int(c) for c in (days or "") if c in "0123456") or DEFAULT_DAYS
    opens, closes = _hhmm(start, time(9, 0)), _hhmm(end, time(17, 0))
    if opens >= closes:
        opens, closes = time(9, 0), time(17, 0)
    return WorkingTime(weekdays, opens, closes, frozenset(closed), tz)


def load(tenant_id: int | None = None) -> WorkingTime:
    """The tenant's calendar (the tenant in context by default), read once per transaction."""
    from saas.auth.models import Tenant
    from saas.calendars.models import Calendar, ClosureDay

    tenant_id = tenant_id or current_tenant_id()
    session = db.session()
    cache = session.info.setdefault(CACHE_KEY, {})
    transaction = session.get_transaction()
    hit = cache.get(tenant_id)
    if hit is not None and transaction is not None and hit[0] is transaction:
        return hit[1]
    with db.session.no_autoflush:
        zone_name = db.session.execute(
            select(Tenant.time_zone).where(Tenant.id == tenant_id)).scalar_one_or_none()
        row = db.session.execute(
            select(Calendar.working_days, Calendar.day_start, Calendar.day_end)
            .where(Calendar.tenant_id == tenant_id)).first()
        closed = db.session.execute(
            select(ClosureDay.day).where(ClosureDay.tenant_id == tenant_id)).scalars().all()
    working = calendar_of(row.working_days if row else None, row.day_start if row else None,
                          row.day_end if row else None, closed, known_zone(zone_name) or _UTC)
    cache[tenant_id] = (session.get_transaction(), working)
    return working


def forget() -> None:
    """Forget the calendars read in this session (after the calendar changed)."""
    db.session().info.pop(CACHE_KEY, None)


def for_settings(settings: dict | None) -> WorkingTime | None:
    """The tenant's calendar when the sequence counts its waits in working time, else None."""
    return load() if (settings or {}).get("working_time") else None


def for_sequence(sequence_id: int) -> WorkingTime | None:
    from saas.sequences.models import Sequence

    settings = db.session.execute(
        select(Sequence.settings).where(Sequence.id == sequence_id)).scalar()
    return for_settings(settings)


def send_due(at: datetime, tz_name: str | None, window: dict | None,
             working: WorkingTime | None) -> datetime:
    """When an automated send is due: the window's opening, and working time when counted."""
    if working is None:
        return next_opening(at, tz_name, window)
    return working.next_send(at, tz_name, window)


def activity_due(at: datetime, working: WorkingTime | None) -> datetime:
    """When a new activity is due: now, or the next working instant when counted."""
    return at if working is None else working.next_working(at)
