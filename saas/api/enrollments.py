"""Connections (enrollments) over the API: one with its current step and history of step runs;
pause, resume, disconnect.

The state changes are the web's (saas/engine/services.py: compare-and-set under the
enrollment's lock); a seller's key reaches only the connections assigned to that seller, as
the web's buttons do (others are a 404).
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from saas.api.problems import ApiProblem
from saas.api.records import ID, NOT_FOUND, PROBLEM, WHEN
from saas.api.sequences import ENROLLMENT, ENROLLMENT_FIELDS, enrollment_json
from saas.api.spec import ALL, SELLERS, component, nullable, operation
from saas.auth.models import User
from saas.engine import services as engine
from saas.engine.models import Enrollment, StepRun, StepRunStatus
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from saas.sequences.models import Sequence, Step
from saas.tenancy import get_or_404

RUN_STATUSES = [s.value for s in StepRunStatus]
CURRENT = (StepRunStatus.OPEN.value, StepRunStatus.WAITING.value, StepRunStatus.PENDING.value,
           StepRunStatus.SENDING.value, StepRunStatus.UNKNOWN.value)

_RUN_FIELDS = {
    "id": ID, "enrollment_id": ID, "step_id": {"type": "integer"},
    "step_name": {"type": ["string", "null"]}, "type": {"type": "string"},
    "status": {"type": "string", "enum": RUN_STATUSES},
    "due_at": nullable(WHEN), "created_at": WHEN, "started_at": nullable(WHEN),
    "completed_at": nullable(WHEN), "completed_by_id": {"type": ["integer", "null"]},
    "outcome": {"type": ["string", "null"],
                "description": _l("`done`, `skipped`, `yes`/`no`, a call's outcome…")},
    "notes": {"type": ["string", "null"]}, "snoozed_until": nullable(WHEN),
    "ab_version": {"type": ["string", "null"]}}
STEP_RUN = component("StepRun", {
    "type": "object", "required": list(_RUN_FIELDS), "properties": _RUN_FIELDS})
_DETAIL = {**ENROLLMENT_FIELDS,
           "sequence_name": {"type": "string"},
           "seller_name": {"type": ["string", "null"]},
           "current_step": {"anyOf": [{"type": "object", "required": ["id", "name", "type"],
                                       "properties": {"id": ID, "name": {"type": "string"},
                                                      "type": {"type": "string"}}},
                                      {"type": "null"}]},
           "current_run": {"anyOf": [STEP_RUN, {"type": "null"}],
                           "description": _l("The step run in progress, if any.")},
           "history": {"type": "array", "items": STEP_RUN,
                       "description": _l("Every step run, oldest first.")}}
ENROLLMENT_DETAIL = component("EnrollmentDetail", {
    "type": "object", "required": list(_DETAIL), "properties": _DETAIL})
CONFLICT = (409, (_l("The connection has ended: this change is not possible."), PROBLEM))


def run_json(run: StepRun, step_name: str | None) -> dict:
    return {"id": run.id, "enrollment_id": run.enrollment_id, "step_id": run.step_id,
            "step_name": step_name, "type": run.step_type, "status": run.status,
            "due_at": run.planned_at, "created_at": run.created_at,
            "started_at": run.started_at, "completed_at": run.completed_at,
            "completed_by_id": run.completed_by_id, "outcome": run.outcome,
            "notes": run.notes, "snoozed_until": run.snoozed_until,
            "ab_version": run.ab_version}


def _load(enrollment_id: int) -> Enrollment:
    enrollment = get_or_404(Enrollment, enrollment_id)
    if not engine.may_act_on(enrollment, current_user):
        abort(404)  # another seller's connection, as on the web
    return enrollment


def _detail(enrollment: Enrollment) -> dict:
    runs = list(db.session.execute(select(StepRun).where(
        StepRun.enrollment_id == enrollment.id).order_by(StepRun.id)).scalars())
    steps = {s.id: s for s in db.session.execute(select(Step).where(
        Step.sequence_id == enrollment.sequence_id)).scalars()}
    name = db.session.execute(select(Sequence.name).where(
        Sequence.id == enrollment.sequence_id)).scalar() or ""
    seller = db.session.execute(select(User.name).where(
        User.id == enrollment.seller_id)).scalar() if enrollment.seller_id else None
    current = next((r for r in reversed(runs) if r.status in CURRENT), None)
    step = steps.get(enrollment.current_step_id or -1)
    data = enrollment_json(enrollment)
    data.update({
        "sequence_name": name, "seller_name": seller,
        "current_step": {"id": step.id, "name": step.name, "type": step.type} if step else None,
        "current_run": run_json(current, steps[current.step_id].name
                                if current.step_id in steps else None) if current else None,
        "history": [run_json(r, steps[r.step_id].name if r.step_id in steps else None)
                    for r in runs]})
    return data


@operation("GET", "/enrollments/{enrollment_id}", summary=_l("Get a connection"), tag="Enrollments",
           allow=ALL, sequences=True,
           description=_l("Its status, current step and the history of its step runs. A seller's "
                          "key sees the connections assigned to that seller."),
           responses={200: (_l("The connection."), ENROLLMENT_DETAIL), 404: NOT_FOUND[1]})
def get_enrollment(enrollment_id: int):
    return _detail(_load(enrollment_id))


def _change(enrollment_id: int, act) -> dict:
    enrollment = _load(enrollment_id)
    try:
        act(enrollment)
    except ServiceError as error:
        raise ApiProblem(409, detail=str(error)) from None
    return enrollment_json(db.session.execute(select(Enrollment).where(
        Enrollment.id == enrollment_id)).scalar_one())


_ANSWERS = {200: (_l("The connection after the change."), ENROLLMENT), 404: NOT_FOUND[1],
            409: CONFLICT[1]}


@operation("POST", "/enrollments/{enrollment_id}/pause", summary=_l("Pause a connection"),
           tag="Enrollments", allow=SELLERS, sequences=True, responses=_ANSWERS,
           description=_l("No step runs while it is paused; pausing a paused one changes nothing."))
def pause_enrollment(enrollment_id: int):
    return _change(enrollment_id, engine.pause)


@operation("POST", "/enrollments/{enrollment_id}/resume", summary=_l("Resume a connection"),
           tag="Enrollments", allow=SELLERS, sequences=True, responses=_ANSWERS,
           description=_l("Work that fell due while paused runs at the next tick."))
def resume_enrollment(enrollment_id: int):
    return _change(enrollment_id, engine.resume)


@operation("POST", "/enrollments/{enrollment_id}/disconnect", summary=_l("Disconnect a connection"),
           tag="Enrollments", allow=SELLERS, sequences=True, responses=_ANSWERS,
           description=_l("No further steps run; the connection stays as history."))
def disconnect_enrollment(enrollment_id: int):
    return _change(enrollment_id, engine.disconnect)
