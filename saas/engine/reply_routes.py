"""How inbound replies were read, on the record's Sequences block, and a manager's correction of
a misread ("This was a real reply", "This was an out-of-office")."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, url_for
from flask_login import current_user
from sqlalchemy import select

from saas.auth.access import requires
from saas.auth.models import Role
from saas.engine import replies
from saas.engine.models import Enrollment, StepRun
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _, _l
from saas.messaging.models import MessageEvent
from saas.messaging.replies import AUTO_REPLY, BOUNCE, REPLY, UNSUBSCRIBE
from saas.records.forms import CsrfForm
from saas.tenancy import get_or_404
from saas.web.dates import format_date
from saas.web.params import form_text

bp = Blueprint("replies", __name__, url_prefix="/<tenant>")
INBOUND = "reply:%"  # the provider event ids of Inbound Parse messages
KIND_LABELS = {REPLY: _l("Real reply"), AUTO_REPLY: _l("Out-of-office reply"),
               BOUNCE: _l("Bounce notice"), UNSUBSCRIBE: _l("Unsubscribe request")}
DONE = {
    (REPLY, "exited"): _l("Marked as a real reply: the record left the sequence (replied)."),
    (REPLY, "resumed"): _l("Marked as a real reply: the sequence resumed (it does not exit on "
                           "replies)."),
    (REPLY, "nothing"): _l("Marked as a real reply."),
    (AUTO_REPLY, "paused"): _l("Marked as an out-of-office: the sequence is paused until the "
                               "record's person is back."),
    (AUTO_REPLY, "nothing"): _l("Marked as an out-of-office: it no longer counts as a reply."),
    (AUTO_REPLY, "ended"): _l("Marked as an out-of-office: it no longer counts as a reply. The "
                              "record stays out of the sequence; connect it again if it should "
                              "go on."),
}


def _line(event: MessageEvent, enrollment: Enrollment) -> str:
    """"Out-of-office reply (Auto-Submitted: auto-replied) — paused until 12 Jan 2027"."""
    data = event.data or {}
    label = str(KIND_LABELS.get(event.kind, KIND_LABELS[REPLY]))
    if data.get("corrected_from"):
        text = _("%(kind)s (corrected by a manager)", kind=label)
    elif data.get("reason"):
        text = _("%(kind)s (%(reason)s)", kind=label, reason=data["reason"])
    else:
        text = label
    resume_on = data.get("resume_on")
    if (event.kind == AUTO_REPLY and resume_on and enrollment.status == "paused"
            and enrollment.resume_at is not None):
        try:
            day = format_date(date.fromisoformat(resume_on))
        except ValueError:
            day = resume_on
        text = _("%(what)s — paused until %(day)s", what=text, day=day)
    return text


@bp.app_template_global()
def reply_notes(rows) -> dict[int, list[dict]]:
    """{enrollment id: the inbound replies to its messages, oldest first, each with its line
    and the corrections a manager may make}."""
    enrollments = {row.enrollment.id: row.enrollment for row in rows}
    if not enrollments:
        return {}
    found = db.session.execute(
        select(MessageEvent, StepRun.enrollment_id)
        .join(StepRun, StepRun.id == MessageEvent.step_run_id)
        .where(StepRun.enrollment_id.in_(list(enrollments)),
               MessageEvent.provider_event_id.like(INBOUND),
               MessageEvent.kind.in_(list(KIND_LABELS)))
        .order_by(MessageEvent.id).limit(200)).all()
    manager = current_user.is_authenticated and current_user.has_role(Role.SEQUENCE_MANAGER)
    notes: dict[int, list[dict]] = {}
    for event, enrollment_id in found:
        enrollment = enrollments[enrollment_id]
        fix = None
        if manager and event.kind == AUTO_REPLY:
            fix = (REPLY, _("This was a real reply"),
                   _("Treat this as a real reply? The record leaves the sequence as replied "
                     "(if the sequence exits on replies)."))
        elif manager and event.kind == REPLY and not (event.data or {}).get("corrected_from") \
                and (enrollment.status in ("active", "paused")
                     or enrollment.exit_reason == "replied"):
            fix = (AUTO_REPLY, _("This was an out-of-office"),
                   _("Treat this as an out-of-office? It no longer counts as a reply."))
        notes.setdefault(enrollment_id, []).append(
            {"event": event, "line": _line(event, enrollment), "fix": fix})
    return notes


@bp.post("/message-events/<int:event_id>/correct")
@requires(Role.SEQUENCE_MANAGER, sequences=True)
def correct(event_id: int):
    event = get_or_404(MessageEvent, event_id)
    run = db.session.execute(select(StepRun).where(
        StepRun.id == event.step_run_id)).scalar_one_or_none()
    if run is None or not (event.provider_event_id or "").startswith("reply:"):
        abort(404)
    back = url_for("records.show", record_id=run.record_id) if run.record_id else "/"
    if not CsrfForm().validate_on_submit():
        flash(_("This form expired; nothing changed. Try again."), "error")
        return redirect(back)
    as_kind = form_text("as", 16)
    if as_kind not in (REPLY, AUTO_REPLY):
        flash(_("Choose “real reply” or “out-of-office”; nothing changed."), "error")
        return redirect(back)
    try:
        outcome = replies.correct(event, as_kind, current_user.id)
    except ServiceError as error:
        flash(str(error), "info")
        return redirect(back)
    if as_kind == AUTO_REPLY and outcome == "nothing" and db.session.execute(
            select(Enrollment.status).where(Enrollment.id == run.enrollment_id)
    ).scalar_one_or_none() not in ("active", "paused"):
        outcome = "ended"
    flash(str(DONE.get((as_kind, outcome), DONE[(as_kind, "nothing")])), "success")
    return redirect(back)
