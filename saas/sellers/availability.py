"""Who can take a record now: sellers away (switched unavailable, or on time off today in their
own time zone) and sellers full (holding their capacity of open records). Both are read for a
whole set of sellers in one query each, never one per seller."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, or_, select

from saas.auth.models import User
from saas.extensions import db
from saas.records.models import Record
from saas.sellers.models import TimeOff
from saas.timeutil import utcnow

# A record the seller still works: the measure of load balancing and of capacity.
OPEN_STATUSES = {"lead": ("new", "contacted"), "opportunity": ("open",)}


def local_today(user: User, now: datetime | None = None) -> date:
    """The seller's date now, in their own time zone."""
    now = now or utcnow()
    try:
        zone = ZoneInfo(user.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return now.astimezone(zone).date()


def on_leave(sellers: Iterable[User], now: datetime | None = None) -> dict[int, TimeOff]:
    """The sellers among these whose time off covers their own today, with that time off."""
    sellers = list(sellers)
    if not sellers:
        return {}
    now = now or utcnow()
    utc_day = now.date()
    rows = db.session.execute(select(TimeOff).where(
        TimeOff.user_id.in_([s.id for s in sellers]),
        TimeOff.starts_on <= utc_day + timedelta(days=1),
        TimeOff.ends_on >= utc_day - timedelta(days=1)).order_by(TimeOff.starts_on)).scalars()
    by_user: dict[int, list[TimeOff]] = {}
    for row in rows:
        by_user.setdefault(row.user_id, []).append(row)
    found: dict[int, TimeOff] = {}
    for seller in sellers:
        today = local_today(seller, now)
        for leave in by_user.get(seller.id, ()):
            if leave.starts_on <= today <= leave.ends_on:
                found[seller.id] = leave
                break
    return found


def away_ids(sellers: Iterable[User], now: datetime | None = None) -> set[int]:
    """Sellers switched unavailable or on time off today."""
    sellers = list(sellers)
    return {s.id for s in sellers if not s.available} | set(on_leave(sellers, now))


@dataclass
class Load:
    """Open records held, by record type and in all."""

    by_type: dict[int, dict[str, int]]

    def of(self, seller_id: int, record_type: str | None = None) -> int:
        counts = self.by_type.get(seller_id, {})
        return counts.get(record_type, 0) if record_type else sum(counts.values())

    def add(self, seller_id: int, record_type: str, count: int = 1) -> None:
        counts = self.by_type.setdefault(seller_id, {})
        counts[record_type] = counts.get(record_type, 0) + count


def open_load(seller_ids: Iterable[int]) -> Load:
    """Each seller's open records by type: one grouped query for the whole set."""
    ids = sorted(set(seller_ids))
    load = Load({i: {} for i in ids})
    if not ids:
        return load
    open_clause = [(Record.record_type == kind) & Record.status.in_(statuses)
                   for kind, statuses in OPEN_STATUSES.items()]
    for owner, kind, count in db.session.execute(
            select(Record.owner_id, Record.record_type, func.count())
            .where(Record.owner_id.in_(ids), or_(*open_clause))
            .group_by(Record.owner_id, Record.record_type)):
        load.add(owner, kind, count)
    return load


def is_full(seller: User, load: Load) -> bool:
    return seller.capacity is not None and load.of(seller.id) >= seller.capacity
