"""Changing a seller's time: capacity, time off (with the colleague who covers), and the
checks, field by field, that the forms show next to each field."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from saas.admin import audit
from saas.auth.models import Role, User, UserStatus
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _
from saas.segments.assignment import is_seller_clause
from saas.sellers import cover, waiting
from saas.sellers.availability import local_today
from saas.sellers.models import CoverStatus, TimeOff
from saas.timeutil import utcnow

MAX_CAPACITY = 100_000
MAX_DAYS = 366
MAX_NOTE = 200


def active_sellers() -> list[User]:
    return list(db.session.execute(
        select(User).where(User.status == UserStatus.ACTIVE.value, is_seller_clause())
        .order_by(User.name, User.id)).scalars())


def is_manager(user: User) -> bool:
    return user.has_role(Role.SEQUENCE_MANAGER)


def set_capacity(seller: User, capacity: int | None) -> None:
    """None is no limit; a seller given more room may take waiting records at once."""
    if capacity is not None and not 1 <= capacity <= MAX_CAPACITY:
        raise ServiceError(_("Enter a number of records from 1 to 100,000, or leave it empty "
                             "for no limit."), "capacity")
    seller.capacity = capacity
    audit.record("seller.capacity", seller.email, capacity=capacity)
    db.session.flush()
    waiting.assign_waiting()


def time_off_errors(seller: User, starts_on: date | None, ends_on: date | None,
                    cover_id: int | None) -> dict[str, str]:
    """Every problem with a new time off at once, by form field."""
    errors: dict[str, str] = {}
    today = local_today(seller)
    if starts_on is None:
        errors["starts_on"] = _("Enter the first day away, e.g. 2027-01-04.")
    if ends_on is None:
        errors["ends_on"] = _("Enter the last day away, e.g. 2027-01-08.")
    if starts_on and ends_on:
        if ends_on < starts_on:
            errors["ends_on"] = _("The last day is before the first day.")
        elif ends_on < today:
            errors["ends_on"] = _("These days are past: the last day is today or later.")
        elif (ends_on - starts_on).days + 1 > MAX_DAYS:
            errors["ends_on"] = _("A time off lasts at most 366 days.")
        elif db.session.execute(select(TimeOff.id).where(
                TimeOff.user_id == seller.id, TimeOff.starts_on <= ends_on,
                TimeOff.ends_on >= starts_on).limit(1)).first():
            errors["starts_on"] = _("These days overlap another time off of this seller.")
    if cover_id is not None:
        colleague = db.session.execute(select(User.id).where(
            User.id == cover_id, User.status == UserStatus.ACTIVE.value,
            is_seller_clause())).scalar()
        if colleague is None:
            errors["cover_id"] = _("Choose an active seller of this workspace.")
        elif colleague == seller.id:
            errors["cover_id"] = _("Choose a colleague, not the seller who is away.")
    return errors


def add_time_off(seller: User, *, starts_on: date, ends_on: date, note: str = "",
                 cover_id: int | None = None, by: User | None = None) -> TimeOff:
    """Validate and save; a leave that has begun hands over to the colleague at once."""
    errors = time_off_errors(seller, starts_on, ends_on, cover_id)
    if errors:
        field, message = next(iter(errors.items()))
        raise ServiceError(message, field)
    leave = TimeOff(user_id=seller.id, starts_on=starts_on, ends_on=ends_on,
                    note=(note or "").strip()[:MAX_NOTE], cover_id=cover_id,
                    status=CoverStatus.PLANNED.value,
                    created_by_id=by.id if by is not None else None)
    db.session.add(leave)
    db.session.flush()
    audit.record("seller.time_off_added", seller.email, starts_on=starts_on.isoformat(),
                 ends_on=ends_on.isoformat(), cover_id=cover_id)
    if cover_id is not None and starts_on <= local_today(seller):
        cover.move_out(leave)
    return leave


def remove_time_off(leave: TimeOff, seller: User) -> tuple[int, int]:
    """A time off taken back: what the colleague still holds goes back first; the seller may
    take waiting records again. Returns what went back (activities, connections)."""
    moved = cover.move_back(leave)  # compare-and-set: only a leave under way moves back
    audit.record("seller.time_off_removed", seller.email,
                 starts_on=leave.starts_on.isoformat(), ends_on=leave.ends_on.isoformat())
    db.session.delete(leave)
    db.session.flush()
    waiting.assign_waiting()
    return moved


def leaves_of(seller_id: int) -> list[TimeOff]:
    """The seller's time off not long over (the last 30 days and what is to come)."""
    since = utcnow().date() - timedelta(days=30)
    return list(db.session.execute(select(TimeOff).where(
        TimeOff.user_id == seller_id, TimeOff.ends_on >= since)
        .order_by(TimeOff.starts_on)).scalars())


def covering_for(colleague_id: int) -> list[tuple[TimeOff, User]]:
    """Leaves this seller covers that are planned or under way, with the seller away."""
    return list(db.session.execute(
        select(TimeOff, User).join(User, User.id == TimeOff.user_id)
        .where(TimeOff.cover_id == colleague_id,
               TimeOff.status.in_((CoverStatus.PLANNED.value, CoverStatus.OUT.value)))
        .order_by(TimeOff.starts_on)).tuples())
