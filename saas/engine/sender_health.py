"""A sender's health: its hard-bounce and spam-complaint rates over the last 7 days, the automatic
pause when either passes its line, the manager's resume, and soft bounces.

A sender is paused when, over at least MIN_SENDS sends in the window, hard bounces pass 5% or
spam complaints 0.3% (Gmail's line). It is looked at when one of its messages bounces or is
reported (a listener of `message_event_recorded`, in the event's transaction; the sender row is
locked last, after the enrollment and runs the event's handling holds). Its managers are told by
email (the product's outbox, as invitations) and on Home. While paused its sends wait (see
saas.engine.senders); a resume releases them at once.

Soft bounces (SendGrid `deferred`, or a bounce of type `blocked`) suppress nothing by themselves
(the provider retries a deferred message; a blocked one is sent again by saas.engine.resends,
an hour later, then two); three in a row for one address, with no delivery in
between, make it undeliverable: suppressed with reason `soft_bounces`, its enrollments exit as
for a bounce. A hard bounce suppresses at once (saas.messaging.events).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy import func, select, update

from saas.auth.models import Role, Tenant, User, UserStatus
from saas.engine import clock
from saas.engine.models import StepRun
from saas.engine.senders import AUTO_EMAIL, Sender
from saas.extensions import db, get_redis
from saas.i18n import _, speaking
from saas.messaging.models import MessageEvent
from saas.tenancy import current_tenant_id, tenant_context

WINDOW = timedelta(days=7)
MIN_SENDS = 100
BOUNCE_LIMIT = 0.05
COMPLAINT_LIMIT = 0.003
SOFT_KINDS = ("deferred", "blocked")
SOFT_IN_A_ROW = 3
SENT = ("sent", "unknown")
SENDER_CHECK_SECONDS = 900
CHECK_KEY = "engine:sender-health-check"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Health:
    sends: int = 0
    bounces: int = 0
    complaints: int = 0

    @property
    def bounce_rate(self) -> float:
        return self.bounces / self.sends if self.sends else 0.0

    @property
    def complaint_rate(self) -> float:
        return self.complaints / self.sends if self.sends else 0.0

    def breach(self) -> str | None:
        """Why the sender is to be paused, or None."""
        if self.sends < MIN_SENDS:
            return None
        if self.bounce_rate > BOUNCE_LIMIT:
            return "bounces"
        if self.complaint_rate > COMPLAINT_LIMIT:
            return "complaints"
        return None


def health_of(addresses: list[str], now: datetime | None = None) -> dict[str, Health]:
    """Each sender's sends, hard bounces and spam reports over the last 7 days."""
    since = (now or clock.now()) - WINDOW
    sends = dict(db.session.execute(
        select(StepRun.sender, func.count()).where(
            StepRun.sender.in_(addresses), StepRun.started_at >= since,
            StepRun.status.in_(SENT), StepRun.step_type == AUTO_EMAIL)
        .group_by(StepRun.sender)).all())
    events = db.session.execute(
        select(StepRun.sender, MessageEvent.kind, func.count(func.distinct(StepRun.id)))
        .join(StepRun, StepRun.id == MessageEvent.step_run_id)
        .where(StepRun.sender.in_(addresses), StepRun.started_at >= since,
               MessageEvent.kind.in_(("bounce", "spamreport")),
               MessageEvent.occurred_at >= since)
        .group_by(StepRun.sender, MessageEvent.kind)).all()
    found: dict[str, dict[str, int]] = {}
    for address, kind, count in events:
        found.setdefault(address, {})[kind] = count
    return {a: Health(sends.get(a, 0), found.get(a, {}).get("bounce", 0),
                      found.get(a, {}).get("spamreport", 0)) for a in addresses}


def check(address: str, now: datetime | None = None) -> bool:
    """Pause the sender when its health says so; True when this call paused it."""
    now = now or clock.now()
    health = health_of([address], now)[address]
    reason = health.breach()
    if reason is None:
        return False
    paused = db.session.execute(
        update(Sender).where(Sender.address == address, Sender.paused_at.is_(None))
        .values(paused_at=now, paused_reason=reason, paused_stats={
            "sends": health.sends, "bounces": health.bounces, "complaints": health.complaints})
        .execution_options(synchronize_session=False)).rowcount == 1
    if paused:
        _tell_managers(address, reason, health)
    return paused


def _tell_managers(address: str, reason: str, health: Health) -> None:
    from saas.messaging.outbox import store_email

    tenant = db.session.execute(
        select(Tenant).where(Tenant.id == current_tenant_id())).scalar_one()
    users = db.session.execute(select(User).where(User.status == UserStatus.ACTIVE.value)
                               ).scalars()
    for user in users:
        if not (user.has_role(Role.SEQUENCE_MANAGER) or user.is_admin):
            continue
        with speaking(user.language, tenant.language):
            why = (_("%(percent)s of its messages bounced", percent=f"{health.bounce_rate:.1%}")
                   if reason == "bounces" else
                   _("%(percent)s of its messages were reported as spam",
                     percent=f"{health.complaint_rate:.2%}"))
            subject = _("Sending from %(address)s is paused", address=address)
            text = "".join([
                _("Hello %(name)s,", name=user.name), "\n\n",
                _("Automated emails from %(address)s are paused: over the last 7 days %(why)s "
                  "(%(sends)s sends). They wait and go out once a manager resumes the sender "
                  "in Settings > Messaging > Senders.", address=address, why=why,
                  sends=health.sends), "\n"])
        store_email(purpose="sender_paused", to=user.email, subject=subject, text=text)


def resume(sender_id: int, user_id: int | None) -> bool:
    """A manager resumes a paused sender (compare-and-set on the pause); its waiting sends are
    due at once. Commits. False when it was not paused (someone else resumed it)."""
    now = clock.now()
    sender = db.session.execute(select(Sender.address).where(Sender.id == sender_id)
                                ).scalar_one_or_none()
    if sender is None:
        return False
    done = db.session.execute(
        update(Sender).where(Sender.id == sender_id, Sender.paused_at.is_not(None))
        .values(paused_at=None, resumed_at=now, resumed_by_id=user_id)
        .execution_options(synchronize_session=False)).rowcount == 1
    if done:
        db.session.commit()  # the sender row's lock is released before the runs are touched
        from saas.engine.send_moves import lock_enrollments
        from saas.sql import id_in

        waiting = StepRun.sender == sender, StepRun.status == "pending", StepRun.due_at > now
        lock_enrollments(db.session.execute(  # the lock order: enrollments, then their runs
            select(StepRun.enrollment_id).where(*waiting)).scalars())
        ids = db.session.execute(select(StepRun.id).where(*waiting)).scalars().all()
        if ids:
            db.session.execute(update(StepRun).where(id_in(StepRun.id, ids), *waiting)
                               .values(due_at=now).execution_options(synchronize_session=False))
        db.session.commit()
    return done


def periodic() -> int:
    """The periodic task (at most every SENDER_CHECK_SECONDS, whatever the number of workers):
    every sender that is not paused is looked at, so one whose sends reach MIN_SENDS after its
    bounces came is paused too. Returns how many it paused."""
    try:
        if not get_redis().set(CHECK_KEY, "1", nx=True, ex=SENDER_CHECK_SECONDS):
            return 0
    except RedisError:
        log.warning("sender health: could not take the periodic check's turn", exc_info=True)
        return 0
    rows = db.session.execute(select(Sender.tenant_id, Sender.address).where(
        Sender.paused_at.is_(None)).execution_options(all_tenants=True)).all()
    db.session.rollback()
    paused = 0
    for tenant_id, address in rows:
        with tenant_context(tenant_id):
            try:
                paused += check(address)
                db.session.commit()
            except Exception:  # noqa: BLE001 - one tenant's failure never stops another's
                db.session.rollback()
                log.exception("sender health check failed for tenant %s", tenant_id)
    return paused


def _soft_bounced(address: str) -> bool:
    """The address's last SOFT_IN_A_ROW delivery outcomes are all soft bounces."""
    kinds = db.session.execute(
        select(MessageEvent.kind).where(
            func.lower(MessageEvent.address) == address.lower(),
            MessageEvent.kind.in_(("delivered", "bounce", *SOFT_KINDS)))
        .order_by(MessageEvent.occurred_at.desc(), MessageEvent.id.desc())
        .limit(SOFT_IN_A_ROW)).scalars().all()
    return len(kinds) == SOFT_IN_A_ROW and all(k in SOFT_KINDS for k in kinds)


def on_recorded(_sender, *, kind: str, step_run_id: int | None, address: str | None,
                data: dict | None = None, **_more) -> None:
    """A recorded provider event: a bounce or spam report looks at its sender's health; a soft
    bounce counts towards the address's undeliverable rule, and a `blocked` one that does not
    make it undeliverable has its message sent again later (saas.engine.resends)."""
    if kind in ("bounce", "spamreport") and step_run_id is not None:
        sender = db.session.execute(select(StepRun.sender).where(StepRun.id == step_run_id)
                                    ).scalar_one_or_none()
        if sender:
            check(sender)
    elif kind in SOFT_KINDS and address and _soft_bounced(address):
        from saas.engine.events import exit_enrollments_for_address
        from saas.messaging.suppression import suppress

        if suppress(address, None, "soft_bounces"):
            exit_enrollments_for_address(address, "bounce")
    elif kind == "blocked":
        from saas.engine.resends import schedule

        schedule(step_run_id, data)
