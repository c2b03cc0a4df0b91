"""What a classified inbound reply does to its enrollment (saas.messaging.replies reads it, the
webhook records it, messaging announces it; `on_recorded` follows here):

- a real reply ("reply") and an unsubscribe request ("unsubscribe", the address suppressed)
  exit as they always did (saas.engine.events), a bounce notice ("bounce") is a bounce;
- an out-of-office ("auto_reply") pauses the enrollment (active -> paused, compare-and-set,
  under its lock) until the start of the return day it gave, in the record's zone, or
  `ooo_resume_days` (a tenant setting) from today; `enrollment.resume_at` holds that time and
  `resume_due` (a periodic task) resumes it then. A person's pause or resume clears
  `resume_at`: their decision overrides the out-of-office's.

A manager corrects a misread (`correct`): an out-of-office that was a real reply exits as a
reply (or, when the sequence does not exit on replies, resumes); a real reply that was an
out-of-office is counted as one from then on, and pauses the enrollment when it still runs. An
enrollment that a misread reply ended stays ended (its remaining runs were cancelled): the
manager connects the record again if it should go on.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, update

from saas.auth.models import Tenant
from saas.engine import clock
from saas.engine.events import on_message_event, step_run_of
from saas.engine.lifecycle import hold_runs, release_runs
from saas.engine.models import RUNNING_STATUSES, Enrollment, EnrollmentStatus
from saas.engine.windows import day_start, zone
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from saas.messaging.models import MessageEvent
from saas.messaging.replies import AUTO_REPLY, REPLY, ooo_resume_days
from saas.records.models import Record
from saas.tenancy import current_tenant_id, tenant_context

log = logging.getLogger(__name__)
ACTIVE, PAUSED = EnrollmentStatus.ACTIVE.value, EnrollmentStatus.PAUSED.value
ALREADY = _l("This reply was already corrected; nothing changed.")


def on_recorded(_sender, *, kind: str, step_run_id: int | None, data: dict, notify: bool = True,
                event_id: int | None = None, **_more) -> None:
    """An out-of-office reply was recorded: pause its enrollment (in the recorder's
    transaction)."""
    if kind == AUTO_REPLY and notify and step_run_id is not None:
        pause_for_out_of_office(step_run_id, data.get("return_date"), event_id)


def _resume_on(enrollment: Enrollment, return_date: str | None) -> tuple[date, datetime]:
    """(the local day it resumes, the start of that day in the record's zone, UTC)."""
    record_zone = db.session.execute(select(Record.time_zone).where(
        Record.id == enrollment.record_id)).scalar_one_or_none()
    tz = zone(record_zone)
    today = clock.now().astimezone(tz).date()
    day = None
    if return_date:
        try:
            day = date.fromisoformat(return_date)
        except ValueError:
            day = None
    if day is None or day <= today:
        settings = db.session.execute(select(Tenant.settings).where(
            Tenant.id == current_tenant_id())).scalar_one_or_none()
        day = today + timedelta(days=ooo_resume_days(settings))
    noon = datetime.combine(day, time(12), tzinfo=tz)  # surely inside that local day
    return day, day_start(noon, record_zone)


def pause_for_out_of_office(step_run_id: int, return_date: str | None,
                            event_id: int | None = None) -> str:
    """Pause the enrollment of this run's message until its recipient is back; returns
    'paused', 'extended' (already paused by an earlier out-of-office: the later date wins) or
    'nothing' (ended, or paused by a person). The caller commits."""
    run = step_run_of(step_run_id)
    if run is None:
        return "nothing"
    enrollment = db.session.execute(select(Enrollment).where(
        Enrollment.id == run.enrollment_id).with_for_update()).scalar_one_or_none()
    if enrollment is None or enrollment.status not in RUNNING_STATUSES:
        return "nothing"
    day, resume_at = _resume_on(enrollment, return_date)
    now = clock.now()
    paused = db.session.execute(
        update(Enrollment).where(Enrollment.id == enrollment.id, Enrollment.status == ACTIVE)
        .values(status=PAUSED, resume_at=resume_at, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if paused:
        hold_runs([enrollment.id])
        outcome = "paused"
    else:
        extended = db.session.execute(
            update(Enrollment).where(Enrollment.id == enrollment.id, Enrollment.status == PAUSED,
                                     Enrollment.resume_at.is_not(None),
                                     Enrollment.resume_at < resume_at)
            .values(resume_at=resume_at, updated_at=now)
            .execution_options(synchronize_session=False)).rowcount
        outcome = "extended" if extended else "nothing"
    db.session.expire(enrollment)
    if outcome != "nothing" and event_id is not None:
        _note(event_id, {"resume_on": day.isoformat()})
    return outcome


def _note(event_id: int, values: dict) -> None:
    event = db.session.execute(select(MessageEvent).where(
        MessageEvent.id == event_id)).scalar_one_or_none()
    if event is not None:
        event.data = {**(event.data or {}), **values}


def resume_due(limit: int = 5000) -> int:
    """The periodic task: every enrollment an out-of-office paused whose time has come resumes
    (paused -> active, set-based, per tenant, one transaction each); returns how many."""
    now = clock.now()
    tenants = db.session.execute(
        select(Enrollment.tenant_id).where(Enrollment.resume_at <= now,
                                           Enrollment.status == PAUSED)
        .distinct().execution_options(all_tenants=True)).scalars().all()
    db.session.rollback()
    resumed = 0
    for tenant_id in tenants:
        with tenant_context(tenant_id):
            try:
                resumed += resume_tenant(now, limit)
                db.session.commit()
            except Exception:  # noqa: BLE001 - one tenant's failure never stops another's
                db.session.rollback()
                log.exception("out-of-office resume failed for tenant %s", tenant_id)
    return resumed


def resume_tenant(now: datetime, limit: int = 5000) -> int:
    """The tenant in context's due out-of-office pauses resumed (locked in id order, skipping
    those a person or a worker holds: the next tick gets them). The caller commits."""
    ids = db.session.execute(
        select(Enrollment.id).where(Enrollment.resume_at <= now, Enrollment.status == PAUSED)
        .order_by(Enrollment.id).limit(limit).with_for_update(skip_locked=True)).scalars().all()
    if not ids:
        return 0
    moved = db.session.execute(
        update(Enrollment).where(Enrollment.id.in_(ids), Enrollment.status == PAUSED,
                                 Enrollment.resume_at <= now)
        .values(status=ACTIVE, resume_at=None, updated_at=now).returning(Enrollment.id)
        .execution_options(synchronize_session=False)).scalars().all()
    release_runs(moved)
    return len(moved)


# -- a manager's correction ------------------------------------------------------------------

def correct(event: MessageEvent, as_kind: str, user_id: int | None) -> str:
    """A manager says what an inbound reply really was (`as_kind`: "reply" or "auto_reply");
    returns what the engine did: 'exited', 'resumed', 'paused' or 'nothing'. Commits; a reply
    corrected meanwhile by someone else is a ServiceError and changes nothing."""
    before = AUTO_REPLY if as_kind == REPLY else REPLY
    run = step_run_of(event.step_run_id)
    if run is not None:  # the one lock order: the enrollment, then the event
        db.session.execute(select(Enrollment.id).where(Enrollment.id == run.enrollment_id)
                           .with_for_update())
    data = {**(event.data or {}), "corrected_from": before, "corrected_by": user_id}
    changed = db.session.execute(
        update(MessageEvent).where(MessageEvent.id == event.id, MessageEvent.kind == before)
        .values(kind=as_kind, data=data).execution_options(synchronize_session=False)).rowcount
    if not changed:
        db.session.rollback()
        raise ServiceError(ALREADY)
    outcome = "nothing"
    if run is not None and as_kind == REPLY:
        outcome = on_message_event(run.id, "replied")
        if outcome != "exited":
            outcome = "resumed" if _end_ooo_pause(run.enrollment_id) else "nothing"
    elif run is not None:
        outcome = pause_for_out_of_office(run.id, (event.data or {}).get("return_date"),
                                          event.id)
        outcome = "paused" if outcome != "nothing" else "nothing"
    db.session.commit()
    db.session.expire(event)
    return outcome


def _end_ooo_pause(enrollment_id: int) -> bool:
    """An out-of-office pause that should not have been: resume (compare-and-set)."""
    moved = db.session.execute(
        update(Enrollment).where(Enrollment.id == enrollment_id, Enrollment.status == PAUSED,
                                 Enrollment.resume_at.is_not(None))
        .values(status=ACTIVE, resume_at=None, updated_at=clock.now())
        .execution_options(synchronize_session=False)).rowcount
    if moved:
        release_runs([enrollment_id])
    return bool(moved)
