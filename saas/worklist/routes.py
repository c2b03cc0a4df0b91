"""The worklist page, the Up next panel and the seller's actions on an activity.

Every action answers htmx with the piece to swap (the panel, or the worklist row) and a plain
form post with a redirect and a flash message, so the pages work without JavaScript too.
"""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup

from saas.auth.access import missing_for, requires
from saas.auth.models import Role, User
from saas.engine import clock, reasons
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _
from saas.messaging.render_limits import EMAIL_MAX_BYTES
from saas.records.models import Record
from saas.tenancy import get_or_404
from saas.web.ids import BIGINT_MAX
from saas.web.numbers import format_number
from saas.web.params import (
    MAX_LINE,
    form_bool,
    form_choice,
    form_id,
    form_ids,
    form_text,
    id_arg,
    next_field,
    query_fields,
    text_arg,
)
from saas.worklist import bulk, queries, services, upnext

bp = Blueprint("worklist", __name__, url_prefix="/<tenant>")


@bp.before_request
@requires(Role.SELLER, Role.SEQUENCE_MANAGER, sequences=True)
def _gate():
    return None


def _htmx() -> bool:
    return bool(request.headers.get("HX-Request"))


def _seller() -> User:
    """Whose worklist: one's own; a manager may pick any user of the tenant."""
    wanted = text_arg("seller", 40)
    if not wanted or wanted == str(current_user.id):
        return current_user
    if not services.is_manager(current_user):
        abort(404)
    return get_or_404(User, wanted)


def _query(seller: User) -> queries.WorklistQuery:
    query = queries.WorklistQuery.from_args(seller.id, query_fields())
    query.seller_param = seller.id if seller.id != current_user.id else None
    return query


def _prefix(endpoint: str, key: str) -> str:
    """The URL of `endpoint` up to its id ("/acme/activities/"), built once per page."""
    url = url_for(endpoint, **{key: 0})
    return url[:url.index("/0") + 1]


def _day(user) -> queries.DayBounds:
    return queries.DayBounds.for_user(clock.now(), user.time_zone)


@bp.route("/worklist")
def index():
    seller = _seller()
    query = _query(seller)
    page = queries.worklist_page(query, _day(current_user))
    return render_template(
        "worklist/index.html", seller=seller, query=query, page=page,
        sellers=queries.sellers() if services.is_manager(current_user) else [],
        sequences=queries.sequence_choices(), when_filters=queries.WHEN,
        activity_types=queries.ACTIVITY_TYPES, sorts=queries.SORTS, counts=None,
        record_types=g.tenant.record_types, back=request.full_path.rstrip("?"),
        grouped=query.sort == "due", due_groups=queries.DUE_GROUPS,
        now=clock.now(), activities_prefix=_prefix("worklist.complete", "step_run_id"),
        records_prefix=_prefix("records.show", "record_id"),
        snooze_default=queries.snooze_default(clock.now(), current_user.time_zone))


@bp.route("/worklist/counts")
def counts():
    seller = _seller()
    query = _query(seller)
    return render_template("worklist/_when_tabs.html", query=query,
                           when_filters=queries.WHEN,
                           counts=queries.counts(seller.id, _day(current_user)),
                           count_cap=queries.COUNT_CAP)


@bp.route("/worklist/auto-advance", methods=["POST"])
def auto_advance():
    current_user.auto_advance = form_bool("auto_advance")
    db.session.commit()
    flash(_("After completing an activity here, the next record opens.")
          if current_user.auto_advance
          else _("After completing an activity here, you stay on the worklist."), "success")
    return redirect(next_field() or url_for("worklist.index"))


# --- Up next ----------------------------------------------------------------------------------

def render_panel(record: Record, *, open_run: int | None = None, open_mode: str = "",
                 values: dict | None = None, errors: dict | None = None,
                 notice: tuple[str, str] | None = None, next_record: int | None = None) -> str:
    panels = upnext.panels_for(record)
    manager = services.is_manager(current_user)
    drafts = {}
    for panel in panels:
        run = panel.current
        if run is not None and run.status == "open" and run.step_type in ("email", "sms") \
                and (manager or run.seller_id == current_user.id):
            drafts[run.id] = upnext.draft_for(run, panel.current_step, record)
    return render_template(
        "worklist/_upnext.html", record=record, panels=panels, drafts=drafts, manager=manager,
        open_run=open_run, open_mode=open_mode, values=values or {}, errors=errors or {},
        notice=notice, next_record=next_record, outcomes=upnext.CALL_OUTCOMES,
        type_label=upnext.type_label, status_label=reasons.status_label,
        exit_reason_label=reasons.exit_reason_label, reason_text=reasons.reason_text,
        icon=upnext.icon, now=clock.now(), wait_label=upnext.wait_label,
        today=_day(current_user).start,
        snooze_default=queries.snooze_default(clock.now(), current_user.time_zone))


@bp.app_template_global()
def upnext_panel(record: Record) -> Markup:
    """The panel, rendered into the record page (no extra request, works without JavaScript)."""
    if missing_for(current_user, (Role.SELLER, Role.SEQUENCE_MANAGER), True):
        return Markup(render_template("worklist/_upnext_unavailable.html",  # noqa: S704
                                      record=record))
    return Markup(render_panel(  # noqa: S704 - our own rendered template
        record, open_run=id_arg("activity", BIGINT_MAX), open_mode=text_arg("open", 20)))


@bp.route("/records/<int:record_id>/upnext")
def panel(record_id: int):
    record = get_or_404(Record, record_id)
    return render_panel(record)


# --- actions ----------------------------------------------------------------------------------

MAX_NOTES = 20_000  # characters of an activity's notes
MAX_SUBJECT = 255  # the outbox's subject column
MAX_BODY = EMAIL_MAX_BYTES  # a message written by hand, bounded like a rendered one


def _local_time(value: str, user) -> datetime | None:
    """A datetime-local field ("2026-11-24T09:00") in the user's time zone, as UTC."""
    try:
        naive = datetime.fromisoformat((value or "").strip())
    except ValueError:
        return None
    if naive.tzinfo is None:
        naive = naive.replace(tzinfo=queries.zone(user.time_zone))
    return naive.astimezone(clock.now().tzinfo)


def _respond(run, ok_message: str | None, *, error: ServiceError | None = None,
             mode: str = "", values: dict | None = None):
    """After an action: the panel or the worklist row for htmx, else a redirect with a flash."""
    origin = form_choice("from", ("record", "worklist"), "record")
    category = "error" if error else ("info" if ok_message == str(services.ALREADY_DONE)
                                      else "success")
    message = error.message if error else ok_message
    record = get_or_404(Record, run.record_id)
    if origin == "worklist":
        nxt = None
        if category == "success" and current_user.auto_advance:
            nxt = queries.next_record_id(run.seller_id or current_user.id, clock.now())
        if _htmx():
            if nxt:
                response = Response("")
                response.headers["HX-Redirect"] = url_for("records.show", record_id=nxt)
                return response
            response = Response(render_template(
                "worklist/_row_result.html", record=record, message=message, category=category,
                back=next_field() or url_for("worklist.index")))
            response.headers["HX-Trigger"] = "worklist-changed"
            return response
        flash(message, category)
        if nxt:
            return redirect(url_for("records.show", record_id=nxt))
        return redirect(next_field() or url_for("worklist.index"))
    if _htmx():
        errors = {error.field or "form": error.message} if error else {}
        following = None
        if category == "success":
            following = queries.next_record_id(current_user.id, clock.now(), record.id)
        return render_panel(record, open_run=run.id if error else None, open_mode=mode,
                            values=values if error else None, errors=errors,
                            notice=None if error else (category, message),
                            next_record=following) + _record_page_parts(record)
    flash(message, category)
    args = {"activity": run.id, "open": mode} if error and mode else {}
    return redirect(url_for("records.show", record_id=record.id, **args) + "#upnext")


def _record_page_parts(record: Record) -> str:
    """The other parts of the record page an activity changes (its Sequences block), swapped
    out of band with the panel so the page agrees with itself."""
    return render_template("worklist/_record_page_parts.html", record=record)


def _act(step_run_id: int, action, ok_message: str, mode: str = "", values: dict | None = None,
         moves_on: bool = True):
    """Run the action; on success say `ok_message` and (`moves_on`) what became of the
    record's sequence: its next step, or its end."""
    run = services.load_activity(step_run_id)
    record_id, seller_id, enrollment_id = run.record_id, run.seller_id, run.enrollment_id
    try:
        action(run)
    except services.AlreadyDone:
        return _respond(_Gone(step_run_id, record_id, seller_id), str(services.ALREADY_DONE))
    except ServiceError as error:
        db.session.rollback()
        return _respond(_Gone(step_run_id, record_id, seller_id), None, error=error, mode=mode,
                        values=values)
    if moves_on:
        ok_message = _("%(done)s %(next)s", done=ok_message,
                       next=services.what_next(enrollment_id))
    return _respond(_Gone(step_run_id, record_id, seller_id), ok_message)


class _Gone:
    """What _respond needs of a step run after its transaction ended (no lazy reload)."""

    def __init__(self, run_id: int, record_id: int, seller_id: int | None):
        self.id, self.record_id, self.seller_id = run_id, record_id, seller_id


@bp.route("/activities/<int:step_run_id>/complete", methods=["POST"])
def complete(step_run_id: int):
    notes = form_text("notes", MAX_NOTES, None)
    return _act(step_run_id, lambda run: services.complete(run.id, current_user.id, notes=notes),
                _("Done."), "complete", {"notes": notes})


@bp.route("/activities/<int:step_run_id>/call", methods=["POST"])
def log_call(step_run_id: int):
    outcome, notes = form_text("outcome", 100), form_text("notes", MAX_NOTES, None)
    label = upnext.CALL_OUTCOMES.get(outcome, "")
    return _act(step_run_id, lambda run: services.log_call(run.id, current_user.id,
                                                           outcome=outcome, notes=notes),
                _("Call logged: %(outcome)s.", outcome=label), "call",
                {"outcome": outcome, "notes": notes})


@bp.route("/activities/<int:step_run_id>/skip", methods=["POST"])
def skip(step_run_id: int):
    reason = form_text("reason", MAX_LINE, None)
    return _act(step_run_id, lambda run: services.skip(run.id, current_user.id, reason=reason),
                _("Skipped."), "skip", {"reason": reason})


@bp.route("/activities/<int:step_run_id>/snooze", methods=["POST"])
def snooze(step_run_id: int):
    raw = form_text("until", 100)
    until = _local_time(raw, current_user)
    label = upnext.when_label(until)
    return _act(step_run_id,
                lambda run: services.snooze(run.id, current_user.id, until, clock.now()),
                _("Snoozed until %(when)s.", when=label), "snooze", {"until": raw},
                moves_on=False)


@bp.route("/activities/<int:step_run_id>/skip-wait", methods=["POST"])
def skip_wait(step_run_id: int):
    return _act(step_run_id, lambda run: services.skip_wait(run.id, current_user.id),
                _("The wait is skipped."))


@bp.route("/activities/<int:step_run_id>/send", methods=["POST"])
def send(step_run_id: int):
    subject, body = form_text("subject", MAX_SUBJECT), form_text("body", MAX_BODY)
    sent: dict = {}

    def action(run):
        sent["result"] = services.send(run.id, current_user, subject=subject, body=body)

    response = _act(step_run_id, action, _("Sent."),
                    "compose", {"subject": subject, "body": body})
    result = sent.get("result")
    if result is not None and not result.confirmed:
        flash(_("The provider did not confirm the message; it is recorded as sent."), "info")
    return response


@bp.route("/worklist/bulk", methods=["POST"])
def bulk_action():
    """The bulk bar: the selected rows, each through its row's service (saas/worklist/bulk.py),
    then the list again with a flash of how many were done and how many already were."""
    back = next_field() or url_for("worklist.index")
    ids = form_ids("ids")
    if len(ids) > bulk.BULK_MAX:
        abort(400, description=_("Select at most %(max)s activities at once.",
                                 max=format_number(bulk.BULK_MAX)))
    action = form_choice("action", bulk.ACTIONS)
    until = _local_time(form_text("until", 100), current_user) if action == "snooze" else None
    seller_id = form_id("seller_id") if action == "reassign" else None
    try:
        outcome = bulk.apply(action, ids, current_user, now=clock.now(), until=until,
                             seller_id=seller_id)
    except ServiceError as error:
        flash(error.message, "error")
        return redirect(back)
    seller_name = get_or_404(User, seller_id).name if action == "reassign" else ""
    flash(bulk.message(outcome, seller_name), "success" if outcome.done else "info")
    return redirect(back)
