"""A seller's activities over the API: the worklist (open activities, due first), and completing,
skipping or snoozing one, as the worklist and Up next do.

The list is the worklist's own query (saas/worklist/queries.py); the actions are its services
(saas/worklist/services.py), which lock the enrollment then the step run and refuse one no
longer open (a 409 here). A seller's key sees and acts on that seller's activities only (others
are a 404, as on the web); a manager's key may read another seller's list with `seller_id`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import request
from flask_login import current_user
from sqlalchemy import select

from saas.api.enrollments import STEP_RUN, run_json
from saas.api.problems import ApiProblem, invalid
from saas.api.records import ID, NOT_FOUND, PROBLEM, WHEN
from saas.api.spec import (
    AFTER,
    ALL,
    LIMIT,
    SELLERS,
    Param,
    component,
    cursor,
    nullable,
    operation,
    page_of,
    parse_body,
    ref,
    text,
)
from saas.auth.models import User
from saas.engine import clock
from saas.engine.models import StepRun
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _, _l
from saas.sequences.models import Step, StepType
from saas.web.ids import INT_MAX
from saas.worklist import queries, services
from saas.worklist.upnext import CALL_OUTCOMES, when_label

OUTCOMES = list(CALL_OUTCOMES)
MAX_NOTES = 20_000

_ACTIVITY_FIELDS = {
    "id": {**ID, "description": _l("The step run's id: use it to complete, skip or snooze.")},
    "record_id": ID, "record_name": {"type": "string"}, "company": {"type": "string"},
    "record_type": {"type": "string"}, "email": {"type": ["string", "null"]},
    "phone": {"type": ["string", "null"]}, "linkedin_url": {"type": ["string", "null"]},
    "type": {"type": "string", "enum": list(queries.ACTIVITY_TYPES)},
    "name": {"type": "string"}, "sequence_id": ID, "sequence_name": {"type": "string"},
    "due_at": nullable(WHEN), "snoozed_until": nullable(WHEN), "overdue": {"type": "boolean"}}
ACTIVITY = component("Activity", {
    "type": "object", "required": list(_ACTIVITY_FIELDS), "properties": _ACTIVITY_FIELDS})
component("ActivityCompletion", {
    "type": "object", "additionalProperties": False, "properties": {
        "outcome": {"type": "string", "enum": OUTCOMES,
                    "description": _l("How a phone call went (required for a call; other "
                                      "activities take none).")},
        "notes": text(MAX_NOTES)}})
component("ActivitySkip", {
    "type": "object", "additionalProperties": False,
    "properties": {"reason": text(500)}})
component("ActivitySnooze", {
    "type": "object", "additionalProperties": False, "required": ["until"],
    "properties": {"until": {"type": "string", "format": "date-time", "maxLength": 64,
                             "description": _l("When it comes back (UTC unless an offset is "
                                               "given); in the future.")}}})
DONE = component("ActivityDone", {
    "type": "object", "required": ["activity", "enrollment_status", "message"],
    "properties": {"activity": STEP_RUN,
                   "enrollment_status": {"type": ["string", "null"]},
                   "message": {"type": "string",
                               "description": _l("What became of the record's sequence.")}}})
CONFLICT = (409, (_l("This activity was already done, or its connection is paused or ended."),
                  PROBLEM))
_ANSWERS = {200: (_l("The activity after the change."), DONE), 404: NOT_FOUND[1],
            409: CONFLICT[1], 422: (_l("Some fields need attention."), PROBLEM)}


def activity_json(row: queries.Row) -> dict:
    return {"id": row.step_run_id, "record_id": row.record_id, "record_name": row.record_name,
            "company": row.company or "", "record_type": row.record_type, "email": row.email,
            "phone": row.phone, "linkedin_url": row.linkedin_url, "type": row.activity_type,
            "name": row.activity_name, "sequence_id": row.sequence_id,
            "sequence_name": row.sequence_name, "due_at": row.due_at,
            "snoozed_until": row.snoozed_until, "overdue": row.overdue}


def _seller(seller_id: int | None):
    """Whose list: the key's user's; a manager's key may name any user of the organization."""
    if seller_id is None or seller_id == current_user.id:
        return current_user
    if not services.is_manager(current_user):
        raise ApiProblem(403, detail=_("A seller’s key reads only its own activities."))
    seller = db.session.execute(select(User).where(User.id == seller_id)).scalar_one_or_none()
    if seller is None:
        raise ApiProblem(400, _("Some query parameters need attention."), errors=[
            {"field": "seller_id", "message": _("No user has this id.")}])
    return seller


@operation("GET", "/activities", summary=_l("List open activities"), tag="Activities", allow=ALL,
           sequences=True, query=(
               Param("seller_id", {"type": "integer", "minimum": 1, "maximum": INT_MAX},
                     _l("Another seller's list (sequence manager keys).")),
               Param("when", {"type": "string", "enum": [k for k in queries.WHEN if k]},
                     _l("`overdue`, `today`, `upcoming` (in the key user's time zone), or "
                        "`snoozed`.")),
               Param("type", {"type": "string", "enum": list(queries.ACTIVITY_TYPES)}),
               Param("sequence_id", {"type": "integer", "minimum": 1, "maximum": INT_MAX},
                     _l("A sequence (any of its versions).")),
               LIMIT, AFTER),
           description=_l("The worklist: open activities of running connections, due first. "
                          "Snoozed ones are left out until their time (see `when=snoozed`)."),
           responses={200: (_l("A page of activities."), page_of(ACTIVITY))})
def list_activities(query: dict):
    seller = _seller(query["seller_id"])
    cursor(query["after"], [StepRun.due_at, StepRun.id])
    lineage = None
    if query["sequence_id"] is not None:
        from saas.engine.enroll import lineage_of

        lineage = lineage_of(query["sequence_id"])
    worklist = queries.WorklistQuery(seller_id=seller.id, when=query["when"] or "",
                                     activity_type=query["type"] or "", sequence=lineage,
                                     after=query["after"])
    day = queries.DayBounds.for_user(clock.now(), current_user.time_zone)
    page = queries.worklist_page(worklist, day, limit=query["limit"])
    return {"data": [activity_json(r) for r in page.rows], "next_cursor": page.next_after}


def _optional_body(name: str) -> dict:
    if not request.get_data(cache=True).strip():
        return {}
    return parse_body(name)


def _act(step_run_id: int, action, message: str | None = None) -> dict:
    """Run the worklist's service on the activity; answer the run and what became of its
    sequence."""
    run = services.load_activity(step_run_id)
    enrollment_id = run.enrollment_id
    try:
        action(run)
    except services.AlreadyDone:
        raise ApiProblem(409, detail=str(services.ALREADY_DONE)) from None
    except ServiceError as error:
        db.session.rollback()
        raise invalid({error.field or "": error.message}) from None
    after = db.session.execute(select(StepRun).where(StepRun.id == step_run_id)).scalar_one()
    name = db.session.execute(select(Step.name).where(Step.id == after.step_id)).scalar()
    from saas.engine.models import Enrollment

    status = db.session.execute(select(Enrollment.status).where(
        Enrollment.id == enrollment_id)).scalar()
    return {"activity": run_json(after, name), "enrollment_status": status,
            "message": message or services.what_next(enrollment_id)}


@operation("POST", "/activities/{step_run_id}/complete", summary=_l("Complete an activity"),
           tag="Activities", allow=SELLERS, sequences=True, body=ref("ActivityCompletion"),
           description=_l("A phone call takes its `outcome` (a following call condition branches "
                          "on it); any activity may take `notes`. The record moves on to its next "
                          "step."), responses=_ANSWERS)
def complete_activity(step_run_id: int):
    run = services.load_activity(step_run_id)
    body = _optional_body("ActivityCompletion")
    notes = body.get("notes")
    if run.step_type == StepType.CALL.value:
        if not body.get("outcome"):
            raise invalid({"outcome": _("Choose how the call went.")})
        return _act(step_run_id, lambda r: services.log_call(
            r.id, current_user.id, outcome=body["outcome"], notes=notes))
    if body.get("outcome"):
        raise invalid({"outcome": _("Only a phone call takes an outcome.")})
    return _act(step_run_id, lambda r: services.complete(r.id, current_user.id, notes=notes))


@operation("POST", "/activities/{step_run_id}/skip", summary=_l("Skip an activity"),
           tag="Activities", allow=SELLERS, sequences=True, body=ref("ActivitySkip"),
           description=_l("The sequence goes on (a following email condition takes No)."),
           responses=_ANSWERS)
def skip_activity(step_run_id: int):
    services.load_activity(step_run_id)
    reason = _optional_body("ActivitySkip").get("reason")
    return _act(step_run_id, lambda r: services.skip(r.id, current_user.id, reason=reason))


def _moment(raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise invalid({"until": _("Use a date and time such as 2026-12-06T09:30:00Z.")}) \
            from None
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise invalid({"until": _("Choose a date before the year 9999.")}) from None


@operation("POST", "/activities/{step_run_id}/snooze", summary=_l("Snooze an activity"),
           tag="Activities", allow=SELLERS, sequences=True, body=ref("ActivitySnooze"),
           description=_l("It leaves the worklist until `until`, then is due again."),
           responses=_ANSWERS)
def snooze_activity(step_run_id: int):
    services.load_activity(step_run_id)
    until = _moment(parse_body("ActivitySnooze")["until"])
    return _act(step_run_id, lambda r: services.snooze(r.id, current_user.id, until,
                                                       clock.now()),
                _("Snoozed until %(when)s.", when=when_label(until)))
