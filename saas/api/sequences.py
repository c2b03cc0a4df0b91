"""Sequences over the API: the list (one row per sequence, its newest version), a sequence with
its steps, connecting records or a segment to it, and its connected records.

Connecting calls the services the web's Connect buttons call (saas/engine/services.py): the
sequence's active version, the record type, records already running and the sellers are the
web's rules; an inactive sequence is a 409.
"""

from __future__ import annotations

from flask import g
from flask_login import current_user
from sqlalchemy import func, select

from saas.api.models import KeyRole
from saas.api.problems import ApiProblem, invalid
from saas.api.records import ID, NOT_FOUND, PROBLEM, WHEN
from saas.api.spec import (
    AFTER,
    SELLERS,
    Param,
    component,
    cursor,
    nullable,
    operation,
    page_of,
    parse_body,
    ref,
)
from saas.engine import queries as connections
from saas.engine import services as engine
from saas.engine.enroll import ConnectRefused, target_version
from saas.engine.models import RUNNING_STATUSES, ConnectJob, Enrollment
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _, _l
from saas.records.models import Record
from saas.segments.models import Segment
from saas.sequences import queries
from saas.sequences.models import Sequence, SequenceStatus, StepType
from saas.sequences.steps import summary
from saas.tenancy import get_or_404
from saas.web.ids import BIGINT_MAX, INT_MAX

# What the web shows sequence managers only, readable with a read-only key too.
READERS = frozenset({KeyRole.READ_ONLY, KeyRole.SEQUENCE_MANAGER})
MAX_RECORDS = 1000
STATUSES = [s.value for s in SequenceStatus]
ENROLLMENT_STATUSES = list(connections.STATUSES)
CONFLICT = (409, (_l("The sequence is not active, or the segment cannot be connected."), PROBLEM))

STEP = component("Step", {
    "type": "object",
    "required": ["id", "parent_id", "branch", "position", "type", "name", "description",
                 "config", "summary"],
    "properties": {
        "id": ID, "parent_id": {"type": ["integer", "null"]},
        "branch": {"type": "string", "enum": ["main", "yes", "no"],
                   "description": _l("A condition's steps are in its yes and no branches.")},
        "position": {"type": "integer"},
        "type": {"type": "string", "enum": [t.value for t in StepType]},
        "name": {"type": "string"}, "description": {"type": "string"},
        "config": {"type": "object"}, "summary": {"type": "string"}}})
_SEQUENCE_FIELDS = {
    "id": ID, "lineage_id": ID, "version": {"type": "integer"}, "name": {"type": "string"},
    "description": {"type": "string"}, "record_type": {"type": "string"},
    "status": {"type": "string", "enum": STATUSES},
    "running": {"type": "integer", "description": _l("Records running in it (all versions).")},
    "activated_at": nullable(WHEN), "created_at": WHEN, "updated_at": WHEN}
SEQUENCE = component("Sequence", {
    "type": "object", "required": list(_SEQUENCE_FIELDS), "properties": _SEQUENCE_FIELDS})
SEQUENCE_WITH_STEPS = component("SequenceWithSteps", {
    "type": "object", "required": [*_SEQUENCE_FIELDS, "settings", "steps"],
    "properties": {**_SEQUENCE_FIELDS, "settings": {"type": "object"},
                   "steps": {"type": "array", "items": STEP,
                             "description": _l("Every step, parents before their branches, "
                                               "each branch in order.")}}})
ENROLLMENT_FIELDS = {
    "id": ID, "record_id": {"type": ["integer", "null"],
                            "description": _l("`null` once the record is deleted.")},
    "sequence_id": ID, "lineage_id": ID,
    "status": {"type": "string", "enum": ENROLLMENT_STATUSES},
    "exit_reason": {"type": ["string", "null"]},
    "seller_id": {"type": ["integer", "null"],
                  "description": _l("`null` while it waits for a seller.")},
    "current_step_id": {"type": ["integer", "null"]},
    "steps_done": {"type": "integer"}, "source": {"type": "string"},
    "segment_id": {"type": ["integer", "null"]},
    "started_at": WHEN, "ended_at": nullable(WHEN), "updated_at": WHEN}
ENROLLMENT = component("Enrollment", {
    "type": "object", "required": list(ENROLLMENT_FIELDS), "properties": ENROLLMENT_FIELDS})
component("Connect", {
    "type": "object", "additionalProperties": False,
    "description": _l("Either `record_ids` or `segment_id`."),
    "properties": {
        "record_ids": {"type": "array", "minItems": 1, "maxItems": MAX_RECORDS,
                       "items": {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX}},
        "segment_id": {"type": "integer", "minimum": 1, "maximum": INT_MAX,
                       "description": _l("Connect its members now and its new members as they "
                                         "join (sequence manager keys).")}}})
SKIP_REASONS = ["not_found", "other_type", "already_running"]
CONNECTED = component("ConnectedRecords", {
    "type": "object", "required": ["connected", "waiting_for_seller", "skipped"],
    "properties": {
        "connected": {"type": "array", "items": {"type": "integer"},
                      "description": _l("Records connected (their sequence started, or waits "
                                        "for a seller).")},
        "waiting_for_seller": {"type": "array", "items": {"type": "integer"},
                               "description": _l("Connected records with no seller yet: they "
                                                 "start once a manager assigns one.")},
        "skipped": {"type": "array", "items": {
            "type": "object", "required": ["record_id", "reason", "message"],
            "properties": {"record_id": {"type": "integer"},
                           "reason": {"type": "string", "enum": SKIP_REASONS},
                           "message": {"type": "string"}}}}}})
SEGMENT_JOB = component("SegmentConnectJob", {
    "type": "object", "required": ["segment_id", "job_id", "status", "total"],
    "properties": {"segment_id": ID, "job_id": ID, "status": {"type": "string"},
                   "total": {"type": "integer",
                             "description": _l("Members being connected in the background.")}}})


def sequence_json(sequence: Sequence, running: int) -> dict:
    return {"id": sequence.id, "lineage_id": sequence.lineage_id or sequence.id,
            "version": sequence.version, "name": sequence.name,
            "description": sequence.description or "", "record_type": sequence.record_type,
            "status": sequence.status, "running": running,
            "activated_at": sequence.activated_at, "created_at": sequence.created_at,
            "updated_at": sequence.updated_at}


def enrollment_json(enrollment: Enrollment) -> dict:
    return {"id": enrollment.id, "record_id": enrollment.record_id,
            "sequence_id": enrollment.sequence_id, "lineage_id": enrollment.lineage_id,
            "status": enrollment.status, "exit_reason": enrollment.exit_reason,
            "seller_id": enrollment.seller_id, "current_step_id": enrollment.current_step_id,
            "steps_done": enrollment.steps_done or 0, "source": enrollment.source,
            "segment_id": enrollment.segment_id, "started_at": enrollment.started_at,
            "ended_at": enrollment.ended_at, "updated_at": enrollment.updated_at}


@operation("GET", "/sequences", summary=_l("List sequences"), tag="Sequences", allow=READERS,
           sequences=True, query=(Param("status", {"type": "string", "enum": STATUSES},
                                        _l("Only sequences whose newest version has this "
                                           "status.")),),
           description=_l("One row per sequence: its newest version, with the records running "
                          "in any of its versions."),
           responses={200: (_l("The sequences."), {"type": "object", "required": ["data"],
                                                  "properties": {"data": {"type": "array",
                                                                          "items": SEQUENCE}}})})
def list_sequences(query: dict):
    rows = queries.list_rows()
    if query["status"]:
        rows = [r for r in rows if r.sequence.status == query["status"]]
    return {"data": [sequence_json(r.sequence, r.connected) for r in rows]}


@operation("GET", "/sequences/{sequence_id}", summary=_l("Get a sequence with its steps"),
           tag="Sequences", allow=READERS, sequences=True,
           responses={200: (_l("The sequence version and its steps."), SEQUENCE_WITH_STEPS),
                      404: NOT_FOUND[1]})
def get_sequence(sequence_id: int):
    sequence = get_or_404(Sequence, sequence_id)
    steps = queries.steps_of(sequence.id)
    templates, names = queries.templates_map(), queries.lineage_names()
    data = sequence_json(sequence, queries.running_count(sequence.lineage_id or sequence.id))
    data["settings"] = sequence.settings or {}
    data["steps"] = [{"id": s.id, "parent_id": s.parent_id, "branch": s.branch,
                      "position": s.position, "type": s.type, "name": s.name,
                      "description": s.description or "", "config": s.config or {},
                      "summary": str(summary(s, templates, names))} for s in steps]
    return data


def _refused(error: ServiceError) -> ApiProblem:
    return ApiProblem(409, detail=str(error))


def _running(lineage: int, ids: list[int]) -> set[int]:
    return set(db.session.execute(select(Enrollment.record_id).where(
        Enrollment.lineage_id == lineage, Enrollment.record_id.in_(ids),
        Enrollment.status.in_(RUNNING_STATUSES))).scalars())


def _connect_records(sequence: Sequence, record_ids: list[int]) -> dict:
    lineage = sequence.lineage_id or sequence.id
    try:
        version = target_version(lineage)
    except ConnectRefused as error:
        raise _refused(error) from None
    ids = sorted(set(record_ids))
    types = dict(db.session.execute(select(Record.id, Record.record_type).where(
        Record.id.in_(ids))).all())
    running = _running(lineage, ids)
    newest = db.session.execute(select(func.max(Enrollment.id)).where(
        Enrollment.lineage_id == lineage)).scalar() or 0
    skipped, candidates = [], []
    for record_id in ids:
        if record_id not in types:
            skipped.append((record_id, "not_found", _("No record has this id.")))
        elif types[record_id] != version.record_type:
            skipped.append((record_id, "other_type", _(
                "This record is not of the sequence’s record type.")))
        elif record_id in running:
            skipped.append((record_id, "already_running", _(
                "This record is already running in the sequence.")))
        else:
            candidates.append(record_id)
    if candidates:
        try:
            engine.connect_selection(candidates, sequence, current_user.id)
        except ServiceError as error:
            raise _refused(error) from None
    made = dict(db.session.execute(select(Enrollment.record_id, Enrollment.seller_id).where(
        Enrollment.lineage_id == lineage, Enrollment.id > newest,
        Enrollment.record_id.in_(candidates or [-1]),
        Enrollment.status.in_(RUNNING_STATUSES))).all())
    for record_id in candidates:
        if record_id not in made:  # connected by someone else meanwhile
            skipped.append((record_id, "already_running", _(
                "This record is already running in the sequence.")))
    return {"connected": sorted(made),
            "waiting_for_seller": sorted(r for r, seller in made.items() if seller is None),
            "skipped": [{"record_id": r, "reason": reason, "message": str(message)}
                        for r, reason, message in sorted(skipped)]}


def _connect_segment(sequence: Sequence, segment_id: int):
    if g.api_key.key_role != KeyRole.SEQUENCE_MANAGER:
        raise ApiProblem(403, detail=_("Only a sequence manager’s key may connect a segment."))
    segment = db.session.execute(select(Segment).where(
        Segment.id == segment_id)).scalar_one_or_none()
    if segment is None:
        raise invalid({"segment_id": _("No segment has this id.")})
    try:
        job: ConnectJob = engine.connect_segment(segment, sequence, current_user.id)
    except ServiceError as error:
        raise _refused(error) from None
    return {"segment_id": segment.id, "job_id": job.id, "status": job.status,
            "total": job.total}, 202


@operation("POST", "/sequences/{sequence_id}/enrollments",
           summary=_l("Connect records or a segment"), tag="Sequences", allow=SELLERS,
           sequences=True, body=ref("Connect"),
           description=_l("`record_ids` (up to 1,000) connect now to the sequence's active "
                          "version and the answer says which were connected and which skipped, "
                          "and why. `segment_id` connects the segment's members in the background "
                          "and its new members as they join (202)."),
           responses={200: (_l("What was connected and skipped."), CONNECTED),
                      202: (_l("The segment is connected; its members are being connected."),
                            SEGMENT_JOB),
                      404: NOT_FOUND[1], 409: CONFLICT[1]})
def connect(sequence_id: int):
    sequence = get_or_404(Sequence, sequence_id)
    body = parse_body("Connect")
    if ("record_ids" in body) == ("segment_id" in body):
        raise invalid({"record_ids": _("Send either record_ids or segment_id.")})
    if "segment_id" in body:
        return _connect_segment(sequence, body["segment_id"])
    return _connect_records(sequence, body["record_ids"])


@operation("GET", "/sequences/{sequence_id}/enrollments",
           summary=_l("List a sequence's connections"), tag="Sequences", allow=READERS,
           sequences=True, query=(
               Param("status", {"type": "string", "enum": [*ENROLLMENT_STATUSES, "unassigned"]},
                     _l("`unassigned`: running with no seller yet.")), AFTER),
           description=_l("Every version's connections, newest first, 50 a page."),
           responses={200: (_l("A page of connections."), page_of(ENROLLMENT)), 404: NOT_FOUND[1]})
def list_enrollments(sequence_id: int, query: dict):
    sequence = get_or_404(Sequence, sequence_id)
    cursor(query["after"], [Enrollment.id])
    rows, next_after = connections.connected_page(sequence.lineage_id or sequence.id,
                                                  query["status"], query["after"])
    return {"data": [enrollment_json(r.enrollment) for r in rows], "next_cursor": next_after}
