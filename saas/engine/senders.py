"""Sender addresses (the from-address automated emails go out from): their pause and their caps,
applied when sends are claimed (`caps.claim_sends`, for the tick and the send sweeps alike).

A send whose sender is paused, or over its daily or hourly cap, or within its minimum gap of the
sender's last send, stays `pending`: it is moved to when it may go (a paused sender's sends are
looked at again every SENDER_RECHECK and released at once when a manager resumes it). Never
dropped.

Counting does not race: while claiming, the claim locks the batch's sender rows FOR UPDATE (in
id order, after the step runs and enrollments it already holds: the engine's lock order, "anything
else" last) and only then counts the sender's claimed sends and reads its last send time; it
writes the new claims and the sender's `last_send_at` in the same transaction. A second worker
claiming sends of the same sender waits on the row and counts after the first committed. Row
locks rather than an atomic counter: the count comes from the step runs themselves (a send that
ends or is released counts as it ends), and the minimum gap needs the last send time anyway.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import JSON, Index, Integer, String, case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from saas.engine.models import StepRun
from saas.engine.windows import day_start, next_day_opening
from saas.extensions import db
from saas.sql import id_in
from saas.tenancy import TenantScoped, current_tenant_id
from saas.timeutil import UtcDateTime, utcnow

# Each cap's setting (saas/config.py: 200 a day, 30 an hour, 30 s apart unless configured).
DEFAULT_CAPS = {"daily_cap": "SENDER_DAILY_CAP", "hourly_cap": "SENDER_HOURLY_CAP",
                "min_gap_seconds": "SENDER_MIN_GAP_SECONDS"}
CAP_LIMITS = {"daily_cap": (1, 100_000), "hourly_cap": (1, 10_000), "min_gap_seconds": (0, 3600)}
SENDER_RECHECK = timedelta(minutes=10)
COUNTED = ("sending", "sent", "unknown")
AUTO_EMAIL = "auto_email"
DEFAULT_FROM = "no-reply@sequences.local"  # saas.messaging.config.DEFAULT_FROM


class Sender(TenantScoped, db.Model):
    """One from-address of the tenant, created when first used."""

    __tablename__ = "sender"
    __table_args__ = (Index("uq_sender_address", "tenant_id", "address", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(254))  # lower-cased
    seller_id: Mapped[int | None] = mapped_column(Integer)  # a seller's pool; None: the tenant's
    paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paused_reason: Mapped[str | None] = mapped_column(String(32))  # bounces|complaints
    paused_stats: Mapped[dict | None] = mapped_column(JSON)  # the health that paused it
    resumed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resumed_by_id: Mapped[int | None] = mapped_column(Integer)
    daily_cap: Mapped[int | None] = mapped_column(Integer)  # None: the default
    hourly_cap: Mapped[int | None] = mapped_column(Integer)
    min_gap_seconds: Mapped[int | None] = mapped_column(Integer)
    last_send_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


def caps_of(sender, tenant_settings: dict | None) -> dict[str, int]:
    """The sender's caps: its own, else the tenant's `sender_caps` setting, else the defaults."""
    tenant_caps = (tenant_settings or {}).get("sender_caps") or {}
    return {name: int(value if (value := getattr(sender, name, None)) is not None
                      else tenant_caps.get(name, current_app.config[setting]))
            for name, setting in DEFAULT_CAPS.items()}


def address_for(messaging: dict, seller_id: int | None) -> str:
    """The from-address of a seller's automated emails (as MessagingConfig.sender_for)."""
    own = (messaging.get("sellers") or {}).get(str(seller_id)) if seller_id else None
    address = (own or {}).get("from_address") or messaging.get("from_address") or DEFAULT_FROM
    return address.strip().lower()


def ensure(addresses: set[str]) -> dict[str, int]:
    """The ids of these senders' rows, created when missing."""
    tid = current_tenant_id()
    found = dict(db.session.execute(select(Sender.address, Sender.id).where(
        Sender.address.in_(addresses))).all())
    missing = addresses - set(found)
    if missing:
        insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
        db.session.execute(insert(Sender.__table__).values(
            [{"tenant_id": tid, "address": a, "created_at": utcnow()} for a in sorted(missing)])
            .on_conflict_do_nothing(index_elements=["tenant_id", "address"]))
        found.update(db.session.execute(select(Sender.address, Sender.id).where(
            Sender.address.in_(missing))).all())
    return found


def locked(ids) -> list:
    """The senders' rows, locked FOR UPDATE in id order (plain rows, read after the lock)."""
    stmt = (select(Sender.id, Sender.address, Sender.paused_at, Sender.daily_cap,
                   Sender.hourly_cap, Sender.min_gap_seconds, Sender.last_send_at)
            .where(Sender.id.in_(list(ids))).order_by(Sender.id))
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return db.session.execute(stmt).all()


def claimed_counts(addresses: list[str], now: datetime) -> dict[str, tuple]:
    """{address: (sends in the last hour, in the last day, oldest of each)} of claimed sends."""
    hour, day = now - timedelta(hours=1), now - timedelta(days=1)
    in_hour = StepRun.started_at >= hour
    rows = db.session.execute(
        select(StepRun.sender, func.count().filter(in_hour), func.count(),
               func.min(case((in_hour, StepRun.started_at))), func.min(StepRun.started_at))
        .where(StepRun.sender.in_(addresses), StepRun.started_at >= day,
               StepRun.status.in_(COUNTED), StepRun.step_type == AUTO_EMAIL)
        .group_by(StepRun.sender)).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def domain_counts(since: datetime) -> dict[str, int]:
    """Automated emails claimed since `since`, per recipient domain."""
    from saas.records.models import Record

    domain = func.lower(func.substr(Record.email, func.instr(Record.email, "@") + 1)) \
        if db.engine.dialect.name == "sqlite" else \
        func.lower(func.split_part(Record.email, "@", 2))
    rows = db.session.execute(
        select(domain, func.count()).select_from(StepRun)
        .join(Record, Record.id == StepRun.record_id)
        .where(StepRun.sender.is_not(None), StepRun.started_at >= since,
               StepRun.status.in_(COUNTED), StepRun.step_type == AUTO_EMAIL)
        .group_by(domain)).all()
    return dict(rows)


def _domain(email: str | None) -> str:
    return (email or "").rpartition("@")[2].strip().lower()


def _pools(details: list, messaging: dict) -> tuple[dict[int, list[str]], dict[int, tuple]]:
    """Each email's candidate senders, and {run id: (enrollment id, the enrollment's sender)}.
    A seller's pool is its own address and the senders assigned to it; an enrollment that
    started with one of them keeps it (its thread stays in one mailbox)."""
    from saas.engine.models import Enrollment

    emails = [d for d in details if d.step_type == AUTO_EMAIL]
    pool: dict[int | None, list[str]] = defaultdict(list)
    for seller_id, address in db.session.execute(select(Sender.seller_id, Sender.address).where(
            Sender.seller_id.in_({d.seller_id for d in emails if d.seller_id}))
            .order_by(Sender.id)):
        pool[seller_id].append(address)
    pinned = {}
    if pool:
        pinned = {r.id: (r.enrollment_id, r.sender) for r in db.session.execute(
            select(StepRun.id, StepRun.enrollment_id, Enrollment.sender)
            .join(Enrollment, Enrollment.id == StepRun.enrollment_id)
            .where(id_in(StepRun.id, [d.id for d in emails])))}
    candidates = {}
    for d in emails:
        own = address_for(messaging, d.seller_id)
        choices = [own, *[a for a in pool.get(d.seller_id, []) if a != own]]
        kept = pinned.get(d.id, (None, None))[1]
        candidates[d.id] = [kept] if kept in choices else choices
    return candidates, pinned


def admit(tenant, details: list, settings: dict, now: datetime
          ) -> tuple[dict[int, str], dict[datetime, list[int]]]:
    """Of these claimable sends (rows with id, seller_id, sequence_id, step_type, email,
    time_zone), the automated emails their senders let go now: ({run id: sender
    address} admitted, {due time: run ids} deferred). SMS pass untouched (address None).
    Sends held by a paused sender are moved here (they keep their sender, so a resume
    releases them); the caller moves the other deferred ones and claims the admitted ones.
    A seller with a pool rotates among its senders that are not paused and within their caps
    (the least used this hour first)."""
    messaging = (tenant.settings or {}).get("messaging") or {}
    # From the settings as they are now (what compose will use), not a sender the run waited
    # for: a seller's new address is not held by the old one's pause.
    candidates, pinned = _pools(details, messaging)
    admitted: dict[int, str | None] = {d.id: None for d in details if d.id not in candidates}
    deferred: dict[datetime, list[int]] = defaultdict(list)
    if not candidates:
        return admitted, deferred
    rows = {r.address: r for r in locked(ensure(
        {a for choices in candidates.values() for a in choices}).values())}
    counts = claimed_counts(sorted(rows), now)
    domain_cap = (tenant.settings or {}).get("domain_daily_cap")
    by_domain = domain_counts(day_start(now, tenant.time_zone)) if domain_cap else {}
    state = {a: {"hour": counts.get(a, (0, 0, None, None))[0],
                 "day": counts.get(a, (0, 0, None, None))[1],
                 "last": r.last_send_at, "caps": caps_of(r, tenant.settings)}
             for a, r in rows.items()}

    def free_at(address: str) -> datetime | None:
        """When the sender may send next (now or earlier: it may), None while paused."""
        row, s = rows[address], state[address]
        caps, oldest = s["caps"], counts.get(address, (0, 0, None, None))
        gap = timedelta(seconds=caps["min_gap_seconds"])
        if row.paused_at is not None:
            return None
        if s["last"] is not None and gap and s["last"] + gap > now:
            return s["last"] + gap
        if s["hour"] >= caps["hourly_cap"]:
            return max(now, (oldest[2] or now)) + timedelta(hours=1)
        if s["day"] >= caps["daily_cap"]:
            return max(now, (oldest[3] or now)) + timedelta(days=1)
        return now

    held: dict[str, list[int]] = defaultdict(list)
    for d in details:
        choices = candidates.get(d.id)
        if choices is None:
            continue
        times = {a: free_at(a) for a in choices}
        ready = sorted((a for a, t in times.items() if t == now),
                       key=lambda a: (state[a]["hour"], state[a]["last"] or now))
        if not ready:
            later = [t for t in times.values() if t is not None]
            if later:
                deferred[min(later)].append(d.id)
            else:
                held[choices[0]].append(d.id)
            continue
        address = ready[0]
        if domain_cap and by_domain.get(_domain(d.email), 0) >= int(domain_cap):
            window = (settings.get(d.sequence_id) or {}).get("window")
            deferred[next_day_opening(now, d.time_zone, window)].append(d.id)
            continue
        admitted[d.id] = address
        s = state[address]
        s["hour"] += 1
        s["day"] += 1
        s["last"] = now
        if domain_cap:
            by_domain[_domain(d.email)] = by_domain.get(_domain(d.email), 0) + 1
    used = {rows[a].id for a in set(admitted.values()) if a}
    if used:
        db.session.execute(update(Sender).where(Sender.id.in_(used)).values(last_send_at=now)
                           .execution_options(synchronize_session=False))
    _keep(admitted, pinned)
    for address, ids in held.items():  # waits for the sender, looked at again later
        db.session.execute(
            update(StepRun).where(id_in(StepRun.id, ids))
            .values(sender=address, due_at=now + SENDER_RECHECK)
            .execution_options(synchronize_session=False))
    return admitted, deferred


def _keep(admitted: dict[int, str | None], pinned: dict[int, tuple]) -> None:
    """Enrollments of a pool remember the sender their first email went from (their rows are
    already locked by the claim)."""
    from saas.engine.models import Enrollment

    todo: dict[str, list[int]] = defaultdict(list)
    for run_id, address in admitted.items():
        enrollment_id, kept = pinned.get(run_id, (None, None))
        if address and enrollment_id is not None and kept != address:
            todo[address].append(enrollment_id)
    for address, ids in todo.items():
        db.session.execute(update(Enrollment).where(id_in(Enrollment.id, ids))
                           .values(sender=address).execution_options(synchronize_session=False))


def sender_values(admitted: dict[int, str | None]):
    """The claim's `sender` value: one CASE over the admitted runs, grouped by address."""
    groups: dict[str, list[int]] = defaultdict(list)
    for run_id, address in admitted.items():
        if address:
            groups[address].append(run_id)
    if not groups:
        return None
    if len(groups) == 1:
        return next(iter(groups))
    return case(*[(id_in(StepRun.id, ids), address) for address, ids in groups.items()],
                else_=None)
