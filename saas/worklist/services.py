"""The seller's actions: thin calls to the engine's activities, then one commit.

The engine locks the step run, refuses one that is no longer open (a double submit returns False
and changes nothing) and advances the enrollment in our transaction; we commit it. Sending from the
composer locks the step run first too, so two clicks never send two messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from saas.auth.models import Role, User
from saas.engine import activities
from saas.engine.models import Enrollment, EnrollmentStatus, StepRun, StepRunStatus
from saas.engine.reasons import reason_text
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _, _l
from saas.records.models import Record
from saas.sequences.models import Step
from saas.tenancy import current_tenant_id, get_or_404
from saas.worklist import upnext
from saas.worklist.upnext import CALL_OUTCOMES

ALREADY_DONE = _l("This activity was already done: nothing changed.")


class AlreadyDone(ServiceError):
    def __init__(self):
        super().__init__(ALREADY_DONE)


MOVES_ON = _l("The record moves on to its next step.")
AFTER_END = {
    EnrollmentStatus.COMPLETED.value: _l("That was the last step: the sequence is completed "
                                         "for this record."),
    EnrollmentStatus.EXITED.value: _l("The record has left the sequence."),
    EnrollmentStatus.DISCONNECTED.value: _l("The record is disconnected from the sequence."),
}


def what_next(enrollment_id: int) -> str:
    """After an activity: what became of the record's sequence (read after the commit)."""
    status = db.session.execute(select(Enrollment.status).where(
        Enrollment.id == enrollment_id)).scalar_one_or_none()
    return str(AFTER_END.get(status or "", MOVES_ON))


def is_manager(user) -> bool:
    return user.has_role(Role.SEQUENCE_MANAGER)


def load_activity(step_run_id, user=None) -> StepRun:
    """The step run if the user may act on it: their own, or any for a manager; else 404."""
    user = user or current_user
    run = get_or_404(StepRun, step_run_id)
    if run.seller_id != user.id and not is_manager(user):
        abort(404)
    return run


def _done(ok: bool) -> bool:
    if not ok:
        db.session.rollback()
        raise AlreadyDone()
    db.session.commit()
    return True


def complete(step_run_id: int, user_id: int, *, outcome: str | None = None,
             notes: str | None = None) -> bool:
    notes = (notes or "").strip() or None
    return _done(activities.complete_activity(step_run_id, user_id, outcome=outcome, notes=notes))


def log_call(step_run_id: int, user_id: int, *, outcome: str, notes: str | None = None) -> bool:
    if outcome not in CALL_OUTCOMES:
        raise ServiceError(_("Choose how the call went."), field="outcome")
    return complete(step_run_id, user_id, outcome=outcome, notes=notes)


def skip(step_run_id: int, user_id: int, *, reason: str | None = None) -> bool:
    reason = (reason or "").strip()[:500] or None
    return _done(activities.skip_activity(step_run_id, user_id, reason=reason))


def snooze(step_run_id: int, user_id: int, until: datetime | None, now: datetime) -> bool:
    if until is None:
        raise ServiceError(_("Choose when the activity should come back."), field="until")
    if until <= now:
        raise ServiceError(_("Choose a time in the future."), field="until")
    return _done(activities.snooze_activity(step_run_id, user_id, until))


def skip_wait(step_run_id: int, user_id: int) -> bool:
    return _done(activities.skip_wait(step_run_id, user_id))


def reassign(step_run_id: int, seller_id: int) -> bool:
    """Hand the open activity and its connection to `seller_id` (a manager's action)."""
    return _done(activities.reassign_activity(step_run_id, seller_id))


@dataclass
class Sent:
    provider: str
    confirmed: bool


def send(step_run_id: int, user: User, *, subject: str = "", body: str = "") -> Sent:
    """Send the email or text of an open activity to its record, then complete the step.

    Refuses a suppressed address, an empty message, and a step run that is no longer open."""
    from saas.messaging.config import config_for
    from saas.messaging.delivery import send_email, send_sms
    from saas.messaging.suppression import is_suppressed

    run = db.session.execute(
        select(StepRun).where(StepRun.id == step_run_id).with_for_update()
    ).scalar_one()
    if run.status != StepRunStatus.OPEN.value:
        db.session.rollback()
        raise AlreadyDone()
    record = db.session.execute(select(Record).where(Record.id == run.record_id)).scalar_one()
    step = db.session.execute(select(Step).where(Step.id == run.step_id)).scalar_one()
    draft = upnext.draft_for(run, step, record)
    body = (body or "").replace("\r\n", "\n").strip()
    subject = " ".join((subject or "").split())
    if not draft.to:
        if draft.channel == "sms":
            raise ServiceError(_("%(record)s has no phone number: add one to the record, or mark "
                                 "the activity complete.", record=record.full_name), field="to")
        raise ServiceError(_("%(record)s has no email address: add one to the record, or mark "
                             "the activity complete.", record=record.full_name), field="to")
    if is_suppressed(draft.to):
        raise ServiceError(_("%(address)s is on the suppression list (unsubscribed or bounced): "
                             "nothing was sent. Skip the activity or mark it complete.",
                             address=draft.to), field="to")
    if draft.channel == "email" and not subject:
        raise ServiceError(_("Give the email a subject."), field="subject")
    if not body:
        raise ServiceError(_("Write the message first."), field="body")
    tenant_id = current_tenant_id()
    if draft.channel == "sms":
        result = send_sms(tenant_id, to=draft.to, body=body, step_run_id=run.id)
    else:
        from_address, from_name = config_for(tenant_id).sender_for(user.id)
        # Opens, clicks and replies of a manual email drive email conditions like automated ones.
        # Its footer speaks the recipient's language (else the workspace's), not the seller's.
        tracked = upnext.tracker().apply(
            run.id, draft.to, upnext.html_of(body, draft), body, language=record.language,
            fallback_language=config_for(tenant_id).tenant_language)
        result = send_email(tenant_id, to=draft.to, subject=subject, html=tracked.html,
                            text=tracked.text, from_address=from_address, from_name=from_name,
                            reply_to=tracked.reply_to or user.email, headers=tracked.headers,
                            step_run_id=run.id)
    if result.status in ("failed", "retry"):
        db.session.rollback()
        raise ServiceError(_("The message could not be sent: %(error)s. Nothing was sent.",
                             error=reason_text(result.error) if result.error
                             else _("try again later")), field="send")
    run.provider = result.provider
    run.provider_message_id = result.message_id
    ok = activities.complete_activity(run.id, user.id)
    _done(ok)
    return Sent(result.provider, confirmed=result.status == "sent")
