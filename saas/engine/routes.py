"""Connections: connect a record, a selection or a segment to a sequence; the Connected records
tab; pause, resume, disconnect, assign a seller; a manager's decision on an uncertain send."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from saas.auth.access import requires
from saas.auth.models import Role
from saas.engine import assigning, queries, reasons, resends, services, uncertain
from saas.engine.enroll import lineage_of
from saas.engine.models import ConnectJob, Enrollment, SegmentConnection, StepRun
from saas.errors import ServiceError
from saas.i18n import _, _l, ngettext
from saas.records.forms import CsrfForm
from saas.records.models import Record
from saas.segments.models import Segment
from saas.sequences.models import Sequence
from saas.tenancy import get_or_404
from saas.web.numbers import format_number
from saas.web.params import (
    choice_arg,
    cursor_arg,
    form_id,
    form_ids,
    form_text,
    next_field,
    text_arg,
)
from saas.worklist.upnext import when_label

bp = Blueprint("engine", __name__, url_prefix="/<tenant>")

SELLERS = (Role.SELLER, Role.SEQUENCE_MANAGER)


def _back(default: str):
    return redirect(next_field() or default)


def _checked() -> bool:
    if CsrfForm().validate_on_submit():
        return True
    flash(_("This form expired; nothing changed. Try again."), "error")
    return False


@bp.app_template_global()
def record_sequences(record: Record) -> dict:
    """What the record page's Sequences block shows."""
    rows = queries.for_record(record.id)
    return {"rows": rows, "status_label": reasons.status_label,
            "resends": resends.for_enrollments(row.enrollment.id for row in rows),
            "reason_text": reasons.reason_text,
            "exit_reason_label": reasons.exit_reason_label,
            "sequences": queries.connectable_sequences(record.record_type, record.id),
            "form": CsrfForm(),
            # a seller sees Pause/Disconnect on their own connections only (as the routes say)
            "may_act": lambda enrollment: services.may_act_on(enrollment, current_user)}


@bp.app_template_global()
def connectable_sequences(record_type: str) -> list[Sequence]:
    """Active sequences a list selection of this record type can be connected to."""
    return queries.connectable_sequences(record_type)


@bp.post("/records/<int:record_id>/sequences")
@requires(*SELLERS, sequences=True)
def record_connect(record_id: int):
    record = get_or_404(Record, record_id)
    back = url_for("records.show", record_id=record.id)
    if not _checked():
        return redirect(back)
    sequence = get_or_404(Sequence, form_id("sequence_id"))
    try:
        enrollment = services.connect_one(record, sequence, current_user.id)
    except ServiceError as error:
        flash(str(error), "error")
        return redirect(back)
    if enrollment.seller_id is None:
        flash(_("Connected to “%(sequence)s”; it starts once a manager assigns a seller.",
                sequence=sequence.name))
    else:
        flash(_("Connected to “%(sequence)s”.", sequence=sequence.name))
    return redirect(back)


@bp.post("/sequences/connect-selection")
@requires(*SELLERS, sequences=True)
def connect_selection():
    back = request.referrer if (request.referrer or "").startswith(request.host_url) else "/"
    if not _checked():
        return _back(back)
    ids = form_ids()
    if not ids:
        flash(_("Select the records to connect first."), "error")
        return _back(back)
    sequence = get_or_404(Sequence, form_id("sequence_id"))
    try:
        result = services.connect_selection(ids, sequence, current_user.id)
    except ServiceError as error:
        flash(str(error), "error")
        return _back(back)
    flash(services.selection_message(sequence, result))
    if isinstance(result, ConnectJob):
        return redirect(url_for("engine.connected", sequence_id=sequence.id))
    return _back(back)


def _sequence_page(sequence: Sequence, **extra):
    lineage = sequence.lineage_id or sequence.id
    status = choice_arg("status", queries.FILTERS) or None
    search = text_arg("q", 100)
    after = cursor_arg()
    uncertain_sends = []
    if status == queries.UNCERTAIN:
        uncertain_sends, next_after = queries.uncertain_page(lineage, after, search)
        rows = []
    else:
        rows, next_after = queries.connected_page(lineage, status, after, search)
    return render_template(
        "engine/connected.html", sequence=sequence, rows=rows, next_after=next_after,
        status=status, search=search, counts=queries.counts(lineage),
        uncertain_sends=uncertain_sends, when=when_label,
        connections=queries.segment_connections(lineage),
        segments=queries.connectable_segments(sequence.record_type, lineage),
        jobs=queries.recent_jobs(lineage), sellers=queries.sellers(), form=CsrfForm(),
        statuses=queries.STATUSES, filters=queries.FILTERS, filter_labels=queries.FILTER_LABELS,
        status_label=reasons.status_label, exit_reason_label=reasons.exit_reason_label,
        reason_text=reasons.reason_text, sequence_status_label=reasons.sequence_status_label,
        **extra)


@bp.get("/sequences/<int:sequence_id>/connected")
@requires(Role.SEQUENCE_MANAGER, sequences=True)
def connected(sequence_id: int):
    return _sequence_page(get_or_404(Sequence, sequence_id))


@bp.post("/sequences/<int:sequence_id>/connected/bulk")
@requires(Role.SEQUENCE_MANAGER, sequences=True)
def bulk_connected(sequence_id: int):
    sequence = get_or_404(Sequence, sequence_id)
    back = url_for("engine.connected", sequence_id=sequence.id)
    if not _checked():
        return _back(back)
    ids = form_ids()
    if not ids:
        flash(_("Select at least one record first."), "error")
        return _back(back)
    action = form_text("action", 100)
    if action == "assign":
        return _bulk_assign(sequence, ids, back)
    try:
        changed = services.bulk_action(sequence.lineage_id or sequence.id, ids, action)
    except ServiceError as error:
        flash(str(error), "error")
        return _back(back)
    flash(_bulk_message(action, changed))
    return _back(back)


def _bulk_message(action: str, changed: int) -> str:
    count = format_number(changed)
    if action == "pause":
        if not changed:
            return _("Nothing changed: none of the selected records could be paused.")
        return ngettext("One record paused.", "%(count)s records paused.", changed, count=count)
    if action == "resume":
        if not changed:
            return _("Nothing changed: none of the selected records could be resumed.")
        return ngettext("One record resumed.", "%(count)s records resumed.", changed,
                        count=count)
    if not changed:
        return _("Nothing changed: none of the selected records could be disconnected.")
    return ngettext("One record disconnected.", "%(count)s records disconnected.", changed,
                    count=count)


def _bulk_assign(sequence: Sequence, ids: list[int], back: str):
    try:
        result = assigning.assign_selected(sequence.lineage_id or sequence.id, ids,
                                           form_id("seller_id"))
    except ServiceError as error:
        flash(str(error), "error")
        return _back(back)
    if result.assigned:
        message = ngettext("%(seller)s assigned to one record; its sequence has started.",
                           "%(seller)s assigned to %(count)s records; their sequences have "
                           "started.", result.assigned, seller=result.seller.name,
                           count=format_number(result.assigned))
    else:
        message = _("Nothing changed: none of the selected records was waiting for a seller.")
    if result.assigned and result.left:
        message += " " + ngettext(
            "One other selected record was not waiting for a seller: it is unchanged.",
            "%(count)s other selected records were not waiting for a seller: they are "
            "unchanged.", result.left, count=format_number(result.left))
    flash(message, "success" if result.assigned else "info")
    return _back(back)


@bp.post("/sequences/<int:sequence_id>/connected/segments")
@requires(Role.SEQUENCE_MANAGER, sequences=True)
def connect_segment(sequence_id: int):
    sequence = get_or_404(Sequence, sequence_id)
    back = url_for("engine.connected", sequence_id=sequence.id)
    if not _checked():
        return redirect(back)
    segment = get_or_404(Segment, form_id("segment_id"))
    try:
        job = services.connect_segment(segment, sequence, current_user.id)
    except ServiceError as error:
        flash(str(error), "error")
        return redirect(back)
    flash(ngettext("Connecting the %(count)s member of “%(segment)s”; new members are "
                   "connected as they join.",
                   "Connecting the %(count)s members of “%(segment)s”; new members are "
                   "connected as they join.", job.total, count=format_number(job.total),
                   segment=segment.name))
    return redirect(back)


@bp.post("/sequences/<int:sequence_id>/connected/segments/<int:connection_id>/remove")
@requires(Role.SEQUENCE_MANAGER, sequences=True)
def remove_segment(sequence_id: int, connection_id: int):
    sequence = get_or_404(Sequence, sequence_id)
    connection = get_or_404(SegmentConnection, connection_id)
    if connection.lineage_id != (sequence.lineage_id or sequence.id):
        abort(404)
    if _checked():
        services.disconnect_segment(connection)
        flash(_("New members of that segment are no longer connected; running records go on."))
    return redirect(url_for("engine.connected", sequence_id=sequence.id))


@bp.get("/sequences/<int:sequence_id>/connect-jobs/<int:job_id>")
@requires(Role.SEQUENCE_MANAGER, sequences=True)
def job_progress(sequence_id: int, job_id: int):
    sequence = get_or_404(Sequence, sequence_id)
    job = get_or_404(ConnectJob, job_id)
    if lineage_of(job.sequence_id) != (sequence.lineage_id or sequence.id):
        abort(404)
    response = make_response(render_template("engine/_job.html", job=job, sequence=sequence))
    if job.status in ("done", "failed"):
        # The tab's records, counts and segment picker refresh themselves (connected.html).
        response.headers["HX-Trigger"] = "connected-changed"
    return response


def _enrollment_action(enrollment_id: int, act, done: str):
    enrollment = get_or_404(Enrollment, enrollment_id)
    if not services.may_act_on(enrollment, current_user):
        abort(404)  # another seller's connection, as their activities are
    default = url_for("records.show", record_id=enrollment.record_id)
    if not _checked():
        return _back(default)
    try:
        act(enrollment)
    except ServiceError as error:
        flash(str(error), "error")
        return _back(default)
    flash(done)
    return _back(default)


@bp.post("/enrollments/<int:enrollment_id>/pause")
@requires(*SELLERS, sequences=True)
def pause(enrollment_id: int):
    return _enrollment_action(enrollment_id, services.pause, _("Paused."))


@bp.post("/enrollments/<int:enrollment_id>/resume")
@requires(*SELLERS, sequences=True)
def resume(enrollment_id: int):
    return _enrollment_action(enrollment_id, services.resume, _("Resumed."))


@bp.post("/enrollments/<int:enrollment_id>/disconnect")
@requires(*SELLERS, sequences=True)
def disconnect(enrollment_id: int):
    return _enrollment_action(enrollment_id, services.disconnect,
                              _("Disconnected: no further steps will run."))


@bp.post("/enrollments/<int:enrollment_id>/assign")
@requires(Role.SEQUENCE_MANAGER, sequences=True)
def assign(enrollment_id: int):
    seller_id = form_id("seller_id")
    return _enrollment_action(enrollment_id, lambda e: services.assign(e, seller_id),
                              _("Seller assigned; the sequence has started."))


UNCERTAIN_DONE = {
    "resend": _l("The message will be sent again shortly."),
    "sent": _l("Marked as sent; the connection moves on to its next step."),
}


@bp.post("/step-runs/<int:step_run_id>/uncertain")
@requires(Role.SEQUENCE_MANAGER, sequences=True)
def settle_uncertain(step_run_id: int):
    """A manager's decision on a send whose outcome is unknown: send it again, or mark it sent."""
    run = get_or_404(StepRun, step_run_id)
    default = url_for("engine.connected", sequence_id=run.sequence_id, status=queries.UNCERTAIN)
    if not _checked():
        return _back(default)
    action = form_text("action", 100)
    if action not in UNCERTAIN_DONE:
        flash(_("Choose “Resend” or “Mark as sent”; nothing changed."), "error")
        return _back(default)
    run_id = run.id
    if uncertain.resolve_unknown(run_id, action):
        flash(str(UNCERTAIN_DONE[action]))
    elif queries.run_status(run_id) == "unknown":
        flash(_("This connection has ended, so its message cannot be sent again; mark it as "
                "sent if the recipient got it."), "error")
    else:
        flash(_("This send was already settled; nothing changed."), "info")
    return _back(default)
